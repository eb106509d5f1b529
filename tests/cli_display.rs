//! How `query` shows records: a table fitted to the terminal's width (`COLUMNS` here, since
//! the tests' stdout is a pipe), cells cut with an ellipsis and attacker-controlled text
//! escaped; `--columns`; local time in the table unless `--utc`, UTC in jsonl/csv unless
//! `--local`; help wrapped to the width.

use std::path::Path;
use std::process::{Command, Output};

fn auditlog(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    cmd.args(args)
        .env_remove("AUDITLOG_DIR")
        .env_remove("COLUMNS")
        // Two hours east of UTC, without daylight saving time.
        .env("TZ", "XST-2");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = auditlog(args, env);
    assert!(
        out.status.success(),
        "auditlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A log of two events: a plain one, and one whose actor and entity are hostile.
fn log(dir: &Path) -> String {
    let d = dir.to_str().expect("utf-8").to_string();
    let events = dir.with_extension("jsonl");
    let long = "x".repeat(300);
    let lines = [
        serde_json::json!({"actor": {"id": "alice"}, "action": "login", "ip": "192.0.2.7",
                           "occurred_at": "2023-11-14T22:13:20Z"}),
        // Identifiers refuse control characters; free text (an error message) holds them.
        serde_json::json!({"actor": {"id": "eve\u{202e}toor"}, "action": "delete",
                           "error_message": "eve\u{1b}[2J\r\nroot",
                           "entity": {"type": "file", "id": format!("/tmp/{long}")},
                           "occurred_at": "2023-11-14T23:00:00Z"}),
    ];
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(&events, text).expect("writes");
    ok(
        &["import", "--dir", &d, events.to_str().expect("utf-8")],
        &[],
    );
    d
}

#[test]
fn the_table_fits_the_width_and_escapes_hostile_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = log(&tmp.path().join("log"));
    for width in [80usize, 120, 200] {
        let w = width.to_string();
        for columns in ["seq,actor,action,entity", "seq,time,actor,error,entity"] {
            let out = ok(
                &[
                    "query",
                    "--dir",
                    &d,
                    "--format",
                    "table",
                    "--columns",
                    columns,
                ],
                &[("COLUMNS", &w)],
            );
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 3, "a header and one line per record: {out}");
            for line in &lines {
                assert!(line.chars().count() <= width, "{width}: {line}");
                assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
                assert!(!line.contains('\u{202e}'), "{line:?}");
            }
        }
        let out = ok(
            &["query", "--dir", &d, "--format", "table"],
            &[("COLUMNS", &w)],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= width), "{out}");
        assert!(
            lines[2].ends_with('…'),
            "the long entity is cut: {}",
            lines[2]
        );
    }
    // Wide enough, the escapes are shown whole.
    let out = ok(
        &[
            "query",
            "--dir",
            &d,
            "--format",
            "table",
            "--columns",
            "seq,actor,error,entity",
        ],
        &[("COLUMNS", "400")],
    );
    assert!(out.contains("eve\\u{1b}[2J\\r\\nroot"), "{out}");
    assert!(out.contains("eve\\u{202e}toor"), "{out}");
}

#[test]
fn chosen_columns_and_time_zones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = log(&tmp.path().join("log"));
    let table = |extra: &[&str]| {
        let mut args = vec!["query", "--dir", &d, "--format", "table", "--limit", "1"];
        args.extend(extra);
        ok(&args, &[("COLUMNS", "100")])
    };
    let local = table(&["--columns", "time,actor,ip"]);
    lines_header(&local);
    assert!(local.contains("2023-11-15 00:13:20  alice"), "{local}");
    assert!(local.contains("192.0.2.7"), "{local}");
    let utc = table(&["--columns", "time,actor", "--utc"]);
    assert!(utc.starts_with("TIME (UTC)"), "{utc}");
    assert!(utc.contains("2023-11-14 22:13:20  alice"), "{utc}");

    let jsonl = ok(
        &["query", "--dir", &d, "--format", "jsonl", "--limit", "1"],
        &[],
    );
    assert!(
        jsonl.contains("\"occurred_at\":\"2023-11-14T22:13:20Z\""),
        "{jsonl}"
    );
    let jsonl = ok(
        &[
            "query", "--dir", &d, "--format", "jsonl", "--limit", "1", "--local",
        ],
        &[],
    );
    assert!(
        jsonl.contains("\"occurred_at\":\"2023-11-15T00:13:20+02:00\""),
        "{jsonl}"
    );
    let csv = ok(&["export", "--dir", &d, "--format", "csv", "--local"], &[]);
    assert!(csv.contains(",2023-11-15T00:13:20+02:00,alice,"), "{csv}");

    let bad = auditlog(
        &[
            "query",
            "--dir",
            &d,
            "--columns",
            "time,nope",
            "--format",
            "table",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown column"));
    let bad = auditlog(
        &[
            "query",
            "--dir",
            &d,
            "--columns",
            "time",
            "--format",
            "jsonl",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "--columns is for the table");
    let bad = auditlog(&["query", "--dir", &d, "--utc", "--local"], &[]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The first line of a table, trimmed.
fn lines_header(table: &str) -> String {
    let header = table
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string();
    assert!(header.starts_with("TIME (local)"), "{header}");
    assert!(
        header.contains("ACTOR") && header.ends_with("IP"),
        "{header}"
    );
    header
}

#[test]
fn help_is_wrapped_to_the_terminal() {
    for width in [60usize, 100] {
        let w = width.to_string();
        let help = ok(&["query", "--help"], &[("COLUMNS", &w)]);
        for line in help.lines() {
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
    }
    let wide = ok(&["query", "--help"], &[("COLUMNS", "200")]);
    assert!(
        wide.lines().any(|l| l.chars().count() > 100),
        "a wide terminal gets long lines"
    );
}
