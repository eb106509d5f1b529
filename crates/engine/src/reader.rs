//! Reading committed records: [`RecordIter`], forward and backward over a snapshot.

use crate::error::{Error, Result};
use crate::event::{Record, decode_payload};
use crate::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN};
use crate::segment::scan::OFFSET_STRIDE;
use crate::segment::{Segment, StoredRecord};
use crate::timestamp::Timestamp;
use crate::view::View;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// Decodes a stored record's payload into a [`Record`], naming the place of any damage.
pub(crate) fn decode_record(segment: &Segment, stored: StoredRecord) -> Result<Record> {
    decode_at(
        segment,
        stored.offset,
        stored.seq,
        stored.recorded_at,
        &stored.payload,
    )
}

/// Decodes the payload of record `seq` (frame at `offset`) into a [`Record`].
fn decode_at(
    segment: &Segment,
    offset: u64,
    seq: u64,
    recorded_at: i64,
    payload: &[u8],
) -> Result<Record> {
    let event = decode_payload(payload).map_err(|e| segment.bad_payload(offset, seq, e))?;
    Ok(Record {
        seq,
        recorded_at: Timestamp::from_nanos(recorded_at),
        event,
    })
}

/// Records of a sequence range, in order; `.rev()` (or `next_back`) for newest first.
///
/// Yields `Err` for a record that cannot be read (damage names file, offset and sequence) and
/// then stops in that direction.
#[derive(Debug)]
pub struct RecordIter {
    view: View,
    front: u64,
    back: u64,
    /// Segment and offset of the frame holding `front`.
    front_cursor: Option<(Arc<Segment>, u64)>,
    /// Records below `back` already read, in ascending order (popped from the end).
    back_buf: Vec<(Arc<Segment>, StoredRecord)>,
    /// Holds frames of segments that are not mapped (active, cold).
    scratch: Vec<u8>,
}

impl RecordIter {
    pub(crate) fn new(view: View, range: impl RangeBounds<u64>) -> Self {
        let lo = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => u64::MAX,
        };
        let front = lo.max(view.first_seq);
        let back = hi.min(view.end_seq).max(front);
        RecordIter {
            view,
            front,
            back,
            front_cursor: None,
            back_buf: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Records left to yield.
    pub fn remaining(&self) -> u64 {
        self.back - self.front
    }

    /// Reads and decodes the record at `front`, straight from the frame's bytes (borrowed
    /// from the map of a sealed segment). The outer error is a frame that cannot be read
    /// (iteration stops); the inner one a payload that does not decode (it goes on).
    fn read_front(&mut self) -> Result<Result<Record>> {
        let seq = self.front;
        let (segment, offset) = match self.front_cursor.take() {
            Some((segment, offset)) if seq < segment_end(&segment, &self.view) => (segment, offset),
            _ => {
                let segment = self.segment_of(seq)?;
                let offset = segment.offset_of(seq)?;
                (segment, offset)
            }
        };
        let raw = segment.frame(offset, seq, &mut self.scratch)?;
        let next = offset + raw.frame_len() as u64;
        let record = decode_at(&segment, offset, seq, raw.recorded_at, raw.payload);
        self.front_cursor = Some((segment, next));
        Ok(record)
    }

    /// Refills `back_buf` with the block of records (aligned to the offset stride) ending
    /// just below `back`.
    fn fill_back(&mut self) -> Result<()> {
        let last = self.back - 1;
        let segment = self.segment_of(last)?;
        let rel = last - segment.first_seq();
        let start = (segment.first_seq() + rel / OFFSET_STRIDE * OFFSET_STRIDE).max(self.front);
        let mut offset = segment.offset_of(start)?;
        for seq in start..=last {
            let stored = segment.read_frame(offset, seq)?;
            offset += (FRAME_HEADER_LEN + BODY_FIXED_LEN + stored.payload.len()) as u64;
            self.back_buf.push((segment.clone(), stored));
        }
        Ok(())
    }

    fn segment_of(&self, seq: u64) -> Result<Arc<Segment>> {
        self.view.segment_of(seq).cloned().ok_or(Error::NotFound {
            seq,
            first: self.view.first_seq,
            end: self.view.end_seq,
        })
    }

    fn stop(&mut self) {
        self.front = self.back;
        self.back_buf.clear();
    }
}

fn segment_end(segment: &Segment, view: &View) -> u64 {
    segment.footer().map_or(view.end_seq, |f| f.tree_head.size)
}

impl Iterator for RecordIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        // Records already buffered by the back end are served from there to stay consistent.
        if let Some(pos) = self.back_buf.iter().position(|(_, r)| r.seq == self.front) {
            let (segment, stored) = self.back_buf.remove(pos);
            self.front += 1;
            return Some(decode_record(&segment, stored));
        }
        match self.read_front() {
            Ok(record) => {
                self.front += 1;
                Some(record)
            }
            Err(e) => {
                self.stop();
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for RecordIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        if self.back_buf.is_empty()
            && let Err(e) = self.fill_back()
        {
            self.stop();
            return Some(Err(e));
        }
        let (segment, stored) = self.back_buf.pop()?;
        self.back -= 1;
        Some(decode_record(&segment, stored))
    }
}
