//! Checking an intact segment block by block, on one thread or several (for a log whose bytes
//! are mostly in one or a few segments, one big segment, say).
//!
//! Walking frame lengths is cheap and sequential; the expensive per-record work (CRC, payload
//! digest and leaf hash, payload validation) is independent. So this thread walks the frames
//! and cuts them into blocks of [`BLOCK`] records, aligned to multiples of [`BLOCK`] in the
//! log's sequence numbers. A block's hashes are computed together, eight records per SIMD
//! pass (merkle/lanes.rs), which is what makes this path faster than the record-by-record
//! scan even on one thread. With one thread each block is checked as soon as it is walked;
//! with more, blocks go to `threads` workers. A worker checks its block's records and, for
//! a whole aligned block, also computes the root of that perfect subtree. This thread then
//! takes the blocks in order: it checks sequence numbers and time order, and extends the
//! header's frontier by whole block roots (a few node hashes per block) or, for a partial
//! block, leaf by leaf; then it checks the footer.
//!
//! This is a fast path for intact segments only: it answers `None` at the first thing that is
//! not plainly valid (a bad length or CRC, a sequence or time out of order, zero bytes followed
//! by anything, a footer that does not agree, trailing bytes), and the caller then runs the
//! sequential scan (segment/scan.rs), which classifies and locates the damage. So results are
//! those of the sequential scan by construction: for an intact segment both compute the same
//! outcome, and anything else is the scan's own answer.

use crate::event::codec::validate_payload;
use crate::merkle::{Frontier, Hash, lanes, node_hash};
use crate::record::{
    BODY_FIXED_LEN, FOOTER_TAG, FRAME_HEADER_LEN, Frame, FrameCrc, MAX_BODY_LEN, RawRecord,
    all_zero, decode_frame, read_u32, salt,
};
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::SegmentHeader;
use crate::segment::scan::{End, OFFSET_STRIDE, ScanOutcome};
use std::collections::BTreeMap;

/// Records per block: a power of two (blocks are perfect subtrees), small enough to keep the
/// workers busy while this thread walks, large enough that handing out blocks costs little.
/// Tests use tiny blocks so that small segments hold many whole ones.
#[cfg(not(test))]
const BLOCK_LOG2: u32 = 12;
#[cfg(test)]
const BLOCK_LOG2: u32 = 3;
const BLOCK: u64 = 1 << BLOCK_LOG2;

/// Records checked together inside a block: a multiple of the eight SIMD lanes whose bytes
/// (~350 bytes a record, ~90 KiB) stay in the second-level cache between CRC, hashing and
/// validation, and enough records that the per-run bookkeeping is small.
const RUN: usize = 256;

/// How far ahead of its position the walk touches the segment's bytes (see `walk`).
const WALK_AHEAD: usize = 4096;

/// What the split check of an intact segment found.
pub struct SplitOutcome {
    pub outcome: ScanOutcome,
    /// Leaf hashes of every record, in order.
    pub leaves: Vec<Hash>,
    /// Offsets and sequence numbers of records whose payload does not validate.
    pub bad_payloads: Vec<(u64, u64)>,
}

/// One record's independent checks.
struct Checked {
    seq: u64,
    recorded_at: i64,
    leaf: Hash,
    payload_ok: bool,
}

/// A block of consecutive frames, as handed to a worker.
struct BlockJob {
    index: usize,
    /// The sequence number its first record must have.
    first_seq: u64,
    positions: Vec<usize>,
}

/// A worker's answer: `None` if a frame is not a valid record.
struct BlockDone {
    index: usize,
    first_seq: u64,
    positions: Vec<usize>,
    checked: Option<Vec<Checked>>,
    /// Root of the block's leaves when it is a whole aligned block.
    root: Option<Hash>,
}

/// The walk's result: where the records end and where the footer starts, if one does.
struct Walked {
    records_end: usize,
    footer_at: Option<usize>,
}

/// Checks the segment in `bytes` on `threads` threads; `None` unless it is intact (then the
/// caller scans it sequentially for the exact damage). The leaf hashes are kept only when
/// `keep_leaves`; otherwise the records held in memory are a few blocks', whatever the
/// segment's size.
pub fn check_split(
    bytes: &[u8],
    threads: usize,
    decode: bool,
    keep_leaves: bool,
) -> Option<SplitOutcome> {
    let header = SegmentHeader::decode(bytes).ok()?;
    let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
    let first_seq = header.first_seq;
    let mut fold = Fold {
        first_seq,
        frontier: header.frontier.clone(),
        last_recorded_at: header.prev_recorded_at,
        first_recorded_at: None,
        offsets: Vec::new(),
        leaves: keep_leaves.then(Vec::new),
        bad_payloads: Vec::new(),
        next_index: 0,
        waiting: BTreeMap::new(),
        intact: true,
    };
    let mut sent = 0;
    let walked = if threads <= 1 {
        // One thread: each block is checked as soon as it is walked.
        walk(bytes, header.encoded_len(), first_seq, |job| {
            sent += 1;
            fold.add(check_block(bytes, &crc, decode, job));
            fold.intact
        })
    } else {
        check_blocks_on_workers(
            bytes,
            (header.encoded_len(), first_seq),
            &crc,
            (threads, decode),
            &mut fold,
            &mut sent,
        )
    };
    let walked = walked?;
    // A worker that panicked leaves a block missing: not plainly intact.
    if !fold.intact || !fold.waiting.is_empty() || fold.next_index != sent {
        return None;
    }
    let Fold {
        frontier,
        last_recorded_at,
        first_recorded_at,
        offsets,
        leaves,
        bad_payloads,
        ..
    } = fold;
    let records_end = walked.records_end;
    let end = match walked.footer_at {
        None => End::Clean,
        Some(at) => {
            let footer = SegmentFooter::decode(bytes.get(at..at + FOOTER_LEN)?, &crc).ok()?;
            let first = first_recorded_at.unwrap_or(header.prev_recorded_at);
            let agrees = bytes.len() == at + FOOTER_LEN
                && footer.first_seq == header.first_seq
                && footer.tree_head == frontier.tree_head()
                && footer.records_end == records_end as u64
                && footer.first_recorded_at == first
                && footer.last_recorded_at == last_recorded_at;
            if !agrees {
                return None;
            }
            End::Footer(footer)
        }
    };
    Some(SplitOutcome {
        outcome: ScanOutcome {
            header,
            frontier,
            records_end: records_end as u64,
            first_recorded_at,
            last_recorded_at,
            offsets,
            end,
        },
        leaves: leaves.unwrap_or_default(),
        bad_payloads,
    })
}

/// Walks the frames on this thread while `threads` workers check the blocks, folding the
/// checked blocks in as they come back (so that few wait in memory); the walk's result.
fn check_blocks_on_workers(
    bytes: &[u8],
    (start, first_seq): (usize, u64),
    crc: &FrameCrc,
    (threads, decode): (usize, bool),
    fold: &mut Fold,
    sent: &mut usize,
) -> Option<Walked> {
    let (job_tx, job_rx) = crossbeam_channel::bounded::<BlockJob>(4 * threads);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<BlockDone>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            s.spawn(move || {
                for job in job_rx {
                    let done = check_block(bytes, crc, decode, job);
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop((job_rx, done_tx));
        let walked = walk(bytes, start, first_seq, |job| {
            *sent += 1;
            if job_tx.send(job).is_err() {
                return false;
            }
            done_rx.try_iter().for_each(|done| fold.add(done));
            fold.intact
        });
        drop(job_tx);
        done_rx.iter().for_each(|done| fold.add(done));
        walked
    })
}

/// The segment's running state, extended block by block in sequence order.
struct Fold {
    /// The segment's first sequence number.
    first_seq: u64,
    frontier: Frontier,
    last_recorded_at: i64,
    first_recorded_at: Option<i64>,
    offsets: Vec<u64>,
    /// Every record's leaf hash, when the caller wants them.
    leaves: Option<Vec<Hash>>,
    bad_payloads: Vec<(u64, u64)>,
    /// The index of the next block to fold.
    next_index: usize,
    /// Blocks that came back before an earlier one (workers finish out of order).
    waiting: BTreeMap<usize, BlockDone>,
    /// Whether everything folded so far was plainly valid.
    intact: bool,
}

impl Fold {
    fn add(&mut self, block: BlockDone) {
        self.waiting.insert(block.index, block);
        while let Some(block) = self.waiting.remove(&self.next_index) {
            self.next_index += 1;
            if self.intact && self.fold(block).is_none() {
                self.intact = false;
            }
        }
    }

    /// Checks the block's sequence numbers and time order and extends the frontier by it;
    /// `None` if anything is not plainly valid.
    fn fold(&mut self, block: BlockDone) -> Option<()> {
        let checked = block.checked?;
        for (i, (&pos, record)) in block.positions.iter().zip(&checked).enumerate() {
            let seq = block.first_seq + i as u64;
            if record.seq != seq || record.recorded_at < self.last_recorded_at {
                return None;
            }
            if (seq - self.first_seq).is_multiple_of(OFFSET_STRIDE) {
                self.offsets.push(pos as u64);
            }
            if !record.payload_ok {
                self.bad_payloads.push((pos as u64, seq));
            }
            self.first_recorded_at.get_or_insert(record.recorded_at);
            self.last_recorded_at = record.recorded_at;
        }
        if self.frontier.size() != block.first_seq {
            return None;
        }
        match block.root {
            Some(root) if self.frontier.size().is_multiple_of(BLOCK) => {
                self.frontier = push_perfect_subtree(&self.frontier, root, BLOCK_LOG2)?;
            }
            _ => checked.iter().for_each(|r| self.frontier.push(r.leaf)),
        }
        if let Some(leaves) = &mut self.leaves {
            leaves.extend(checked.iter().map(|r| r.leaf));
        }
        Some(())
    }
}

/// The frontier after appending a perfect subtree of `2^height` leaves with root `root`, to a
/// tree whose size is a multiple of `2^height`: like appending a leaf with the lowest `height`
/// levels of the tree left out (a carry merges the smallest node while its bit is set).
fn push_perfect_subtree(frontier: &Frontier, root: Hash, height: u32) -> Option<Frontier> {
    let mut nodes = frontier.nodes().to_vec();
    let mut carry = root;
    let mut bit = height;
    while bit < u64::BITS && frontier.size() & (1 << bit) != 0 {
        carry = node_hash(&nodes.pop()?, &carry);
        bit += 1;
    }
    nodes.push(carry);
    Frontier::from_parts(frontier.size().checked_add(1 << height)?, nodes)
}

/// A worker's checks of one block. The hashes are computed together (merkle/lanes.rs: eight
/// records' payload digests, leaf hashes and node hashes per SIMD pass), not record by record;
/// and the block is taken in runs of [`RUN`] records, so that the CRC, hashing and payload
/// validation of a run all read its bytes while they are in cache.
fn check_block(bytes: &[u8], crc: &FrameCrc, decode: bool, job: BlockJob) -> BlockDone {
    let whole = job.positions.len() as u64 == BLOCK && job.first_seq.is_multiple_of(BLOCK);
    let mut checked = Vec::with_capacity(job.positions.len());
    let mut intact = true;
    for run in job.positions.chunks(RUN) {
        let Some(records) = run
            .iter()
            .map(|&pos| match decode_frame(bytes.get(pos..)?, crc) {
                Frame::Record(r) => Some(r),
                _ => None,
            })
            .collect::<Option<Vec<RawRecord<'_>>>>()
        else {
            intact = false;
            break;
        };
        let payloads: Vec<&[u8]> = records.iter().map(|r| r.payload).collect();
        let digests = lanes::payload_digests(&payloads);
        let inputs: Vec<(u64, i64, Hash)> = records
            .iter()
            .zip(digests)
            .map(|(r, d)| (r.seq, r.recorded_at, d))
            .collect();
        let leaves = lanes::leaf_hashes(&inputs);
        checked.extend(records.iter().zip(leaves).map(|(r, leaf)| Checked {
            seq: r.seq,
            recorded_at: r.recorded_at,
            leaf,
            payload_ok: !decode || validate_payload(r.payload).is_ok(),
        }));
    }
    let root = (intact && whole).then(|| {
        let leaves: Vec<Hash> = checked.iter().map(|c| c.leaf).collect();
        lanes::root_of(&leaves)
    });
    BlockDone {
        index: job.index,
        first_seq: job.first_seq,
        positions: job.positions,
        checked: intact.then_some(checked),
        root,
    }
}

/// Walks the frames from `start` by their lengths alone and hands them to `send` in blocks
/// that end where the sequence number (counted from `first_seq`) reaches a multiple of
/// [`BLOCK`]. `None` where the sequential scan would see damage, or if `send` fails.
fn walk(
    bytes: &[u8],
    start: usize,
    first_seq: u64,
    mut send: impl FnMut(BlockJob) -> bool,
) -> Option<Walked> {
    let mut pos = start;
    let mut seq = first_seq;
    let mut index = 0;
    let mut touched = 0u8;
    let mut touched_to = start;
    let mut block = BlockJob {
        index,
        first_seq,
        positions: Vec::new(),
    };
    let walked = loop {
        let rest = bytes.get(pos..)?;
        if rest.is_empty() {
            break Walked {
                records_end: pos,
                footer_at: None,
            };
        }
        let Some(head) = rest.get(..FRAME_HEADER_LEN) else {
            all_zero(rest).then_some(())?;
            break Walked {
                records_end: pos,
                footer_at: None,
            };
        };
        // Each frame's position depends on the previous frame's length: a chain of loads that
        // would wait for memory at every frame. Touching every cache line a few KiB ahead
        // (loads nothing waits for, in a stride the hardware prefetcher follows) has the
        // bytes on their way into the cache by the time the chain gets there.
        let ahead = (pos + WALK_AHEAD).min(bytes.len());
        while touched_to < ahead {
            touched ^= bytes[touched_to];
            touched_to += 64;
        }
        let len = read_u32(head, 0);
        if len == FOOTER_TAG {
            break Walked {
                records_end: pos,
                footer_at: Some(pos),
            };
        }
        if len == 0 && read_u32(head, 4) == 0 {
            all_zero(rest).then_some(())?;
            break Walked {
                records_end: pos,
                footer_at: None,
            };
        }
        if !(BODY_FIXED_LEN as u32..=MAX_BODY_LEN).contains(&len) {
            return None;
        }
        let frame_len = FRAME_HEADER_LEN + len as usize;
        if rest.len() < frame_len {
            return None;
        }
        block.positions.push(pos);
        pos += frame_len;
        seq = seq.checked_add(1)?;
        if seq.is_multiple_of(BLOCK) {
            index += 1;
            let next = BlockJob {
                index,
                first_seq: seq,
                positions: Vec::with_capacity(BLOCK as usize),
            };
            if !send(std::mem::replace(&mut block, next)) {
                return None;
            }
        }
    };
    std::hint::black_box(touched);
    if !block.positions.is_empty() && !send(block) {
        return None;
    }
    Some(walked)
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
