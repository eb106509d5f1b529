//! Walking the frames of one segment: the shared core of recovery, reads and verification.
//!
//! [`scan`] checks every frame's CRC, the sequence numbers and `recorded_at` order, recomputes
//! the Merkle frontier from the header's starting state, checks a footer against what was
//! recomputed, and reports how the valid records end. It decides nothing about truncation:
//! the caller knows whether the segment is the newest one (where a torn tail is possible after
//! a crash) or an older one (where any damage is an error), and applies the one rule of
//! FORMAT.md §5.3 through [`ScanOutcome::verdict`] (verdict.rs).

use crate::error::{Corruption, CorruptionKind};
use crate::merkle::{Frontier, Hash, lanes};
use crate::record::{
    BODY_FIXED_LEN, FRAME_HEADER_LEN, Frame, FrameCrc, MAX_BODY_LEN, RawRecord, all_zero,
    decode_frame, read_u32, read_u64, salt,
};
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::SegmentHeader;
use std::path::Path;

/// Every `OFFSET_STRIDE`-th record's offset is remembered for seeking.
pub const OFFSET_STRIDE: u64 = 16;

/// Records whose leaf hashes are computed together (`merkle::lanes`: eight short inputs per
/// SIMD pass on AVX2) before they are pushed onto the frontier, in order. Batches end at
/// multiples of it in sequence numbers, so a full batch is a perfect subtree of the tree
/// whose root is hashed in lanes too (`Frontier::push_subtree`).
const LEAF_BATCH: usize = 256;
/// `LEAF_BATCH` is `2^LEAF_BATCH_HEIGHT`.
const LEAF_BATCH_HEIGHT: u32 = 8;

/// What a scan does with the Merkle leaves of the valid records it walks: hash them onto a
/// [`Frontier`] (every scan but one), or count them ([`Counted`]).
pub trait Leaves: Clone + std::fmt::Debug {
    /// How many records the tree covers: the next record's sequence number.
    fn size(&self) -> u64;
    /// Adds `records`, `(seq, recorded_at, payload)`, consecutive from `size()`.
    fn add(&mut self, records: &[(u64, i64, &[u8])]);
    /// The root over every record, where it is known.
    fn root(&self) -> Option<Hash>;
}

impl Leaves for Frontier {
    fn size(&self) -> u64 {
        Frontier::size(self)
    }

    /// Pushes the leaf hash of every record onto the frontier, oldest first: the same
    /// frontier as `frontier.push(record.leaf_hash())` per record (the lanes are
    /// bit-identical to `merkle::leaf_hash`), hashed a batch at a time.
    fn add(&mut self, records: &[(u64, i64, &[u8])]) {
        if records.is_empty() {
            return;
        }
        let payloads: Vec<&[u8]> = records.iter().map(|r| r.2).collect();
        let digests = lanes::payload_digests(&payloads);
        let leaves: Vec<_> = records
            .iter()
            .zip(digests)
            .map(|(&(seq, at, _), digest)| (seq, at, digest))
            .collect();
        let leaves = lanes::leaf_hashes(&leaves);
        let whole = leaves.len() == LEAF_BATCH
            && self.push_subtree(LEAF_BATCH_HEIGHT, lanes::root_of(&leaves));
        if !whole {
            for leaf in leaves {
                self.push(leaf);
            }
        }
    }

    fn root(&self) -> Option<Hash> {
        Some(Frontier::root(self))
    }
}

/// The leaves of a scan counted rather than hashed: the frontier its segment starts from and
/// how many valid records follow it. Hashing the leaves of a 64 MiB active segment was most
/// of a read-only open's time, and a count or a query never uses the root; the reading side
/// computes it from the records it was counted from when something first asks
/// (`live::scan_chunked_counted`, which makes these, says what that scan still checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    start: Frontier,
    records: u64,
}

impl Counted {
    /// The frontier before the first counted record (the segment header's).
    pub fn start(&self) -> &Frontier {
        &self.start
    }

    /// How many records were counted after `start`.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The frontier after the counted records, from the leaf hashes of the segment's records
    /// in order (more than were counted is fine: a live segment grows), or `None` if there
    /// are fewer leaves than records counted.
    pub fn hashed(&self, leaves: &[Hash]) -> Option<Frontier> {
        let leaves = leaves.get(..usize::try_from(self.records).ok()?)?;
        let mut frontier = self.start.clone();
        let mut rest = leaves;
        while !rest.is_empty() {
            // Whole batches aligned in the tree are one subtree each, hashed in lanes.
            let aligned = frontier.size().is_multiple_of(LEAF_BATCH as u64);
            if aligned
                && rest.len() >= LEAF_BATCH
                && frontier.push_subtree(LEAF_BATCH_HEIGHT, lanes::root_of(&rest[..LEAF_BATCH]))
            {
                rest = &rest[LEAF_BATCH..];
            } else {
                frontier.push(rest[0]);
                rest = &rest[1..];
            }
        }
        Some(frontier)
    }
}

impl Leaves for Counted {
    fn size(&self) -> u64 {
        self.start.size() + self.records
    }

    fn add(&mut self, records: &[(u64, i64, &[u8])]) {
        self.records += records.len() as u64;
    }

    fn root(&self) -> Option<Hash> {
        (self.records == 0).then(|| self.start.root())
    }
}

/// The leaves of a scan, hashed or counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    Hashed(Frontier),
    Counted(Counted),
}

impl Leaves for Tree {
    fn size(&self) -> u64 {
        match self {
            Tree::Hashed(f) => Leaves::size(f),
            Tree::Counted(c) => c.size(),
        }
    }

    fn add(&mut self, records: &[(u64, i64, &[u8])]) {
        match self {
            Tree::Hashed(f) => f.add(records),
            Tree::Counted(c) => c.add(records),
        }
    }

    fn root(&self) -> Option<Hash> {
        match self {
            Tree::Hashed(f) => Leaves::root(f),
            Tree::Counted(c) => c.root(),
        }
    }
}

/// Valid records of a scan whose leaves are not added yet: `(seq, recorded_at, payload)`, in
/// order.
struct PendingLeaves<'a>(Vec<(u64, i64, &'a [u8])>);

impl PendingLeaves<'_> {
    fn flush(&mut self, leaves: &mut impl Leaves) {
        leaves.add(&self.0);
        self.0.clear();
    }
}

/// How the valid records of a segment end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A footer that agrees with the records, ending the file exactly.
    Footer(SegmentFooter),
    /// Zero bytes (unwritten preallocated space) or the end of the file right after a record.
    Clean,
    /// Something invalid where the next frame should start.
    Damaged {
        /// Where the invalid bytes start.
        offset: u64,
        /// What is wrong there.
        kind: CorruptionKind,
        /// Whether a later valid frame proves the damaged record was durable (fdatasync'ed)
        /// before that frame was written. If so, this cannot be a torn tail.
        durable: bool,
        /// Whether a valid footer ends the file: the segment is sealed, and the writer syncs
        /// every record before it writes the footer, so this cannot be a torn tail either.
        sealed: bool,
        /// Valid-looking frames found after the damage.
        later_frames: u64,
    },
}

/// What a scan found. `L` is what it did with the leaves: a [`Frontier`] after the last valid
/// record unless said otherwise ([`Counted`], [`Tree`]).
#[derive(Debug, Clone)]
pub struct ScanOutcome<L = Frontier> {
    pub header: SegmentHeader,
    /// The Merkle frontier after the last valid record, or the count of records after the
    /// header's frontier.
    pub frontier: L,
    /// Offset just past the last valid record.
    pub records_end: u64,
    pub first_recorded_at: Option<i64>,
    /// `recorded_at` of the last valid record (or the header's `prev_recorded_at`).
    pub last_recorded_at: i64,
    /// Offsets of every `OFFSET_STRIDE`-th record, starting with the first.
    pub offsets: Vec<u64>,
    pub end: End,
}

impl<L: Leaves> ScanOutcome<L> {
    /// Sequence number one past the last valid record.
    pub fn end_seq(&self) -> u64 {
        self.frontier.size()
    }
}

impl<L> ScanOutcome<L> {
    /// The same outcome with its leaves in another form.
    pub fn map_leaves<M>(self, f: impl FnOnce(L) -> M) -> ScanOutcome<M> {
        ScanOutcome {
            header: self.header,
            frontier: f(self.frontier),
            records_end: self.records_end,
            first_recorded_at: self.first_recorded_at,
            last_recorded_at: self.last_recorded_at,
            offsets: self.offsets,
            end: self.end,
        }
    }
}

impl ScanOutcome<Tree> {
    /// The start of a scan of a segment with `header` whose leaves are only counted.
    pub(crate) fn counting(header: SegmentHeader) -> Self {
        let start = Counted {
            start: header.frontier.clone(),
            records: 0,
        };
        start_of(header, Tree::Counted(start))
    }
}

/// The state of a scan before the first record of the segment with `header`.
pub(crate) fn start_of<L>(header: SegmentHeader, frontier: L) -> ScanOutcome<L> {
    ScanOutcome {
        frontier,
        records_end: header.encoded_len() as u64,
        first_recorded_at: None,
        last_recorded_at: header.prev_recorded_at,
        offsets: Vec::new(),
        end: End::Clean,
        header,
    }
}

/// Scans the segment held in `bytes` (the whole file) at `path`.
///
/// `visit` is called for each valid record in order with its offset. Errors are damage that no
/// crash can explain (a valid frame out of sequence, time going backwards, a footer that
/// contradicts the records, bytes after a footer, a header that does not decode).
pub fn scan(
    path: &Path,
    bytes: &[u8],
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<ScanOutcome, Corruption> {
    let header = decode_header(path, bytes)?;
    let frontier = header.frontier.clone();
    resume(path, bytes, start_of(header, frontier), visit)
}

/// The header at the start of `bytes`, the segment at `path`.
pub(crate) fn decode_header(path: &Path, bytes: &[u8]) -> Result<SegmentHeader, Corruption> {
    SegmentHeader::decode(bytes).map_err(|e| Corruption {
        file: path.to_path_buf(),
        offset: e.offset(),
        seq: None,
        kind: e.into_kind(),
    })
}

/// Continues a scan of the same (grown) file from where `from` stopped: its frontier, times
/// and `records_end`. `offsets` of the result holds only offsets found by this call. Used to
/// follow a segment that another process is appending to.
pub fn resume(
    path: &Path,
    bytes: &[u8],
    from: ScanOutcome,
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<ScanOutcome, Corruption> {
    resume_at(path, bytes, 0, from, visit)
}

/// As [`resume`], where `bytes` holds the file from offset `base` (at most `from.records_end`)
/// to its end: a follower copies only what it has not scanned yet. Offsets in the result and
/// in errors are offsets in the file.
pub fn resume_at(
    path: &Path,
    bytes: &[u8],
    base: u64,
    from: ScanOutcome,
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<ScanOutcome, Corruption> {
    resume_with(path, bytes, base, from, visit)
}

/// [`resume_at`] for any [`Leaves`]. Not public: where the leaves are only counted, a footer's
/// root is not checked (it cannot be), and the one caller that counts
/// (`live::scan_chunked_counted`) scans such a segment again with its leaves hashed.
pub(crate) fn resume_with<L: Leaves>(
    path: &Path,
    bytes: &[u8],
    base: u64,
    from: ScanOutcome<L>,
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<ScanOutcome<L>, Corruption> {
    debug_assert!(base <= from.records_end);
    // `pos` below is an index into `bytes`; `at(pos)` the file offset it stands for.
    let at = |pos: usize| base + pos as u64;
    let corrupt = |pos: usize, seq: Option<u64>, kind| Corruption {
        file: path.to_path_buf(),
        offset: at(pos),
        seq,
        kind,
    };
    let crc = FrameCrc::new(&salt(&from.header.log_id, from.header.first_seq));
    let mut out = ScanOutcome {
        offsets: Vec::new(),
        end: End::Clean,
        ..from
    };
    let mut pos = out.records_end.saturating_sub(base) as usize;
    let mut pending = PendingLeaves(Vec::with_capacity(LEAF_BATCH));
    // The next record's sequence number: the frontier's size plus the records pending.
    let mut next_seq = out.frontier.size();
    loop {
        let seq = next_seq;
        let rest = &bytes[pos.min(bytes.len())..];
        if rest.is_empty() {
            out.end = End::Clean;
            break;
        }
        match decode_frame(rest, &crc) {
            Frame::Record(record) => {
                if record.seq != seq {
                    let kind = CorruptionKind::SequenceMismatch {
                        expected: seq,
                        found: record.seq,
                    };
                    return Err(corrupt(pos, Some(seq), kind));
                }
                if record.recorded_at < out.last_recorded_at {
                    return Err(corrupt(pos, Some(seq), CorruptionKind::TimeWentBackwards));
                }
                if (seq - out.header.first_seq).is_multiple_of(OFFSET_STRIDE) {
                    out.offsets.push(at(pos));
                }
                visit(at(pos), &record);
                pending
                    .0
                    .push((record.seq, record.recorded_at, record.payload));
                next_seq += 1;
                if next_seq.is_multiple_of(LEAF_BATCH as u64) {
                    pending.flush(&mut out.frontier);
                }
                out.first_recorded_at.get_or_insert(record.recorded_at);
                out.last_recorded_at = record.recorded_at;
                pos += record.frame_len();
                out.records_end = at(pos);
            }
            Frame::Zero if all_zero(rest) => {
                out.end = End::Clean;
                break;
            }
            Frame::Footer => {
                // The footer is checked against the frontier of every record before it.
                pending.flush(&mut out.frontier);
                match SegmentFooter::decode(rest.get(..FOOTER_LEN).unwrap_or(rest), &crc) {
                    Ok(footer) => {
                        check_footer(&out, &footer).map_err(|k| corrupt(pos, None, k))?;
                        if rest.len() > FOOTER_LEN {
                            let after = pos + FOOTER_LEN;
                            return Err(corrupt(after, None, CorruptionKind::TrailingData));
                        }
                        out.end = End::Footer(footer);
                    }
                    Err(why) => {
                        out.end = damaged(bytes, pos, seq, &crc, CorruptionKind::BadFooter(why))
                    }
                }
                break;
            }
            other => {
                let kind = match other {
                    Frame::BadChecksum { stored, computed } => {
                        CorruptionKind::ChecksumMismatch { stored, computed }
                    }
                    Frame::BadLength(len) => CorruptionKind::BadLength(len),
                    Frame::Truncated => CorruptionKind::BadLength(read_len(rest)),
                    _ => CorruptionKind::BadLength(0),
                };
                out.end = damaged(bytes, pos, seq, &crc, kind);
                break;
            }
        }
    }
    pending.flush(&mut out.frontier);
    if let End::Damaged { offset, .. } = &mut out.end {
        *offset += base;
    }
    Ok(out)
}

fn read_len(rest: &[u8]) -> u32 {
    if rest.len() >= 4 {
        read_u32(rest, 0)
    } else {
        0
    }
}

fn check_footer<L: Leaves>(
    out: &ScanOutcome<L>,
    footer: &SegmentFooter,
) -> Result<(), CorruptionKind> {
    let bad = |why: &str| Err(CorruptionKind::BadFooter(why.to_string()));
    if footer.first_seq != out.header.first_seq {
        return bad("first_seq differs from the header");
    }
    if footer.tree_head.size != out.frontier.size() {
        return bad("record_count differs from the records present");
    }
    if footer.records_end != out.records_end {
        return bad("records_end differs from the footer's position");
    }
    let first = out.first_recorded_at.unwrap_or(out.header.prev_recorded_at);
    if footer.first_recorded_at != first || footer.last_recorded_at != out.last_recorded_at {
        return bad("recorded_at range differs from the records");
    }
    // Unknown only where the leaves were counted: see `resume_with`.
    if out
        .frontier
        .root()
        .is_some_and(|root| root != footer.tree_head.root)
    {
        return Err(CorruptionKind::RootMismatch);
    }
    Ok(())
}

/// Classifies damage at `pos`: whether a footer seals the file, and the valid frames after
/// it and whether any of them proves that the record at `pos` had been made durable.
fn damaged(bytes: &[u8], pos: usize, seq: u64, crc: &FrameCrc, kind: CorruptionKind) -> End {
    let sealed = bytes.len() >= pos + FOOTER_LEN
        && SegmentFooter::seals(&bytes[bytes.len() - FOOTER_LEN..], crc);
    let mut later_frames = 0;
    let mut durable = false;
    let min_frame = FRAME_HEADER_LEN + BODY_FIXED_LEN;
    let max_seq = seq.saturating_add(((bytes.len() - pos) / min_frame) as u64 + 1);
    let mut p = pos + 1;
    while p + min_frame <= bytes.len() {
        if bytes[p] == 0 && bytes[p..p + 4] == [0; 4] {
            // Skip runs of zeros (unwritten space) quickly.
            p += 1;
            continue;
        }
        let len = read_u32(bytes, p);
        if (BODY_FIXED_LEN as u32..=MAX_BODY_LEN).contains(&len)
            && p + 8 + len as usize <= bytes.len()
        {
            let cand = read_u64(bytes, p + 8);
            if (seq..max_seq).contains(&cand)
                && let Frame::Record(r) = decode_frame(&bytes[p..], crc)
            {
                later_frames += 1;
                durable |= r.durable_size > seq;
                p += r.frame_len();
                continue;
            }
        }
        p += 1;
    }
    End::Damaged {
        offset: pos as u64,
        kind,
        durable,
        sealed,
        later_frames,
    }
}
