//! Imports that never drop an event, through the `auditlog` binary on synthetic lines: long
//! Windows paths as entities (a 348-byte registry key, a path of 32,767 characters), a mapped
//! value that no event field can hold (kept in metadata and named in `metadata.unplaced`),
//! `--skip-bad` that exits 2 with the count of the lines it skipped, epoch numbers in every
//! unit, unknown outcome and severity values that are errors rather than a silent `success`,
//! and a number beyond f64 that still imports with its line kept as text.

use auditlog::{Outcome, ReadOnlyLog, Record, Severity, Timestamp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn auditlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("the auditlog binary runs")
}

/// Imports `lines` into a new log under `tmp` with `args`, returning the output.
fn import(tmp: &Path, lines: &[String], args: &[&str]) -> Output {
    let input = tmp.join("input.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("writes");
    let dir = tmp.join("log");
    let mut all = vec!["import", "--dir", dir.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    all.push(input.to_str().expect("utf-8"));
    auditlog(&all)
}

fn records(tmp: &Path) -> Vec<Record> {
    let log = ReadOnlyLog::open(tmp.join("log")).expect("opens");
    log.iter(..).map(|r| r.expect("readable")).collect()
}

fn metadata(r: &Record) -> Value {
    r.event
        .metadata
        .as_ref()
        .expect("metadata")
        .to_value()
        .expect("a value")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn long_windows_paths_are_entities() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = format!(
        "HKLM\\System\\CurrentControlSet\\Services\\{}",
        "k".repeat(348 - 42)
    );
    let path = format!(
        "\\\\?\\C:\\{}",
        "é".repeat(16_000) + &"d".repeat(32_767 - 16_007)
    );
    assert_eq!(path.chars().count(), 32_767);
    let lines = [
        json!({"EventID": 13, "User": "svc", "TargetObject": key, "@timestamp": "2020-10-22T08:29:48Z"}),
        json!({"EventID": 11, "User": "svc", "TargetFilename": path}),
    ]
    .map(|v| v.to_string());
    let out = import(tmp.path(), &lines, &["--preset", "windows-security"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(tmp.path());
    assert_eq!(got.len(), 2);
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.event.entity.clone().expect("entity").id)
        .collect();
    assert_eq!(ids, [key, path]);
}

#[test]
fn a_value_no_field_can_hold_stays_in_metadata() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ip = "1".repeat(5000);
    let line = json!({"u": "alice", "a": "login", "ip": ip, "t": "s\u{7}1"}).to_string();
    let out = import(
        tmp.path(),
        &[line],
        &[
            "--map", "actor=u", "--map", "action=a", "--map", "ip=ip", "--map", "tenant=t",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(tmp.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.ip, None);
    assert_eq!(got[0].event.tenant, None);
    let m = metadata(&got[0]);
    assert_eq!(m["original"]["ip"], json!(ip));
    assert!(
        m["unplaced"]["ip"]
            .as_str()
            .expect("a reason")
            .contains("over the limit")
    );
    assert!(
        m["unplaced"]["tenant"]
            .as_str()
            .expect("a reason")
            .contains("control")
    );
}

#[test]
fn skip_bad_exits_2_with_the_count_after_writing_the_rest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lines = [
        json!({"u": "alice", "a": "login"}).to_string(),
        "{not json".to_string(),
        json!({"u": "bob"}).to_string(),
        json!({"u": "carol", "a": "logout"}).to_string(),
    ];
    let rules = ["--map", "actor=u", "--map", "action=a", "--skip-bad"];
    let out = import(tmp.path(), &lines, &rules);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2: skipped"), "{err}");
    assert!(err.contains("line 3: skipped"), "{err}");
    assert!(err.contains("2 bad lines"), "{err}");
    assert!(
        err.contains("the 2 events of the other lines were written"),
        "{err}"
    );
    let actors: Vec<_> = records(tmp.path())
        .into_iter()
        .map(|r| r.event.actor.id)
        .collect();
    assert_eq!(actors, ["alice", "carol"]);

    // Nothing skipped: exit 0.
    let clean = tempfile::tempdir().expect("tempdir");
    let out = import(clean.path(), &lines[..1], &rules);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn epoch_numbers_are_read_by_magnitude() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let at = Timestamp::parse_rfc3339("2023-09-06T07:20:00.123456789Z").expect("a time");
    let secs = 1_693_984_800i64;
    let cases: Vec<(Value, Timestamp)> = vec![
        (json!(secs), Timestamp::from_unix_secs(secs)),
        (json!(format!("{secs}")), Timestamp::from_unix_secs(secs)),
        (
            json!(1_693_984_800.5),
            Timestamp::from_unix_millis(secs * 1000 + 500),
        ),
        (
            json!("1693984800.25"),
            Timestamp::from_unix_millis(secs * 1000 + 250),
        ),
        (
            json!(secs * 1000 + 123),
            Timestamp::from_unix_millis(secs * 1000 + 123),
        ),
        (
            json!(secs * 1_000_000 + 123_456),
            Timestamp::from_nanos((secs * 1_000_000 + 123_456) * 1000),
        ),
        (json!(at.as_nanos()), at),
        (json!(-86_400), Timestamp::from_unix_secs(-86_400)),
    ];
    let lines: Vec<String> = cases
        .iter()
        .map(|(t, _)| json!({"u": "a", "a": "b", "t": t}).to_string())
        .collect();
    let out = import(
        tmp.path(),
        &lines,
        &[
            "--map",
            "actor=u",
            "--map",
            "action=a",
            "--map",
            "occurred_at=t",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<_> = records(tmp.path())
        .into_iter()
        .map(|r| r.event.occurred_at)
        .collect();
    let want: Vec<_> = cases.iter().map(|(_, t)| Some(*t)).collect();
    assert_eq!(got, want);

    // Beyond nanoseconds in an i64, or a fraction of a millisecond: refused, not saturated.
    for bad in [
        json!(1e19),
        json!(1_693_984_800_123.5),
        json!("12x"),
        json!(u64::MAX),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let line = json!({"u": "a", "a": "b", "t": bad}).to_string();
        let out = import(
            tmp.path(),
            &[line],
            &[
                "--map",
                "actor=u",
                "--map",
                "action=a",
                "--map",
                "occurred_at=t",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("occurred_at"), "{}", stderr(&out));
    }
}

#[test]
fn unknown_outcome_and_severity_values_are_errors_unless_a_default_is_given() {
    let line = json!({"u": "a", "a": "b", "o": "CreateKey", "s": "loud"}).to_string();
    for (rule, refused) in [
        ("outcome=o", "outcome: \"CreateKey\" not understood"),
        ("severity=s", "severity: \"loud\" not understood"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let rules = ["--map", "actor=u", "--map", "action=a", "--map", rule];
        let out = import(tmp.path(), std::slice::from_ref(&line), &rules);
        assert_eq!(out.status.code(), Some(2), "{rule}");
        assert!(stderr(&out).contains(refused), "{}", stderr(&out));
    }

    // A later alternative or an explicit literal default is taken on purpose.
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = [
        "--map",
        "actor=u",
        "--map",
        "action=a",
        "--map",
        "outcome=o|\"denied\"",
        "--map",
        "severity=s|o|\"high\"",
    ];
    let out = import(tmp.path(), &[line], &rules);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(tmp.path());
    assert_eq!(got[0].event.outcome, Outcome::Denied);
    assert_eq!(got[0].event.severity, Severity::High);
}

#[test]
fn a_number_beyond_f64_imports_with_its_line_kept_as_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let line = r#"{"u":"a","a":"b","big":1e400,"neg":-2E+999,"s":"1e400 \" 9e999","n":1.5}"#;
    let ok_line = json!({"u": "c", "a": "d"}).to_string();
    let rules = [
        "--map",
        "actor=u",
        "--map",
        "action=a",
        "--map",
        "source=big",
    ];
    let out = import(tmp.path(), &[line.to_string(), ok_line], &rules);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(tmp.path());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].event.source.as_deref(), Some("1e400"));
    let m = metadata(&got[0]);
    assert_eq!(m["original"], json!(line), "the line as text, every digit");
    assert!(m["unplaced"]["metadata"].is_string());
    // A line without such numbers keeps its object as an object.
    assert_eq!(metadata(&got[1])["original"], json!({"u": "c", "a": "d"}));
}
