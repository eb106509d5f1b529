//! The batched hashes equal the blake3 crate's, one input at a time, bit for bit: every input
//! length a lane can take (0..=1024) and lengths beyond it, plain and keyed, with inputs of
//! different lengths mixed in one batch, and partial batches.

use super::*;
use crate::merkle::{leaf_hash, node_hash, payload_digest, root_from_leaves};
use proptest::prelude::*;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn reference(key: Option<&[u8; 32]>, inputs: &[Vec<u8>]) -> Vec<Hash> {
    inputs.iter().map(|i| one(key, i)).collect()
}

fn batched(key: Option<&[u8; 32]>, inputs: &[Vec<u8>]) -> Vec<Hash> {
    let refs: Vec<&[u8]> = inputs.iter().map(|i| &i[..]).collect();
    hash_all(key, &refs)
}

#[test]
fn every_length_up_to_two_chunks_plain_and_keyed() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Lengths in order, so each batch of eight holds eight consecutive lengths; then the same
    // lengths shuffled, so batches mix short and long inputs (lanes finishing early).
    let mut lengths: Vec<usize> = (0..=2050).collect();
    let inputs: Vec<Vec<u8>> = lengths.iter().map(|&n| rng.bytes(n)).collect();
    let key: [u8; 32] = std::array::from_fn(|_| rng.next() as u8);
    for k in [None, Some(&key), Some(&LEAF_KEY), Some(&NODE_KEY)] {
        assert_eq!(batched(k, &inputs), reference(k, &inputs), "key {k:?}");
    }
    for i in (1..lengths.len()).rev() {
        lengths.swap(i, rng.next() as usize % (i + 1));
    }
    let shuffled: Vec<Vec<u8>> = lengths.iter().map(|&n| rng.bytes(n)).collect();
    for k in [None, Some(&key)] {
        assert_eq!(batched(k, &shuffled), reference(k, &shuffled));
    }
}

#[test]
fn inputs_of_many_chunks_mixed_with_short_ones() {
    // Chunk counts 1 to 100 (trees of every shape up to 7 levels), lengths on and off chunk
    // boundaries, interleaved with short inputs so that chunks and parents of different
    // inputs share batches.
    let mut rng = Rng(99);
    let mut lengths = vec![
        3000,
        4096,
        4097,
        7 * 1024 + 5,
        16 * 1024 + 1,
        100_000,
        2048,
        2049,
    ];
    for chunks in 1..=40 {
        lengths.push(chunks * 1024 + (rng.next() % 1024) as usize);
        lengths.push((rng.next() % 300) as usize);
    }
    let inputs: Vec<Vec<u8>> = lengths.iter().map(|&n| rng.bytes(n)).collect();
    let key: [u8; 32] = std::array::from_fn(|_| rng.next() as u8);
    for k in [None, Some(&key)] {
        assert_eq!(batched(k, &inputs), reference(k, &inputs));
    }
}

#[test]
fn partial_batches_and_no_input() {
    let mut rng = Rng(7);
    for count in 0..20 {
        let inputs: Vec<Vec<u8>> = (0..count).map(|i| rng.bytes(i * 37 % 700)).collect();
        assert_eq!(batched(None, &inputs), reference(None, &inputs), "{count}");
    }
}

#[test]
fn record_helpers_match_the_single_record_functions() {
    let mut rng = Rng(42);
    let payloads: Vec<Vec<u8>> = (0..100)
        .map(|_| {
            let n = (rng.next() % 1500) as usize;
            rng.bytes(n)
        })
        .collect();
    let refs: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
    let digests = payload_digests(&refs);
    let expected: Vec<Hash> = payloads.iter().map(|p| payload_digest(p)).collect();
    assert_eq!(digests, expected);
    let records: Vec<(u64, i64, Hash)> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| (rng.next() ^ i as u64, rng.next() as i64, *d))
        .collect();
    let leaves = leaf_hashes(&records);
    for ((seq, at, d), leaf) in records.iter().zip(&leaves) {
        assert_eq!(*leaf, leaf_hash(*seq, *at, d));
    }
}

#[test]
fn root_of_equals_the_rfc_definition_for_every_size() {
    let leaves: Vec<Hash> = (0..300u32)
        .map(|i| payload_digest(&i.to_le_bytes()))
        .collect();
    for n in 0..=leaves.len() {
        assert_eq!(
            root_of(&leaves[..n]),
            root_from_leaves(&leaves[..n]),
            "n={n}"
        );
    }
    assert_eq!(root_of(&leaves[..2]), node_hash(&leaves[0], &leaves[1]));
}

proptest! {
    #[test]
    fn random_inputs_and_keys_match_blake3(
        inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..5000), 0..24),
        key in any::<[u8; 32]>(),
        keyed in any::<bool>(),
    ) {
        let k = keyed.then_some(&key);
        prop_assert_eq!(batched(k, &inputs), reference(k, &inputs));
    }
}
