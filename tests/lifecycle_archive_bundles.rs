//! Archiving moves the oldest sealed segments (hot or cold, with their dictionary) into
//! bundles in a local destination: each bundle verifies alone, the bundles and the live log
//! verify together, the live directory shrinks, the log reopens with a full check starting at
//! the recorded cut, and any change to a bundle's files or manifest is detected.

mod common;
use auditlog::lifecycle::archive::{MANIFEST_NAME, bundle_name};
use auditlog::lifecycle::cold::CompressOptions;
use auditlog::lifecycle::{
    ArchivePolicy, CompactOptions, CutKind, LocalDirDestination, check_bundle,
};
use auditlog::{AuditLog, OpenCheck};
use common::*;
use std::path::{Path, PathBuf};

/// Bytes of the directory's files but the cut log (which grows by one record per cut).
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "cuts.log")
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn bundles_verify_alone_and_with_the_live_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let archive_root = tmp.path().join("archive");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 3000);
    // The oldest segments cold with a dictionary, the next one hot.
    let compact = CompactOptions {
        compress: CompressOptions {
            dictionary: true,
            frame_bytes: 8192,
            ..CompressOptions::default()
        },
        ..CompactOptions::default()
    };
    log.compact(&compact).unwrap();
    log.seal().unwrap();
    append_range(&log, 3000, 3100);
    let before = dir_size(&dir);
    let destination = LocalDirDestination::new(&archive_root);
    let report = log
        .archive(
            &destination,
            &ArchivePolicy {
                max_segments: Some(3),
                ..ArchivePolicy::default()
            },
        )
        .unwrap();
    assert_eq!(report.bundles.len(), 3);
    assert!(report.reclaimed_bytes > 0);
    assert_eq!(dir_size(&dir), before - report.reclaimed_bytes);
    let first = log.first_seq();
    assert!(first > 0);
    assert!(log.get(0).is_err());
    assert_eq!(log.get(first).unwrap().event, event(first));

    let bundle_dirs: Vec<PathBuf> = report
        .bundles
        .iter()
        .map(|b| destination.bundle_dir(b))
        .collect();
    let mut expected_start = 0;
    for d in &bundle_dirs {
        let summary = check_bundle(d).unwrap();
        assert_eq!(summary.start.size, expected_start);
        expected_start = summary.end.size;
    }
    assert_eq!(expected_start, first);
    assert_eq!(
        report.bundles[0],
        bundle_name(&log.log_id(), 0),
        "bundles are named by log id and first sequence"
    );
    log.check_with_bundles(&bundle_dirs).unwrap();
    drop(log);

    let log = AuditLog::builder(&dir)
        .open_check(OpenCheck::Full)
        .open_read_only()
        .unwrap();
    assert!(log.open_report().problems.is_empty());
    let removed = &log.open_report().removed;
    assert_eq!(removed.len(), 3);
    assert!(removed.iter().all(|c| c.kind == CutKind::Archive));
    assert!(
        removed[0].to_string().starts_with("records 0.."),
        "{}",
        removed[0]
    );
    let records = read_all(&log);
    assert_eq!(records.len() as u64, 3100 - first);
    assert_eq!(records[0].seq, first);
    log.check_with_bundles(&bundle_dirs).unwrap();
    // Without its first bundle the chain has a gap.
    assert!(log.check_with_bundles(&bundle_dirs[1..]).is_err());
}

fn manifest_of(json: &[u8]) -> auditlog::lifecycle::archive::Manifest {
    serde_json::from_slice(json).unwrap()
}

#[test]
fn any_change_to_a_bundle_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 300);
    log.seal().unwrap();
    append_range(&log, 300, 310);
    let destination = LocalDirDestination::new(tmp.path().join("archive"));
    let report = log
        .archive(&destination, &ArchivePolicy::default())
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    let bundle = destination.bundle_dir(&report.bundles[0]);
    check_bundle(&bundle).unwrap();
    for entry in std::fs::read_dir(&bundle).unwrap() {
        let path = entry.unwrap().path();
        let original = std::fs::read(&path).unwrap();
        let step = (original.len() / 40).max(1);
        for at in (0..original.len()).step_by(step) {
            let mut damaged = original.clone();
            damaged[at] ^= 0x04;
            std::fs::write(&path, &damaged).unwrap();
            match check_bundle(&bundle) {
                Err(_) => {}
                // Only `archived_at`, which nothing can check, may change unnoticed.
                Ok(summary) => {
                    let before = manifest_of(&original);
                    let mut seen = summary.manifest.clone();
                    seen.archived_at = before.archived_at;
                    assert_eq!(seen, before, "{} byte {at}", path.display());
                }
            }
        }
        std::fs::write(&path, &original).unwrap();
    }
    // A manifest rewritten consistently (new hashes) but with another end root still fails:
    // the root is recomputed from the records.
    let manifest_path = bundle.join(MANIFEST_NAME);
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    manifest["end"]["root"] = serde_json::Value::String("00".repeat(32));
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    assert!(check_bundle(&bundle).is_err());
    std::fs::write(&manifest_path, text).unwrap();
    check_bundle(&bundle).unwrap();
}

/// A segment's leaf-hash cache (`.hashes`) goes into its bundle with the role `hashes`, not
/// `index` (FORMAT.md §10); a bundle written before that role existed, listing it as
/// `index`, still checks.
#[test]
fn leaf_hash_caches_are_bundled_with_their_own_role() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 300);
    log.seal().unwrap();
    append_range(&log, 300, 310);
    // A proof of a record of the sealed segment writes that segment's leaf-hash cache.
    auditlog::proof::prove_inclusion(&dir, 5, None).unwrap();
    let cache = dir.join("00000000000000000000.hashes");
    assert!(cache.exists(), "proof generation wrote no leaf-hash cache");
    let destination = LocalDirDestination::new(tmp.path().join("archive"));
    let report = log
        .archive(&destination, &ArchivePolicy::default())
        .unwrap();
    assert_eq!(report.bundles.len(), 1);
    let bundle = destination.bundle_dir(&report.bundles[0]);
    let manifest_path = bundle.join(MANIFEST_NAME);
    let manifest = manifest_of(&std::fs::read(&manifest_path).unwrap());
    let role_of = |m: &auditlog::lifecycle::archive::Manifest, name: &str| {
        m.files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.role.clone())
    };
    assert_eq!(
        role_of(&manifest, "00000000000000000000.hashes").as_deref(),
        Some("hashes"),
        "{manifest:?}"
    );
    assert_eq!(
        role_of(&manifest, "00000000000000000000.seg").as_deref(),
        Some("segment")
    );
    check_bundle(&bundle).unwrap();

    // The manifest of an older build: the cache listed as `index`.
    let mut old = manifest.clone();
    for f in &mut old.files {
        if f.name.ends_with(".hashes") {
            f.role = "index".into();
        }
    }
    std::fs::write(&manifest_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let summary = check_bundle(&bundle).unwrap();
    assert_eq!(summary.manifest, old);
}
