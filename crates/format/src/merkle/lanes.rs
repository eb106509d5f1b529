//! The tree's hashes computed for many records at once: payload digests, leaf hashes and the
//! root over a run of leaves, bit-identical to [`payload_digest`], [`leaf_hash`] and
//! [`root_from_leaves`] (the tests prove it), but faster per record (docs/BENCHMARKS.md,
//! "Verify").
//!
//! Each of those hashes a short input (a ~300-byte payload, 48 bytes, 64 bytes) with blake3,
//! and one short input at a time keeps the blake3 crate on its one-block SSE4.1 path. Short
//! inputs of *different* records are independent, so on a CPU with AVX2 they are hashed
//! eight at a time, one per SIMD lane (lanes_avx2.rs). An input longer than one blake3 chunk
//! (1 KiB) is cut into its chunks, which join the lanes like short inputs, and its parent
//! nodes are compressed level by level, also in lanes. CPUs without AVX2 use the blake3
//! crate, one input at a time.
//!
//! [`payload_digest`]: super::payload_digest
//! [`leaf_hash`]: super::leaf_hash
//! [`root_from_leaves`]: super::root_from_leaves

use super::hash::{Hash, LEAF_KEY, NODE_KEY, empty_root};

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use super::lanes_avx2 as avx2;

/// Plain blake3 of every input, in order ([`super::payload_digest`] of each).
pub fn payload_digests(inputs: &[&[u8]]) -> Vec<Hash> {
    hash_all(None, inputs)
}

/// Leaf hashes of records given as `(seq, recorded_at_nanos, payload_digest)`, in order
/// ([`super::leaf_hash`] of each).
pub fn leaf_hashes(records: &[(u64, i64, Hash)]) -> Vec<Hash> {
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
pub fn root_of(leaves: &[Hash]) -> Hash {
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
pub fn hash_all(key: Option<&[u8; 32]>, inputs: &[&[u8]]) -> Vec<Hash> {
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
    use avx2::{CHUNK_END, CHUNK_LEN, CHUNK_START, Job, PARENT, ROOT};
    let (key_words, mode_flags) = match key {
        Some(k) => (
            std::array::from_fn(|i| {
                u32::from_le_bytes([k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3]])
            }),
            avx2::KEYED_HASH,
        ),
        None => (avx2::IV, 0),
    };
    let run = |jobs: &[Job<'_>]| {
        let mut hashes = vec![[0u8; 32]; jobs.len()];
        run_jobs(jobs, key_words, mode_flags, &mut hashes).then_some(hashes)
    };
    if inputs.iter().all(|i| i.len() <= CHUNK_LEN) {
        // The usual case: every input is one chunk, its own root.
        let jobs: Vec<Job<'_>> = inputs
            .iter()
            .map(|input| Job {
                input,
                counter: 0,
                start_flags: CHUNK_START,
                end_flags: CHUNK_END | ROOT,
            })
            .collect();
        if !run_jobs(&jobs, key_words, mode_flags, out) {
            for (o, input) in out.iter_mut().zip(inputs) {
                *o = one(key, input);
            }
        }
        return;
    }
    // Every input's chunks, each a chain; an input of one chunk is its own root.
    let chunk_counts: Vec<usize> = inputs
        .iter()
        .map(|i| i.len().div_ceil(CHUNK_LEN).max(1))
        .collect();
    let mut jobs = Vec::with_capacity(chunk_counts.iter().sum());
    for (input, &n) in inputs.iter().zip(&chunk_counts) {
        let root = if n == 1 { ROOT } else { 0 };
        for c in 0..n {
            let start = (c * CHUNK_LEN).min(input.len());
            jobs.push(Job {
                input: &input[start..(start + CHUNK_LEN).min(input.len())],
                counter: c as u64,
                start_flags: CHUNK_START,
                end_flags: CHUNK_END | root,
            });
        }
    }
    let Some(chunk_cvs) = run(&jobs) else {
        for (o, input) in out.iter_mut().zip(inputs) {
            *o = one(key, input);
        }
        return;
    };
    // Each input's nodes, level by level up its tree; the parents of one level of every
    // input are compressed together. Pairing neighbours and carrying an odd last node up is
    // blake3's tree (left subtree: the largest power of two of chunks below the count), as
    // for the Merkle tree in `root_of`.
    // Single-chunk inputs are done; the others keep their current level, by input index.
    let mut levels: Vec<(usize, Vec<Hash>)> = Vec::new();
    let mut next_cv = 0;
    for (i, &n) in chunk_counts.iter().enumerate() {
        if n == 1 {
            out[i] = chunk_cvs[next_cv];
        } else {
            levels.push((i, chunk_cvs[next_cv..next_cv + n].to_vec()));
        }
        next_cv += n;
    }
    while levels.iter().any(|(_, l)| l.len() > 1) {
        let mut pairs: Vec<([u8; 64], bool)> = Vec::new();
        for (_, level) in levels.iter().filter(|(_, l)| l.len() > 1) {
            for pair in level.chunks_exact(2) {
                let mut block = [0u8; 64];
                block[..32].copy_from_slice(&pair[0]);
                block[32..].copy_from_slice(&pair[1]);
                pairs.push((block, level.len() == 2));
            }
        }
        let parent_jobs: Vec<Job<'_>> = pairs
            .iter()
            .map(|(block, is_root)| Job {
                input: &block[..],
                counter: 0,
                start_flags: PARENT,
                end_flags: PARENT | if *is_root { ROOT } else { 0 },
            })
            .collect();
        let Some(parents) = run(&parent_jobs) else {
            for (o, input) in out.iter_mut().zip(inputs) {
                *o = one(key, input);
            }
            return;
        };
        let mut parents = parents.into_iter();
        for (_, level) in levels.iter_mut().filter(|(_, l)| l.len() > 1) {
            let odd = level.last().copied().filter(|_| level.len() % 2 == 1);
            let next: Vec<Hash> = parents.by_ref().take(level.len() / 2).chain(odd).collect();
            *level = next;
        }
    }
    for (i, level) in levels {
        if let Some(&h) = level.first() {
            out[i] = h;
        }
    }
}

/// Runs compression chains eight at a time into `out` (one hash per job), grouped by length
/// (a group costs as many compressions as its longest chain has blocks); the last group is
/// padded with empty chains whose results are dropped. `false` if the kernel refuses.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn run_jobs(
    jobs: &[avx2::Job<'_>],
    key_words: [u32; 8],
    mode_flags: u32,
    out: &mut [Hash],
) -> bool {
    let idle = avx2::Job {
        input: &[],
        counter: 0,
        start_flags: 0,
        end_flags: 0,
    };
    let run8 = |lane_jobs: [avx2::Job<'_>; avx2::LANES], hashes: &mut [Hash; avx2::LANES]| {
        let batch = avx2::Batch {
            jobs: lane_jobs,
            key_words,
            mode_flags,
        };
        avx2::hash8(&batch, hashes)
    };
    let blocks = |j: &avx2::Job<'_>| j.input.len().div_ceil(64);
    let mut hashes = [[0u8; 32]; avx2::LANES];
    if jobs.is_sorted_by_key(blocks) {
        // Leaf and node hashes (one block each), or lengths already in order.
        for (group, outs) in jobs.chunks(avx2::LANES).zip(out.chunks_mut(avx2::LANES)) {
            if !run8(
                std::array::from_fn(|l| group.get(l).copied().unwrap_or(idle)),
                &mut hashes,
            ) {
                return false;
            }
            outs.copy_from_slice(&hashes[..outs.len()]);
        }
        return true;
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| blocks(&jobs[i]));
    for group in order.chunks(avx2::LANES) {
        let lane_jobs = std::array::from_fn(|l| group.get(l).map_or(idle, |&i| jobs[i]));
        if !run8(lane_jobs, &mut hashes) {
            return false;
        }
        for (&i, h) in group.iter().zip(hashes) {
            out[i] = h;
        }
    }
    true
}

#[cfg(test)]
#[path = "lanes_tests.rs"]
mod tests;
