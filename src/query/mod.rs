//! Queries: filtered, ordered, paginated reads; counts; aggregations.
//!
//! [`Query`] says what to find. [`AuditLog::query`] returns a [`QueryPage`] of decoded
//! records and a [`Cursor`] for the next page; [`AuditLog::query_lazy`] returns the same
//! page as [`LazyRecord`]s, whose fields are read in place from their encoded payload
//! (much cheaper when a caller shows a few fields of many records);
//! [`AuditLog::count`] and [`AuditLog::aggregate`] return counts.
//! Each call reads one consistent snapshot of the committed log, concurrently with the writer:
//! records committed while a call runs are not seen by that call (they are by the next page).
//!
//! The executor (`exec.rs`) chooses, segment by segment, which records to examine: it skips
//! segments whose summary rules a query out and reads candidates from the actor, entity and
//! time indexes when the query names an actor, an entity or a `recorded_at` range. Every
//! candidate is read in place ([`EventView`](crate::event::EventView): nothing decoded or
//! allocated) and checked against the whole query, so the indexes can only make a
//! query faster, never change its answer.

mod aggregate;
mod cursor;
mod exec;
mod fields;
mod filter;

pub use aggregate::{Aggregation, GroupBy, GroupKey};
pub use cursor::Cursor;
pub(crate) use fields::Fields;
pub(crate) use filter::{ActionFilter, SeverityFilter};
pub use filter::{Order, Query, TimeField};

use crate::error::Result;
use crate::event::{LazyRecord, Record};
use crate::log::AuditLog;
use std::ops::ControlFlow;
use std::sync::Arc;

/// One page of a query's results: decoded [`Record`]s from [`AuditLog::query`], or
/// [`LazyRecord`]s (fields read in place) from [`AuditLog::query_lazy`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage<R = Record> {
    /// Matching records, in the query's order, at most its limit.
    pub records: Vec<R>,
    /// Where the next page starts: pass it to [`Query::after`]. Always present, so an
    /// oldest-first query can poll for records appended later.
    pub cursor: Cursor,
    /// Whether the page stopped at the limit (more records may match). When false, every
    /// matching record committed when the call started has been returned.
    pub has_more: bool,
}

impl AuditLog {
    /// Runs `query` over the committed records: one page of at most `query`'s limit, in its
    /// order, after its cursor if it has one.
    ///
    /// Fails with [`Error::InvalidCursor`](crate::Error::InvalidCursor) if the cursor came from
    /// a query with other filters or another order, and with a corruption error if a record
    /// that must be read is damaged. Damaged or missing index files are never an error: they
    /// are rebuilt from their segment.
    pub fn query(&self, query: &Query) -> Result<QueryPage> {
        self.query_into(query, |m| m.to_record())
    }

    /// As [`AuditLog::query`], but the records keep their encoded payload and read fields in
    /// place ([`LazyRecord::event`]), decoding JSON only when asked: several times cheaper
    /// per record when a caller shows a few fields (a list, a dashboard). The same records,
    /// in the same order, with the same cursor; [`LazyRecord::to_record`] gives the
    /// [`Record`] [`AuditLog::query`] would have returned.
    ///
    /// Unlike [`AuditLog::query`], a record whose payload holds JSON that does not parse
    /// (damage that escaped the frame checksum) is returned, and reported when its JSON is
    /// asked for.
    pub fn query_lazy(&self, query: &Query) -> Result<QueryPage<LazyRecord>> {
        // The page's payloads are copied back to back into one buffer, shared by its records.
        let mut bytes = Vec::new();
        let page = self.query_into(query, |m| {
            let start = bytes.len();
            bytes.extend_from_slice(m.record.event.payload());
            Ok((
                m.record.seq,
                m.record.recorded_at,
                start..bytes.len(),
                m.record.event.layout(),
            ))
        })?;
        let bytes = Arc::new(bytes);
        let records = page.records.into_iter();
        Ok(QueryPage {
            records: records
                .map(|(seq, at, range, layout)| {
                    LazyRecord::in_shared(seq, at, bytes.clone(), range, layout)
                })
                .collect(),
            cursor: page.cursor,
            has_more: page.has_more,
        })
    }

    fn query_into<R>(
        &self,
        query: &Query,
        mut build: impl FnMut(&exec::Match<'_>) -> Result<R>,
    ) -> Result<QueryPage<R>> {
        let view = self.view();
        let fingerprint = query.fingerprint();
        let (lo, hi) = exec::seq_range(query, fingerprint, &view)?;
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut records = Vec::new();
        let mut last_seq = None;
        if limit > 0 {
            exec::for_each_match(self, &view, query, lo, hi, |m| {
                records.push(build(m)?);
                last_seq = Some(m.record.seq);
                Ok(match records.len() >= limit {
                    true => ControlFlow::Break(()),
                    false => ControlFlow::Continue(()),
                })
            })?;
        }
        let has_more = records.len() >= limit;
        let position = match (query.order, last_seq) {
            (Order::OldestFirst, Some(last)) if has_more => last + 1,
            (Order::NewestFirst, Some(last)) if has_more => last,
            // Nothing more matched below `hi` (above `lo`): continue from the edge examined.
            (Order::OldestFirst, _) if !has_more => hi,
            (Order::NewestFirst, _) if !has_more => lo,
            // A limit of zero examines nothing.
            (Order::OldestFirst, _) => lo,
            (Order::NewestFirst, _) => hi,
        };
        let cursor = Cursor {
            position,
            order: query.order,
            fingerprint,
        };
        Ok(QueryPage {
            records,
            cursor,
            has_more,
        })
    }

    /// Counts the records matching `query`'s filters (after its cursor, if any), ignoring its
    /// limit. Records are checked in place: nothing is decoded or allocated per record.
    pub fn count(&self, query: &Query) -> Result<u64> {
        let view = self.view();
        let (lo, hi) = exec::seq_range(query, query.fingerprint(), &view)?;
        let mut n = 0u64;
        exec::for_each_match(self, &view, query, lo, hi, |_| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(n)
    }

    /// Counts the records matching `query`'s filters (after its cursor, if any), grouped by
    /// `by`, ignoring its limit.
    pub fn aggregate(&self, query: &Query, by: GroupBy) -> Result<Aggregation> {
        let view = self.view();
        let (lo, hi) = exec::seq_range(query, query.fingerprint(), &view)?;
        let mut counter = aggregate::Counter::new(by);
        exec::for_each_match(self, &view, query, lo, hi, |m| {
            counter.add(&m.record);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(counter.finish())
    }
}
