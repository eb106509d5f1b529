//! The S3 destination over object_store's in-memory store (no server needed): archiving
//! writes bundles under `<log id>/`, keeps the live log and the archive one chain, updates
//! the head object, and `verify_archive` proves the bundles, reports a changed object or a
//! missing bundle, and never takes objects without a manifest for a bundle.

mod common;

use auditlog::lifecycle::ArchivePolicy;
use auditlog_objstore::{ArchiveVerifyOptions, S3Destination, head, list_bundles, verify_archive};
use common::{memory_store, sealed_log};
use std::sync::Arc;

#[test]
fn archive_then_verify_the_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 3000);
    let store = memory_store("fleet/eu");
    let report = log
        .archive(
            &S3Destination::new(store.clone()),
            &ArchivePolicy::default(),
        )
        .unwrap();
    assert!(report.bundles.len() >= 3, "{report:?}");
    let id = head::log_id_hex(&log.log_id());
    let listing = list_bundles(&store, &id).unwrap();
    assert_eq!(listing.bundles, report.bundles);
    // Keys are PREFIX/<log id>/<bundle>/<file>, relative to the prefix here.
    let keys = store.list(&id).unwrap();
    assert!(
        keys.iter().all(|(k, _)| k.starts_with(&format!("{id}/"))),
        "{keys:?}"
    );
    let h = head::read_head(&store, &id).unwrap().unwrap();
    assert_eq!(h.end.size, log.first_seq());
    assert_eq!(h.bundles.len(), report.bundles.len());
    assert!(h.checkpoint.is_none());

    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(verdict.ok(), "{verdict}");
    assert_eq!(verdict.logs.len(), 1);
    assert_eq!(
        verdict.logs[0].bundles.last().unwrap().end.size,
        log.first_seq()
    );

    // The live log and the fetched bundles form one chain.
    let fetched = tempfile::tempdir().unwrap();
    let (dirs, _, _) = auditlog_objstore::fetch_log(&store, &id, fetched.path()).unwrap();
    log.check_with_bundles(&dirs).unwrap();
}

#[test]
fn changed_objects_missing_bundles_and_partial_uploads_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 3000);
    let store = memory_store("fleet/eu");
    let report = log
        .archive(
            &S3Destination::new(store.clone()),
            &ArchivePolicy::default(),
        )
        .unwrap();
    let id = head::log_id_hex(&log.log_id());

    // Objects without a manifest: a warning, not a bundle, and not damage.
    store
        .put_create(
            &format!("{id}/{id}-99999999999999999999/00.seg"),
            b"partial",
        )
        .unwrap();
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(verdict.ok(), "{verdict}");
    assert!(
        verdict.logs[0]
            .warnings
            .iter()
            .any(|w| w.contains("interrupted upload")),
        "{verdict}"
    );

    // One flipped byte in a segment object (cold: archiving to a bucket compacts first).
    let (segment, _) = store
        .list(&format!("{id}/{}", report.bundles[1]))
        .unwrap()
        .into_iter()
        .find(|(k, _)| k.ends_with(".zseg"))
        .unwrap();
    let original = store.get(&segment).unwrap().unwrap();
    let mut bytes = original.clone();
    bytes[100] ^= 1;
    store.put_overwrite(&segment, &bytes).unwrap();
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(!verdict.ok());
    assert!(
        verdict.to_string().contains("s3://mem/fleet/eu/"),
        "{verdict}"
    );
    store.put_overwrite(&segment, &original).unwrap();
    assert!(
        verify_archive(&store, &ArchiveVerifyOptions::default())
            .unwrap()
            .ok()
    );

    // The newest bundle's manifest removed: the head names a bundle that is not there.
    let last = report.bundles.last().unwrap();
    store.delete(&format!("{id}/{last}/manifest.json")).unwrap();
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(!verdict.ok(), "{verdict}");
    assert!(
        verdict.to_string().contains("not in the archive"),
        "{verdict}"
    );
}

#[test]
fn the_maintenance_policy_archives_to_the_bucket() {
    use auditlog::lifecycle::MaintenancePolicy;
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 3000);
    let store = memory_store("fleet/eu");
    let policy = MaintenancePolicy {
        archive: Some((
            Arc::new(S3Destination::new(store.clone())),
            ArchivePolicy::default(),
        )),
        ..MaintenancePolicy::default()
    };
    let report = log.maintain_with(&policy).unwrap();
    let archived = report.archive.expect("archiving ran").bundles;
    assert!(archived.len() >= 3);
    // The same step as `archive --to s3://`: cold segments with their leaf hashes, no hot one.
    let id = head::log_id_hex(&log.log_id());
    let keys = store.list(&id).unwrap();
    let count = |ext: &str| keys.iter().filter(|(k, _)| k.ends_with(ext)).count();
    assert_eq!(count(".zseg"), archived.len(), "{keys:?}");
    assert_eq!(count(".hashes"), archived.len(), "{keys:?}");
    assert_eq!(count(".seg"), 0, "{keys:?}");
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(verdict.ok(), "{verdict}");
    assert_eq!(verdict.logs[0].bundles.len(), archived.len());
}
