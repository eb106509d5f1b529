//! Queries people can type, end to end through the binary: a small log of events with known
//! `occurred_at` times, actors, actions, severities, IPs, sources, request and session ids and
//! metadata is written through the library; `auditlog query --count` with each kind of filter
//! (journalctl-style times, OR lists, NOT, wildcards, `-i`, `--where`) must count exactly the
//! events the filter names, and a filter that cannot be read is a usage error (exit 2) naming
//! what is accepted. `stats --by` groups the same events by time bucket or by field.

use auditlog::{AuditLog, Event, Outcome, Severity, Timestamp};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .env_remove("AUDITLOG_DIR")
        .env("TZ", "UTC")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

/// Six events, in this order (occurred_at on 2023-09-06 unless said):
/// 0 `STEVIE.Smith` LOGIN failure high, 07:00, ip 192.0.2.7, source sshd, EventID 4625
/// 1 `stevie` LOGIN success info, 07:20, ip 192.0.2.8, source sshd, session s-1
/// 2 `alice` logout success low, 07:40, source web, request r-9, EventID 4634
/// 3 `alice` file.read success critical, 08:10 on file:/etc/passwd, after {"mode": 420}
/// 4 `bob` LOGIN denied medium, 2023-09-05 23:00, ip 192.0.2.7, EventID "10"
/// 5 `svc-backup` file.write error high, 09:00 on file:/var/backup.tar
fn write_log(dir: &Path) {
    let log = AuditLog::open(dir).expect("opens");
    let events = [
        Event::new("STEVIE.Smith", "LOGIN")
            .occurred_at(at("2023-09-06T07:00:00Z"))
            .outcome(Outcome::Failure)
            .severity(Severity::High)
            .ip("192.0.2.7")
            .source("sshd")
            .metadata("EventID", 4625),
        Event::new("stevie", "LOGIN")
            .occurred_at(at("2023-09-06T07:20:00Z"))
            .ip("192.0.2.8")
            .source("sshd")
            .session_id("s-1"),
        Event::new("alice", "logout")
            .occurred_at(at("2023-09-06T07:40:00Z"))
            .severity(Severity::Low)
            .source("web")
            .request_id("r-9")
            .metadata("EventID", 4634),
        Event::new("alice", "file.read")
            .occurred_at(at("2023-09-06T08:10:00Z"))
            .severity(Severity::Critical)
            .entity("file", "/etc/passwd")
            .after(serde_json::json!({"mode": 420})),
        Event::new("bob", "LOGIN")
            .occurred_at(at("2023-09-05T23:00:00Z"))
            .outcome(Outcome::Denied)
            .severity(Severity::Medium)
            .ip("192.0.2.7")
            .metadata("EventID", "10"),
        Event::new("svc-backup", "file.write")
            .occurred_at(at("2023-09-06T09:00:00Z"))
            .outcome(Outcome::Error)
            .severity(Severity::High)
            .entity("file", "/var/backup.tar"),
    ];
    for e in &events {
        log.append(e).expect("valid").wait().expect("acknowledged");
    }
    log.close().expect("closes");
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_log(dir.path());
    dir
}

/// The standard output of `auditlog COMMAND --dir DIR FLAG ARGS...`, which must succeed.
fn output_of(command: &str, dir: &Path, flag: &str, args: &[&str]) -> Vec<u8> {
    let d = dir.to_str().expect("utf-8");
    let mut all = vec![command, "--dir", d, flag];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{command} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `query --count` with `filters`, which must succeed.
fn count(dir: &Path, filters: &[&str]) -> u64 {
    String::from_utf8_lossy(&output_of("query", dir, "--count", filters))
        .trim()
        .parse()
        .expect("a count")
}

/// The actors of the matching records, in log order.
fn actors(dir: &Path, filters: &[&str]) -> Vec<String> {
    let d = dir.to_str().expect("utf-8");
    let mut args = vec!["query", "--dir", d, "--format", "jsonl"];
    args.extend_from_slice(filters);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{filters:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            v["actor"]["id"].as_str().expect("actor id").to_string()
        })
        .collect()
}

fn usage_error(dir: &Path, filters: &[&str]) -> String {
    let d = dir.to_str().expect("utf-8");
    let mut args = vec!["query", "--dir", d, "--count"];
    args.extend_from_slice(filters);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{filters:?} should be a usage error"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn times_read_as_journalctl_reads_them() {
    let dir = fixture();
    let d = dir.path();
    let occ = ["--time-field", "occurred"];
    let with = |extra: &[&str]| {
        let mut v = occ.to_vec();
        v.extend_from_slice(extra);
        count(d, &v)
    };
    assert_eq!(with(&["--since", "2023-09-06 07:20:00"]), 4);
    assert_eq!(
        with(&["--from", "2023-09-06 07:20", "--to", "2023-09-06 08:10"]),
        2
    );
    assert_eq!(with(&["--since", "2023-09-06"]), 5);
    assert_eq!(with(&["--until", "2023-09-06"]), 1);
    assert_eq!(
        with(&["--since", "@1693983600"]),
        5,
        "07:00 UTC as epoch seconds"
    );
    assert_eq!(with(&["--since", "2023-09-06T09:00:00+02:00"]), 5);
    assert_eq!(with(&["--since", "2023-09-06 09:00 UTC"]), 1);
    // Relative to now: everything happened long before.
    assert_eq!(with(&["--since", "-1h"]), 0);
    assert_eq!(with(&["--since", "yesterday"]), 0);
    assert_eq!(with(&["--until", "today"]), 6);
    assert_eq!(with(&["--until", "1h30m"]), 6);
    assert_eq!(with(&["--until", "5min ago"]), 6);
    let msg = usage_error(d, &["--since", "last tuesday"]);
    assert!(
        msg.contains("yesterday") && msg.contains("@1700000000"),
        "{msg}"
    );
}

#[test]
fn or_not_wildcards_and_ignore_case_on_actor_entity_and_action() {
    let dir = fixture();
    let d = dir.path();
    assert_eq!(actors(d, &["--actor", "*stevie*"]), ["stevie"]);
    assert_eq!(
        actors(d, &["--actor", "*stevie*", "-i"]),
        ["STEVIE.Smith", "stevie"]
    );
    assert_eq!(
        actors(d, &["--actor", "STEVIE.smith"]),
        Vec::<String>::new()
    );
    assert_eq!(
        actors(d, &["--actor", "stevie.SMITH", "-i"]),
        ["STEVIE.Smith"]
    );
    assert_eq!(actors(d, &["--actor", "alice", "--actor", "bob"]).len(), 3);
    assert_eq!(count(d, &["--not-actor", "alice", "--not-actor", "s*"]), 2);
    assert_eq!(count(d, &["--action", "LOGIN"]), 3);
    assert_eq!(count(d, &["--action", "login"]), 0);
    assert_eq!(count(d, &["--action", "login", "--ignore-case"]), 3);
    assert_eq!(count(d, &["--action", "LOGIN,logout"]), 4);
    assert_eq!(count(d, &["--action", "file.*"]), 2);
    assert_eq!(count(d, &["--action", "*.re?d"]), 1);
    assert_eq!(count(d, &["--not-action", "LOGIN"]), 3);
    assert_eq!(count(d, &["--not-action", "LOGIN,file.*"]), 1);
    assert_eq!(
        actors(d, &["--action", "LOGIN", "--not-actor", "bob"]),
        ["STEVIE.Smith", "stevie"]
    );
    assert_eq!(count(d, &["--entity", "file"]), 2);
    assert_eq!(count(d, &["--entity", "file:/etc/passwd"]), 1);
    assert_eq!(count(d, &["--entity", "file:/var/*"]), 1);
    assert_eq!(count(d, &["--entity", "FILE:*", "-i"]), 2);
    assert_eq!(count(d, &["--not-entity", "file:/etc/*"]), 5);
    assert_eq!(count(d, &["--severity", "high,critical"]), 3);
    assert_eq!(count(d, &["--severity", "high+"]), 3);
    assert_eq!(count(d, &["--not-severity", "info,low"]), 4);
    assert_eq!(count(d, &["--outcome", "failure,denied"]), 2);
    assert_eq!(count(d, &["--not-outcome", "success"]), 3);
    assert!(usage_error(d, &["--severity", "high,urgent"]).contains("--severity"));
    assert!(usage_error(d, &["--outcome", "failure,maybe"]).contains("--outcome"));
}

#[test]
fn ip_source_request_session_and_json_paths() {
    let dir = fixture();
    let d = dir.path();
    assert_eq!(actors(d, &["--ip", "192.0.2.7"]), ["STEVIE.Smith", "bob"]);
    assert_eq!(count(d, &["--ip", "192.0.2.*"]), 3);
    assert_eq!(
        actors(d, &["--ip", "192.0.2.7", "--outcome", "failure"]),
        ["STEVIE.Smith"]
    );
    assert_eq!(count(d, &["--source", "sshd"]), 2);
    assert_eq!(count(d, &["--source", "SSHD", "-i"]), 2);
    assert_eq!(count(d, &["--source", "sshd", "--source", "web"]), 3);
    assert_eq!(actors(d, &["--request-id", "r-9"]), ["alice"]);
    assert_eq!(actors(d, &["--session-id", "s-*"]), ["stevie"]);
    // A number and a string spelled alike both match; a path that leads nowhere matches
    // nothing (and `!=` everything).
    assert_eq!(actors(d, &["--where", "metadata.EventID=10"]), ["bob"]);
    assert_eq!(count(d, &["--where", "metadata.EventID=4625"]), 1);
    assert_eq!(count(d, &["--where", "metadata.EventID=46*"]), 2);
    assert_eq!(count(d, &["--where", "metadata.EventID!=4625"]), 5);
    assert_eq!(count(d, &["--where", "metadata.Nope=1"]), 0);
    assert_eq!(actors(d, &["--where", "after.mode=420"]), ["alice"]);
    assert_eq!(
        count(
            d,
            &["--where", "metadata.EventID=46*", "--where", "source=web"]
        ),
        1
    );
    // Only the first `=` separates: the rest is the value.
    assert_eq!(count(d, &["--where", "source=a=b!=c"]), 0);
    assert_eq!(count(d, &["--where", "source!=a=b"]), 6);
    let msg = usage_error(d, &["--where", "colour=red"]);
    assert!(msg.contains("metadata.PATH"), "{msg}");
    assert!(usage_error(d, &["--where", "metadata.EventID"]).contains("FIELD=VALUE"));
}

/// `stats --json` with `args`, parsed.
fn stats(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&output_of("stats", dir, "--json", args)).expect("json")
}

#[test]
fn stats_group_by_time_bucket_and_by_any_field() {
    let dir = fixture();
    let d = dir.path();
    let by_hour = stats(d, &["--time-field", "occurred", "--by", "hour"]);
    assert_eq!(
        by_hour["by"]["groups"],
        serde_json::json!([
            [["2023-09-05 23:00"], 1],
            [["2023-09-06 07:00"], 3],
            [["2023-09-06 08:00"], 1],
            [["2023-09-06 09:00"], 1],
        ])
    );
    let by_actor = stats(d, &["--by", "actor", "--action", "LOGIN,logout"]);
    assert_eq!(
        by_actor["by"]["groups"],
        serde_json::json!([
            [["STEVIE.Smith"], 1],
            [["alice"], 1],
            [["bob"], 1],
            [["stevie"], 1],
        ])
    );
    let two = stats(
        d,
        &["--time-field", "occurred", "--by", "day,metadata.EventID"],
    );
    assert_eq!(
        two["by"]["groups"],
        serde_json::json!([
            [["2023-09-05", "10"], 1],
            [["2023-09-06", "(none)"], 3],
            [["2023-09-06", "4625"], 1],
            [["2023-09-06", "4634"], 1],
        ])
    );
    assert!(stats(d, &[]).get("by").is_none(), "no --by, no section");
    let d_str = d.to_str().expect("utf-8");
    let out = run(&["stats", "--dir", d_str, "--by", "colour"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hour"));
    let text = run(&["stats", "--dir", d_str, "--by", "source"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("by source") && text.contains("sshd"),
        "{text}"
    );
}
