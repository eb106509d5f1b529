//! The tree's hashes computed for many records at once: payload digests, leaf hashes and the
//! root over a run of leaves, bit-identical to [`payload_digest`], [`leaf_hash`] and
//! [`root_from_leaves`] (the tests prove it), but several times faster per record.
//!
//! Each of those hashes a short input (a ~300-byte payload, 48 bytes, 64 bytes) with blake3,
//! and one short input at a time keeps the blake3 crate on its one-block SSE4.1 path. Short
//! inputs of *different* records are independent, so on a CPU with AVX2 they are hashed
//! eight at a time, one per SIMD lane (lanes_avx2.rs). Inputs longer than one blake3 chunk
//! (1 KiB) and CPUs without AVX2 use the blake3 crate, one input at a time.
//!
//! [`payload_digest`]: super::payload_digest
//! [`leaf_hash`]: super::leaf_hash
//! [`root_from_leaves`]: super::root_from_leaves

use super::hash::{Hash, LEAF_KEY, NODE_KEY, empty_root};

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use super::lanes_avx2 as avx2;

/// Plain blake3 of every input, in order ([`super::payload_digest`] of each).
pub(crate) fn payload_digests(inputs: &[&[u8]]) -> Vec<Hash> {
    hash_all(None, inputs)
}

/// Leaf hashes of records given as `(seq, recorded_at_nanos, payload_digest)`, in order
/// ([`super::leaf_hash`] of each).
pub(crate) fn leaf_hashes(records: &[(u64, i64, Hash)]) -> Vec<Hash> {
    let inputs: Vec<[u8; 48]> = records
        .iter()
        .map(|(seq, at, digest)| {
            let mut input = [0u8; 48];
            input[..8].copy_from_slice(&seq.to_le_bytes());
            input[8..16].copy_from_slice(&at.to_le_bytes());
            input[16..].copy_from_slice(digest);
            input
        })
        .collect();
    let refs: Vec<&[u8]> = inputs.iter().map(|i| &i[..]).collect();
    hash_all(Some(&LEAF_KEY), &refs)
}

/// Root of the tree over `leaves` ([`super::root_from_leaves`]), computed level by level so
/// that each level's node hashes are hashed together.
///
/// Pairing neighbours bottom-up and carrying an odd last node up unchanged builds the same
/// tree as RFC 9162's split at the largest power of two below `n`: at every level the left
/// part is a run of perfect subtrees and only the rightmost node can lack a partner.
pub(crate) fn root_of(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return empty_root();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let pairs: Vec<[u8; 64]> = level
            .chunks_exact(2)
            .map(|pair| {
                let mut input = [0u8; 64];
                input[..32].copy_from_slice(&pair[0]);
                input[32..].copy_from_slice(&pair[1]);
                input
            })
            .collect();
        let refs: Vec<&[u8]> = pairs.iter().map(|p| &p[..]).collect();
        let mut next = hash_all(Some(&NODE_KEY), &refs);
        if level.len() % 2 == 1
            && let Some(&odd) = level.last()
        {
            next.push(odd);
        }
        level = next;
    }
    level[0]
}

/// blake3 of every input, keyed with `key` or plain, in order.
pub(crate) fn hash_all(key: Option<&[u8; 32]>, inputs: &[&[u8]]) -> Vec<Hash> {
    let mut out = vec![[0u8; 32]; inputs.len()];
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if avx2::available() {
        hash_all_avx2(key, inputs, &mut out);
        return out;
    }
    for (o, input) in out.iter_mut().zip(inputs) {
        *o = one(key, input);
    }
    out
}

/// One input through the blake3 crate.
fn one(key: Option<&[u8; 32]>, input: &[u8]) -> Hash {
    match key {
        Some(k) => *blake3::keyed_hash(k, input).as_bytes(),
        None => *blake3::hash(input).as_bytes(),
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn hash_all_avx2(key: Option<&[u8; 32]>, inputs: &[&[u8]], out: &mut [Hash]) {
    let (key_words, mode_flags) = match key {
        Some(k) => (
            std::array::from_fn(|i| {
                u32::from_le_bytes([k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3]])
            }),
            avx2::KEYED_HASH,
        ),
        None => (avx2::IV, 0),
    };
    // Short inputs go eight at a time (the last group padded with empty inputs whose hashes
    // are dropped); long ones one at a time.
    let mut short: Vec<usize> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        if input.len() <= avx2::CHUNK_LEN {
            short.push(i);
        } else {
            out[i] = one(key, input);
        }
    }
    // A group costs as many compressions as its longest input has blocks: grouping inputs of
    // equal block counts wastes fewest lanes.
    short.sort_by_key(|&i| inputs[i].len().div_ceil(64));
    for group in short.chunks(avx2::LANES) {
        let batch = avx2::Batch {
            inputs: std::array::from_fn(|lane| group.get(lane).map_or(&[][..], |&i| inputs[i])),
            key_words,
            mode_flags,
        };
        let mut hashes = [[0u8; 32]; avx2::LANES];
        if avx2::hash8(&batch, &mut hashes) {
            for (&i, h) in group.iter().zip(hashes) {
                out[i] = h;
            }
        } else {
            for &i in group {
                out[i] = one(key, inputs[i]);
            }
        }
    }
}

#[cfg(test)]
#[path = "lanes_tests.rs"]
mod tests;
