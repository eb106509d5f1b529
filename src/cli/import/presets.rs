//! Built-in mappings for the two real sources in `../shared/data`, AWS CloudTrail and Linux
//! audit records (whose records are first made into event objects, `linux_audit`), written in the same
//! `TARGET=SOURCE` language as `--map` (see `mapping.rs`), so `--show-preset` prints rules an
//! operator can copy and adjust.

use super::mapping::{Mapping, Rule};

/// A preset's name, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Windows Security / Sysmon / PowerShell events as shipped by NXLog (JSON with
    /// `EventID`, `Channel`, `SubjectUserName`, `Hostname`, `@timestamp`, ...).
    WindowsSecurity,
    /// AWS CloudTrail records, one per line (CloudTrail's S3 files hold one `{"Records": [...]}`
    /// object: `jq -c '.Records[]'` makes lines of it; CloudWatch Logs and CloudTrail Lake
    /// exports are lines already).
    Cloudtrail,
    /// Linux auditd records as shipped by OMS/auoms through syslog (JSON with `EventType`,
    /// `TimeGenerated`, `HostName` and the `key=value` text in `EventData`).
    Auditd,
    /// Linux audit records: raw `/var/log/audit/audit.log` or `ausearch --raw` lines
    /// (`type=SYSCALL msg=audit(1700000000.123:456): ...`), go-audit's JSON events, or raw
    /// records in a JSON shipper's `SyslogMessage`/`message`; the records of one serial are
    /// one event (README "Linux audit").
    LinuxAudit,
}

/// Windows: the subject (who acted) first, then the target user, then the process owners of
/// Sysmon events (`SourceUser` of event 10, `User`), then the account the event was logged
/// under; each without its domain, so `THESHIRE\pgustavo`, `pgustavo@THESHIRE.LOCAL` and
/// `pgustavo` are one actor. The outcome from the audit bits of `Keywords`, else `EventType`,
/// else what the event id implies (4625: failure); the severity from what the event id means
/// (1102, the audit log cleared: critical), else the numeric `Level`, else NXLog's
/// `Severity`. The action is the event id, which with the channel and the event id's category
/// (both labels) names what happened; the entity is the most specific object the event names.
const WINDOWS_SECURITY: &[&str] = &[
    "occurred_at=@timestamp|TimeCreated",
    "actor=SubjectUserName!account|TargetUserName!account|SourceUser!account|User!account|AccountName!account|\"unknown\"",
    "action=windows.{EventID}",
    "outcome=Keywords!audit|EventType|EventID!event_outcome|\"success\"",
    "severity=EventID!event_severity|Level!level|Severity|\"info\"",
    "source=Hostname|Computer",
    "entity=user:{TargetUserName}|process:{TargetImage}|process:{NewProcessName}|registry:{TargetObject}|file:{TargetFilename}|image:{ImageLoaded}|process:{Image}",
    "ip=IpAddress",
    "session_id=SubjectLogonId|TargetLogonId",
    "labels=Channel|EventID!category",
];

/// auditd via auoms: the acting user from the record's text, the record type as the action,
/// `success=yes|no` as the outcome, the executed path as the entity.
const AUDITD: &[&str] = &[
    "occurred_at=TimeGenerated|EventTime",
    "actor=EventData#user|EventData#uid|\"unknown\"",
    "action=auditd.{EventType}",
    "outcome=EventData#success|\"success\"",
    "severity=SeverityLevel|\"info\"",
    "source=HostName|Computer",
    "entity=file:{EventData#name}|executable:{EventData#exe}",
    "session_id=EventData#ses",
    "labels=EventData#syscall",
];

/// CloudTrail: the caller's ARN (stable across sessions of a user; an assumed role's ARN names
/// the role and session), else its principal id or the AWS service that called; the action
/// `eventSource:eventName`; `errorCode` as denied (AccessDenied, UnauthorizedOperation, ...) or
/// failure (any other code), a console login's `Failure`, else success; the first of
/// `resources` as the entity; the account as tenant and the region as source.
const CLOUDTRAIL: &[&str] = &[
    "occurred_at=eventTime",
    "actor=userIdentity.arn|userIdentity.principalId|userIdentity.invokedBy|userIdentity.type|\"unknown\"",
    "actor.kind=userIdentity.type",
    "actor.name=userIdentity.userName|userIdentity.sessionContext.sessionIssuer.userName",
    "action={eventSource}:{eventName}",
    "outcome=errorCode!aws_error|responseElements.ConsoleLogin|\"success\"",
    "error_message=errorMessage|errorCode",
    "ip=sourceIPAddress",
    "user_agent=userAgent",
    "tenant=recipientAccountId|userIdentity.accountId",
    "source=awsRegion",
    "request_id=requestID|requestId",
    "session_id=userIdentity.accessKeyId",
    "entity.type=resources.0.type",
    "entity.id=resources.0.ARN|resources.0.arn",
    "labels=eventType|eventCategory",
];

/// A CloudTrail `errorCode` as an outcome: a refusal of authorization is `denied`, any other
/// error a `failure`.
pub fn aws_error(code: &str) -> Option<String> {
    let c = code.trim();
    if c.is_empty() {
        return None;
    }
    let lower = c.to_ascii_lowercase();
    let denied = ["accessdenied", "unauthorized", "forbidden", "notauthorized"]
        .iter()
        .any(|w| lower.contains(w));
    Some(if denied { "denied" } else { "failure" }.into())
}

impl Preset {
    /// The preset's rules, as text.
    pub fn rules(self) -> &'static [&'static str] {
        match self {
            Preset::WindowsSecurity => WINDOWS_SECURITY,
            Preset::Cloudtrail => CLOUDTRAIL,
            Preset::Auditd => AUDITD,
            Preset::LinuxAudit => super::linux_audit::RULES,
        }
    }

    /// The preset as a mapping.
    pub fn mapping(self) -> Mapping {
        let mut m = Mapping::default();
        for text in self.rules() {
            // The rules are constants checked by the test below.
            if let Ok(rule) = Rule::parse(text) {
                m.set(rule);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::{Entity, EventLimits, Outcome, Severity};
    use serde_json::{Map, Value, json};

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn every_preset_rule_parses_and_fills_the_required_fields() {
        for preset in [
            Preset::WindowsSecurity,
            Preset::Cloudtrail,
            Preset::Auditd,
            Preset::LinuxAudit,
        ] {
            for text in preset.rules() {
                assert!(Rule::parse(text).is_ok(), "{text}");
            }
            assert_eq!(preset.mapping().rules().len(), preset.rules().len());
            assert_eq!(preset.mapping().missing_required(), None);
        }
    }

    #[test]
    fn windows_logon_failure_maps_to_a_failed_event_on_the_target_user() {
        let e = Preset::WindowsSecurity
            .mapping()
            .apply(obj(json!({
                "@timestamp": "2020-10-22T08:29:48.785Z",
                "EventID": 4625,
                "Channel": "Security",
                "SubjectUserName": "-",
                "TargetUserName": "pgustavo",
                "Hostname": "MORDORDC.theshire.local",
                "EventType": "AUDIT_FAILURE",
                "Severity": "ERROR",
                "IpAddress": "-",
            })))
            .expect("maps");
        assert_eq!(e.actor.id, "pgustavo");
        assert_eq!(e.action, "windows.4625");
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(
            e.severity,
            Severity::Medium,
            "a failed logon, whatever NXLog says"
        );
        assert_eq!(e.entity, Some(Entity::new("user", "pgustavo")));
        assert_eq!(e.ip, None);
        assert_eq!(e.labels, ["Security", "logon"]);
        assert!(e.validate(&EventLimits::default()).is_ok());
    }

    #[test]
    fn auditd_execve_maps_user_success_and_path() {
        let e = Preset::Auditd
            .mapping()
            .apply(obj(json!({
                "TimeGenerated": "2022-05-11T18:10:21.997Z",
                "HostName": "UBUNTU5",
                "SeverityLevel": "info",
                "EventType": "AUOMS_EXECVE",
                "EventData": "syscall=execve success=no user=tomcat ses=\"-1\" exe=\"/usr/bin/java\" name=\"/sbin/bash\"",
            })))
            .expect("maps");
        assert_eq!(e.actor.id, "tomcat");
        assert_eq!(e.action, "auditd.AUOMS_EXECVE");
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.entity, Some(Entity::new("file", "/sbin/bash")));
        assert_eq!(e.source.as_deref(), Some("UBUNTU5"));
        assert_eq!(e.session_id.as_deref(), Some("-1"));
        assert_eq!(e.labels, ["execve"]);
    }

    #[test]
    fn aws_error_codes_are_denied_or_failed() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "Client.UnauthorizedOperation",
            "Forbidden",
        ] {
            assert_eq!(aws_error(code).as_deref(), Some("denied"), "{code}");
        }
        assert_eq!(aws_error("ThrottlingException").as_deref(), Some("failure"));
        assert_eq!(aws_error(" "), None);
    }

    #[test]
    fn half_an_entity_is_no_entity_and_the_event_is_kept() {
        let e = Preset::Cloudtrail
            .mapping()
            .apply(obj(json!({
                "userIdentity": {"arn": "arn:aws:iam::1:user/a"},
                "eventSource": "s3.amazonaws.com",
                "eventName": "ListBuckets",
                "resources": [{"type": "AWS::S3::Bucket"}],
            })))
            .expect("maps");
        assert_eq!(e.entity, None);
        assert_eq!(e.action, "s3.amazonaws.com:ListBuckets");
    }
}
