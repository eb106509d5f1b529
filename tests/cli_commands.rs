//! The smaller promises of the command line, end to end through the binary: `append` from
//! flags and from JSON on stdin prints a receipt and `get` reads the record back; a bad import
//! line stops the import with exit code 2 and its line number after writing only the lines
//! before it, or is skipped with `--skip-bad`; the auditd preset maps the real auditd file;
//! `--dir` comes from `AUDITLOG_DIR`; usage errors exit with 2; `tail -f` follows records
//! appended by another process; CSV export quotes what needs quoting.

use auditlog::{AuditLog, OpenCheck, Record};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    c.env_remove("AUDITLOG_DIR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("writes stdin");
    child.wait_with_output().expect("runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn records(dir: &Path) -> Vec<Record> {
    let log = AuditLog::builder(dir)
        .open_check(OpenCheck::Full)
        .open_read_only()
        .expect("opens");
    assert_eq!(log.open_report().problems, vec![]);
    log.iter(..).map(|r| r.expect("readable")).collect()
}

#[test]
fn append_from_flags_and_stdin_then_get_and_query() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let d = dir.to_str().expect("utf-8");
    let receipt: Value = serde_json::from_str(&stdout(&run(&[
        "append",
        "--dir",
        d,
        "--actor",
        "alice",
        "--action",
        "login",
        "--outcome",
        "failure",
        "--entity",
        "user:alice",
        "--label",
        "SOX",
        "--meta",
        "attempt=3",
        "--meta",
        "note=hello, world",
    ])))
    .expect("a JSON receipt");
    assert_eq!(receipt["seq"], Value::from(0));
    assert_eq!(receipt["tree_size"], Value::from(1));
    assert_eq!(receipt["leaf_hash"].as_str().map(str::len), Some(64));

    let out = run_with_stdin(
        &["append", "--dir", d],
        r#"{"actor":{"id":"bob"},"action":"export","severity":"high"}"#,
    );
    let receipt: Value = serde_json::from_str(&stdout(&out)).expect("a JSON receipt");
    assert_eq!(receipt["seq"], Value::from(1));

    // AUDITLOG_DIR stands in for --dir.
    let got = bin()
        .args(["get", "0", "--compact"])
        .env("AUDITLOG_DIR", d)
        .output()
        .expect("runs");
    let record: Record = serde_json::from_str(&stdout(&got)).expect("a record");
    assert_eq!(record.event.actor.id, "alice");
    assert_eq!(record.event.labels, ["SOX"]);
    let meta = record
        .event
        .metadata
        .expect("metadata")
        .to_value()
        .expect("a value");
    assert_eq!(meta["attempt"], Value::from(3));
    assert_eq!(meta["note"], Value::from("hello, world"));

    let bob = stdout(&run(&[
        "query",
        "--dir",
        d,
        "--severity",
        "high+",
        "--format",
        "jsonl",
    ]));
    assert_eq!(bob.lines().count(), 1);
    assert!(bob.contains("\"bob\""), "{bob}");
    let table = stdout(&run(&[
        "query",
        "--dir",
        d,
        "--format",
        "table",
        "--reverse",
    ]));
    let rows: Vec<_> = table.lines().collect();
    assert!(rows[0].contains("ACTOR") && rows[1].contains("bob") && rows[2].contains("alice"));

    // A page that stops at the limit prints the next cursor, which continues the query.
    let first = run(&["query", "--dir", d, "--limit", "1", "--format", "jsonl"]);
    let hint = stderr(&first);
    let cursor = hint
        .split_whitespace()
        .last()
        .expect("a cursor on stderr")
        .to_string();
    let next = stdout(&run(&[
        "query", "--dir", d, "--limit", "1", "--format", "jsonl", "--cursor", &cursor,
    ]));
    assert!(next.contains("\"bob\""), "{next}");

    let csv = stdout(&run(&["export", "--dir", d, "--format", "csv"]));
    assert!(
        csv.contains(r#""{""attempt"":3,""note"":""hello, world""}""#),
        "{csv}"
    );

    let missing = run(&["get", "--dir", d, "9"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("#0 to #1"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn a_bad_import_line_is_fatal_or_skipped_and_never_half_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"user\":\"a\",\"what\":\"x\"}\n",
            "{\"user\":\"b\",\"what\":\"y\"}\n",
            "\n",
            "{\"user\":\"c\",\"what\":\"y\", oops}\n",
            "{\"user\":\"\",\"what\":\"z\"}\n",
            "{\"user\":\"d\",\"what\":\"z\"}\n",
        ),
    )
    .expect("writes");
    let input = input.to_str().expect("utf-8");
    let map = ["--map", "actor=user", "--map", "action=what"];

    let fatal = tmp.path().join("fatal");
    let mut args = vec!["import", "--dir", fatal.to_str().expect("utf-8"), input];
    args.extend(map);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 4:"), "{}", stderr(&out));
    let kept: Vec<_> = records(&fatal)
        .into_iter()
        .map(|r| r.event.actor.id)
        .collect();
    assert_eq!(kept, ["a", "b"]);

    let skipping = tmp.path().join("skip");
    let mut args = vec![
        "import",
        "--dir",
        skipping.to_str().expect("utf-8"),
        input,
        "--skip-bad",
    ];
    args.extend(map);
    let out = run(&args);
    // Skipping lines writes the others, then exits 2 with the count.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("2 bad lines skipped"), "{summary}");
    assert!(stderr(&out).contains("2 bad lines of"), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 5:"), "{}", stderr(&out));
    let kept: Vec<_> = records(&skipping)
        .into_iter()
        .map(|r| r.event.actor.id)
        .collect();
    assert_eq!(kept, ["a", "b", "d"]);

    // Another system's JSON without a mapping is refused with a hint.
    let out = run(&["import", "--dir", skipping.to_str().expect("utf-8"), input]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--preset or --map"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn auditd_preset_maps_the_real_auditd_file() {
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/linux-auditd-events.jsonl.zst");
    if !data.exists() {
        eprintln!("note: {} is absent; skipping", data.display());
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8");
    stdout(&run(&[
        "import",
        "--dir",
        d,
        "--preset",
        "auditd",
        data.to_str().expect("utf-8"),
    ]));
    let all = records(tmp.path());
    assert_eq!(all.len(), 50);
    for r in &all {
        let metadata = r
            .event
            .metadata
            .as_ref()
            .expect("metadata")
            .to_value()
            .expect("a value");
        let original = &metadata["original"];
        let text = original["EventData"].as_str().expect("EventData text");
        assert!(
            text.contains(&format!(" user={} ", r.event.actor.id)),
            "{text}"
        );
        let failed = text.contains(" success=no ");
        assert_eq!(r.event.outcome == auditlog::Outcome::Failure, failed);
        assert_eq!(r.event.action, "auditd.AUOMS_EXECVE");
        assert!(r.event.occurred_at.is_some());
    }
}

#[test]
fn usage_errors_exit_with_2_and_say_what_to_do() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nowhere = tmp.path().join("nowhere");
    let out = run(&["query", "--dir", nowhere.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("auditlog import"), "{}", stderr(&out));
    let out = run(&["query"]);
    assert_eq!(out.status.code(), Some(2), "no --dir and no AUDITLOG_DIR");
    let d = tmp.path().to_str().expect("utf-8");
    let out = run(&["query", "--dir", d, "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("yesterday"), "{}", stderr(&out));
    let out = run(&["import", "--dir", d, "--map", "actr=user", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown event field"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tail_follow_prints_records_another_process_appends() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().to_str().expect("utf-8");
    stdout(&run(&[
        "append", "--dir", d, "--actor", "old", "--action", "a",
    ]));
    let mut follower = bin()
        .args([
            "tail", "--dir", d, "-f", "-n", "1", "--format", "jsonl", "--actor", "new",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let lines = BufReader::new(follower.stdout.take().expect("piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    stdout(&run(&[
        "append", "--dir", d, "--actor", "other", "--action", "b",
    ]));
    stdout(&run(&[
        "append", "--dir", d, "--actor", "new", "--action", "c",
    ]));
    let got = rx.recv_timeout(Duration::from_secs(60));
    let _ = follower.kill();
    let _ = follower.wait();
    let line = got.expect("a followed record in time").expect("readable");
    let record: Record = serde_json::from_str(&line).expect("a record");
    assert_eq!((record.seq, record.event.action.as_str()), (2, "c"));
}
