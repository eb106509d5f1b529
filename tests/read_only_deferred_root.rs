//! A read-only open counts the active segment's records without hashing their Merkle leaves
//! (docs/DESIGN.md, "The tree head of a read-only open"): the root is computed from the
//! segment when first asked for. It must be the root the writer has, at every size a handle
//! can see; proofs must verify against it; and a counted record that is damaged before the
//! root is computed is damage, reported, never hashed into a root.

mod common;

use auditlog::{AuditLog, Error, ReadOnlyLog};
use common::{append_range, small_segments};

#[test]
fn the_deferred_root_is_the_writers_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Sealed segments and an active one, whose records the open counts.
    let log = small_segments(tmp.path()).open().expect("open");
    append_range(&log, 0, 1_300);
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    assert_eq!(reader.open_report().tree_head, None, "left to be computed");
    assert_eq!(reader.open_report().end_seq, 1_300);
    assert_eq!(reader.end_seq(), 1_300);
    assert_eq!(
        reader.tree_head().expect("computed"),
        log.tree_head().expect("writer")
    );
    // Asked again: the same, from what was kept.
    assert_eq!(reader.tree_head().expect("kept"), log.tree_head().unwrap());

    // A proof from the read-only handle, for a record of the active segment, checks against
    // the writer's head.
    let proof = reader.prove_inclusion(1_299, None).expect("proof");
    let head = log.tree_head().unwrap();
    assert_eq!(proof["tree_head"]["size"], 1_300);
    assert_eq!(
        proof["tree_head"]["root"],
        head.root
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
}

#[test]
fn a_handle_that_never_asked_follows_the_writer_with_hashed_leaves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = small_segments(tmp.path()).open().expect("open");
    append_range(&log, 0, 700);
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    // Into the same active segment, then across a roll into new ones.
    append_range(&log, 700, 2_600);
    assert_eq!(reader.refresh().expect("refresh"), 2_600);
    assert_eq!(reader.tree_head().expect("head"), log.tree_head().unwrap());
    append_range(&log, 2_600, 2_650);
    assert_eq!(reader.refresh().expect("refresh"), 2_650);
    assert_eq!(reader.tree_head().expect("head"), log.tree_head().unwrap());
}

#[test]
fn a_counted_record_damaged_before_the_root_is_asked_for_is_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::builder(tmp.path()).open().expect("open");
    append_range(&log, 0, 400);
    drop(log);
    let reader = ReadOnlyLog::open(tmp.path()).expect("open read-only");
    assert_eq!(reader.end_seq(), 400);

    // One bit of a counted record's payload, somewhere in the middle of the segment.
    let segment = common::segment_files(tmp.path()).pop().expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let records_end = bytes.iter().rposition(|&b| b != 0).expect("records");
    let at = records_end / 2;
    bytes[at] ^= 0x40;
    // In place, as damage happens: the file is not cut and rewritten.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes, 0).expect("write");

    match reader.tree_head() {
        Err(Error::Corrupt(c)) => {
            assert_eq!(c.file, segment, "{c}");
            assert!(c.offset <= at as u64, "at or before the flipped byte: {c}");
        }
        other => panic!("a root over a damaged record: {other:?}"),
    }
}
