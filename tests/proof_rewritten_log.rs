//! Proofs of a log rewritten after a checkpoint was signed: when the tree head a proof would be
//! printed with is a signed checkpoint whose root the log no longer has, `prove` refuses with a
//! checkpoint mismatch instead of printing a proof that cannot verify; with an explicit size
//! (no checkpoint) the proof is made against the log as it is now and verifies.

mod common;

use auditlog::checkpoint::NoteSigner;
use auditlog::proof::{check_proof, prove_consistency, prove_inclusion};
use auditlog::{CorruptionKind, Error};
use common::{append_range, segment_files, small_segments};

#[test]
fn proofs_against_a_checkpoint_the_log_no_longer_matches_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [5; 32]).expect("key");
    let log = small_segments(&dir).signing_key(key).open().expect("open");
    append_range(&log, 0, 2000);
    log.checkpoint().expect("checkpoint at 2000");
    log.close().expect("close");

    // Rewrite the tail: drop the newest segments, append other records past 2000.
    let segs = segment_files(&dir);
    for s in &segs[segs.len() - 2..] {
        std::fs::remove_file(s).expect("rm");
    }
    let log = small_segments(&dir).open().expect("reopen");
    let end = log.open_report().end_seq;
    assert!(end < 1950, "the tail was cut: {end}");
    append_range(&log, 9000, 9000 + 2100 - end);
    log.close().expect("close");

    let is_mismatch = |e: &Error| matches!(e, Error::Corrupt(c) if matches!(c.kind, CorruptionKind::CheckpointMismatch(_)));
    let err = prove_inclusion(&dir, 1990, None).expect_err("the checkpoint at 2000 is stale");
    assert!(is_mismatch(&err), "{err}");
    let err = prove_consistency(&dir, 10, Some(2000)).expect_err("stale checkpoint at 2000");
    assert!(is_mismatch(&err), "{err}");

    // Without a checkpoint the proofs are of the log as it is, and they verify.
    let proof = prove_inclusion(&dir, 1990, Some(2100)).expect("explicit size");
    assert!(proof["checkpoint"].is_null());
    check_proof(&proof, None).expect("verifies");
    let proof = prove_consistency(&dir, 10, Some(2100)).expect("no checkpoint at 2100");
    check_proof(&proof, None).expect("verifies");
}

/// `prove --size N` attaches the signed checkpoint of size N when the log has one (it used to
/// print `"checkpoint": null` whenever a size was given), and the proof then verifies against
/// the signer's key.
#[test]
fn an_explicit_size_with_a_signed_checkpoint_attaches_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [6; 32]).expect("key");
    let verifier = key.verifier();
    let log = small_segments(&dir).signing_key(key).open().expect("open");
    append_range(&log, 0, 500);
    let note = log.checkpoint().expect("checkpoint at 500");
    append_range(&log, 500, 800);
    log.close().expect("close");

    let proof = prove_inclusion(&dir, 17, Some(500)).expect("proof at 500");
    assert_eq!(proof["tree_head"]["size"], 500);
    assert_eq!(
        proof["checkpoint"].as_str(),
        Some(note.as_str()),
        "{proof:#}"
    );
    check_proof(&proof, Some(&verifier)).expect("verifies with the key");
    // A size without a checkpoint still gives a proof, without one.
    let proof = prove_inclusion(&dir, 17, Some(600)).expect("proof at 600");
    assert!(proof["checkpoint"].is_null());
}
