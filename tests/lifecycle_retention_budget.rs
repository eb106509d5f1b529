//! Retention by a total size budget counts what the log holds, not what it reserved: with
//! preallocation the active segment's file is `segment_max_bytes` long from its first record,
//! yet a budget a little above the sealed segments plus the active segment's records deletes
//! nothing, and a budget just below the sealed segments deletes exactly the oldest one.

mod common;
use auditlog::AuditLog;
use auditlog::lifecycle::RetentionPolicy;
use common::*;
use std::path::Path;

const SEGMENT_MAX: u64 = 1024 * 1024;

fn file_bytes(dir: &Path, ext: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == ext))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn the_budget_counts_the_active_segments_records_not_its_preallocation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = AuditLog::builder(&dir)
        .segment_max_bytes(SEGMENT_MAX)
        .preallocate(true)
        .open()
        .unwrap();
    // Three sealed segments of 300 records, then 10 records in the active one.
    for i in 0..3 {
        append_range(&log, i * 300, (i + 1) * 300);
        log.seal().unwrap();
    }
    append_range(&log, 900, 910);
    let sealed: Vec<_> = segment_files(&dir);
    assert_eq!(sealed.len(), 4, "three sealed segments and the active one");
    let active_len = std::fs::metadata(sealed.last().unwrap()).unwrap().len();
    let sealed_bytes: u64 = sealed[..3]
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum::<u64>()
        + file_bytes(&dir, "idx");
    let first_len = std::fs::metadata(&sealed[0]).unwrap().len();
    // 10 records of these events are far below 64 KiB; the preallocated file is 1 MiB (on a
    // file system that preallocates: otherwise the check below still holds, trivially).
    let generous = sealed_bytes + 64 * 1024;
    if active_len == SEGMENT_MAX {
        assert!(active_len + sealed_bytes > generous);
    }
    let keep_all = RetentionPolicy {
        max_age: None,
        max_total_bytes: Some(generous),
    };
    let plan = log.plan_retention(&keep_all).unwrap();
    assert_eq!(plan.segments, vec![], "within budget: nothing goes");
    let report = log.apply_retention(&keep_all).unwrap();
    assert!(report.cut.is_none());
    assert_eq!(log.first_seq(), 0);

    // Just below the sealed segments alone: the oldest goes (one segment frees more than the
    // active segment's records add), and only it.
    let tight = RetentionPolicy {
        max_age: None,
        max_total_bytes: Some(sealed_bytes - 1),
    };
    let report = log.apply_retention(&tight).unwrap();
    assert_eq!(report.segments.len(), 1, "{report:?}");
    assert_eq!(report.segments[0].end_seq, 300);
    assert!(report.segments[0].bytes >= first_len);
    assert_eq!(log.first_seq(), 300);
    log.close().unwrap();
    let report = auditlog::verify(&dir, &Default::default()).unwrap();
    assert!(report.ok, "{report}");
}
