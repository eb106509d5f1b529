//! Index files: one per sealed segment, `<first_seq:020>.idx`, immutable once written.
//!
//! The byte layout is specified in docs/FORMAT.md §7. Every field is little-endian; the
//! file ends with a CRC-32 of everything before it. A file is used only if its magic, version,
//! lengths and CRC are right, it names the segment exactly (log id, first sequence number,
//! record count, end of records and Merkle root from the footer), *and* its entries are
//! consistent with the footer (`consistent`); anything else makes the caller rebuild it from
//! the segment. The CRC only catches accidents: anyone who can write the file can recompute
//! it, so the structural checks are what stop a forged file from hiding records, as far as a
//! check that does not read the segment can; verify does the full comparison. Decoding never
//! panics, whatever the bytes.

use crate::fs::FileSystem;
use crate::index::blocks::{Blocks, ROW_LEN, Section, block_table};
use crate::index::build::{IndexBuilder, TIME_STRIDE, TimeSample};
use crate::index::lookup::{Damaged, KeyIndex, Lookup, Posting};
use crate::index::summary::{Summary, ValueSet};
use crate::segment::Segment;
use crate::sys::ReadMap;
use std::collections::BTreeSet;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub(crate) const INDEX_MAGIC: &[u8; 8] = b"AUDITIDX";
/// The version written. Version 1 files (no block tables) are still read, checked whole.
pub(crate) const INDEX_VERSION: u16 = 2;
pub(crate) const INDEX_EXT: &str = "idx";
const HEADER_LEN_V1: usize = 120;
const HEADER_LEN_V2: usize = 128;
pub(crate) const ENTRY_LEN: usize = 16;
const CRC_LEN: usize = 4;
/// Entries per block of a version 2 file: 4 KiB of entries, one page.
pub(crate) const BLOCK_ENTRIES: u32 = 256;

/// The index file of the segment starting at `first_seq`.
pub(crate) fn index_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.{INDEX_EXT}"))
}

/// What an index file must say about its segment to be used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    log_id: [u8; 16],
    first_seq: u64,
    record_count: u64,
    records_end: u64,
    root: [u8; 32],
}

/// What a segment's footer says, against which an index file is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    id: Identity,
    first_recorded_at: i64,
    last_recorded_at: i64,
}

impl Want {
    fn of(segment: &Segment) -> Option<Self> {
        let footer = segment.footer()?;
        Some(Want {
            id: Identity {
                log_id: segment.header.log_id,
                first_seq: footer.first_seq,
                record_count: footer.record_count,
                records_end: footer.records_end,
                root: footer.tree_head.root,
            },
            first_recorded_at: footer.first_recorded_at,
            last_recorded_at: footer.last_recorded_at,
        })
    }
}

/// Bytes of an index: mapped from its file, or built in memory (read-only logs, failed
/// writes).
#[derive(Debug)]
enum Bytes {
    Mapped(ReadMap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// How much of an index file is checked when it is loaded (see `IndexSet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Everything, once: every block's CRC and every structural check of FORMAT.md §7. What a
    /// writable handle does (it rewrites a file that fails), and verify.
    Whole,
    /// The header, summary and block table at load (their CRC and the counts), then each
    /// block as a lookup reads it: a fresh read-only process pays for what it reads, not for
    /// the size of the log. Version 1 files have no blocks and are always checked whole.
    AsRead,
}

/// A sealed segment's validated index: checked whole, or checked as it is read (version 2,
/// `blocks`).
#[derive(Debug)]
pub(crate) struct SegmentIndex {
    bytes: Bytes,
    time: Range<usize>,
    actor: Range<usize>,
    entity: Range<usize>,
    summary: Summary,
    want: Want,
    /// The block table of a version 2 file, with what has been checked of it so far.
    blocks: Option<Blocks>,
}

/// The parts of an index file found by its header.
struct Parts {
    time: Range<usize>,
    actor: Range<usize>,
    entity: Range<usize>,
    summary: Range<usize>,
    /// Version 2: entries per block and the three block tables (time, actor, entity).
    blocks: Option<(usize, [Range<usize>; 3])>,
}

impl SegmentIndex {
    /// Loads the index file of `segment` if it is present and valid for it.
    pub(crate) fn load(dir: &Path, segment: &Segment, check: Check) -> Option<Self> {
        let file = std::fs::File::open(index_path(dir, segment.first_seq())).ok()?;
        let map = ReadMap::new(&file).ok()?;
        Self::decode(Bytes::Mapped(map), &Want::of(segment)?, check)
    }

    /// Whether `bytes` would be used as the index of `segment` by a reader that checks it
    /// whole (verify's verdict on a file that differs from the rebuilt one: served, so able
    /// to hide records, or rejected).
    pub(crate) fn decode_bytes(bytes: Vec<u8>, segment: &Segment) -> bool {
        Want::of(segment)
            .is_some_and(|want| Self::decode(Bytes::Owned(bytes), &want, Check::Whole).is_some())
    }

    /// Encodes a complete builder for `segment` (sealed), in memory, in the current version.
    pub(crate) fn from_builder(segment: &Segment, builder: &IndexBuilder) -> Option<Self> {
        let want = Want::of(segment)?;
        let bytes = encode(&want.id, builder, INDEX_VERSION);
        Self::decode(Bytes::Owned(bytes), &want, Check::Whole)
    }

    /// The file a builder for `segment` encodes to in format `version` (1 or 2): what verify
    /// compares a stored file of that version with.
    pub(crate) fn encoded(
        segment: &Segment,
        builder: &IndexBuilder,
        version: u16,
    ) -> Option<Vec<u8>> {
        let want = Want::of(segment)?;
        matches!(version, 1 | 2).then(|| encode(&want.id, builder, version))
    }

    /// The encoded file contents.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn decode(bytes: Bytes, want: &Want, check: Check) -> Option<Self> {
        let b: &[u8] = &bytes;
        if b.len() < 10 || &b[0..8] != INDEX_MAGIC {
            return None;
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        let parts = match version {
            1 => parts_v1(b)?,
            2 => parts_v2(b)?,
            _ => return None,
        };
        if u32_at(b, 12)? != TIME_STRIDE || identity(b)? != want.id {
            return None;
        }
        let summary = decode_summary(&b[parts.summary.clone()])?;
        let expected_samples = want.id.record_count.div_ceil(u64::from(TIME_STRIDE));
        if summary.records != want.id.record_count
            || (parts.time.len() / ENTRY_LEN) as u64 != expected_samples
        {
            return None;
        }
        let blocks = match parts.blocks {
            None => None,
            Some((per_block, tables)) => Some(Blocks::new(
                b,
                per_block,
                tables,
                [&parts.time, &parts.actor, &parts.entity],
            )?),
        };
        let index = SegmentIndex {
            time: parts.time,
            actor: parts.actor,
            entity: parts.entity,
            summary,
            want: want.clone(),
            blocks,
            bytes,
        };
        if !index.counts_fit() {
            return None;
        }
        let whole = check == Check::Whole || index.blocks.is_none();
        (!whole || index.all_blocks_ok() && index.consistent()).then_some(index)
    }

    /// The checks of the section lengths and the summary against the footer, O(1).
    fn counts_fit(&self) -> bool {
        let Ok(records) = usize::try_from(self.want.id.record_count) else {
            return false;
        };
        let s = &self.summary;
        if records > 0
            && (s.min_recorded != self.want.first_recorded_at
                || s.max_recorded != self.want.last_recorded_at)
        {
            return false;
        }
        Self::count(&self.actor) == records && Self::count(&self.entity) <= records
    }

    /// Checks every block's CRC (version 2; nothing to do for version 1, whose file CRC was
    /// checked at load).
    fn all_blocks_ok(&self) -> bool {
        let Some(blocks) = &self.blocks else {
            return true;
        };
        Section::ALL.iter().all(|&section| {
            (0..blocks.count(section)).all(|block| blocks.verify(&self.bytes, section, block))
        })
    }

    /// The checks that need no record of the segment, O(entries): every record has exactly
    /// one actor entry and at most one entity entry; keys are sorted; every entry of a
    /// record gives it the same frame offset, and offsets increase with the record number
    /// (frames follow each other); the time samples are records 0, 32, 64, … with
    /// non-decreasing times inside the footer's range, the first at the footer's first time.
    /// What they cannot see (postings moved to another key, summary bits, times shifted
    /// within these bounds) only a rebuild from the segment can, which verify does.
    fn consistent(&self) -> bool {
        let records = Self::count(&self.actor);
        const UNSEEN: u32 = u32::MAX;
        let end = self.want.id.records_end;
        // The frame offset each record was given by the actor section (one entry each).
        let mut offsets = vec![UNSEEN; records];
        let mut last = None;
        for i in 0..Self::count(&self.actor) {
            let (key, p) = self.entry(&self.actor, i);
            let rel = p.rel as usize;
            if last >= Some((key, p.rel))
                || rel >= records
                || u64::from(p.offset) >= end
                || offsets[rel] != UNSEEN
            {
                return false;
            }
            offsets[rel] = p.offset;
            last = Some((key, p.rel));
        }
        if offsets.windows(2).any(|w| w[0] >= w[1]) {
            return false;
        }
        let mut has_entity = vec![false; records];
        let mut last = None;
        for i in 0..Self::count(&self.entity) {
            let (key, p) = self.entry(&self.entity, i);
            let rel = p.rel as usize;
            if last >= Some((key, p.rel))
                || offsets.get(rel) != Some(&p.offset)
                || std::mem::replace(&mut has_entity[rel], true)
            {
                return false;
            }
            last = Some((key, p.rel));
        }
        self.time_consistent(|rel, offset| offsets.get(rel) == Some(&offset))
    }

    /// Time entry `i` is record `32 i`, times never decrease and lie within the footer's
    /// range (the first at its first time), offsets increase and lie before the footer, and
    /// `offset_ok` accepts each sample's offset.
    fn time_consistent(&self, offset_ok: impl Fn(usize, u32) -> bool) -> bool {
        let mut previous = self.want.first_recorded_at;
        let mut last_offset = None;
        for i in 0..Self::count(&self.time) {
            let (word, p) = self.entry(&self.time, i);
            let t = word as i64;
            let rel = p.rel as usize;
            if rel != i * TIME_STRIDE as usize
                || !offset_ok(rel, p.offset)
                || u64::from(p.offset) >= self.want.id.records_end
                || last_offset >= Some(p.offset)
                || t < previous
                || t > self.want.last_recorded_at
                || (i == 0 && t != self.want.first_recorded_at)
            {
                return false;
            }
            previous = t;
            last_offset = Some(p.offset);
        }
        true
    }

    /// Checks the time section before its first use (version 2, checked as read): all its
    /// blocks and the checks of `time_consistent` that need no other section. A time section
    /// holds one entry per 32 records, so this is a small part of the file.
    fn time_ready(&self) -> Result<(), Damaged> {
        let Some(blocks) = &self.blocks else {
            return Ok(());
        };
        let ok = *blocks.time_checked.get_or_init(|| {
            (0..blocks.count(Section::Time)).all(|b| blocks.verify(&self.bytes, Section::Time, b))
                && self.time_consistent(|_, _| true)
        });
        ok.then_some(()).ok_or(Damaged)
    }

    fn entry(&self, section: &Range<usize>, i: usize) -> (u64, Posting) {
        entry_at(&self.bytes, section.start + i * ENTRY_LEN)
    }

    fn count(section: &Range<usize>) -> usize {
        section.len() / ENTRY_LEN
    }

    /// The first entry index in `range` for which `pred` is false (entries sorted so that
    /// `pred` is true for a prefix).
    fn partition(
        &self,
        section: &Range<usize>,
        range: Range<usize>,
        pred: impl Fn(u64) -> bool,
    ) -> usize {
        let (mut lo, mut hi) = (range.start, range.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.entry(section, mid).0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The entries filed under `key`, from the blocks that can hold it, each block checked
    /// as it is read (version 2), with the checks FORMAT.md §7 makes of the postings read:
    /// ascending `(key, rel)`, `rel < record_count`, `offset < records_end`, and offsets
    /// strictly increasing with `rel`.
    fn postings_of(&self, which: KeyIndex, key: u64) -> Result<Vec<Posting>, Damaged> {
        let (section, range) = match which {
            KeyIndex::Actor => (Section::Actor, &self.actor),
            KeyIndex::Entity => (Section::Entity, &self.entity),
        };
        let entries = match &self.blocks {
            None => 0..Self::count(range),
            Some(blocks) => {
                let held = blocks.holding(&self.bytes, section, key);
                for block in held.clone() {
                    if !blocks.verify(&self.bytes, section, block) {
                        return Err(Damaged);
                    }
                }
                let per = blocks.per_block;
                held.start * per..(held.end * per).min(Self::count(range))
            }
        };
        let start = self.partition(range, entries.clone(), |k| k < key);
        let mut out = Vec::new();
        let mut last: Option<Posting> = None;
        for i in start..entries.end {
            let (k, p) = self.entry(range, i);
            if k != key {
                break;
            }
            let bad = u64::from(p.rel) >= self.want.id.record_count
                || u64::from(p.offset) >= self.want.id.records_end
                || last.is_some_and(|l| l.rel >= p.rel || l.offset >= p.offset);
            if bad {
                return Err(Damaged);
            }
            last = Some(p);
            out.push(p);
        }
        // Entries before `start` in the blocks read must sort below `key` (else the search
        // was misled by an entry that is out of order).
        if start > entries.start && self.entry(range, start - 1).0 >= key {
            return Err(Damaged);
        }
        Ok(out)
    }
}

impl Lookup for SegmentIndex {
    fn records(&self) -> u64 {
        self.summary.records
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }

    fn postings(&self, index: KeyIndex, key: u64) -> Result<Vec<Posting>, Damaged> {
        self.postings_of(index, key)
    }

    fn time_start(&self, since: i64) -> Result<Option<Posting>, Damaged> {
        self.time_ready()?;
        let n = Self::count(&self.time);
        let after = self.partition(&self.time, 0..n, |t| (t as i64) < since);
        Ok((n > 0).then(|| self.entry(&self.time, after.saturating_sub(1)).1))
    }

    fn time_end(&self, until: i64) -> Result<u64, Damaged> {
        self.time_ready()?;
        let n = Self::count(&self.time);
        let i = self.partition(&self.time, 0..n, |t| (t as i64) < until);
        Ok(if i < n {
            u64::from(self.entry(&self.time, i).1.rel)
        } else {
            self.summary.records
        })
    }
}

/// The header's identity fields (the same offsets in both versions).
fn identity(b: &[u8]) -> Option<Identity> {
    let mut log_id = [0u8; 16];
    log_id.copy_from_slice(b.get(16..32)?);
    let mut root = [0u8; 32];
    root.copy_from_slice(b.get(56..88)?);
    Some(Identity {
        log_id,
        first_seq: u64_at(b, 32)?,
        record_count: u64_at(b, 40)?,
        records_end: u64_at(b, 48)?,
        root,
    })
}

/// Lays out the sections after a header of `header_len` bytes, from the counts at 88..120;
/// they must end at `body_end`, or where the returned table starts (`Err` with the end).
fn sections(b: &[u8], header_len: usize) -> Option<[Range<usize>; 4]> {
    let mut at = header_len;
    let mut section = |count: u64, width: usize| -> Option<Range<usize>> {
        let len = usize::try_from(count).ok()?.checked_mul(width)?;
        let range = at..at.checked_add(len)?;
        at = range.end;
        (range.end <= b.len()).then_some(range)
    };
    Some([
        section(u64_at(b, 88)?, ENTRY_LEN)?,
        section(u64_at(b, 96)?, ENTRY_LEN)?,
        section(u64_at(b, 104)?, ENTRY_LEN)?,
        section(u64_at(b, 112)?, 1)?,
    ])
}

/// Version 1: the sections end where the file CRC starts, which covers the whole file.
fn parts_v1(b: &[u8]) -> Option<Parts> {
    if b.len() < HEADER_LEN_V1 + CRC_LEN {
        return None;
    }
    let body_len = b.len() - CRC_LEN;
    if u32_at(b, body_len)? != crc32fast::hash(&b[..body_len]) {
        return None;
    }
    let [time, actor, entity, summary] = sections(&b[..body_len], HEADER_LEN_V1)?;
    (summary.end == body_len).then_some(Parts {
        time,
        actor,
        entity,
        summary,
        blocks: None,
    })
}

/// Version 2: the block tables follow the summary, and the file ends with the CRC of the
/// header, the summary and the tables (each block's entries have their own CRC).
fn parts_v2(b: &[u8]) -> Option<Parts> {
    if b.len() < HEADER_LEN_V2 + CRC_LEN || u32_at(b, 124)? != 0 {
        return None;
    }
    let per_block = usize::try_from(u32_at(b, 120)?).ok()?;
    if per_block == 0 {
        return None;
    }
    let body_len = b.len() - CRC_LEN;
    let [time, actor, entity, summary] = sections(&b[..body_len], HEADER_LEN_V2)?;
    let mut at = summary.end;
    let mut table = |section: &Range<usize>| -> Option<Range<usize>> {
        let rows = (section.len() / ENTRY_LEN).div_ceil(per_block);
        let range = at..at.checked_add(rows.checked_mul(ROW_LEN)?)?;
        at = range.end;
        Some(range)
    };
    let tables = [table(&time)?, table(&actor)?, table(&entity)?];
    if at != body_len {
        return None;
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&b[..HEADER_LEN_V2]);
    crc.update(&b[summary.clone()]);
    crc.update(&b[tables[0].start..body_len]);
    if u32_at(b, body_len)? != crc.finalize() {
        return None;
    }
    Some(Parts {
        time,
        actor,
        entity,
        summary,
        blocks: Some((per_block, tables)),
    })
}

/// Writes `index` as the index file of its segment: temporary file, fdatasync, rename,
/// directory fsync, so a crash leaves either no file or a complete one (and a torn
/// temporary file is removed by the next writable open).
pub(crate) fn persist(
    fs: &dyn FileSystem,
    dir: &Path,
    first_seq: u64,
    index: &SegmentIndex,
) -> io::Result<()> {
    let path = index_path(dir, first_seq);
    crate::fs::write_file_durably(fs, &path, index.bytes())
}

fn encode(id: &Identity, builder: &IndexBuilder, version: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN_V2 + 16 * (builder.time.len() + 3 * 1024));
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&TIME_STRIDE.to_le_bytes());
    out.extend_from_slice(&id.log_id);
    out.extend_from_slice(&id.first_seq.to_le_bytes());
    out.extend_from_slice(&id.record_count.to_le_bytes());
    out.extend_from_slice(&id.records_end.to_le_bytes());
    out.extend_from_slice(&id.root);
    let sorted = |map: &std::collections::HashMap<u64, Vec<Posting>>| {
        let mut v: Vec<(u64, Posting)> = map
            .iter()
            .flat_map(|(k, ps)| ps.iter().map(move |p| (*k, *p)))
            .collect();
        v.sort_unstable();
        v
    };
    let actor = sorted(&builder.actor);
    let entity = sorted(&builder.entity);
    let summary = encode_summary(&builder.summary);
    for n in [builder.time.len(), actor.len(), entity.len(), summary.len()] {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    if version >= 2 {
        out.extend_from_slice(&BLOCK_ENTRIES.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    let header_len = out.len();
    let time_start = out.len();
    for TimeSample { recorded_at, at } in &builder.time {
        push_entry(&mut out, *recorded_at as u64, *at);
    }
    let actor_start = out.len();
    for (key, at) in &actor {
        push_entry(&mut out, *key, *at);
    }
    let entity_start = out.len();
    for (key, at) in &entity {
        push_entry(&mut out, *key, *at);
    }
    let summary_start = out.len();
    out.extend_from_slice(&summary);
    if version < 2 {
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        return out;
    }
    for range in [
        time_start..actor_start,
        actor_start..entity_start,
        entity_start..summary_start,
    ] {
        let table = block_table(&out[range], BLOCK_ENTRIES as usize);
        out.extend_from_slice(&table);
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[..header_len]);
    crc.update(&out[summary_start..]);
    let crc = crc.finalize();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}
/// The entry at byte `at` of `b` (16 bytes there, as the callers' layouts guarantee).
pub(crate) fn entry_at(b: &[u8], at: usize) -> (u64, Posting) {
    let e = &b[at..at + ENTRY_LEN];
    let word = u64::from_le_bytes(e[0..8].try_into().unwrap_or_default());
    let rel = u32::from_le_bytes(e[8..12].try_into().unwrap_or_default());
    let offset = u32::from_le_bytes(e[12..16].try_into().unwrap_or_default());
    (word, Posting { rel, offset })
}

fn push_entry(out: &mut Vec<u8>, word: u64, at: Posting) {
    out.extend_from_slice(&word.to_le_bytes());
    out.extend_from_slice(&at.rel.to_le_bytes());
    out.extend_from_slice(&at.offset.to_le_bytes());
}

fn encode_summary(s: &Summary) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [
        s.records,
        s.min_recorded as u64,
        s.max_recorded as u64,
        s.min_occurred as u64,
        s.max_occurred as u64,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.push(s.severities);
    out.push(s.outcomes);
    for set in [&s.tenants, &s.actions, &s.labels] {
        match &set.values {
            None => {
                out.push(1);
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            Some(values) => {
                out.push(0);
                out.extend_from_slice(&(values.len() as u32).to_le_bytes());
                for v in values {
                    // Values are at most MAX_SET_BYTES long in total, so they fit a u16.
                    out.extend_from_slice(&(v.len() as u16).to_le_bytes());
                    out.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
    out
}

fn decode_summary(b: &[u8]) -> Option<Summary> {
    let mut r = Reader { b, at: 0 };
    let mut s = Summary {
        records: r.u64()?,
        min_recorded: r.u64()? as i64,
        max_recorded: r.u64()? as i64,
        min_occurred: r.u64()? as i64,
        max_occurred: r.u64()? as i64,
        severities: r.u8()?,
        outcomes: r.u8()?,
        ..Summary::default()
    };
    for set in [&mut s.tenants, &mut s.actions, &mut s.labels] {
        let overflowed = r.u8()?;
        let count = r.u32()?;
        *set = match overflowed {
            1 if count == 0 => ValueSet::overflowed(),
            0 => {
                let mut values = BTreeSet::new();
                for _ in 0..count {
                    let len = usize::from(r.u16()?);
                    let text = std::str::from_utf8(r.take(len)?).ok()?;
                    values.insert(text.to_string());
                }
                let mut set = ValueSet::new();
                set.values = Some(values);
                set
            }
            _ => return None,
        };
    }
    (r.at == b.len()).then_some(s)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Record};
    use crate::timestamp::Timestamp;

    /// An index of `n` records (3 blocks of actor entries at 600), encoded in `version`.
    fn sample(n: u64, version: u16) -> (Want, Vec<u8>) {
        let mut builder = IndexBuilder::default();
        for i in 0..n {
            let event = Event::new(format!("user:{}", i % 7), "login")
                .entity("order", format!("{}", i % 5))
                .tenant("acme")
                .label("PCI");
            let record = Record {
                seq: 1000 + i,
                recorded_at: Timestamp::from_nanos(i as i64 * 10),
                event,
            };
            builder.add(100 + i * 50, &record);
        }
        let want = Want {
            id: Identity {
                log_id: [7; 16],
                first_seq: 1000,
                record_count: n,
                records_end: 100 + n * 50,
                root: [9; 32],
            },
            first_recorded_at: 0,
            last_recorded_at: (n as i64 - 1) * 10,
        };
        let bytes = encode(&want.id, &builder, version);
        (want, bytes)
    }

    /// Every answer the tests compare: postings of each actor and entity key, time bounds.
    type Answers = Vec<Result<Vec<u32>, Damaged>>;

    fn answers(index: &SegmentIndex) -> Answers {
        let rels = |r: Result<Vec<Posting>, Damaged>| r.map(|v| v.iter().map(|p| p.rel).collect());
        let mut out: Answers = (0..8)
            .map(|u| rels(index.postings(KeyIndex::Actor, actor_key(&format!("user:{u}")))))
            .collect();
        for e in 0..6 {
            let key = crate::index::entity_key("order", &format!("{e}"));
            out.push(rels(index.postings(KeyIndex::Entity, key)));
        }
        for t in [0, 5, 330, 640, 641, 2990, i64::MAX] {
            out.push(
                index
                    .time_start(t)
                    .map(|p| p.map(|p| p.rel).into_iter().collect()),
            );
            out.push(index.time_end(t).map(|e| vec![e as u32]));
        }
        out
    }

    use crate::index::actor_key;

    #[test]
    fn encoded_index_round_trips_and_answers_lookups() {
        for (version, check) in [(1, Check::Whole), (2, Check::Whole), (2, Check::AsRead)] {
            let (id, bytes) = sample(100, version);
            let index = SegmentIndex::decode(Bytes::Owned(bytes), &id, check).expect("valid");
            let user3 = index
                .postings(KeyIndex::Actor, actor_key("user:3"))
                .unwrap();
            let rels: Vec<u32> = user3.iter().map(|p| p.rel).collect();
            assert_eq!(rels, (0..100).filter(|i| i % 7 == 3).collect::<Vec<_>>());
            assert_eq!(user3[0].offset, 100 + 3 * 50);
            assert!(index.postings(KeyIndex::Actor, 12345).unwrap().is_empty());
            // Samples at rel 0, 32, 64, 96 with recorded_at = rel * 10.
            assert_eq!(index.time_start(330).unwrap().map(|p| p.rel), Some(32));
            assert_eq!(index.time_start(0).unwrap().map(|p| p.rel), Some(0));
            assert_eq!(index.time_end(640).unwrap(), 64);
            assert_eq!(index.time_end(641).unwrap(), 96);
            assert_eq!(index.time_end(i64::MAX).unwrap(), 100);
            assert_eq!(index.summary().records, 100);
        }
    }

    #[test]
    fn both_versions_give_the_same_answers_across_blocks() {
        let (id, v1) = sample(600, 1);
        let (_, v2) = sample(600, 2);
        let v1 = SegmentIndex::decode(Bytes::Owned(v1), &id, Check::Whole).expect("v1");
        let whole = SegmentIndex::decode(Bytes::Owned(v2.clone()), &id, Check::Whole);
        let as_read = SegmentIndex::decode(Bytes::Owned(v2), &id, Check::AsRead).expect("v2");
        let want = answers(&v1);
        assert!(want.iter().all(Result::is_ok));
        assert_eq!(answers(&whole.expect("v2 whole")), want);
        assert_eq!(answers(&as_read), want);
        assert!(as_read.blocks.as_ref().unwrap().count(Section::Actor) >= 3);
    }

    #[test]
    fn other_identity_truncation_and_bit_flips_are_rejected_without_panic() {
        for version in [1, 2] {
            let (id, bytes) = sample(100, version);
            let mut other = id.clone();
            other.id.root[0] ^= 1;
            assert!(
                SegmentIndex::decode(Bytes::Owned(bytes.clone()), &other, Check::Whole).is_none()
            );
            for len in 0..bytes.len() {
                let cut = bytes[..len].to_vec();
                for check in [Check::Whole, Check::AsRead] {
                    assert!(
                        SegmentIndex::decode(Bytes::Owned(cut.clone()), &id, check).is_none(),
                        "v{version} cut at {len}"
                    );
                }
            }
            for at in 0..bytes.len() {
                let mut flipped = bytes.clone();
                flipped[at] ^= 0x10;
                assert!(
                    SegmentIndex::decode(Bytes::Owned(flipped.clone()), &id, Check::Whole)
                        .is_none(),
                    "v{version} flip at {at}"
                );
                // Even with a recomputed CRC (a forged file), decoding must not panic.
                let body = flipped.len() - CRC_LEN;
                let crc = match version {
                    1 => crc32fast::hash(&flipped[..body]),
                    _ => {
                        let mut h = crc32fast::Hasher::new();
                        h.update(&flipped[..HEADER_LEN_V2]);
                        let entries = [88, 96, 104]
                            .iter()
                            .map(|&at| u64_at(&flipped, at).unwrap_or(0))
                            .fold(0u64, u64::saturating_add);
                        let summary_at = usize::try_from(entries.saturating_mul(16))
                            .unwrap_or(usize::MAX)
                            .saturating_add(HEADER_LEN_V2);
                        h.update(flipped.get(summary_at.min(body)..body).unwrap_or_default());
                        h.finalize()
                    }
                };
                flipped[body..].copy_from_slice(&crc.to_le_bytes());
                for check in [Check::Whole, Check::AsRead] {
                    if let Some(index) =
                        SegmentIndex::decode(Bytes::Owned(flipped.clone()), &id, check)
                    {
                        let _ = answers(&index);
                    }
                }
            }
        }
    }

    /// Checked as read, a damaged byte anywhere either makes the file rejected at load, or
    /// the lookups reading it report `Damaged`: no lookup ever gives a wrong answer.
    #[test]
    fn checked_as_read_a_damaged_byte_never_changes_an_answer() {
        let (id, bytes) = sample(600, 2);
        let intact = SegmentIndex::decode(Bytes::Owned(bytes.clone()), &id, Check::AsRead).unwrap();
        let want = answers(&intact);
        let mut damaged_seen = 0;
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x04;
            let Some(index) = SegmentIndex::decode(Bytes::Owned(flipped), &id, Check::AsRead)
            else {
                continue;
            };
            for (got, want) in answers(&index).into_iter().zip(&want) {
                match got {
                    Err(Damaged) => damaged_seen += 1,
                    Ok(v) => assert_eq!(Ok(&v), want.as_ref(), "flip at {at}"),
                }
            }
        }
        assert!(damaged_seen > 0, "no lookup ever saw the damage");
    }
}
