//! The block tables of a version 2 index file (FORMAT.md §7): each section's entries are cut
//! into blocks of `per_block` entries, and a table row per block gives its first entry's word
//! (a fence, to find the blocks that can hold a key without reading the others) and the CRC
//! of its entries. The tables are covered by the file's header CRC, checked at load; a block
//! is checked the first time a lookup reads it, and the verdict kept.

use crate::index::file::{ENTRY_LEN, entry_at};
use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// Bytes of a block-table row: fence word (u64), CRC-32 of the block (u32), reserved (u32).
pub(crate) const ROW_LEN: usize = 16;

const UNCHECKED: u8 = 0;
const GOOD: u8 = 1;
const BAD: u8 = 2;

/// The three sections of entries, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Time,
    Actor,
    Entity,
}

impl Section {
    pub(crate) const ALL: [Section; 3] = [Section::Time, Section::Actor, Section::Entity];

    fn at(self) -> usize {
        self as usize
    }
}

/// A version 2 file's block tables and what has been checked of its blocks.
#[derive(Debug)]
pub(crate) struct Blocks {
    pub(crate) per_block: usize,
    tables: [Range<usize>; 3],
    sections: [Range<usize>; 3],
    state: [Vec<AtomicU8>; 3],
    /// Whether the time section passed its checks (made whole, at its first use).
    pub(crate) time_checked: OnceLock<bool>,
}

impl Blocks {
    /// The tables at `tables` of the sections at `sections`, if their fences are in order
    /// (time fences as `i64`) and their reserved words zero.
    pub(crate) fn new(
        b: &[u8],
        per_block: usize,
        tables: [Range<usize>; 3],
        sections: [&Range<usize>; 3],
    ) -> Option<Self> {
        let blocks = Blocks {
            per_block,
            state: std::array::from_fn(|s| {
                (0..tables[s].len() / ROW_LEN)
                    .map(|_| AtomicU8::new(UNCHECKED))
                    .collect()
            }),
            sections: sections.map(Range::clone),
            tables,
            time_checked: OnceLock::new(),
        };
        for section in Section::ALL {
            let mut last: Option<u64> = None;
            for row in 0..blocks.count(section) {
                let (fence, _, reserved) = blocks.row(b, section, row);
                let ordered = match (last, section) {
                    (None, _) => true,
                    (Some(l), Section::Time) => (l as i64) <= (fence as i64),
                    (Some(l), _) => l <= fence,
                };
                if reserved != 0 || !ordered {
                    return None;
                }
                last = Some(fence);
            }
        }
        Some(blocks)
    }

    /// Blocks in `section`.
    pub(crate) fn count(&self, section: Section) -> usize {
        self.state[section.at()].len()
    }

    fn row(&self, b: &[u8], section: Section, row: usize) -> (u64, u32, u32) {
        let at = self.tables[section.at()].start + row * ROW_LEN;
        let r = &b[at..at + ROW_LEN];
        let word = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
        (
            u64::from(word(0)) | (u64::from(word(4)) << 32),
            word(8),
            word(12),
        )
    }

    /// Whether block `block` of `section` is intact: its CRC matches, its first entry is its
    /// fence, and (key sections) its entries ascend strictly by `(key, rel)`.
    pub(crate) fn verify(&self, b: &[u8], section: Section, block: usize) -> bool {
        let Some(state) = self.state[section.at()].get(block) else {
            return false;
        };
        match state.load(Ordering::Acquire) {
            GOOD => return true,
            BAD => return false,
            _ => {}
        }
        let entries = &self.sections[section.at()];
        let start = entries.start + block * self.per_block * ENTRY_LEN;
        let end = (start + self.per_block * ENTRY_LEN).min(entries.end);
        let (fence, crc, _) = self.row(b, section, block);
        let good = start < end
            && crc32fast::hash(&b[start..end]) == crc
            && entry_at(b, start).0 == fence
            && (section == Section::Time || ascending(b, start..end));
        state.store(if good { GOOD } else { BAD }, Ordering::Release);
        good
    }

    /// The blocks of `section` that can hold entries filed under `key`: from the last block
    /// whose fence is below `key` (its tail may hold some) to the last whose fence is `key`.
    pub(crate) fn holding(&self, b: &[u8], section: Section, key: u64) -> Range<usize> {
        let first_not_below = self.partition(b, section, |f| f < key);
        let first_above = self.partition(b, section, |f| f <= key);
        first_not_below.saturating_sub(1)..first_above
    }

    fn partition(&self, b: &[u8], section: Section, pred: impl Fn(u64) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.count(section));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.row(b, section, mid).0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Whether the entries in `range` ascend strictly by `(word, rel)`.
fn ascending(b: &[u8], range: Range<usize>) -> bool {
    let mut last = None;
    for at in range.step_by(ENTRY_LEN) {
        let (word, p) = entry_at(b, at);
        if last >= Some((word, p.rel)) {
            return false;
        }
        last = Some((word, p.rel));
    }
    true
}

/// The block table of the entries `entries` (a whole section), in blocks of
/// [`BLOCK_ENTRIES`](crate::index::file::BLOCK_ENTRIES).
pub(crate) fn block_table(entries: &[u8], per_block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for block in entries.chunks(per_block * ENTRY_LEN) {
        out.extend_from_slice(&entry_at(block, 0).0.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(block).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out
}
