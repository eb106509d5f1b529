//! I/O errors the process survives, injected at every file-system call of compaction,
//! archiving and retention (EIO, ENOSPC, a short write then ENOSPC), through the fault layer
//! on a real directory. Whatever call fails: nothing panics; the operation returns an error
//! or completes; the same handle keeps accepting appends (a failed maintenance task must not
//! stop the audit trail); running the operation again completes it; and the log reopens with
//! a full check and verifies, holding every record it acknowledged after the cut it recorded.

mod common;
use auditlog::fs::StdFileSystem;
use auditlog::fs::faulty::{Fault, FaultyFs};
use auditlog::lifecycle::{ArchivePolicy, CompactOptions, LocalDirDestination, RetentionPolicy};
use auditlog::{AuditLog, OpenCheck, VerifyOptions, verify};
use common::*;
use std::path::Path;
use std::sync::Arc;

const EVENTS: u64 = 1500;
const MORE: u64 = 20;

type Op<'a> = dyn Fn(&AuditLog, &Path, &Arc<FaultyFs>) -> auditlog::Result<()> + 'a;

/// Runs `op` once per call index and fault kind, each time on a fresh copy of a log with
/// several sealed segments, and checks what the module documentation promises.
fn fail_every_call(op: &Op<'_>) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let template = tmp.path().join("log");
    let log = small_segments(&template).open().unwrap();
    append_range(&log, 0, EVENTS);
    drop(log);
    let mut faults_seen = 0;
    for fault in Fault::ALL {
        for k in 0.. {
            let (copy, dir) = copy_log(&template);
            let fs = Arc::new(FaultyFs::new(Arc::new(StdFileSystem)));
            let log = small_segments(&dir).file_system(fs.clone()).open().unwrap();
            let base = fs.calls().len();
            fs.inject(base + k, fault);
            let result = op(&log, copy.path(), &fs);
            if fs.injected().is_none() {
                result.unwrap_or_else(|e| panic!("{fault:?} beyond the last call: {e}"));
                break;
            }
            faults_seen += 1;
            let at = format!("{fault:?} at call {k} ({:?})", fs.injected());
            // The same handle still takes appends, and the operation completes when rerun.
            append_range(&log, EVENTS, EVENTS + MORE);
            op(&log, copy.path(), &fs).unwrap_or_else(|e| panic!("{at}, rerun: {e}"));
            let first = log.first_seq();
            drop(log);

            let log = small_segments(&dir)
                .open_check(OpenCheck::Full)
                .open()
                .unwrap_or_else(|e| panic!("{at}, reopen: {e}"));
            assert_eq!(log.first_seq(), first, "{at}");
            let records = read_all(&log);
            assert_eq!(records.len() as u64, EVENTS + MORE - first, "{at}");
            for (r, seq) in records.iter().zip(first..) {
                assert_eq!((r.seq, &r.event), (seq, &event(seq)), "{at}");
            }
            drop(log);
            let report = verify(&dir, &VerifyOptions::default()).unwrap();
            assert!(report.ok, "{at}: {report}");
            assert_eq!(report.tree_head.size, EVENTS + MORE, "{at}");
        }
    }
    println!("faults injected: {faults_seen}");
    faults_seen
}

#[test]
fn compaction_survives_an_io_error_at_every_call() {
    let seen = fail_every_call(&|log, _, _| log.compact(&CompactOptions::default()).map(|_| ()));
    assert!(seen >= 3 * 5, "faults injected: {seen}");
}

#[test]
fn retention_survives_an_io_error_at_every_call() {
    let policy = RetentionPolicy {
        max_total_bytes: Some(100 * 1024),
        ..RetentionPolicy::default()
    };
    let seen = fail_every_call(&|log, _, _| log.apply_retention(&policy).map(|_| ()));
    assert!(seen >= 3 * 3, "faults injected: {seen}");
}

#[test]
fn archiving_survives_an_io_error_at_every_call() {
    let seen = fail_every_call(&|log, root, fs| {
        let destination = LocalDirDestination::with_file_system(root.join("archive"), fs.clone());
        let policy = ArchivePolicy {
            min_age: None,
            max_segments: Some(2),
        };
        log.archive(&destination, &policy).map(|_| ())
    });
    assert!(seen >= 3 * 5, "faults injected: {seen}");
}
