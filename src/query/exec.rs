//! Running a query over a snapshot: which records to examine, in which order.
//!
//! Segment by segment (in the query's order): skip it if its summary rules the query out;
//! otherwise take candidates from the actor and/or entity index (intersected when both are
//! named), or else the run of records the time index gives for the `recorded_at` range, or
//! else every record. Each candidate's frame is read, its `recorded_at` checked before the
//! event is decoded, and the decoded record checked against the whole query.

use crate::error::Result;
use crate::event::Record;
use crate::index::{KeyIndex, Lookup, Posting, actor_key, entity_key};
use crate::log::AuditLog;
use crate::query::filter::{Order, Query};
use crate::reader::decode_record;
use crate::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN};
use crate::segment::{Segment, StoredRecord};
use crate::view::View;
use std::ops::ControlFlow;

/// Records read at a time when walking a run of records newest first.
const BACKWARD_BLOCK: u64 = 64;

/// The sequence range `[lo, hi)` a query examines: the committed records, narrowed by its
/// cursor (which must belong to this query).
pub(crate) fn seq_range(query: &Query, fingerprint: u64, view: &View) -> Result<(u64, u64)> {
    match &query.after {
        Some(cursor) => {
            cursor.check(query.order, fingerprint)?;
            let (lo, hi) = cursor.remaining(view.first_seq, view.end_seq);
            Ok((lo, hi.max(lo)))
        }
        None => Ok((view.first_seq, view.end_seq)),
    }
}

/// Which records of one segment to examine.
enum Plan {
    /// These records (ascending), from the key indexes.
    Postings(Vec<Posting>),
    /// Every record numbered `from..to` within the segment.
    Run { from: u64, to: u64 },
}

/// Calls `f` with each record in `[lo, hi)` matching `query`, in the query's order, until `f`
/// breaks.
pub(crate) fn for_each_match(
    log: &AuditLog,
    view: &View,
    query: &Query,
    lo: u64,
    hi: u64,
    mut f: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<()> {
    let mut segments: Vec<_> = view.segments.iter().collect();
    if query.order == Order::NewestFirst {
        segments.reverse();
    }
    for segment in segments {
        let first = segment.first_seq();
        let end = segment
            .footer()
            .map_or(view.end_seq, |f| f.first_seq + f.record_count);
        let (seg_lo, seg_hi) = (lo.max(first), hi.min(end));
        if seg_lo >= seg_hi {
            continue;
        }
        // The footer's time bounds rule a segment out before its index is even loaded.
        if let Some(footer) = segment.footer()
            && !query
                .recorded
                .overlaps(footer.first_recorded_at, footer.last_recorded_at)
        {
            continue;
        }
        let plan = {
            let slot = log.index_slot(first);
            let guard = slot.index(log.shared(), segment, view.end_seq)?;
            let index = guard.lookup();
            if !index.summary().may_match(query) {
                continue;
            }
            plan(index, query, seg_lo - first, seg_hi - first)
        };
        let mut visit = |stored: StoredRecord| -> Result<ControlFlow<()>> {
            if !query.recorded.contains(stored.recorded_at) {
                return Ok(ControlFlow::Continue(()));
            }
            let record = decode_record(segment, stored)?;
            Ok(if query.matches(&record) {
                f(record)
            } else {
                ControlFlow::Continue(())
            })
        };
        let flow = match plan {
            Plan::Postings(postings) => read_postings(segment, &postings, query.order, &mut visit)?,
            Plan::Run { from, to } => {
                read_run(segment, first + from, first + to, query.order, &mut visit)?
            }
        };
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

/// Chooses the records of one segment to examine, within record numbers `[from, to)`.
fn plan(index: &dyn Lookup, query: &Query, from: u64, to: u64) -> Plan {
    let (mut from, mut to) = (from, to.min(index.records()));
    if query.recorded.since != i64::MIN
        && let Some(start) = index.time_start(query.recorded.since)
    {
        from = from.max(u64::from(start.rel));
    }
    if query.recorded.until != i64::MAX {
        to = to.min(index.time_end(query.recorded.until));
    }
    let actor = query
        .actor
        .as_ref()
        .map(|a| index.postings(KeyIndex::Actor, actor_key(a)));
    let entity = match (&query.entity_kind, &query.entity_id) {
        (Some(kind), Some(id)) => Some(index.postings(KeyIndex::Entity, entity_key(kind, id))),
        _ => None,
    };
    let postings = match (actor, entity) {
        (Some(a), Some(e)) => Some(intersect(&a, &e)),
        (Some(p), None) | (None, Some(p)) => Some(p),
        (None, None) => None,
    };
    match postings {
        Some(mut p) => {
            p.retain(|p| (from..to).contains(&u64::from(p.rel)));
            Plan::Postings(p)
        }
        None => Plan::Run {
            from,
            to: to.max(from),
        },
    }
}

/// Postings in both sorted lists.
fn intersect(a: &[Posting], b: &[Posting]) -> Vec<Posting> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.rel.cmp(&y.rel) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(*x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

type Visit<'a> = dyn FnMut(StoredRecord) -> Result<ControlFlow<()>> + 'a;

fn read_postings(
    segment: &Segment,
    postings: &[Posting],
    order: Order,
    visit: &mut Visit<'_>,
) -> Result<ControlFlow<()>> {
    let mut read = |p: &Posting| -> Result<ControlFlow<()>> {
        let seq = segment.first_seq() + u64::from(p.rel);
        // An index offset is a hint: if it does not hold the record, find it the slow way.
        let stored = match segment.read_frame(u64::from(p.offset), seq) {
            Ok(stored) => stored,
            Err(_) => segment.read_frame(segment.offset_of(seq)?, seq)?,
        };
        visit(stored)
    };
    let ordered: Box<dyn Iterator<Item = &Posting>> = match order {
        Order::OldestFirst => Box::new(postings.iter()),
        Order::NewestFirst => Box::new(postings.iter().rev()),
    };
    for p in ordered {
        if read(p)?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Reads records `from..to` (sequence numbers) of `segment` in `order`.
fn read_run(
    segment: &Segment,
    from: u64,
    to: u64,
    order: Order,
    visit: &mut Visit<'_>,
) -> Result<ControlFlow<()>> {
    if from >= to {
        return Ok(ControlFlow::Continue(()));
    }
    match order {
        Order::OldestFirst => {
            let mut offset = segment.offset_of(from)?;
            for seq in from..to {
                let stored = segment.read_frame(offset, seq)?;
                offset += frame_len(&stored);
                if visit(stored)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Order::NewestFirst => {
            let mut top = to;
            while top > from {
                let start = top.saturating_sub(BACKWARD_BLOCK).max(from);
                let mut offset = segment.offset_of(start)?;
                let mut block = Vec::with_capacity((top - start) as usize);
                for seq in start..top {
                    let stored = segment.read_frame(offset, seq)?;
                    offset += frame_len(&stored);
                    block.push(stored);
                }
                for stored in block.into_iter().rev() {
                    if visit(stored)?.is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                top = start;
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

fn frame_len(stored: &StoredRecord) -> u64 {
    (FRAME_HEADER_LEN + BODY_FIXED_LEN + stored.payload.len()) as u64
}
