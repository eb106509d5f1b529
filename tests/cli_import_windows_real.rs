//! The `windows-security` preset on the whole real file of `../shared/data` (25,993 Windows
//! Security, Sysmon and PowerShell events): every line becomes an event, each account is one
//! actor whatever its domain form, the outcome follows the audit bits of `Keywords`, and the
//! event-id meanings set severities. `#[ignore]`d because a debug build takes some 15 s on
//! it: `AUDITLOG_DATA_DIR=/path/to/shared/data cargo test --test cli_import_windows_real --
//! --ignored` (without the data it prints a note and passes).

use serde_json::{Map, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data_file() -> PathBuf {
    let dir = std::env::var_os("AUDITLOG_DATA_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    );
    dir.join("windows-security-events.jsonl.zst")
}

fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("the auditlog binary runs");
    assert!(
        out.status.success(),
        "auditlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
#[ignore = "imports 25,993 real events (about 15 s in a debug build)"]
fn every_real_windows_event_imports_with_actor_outcome_and_severity() {
    let data = data_file();
    if !data.exists() {
        eprintln!("note: {} is absent; skipping", data.display());
        return;
    }
    let originals: Vec<Map<String, Value>> = BufReader::new(
        zstd::Decoder::new(std::fs::File::open(&data).expect("opens")).expect("zstd"),
    )
    .lines()
    .map(|l| serde_json::from_str(&l.expect("readable")).expect("a JSON object"))
    .collect();
    let n = originals.len();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let dir = dir.to_str().expect("utf-8");
    let data = data.to_str().expect("utf-8");
    let summary = ok(&["import", "--dir", dir, "--preset", "windows-security", data]);
    assert!(
        summary.contains(&format!("imported {n} events")),
        "{summary}"
    );

    let stats: Value = serde_json::from_str(&ok(&["stats", "--dir", dir, "--json"])).expect("JSON");
    assert_eq!(stats["records_held"], Value::from(n));
    // The failures are the events whose Keywords carry the audit-failure bit.
    let failures = originals
        .iter()
        .filter(|o| {
            o["Keywords"]
                .as_i64()
                .is_some_and(|k| k as u64 & 0x0010_0000_0000_0000 != 0)
        })
        .count();
    assert!(failures > 0);
    assert_eq!(stats["by_outcome"]["failure"], Value::from(failures));
    // Event 4672 (special privileges) is low, 4625 (a failed logon) medium, by their meaning.
    let special = originals.iter().filter(|o| o["EventID"] == 4672).count();
    assert_eq!(stats["by_severity"]["low"], Value::from(special));
    let count = |args: &[&str]| -> usize {
        let mut all = vec!["query", "--dir", dir, "--count"];
        all.extend_from_slice(args);
        ok(&all).trim().parse().expect("a count")
    };
    assert_eq!(
        count(&["--action", "windows.4625", "--severity", "medium"]),
        originals.iter().filter(|o| o["EventID"] == 4625).count()
    );
    // One account, one actor: no actor keeps a domain, and pgustavo's three spellings are one.
    let spellings = originals
        .iter()
        .filter(|o| {
            [
                "SubjectUserName",
                "TargetUserName",
                "SourceUser",
                "User",
                "AccountName",
            ]
            .iter()
            .find_map(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty() && *s != "-")
            })
            .is_some_and(|s| s.to_ascii_lowercase().contains("pgustavo"))
        })
        .count();
    assert_eq!(count(&["--actor", "pgustavo"]), spellings);
    let unknown = count(&["--actor", "unknown"]);
    assert!(
        unknown * 100 < n * 3,
        "{unknown} of {n} events without an actor"
    );
}
