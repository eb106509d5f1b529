//! The operator's path on real data, end to end through the `auditlog` binary: import the
//! Windows Security / Sysmon events of `../shared/data` with the `windows-security` preset
//! (zstd-compressed, as shipped), query them by actor and by time and compare the counts with
//! ones computed here from the raw JSON, export them as JSON Lines and re-import that into a
//! new log without any mapping, which must give identical events; both logs then pass a full
//! check of every CRC and Merkle root.
//!
//! Debug builds import the first `DEBUG_LINES` events (the whole 25,993 take long unoptimised);
//! `cargo test --release` imports them all. Without the data (a checkout without `shared/`
//! beside it) the test prints a note and passes.

use auditlog::{AuditLog, OpenCheck, ReadOnlyLog, Record, Timestamp};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEBUG_LINES: usize = 1_000;

/// `../shared/data` beside the checkout, or the directory `AUDITLOG_DATA_DIR` names (for a
/// worktree that is not beside it).
fn data_file() -> PathBuf {
    let dir = std::env::var_os("AUDITLOG_DATA_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    );
    dir.join("windows-security-events.jsonl.zst")
}

fn auditlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("the auditlog binary runs")
}

/// Runs the binary and returns its stdout, failing the test on a non-zero exit.
fn ok(args: &[&str]) -> String {
    let out = auditlog(args);
    assert!(
        out.status.success(),
        "auditlog {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn count(args: &[&str]) -> u64 {
    let mut all = args.to_vec();
    all.push("--count");
    ok(&all).trim().parse().expect("a count")
}

/// The preset's actor rule, written again independently: the first of these keys with a
/// value other than empty or `-`, without a `DOMAIN\` prefix or `@REALM` suffix.
fn expected_actor(o: &Map<String, Value>) -> String {
    [
        "SubjectUserName",
        "TargetUserName",
        "SourceUser",
        "User",
        "AccountName",
    ]
    .iter()
    .find_map(|k| match o.get(*k) {
        Some(Value::String(s)) if !s.is_empty() && s != "-" => {
            let user = s.rsplit('\\').next().unwrap_or(s);
            Some(user.split('@').next().unwrap_or(user).to_string())
        }
        _ => None,
    })
    .unwrap_or_else(|| "unknown".into())
}

fn read_records(dir: &Path) -> Vec<Record> {
    let log = ReadOnlyLog::open(dir).expect("opens");
    log.iter(..).map(|r| r.expect("readable")).collect()
}

fn assert_intact(dir: &Path, records: u64) {
    let log = AuditLog::builder(dir)
        .open_check(OpenCheck::Full)
        .open_read_only()
        .expect("opens with a full check");
    assert_eq!(log.open_report().problems, vec![], "{}", dir.display());
    assert_eq!(log.tree_head().unwrap().size, records);
}

#[test]
fn windows_events_import_query_export_reimport_and_verify() {
    let data = data_file();
    if !data.exists() {
        eprintln!(
            "note: {} is absent; skipping the real-data CLI test",
            data.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // The input: the shipped file, or in debug builds its first lines, compressed again so
    // the zstd path is exercised either way.
    let lines: Vec<String> = BufReader::new(
        zstd::Decoder::new(std::fs::File::open(&data).expect("opens")).expect("zstd"),
    )
    .lines()
    .map(|l| l.expect("readable"))
    .take(if cfg!(debug_assertions) {
        DEBUG_LINES
    } else {
        usize::MAX
    })
    .collect();
    let input = tmp.path().join("input.jsonl.zst");
    let text = lines.join("\n") + "\n";
    std::fs::write(
        &input,
        zstd::encode_all(text.as_bytes(), 3).expect("compresses"),
    )
    .expect("writes");
    let n = lines.len() as u64;
    let originals: Vec<Map<String, Value>> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("the data is JSON objects"))
        .collect();

    let a = tmp.path().join("a");
    let a_dir = a.to_str().expect("utf-8 path");
    let summary = ok(&[
        "import",
        "--dir",
        a_dir,
        "--preset",
        "windows-security",
        input.to_str().expect("utf-8 path"),
    ]);
    assert!(
        summary.contains(&format!("imported {n} events as seq 0..={}", n - 1)),
        "{summary}"
    );

    // By actor: the count of the binary equals the one computed from the raw JSON, and every
    // record returned is that actor's with its original object kept.
    let pgustavo = originals
        .iter()
        .filter(|o| expected_actor(o) == "pgustavo")
        .count() as u64;
    assert!(pgustavo > 0, "the sample has pgustavo's events");
    assert_eq!(
        count(&["query", "--dir", a_dir, "--actor", "pgustavo"]),
        pgustavo
    );
    let page = ok(&[
        "query", "--dir", a_dir, "--actor", "pgustavo", "--limit", "5", "--format", "jsonl",
    ]);
    let records: Vec<Record> = page
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record per line"))
        .collect();
    assert_eq!(records.len() as u64, pgustavo.min(5));
    for r in &records {
        assert_eq!(r.event.actor.id, "pgustavo");
        let metadata = r
            .event
            .metadata
            .as_ref()
            .expect("metadata")
            .to_value()
            .expect("a value");
        let original = &metadata["original"];
        assert_eq!(original, &Value::Object(originals[r.seq as usize].clone()));
    }

    // By time: occurred_at comes from @timestamp; count a window from the raw data.
    let times: Vec<Timestamp> = originals
        .iter()
        .map(|o| {
            Timestamp::parse_rfc3339(o["@timestamp"].as_str().expect("a string")).expect("RFC 3339")
        })
        .collect();
    let (since, until) = (times[times.len() / 4], times[times.len() / 2]);
    let in_window = times.iter().filter(|t| since <= **t && **t < until).count() as u64;
    assert!(in_window > 0);
    let (since_text, until_text) = (since.to_rfc3339(), until.to_rfc3339());
    let window = [
        "query",
        "--dir",
        a_dir,
        "--time-field",
        "occurred",
        "--since",
        &since_text,
        "--until",
        &until_text,
    ];
    assert_eq!(count(&window), in_window);
    // recorded_at is the import's time: all of it is within the last day, none before.
    assert_eq!(count(&["query", "--dir", a_dir, "--since", "1d"]), n);
    assert_eq!(count(&["query", "--dir", a_dir, "--until", "1d"]), 0);
    let failures = originals
        .iter()
        .filter(|o| o.get("EventType").and_then(Value::as_str) == Some("AUDIT_FAILURE"))
        .count() as u64;
    assert_eq!(
        count(&["query", "--dir", a_dir, "--outcome", "failure"]),
        failures
    );

    // Export and re-import without a mapping: the same events, in the same order.
    let exported = tmp.path().join("export.jsonl");
    ok(&[
        "export",
        "--dir",
        a_dir,
        "--format",
        "jsonl",
        "-o",
        exported.to_str().expect("utf-8 path"),
    ]);
    let b = tmp.path().join("b");
    ok(&[
        "import",
        "--dir",
        b.to_str().expect("utf-8 path"),
        exported.to_str().expect("utf-8 path"),
    ]);
    let (ra, rb) = (read_records(&a), read_records(&b));
    assert_eq!(ra.len() as u64, n);
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.seq, y.seq);
        assert_eq!(x.event, y.event, "record #{}", x.seq);
    }

    // A JSON array export of one actor parses back to the same records.
    let json = ok(&[
        "export", "--dir", a_dir, "--format", "json", "--actor", "pgustavo",
    ]);
    let array: Vec<Record> = serde_json::from_str(&json).expect("one JSON array");
    assert_eq!(array.len() as u64, pgustavo);
    assert!(array.iter().all(|r| r == &ra[r.seq as usize]));

    let stats: Value =
        serde_json::from_str(&ok(&["stats", "--dir", a_dir, "--json"])).expect("stats as JSON");
    assert_eq!(stats["records_held"], Value::from(n));
    assert_eq!(stats["by_outcome"]["failure"], Value::from(failures));

    assert_intact(&a, n);
    assert_intact(&b, n);
}
