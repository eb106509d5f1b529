//! Proofs from a writing handle (`LogReader::prove_inclusion`), whose active segment's Merkle
//! nodes are kept in memory, are the proofs built from the files alone
//! (`proof::prove_inclusion` on the directory), verify against the signed checkpoint they
//! carry, and stay so while the writer appends, rolls segments, and after a reopen (when the
//! memory starts with a gap that one scan fills). A record damaged on disk is never proven
//! from memory.

mod common;

use auditlog::checkpoint::NoteSigner;
use auditlog::proof::{check_proof, prove_inclusion};
use auditlog::{AuditLog, Durability};
use common::{append_range, segment_files, small_segments};

fn assert_same_as_from_scratch(
    log: &AuditLog,
    seq: u64,
    verifier: &auditlog::checkpoint::NoteVerifier,
) {
    let live = log.prove_inclusion(seq, None).expect("live proof");
    let scratch = prove_inclusion(log.dir(), seq, None).expect("proof from the files");
    assert_eq!(live, scratch, "seq {seq}");
    assert!(
        live["checkpoint"].is_string(),
        "seq {seq}: a signed checkpoint is attached"
    );
    check_proof(&live, Some(verifier)).expect("verifies against the signed checkpoint");
}

#[test]
fn live_proofs_equal_proofs_from_the_files_while_the_writer_appends_and_rolls() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [7; 32]).expect("key");
    let verifier = key.verifier();
    let log = small_segments(&dir).signing_key(key).open().expect("open");
    let mut end = 0;
    for step in [1u64, 2, 5, 64, 300, 333, 1000, 7] {
        append_range(&log, end, end + step);
        end += step;
        log.checkpoint().expect("checkpoint");
        // The newest records (active segment), a few older ones, and the first.
        let mut seqs = vec![0, end - 1, end / 2, end.saturating_sub(3)];
        seqs.extend((end.saturating_sub(40)..end).step_by(7));
        for seq in seqs {
            assert_same_as_from_scratch(&log, seq, &verifier);
        }
    }
    assert!(segment_files(&dir).len() >= 2, "the writer rolled segments");
    // Against an older checkpoint too (explicit size): the same proof both ways.
    let live = log.prove_inclusion(end - 500, Some(end - 7)).expect("live");
    let scratch = prove_inclusion(&dir, end - 500, Some(end - 7)).expect("files");
    assert_eq!(live, scratch);
    check_proof(&live, Some(&verifier)).expect("verifies");
    log.close().expect("close");
}

#[test]
fn after_a_reopen_the_active_segment_is_scanned_once_and_proofs_stay_equal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [8; 32]).expect("key");
    let verifier = key.verifier();
    let open = |dir: &std::path::Path| {
        AuditLog::builder(dir)
            .durability(Durability::Immediate)
            .signing_key(NoteSigner::from_seed("test.example/audit", [8; 32]).expect("key"))
            .open()
            .expect("open")
    };
    let log = AuditLog::builder(&dir)
        .durability(Durability::Immediate)
        .signing_key(key)
        .open()
        .expect("open");
    append_range(&log, 0, 777);
    log.close().expect("close");
    // Reopened: the writer notes leaves from 777 on; 0..777 are filled from one scan.
    let log = open(&dir);
    append_range(&log, 777, 800);
    log.checkpoint().expect("checkpoint");
    for seq in [0, 5, 776, 777, 799, 400] {
        assert_same_as_from_scratch(&log, seq, &verifier);
    }
    append_range(&log, 800, 1500);
    log.checkpoint().expect("checkpoint");
    for seq in [1499, 3, 800, 1024, 1023] {
        assert_same_as_from_scratch(&log, seq, &verifier);
    }
    // Reopened with nothing appended: the gap is the whole segment.
    log.close().expect("close");
    let log = open(&dir);
    for seq in [1499, 0, 700] {
        assert_same_as_from_scratch(&log, seq, &verifier);
    }
    log.close().expect("close");
}

#[test]
fn a_record_damaged_on_disk_is_not_proven_from_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [9; 32]).expect("key");
    let log = AuditLog::builder(&dir)
        .durability(Durability::Immediate)
        .signing_key(key)
        .open()
        .expect("open");
    append_range(&log, 0, 250);
    let marked = auditlog::Event::new("user:needle-7f3a", "order.update");
    log.append_batch(&[marked])
        .expect("append")
        .wait()
        .expect("ack");
    append_range(&log, 251, 300);
    log.checkpoint().expect("checkpoint");
    log.prove_inclusion(250, None)
        .expect("proof before the damage");
    // Flip one byte inside record 250's payload (found by its actor).
    let seg = segment_files(&dir).pop().expect("a segment");
    let mut bytes = std::fs::read(&seg).expect("read");
    let needle = b"needle-7f3a";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the record's action is in the segment");
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).expect("write");
    let err = log
        .prove_inclusion(250, None)
        .expect_err("the record on disk no longer matches");
    assert!(matches!(err, auditlog::Error::Corrupt(_)), "{err}");
    drop(log);
}
