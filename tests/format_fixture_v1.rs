//! A small log written by format version 1 (committed under tests/fixtures/v1-small: three
//! segments, two sealed and one active, 30 events) must keep opening, verifying and reading
//! back identically in every later build: the format is a contract.

mod common;

use auditlog::{AuditLog, OpenCheck};
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/v1-small";
const TREE_HEAD: &str =
    "tree size 30 root 272cfef090a1a8504d03408825707e51f66df7e47c7753e5a9f5f18bda738532";

#[test]
fn version_1_fixture_opens_verifies_and_reads_back() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let log = common::open_checked_clean(&dir);
    assert_eq!(log.open_report().segments, 3);
    assert_eq!(log.tree_head().unwrap().to_string(), TREE_HEAD);
    let records: Vec<_> = log.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 30);
    let first = serde_json::to_string(&records[0]).unwrap();
    let last = serde_json::to_string(&records[29]).unwrap();
    assert_eq!(
        first,
        include_str!("fixtures/v1-small.record0.json").trim_end()
    );
    assert_eq!(
        last,
        include_str!("fixtures/v1-small.record29.json").trim_end()
    );
}

#[test]
fn version_1_fixture_accepts_appends_in_a_copy() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    let log = AuditLog::open(tmp.path()).unwrap();
    let r = log
        .append(&auditlog::Event::new("auditor", "fixture.append"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.seq, 30);
    drop(log);
    let log = AuditLog::builder(tmp.path())
        .open_check(OpenCheck::Full)
        .open()
        .unwrap();
    assert_eq!(log.tree_head().unwrap().size, 31);
}
