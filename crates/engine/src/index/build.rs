//! Building a segment's index from its records, incrementally.
//!
//! The same builder serves the active segment (extended on each query up to the committed
//! end, then looked up in memory) and a sealed one (built in one pass, then encoded to an
//! index file by `file.rs`).

use crate::error::Result;
use crate::event::{EventView, RecordView};
use crate::index::Fields;
use crate::index::keys::{actor_key, entity_key};
use crate::index::lookup::{Damaged, KeyIndex, Lookup, Posting};
use crate::index::summary::Summary;
use crate::segment::Segment;
use crate::timestamp::Timestamp;
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
    pub(crate) fn add(&mut self, offset: u64, record: &impl Fields) {
        let rel = self.summary.records as u32;
        let at = Posting {
            rel,
            offset: offset as u32,
        };
        if rel.is_multiple_of(TIME_STRIDE) {
            self.time.push(TimeSample {
                recorded_at: record.recorded_at(),
                at,
            });
        }
        self.actor
            .entry(actor_key(record.actor_id()))
            .or_default()
            .push(at);
        if let Some((kind, id)) = record.entity() {
            let key = entity_key(kind, id);
            self.entity.entry(key).or_default().push(at);
        }
        self.summary.add(record);
    }

    /// Reads and files the segment's records from where the builder stopped up to (not
    /// including) sequence number `end`. Records are read in place: the index needs a few
    /// fields, not the decoded event.
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
        let mut scratch = Vec::new();
        while seq < end {
            let raw = segment.frame(offset, seq, &mut scratch)?;
            let next = offset + raw.frame_len() as u64;
            let event =
                EventView::parse(raw.payload).map_err(|e| segment.bad_payload(offset, seq, e))?;
            let record = RecordView {
                seq,
                recorded_at: Timestamp::from_nanos(raw.recorded_at),
                event,
            };
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

    fn postings(&self, index: KeyIndex, key: u64) -> Result<Vec<Posting>, Damaged> {
        let map = match index {
            KeyIndex::Actor => &self.actor,
            KeyIndex::Entity => &self.entity,
        };
        Ok(map.get(&key).cloned().unwrap_or_default())
    }

    fn time_start(&self, since: i64) -> Result<Option<Posting>, Damaged> {
        let after = self.time.partition_point(|s| s.recorded_at < since);
        let i = after.saturating_sub(1);
        Ok(self.time.get(i).map(|s| s.at))
    }

    fn time_end(&self, until: i64) -> Result<u64, Damaged> {
        let i = self.time.partition_point(|s| s.recorded_at < until);
        Ok(self
            .time
            .get(i)
            .map_or(self.summary.records, |s| u64::from(s.at.rel)))
    }
}
