//! The `cloudtrail` preset on synthetic AWS CloudTrail records, through the `auditlog`
//! binary: the caller's ARN as the actor (an IAM user, an assumed role, the root account, an
//! AWS service), `eventSource:eventName` as the action, `errorCode` as a denied or failed
//! outcome and a console login's `Failure`, IP, user agent, region, request id, account, and
//! the first resource as the entity; a record without resources has no entity and is kept.

use auditlog::{Entity, Outcome, ReadOnlyLog, Record, Timestamp};
use serde_json::{Value, json};
use std::process::Command;

fn records(lines: &[Value]) -> Vec<Record> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("trail.jsonl");
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(&input, text).expect("writes");
    let dir = tmp.path().join("log");
    let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["import", "--dir", dir.to_str().expect("utf-8")])
        .args(["--preset", "cloudtrail", input.to_str().expect("utf-8")])
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = ReadOnlyLog::open(&dir).expect("opens");
    log.iter(..).map(|r| r.expect("readable")).collect()
}

#[test]
fn cloudtrail_records_map_actor_action_outcome_and_context() {
    let got = records(&[
        json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
                             "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
            "eventTime": "2023-09-06T07:20:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "192.0.2.10",
            "userAgent": "aws-cli/2.13.0",
            "requestID": "REQ1",
            "eventID": "e1",
            "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::bucket/key.txt"},
                          {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::bucket"}],
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333",
        }),
        json!({
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob",
                             "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob",
                             "sessionContext": {"sessionIssuer": {"userName": "Admin"}}},
            "eventTime": "2023-09-06T07:21:00Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser",
            "awsRegion": "us-east-1",
            "errorCode": "AccessDenied",
            "errorMessage": "User is not authorized to perform: iam:CreateUser",
            "requestID": "REQ2",
            "eventType": "AwsApiCall",
        }),
        json!({
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
            "eventTime": "2023-09-06T07:22:00Z",
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "responseElements": {"ConsoleLogin": "Failure"},
            "errorMessage": "Failed authentication",
            "eventType": "AwsConsoleSignIn",
        }),
        json!({
            "userIdentity": {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "eventTime": "2023-09-06T07:23:00Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "errorCode": "ThrottlingException",
        }),
    ]);
    assert_eq!(got.len(), 4);
    let [alice, bob, root, service] = [&got[0].event, &got[1].event, &got[2].event, &got[3].event];

    assert_eq!(alice.actor.id, "arn:aws:iam::111122223333:user/alice");
    assert_eq!(alice.actor.kind.as_deref(), Some("IAMUser"));
    assert_eq!(alice.actor.name.as_deref(), Some("alice"));
    assert_eq!(alice.action, "s3.amazonaws.com:GetObject");
    assert_eq!(alice.outcome, Outcome::Success);
    assert_eq!(
        alice.occurred_at,
        Some(Timestamp::parse_rfc3339("2023-09-06T07:20:00Z").expect("time"))
    );
    assert_eq!(alice.ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(alice.user_agent.as_deref(), Some("aws-cli/2.13.0"));
    assert_eq!(alice.source.as_deref(), Some("eu-west-1"));
    assert_eq!(alice.request_id.as_deref(), Some("REQ1"));
    assert_eq!(alice.session_id.as_deref(), Some("AKIAEXAMPLE"));
    assert_eq!(alice.tenant.as_deref(), Some("111122223333"));
    assert_eq!(
        alice.entity,
        Some(Entity::new(
            "AWS::S3::Object",
            "arn:aws:s3:::bucket/key.txt"
        ))
    );
    assert_eq!(alice.labels, ["AwsApiCall"]);

    assert_eq!(
        bob.actor.id,
        "arn:aws:sts::111122223333:assumed-role/Admin/bob"
    );
    assert_eq!(bob.actor.name.as_deref(), Some("Admin"));
    assert_eq!(bob.outcome, Outcome::Denied);
    assert_eq!(
        bob.error_message.as_deref(),
        Some("User is not authorized to perform: iam:CreateUser")
    );
    assert_eq!(bob.entity, None, "no resources, no entity, the event kept");

    assert_eq!(root.actor.id, "arn:aws:iam::111122223333:root");
    assert_eq!(root.action, "signin.amazonaws.com:ConsoleLogin");
    assert_eq!(root.outcome, Outcome::Failure);

    assert_eq!(service.actor.id, "cloudtrail.amazonaws.com");
    assert_eq!(service.outcome, Outcome::Failure);
    assert_eq!(
        service.error_message.as_deref(),
        Some("ThrottlingException")
    );
}
