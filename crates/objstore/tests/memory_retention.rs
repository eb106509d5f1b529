//! Retention inside the bucket and ranged reads, over object_store's in-memory store: a plan
//! deletes nothing; applying it records a cut (signed), updates the head, deletes whole
//! bundles but the newest, and what remains verifies with the public key; deleting the
//! oldest bundles without a cut, or a cut that does not meet the first bundle, is damage; a
//! run cut short after the cut leaves bundles that verification ignores and the next run
//! deletes. Archived records read by range, either way round, are exactly the range.

mod common;

use auditlog::checkpoint::{NoteSigner, NoteVerifier};
use auditlog::lifecycle::{ArchivePolicy, CompactOptions};
use auditlog::{AuditLog, Timestamp};
use auditlog_objstore::{
    ArchiveReader, ArchiveRetentionPolicy, ArchiveVerifyOptions, S3Destination, S3Store,
    apply_archive_retention, head, list_bundles, plan_archive_retention, read_cut_log,
    verify_archive,
};
use common::{memory_store, sealed_log};
use std::path::Path;

fn keys() -> (NoteSigner, NoteVerifier) {
    let signer = NoteSigner::from_seed("test-log", [7; 32]).unwrap();
    let verifier = signer.verifier();
    (signer, verifier)
}

/// A cold log with several sealed segments, archived whole (but the active segment).
fn archived(dir: &Path, store: &S3Store, signer: &NoteSigner) -> (AuditLog, String) {
    let log = sealed_log(dir, 4000);
    log.compact(&CompactOptions::default()).unwrap();
    let report = log
        .archive(
            &S3Destination::with_signer(store.clone(), Some(signer.clone())),
            &ArchivePolicy::default(),
        )
        .unwrap();
    assert!(report.bundles.len() >= 4, "{report:?}");
    let id = head::log_id_hex(&log.log_id());
    (log, id)
}

fn verified(store: &S3Store, key: &NoteVerifier) -> auditlog_objstore::ArchiveVerdict {
    verify_archive(
        store,
        &ArchiveVerifyOptions {
            public_key: Some(key),
            ..ArchiveVerifyOptions::default()
        },
    )
    .unwrap()
}

/// A size budget that keeps the newest `keep` bundles.
fn budget_keeping(store: &S3Store, id: &str, keep: usize) -> u64 {
    let bundles = list_bundles(store, id).unwrap().bundles;
    let objects = store.list(id).unwrap();
    bundles[bundles.len() - keep..]
        .iter()
        .map(|b| {
            objects
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{id}/{b}/")))
                .map(|(_, n)| n)
                .sum::<u64>()
        })
        .sum()
}

#[test]
fn retention_in_the_bucket_cuts_signs_and_what_remains_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory_store("fleet");
    let (signer, verifier) = keys();
    let (log, id) = archived(&tmp.path().join("log"), &store, &signer);
    let before = list_bundles(&store, &id).unwrap().bundles;
    let policy = ArchiveRetentionPolicy {
        max_total_bytes: Some(budget_keeping(&store, &id, 2)),
        ..ArchiveRetentionPolicy::default()
    };
    let now = Timestamp::now();

    // A plan changes nothing.
    let plan = plan_archive_retention(&store, &id, &policy, now).unwrap();
    assert_eq!(plan.len(), before.len() - 2, "{plan:?}");
    assert_eq!(list_bundles(&store, &id).unwrap().bundles, before);
    assert!(read_cut_log(&store, &id).unwrap().is_none());

    let report = apply_archive_retention(&store, &id, &policy, Some(&signer), now).unwrap();
    let cut = report.cut.expect("a cut");
    assert_eq!(cut.removed_from, 0);
    assert_eq!(cut.cut_seq, plan.last().unwrap().end_seq);
    assert!(cut.signature.is_some());
    let after = list_bundles(&store, &id).unwrap();
    assert_eq!(after.bundles, before[before.len() - 2..]);
    assert!(after.incomplete.is_empty(), "{after:?}");
    let h = head::read_head(&store, &id).unwrap().unwrap();
    assert!(
        h.bundles.iter().all(|b| b.first_seq >= cut.cut_seq),
        "{h:?}"
    );

    let verdict = verified(&store, &verifier);
    assert!(verdict.ok(), "{verdict}");
    assert_eq!(verdict.logs[0].bundles[0].start.size, cut.cut_seq);
    assert!(
        verdict.to_string().contains("removed by retention"),
        "{verdict}"
    );
    // And the live log still continues the shortened archive.
    assert_eq!(
        verdict.logs[0].bundles.last().unwrap().end.size,
        log.first_seq()
    );

    // A second run with the same policy finds nothing more to delete.
    let again = apply_archive_retention(&store, &id, &policy, Some(&signer), now).unwrap();
    assert!(again.bundles.is_empty() && again.cut.is_none());

    // Deleting everything but the newest: a second cut continues the first.
    let all = ArchiveRetentionPolicy {
        max_total_bytes: Some(0),
        ..ArchiveRetentionPolicy::default()
    };
    let report = apply_archive_retention(&store, &id, &all, Some(&signer), now).unwrap();
    assert_eq!(report.cut.unwrap().removed_from, cut.cut_seq);
    let (_, _, cuts) = read_cut_log(&store, &id).unwrap().unwrap();
    assert_eq!(cuts.cuts.len(), 2);
    assert!(verified(&store, &verifier).ok());
}

#[test]
fn removals_without_a_matching_signed_cut_are_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory_store("fleet");
    let (signer, verifier) = keys();
    let (_log, id) = archived(&tmp.path().join("log"), &store, &signer);
    let policy = ArchiveRetentionPolicy {
        max_total_bytes: Some(budget_keeping(&store, &id, 2)),
        ..ArchiveRetentionPolicy::default()
    };
    // Unsigned: fine without the key, damage with it.
    apply_archive_retention(&store, &id, &policy, None, Timestamp::now()).unwrap();
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(verdict.ok(), "{verdict}");
    assert!(verdict.to_string().contains("unauthenticated"), "{verdict}");
    let verdict = verified(&store, &verifier);
    assert!(!verdict.ok(), "{verdict}");
    assert!(verdict.to_string().contains("not signed"), "{verdict}");

    // The oldest remaining bundle deleted by hand, behind the cut's back: records between the
    // cut and the new first bundle are missing.
    let first = list_bundles(&store, &id).unwrap().bundles[0].clone();
    for (k, _) in store.list(&format!("{id}/{first}")).unwrap() {
        store.delete(&k).unwrap();
    }
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap();
    assert!(!verdict.ok(), "{verdict}");
    assert!(
        verdict.to_string().contains("does not start at"),
        "{verdict}"
    );
}

/// Retention ran in the bucket, then its `cuts/` objects were deleted: the first bundle left
/// starts above 0 and nothing in the archive explains records 0..N. That is damage, named
/// with the bundle and the range, with or without the public key; the same archive with its
/// cut log put back verifies.
#[test]
fn an_archive_whose_cut_objects_were_deleted_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory_store("fleet");
    let (signer, verifier) = keys();
    let (_log, id) = archived(&tmp.path().join("log"), &store, &signer);
    let policy = ArchiveRetentionPolicy {
        max_total_bytes: Some(budget_keeping(&store, &id, 2)),
        ..ArchiveRetentionPolicy::default()
    };
    let cut = apply_archive_retention(&store, &id, &policy, Some(&signer), Timestamp::now())
        .unwrap()
        .cut
        .expect("a cut");
    assert!(verified(&store, &verifier).ok());
    let first = list_bundles(&store, &id).unwrap().bundles[0].clone();

    let cuts = store.list(&format!("{id}/cuts/")).unwrap();
    assert!(!cuts.is_empty());
    let saved: Vec<(String, Vec<u8>)> = cuts
        .iter()
        .map(|(k, _)| (k.clone(), store.get(k).unwrap().unwrap()))
        .collect();
    for (k, _) in &cuts {
        store.delete(k).unwrap();
    }
    assert!(read_cut_log(&store, &id).unwrap().is_none());
    let range = format!("records 0..{}", cut.cut_seq);
    for verdict in [
        verified(&store, &verifier),
        verify_archive(&store, &ArchiveVerifyOptions::default()).unwrap(),
    ] {
        assert!(!verdict.ok(), "{verdict}");
        let problems = verdict.logs[0].problems.join("\n");
        assert!(problems.contains(&first), "{verdict}");
        assert!(problems.contains(&range), "{verdict}");
    }

    for (k, bytes) in &saved {
        store.put_create(k, bytes).unwrap();
    }
    assert!(verified(&store, &verifier).ok());
}

#[test]
fn a_run_cut_short_after_its_cut_is_finished_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory_store("fleet");
    let (signer, verifier) = keys();
    let (_log, id) = archived(&tmp.path().join("log"), &store, &signer);
    let before = list_bundles(&store, &id).unwrap().bundles;
    let policy = ArchiveRetentionPolicy {
        max_total_bytes: Some(budget_keeping(&store, &id, 2)),
        ..ArchiveRetentionPolicy::default()
    };
    // Apply on a copy of the objects, then put back the deleted bundles: the state a crash
    // after the cut and the head update, before any deletion, leaves.
    let saved: Vec<(String, Vec<u8>)> = store
        .list(&id)
        .unwrap()
        .into_iter()
        .map(|(k, _)| {
            let bytes = store.get(&k).unwrap().unwrap();
            (k, bytes)
        })
        .filter(|(k, _)| k.contains(&format!("{id}-")))
        .collect();
    apply_archive_retention(&store, &id, &policy, Some(&signer), Timestamp::now()).unwrap();
    for (k, bytes) in &saved {
        if !store.exists(k).unwrap() {
            store.put_create(k, bytes).unwrap();
        }
    }
    assert_eq!(list_bundles(&store, &id).unwrap().bundles, before);
    let verdict = verified(&store, &verifier);
    assert!(verdict.ok(), "{verdict}");
    assert!(verdict.to_string().contains("cut short"), "{verdict}");

    // The next run, with no limit at all, deletes the leftovers under the same cut.
    let report = apply_archive_retention(
        &store,
        &id,
        &ArchiveRetentionPolicy::default(),
        Some(&signer),
        Timestamp::now(),
    )
    .unwrap();
    assert_eq!(report.bundles.len(), before.len() - 2);
    assert_eq!(read_cut_log(&store, &id).unwrap().unwrap().2.cuts.len(), 1);
    assert_eq!(
        list_bundles(&store, &id).unwrap().bundles,
        before[before.len() - 2..]
    );
    let verdict = verified(&store, &verifier);
    assert!(verdict.ok(), "{verdict}");
    assert!(!verdict.to_string().contains("cut short"), "{verdict}");
}

#[test]
fn ranged_reads_either_way_round_are_exactly_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let store = memory_store("fleet");
    let (signer, _) = keys();
    let (log, _id) = archived(&tmp.path().join("log"), &store, &signer);
    let reader = ArchiveReader::open(&store, &log.log_id()).unwrap();
    let end = log.first_seq();
    for (lo, hi) in [(0, end), (17, 18), (1234, end - 3), (end - 1, end), (5, 5)] {
        let mut forward = Vec::new();
        reader
            .scan_range(lo..hi, false, &mut |r| {
                forward.push(r.seq);
                Ok(true)
            })
            .unwrap();
        assert_eq!(forward, (lo..hi).collect::<Vec<_>>(), "{lo}..{hi}");
        let mut backward = Vec::new();
        reader
            .scan_range(lo..hi, true, &mut |r| {
                backward.push(r.seq);
                Ok(true)
            })
            .unwrap();
        assert_eq!(backward, (lo..hi).rev().collect::<Vec<_>>(), "{lo}..{hi}");
    }
    // Stopping early stops.
    let mut seen = 0;
    reader
        .scan_range(0..end, true, &mut |_| {
            seen += 1;
            Ok(seen < 3)
        })
        .unwrap();
    assert_eq!(seen, 3);
}
