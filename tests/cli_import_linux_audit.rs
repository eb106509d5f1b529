//! The `linux-audit` preset through the `auditlog` binary: a raw `audit.log` with
//! multi-record events, hex-encoded fields, failures and a bad line (stops the import, or is
//! skipped with `--skip-bad`), go-audit's JSON, and the real auoms records of
//! `../shared/data` (or `$AUDITLOG_DATA_DIR`), whose 50 events must all be kept.

use auditlog::{Entity, Outcome, ReadOnlyLog, Record, Severity};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn import(dir: &Path, input: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["import", "--dir", dir.to_str().expect("utf-8")])
        .args(["--preset", "linux-audit"])
        .args(extra)
        .arg(input)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("runs")
}

fn records(dir: &Path) -> Vec<Record> {
    let log = ReadOnlyLog::open(dir).expect("opens");
    log.iter(..).map(|r| r.expect("readable")).collect()
}

/// Imports `input` into a new log at `dir`, which must succeed, and returns its records.
fn imported(dir: &Path, input: &Path) -> Vec<Record> {
    let out = import(dir, input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    records(dir)
}

const AUDIT_LOG: &str = "\
type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd2b3c items=1 ppid=1200 pid=1234 auid=1000 uid=1000 ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" key=\"shadow\"
type=CWD msg=audit(1700000000.123:456): cwd=\"/home/alice\"
type=PATH msg=audit(1700000000.123:456): item=0 name=2F6574632F736861646F77 inode=1234 nametype=NORMAL
type=PROCTITLE msg=audit(1700000000.123:456): proctitle=636174002F6574632F736861646F77
type=USER_AUTH msg=audit(1700000002.500:460): pid=999 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=192.0.2.7 addr=192.0.2.7 terminal=ssh res=failed'
type=ANOM_ABEND msg=audit(1700000003.000:461): auid=1000 uid=1000 ses=3 pid=77 comm=\"crashy\" exe=\"/opt/crashy\" sig=11 res=1
";

#[test]
fn raw_audit_log_events_keep_actor_outcome_severity_and_every_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("audit.log");
    std::fs::write(&input, AUDIT_LOG).expect("writes");
    let dir = tmp.path().join("log");
    let got = imported(&dir, &input);
    assert_eq!(got.len(), 3, "six records, three events");
    let open = &got[0].event;
    assert_eq!(open.action, "linux.SYSCALL.openat");
    assert_eq!(open.actor.id, "1000");
    assert_eq!(open.outcome, Outcome::Denied);
    assert_eq!(open.entity, Some(Entity::new("file", "/etc/shadow")));
    let meta = open
        .metadata
        .as_ref()
        .expect("metadata")
        .to_value()
        .expect("json");
    assert_eq!(
        meta["original"]["records"][3]["proctitle"],
        "cat /etc/shadow"
    );
    assert_eq!(meta["original"]["records"][1]["cwd"], "/home/alice");
    let auth = &got[1].event;
    assert_eq!(
        (auth.actor.id.as_str(), auth.outcome, auth.severity),
        ("alice", Outcome::Failure, Severity::Medium)
    );
    assert_eq!(auth.ip.as_deref(), Some("192.0.2.7"));
    let abend = &got[2].event;
    assert_eq!(
        (abend.action.as_str(), abend.severity),
        ("linux.ANOM_ABEND", Severity::High)
    );

    // The everyday question is one command.
    let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["query", "--dir", dir.to_str().expect("utf-8")])
        .args(["--outcome", "failure,denied", "--count"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
}

#[test]
fn a_bad_record_stops_at_its_line_or_is_skipped_and_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("audit.log");
    let mut text = AUDIT_LOG.lines().take(4).collect::<Vec<_>>().join("\n");
    text.push_str("\nthis is not an audit record\n");
    text.push_str(AUDIT_LOG.lines().nth(4).expect("line 5"));
    text.push('\n');
    std::fs::write(&input, text).expect("writes");

    let dir = tmp.path().join("stops");
    let out = import(&dir, &input, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 5"), "{err}");
    assert_eq!(
        records(&dir).len(),
        1,
        "the event before the bad line is written"
    );

    let dir = tmp.path().join("skips");
    let out = import(&dir, &input, &["--skip-bad"]);
    assert_eq!(out.status.code(), Some(2), "skipping is not success");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 bad lines"));
    assert_eq!(records(&dir).len(), 2);
}

#[test]
fn go_audit_json_lines_import() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("go-audit.jsonl");
    let line = r#"{"sequence":10,"timestamp":"1459447820.317","messages":[{"type":1300,"data":"arch=c000003e syscall=59 success=yes exit=0 auid=1000 uid=1000 ses=4 exe=\"/bin/ls\""},{"type":1302,"data":"item=0 name=\"/bin/ls\" nametype=NORMAL"}],"uid_map":{"1000":"zach"}}"#;
    std::fs::write(&input, format!("{line}\n{line}\n")).expect("writes");
    let got = imported(&tmp.path().join("log"), &input);
    assert_eq!(
        got.len(),
        2,
        "each line is a whole event, even with one serial"
    );
    assert_eq!(got[0].event.actor.id, "zach");
    assert_eq!(got[0].event.action, "linux.SYSCALL.execve");
}

fn data_file() -> PathBuf {
    let dir = std::env::var_os("AUDITLOG_DATA_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    );
    dir.join("linux-auditd-events.jsonl.zst")
}

#[test]
fn every_real_auoms_record_imports() {
    let data = data_file();
    if !data.exists() {
        eprintln!(
            "note: {} is absent (set AUDITLOG_DATA_DIR); the real-data check did not run",
            data.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let got = imported(&tmp.path().join("log"), &data);
    assert_eq!(got.len(), 50, "every record kept");
    for r in &got {
        let e = &r.event;
        let meta = e
            .metadata
            .as_ref()
            .expect("metadata")
            .to_value()
            .expect("json");
        let raw = meta["original"]["raw"][0].as_str().expect("the line");
        let text: serde_json::Value = serde_json::from_str(raw).expect("the JSON line");
        let message = text["SyslogMessage"].as_str().expect("SyslogMessage");
        assert!(
            message.contains(&format!(" user={} ", e.actor.id)),
            "{message}"
        );
        assert_eq!(
            e.outcome == Outcome::Failure,
            message.contains(" success=no ")
        );
        assert_eq!(e.action, "linux.AUOMS_EXECVE.execve");
        assert_eq!(e.source.as_deref(), Some("UBUNTU5"));
        assert!(e.occurred_at.is_some());
        assert!(e.entity.is_some(), "{message}");
    }
}

/// The sample the README's tour imports when `../shared/data` is absent.
#[test]
fn the_shipped_sample_audit_log_imports() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/audit.log");
    let tmp = tempfile::tempdir().expect("tempdir");
    let got = imported(&tmp.path().join("log"), &sample);
    assert_eq!(got.len(), 11, "19 records, 11 events");
    let actions: Vec<&str> = got.iter().map(|r| r.event.action.as_str()).collect();
    assert!(
        actions.contains(&"linux.CONFIG_CHANGE.remove_rule"),
        "{actions:?}"
    );
    assert_eq!(
        got.iter()
            .filter(|r| r.event.severity >= Severity::High)
            .count(),
        2,
        "the rule removal and the crash"
    );
    let sudo = got
        .iter()
        .find(|r| r.event.action == "linux.USER_CMD")
        .expect("sudo");
    let meta = sudo
        .event
        .metadata
        .as_ref()
        .expect("m")
        .to_value()
        .expect("json");
    assert_eq!(
        meta["original"]["records"][0]["cmd"],
        "systemctl stop auditd"
    );
}
