//! `auditlog import` of many events seals the segment it ends in, so that the segment's index
//! file is on disk for the fresh `auditlog query` processes that follow (otherwise each of them
//! re-reads and indexes the whole unsealed segment); a small import leaves the segment open.

use std::path::Path;
use std::process::{Command, Output};

fn auditlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .output()
        .expect("the auditlog binary runs")
}

/// Imports `n` events into a new log `tmp/log`; returns the number of index files it holds.
fn import_and_count_index_files(tmp: &Path, n: usize) -> usize {
    let input = tmp.join("input.jsonl");
    let lines: String = (0..n)
        .map(|i| {
            format!(
                "{{\"actor\":{{\"id\":\"user:{}\"}},\"action\":\"LOGIN\"}}\n",
                i % 7
            )
        })
        .collect();
    std::fs::write(&input, lines).expect("writes");
    let dir = tmp.join("log");
    let dir = dir.to_str().expect("utf-8");
    let out = auditlog(&["import", "--dir", dir, input.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = auditlog(&["query", "--dir", dir, "--actor", "user:3", "--count"]);
    assert!(count.status.success());
    let expected = (0..n).filter(|i| i % 7 == 3).count();
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        expected.to_string()
    );
    std::fs::read_dir(tmp.join("log"))
        .expect("lists")
        .filter(|e| {
            e.as_ref()
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .ends_with(".idx")
        })
        .count()
}

#[test]
fn a_large_import_leaves_an_index_file_and_a_small_one_an_open_segment() {
    let large = tempfile::tempdir().expect("tempdir");
    assert_eq!(import_and_count_index_files(large.path(), 5_000), 1);
    let small = tempfile::tempdir().expect("tempdir");
    assert_eq!(import_and_count_index_files(small.path(), 10), 0);
}
