//! A flipped bit anywhere in a sealed segment is reported with its place, never silently
//! truncated: `OpenCheck::Full` fails the open, and with the default quick open either the
//! open (header/footer damage) or reading the damaged record fails.

mod common;
use auditlog::{AuditLog, OpenCheck};
use common::*;

#[test]
fn every_bit_flip_in_a_sealed_segment_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    {
        let log = small_segments(&dir).open().unwrap();
        append_range(&log, 0, 12);
        log.seal().unwrap();
        append_range(&log, 12, 20);
    }
    let sealed = segment_files(&dir)[0].clone();
    let len = std::fs::metadata(&sealed).unwrap().len() as usize;
    let (_keep, copy) = copy_log(&dir);
    let target = segment_files(&copy)[0].clone();
    let original = std::fs::read(&target).unwrap();
    // Every bit is too slow in debug builds for large segments; this one is ~1.3 KB.
    assert!(len < 4096, "segment is {len} bytes");
    for bit in 0..len * 8 {
        let mut damaged = original.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&target, &damaged).unwrap();
        // Full check: the open fails and names the file.
        let err = small_segments(&copy)
            .open_check(OpenCheck::Full)
            .open()
            .expect_err(&format!("bit {bit}"));
        let c = err
            .corruption()
            .unwrap_or_else(|| panic!("bit {bit}: {err}"));
        assert_eq!(c.file, target, "bit {bit}");
        // Quick open: either the open or a full read reports it; the log is never shorter.
        match small_segments(&copy).open() {
            Err(e) => assert!(e.corruption().is_some(), "bit {bit}: {e}"),
            Ok(log) => {
                assert_eq!(
                    log.tree_head().unwrap().size,
                    20,
                    "bit {bit}: log silently shortened"
                );
                let read: Result<Vec<_>, _> = log.iter(..).collect();
                let e = read.expect_err(&format!("bit {bit}: damage not reported on read"));
                let c = e.corruption().unwrap_or_else(|| panic!("bit {bit}: {e}"));
                assert_eq!(c.file, target);
            }
        }
        // Nothing was truncated or rewritten.
        assert_eq!(
            std::fs::read(&target).unwrap(),
            damaged,
            "bit {bit}: file modified"
        );
    }
    std::fs::write(&target, &original).unwrap();
    let log = AuditLog::builder(&copy)
        .open_check(OpenCheck::Full)
        .open()
        .unwrap();
    assert_events(&read_all(&log), 20);
}

#[test]
fn a_missing_middle_segment_fails_the_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    {
        let log = small_segments(&dir).open().unwrap();
        for i in 0..3 {
            append_range(&log, i * 10, i * 10 + 10);
            log.seal().unwrap();
        }
    }
    let files = segment_files(&dir);
    std::fs::remove_file(&files[1]).unwrap();
    let err = AuditLog::open(&dir).unwrap_err();
    let c = err.corruption().unwrap();
    assert_eq!(
        c.kind,
        auditlog::CorruptionKind::MissingSegment { first_seq: 10 }
    );
    assert_eq!(c.file, files[2]);
}

#[test]
fn a_segment_from_another_log_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let log = small_segments(dir).open().unwrap();
        append_range(&log, 0, 10);
        log.seal().unwrap();
        append_range(&log, 10, 20);
    }
    std::fs::copy(&segment_files(&b)[0], &segment_files(&a)[0]).unwrap();
    let err = AuditLog::open(&a).unwrap_err();
    assert_eq!(
        err.corruption().unwrap().kind,
        auditlog::CorruptionKind::ForeignLog
    );
}
