//! Records whose event stays encoded: [`RecordView`] (borrowed) and [`LazyRecord`] (owned).
//!
//! A query that returns a thousand [`Record`]s spends most of its time building them: some
//! fifteen `String`s and three JSON trees each. A dashboard listing those records shows a
//! handful of fields. A [`LazyRecord`] keeps the payload bytes and where its fields lie,
//! found once while the query filtered it; fields are read in place through
//! [`LazyRecord::event`], the JSON fields parsed only when asked for, and
//! [`LazyRecord::to_record`] gives the full [`Record`] for the records that need it.
//!
//! The records of one query page share one buffer holding all their payloads back to back
//! (one allocation per page, not per record; a clone is a reference count).

use std::ops::Range;
use std::sync::Arc;

use super::event_view::{EventView, Layout};
use super::{PayloadError, Record};
use crate::timestamp::Timestamp;

/// A record borrowed from the bytes it is stored in.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// Position in the log.
    pub seq: u64,
    /// When the log accepted the event.
    pub recorded_at: Timestamp,
    /// The event, read in place.
    pub event: EventView<'a>,
}

impl RecordView<'_> {
    /// An owned copy that still reads its fields in place (one allocation).
    pub fn to_lazy(&self) -> LazyRecord {
        let payload = self.event.payload();
        LazyRecord {
            seq: self.seq,
            recorded_at: self.recorded_at,
            range: 0..payload.len(),
            bytes: Arc::new(payload.to_vec()),
            layout: self.event.layout(),
        }
    }

    /// The fully decoded record. Fails if a JSON text of the payload does not parse.
    pub fn to_record(&self) -> Result<Record, PayloadError> {
        Ok(Record {
            seq: self.seq,
            recorded_at: self.recorded_at,
            event: self.event.to_event()?,
        })
    }
}

/// A record that owns its encoded payload (shared with the other records of its page) and
/// decodes fields on access.
///
/// Equal to another when sequence number, time and payload bytes are equal (the payload
/// encoding is deterministic, so equal events have equal payloads).
#[derive(Clone, Debug)]
pub struct LazyRecord {
    seq: u64,
    recorded_at: Timestamp,
    /// The payload is `bytes[range]`.
    bytes: Arc<Vec<u8>>,
    range: Range<usize>,
    /// Where the fields of the payload lie, found when it was parsed.
    layout: Layout,
}

impl PartialEq for LazyRecord {
    fn eq(&self, other: &Self) -> bool {
        (self.seq, self.recorded_at, self.payload())
            == (other.seq, other.recorded_at, other.payload())
    }
}

impl Eq for LazyRecord {}

impl LazyRecord {
    /// A record from an encoded payload, checked as [`EventView::parse`] checks it.
    pub fn new(seq: u64, recorded_at: Timestamp, payload: Vec<u8>) -> Result<Self, PayloadError> {
        let layout = Layout::parse(&payload)?;
        Ok(LazyRecord {
            seq,
            recorded_at,
            range: 0..payload.len(),
            bytes: Arc::new(payload),
            layout,
        })
    }

    /// A record whose payload, already parsed into `layout`, is `bytes[range]`.
    pub fn in_shared(
        seq: u64,
        recorded_at: Timestamp,
        bytes: Arc<Vec<u8>>,
        range: Range<usize>,
        layout: Layout,
    ) -> Self {
        LazyRecord {
            seq,
            recorded_at,
            bytes,
            range,
            layout,
        }
    }

    /// Position in the log.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When the log accepted the event.
    pub fn recorded_at(&self) -> Timestamp {
        self.recorded_at
    }

    /// The event's fields, read in place (no walk over the payload, no allocation).
    pub fn event(&self) -> EventView<'_> {
        EventView::with_layout(self.payload(), self.layout)
    }

    /// The borrowed form of this record.
    pub fn view(&self) -> RecordView<'_> {
        RecordView {
            seq: self.seq,
            recorded_at: self.recorded_at,
            event: self.event(),
        }
    }

    /// The encoded payload (docs/FORMAT.md §3).
    pub fn payload(&self) -> &[u8] {
        // The range was taken from this buffer, which is never changed after.
        self.bytes.get(self.range.clone()).unwrap_or_default()
    }

    /// The fully decoded record. Fails if a JSON text of the payload does not parse.
    pub fn to_record(&self) -> Result<Record, PayloadError> {
        self.view().to_record()
    }
}
