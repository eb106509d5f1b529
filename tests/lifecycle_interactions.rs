//! Lifecycle operations combined the way the power-loss campaign combined them when it found
//! bugs, each pinned here without the random generator: a checkpoint signed after retention
//! or after compaction; bundles separated by a retention
//! cut; a bundle left behind by an archive run interrupted before its cut, alone or once
//! retention deleted its segment; and the archive
//! directory's names made durable before the cut that relies on them.

mod common;
use auditlog::checkpoint::{CheckpointSigner, NoteSigner};
use auditlog::fs::sim::{CrashMode, SimFs};
use auditlog::lifecycle::{
    ArchivePolicy, CompactOptions, LocalDirDestination, RetentionPolicy, check_bundle,
};
use auditlog::{AuditLog, OpenCheck, VerifyOptions, verify};
use common::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn key() -> NoteSigner {
    NoteSigner::from_seed("auditlog-test", [3; 32]).unwrap()
}

fn one_segment() -> ArchivePolicy {
    ArchivePolicy {
        max_segments: Some(1),
        ..ArchivePolicy::default()
    }
}

/// Deletes every sealed segment (a size budget of one byte keeps only the newest segment).
fn retain_all_sealed(log: &AuditLog) {
    let report = log
        .apply_retention(&RetentionPolicy {
            max_total_bytes: Some(1),
            ..RetentionPolicy::default()
        })
        .unwrap();
    assert!(report.cut.is_some());
}

fn bundle_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

/// Campaign seed 9: once retention removed the records of the last checkpoint, signing
/// refused forever ("the log no longer holds the segment with record 0").
#[test]
fn checkpoints_are_signed_after_retention_removed_the_last_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    let signer = CheckpointSigner::new(key());
    append_range(&log, 0, 300);
    log.sign_checkpoint(&signer).unwrap();
    append_range(&log, 300, 600);
    log.seal().unwrap();
    retain_all_sealed(&log);
    append_range(&log, 600, 650);
    let note = log
        .sign_checkpoint(&signer)
        .expect("signing after retention");
    assert!(note.contains("\n650\n"), "{note}");
    drop(log);
    let report = verify(&dir, &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

/// Campaign seed 23: a checkpoint whose size falls inside a segment compacted since was
/// checked by reading the cold file as a hot one ("wrong magic bytes").
#[test]
fn checkpoints_are_signed_after_compaction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    let signer = CheckpointSigner::new(key());
    append_range(&log, 0, 50); // mid-segment
    log.sign_checkpoint(&signer).unwrap();
    append_range(&log, 50, 2000);
    let report = log.compact(&CompactOptions::default()).unwrap();
    assert!(report.compressed.len() >= 2, "{report:?}");
    append_range(&log, 2000, 2010);
    log.sign_checkpoint(&signer)
        .expect("signing after compaction");
}

/// Bundles archived before and after a retention cut are not contiguous; the cut log says
/// why, so they still verify together with the live log.
#[test]
fn bundles_separated_by_a_retention_cut_verify_with_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let root = tmp.path().join("archive");
    let destination = LocalDirDestination::new(&root);
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 100);
    log.seal().unwrap();
    append_range(&log, 100, 200);
    log.seal().unwrap();
    append_range(&log, 200, 300);
    log.seal().unwrap();
    append_range(&log, 300, 310);
    assert_eq!(
        log.archive(&destination, &one_segment())
            .unwrap()
            .bundles
            .len(),
        1
    );
    let report = log
        .apply_retention(&RetentionPolicy {
            max_total_bytes: Some(1),
            ..RetentionPolicy::default()
        })
        .unwrap();
    assert_eq!(report.segments.len(), 2, "drops 100..300, keeps the active");
    log.seal().unwrap();
    append_range(&log, 310, 320);
    assert_eq!(
        log.archive(&destination, &one_segment())
            .unwrap()
            .bundles
            .len(),
        1
    );
    drop(log);
    let log = AuditLog::builder(&dir)
        .open_check(OpenCheck::Full)
        .open_read_only()
        .unwrap();
    let summaries = log
        .check_with_bundles(&bundle_dirs(&root))
        .expect("one chain");
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].end.size, 100);
    assert_eq!(summaries[1].start.size, 300);
}

/// Campaign seed 5: an archive run interrupted after its bundle but before its cut leaves a
/// complete bundle of the live log's first segment; the bundles and the log still form one
/// chain, and the next run reuses the bundle.
#[test]
fn a_bundle_left_by_an_interrupted_archive_run_verifies_with_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let root = tmp.path().join("archive");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 100);
    log.seal().unwrap();
    append_range(&log, 100, 110);
    // Archive into a scratch destination, then copy the bundle (not the cut) into the real
    // one: exactly what a crash between the manifest and the cut leaves.
    let scratch = tmp.path().join("scratch");
    let copy = copy_log(&dir);
    let other = small_segments(&copy.1).open().unwrap();
    other
        .archive(&LocalDirDestination::new(&scratch), &one_segment())
        .unwrap();
    drop(other);
    std::fs::rename(&scratch, &root).unwrap();
    let ro = AuditLog::builder(&dir).open_read_only().unwrap();
    ro.check_with_bundles(&bundle_dirs(&root))
        .expect("a leftover bundle is a copy");
    drop(ro);
    let report = log
        .archive(&LocalDirDestination::new(&root), &one_segment())
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    assert_eq!(log.first_seq(), 100);
    check_bundle(&bundle_dirs(&root)[0]).unwrap();
}

/// Campaign seed 2: the archive root and the bundle directories were created but their
/// parents never fsynced, so a power loss right after the cut could take the bundle.
#[test]
fn archived_bundles_survive_a_power_loss_right_after_archiving() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    let dir = disk.join("log");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 100);
    log.seal().unwrap();
    append_range(&log, 100, 110);
    log.sync().unwrap();
    drop(log);
    let sim = SimFs::new(&disk, 1).unwrap();
    let log = small_segments(&dir)
        .file_system(Arc::new(sim.clone()))
        .open()
        .unwrap();
    let destination =
        LocalDirDestination::with_file_system(disk.join("archive"), Arc::new(sim.clone()));
    let report = log.archive(&destination, &one_segment()).unwrap();
    let image = tmp.path().join("image");
    sim.crash_now(CrashMode::DropUnsynced, &image).unwrap();
    drop(log);
    let bundle = image.join("archive").join(&report.bundles[0]);
    let summary = check_bundle(&bundle).expect("the bundle survived");
    assert_eq!(summary.end.size, 100);
    let log = AuditLog::builder(image.join("log"))
        .open_check(OpenCheck::Full)
        .open_read_only()
        .unwrap();
    assert_eq!(log.first_seq(), 100);
    log.check_with_bundles(&[bundle]).unwrap();
}

/// Campaign seed 103920: the segment of a bundle left by an interrupted archive run was then
/// deleted by retention, and the next bundle starts after the retention cut. The leftover
/// bundle, the retention cut and the next bundle still verify together.
#[test]
fn a_leftover_bundle_whose_segment_retention_deleted_verifies_with_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let root = tmp.path().join("archive");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 100);
    log.seal().unwrap();
    append_range(&log, 100, 200);
    log.seal().unwrap();
    append_range(&log, 200, 210);
    // The leftover: a bundle of segment 0 made on a copy, whose cut the log never recorded.
    let copy = copy_log(&dir);
    let other = small_segments(&copy.1).open().unwrap();
    other
        .archive(&LocalDirDestination::new(&root), &one_segment())
        .unwrap();
    drop(other);
    retain_all_sealed(&log);
    assert_eq!(log.first_seq(), 200);
    log.seal().unwrap();
    append_range(&log, 210, 220);
    let report = log
        .archive(&LocalDirDestination::new(&root), &one_segment())
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    drop(log);
    let ro = AuditLog::builder(&dir)
        .open_check(OpenCheck::Full)
        .open_read_only()
        .unwrap();
    let summaries = ro
        .check_with_bundles(&bundle_dirs(&root))
        .expect("one chain");
    assert_eq!(summaries.len(), 2);
    assert_eq!((summaries[0].end.size, summaries[1].start.size), (100, 200));
}
