//! `LogSubtrees` gives the same proofs as hashing every leaf, and reads only the segments a
//! proof's small subtrees lie in.

use super::LogSubtrees;
use crate::merkle::{
    Hash, LeafSlice, SubtreeSource, consistency_path, inclusion_path, root_from_leaves,
};
use crate::verify::{VerifyOptions, examine};
use crate::{AuditLog, Durability, ReadOnlyLog, Timestamp};
use auditlog_format::sample::SampleEvents;
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
    let log = ReadOnlyLog::open(dir).expect("open");
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
    let log = ReadOnlyLog::open(dir.path()).expect("open");
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

#[test]
fn leaf_caches_are_written_used_and_rebuilt_when_damaged() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), 2000, false);
    let log = ReadOnlyLog::open(dir.path()).expect("open");
    let view = log.view();
    let fs: std::sync::Arc<dyn crate::fs::FileSystem> =
        std::sync::Arc::new(crate::fs::StdFileSystem);
    // Record 100 in the tree of 1500: siblings inside several sealed segments.
    let proof = |subtrees: &mut LogSubtrees| inclusion_path(100, 1500, subtrees).expect("proof");
    let mut first = LogSubtrees::new(&view).write_leaf_caches(fs.clone());
    let expected = proof(&mut first);
    assert!(
        first.segments_scanned() >= 2,
        "{}",
        first.segments_scanned()
    );
    let caches: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == super::leaf_cache::EXT))
        .collect();
    assert_eq!(caches.len(), first.segments_scanned());

    let mut second = LogSubtrees::new(&view).write_leaf_caches(fs.clone());
    assert_eq!(proof(&mut second), expected);
    assert_eq!(second.segments_scanned(), 0);
    assert_eq!(second.segments_read(), first.segments_read());

    // A damaged cache is not used (the proof stays right) and is rewritten.
    let victim = &caches[0];
    let mut bytes = std::fs::read(victim).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(victim, &bytes).expect("damage");
    let mut third = LogSubtrees::new(&view).write_leaf_caches(fs);
    assert_eq!(proof(&mut third), expected);
    assert_eq!(third.segments_scanned(), 1);
    let mut fourth = LogSubtrees::new(&view);
    assert_eq!(proof(&mut fourth), expected);
    assert_eq!(fourth.segments_scanned(), 0);
}

#[test]
fn a_tree_ending_at_a_segment_start_needs_no_leaves_for_its_edge() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), 3000, true);
    let log = ReadOnlyLog::open(dir.path()).expect("open");
    let view = log.view();
    let n = view.end_seq;
    let last_sealed = view.segments[view.segments.len() - 2].first_seq();
    // Sealed: the newest (empty) segment's header holds the frontier at n, so the right
    // edge of a proof against n comes from it, not from the last sealed segment's leaves.
    let mut subtrees = LogSubtrees::new(&view);
    inclusion_path(0, n, &mut subtrees).expect("proof");
    let read = subtrees.segments_read_starts();
    assert!(read.contains(&0), "{read:?}");
    assert!(!read.contains(&last_sealed), "{read:?}");
    let mut subtrees = LogSubtrees::new(&view);
    consistency_path(1, n, &mut subtrees).expect("proof");
    assert!(!subtrees.segments_read_starts().contains(&last_sealed));
}
