//! A crash at every step of compaction and of retention (simulated by a file-system layer
//! that stops executing at its n-th call) leaves a log that opens with a full check and holds
//! exactly the expected records: all of them, or — once the cut record is durable — exactly
//! those after the cut, with the cut reported. No temp file, duplicate or orphan survives
//! the reopen, and the interrupted operation completes when run again.

mod common;
mod lifecycle_support;
use auditlog::lifecycle::{
    ArchivePolicy, CompactOptions, LocalDirDestination, RetentionPolicy, check_bundle, cuts,
};
use auditlog::{AuditLog, OpenCheck};
use common::*;
use lifecycle_support::{Crashing, CrashingFs};
use std::path::Path;
use std::sync::Arc;

const EVENTS: u64 = 2500;

/// A template log with several sealed segments and an active one.
fn template() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, EVENTS);
    assert!(segment_files(&dir).len() >= 3);
    drop(log);
    (tmp, dir)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Reopens `dir` with the real file system and a full check; returns the log.
fn reopen_checked(dir: &Path) -> AuditLog {
    let log = small_segments(dir)
        .open_check(OpenCheck::Full)
        .open()
        .unwrap_or_else(|e| panic!("reopen: {e}"));
    let files = names(dir);
    assert!(!files.iter().any(|n| n.ends_with(".tmp")), "{files:?}");
    let stems: Vec<&str> = files
        .iter()
        .filter(|n| n.ends_with(".seg") || n.ends_with(".zseg"))
        .map(|n| n.split('.').next().unwrap_or(""))
        .collect();
    let mut unique = stems.clone();
    unique.dedup();
    assert_eq!(stems, unique, "one file per segment: {files:?}");
    log
}

fn assert_records_from(log: &auditlog::LogReader, first: u64) {
    let records = read_all(log);
    assert_eq!(log.first_seq(), first);
    assert_eq!(records.len() as u64, EVENTS - first);
    for (r, seq) in records.iter().zip(first..) {
        assert_eq!(r.seq, seq);
        assert_eq!(r.event, event(seq), "record {seq}");
    }
}

/// Runs `op` on a copy of the template crashing at call `n`, for every `n` until `op`
/// completes without reaching the crash; `check` inspects each reopened log.
fn crash_at_every_step(
    op: &dyn Fn(&AuditLog, Option<&Crashing>) -> auditlog::Result<()>,
    check: &dyn Fn(&AuditLog, &Path, bool),
) -> u64 {
    let (_tmp, template_dir) = template();
    for n in 0.. {
        let (_copy, dir) = copy_log(&template_dir);
        let fs = CrashingFs::new();
        let crashing = Crashing(fs.clone());
        let log = small_segments(&dir)
            .file_system(Arc::new(crashing.clone()))
            .open()
            .unwrap();
        fs.crash_after(n);
        let result = op(&log, Some(&crashing));
        let crashed = fs.crashed();
        assert_eq!(result.is_err(), crashed, "step {n}: {result:?}");
        drop(log);
        let log = reopen_checked(&dir);
        check(&log, &dir, crashed);
        // Running the operation again completes it.
        op(&log, None).unwrap_or_else(|e| panic!("step {n}, rerun: {e}"));
        check(&log, &dir, false);
        drop(log);
        check(&reopen_checked(&dir), &dir, false);
        if !crashed {
            return n;
        }
    }
    unreachable!()
}

#[test]
fn crash_at_every_step_of_compaction() {
    let steps = crash_at_every_step(
        &|log, _| log.compact(&CompactOptions::default()).map(|_| ()),
        &|log, dir, crashed| {
            assert_records_from(log, 0);
            let cold = names(dir).iter().filter(|n| n.ends_with(".zseg")).count();
            if !crashed {
                assert!(cold >= 2, "{:?}", names(dir));
                assert_eq!(segment_files(dir).len(), 1, "{:?}", names(dir));
            }
        },
    );
    assert!(steps >= 7 * 2, "steps {steps}");
}

#[test]
fn crash_at_every_step_of_retention() {
    // A size budget small enough to drop all but the last sealed segment and the active one.
    let policy = RetentionPolicy {
        max_total_bytes: Some(100 * 1024),
        ..RetentionPolicy::default()
    };
    let steps = crash_at_every_step(
        &|log, _| log.apply_retention(&policy).map(|_| ()),
        &|log, dir, crashed| {
            let cuts = cuts::read(dir, &log.log_id()).unwrap().cuts;
            let first = log.first_seq();
            // Records are gone exactly when a durable cut says so, and from where it says.
            assert_eq!(
                first,
                cuts.last().map_or(0, |c| c.cut_seq),
                "crashed {crashed} {:?}",
                names(dir)
            );
            assert_records_from(log, first);
            if !crashed {
                assert!(first > 0, "retention removed something");
            }
        },
    );
    assert!(steps >= 5, "steps {steps}");
}

#[test]
fn crash_at_every_step_of_archiving() {
    let archive = tempfile::tempdir().unwrap();
    // One archive root per attempt, so every attempt starts from an empty destination.
    let attempt = std::sync::atomic::AtomicU64::new(0);
    let root = |a: u64| archive.path().join(format!("attempt-{a}"));
    let policy = ArchivePolicy {
        max_segments: Some(2),
        ..ArchivePolicy::default()
    };
    let steps = crash_at_every_step(
        &|log, crashing| {
            let a = match crashing {
                Some(_) => attempt.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
                None => attempt.load(std::sync::atomic::Ordering::SeqCst),
            };
            let destination = match crashing {
                Some(fs) => LocalDirDestination::with_file_system(root(a), Arc::new(fs.clone())),
                None => LocalDirDestination::new(root(a)),
            };
            log.archive(&destination, &policy).map(|_| ())
        },
        &|log, dir, crashed| {
            let cuts = cuts::read(dir, &log.log_id()).unwrap().cuts;
            let first = log.first_seq();
            assert_eq!(
                first,
                cuts.last().map_or(0, |c| c.cut_seq),
                "{:?}",
                names(dir)
            );
            assert_records_from(log, first);
            // Every recorded archive cut has a complete bundle that verifies alone.
            let a = attempt.load(std::sync::atomic::Ordering::SeqCst);
            for cut in &cuts {
                let bundle = root(a).join(auditlog::lifecycle::archive::bundle_name(
                    &log.log_id(),
                    cut.removed_from,
                ));
                let summary = check_bundle(&bundle).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(summary.end, cut.tree_head());
            }
            if !crashed {
                assert!(first > 0);
            }
        },
    );
    assert!(steps >= 10, "steps {steps}");
}
