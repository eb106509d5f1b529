//! Verification survives the segment lifecycle: a log whose sealed segments were compressed
//! verifies with the same tree head; after retention the removed prefix is reported as a note
//! and the rest still verifies; a flipped bit in a cold frame, a segment deleted outside the
//! retention path, and a log whose every segment vanished are all reported as damage.

mod common;
use auditlog::lifecycle::retention::RetentionPolicy;
use auditlog::{CorruptionKind, VerifyOptions, verify};
use common::*;
use std::time::Duration;

fn compacted_log(dir: &std::path::Path) -> auditlog::TreeHead {
    let log = small_segments(dir).open().unwrap();
    for i in 0..4 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    append_range(&log, 1200, 1250);
    log.compact(&Default::default()).unwrap();
    log.tree_head().unwrap()
}

fn cold_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zseg"))
        .collect();
    v.sort();
    v
}

#[test]
fn compressed_and_retained_logs_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let head = compacted_log(tmp.path());
    assert!(cold_files(tmp.path()).len() >= 4);
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(report.tree_head, head);
    assert_eq!(report.records, 1250);

    let log = auditlog::AuditLog::open(tmp.path()).unwrap();
    let policy = RetentionPolicy {
        max_age: Some(Duration::ZERO),
        max_total_bytes: None,
    };
    let removed = log.apply_retention(&policy).unwrap();
    assert!(!removed.segments.is_empty());
    drop(log);
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(
        report.tree_head, head,
        "retention must not change the tree head"
    );
    assert!(report.first_seq > 0);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.message.contains("removed by retention")),
        "the removed range must be visible: {report}"
    );
}

#[test]
fn a_flipped_bit_in_a_cold_frame_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    compacted_log(tmp.path());
    let cold = cold_files(tmp.path())[1].clone();
    let mut bytes = std::fs::read(&cold).unwrap();
    let middle = bytes.len() / 2; // inside the compressed frames
    bytes[middle] ^= 0x04;
    std::fs::write(&cold, &bytes).unwrap();
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok);
    assert!(report.problems.iter().any(|p| p.file == cold), "{report}");
}

#[test]
fn segments_deleted_outside_retention_are_missing() {
    let tmp = tempfile::tempdir().unwrap();
    compacted_log(tmp.path());
    // Deleting the oldest segment by hand (no cut record) is reported.
    std::fs::remove_file(&cold_files(tmp.path())[0]).unwrap();
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok);
    assert!(
        matches!(
            report.problems[0].kind,
            CorruptionKind::MissingSegment { first_seq: 0 }
        ),
        "{report}"
    );

    // After a real retention cut, deleting every remaining segment is still reported.
    let tmp = tempfile::tempdir().unwrap();
    compacted_log(tmp.path());
    let log = auditlog::AuditLog::open(tmp.path()).unwrap();
    let policy = RetentionPolicy {
        max_age: Some(Duration::ZERO),
        max_total_bytes: None,
    };
    log.apply_retention(&policy).unwrap();
    drop(log);
    for f in std::fs::read_dir(tmp.path()).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "seg" || e == "zseg") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "{report}");
    assert!(matches!(
        report.problems[0].kind,
        CorruptionKind::MissingSegment { .. }
    ));
}

/// Index files are derived data, but queries trust them to rule records out: verify
/// compares each with the index rebuilt from its segment, reports a damaged one as damage
/// naming the file (`index_mismatch`), and moves it aside so the next query rebuilds it.
#[test]
fn index_files_are_checked_and_a_damaged_one_is_moved_aside() {
    use auditlog::query::Query;
    let tmp = tempfile::tempdir().unwrap();
    let log = small_segments(tmp.path()).open().unwrap();
    for i in 0..3 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    log.query(&Query::new().actor("user:5")).unwrap(); // builds and persists index files
    log.reindex().unwrap();
    drop(log);
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok && report.warnings.is_empty(), "{report}");

    let idx = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .expect("an index file");
    let mut bytes = std::fs::read(&idx).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x01;
    std::fs::write(&idx, &bytes).unwrap();
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "a damaged index is reported: {report}");
    let p = report
        .problems
        .iter()
        .find(|p| p.file == idx)
        .expect("names it");
    assert_eq!(auditlog::verify::kind_name(&p.kind), "index_mismatch");
    assert!(!idx.exists(), "moved aside");
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(report.ok, "a missing index is normal: {report}");
}

/// An archive bundle verifies alone (`verify(BUNDLE)`), the live log still verifies with the
/// archived range as a note, and a bundle whose segment was altered is damage.
#[test]
fn archive_bundles_verify_alone() {
    use auditlog::lifecycle::archive::{ArchivePolicy, LocalDirDestination};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let archive = tmp.path().join("archive");
    let log = small_segments(&dir).open().unwrap();
    for i in 0..3 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    let head = log.tree_head().unwrap();
    let report = log
        .archive(
            &LocalDirDestination::new(&archive),
            &ArchivePolicy::default(),
        )
        .unwrap();
    assert!(!report.bundles.is_empty());
    drop(log);

    for name in &report.bundles {
        let r = verify(&archive.join(name), &VerifyOptions::default()).unwrap();
        assert!(r.ok, "{r}");
        assert!(r.records > 0);
    }
    let live = verify(&dir, &VerifyOptions::default()).unwrap();
    assert!(live.ok, "{live}");
    assert_eq!(live.tree_head, head);
    assert!(
        live.warnings.iter().any(|w| w.message.contains("archived")),
        "{live}"
    );

    let bundle = archive.join(&report.bundles[0]);
    let seg = std::fs::read_dir(&bundle)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg" || e == "zseg"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&seg, &bytes).unwrap();
    let r = verify(&bundle, &VerifyOptions::default()).unwrap();
    assert!(!r.ok, "{r}");
}

/// A checkpoint published before archiving moved its records out: the live log is intact
/// but cannot prove it (ok, with `consistent` false and a note naming the removed records,
/// and the CLI refuses exit 0), while the bundle holding its last record checks it.
#[test]
fn a_checkpoint_whose_records_were_archived_is_checked_against_the_bundle() {
    use auditlog::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner};
    use auditlog::lifecycle::archive::{ArchivePolicy, LocalDirDestination};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let archive = tmp.path().join("archive");
    let key = NoteSigner::from_seed("test.example/audit", [9; 32]).unwrap();
    let verifier = key.verifier();
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 250);
    let note = log.sign_checkpoint(&CheckpointSigner::new(key)).unwrap();
    let checkpoint = Checkpoint::open(&note, &verifier).unwrap();
    assert_eq!(checkpoint.tree_head.size, 250);
    append_range(&log, 250, 300);
    log.seal().unwrap();
    for i in 1..3 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    let report = log
        .archive(
            &LocalDirDestination::new(&archive),
            &ArchivePolicy {
                min_age: None,
                max_segments: Some(1),
            },
        )
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    drop(log);
    let with_cp = VerifyOptions {
        checkpoint: Some(checkpoint),
        ..VerifyOptions::default()
    };

    let live = verify(&dir, &with_cp).unwrap();
    assert!(live.ok, "{live}");
    assert!(live.first_seq > 250, "{live}");
    assert!(!live.checkpoint.as_ref().unwrap().consistent, "{live}");
    assert!(
        live.warnings
            .iter()
            .any(|w| w.message.contains("cannot be checked here")),
        "{live}"
    );
    let bundle = archive.join(&report.bundles[0]);
    let in_bundle = verify(&bundle, &with_cp).unwrap();
    assert!(in_bundle.ok, "{in_bundle}");
    assert!(
        in_bundle.checkpoint.as_ref().unwrap().consistent,
        "{in_bundle}"
    );

    // The CLI never exits 0 on a checkpoint it could not check, and does on the bundle.
    let cp_file = tmp.path().join("cp.txt");
    std::fs::write(&cp_file, &note).unwrap();
    let key_file = tmp.path().join("signer.pub");
    std::fs::write(&key_file, verifier.to_text()).unwrap();
    let run = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_auditlog"))
            .arg("verify")
            .arg(path)
            .arg("--checkpoint")
            .arg(&cp_file)
            .arg("--public-key")
            .arg(&key_file)
            .output()
            .unwrap()
    };
    let out = run(&dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(&bundle);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A checkpoint whose size is exactly the newest cut (the first record the live log still
/// holds) is checked, not "not checked": the first segment's header carries the tree's
/// frontier at that size, and it must equal the cut's (VERIFYING.md, FORMAT.md §6). Verify
/// reports it consistent and the CLI exits 0.
#[test]
fn a_checkpoint_at_exactly_the_cut_is_checked_against_the_first_segment() {
    use auditlog::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner};
    use auditlog::lifecycle::archive::{ArchivePolicy, LocalDirDestination};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [10; 32]).unwrap();
    let verifier = key.verifier();
    // The log's own key, so its archive cut is signed and `--public-key` accepts it.
    let log = small_segments(&dir)
        .signing_key(key.clone())
        .open()
        .unwrap();
    append_range(&log, 0, 300);
    log.seal().unwrap();
    let note = log.sign_checkpoint(&CheckpointSigner::new(key)).unwrap();
    let checkpoint = Checkpoint::open(&note, &verifier).unwrap();
    assert_eq!(checkpoint.tree_head.size, 300);
    append_range(&log, 300, 600);
    log.seal().unwrap();
    let policy = ArchivePolicy {
        min_age: None,
        max_segments: Some(1),
    };
    let archive = tmp.path().join("archive");
    let report = log
        .archive(&LocalDirDestination::new(&archive), &policy)
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    drop(log);
    let with_cp = VerifyOptions {
        checkpoint: Some(checkpoint),
        ..VerifyOptions::default()
    };
    let live = verify(&dir, &with_cp).unwrap();
    assert_eq!(
        live.first_seq, 300,
        "the cut is at the checkpoint's size: {live}"
    );
    assert!(live.ok, "{live}");
    assert!(live.checkpoint.as_ref().unwrap().consistent, "{live}");

    let cp_file = tmp.path().join("cp.txt");
    std::fs::write(&cp_file, &note).unwrap();
    let key_file = tmp.path().join("signer.pub");
    std::fs::write(&key_file, verifier.to_text()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .arg("verify")
        .arg(&dir)
        .arg("--checkpoint")
        .arg(&cp_file)
        .arg("--public-key")
        .arg(&key_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
