//! Inclusion proofs of archived records from the bucket (`ArchiveReader::prove`, behind
//! `auditlog get --archive ... --proof`), over object_store's in-memory store: the proof of a
//! record in the first, a middle and the newest bundle holds against the archive's signed
//! head with `check_proof` (what `auditlog verify-proof` runs), reads of the segments only what a
//! plain read of the record does, and fails once any part is tampered with; a leaf-hash object that
//! disagrees with its bundle is damage, never a proof; a bundle without one (hot, archived
//! by a destination that takes segments as they are) is proved from its records.

mod common;

use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::{ArchiveDestination, ArchivePolicy};
use auditlog::proof::check_proof;
use auditlog_objstore::{ArchiveReader, S3Destination, head};
use common::{memory_store, sealed_log};
use serde_json::Value;
use std::io;

#[test]
fn proofs_of_archived_records_hold_against_the_signed_head_and_tampering_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 6000);
    let signer = NoteSigner::generate("test-log").unwrap();
    let store = memory_store("proofs");
    let report = log
        .archive(
            &S3Destination::with_signer(store.clone(), Some(signer.clone())),
            &ArchivePolicy::default(),
        )
        .unwrap();
    assert!(report.bundles.len() >= 4, "{report:?}");
    let id = head::log_id_hex(&log.log_id());
    let keys = store.list(&id).unwrap();
    let total_segments: u64 = keys
        .iter()
        .filter(|(k, _)| k.ends_with(".zseg"))
        .map(|(_, n)| *n)
        .sum();
    assert!(keys.iter().any(|(k, _)| k.ends_with(".hashes")), "{keys:?}");
    let h = head::read_head(&store, &id).unwrap().unwrap();
    let verifier = signer.verifier();
    let last = log.first_seq() - 1;
    for seq in [0, 1, 777, last / 2, last - 1, last] {
        let reader = ArchiveReader::open(&store, &log.log_id()).unwrap();
        let (doc, stats) = reader.prove(seq).unwrap().expect("an archived record");
        assert_eq!(doc["seq"], seq);
        assert_eq!(doc["tree_head"]["size"], h.end.size, "against the head");
        let check = check_proof(&doc, Some(&verifier)).unwrap();
        assert!(check.valid && check.signed, "{seq}: {}", check.message);
        // The record itself is the log's.
        let live = log.get(seq);
        assert!(live.is_err(), "archived away from the live log");
        let (record, _) = reader.get(seq).unwrap().unwrap();
        assert_eq!(
            doc["event"],
            serde_json::to_value(&record.event).unwrap(),
            "{seq}"
        );
        // Of segment objects, the proof reads what a plain read of the record does (the
        // layout and one frame): its other nodes come from manifests and leaf hashes.
        let (_, plain) = ArchiveReader::open(&store, &log.log_id())
            .unwrap()
            .get(seq)
            .unwrap()
            .unwrap();
        assert_eq!(stats.segment_bytes, plain.segment_bytes, "{seq}: {stats:?}");
        eprintln!("record {seq}: {stats:?} (cold segments: {total_segments} bytes)");
        // Tampered copies fail.
        let tampered = |f: &dyn Fn(&mut Value)| {
            let mut d = doc.clone();
            f(&mut d);
            check_proof(&d, Some(&verifier)).is_ok_and(|c| c.valid)
        };
        assert!(!tampered(&|d| d["seq"] = (seq + 1).into()), "{seq}");
        assert!(!tampered(&|d| d["leaf_index"] = (seq + 1).into()));
        assert!(!tampered(&|d| d["recorded_at_nanos"] = 1.into()));
        assert!(!tampered(&|d| {
            let p = d["payload"].as_str().unwrap().to_string();
            let flipped = if p.starts_with('A') { "B" } else { "A" };
            d["payload"] = format!("{flipped}{}", &p[1..]).into();
        }));
        if doc["path"].as_array().is_some_and(|p| !p.is_empty()) {
            assert!(!tampered(&|d| d["path"][0] = "00".repeat(32).into()));
        }
        assert!(!tampered(
            &|d| d["tree_head"]["root"] = "11".repeat(32).into()
        ));
        // Without the key, a changed root still fails the path.
        let mut d = doc.clone();
        d["tree_head"]["root"] = "11".repeat(32).into();
        assert!(!check_proof(&d, None).unwrap().valid);
    }
    assert!(
        ArchiveReader::open(&store, &log.log_id())
            .unwrap()
            .prove(log.first_seq())
            .unwrap()
            .is_none(),
        "a live record is not in the archive"
    );
}

#[test]
fn a_leaf_hash_object_that_disagrees_with_its_bundle_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 3000);
    let store = memory_store("bad-hashes");
    log.archive(
        &S3Destination::new(store.clone()),
        &ArchivePolicy::default(),
    )
    .unwrap();
    let id = head::log_id_hex(&log.log_id());
    let (key, _) = store
        .list(&id)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k.ends_with(".hashes"))
        .unwrap();
    let mut bytes = store.get(&key).unwrap().unwrap();
    bytes[76 + 32 * 3] ^= 1; // a leaf of the first bundle
    store.put_overwrite(&key, &bytes).unwrap();
    let reader = ArchiveReader::open(&store, &log.log_id()).unwrap();
    let err = reader.prove(5).unwrap_err().to_string();
    assert!(err.contains("leaf hashes do not lead"), "{err}");
}

/// An S3 destination that takes segments as they are (no compaction, no leaf-hash file),
/// as an archive written before either existed holds them.
#[derive(Debug)]
struct AsTheyAre(S3Destination);

impl ArchiveDestination for AsTheyAre {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn put(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.0.put(name, bytes)
    }
    fn exists(&self, name: &str) -> io::Result<bool> {
        self.0.exists(name)
    }
    fn get(&self, name: &str) -> io::Result<Vec<u8>> {
        self.0.get(name)
    }
}

#[test]
fn a_bundle_without_leaf_hashes_is_proved_from_its_records() {
    let tmp = tempfile::tempdir().unwrap();
    let log = sealed_log(&tmp.path().join("log"), 3000);
    let store = memory_store("no-hashes");
    log.archive(
        &AsTheyAre(S3Destination::new(store.clone())),
        &ArchivePolicy::default(),
    )
    .unwrap();
    let id = head::log_id_hex(&log.log_id());
    let keys = store.list(&id).unwrap();
    assert!(
        !keys.iter().any(|(k, _)| k.ends_with(".hashes")),
        "{keys:?}"
    );
    let reader = ArchiveReader::open(&store, &log.log_id()).unwrap();
    for seq in [0, 1234, log.first_seq() - 1] {
        let (doc, _) = reader.prove(seq).unwrap().unwrap();
        let check = check_proof(&doc, None).unwrap();
        assert!(check.valid, "{seq}: {}", check.message);
    }
}
