//! Queries: filtered, ordered, paginated reads; counts; aggregations.
//!
//! [`Query`] says what to find. [`LogReader::query`] returns a [`QueryPage`] of decoded
//! records and a [`Cursor`] for the next page; [`LogReader::query_lazy`] returns the same
//! page as [`LazyRecord`]s, whose fields are read in place from their encoded payload
//! (much cheaper when a caller shows a few fields of many records);
//! [`LogReader::count`] and [`LogReader::aggregate`] return counts.
//! Each call reads one consistent snapshot of the committed log, concurrently with the writer:
//! records committed while a call runs are not seen by that call (they are by the next page).
//!
//! The executor (`exec.rs`) chooses, segment by segment, which records to examine: it skips
//! segments whose summary rules a query out and reads candidates from the actor, entity and
//! time indexes when the query names an actor, an entity or a `recorded_at` range. Every
//! candidate is read in place ([`EventView`](crate::event::EventView): nothing decoded or
//! allocated) and checked against the whole query, so the indexes can only make a
//! query faster, never change its answer.
//!
//! [`LogReader::query`]: crate::LogReader::query
//! [`LogReader::query_lazy`]: crate::LogReader::query_lazy
//! [`LogReader::count`]: crate::LogReader::count
//! [`LogReader::aggregate`]: crate::LogReader::aggregate

mod aggregate;
mod cursor;
mod exec;
mod field;
mod filter;
mod skip;

pub use aggregate::{Aggregation, GroupBy, GroupKey};
pub use cursor::Cursor;
pub(crate) use field::FieldText;
pub use field::{Field, JsonField, Pattern};
pub(crate) use filter::{ActionFilter, SeverityFilter};
pub use filter::{Order, Query, TimeField};

use crate::error::Result;
use crate::event::Layout;
use crate::event::{LazyRecord, Record};
use crate::index::IndexSet;
use crate::timestamp::Timestamp;
use crate::view::View;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

/// One page of a query's results: decoded [`Record`]s from
/// [`LogReader::query`](crate::LogReader::query), or [`LazyRecord`]s (fields read in place)
/// from [`LogReader::query_lazy`](crate::LogReader::query_lazy).
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

/// One page of `query`'s matches in `view` (see [`LogReader::query`](crate::LogReader::query)).
pub(crate) fn page(indexes: &IndexSet, view: &View, query: &Query) -> Result<QueryPage> {
    page_into(indexes, view, query, Decoded)
}

/// As [`page`], of [`LazyRecord`]s (see
/// [`LogReader::query_lazy`](crate::LogReader::query_lazy)).
pub(crate) fn page_lazy(
    indexes: &IndexSet,
    view: &View,
    query: &Query,
) -> Result<QueryPage<LazyRecord>> {
    let mut lazy = Lazy { bytes: Vec::new() };
    let page = page_into(indexes, view, query, &mut lazy)?;
    // The page's payloads were copied back to back into one buffer, shared by its records.
    let bytes = Arc::new(lazy.bytes);
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

fn page_into<C: Collect>(
    indexes: &IndexSet,
    view: &View,
    query: &Query,
    collect: C,
) -> Result<QueryPage<C::Item>> {
    let fingerprint = query.fingerprint();
    let (lo, hi) = exec::seq_range(query, fingerprint, view)?;
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut page = PageCollector {
        records: Vec::new(),
        last_seq: None,
        limit,
        collect,
    };
    if limit > 0 {
        exec::for_each_match(indexes, view, query, lo, hi, &mut page)?;
    }
    let PageCollector {
        records, last_seq, ..
    } = page;
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
pub(crate) fn count(indexes: &IndexSet, view: &View, query: &Query) -> Result<u64> {
    let (lo, hi) = exec::seq_range(query, query.fingerprint(), view)?;
    let mut n = 0u64;
    exec::for_each_match(indexes, view, query, lo, hi, &mut |_: &exec::Match<'_>| {
        n += 1;
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(n)
}

/// Counts the records matching `query`'s filters (after its cursor, if any), grouped by
/// `by`, ignoring its limit.
pub(crate) fn aggregate(
    indexes: &IndexSet,
    view: &View,
    query: &Query,
    by: GroupBy,
) -> Result<Aggregation> {
    let (lo, hi) = exec::seq_range(query, query.fingerprint(), view)?;
    let mut counter = aggregate::Counter::new(by);
    exec::for_each_match(indexes, view, query, lo, hi, &mut |m: &exec::Match<'_>| {
        counter.add(&m.record);
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(counter.finish())
}

/// [`aggregate`] for several groupings in one pass over the matches.
pub(crate) fn aggregate_many(
    indexes: &IndexSet,
    view: &View,
    query: &Query,
    by: &[GroupBy],
) -> Result<Vec<Aggregation>> {
    let (lo, hi) = exec::seq_range(query, query.fingerprint(), view)?;
    let mut counters: Vec<_> = by.iter().map(|b| aggregate::Counter::new(*b)).collect();
    exec::for_each_match(indexes, view, query, lo, hi, &mut |m: &exec::Match<'_>| {
        for counter in &mut counters {
            counter.add(&m.record);
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(counters
        .into_iter()
        .map(aggregate::Counter::finish)
        .collect())
}

/// What a page is made of: how each match becomes a page item.
trait Collect {
    type Item;

    /// About `records` records with about `payload_bytes` bytes of payload are coming.
    fn reserve(&mut self, _records: usize, _payload_bytes: usize) {}

    /// The page item for one match.
    fn build(&mut self, m: &exec::Match<'_>) -> Result<Self::Item>;
}

impl<C: Collect> Collect for &mut C {
    type Item = C::Item;

    fn reserve(&mut self, records: usize, payload_bytes: usize) {
        (**self).reserve(records, payload_bytes);
    }

    fn build(&mut self, m: &exec::Match<'_>) -> Result<Self::Item> {
        (**self).build(m)
    }
}

/// Pages of decoded [`Record`]s.
struct Decoded;

impl Collect for Decoded {
    type Item = Record;

    fn build(&mut self, m: &exec::Match<'_>) -> Result<Record> {
        m.to_record()
    }
}

/// Pages of [`LazyRecord`]s: each payload copied to the end of one buffer, the record's
/// place in it noted (the records are made once the buffer is complete and can be shared).
struct Lazy {
    bytes: Vec<u8>,
}

/// A [`LazyRecord`] before its page's buffer is shared: sequence number, time, where its
/// payload lies in the buffer, and where its fields lie in the payload.
type LazyParts = (u64, Timestamp, Range<usize>, Layout);

impl Collect for Lazy {
    type Item = LazyParts;

    fn reserve(&mut self, _records: usize, payload_bytes: usize) {
        self.bytes.reserve(payload_bytes);
    }

    fn build(&mut self, m: &exec::Match<'_>) -> Result<LazyParts> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(m.record.event.payload());
        Ok((
            m.record.seq,
            m.record.recorded_at,
            start..self.bytes.len(),
            m.record.event.layout(),
        ))
    }
}

/// Collects one page: at most `limit` items, noting the last sequence number taken.
struct PageCollector<C: Collect> {
    records: Vec<C::Item>,
    last_seq: Option<u64>,
    limit: usize,
    collect: C,
}

impl<C: Collect> exec::Visitor for PageCollector<C> {
    fn expect(&mut self, expected: exec::Expected) {
        // Never more than the page can still take.
        let room = self.limit.saturating_sub(self.records.len());
        let records = expected.records.min(room);
        let bytes = match records < expected.records {
            true => expected.payload_bytes / expected.records.max(1) * records,
            false => expected.payload_bytes,
        };
        self.records.reserve(records);
        self.collect.reserve(records, bytes);
    }

    fn visit(&mut self, m: &exec::Match<'_>) -> Result<ControlFlow<()>> {
        self.records.push(self.collect.build(m)?);
        self.last_seq = Some(m.record.seq);
        Ok(match self.records.len() >= self.limit {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        })
    }
}
