//! Restoring a log from its archive, over object_store's in-memory store (no server
//! needed): archive, lose the local log, restore, and the restored directory opens as a log
//! with the same tree head and the same records, and verifies. A restore refuses a directory
//! that is not empty, and an archive with one flipped byte restores nothing. An archive that
//! starts after a local retention cut restores to a log that starts with that cut.

mod common;

use auditlog::lifecycle::{ArchivePolicy, CompactOptions, RetentionPolicy};
use auditlog::{AuditLog, Event, ReadOnlyLog, Record, VerifyOptions};
use auditlog_objstore::{
    Error, RestoreOptions, S3Destination, S3Store, STAGING_DIR, head, restore_log,
};
use common::{memory_store, sealed_log};
use std::path::Path;

/// A log in `dir` with several sealed segments (cold when `cold`) and an active one.
fn log(dir: &Path, cold: bool) -> AuditLog {
    let log = sealed_log(dir, 3000);
    if cold {
        log.compact(&CompactOptions::default()).unwrap();
    }
    log
}

fn records(log: &ReadOnlyLog) -> Vec<Record> {
    log.iter(..).map(|r| r.unwrap()).collect()
}

fn archived_records(log: &AuditLog) -> Vec<Record> {
    let ro = ReadOnlyLog::open(log.dir()).unwrap();
    records(&ro)
}

fn archive_all(log: &AuditLog, store: &S3Store) -> String {
    let report = log
        .archive(
            &S3Destination::new(store.clone()),
            &ArchivePolicy::default(),
        )
        .unwrap();
    assert!(report.bundles.len() >= 3, "{report:?}");
    head::log_id_hex(&log.log_id())
}

#[test]
fn archive_lose_the_log_restore_and_it_is_the_same_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = log(&dir, true);
    let before = archived_records(&log);
    let store = memory_store("fleet");
    let id = archive_all(&log, &store);
    let archived_end = log.first_seq();
    let expected: Vec<Record> = before
        .into_iter()
        .filter(|r| r.seq < archived_end)
        .collect();
    log.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let to = tmp.path().join("restored");
    let fs = auditlog::fs::StdFileSystem;
    let report = restore_log(&store, &id, &to, &fs, &RestoreOptions::default()).unwrap();
    let h = head::read_head(&store, &id).unwrap().unwrap();
    assert_eq!(report.tree_head, head::tree_head(&h.end).unwrap());
    assert_eq!(report.first_seq, 0);
    assert!(!to.join(STAGING_DIR).exists());

    let restored = ReadOnlyLog::open(&to).unwrap();
    assert_eq!(restored.tree_head().unwrap(), report.tree_head);
    assert_eq!(restored.first_seq(), 0);
    assert_eq!(records(&restored), expected);
    let verdict = auditlog::verify(&to, &VerifyOptions::default()).unwrap();
    assert!(verdict.ok, "{verdict:?}");
    assert_eq!(verdict.tree_head, report.tree_head);

    // A restored log is a log: a writer opens it and continues the same tree.
    let again = AuditLog::open(&to).unwrap();
    let receipt = again
        .append(&Event::new("user:1", "order.update"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(receipt.seq, archived_end);
    again.close().unwrap();
    assert!(auditlog::verify(&to, &VerifyOptions::default()).unwrap().ok);
}

#[test]
fn a_restore_writes_nothing_into_a_full_directory_or_from_a_damaged_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log(&tmp.path().join("log"), false);
    let store = memory_store("fleet");
    let id = archive_all(&log, &store);
    let fs = auditlog::fs::StdFileSystem;

    let full = tmp.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("notes.txt"), b"mine").unwrap();
    let e = restore_log(&store, &id, &full, &fs, &RestoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    let names: Vec<_> = std::fs::read_dir(&full).unwrap().collect();
    assert_eq!(names.len(), 1);

    // One flipped byte in the second bundle's segment (cold: archiving to a bucket compacts
    // first): nothing restored.
    let bundles = auditlog_objstore::list_bundles(&store, &id)
        .unwrap()
        .bundles;
    let (segment, _) = store
        .list(&format!("{id}/{}", bundles[1]))
        .unwrap()
        .into_iter()
        .find(|(k, _)| k.ends_with(".zseg"))
        .unwrap();
    let mut bytes = store.get(&segment).unwrap().unwrap();
    bytes[200] ^= 1;
    store.put_overwrite(&segment, &bytes).unwrap();
    let to = tmp.path().join("restored");
    let e = restore_log(&store, &id, &to, &fs, &RestoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::ArchiveDamaged { .. }), "{e}");
    assert!(e.to_string().contains(&bundles[1]), "{e}");
    let left: Vec<_> = std::fs::read_dir(&to).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_archive_that_starts_after_a_retention_cut_restores_to_a_log_that_starts_there() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log(&tmp.path().join("log"), true);
    let retained = log
        .apply_retention(&RetentionPolicy {
            max_total_bytes: Some(0),
            ..RetentionPolicy::default()
        })
        .unwrap();
    assert!(!retained.segments.is_empty());
    // Retention left only the newest segment; write more and archive those.
    let events: Vec<Event> = (0..3000)
        .map(|i| Event::new("user:9", "order.create").entity("order", format!("{i}")))
        .collect();
    for chunk in events.chunks(500) {
        log.append_batch(chunk).unwrap().wait().unwrap();
    }
    log.seal().unwrap();
    let first = log.first_seq();
    assert!(first > 0);
    let store = memory_store("fleet");
    let id = archive_all(&log, &store);
    let to = tmp.path().join("restored");
    let fs = auditlog::fs::StdFileSystem;
    let report = restore_log(&store, &id, &to, &fs, &RestoreOptions::default()).unwrap();
    assert_eq!(report.first_seq, first);
    let restored = ReadOnlyLog::open(&to).unwrap();
    assert_eq!(restored.first_seq(), first);
    assert_eq!(restored.tree_head().unwrap(), report.tree_head);
    let verdict = auditlog::verify(&to, &VerifyOptions::default()).unwrap();
    assert!(verdict.ok, "{verdict:?}");
}
