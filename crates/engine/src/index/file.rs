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
use crate::index::build::{IndexBuilder, TIME_STRIDE, TimeSample};
use crate::index::lookup::{KeyIndex, Lookup, Posting};
use crate::index::summary::{Summary, ValueSet};
use crate::segment::Segment;
use crate::sys::ReadMap;
use std::collections::BTreeSet;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub(crate) const INDEX_MAGIC: &[u8; 8] = b"AUDITIDX";
pub(crate) const INDEX_VERSION: u16 = 1;
pub(crate) const INDEX_EXT: &str = "idx";
const HEADER_LEN: usize = 120;
const ENTRY_LEN: usize = 16;
const CRC_LEN: usize = 4;

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

/// A sealed segment's complete, validated index.
#[derive(Debug)]
pub(crate) struct SegmentIndex {
    bytes: Bytes,
    time: Range<usize>,
    actor: Range<usize>,
    entity: Range<usize>,
    summary: Summary,
}

impl SegmentIndex {
    /// Loads the index file of `segment` if it is present and valid for it.
    pub(crate) fn load(dir: &Path, segment: &Segment) -> Option<Self> {
        let file = std::fs::File::open(index_path(dir, segment.first_seq())).ok()?;
        let map = ReadMap::new(&file).ok()?;
        Self::decode(Bytes::Mapped(map), &Want::of(segment)?)
    }

    /// Whether `bytes` would be used as the index of `segment` (verify's verdict on a file
    /// that differs from the rebuilt one: served, so able to hide records, or rejected).
    pub(crate) fn decode_bytes(bytes: Vec<u8>, segment: &Segment) -> bool {
        Want::of(segment).is_some_and(|want| Self::decode(Bytes::Owned(bytes), &want).is_some())
    }

    /// Encodes a complete builder for `segment` (sealed), in memory.
    pub(crate) fn from_builder(segment: &Segment, builder: &IndexBuilder) -> Option<Self> {
        let want = Want::of(segment)?;
        Self::decode(Bytes::Owned(encode(&want.id, builder)), &want)
    }

    /// The encoded file contents.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn decode(bytes: Bytes, want: &Want) -> Option<Self> {
        let b: &[u8] = &bytes;
        if b.len() < HEADER_LEN + CRC_LEN || &b[0..8] != INDEX_MAGIC {
            return None;
        }
        let body_len = b.len() - CRC_LEN;
        if u32_at(b, body_len)? != crc32fast::hash(&b[..body_len]) {
            return None;
        }
        if u16::from_le_bytes([b[8], b[9]]) != INDEX_VERSION || u32_at(b, 12)? != TIME_STRIDE {
            return None;
        }
        let mut log_id = [0u8; 16];
        log_id.copy_from_slice(b.get(16..32)?);
        let mut root = [0u8; 32];
        root.copy_from_slice(b.get(56..88)?);
        let found = Identity {
            log_id,
            first_seq: u64_at(b, 32)?,
            record_count: u64_at(b, 40)?,
            records_end: u64_at(b, 48)?,
            root,
        };
        if found != want.id {
            return None;
        }
        let mut at = HEADER_LEN;
        let mut section = |count: u64, width: usize| -> Option<Range<usize>> {
            let len = usize::try_from(count).ok()?.checked_mul(width)?;
            let range = at..at.checked_add(len)?;
            at = range.end;
            (range.end <= body_len).then_some(range)
        };
        let time = section(u64_at(b, 88)?, ENTRY_LEN)?;
        let actor = section(u64_at(b, 96)?, ENTRY_LEN)?;
        let entity = section(u64_at(b, 104)?, ENTRY_LEN)?;
        let summary_range = section(u64_at(b, 112)?, 1)?;
        if summary_range.end != body_len {
            return None;
        }
        let summary = decode_summary(&b[summary_range])?;
        let expected_samples = want.id.record_count.div_ceil(u64::from(TIME_STRIDE));
        if summary.records != want.id.record_count
            || (time.len() / ENTRY_LEN) as u64 != expected_samples
        {
            return None;
        }
        let index = SegmentIndex {
            bytes,
            time,
            actor,
            entity,
            summary,
        };
        index.consistent(want).then_some(index)
    }

    /// The checks that need no record of the segment, O(entries): every record has exactly
    /// one actor entry and at most one entity entry; keys are sorted; every entry of a
    /// record gives it the same frame offset, and offsets increase with the record number
    /// (frames follow each other); the time samples are records 0, 32, 64, … with
    /// non-decreasing times inside the footer's range, the first at the footer's first time;
    /// the summary's time range is the footer's. What they cannot see (postings moved to
    /// another key, summary bits, times shifted within these bounds) only a rebuild from the
    /// segment can, which verify does.
    fn consistent(&self, want: &Want) -> bool {
        let Ok(records) = usize::try_from(want.id.record_count) else {
            return false;
        };
        let s = &self.summary;
        if records > 0
            && (s.min_recorded != want.first_recorded_at || s.max_recorded != want.last_recorded_at)
        {
            return false;
        }
        if Self::count(&self.actor) != records || Self::count(&self.entity) > records {
            return false;
        }
        const UNSEEN: u32 = u32::MAX;
        let end = want.id.records_end;
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
        let mut previous = want.first_recorded_at;
        for i in 0..Self::count(&self.time) {
            let (word, p) = self.entry(&self.time, i);
            let t = word as i64;
            let rel = p.rel as usize;
            if rel != i * TIME_STRIDE as usize
                || offsets.get(rel) != Some(&p.offset)
                || t < previous
                || t > want.last_recorded_at
                || (i == 0 && t != want.first_recorded_at)
            {
                return false;
            }
            previous = t;
        }
        true
    }

    fn entry(&self, section: &Range<usize>, i: usize) -> (u64, Posting) {
        let at = section.start + i * ENTRY_LEN;
        let b = &self.bytes[at..at + ENTRY_LEN];
        let word = u64::from_le_bytes(b[0..8].try_into().unwrap_or_default());
        let rel = u32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
        let offset = u32::from_le_bytes(b[12..16].try_into().unwrap_or_default());
        (word, Posting { rel, offset })
    }

    fn count(section: &Range<usize>) -> usize {
        section.len() / ENTRY_LEN
    }

    /// The first entry index in `0..count` for which `pred` is false (entries sorted so that
    /// `pred` is true for a prefix).
    fn partition(&self, section: &Range<usize>, pred: impl Fn(u64) -> bool) -> usize {
        let (mut lo, mut hi) = (0, Self::count(section));
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
}

impl Lookup for SegmentIndex {
    fn records(&self) -> u64 {
        self.summary.records
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }

    fn postings(&self, index: KeyIndex, key: u64) -> Vec<Posting> {
        let section = match index {
            KeyIndex::Actor => &self.actor,
            KeyIndex::Entity => &self.entity,
        };
        let start = self.partition(section, |k| k < key);
        (start..Self::count(section))
            .map(|i| self.entry(section, i))
            .take_while(|(k, _)| *k == key)
            .map(|(_, p)| p)
            .collect()
    }

    fn time_start(&self, since: i64) -> Option<Posting> {
        let after = self.partition(&self.time, |t| (t as i64) < since);
        (Self::count(&self.time) > 0).then(|| self.entry(&self.time, after.saturating_sub(1)).1)
    }

    fn time_end(&self, until: i64) -> u64 {
        let i = self.partition(&self.time, |t| (t as i64) < until);
        if i < Self::count(&self.time) {
            u64::from(self.entry(&self.time, i).1.rel)
        } else {
            self.summary.records
        }
    }
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

fn encode(id: &Identity, builder: &IndexBuilder) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 16 * (builder.time.len() + 3 * 1024));
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
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
    for TimeSample { recorded_at, at } in &builder.time {
        push_entry(&mut out, *recorded_at as u64, *at);
    }
    for (key, at) in actor.iter().chain(entity.iter()) {
        push_entry(&mut out, *key, *at);
    }
    out.extend_from_slice(&summary);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
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

    fn sample() -> (Want, Vec<u8>) {
        let mut builder = IndexBuilder::default();
        for i in 0..100u64 {
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
                record_count: 100,
                records_end: 100 + 100 * 50,
                root: [9; 32],
            },
            first_recorded_at: 0,
            last_recorded_at: 990,
        };
        let bytes = encode(&want.id, &builder);
        (want, bytes)
    }

    #[test]
    fn encoded_index_round_trips_and_answers_lookups() {
        let (id, bytes) = sample();
        let index = SegmentIndex::decode(Bytes::Owned(bytes), &id).expect("valid");
        let user3 = index.postings(KeyIndex::Actor, crate::index::actor_key("user:3"));
        let rels: Vec<u32> = user3.iter().map(|p| p.rel).collect();
        assert_eq!(rels, (0..100).filter(|i| i % 7 == 3).collect::<Vec<_>>());
        assert_eq!(user3[0].offset, 100 + 3 * 50);
        assert!(index.postings(KeyIndex::Actor, 12345).is_empty());
        // Samples at rel 0, 32, 64, 96 with recorded_at = rel * 10.
        assert_eq!(index.time_start(330).map(|p| p.rel), Some(32));
        assert_eq!(index.time_start(0).map(|p| p.rel), Some(0));
        assert_eq!(index.time_end(640), 64);
        assert_eq!(index.time_end(641), 96);
        assert_eq!(index.time_end(i64::MAX), 100);
        assert_eq!(index.summary().records, 100);
    }

    #[test]
    fn other_identity_truncation_and_bit_flips_are_rejected_without_panic() {
        let (id, bytes) = sample();
        let mut other = id.clone();
        other.id.root[0] ^= 1;
        assert!(SegmentIndex::decode(Bytes::Owned(bytes.clone()), &other).is_none());
        for len in 0..bytes.len() {
            let cut = bytes[..len].to_vec();
            assert!(
                SegmentIndex::decode(Bytes::Owned(cut), &id).is_none(),
                "{len}"
            );
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(SegmentIndex::decode(Bytes::Owned(flipped.clone()), &id).is_none());
            // Even with a recomputed CRC (a forged file), decoding must not panic.
            let body = flipped.len() - CRC_LEN;
            let crc = crc32fast::hash(&flipped[..body]);
            flipped[body..].copy_from_slice(&crc.to_le_bytes());
            if let Some(index) = SegmentIndex::decode(Bytes::Owned(flipped), &id) {
                let _ = index.postings(KeyIndex::Entity, 1);
                let _ = index.time_start(5);
                let _ = index.time_end(5);
            }
        }
    }
}
