//! The block-wise check of a segment (on one thread or several) gives exactly the record-by-
//! record scan's result: on intact segments (sealed and active, with a payload that does not
//! decode) and on every sampled bit flip, truncation and appended garbage.

use super::{BLOCK, check_split, push_perfect_subtree};
use crate::event::{EventLimits, encode_payload};
use crate::merkle::Frontier;
use crate::record::{FrameCrc, encode_frame, salt};
use crate::segment::footer::SegmentFooter;
use crate::segment::header::SegmentHeader;
use crate::segment_check::{SegmentJob, check_segment_by_scan, check_segment_on};
use crate::timestamp::Timestamp;
use auditlog_format::sample::SampleEvents;
use std::path::Path;

/// A segment starting at seq 5 of 60 records; record 7's payload is not an event (its frame
/// is valid). Sealed: with a footer; else followed by preallocated zeros.
fn segment(sealed: bool) -> Vec<u8> {
    let log_id = [4; 16];
    let mut frontier = Frontier::new();
    for i in 0..5u64 {
        frontier.push(crate::merkle::leaf_hash(i, 0, &[i as u8; 32]));
    }
    let header = SegmentHeader {
        log_id,
        first_seq: 5,
        created_at: 0,
        prev_recorded_at: 0,
        frontier: frontier.clone(),
    };
    let crc = FrameCrc::new(&salt(&log_id, 5));
    let mut bytes = header.encode();
    let sample = SampleEvents::new(9);
    let base = Timestamp::from_unix_secs(1_800_000_000);
    for seq in 5..65u64 {
        let payload = if seq == 12 {
            b"\x01not an event".to_vec()
        } else {
            encode_payload(&sample.event(seq, base), &EventLimits::default()).expect("valid")
        };
        let recorded_at = seq as i64 * 10;
        encode_frame(&mut bytes, &crc, seq, recorded_at, seq, &payload);
        let digest = crate::merkle::payload_digest(&payload);
        frontier.push(crate::merkle::leaf_hash(seq, recorded_at, &digest));
    }
    if sealed {
        let footer = SegmentFooter {
            record_count: 60,
            first_seq: 5,
            first_recorded_at: 50,
            last_recorded_at: 640,
            tree_head: frontier.tree_head(),
            records_end: bytes.len() as u64,
        };
        bytes.extend_from_slice(&footer.encode(&crc));
    } else {
        bytes.extend_from_slice(&[0; 300]);
    }
    bytes
}

/// Checks `bytes` (as a file) sequentially and split; asserts identical results and returns
/// whether the split path accepted it.
fn assert_same(path: &Path, bytes: &[u8]) -> bool {
    std::fs::write(path, bytes).expect("write");
    let job = SegmentJob {
        path: path.to_path_buf(),
        name_seq: Some(5),
        newest: false,
    };
    let sequential = check_segment_by_scan(job.clone(), true, true);
    for threads in [1, 3] {
        let split = check_segment_on(job.clone(), true, true, threads);
        assert_eq!(
            format!("{:?}", (&sequential.outcome, &sequential.payload_problems)),
            format!("{:?}", (&split.outcome, &split.payload_problems)),
        );
        assert_eq!(sequential.leaves, split.leaves);
    }
    let taken = check_split(bytes, 3, true, true).is_some();
    assert_eq!(taken, check_split(bytes, 1, true, true).is_some());
    taken
}

#[test]
fn intact_segments_take_the_split_path_with_the_same_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("00000000000000000005.seg");
    for sealed in [true, false] {
        let bytes = segment(sealed);
        assert!(assert_same(&path, &bytes), "intact segment not split");
        let check = check_segment_on(
            SegmentJob {
                path: path.clone(),
                name_seq: Some(5),
                newest: false,
            },
            true,
            false,
            3,
        );
        assert_eq!(check.payload_problems.len(), 1, "record 12's payload");
        assert_eq!(check.payload_problems[0].seq, Some(12));
    }
}

#[test]
fn damaged_segments_get_the_sequential_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("00000000000000000005.seg");
    for sealed in [true, false] {
        let good = segment(sealed);
        let mut split_taken = 0;
        for at in (0..good.len()).step_by(31) {
            let mut bad = good.clone();
            bad[at] ^= 1 << (at % 8);
            split_taken += usize::from(assert_same(&path, &bad));
        }
        for cut in (0..good.len()).step_by(97) {
            assert_same(&path, &good[..cut]);
        }
        let mut longer = good.clone();
        longer.extend_from_slice(b"garbage");
        assert_same(&path, &longer);
        // Every byte is covered by a CRC or must be zero: the split path refuses every flip.
        assert_eq!(split_taken, 0, "damaged variants passed the split check");
    }
}

#[test]
fn pushing_a_perfect_subtree_equals_pushing_its_leaves() {
    let leaf = |i: u64| crate::merkle::leaf_hash(i, 0, &[(i % 251) as u8; 32]);
    for height in [0u32, 1, 3] {
        let width = 1u64 << height;
        for start_blocks in [0u64, 1, 2, 3, 5, 7, 8] {
            let mut by_leaves = Frontier::new();
            for i in 0..start_blocks * width {
                by_leaves.push(leaf(i));
            }
            let before = by_leaves.clone();
            let block: Vec<_> = (0..width).map(|j| leaf(start_blocks * width + j)).collect();
            block.iter().for_each(|l| by_leaves.push(*l));
            let root = crate::merkle::root_from_leaves(&block);
            assert_eq!(
                push_perfect_subtree(&before, root, height),
                Some(by_leaves),
                "height {height} after {start_blocks} blocks"
            );
        }
    }
    const { assert!(BLOCK < 60, "the tests' segments must hold whole blocks") };
}
