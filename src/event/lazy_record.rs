//! Records whose event stays encoded: [`RecordView`] (borrowed) and [`LazyRecord`] (owned).
//!
//! A query that returns a thousand [`Record`]s spends most of its time building them: some
//! fifteen `String`s and three JSON trees each. A dashboard listing those records shows a
//! handful of fields. A [`LazyRecord`] keeps the payload bytes (one allocation) and where its
//! fields lie, found once while the query filtered it; fields are read in place through
//! [`LazyRecord::event`], the JSON fields parsed only when asked for, and
//! [`LazyRecord::to_record`] gives the full [`Record`] for the records that need it.

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
        LazyRecord {
            seq: self.seq,
            recorded_at: self.recorded_at,
            payload: self.event.payload().into(),
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

/// A record that owns its encoded payload and decodes fields on access.
///
/// Equal to another when sequence number, time and payload bytes are equal (the payload
/// encoding is deterministic, so equal events have equal payloads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LazyRecord {
    seq: u64,
    recorded_at: Timestamp,
    payload: Box<[u8]>,
    /// Where the fields of `payload` lie, found when it was parsed.
    layout: Layout,
}

impl LazyRecord {
    /// A record from an encoded payload, checked as [`EventView::parse`] checks it.
    pub fn new(seq: u64, recorded_at: Timestamp, payload: Vec<u8>) -> Result<Self, PayloadError> {
        let layout = Layout::parse(&payload)?;
        Ok(LazyRecord {
            seq,
            recorded_at,
            payload: payload.into_boxed_slice(),
            layout,
        })
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
        EventView::with_layout(&self.payload, self.layout)
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
        &self.payload
    }

    /// The fully decoded record. Fails if a JSON text of the payload does not parse.
    pub fn to_record(&self) -> Result<Record, PayloadError> {
        self.view().to_record()
    }
}
