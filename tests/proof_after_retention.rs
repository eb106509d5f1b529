//! Proofs after the oldest segments left the live directory: retention deletes the oldest
//! segment and archiving moves the next two into bundles; then an inclusion proof of a
//! retained record still verifies against the current tree head and against the newest
//! signed checkpoint covering it (with the signer's key), a consistency proof from the cut to
//! now verifies, and asking for a record that is gone is a typed `NotFound` naming the
//! retained range, not a corruption error or a proof that fails elsewhere.

mod common;

use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::{ArchivePolicy, LocalDirDestination, RetentionPolicy};
use auditlog::proof::{check_proof, prove_consistency, prove_inclusion};
use auditlog::{Error, ReadOnlyLog};
use common::{append_range, segment_files, small_segments};

#[test]
fn proofs_of_retained_records_check_after_retention_and_archiving() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [7; 32]).expect("key");
    let verifier = key.verifier();
    let log = small_segments(&dir).signing_key(key).open().expect("open");
    append_range(&log, 0, 3000);
    log.seal().expect("seal");
    append_range(&log, 3000, 3100);
    let segments = segment_files(&dir);
    assert!(segments.len() >= 5, "{segments:?}");

    // Retention: a budget just under the sealed segments' bytes removes the oldest only (the
    // active segment's 100 records weigh less than one sealed segment). The budget counts
    // each sealed segment's files: the segment and the index file its seal wrote.
    let sealed: u64 = segments[..segments.len() - 1]
        .iter()
        .flat_map(|p| [p.clone(), p.with_extension("idx")])
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let retention = log
        .apply_retention(&RetentionPolicy {
            max_age: None,
            max_total_bytes: Some(sealed - 1),
        })
        .expect("retention");
    assert_eq!(retention.segments.len(), 1, "{retention:?}");
    // Archiving: the next two segments move to bundles.
    let archive = tmp.path().join("archive");
    let report = log
        .archive(
            &LocalDirDestination::new(&archive),
            &ArchivePolicy {
                min_age: None,
                max_segments: Some(2),
            },
        )
        .expect("archive");
    assert_eq!(report.bundles.len(), 2);
    let first = log.first_seq();
    let head = log.tree_head().unwrap();
    assert!(first > 0 && first < 3000, "first kept {first}");
    log.close().expect("close");

    // A retained record against the current tree head.
    let seq = first + 7;
    let proof = prove_inclusion(&dir, seq, Some(head.size)).expect("proof after the cut");
    let check = check_proof(&proof, None).expect("well formed");
    assert!(check.valid, "{}", check.message);
    assert_eq!(check.tree_head, head);

    // The same record against the newest signed checkpoint covering it (the default).
    let proof = prove_inclusion(&dir, seq, None).expect("proof against a checkpoint");
    assert!(
        proof["checkpoint"].is_string(),
        "a checkpoint was signed at each seal"
    );
    let check = check_proof(&proof, Some(&verifier)).expect("well formed");
    assert!(check.valid && check.signed, "{}", check.message);
    assert!(check.tree_head.size > seq);

    // The newest record, and a consistency proof from the cut to now.
    let proof = prove_inclusion(&dir, head.size - 1, None).expect("newest record");
    assert!(check_proof(&proof, None).expect("well formed").valid);
    let proof = prove_consistency(&dir, first, None).expect("from the cut to now");
    let check = check_proof(&proof, None).expect("well formed");
    assert!(check.valid, "{}", check.message);
    assert_eq!(check.tree_head, head);

    // Records that left the directory: a typed NotFound naming what the log still holds.
    for gone in [0, first - 1] {
        match prove_inclusion(&dir, gone, None) {
            Err(Error::NotFound { seq, first: f, end }) => {
                assert_eq!((seq, f, end), (gone, first, head.size));
            }
            other => panic!("record {gone}: expected NotFound, got {other:?}"),
        }
    }
    // A consistency proof from a tree inside the removed prefix needs removed leaves.
    let err = prove_consistency(&dir, 10, None).expect_err("old tree inside the removed prefix");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let reopened = ReadOnlyLog::open(&dir).expect("reopen");
    assert_eq!(reopened.first_seq(), first);
}
