//! Building a segment's index from its records, incrementally.
//!
//! The same builder serves the active segment (extended on each query up to the committed
//! end, then looked up in memory) and a sealed one (built in one pass, then encoded to an
//! index file by `file.rs`).

use crate::error::Result;
use crate::event::Record;
use crate::index::keys::{actor_key, entity_key};
use crate::index::lookup::{KeyIndex, Lookup, Posting};
use crate::index::summary::Summary;
use crate::reader::decode_record;
use crate::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN};
use crate::segment::Segment;
use std::collections::HashMap;

/// Every `TIME_STRIDE`-th record of a segment is sampled into its time index. A range
/// query then reads at most `TIME_STRIDE - 1` records before its first match, and those are
/// skipped on the frame's `recorded_at` without decoding the event.
pub(crate) const TIME_STRIDE: u32 = 32;

/// One sample of the time index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSample {
    pub recorded_at: i64,
    pub at: Posting,
}

/// An index under construction, covering records `0..records` of one segment.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    pub(crate) time: Vec<TimeSample>,
    pub(crate) actor: HashMap<u64, Vec<Posting>>,
    pub(crate) entity: HashMap<u64, Vec<Posting>>,
    pub(crate) summary: Summary,
    /// Offset of the next record's frame (0 before the first record is added).
    next_offset: u64,
}

impl IndexBuilder {
    /// Files the next record of the segment, whose frame starts at `offset`.
    pub(crate) fn add(&mut self, offset: u64, record: &Record) {
        let rel = self.summary.records as u32;
        let at = Posting {
            rel,
            offset: offset as u32,
        };
        if rel.is_multiple_of(TIME_STRIDE) {
            self.time.push(TimeSample {
                recorded_at: record.recorded_at.as_nanos(),
                at,
            });
        }
        let e = &record.event;
        self.actor
            .entry(actor_key(&e.actor.id))
            .or_default()
            .push(at);
        if let Some(entity) = &e.entity {
            let key = entity_key(&entity.kind, &entity.id);
            self.entity.entry(key).or_default().push(at);
        }
        self.summary.add(record);
    }

    /// Reads and files the segment's records from where the builder stopped up to (not
    /// including) sequence number `end`.
    pub(crate) fn extend(&mut self, segment: &Segment, end: u64) -> Result<()> {
        let mut seq = segment.first_seq() + self.summary.records;
        if seq >= end {
            return Ok(());
        }
        let mut offset = if self.summary.records == 0 {
            segment.offset_of(seq)?
        } else {
            self.next_offset
        };
        while seq < end {
            let stored = segment.read_frame(offset, seq)?;
            let next = offset + (FRAME_HEADER_LEN + BODY_FIXED_LEN + stored.payload.len()) as u64;
            let record = decode_record(segment, stored)?;
            self.add(offset, &record);
            self.next_offset = next;
            offset = next;
            seq += 1;
        }
        Ok(())
    }

    /// Builds the complete index of a sealed segment.
    pub(crate) fn of_sealed(segment: &Segment) -> Result<Self> {
        let mut builder = IndexBuilder::default();
        if let Some(footer) = segment.footer() {
            builder.extend(segment, footer.first_seq + footer.record_count)?;
        }
        Ok(builder)
    }
}

impl Lookup for IndexBuilder {
    fn records(&self) -> u64 {
        self.summary.records
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }

    fn postings(&self, index: KeyIndex, key: u64) -> Vec<Posting> {
        let map = match index {
            KeyIndex::Actor => &self.actor,
            KeyIndex::Entity => &self.entity,
        };
        map.get(&key).cloned().unwrap_or_default()
    }

    fn time_start(&self, since: i64) -> Option<Posting> {
        let after = self.time.partition_point(|s| s.recorded_at < since);
        let i = after.saturating_sub(1);
        self.time.get(i).map(|s| s.at)
    }

    fn time_end(&self, until: i64) -> u64 {
        let i = self.time.partition_point(|s| s.recorded_at < until);
        self.time
            .get(i)
            .map_or(self.summary.records, |s| u64::from(s.at.rel))
    }
}
