//! `LogSubtrees` gives the same proofs as hashing every leaf, and reads only the segments a
//! proof's small subtrees lie in.

use super::LogSubtrees;
use crate::merkle::{
    Hash, LeafSlice, SubtreeSource, consistency_path, inclusion_path, root_from_leaves,
};
use crate::sample::SampleEvents;
use crate::verify::{VerifyOptions, examine};
use crate::{AuditLog, Durability, Timestamp};
use std::path::Path;

/// A log of `records` sample events in 64 KiB segments (~170 records each); sealed at the
/// end when `seal`, else the newest segment is active with records in it.
fn build(dir: &Path, records: u64, seal: bool) {
    let log = AuditLog::builder(dir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(64 * 1024)
        .open()
        .expect("open");
    let sample = SampleEvents::new(3);
    let base = Timestamp::from_unix_secs(1_800_000_000);
    let events: Vec<_> = (0..records).map(|i| sample.event(i, base)).collect();
    for chunk in events.chunks(500) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("commit");
    }
    if seal {
        log.seal().expect("seal");
    }
    log.close().expect("close");
}

/// Every leaf hash, through verification (an independent path to the same hashes).
fn all_leaves(dir: &Path) -> Vec<Hash> {
    let options = VerifyOptions {
        decode_payloads: false,
        ..VerifyOptions::default()
    };
    let (report, checks) = examine(dir, &options, true).expect("verify");
    assert!(report.ok, "{report}");
    checks.into_iter().flat_map(|c| c.leaves).collect()
}

fn source(dir: &Path) -> LogSubtrees {
    let log = AuditLog::open_read_only(dir).expect("open");
    LogSubtrees::new(&log.view())
}

fn check_against_leaves(dir: &Path) {
    let leaves = all_leaves(dir);
    let n = leaves.len() as u64;
    let mut subtrees = source(dir);
    let mut reference = LeafSlice(&leaves);
    let sizes = [1, 2, 3, 170, 171, 1000, 1024, 1025, n / 2, n - 1, n];
    for &size in &sizes {
        assert_eq!(
            subtrees.prefix_root(size).expect("root"),
            root_from_leaves(&leaves[..size as usize]),
            "root of {size}"
        );
        let seqs = [0, 1, size / 3, size / 2, size.saturating_sub(2), size - 1];
        for seq in seqs.into_iter().filter(|&seq| seq < size) {
            assert_eq!(
                inclusion_path(seq, size, &mut subtrees).expect("ours"),
                inclusion_path(seq, size, &mut reference).expect("reference"),
                "inclusion of {seq} in {size}"
            );
            assert_eq!(subtrees.leaf(seq).expect("leaf"), leaves[seq as usize]);
        }
        for &old in &sizes {
            if old <= size {
                assert_eq!(
                    consistency_path(old, size, &mut subtrees).expect("ours"),
                    consistency_path(old, size, &mut reference).expect("reference"),
                    "consistency {old} -> {size}"
                );
            }
        }
    }
    assert!(subtrees.subtree_root(0, n + 1).is_err());
}

#[test]
fn proofs_equal_those_from_every_leaf_with_an_active_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), 5000, false);
    check_against_leaves(dir.path());
}

#[test]
fn proofs_equal_those_from_every_leaf_when_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), 3000, true);
    check_against_leaves(dir.path());
}

#[test]
fn a_proof_of_a_new_record_reads_only_the_newest_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), 5000, false);
    let log = AuditLog::open_read_only(dir.path()).expect("open");
    let view = log.view();
    assert!(view.segments.len() > 20, "{} segments", view.segments.len());
    let n = view.end_seq;
    let mut subtrees = LogSubtrees::new(&view);
    inclusion_path(n - 1, n, &mut subtrees).expect("proof");
    subtrees.leaf(n - 1).expect("leaf");
    assert!(
        subtrees.segments_read() <= 2,
        "{}",
        subtrees.segments_read()
    );
    let mut subtrees = LogSubtrees::new(&view);
    consistency_path(n - 10, n, &mut subtrees).expect("proof");
    assert!(
        subtrees.segments_read() <= 2,
        "{}",
        subtrees.segments_read()
    );
}
