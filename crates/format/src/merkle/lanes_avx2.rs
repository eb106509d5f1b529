//! The AVX2 kernel behind [`super::lanes`]: eight independent BLAKE3 compression chains at
//! once, one per 32-bit lane of each 256-bit register.
//!
//! A chain ([`Job`]) is either one chunk (at most 1,024 bytes, compressed 64-byte block by
//! block: `CHUNK_START` on the first block, `CHUNK_END` on the last, an empty chunk being one
//! block of length 0, the chunk's index as counter) or one parent node (a single 64-byte block
//! of two child chaining values, flag `PARENT`, counter 0). `ROOT` goes on the last block of
//! the chain that yields an input's hash, `KEYED_HASH` on every block in keyed mode, and the
//! 32-byte result is the chaining value after the last block. The blake3 crate compresses
//! eight *chunks of one input* like this; nothing in its public API does it for *independent
//! short inputs*, which is what verification needs (one short payload per record). Lanes
//! whose chain has fewer blocks than the longest of the eight keep their chaining value
//! through the extra rounds (a blend on a per-lane mask), so chains of any lengths mix.
//!
//! This is the crate's only hand-written SIMD; `lanes_tests` proves it equal to the blake3
//! crate for every input length 0..=2050, longer ones, and random keys and data.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Lanes per register.
pub(super) const LANES: usize = 8;
/// Bytes in a BLAKE3 block and in a chunk.
const BLOCK_LEN: usize = 64;
pub(super) const CHUNK_LEN: usize = 1024;

pub(super) const CHUNK_START: u32 = 1;
pub(super) const CHUNK_END: u32 = 2;
pub(super) const PARENT: u32 = 4;
pub(super) const ROOT: u32 = 8;
pub(super) const KEYED_HASH: u32 = 16;

/// BLAKE3's IV (SHA-256's), the chaining value of unkeyed hashing.
pub(super) const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];

/// The message word permutation applied between rounds (BLAKE3 spec §2.2).
const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/// Which message word each of the 7 rounds reads at each position: the permutation applied
/// `round` times, computed once at compile time.
const SCHEDULE: [[usize; 16]; 7] = {
    let mut schedule = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        schedule[0][i] = i;
        i += 1;
    }
    let mut round = 1;
    while round < 7 {
        let mut i = 0;
        while i < 16 {
            schedule[round][i] = schedule[round - 1][PERMUTATION[i]];
            i += 1;
        }
        round += 1;
    }
    schedule
};

/// One compression chain: a chunk or a parent node (see the module comment).
#[derive(Clone, Copy)]
pub(super) struct Job<'a> {
    /// The chunk's bytes (at most [`CHUNK_LEN`]), or the 64 bytes of a parent's two children.
    pub input: &'a [u8],
    /// The chunk's index in its input (0 for a parent).
    pub counter: u64,
    /// Flags of the chain's first block (`CHUNK_START`, or `PARENT`).
    pub start_flags: u32,
    /// Flags of its last block (`CHUNK_END` and/or `ROOT`, or `PARENT` and/or `ROOT`).
    pub end_flags: u32,
}

/// Eight chains under one key, compressed together.
pub(super) struct Batch<'a> {
    pub jobs: [Job<'a>; LANES],
    /// The starting chaining value: [`IV`], or the key's words in keyed mode.
    pub key_words: [u32; 8],
    /// 0, or [`KEYED_HASH`], on every block.
    pub mode_flags: u32,
}

/// Whether this CPU can run [`hash8`] (runtime detection; std caches the answer).
pub(super) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Runs the batch's eight chains into `out`, lane by lane. A chunk longer than
/// [`CHUNK_LEN`] is the caller's mistake; it is refused (`false`) rather than cut.
pub(super) fn hash8(batch: &Batch<'_>, out: &mut [[u8; 32]; LANES]) -> bool {
    if !available() || batch.jobs.iter().any(|j| j.input.len() > CHUNK_LEN) {
        return false;
    }
    // SAFETY: `hash8_avx2` needs AVX2, which `available` just detected at run time; its
    // memory accesses are bounds-checked slices and fixed-size arrays (see its comments).
    unsafe { hash8_avx2(batch, out) };
    true
}

/// Blocks of an input of `len` bytes: an empty input is one empty block.
fn block_count(len: usize) -> usize {
    len.div_ceil(BLOCK_LEN).max(1)
}

#[target_feature(enable = "avx2")]
fn hash8_avx2(batch: &Batch<'_>, out: &mut [[u8; 32]; LANES]) {
    let inputs = batch.jobs.map(|j| j.input);
    let blocks: [usize; LANES] = inputs.map(|i| block_count(i.len()));
    let most = blocks.iter().copied().max().unwrap_or(1);
    // Each lane's last block, zero-padded, prepared once; the blocks before it are read in
    // place, and a lane that has finished reads zeros (its result is discarded by the mask).
    let mut last = [[0u8; BLOCK_LEN]; LANES];
    let mut last_len = [0i32; LANES];
    let mut last_index = [0i32; LANES];
    for lane in 0..LANES {
        let input = inputs[lane];
        let start = (blocks[lane] - 1) * BLOCK_LEN;
        let tail = &input[start.min(input.len())..];
        last[lane][..tail.len()].copy_from_slice(tail);
        last_len[lane] = tail.len() as i32;
        last_index[lane] = (blocks[lane] - 1) as i32;
    }
    const ZERO_BLOCK: [u8; BLOCK_LEN] = [0; BLOCK_LEN];
    let last_len = load8(&last_len);
    let last_index = load8(&last_index);
    let full_len = _mm256_set1_epi32(BLOCK_LEN as i32);
    let mode = _mm256_set1_epi32(batch.mode_flags as i32);
    let start_flags = load8(&batch.jobs.map(|j| j.start_flags as i32));
    let end_flags = load8(&batch.jobs.map(|j| j.end_flags as i32));
    let counter_low = load8(&batch.jobs.map(|j| j.counter as u32 as i32));
    let counter_high = load8(&batch.jobs.map(|j| (j.counter >> 32) as u32 as i32));
    let mut cv: [__m256i; 8] = batch.key_words.map(|w| _mm256_set1_epi32(w as i32));
    for b in 0..most {
        let rows: [&[u8; BLOCK_LEN]; LANES] = std::array::from_fn(|lane| {
            if b + 1 < blocks[lane] {
                let start = b * BLOCK_LEN;
                inputs[lane]
                    .get(start..start + BLOCK_LEN)
                    .and_then(|full| full.try_into().ok())
                    .unwrap_or(&ZERO_BLOCK)
            } else if b + 1 == blocks[lane] {
                &last[lane]
            } else {
                &ZERO_BLOCK
            }
        });
        let msg = load_message(&rows);
        // Per lane: is this its last block, and is it still running?
        let step = _mm256_set1_epi32(b as i32);
        let is_last = _mm256_cmpeq_epi32(step, last_index);
        let active = _mm256_cmpgt_epi32(_mm256_add_epi32(last_index, _mm256_set1_epi32(1)), step);
        let block_len = _mm256_blendv_epi8(full_len, last_len, is_last);
        let first = if b == 0 {
            start_flags
        } else {
            _mm256_setzero_si256()
        };
        let flags = _mm256_or_si256(
            _mm256_or_si256(mode, first),
            _mm256_and_si256(is_last, end_flags),
        );
        let next = compress(&cv, &msg, [counter_low, counter_high, block_len, flags]);
        for (c, n) in cv.iter_mut().zip(next) {
            *c = _mm256_blendv_epi8(*c, n, active);
        }
    }
    transpose(&mut cv);
    for (lane, words) in cv.iter().enumerate() {
        let mut w = [0u32; 8];
        store8(&mut w, *words);
        for (i, word) in w.iter().enumerate() {
            out[lane][4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
}

#[target_feature(enable = "avx2")]
fn load8(values: &[i32; LANES]) -> __m256i {
    // SAFETY: reads 32 bytes from a 32-byte array; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
}

#[target_feature(enable = "avx2")]
fn store8(values: &mut [u32; 8], v: __m256i) {
    // SAFETY: writes 32 bytes into a 32-byte array; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(values.as_mut_ptr().cast(), v) }
}

/// The 16 message words of the eight lanes' blocks, word `j` of every lane in register `j`.
#[target_feature(enable = "avx2")]
fn load_message(blocks: &[&[u8; BLOCK_LEN]; LANES]) -> [__m256i; 16] {
    let half = |offset: usize| -> [__m256i; 8] {
        let mut rows = blocks.map(|block| {
            // SAFETY: reads bytes offset..offset + 32 of a 64-byte array (offset is 0 or 32);
            // `loadu` has no alignment requirement.
            unsafe { _mm256_loadu_si256(block[offset..offset + 32].as_ptr().cast()) }
        });
        transpose(&mut rows);
        rows
    };
    let (low, high) = (half(0), half(32));
    std::array::from_fn(|j| if j < 8 { low[j] } else { high[j - 8] })
}

/// Transposes an 8×8 matrix of 32-bit words held in eight registers: row `i` becomes column
/// `i`. The standard unpack / permute sequence.
#[target_feature(enable = "avx2")]
fn transpose(v: &mut [__m256i; 8]) {
    let ab_0145 = _mm256_unpacklo_epi32(v[0], v[1]);
    let ab_2367 = _mm256_unpackhi_epi32(v[0], v[1]);
    let cd_0145 = _mm256_unpacklo_epi32(v[2], v[3]);
    let cd_2367 = _mm256_unpackhi_epi32(v[2], v[3]);
    let ef_0145 = _mm256_unpacklo_epi32(v[4], v[5]);
    let ef_2367 = _mm256_unpackhi_epi32(v[4], v[5]);
    let gh_0145 = _mm256_unpacklo_epi32(v[6], v[7]);
    let gh_2367 = _mm256_unpackhi_epi32(v[6], v[7]);
    let abcd_04 = _mm256_unpacklo_epi64(ab_0145, cd_0145);
    let abcd_15 = _mm256_unpackhi_epi64(ab_0145, cd_0145);
    let abcd_26 = _mm256_unpacklo_epi64(ab_2367, cd_2367);
    let abcd_37 = _mm256_unpackhi_epi64(ab_2367, cd_2367);
    let efgh_04 = _mm256_unpacklo_epi64(ef_0145, gh_0145);
    let efgh_15 = _mm256_unpackhi_epi64(ef_0145, gh_0145);
    let efgh_26 = _mm256_unpacklo_epi64(ef_2367, gh_2367);
    let efgh_37 = _mm256_unpackhi_epi64(ef_2367, gh_2367);
    v[0] = _mm256_permute2x128_si256::<0x20>(abcd_04, efgh_04);
    v[1] = _mm256_permute2x128_si256::<0x20>(abcd_15, efgh_15);
    v[2] = _mm256_permute2x128_si256::<0x20>(abcd_26, efgh_26);
    v[3] = _mm256_permute2x128_si256::<0x20>(abcd_37, efgh_37);
    v[4] = _mm256_permute2x128_si256::<0x31>(abcd_04, efgh_04);
    v[5] = _mm256_permute2x128_si256::<0x31>(abcd_15, efgh_15);
    v[6] = _mm256_permute2x128_si256::<0x31>(abcd_26, efgh_26);
    v[7] = _mm256_permute2x128_si256::<0x31>(abcd_37, efgh_37);
}

/// One BLAKE3 compression in each lane: the new chaining values. `params` holds the state's
/// last row per lane: counter low and high words, block length, flags.
#[target_feature(enable = "avx2")]
fn compress(cv: &[__m256i; 8], m: &[__m256i; 16], params: [__m256i; 4]) -> [__m256i; 8] {
    let iv = |i: usize| _mm256_set1_epi32(IV[i] as i32);
    let [counter_low, counter_high, block_len, flags] = params;
    let mut v = [
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[5],
        cv[6],
        cv[7],
        iv(0),
        iv(1),
        iv(2),
        iv(3),
        counter_low,
        counter_high,
        block_len,
        flags,
    ];
    // The seven rounds written out, so that every message index is a constant (a loop over
    // SCHEDULE kept them as run-time indices into a spilled array).
    macro_rules! round {
        ($r:expr) => {
            let s = &SCHEDULE[$r];
            g(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
            g(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
            g(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
            g(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
            g(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
            g(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
            g(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
            g(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
        };
    }
    round!(0);
    round!(1);
    round!(2);
    round!(3);
    round!(4);
    round!(5);
    round!(6);
    std::array::from_fn(|i| _mm256_xor_si256(v[i], v[i + 8]))
}

/// BLAKE3's quarter-round G on state words `[a, b, c, d]` with message words `x`, `y`.
#[target_feature(enable = "avx2")]
fn g(v: &mut [__m256i; 16], [a, b, c, d]: [usize; 4], x: __m256i, y: __m256i) {
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), x);
    v[d] = rot16(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = rot12(_mm256_xor_si256(v[b], v[c]));
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), y);
    v[d] = rot8(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi32(v[c], v[d]);
    v[b] = rot7(_mm256_xor_si256(v[b], v[c]));
}

/// Rotations right of every 32-bit word; by 16 and 8 as byte shuffles (one instruction).
#[target_feature(enable = "avx2")]
fn rot16(x: __m256i) -> __m256i {
    let order = _mm256_set_epi8(
        13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, //
        13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2,
    );
    _mm256_shuffle_epi8(x, order)
}

#[target_feature(enable = "avx2")]
fn rot8(x: __m256i) -> __m256i {
    let order = _mm256_set_epi8(
        12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, //
        12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1,
    );
    _mm256_shuffle_epi8(x, order)
}

#[target_feature(enable = "avx2")]
fn rot12(x: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_srli_epi32::<12>(x), _mm256_slli_epi32::<20>(x))
}

#[target_feature(enable = "avx2")]
fn rot7(x: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_srli_epi32::<7>(x), _mm256_slli_epi32::<25>(x))
}
