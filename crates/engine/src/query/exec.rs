//! Running a query over a snapshot: which records to examine, in which order.
//!
//! Segment by segment (in the query's order): skip it if its summary rules the query out;
//! otherwise take candidates from the actor and/or entity index (intersected when both are
//! named), or else the run of records the time index gives for the `recorded_at` range, or
//! else every record. Each candidate's frame is read in place (borrowed from the segment's
//! map), its `recorded_at` checked from the frame, its payload walked into an [`EventView`]
//! and checked against the whole query; nothing is allocated or decoded for a record that
//! does not match. What to build from a match is the caller's choice ([`Match`]).

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::event::{EventView, PayloadError, Record, RecordView};
use crate::index::IndexSet;
use crate::index::{Damaged, KeyIndex, Lookup, Posting, actor_key, entity_key};
use crate::query::field::{Field, Pattern};
use crate::query::filter::{Order, Query};
use crate::segment::Segment;
use crate::timestamp::Timestamp;
use crate::view::View;
use std::ops::ControlFlow;

/// Records read at a time when walking a run of records newest first.
const BACKWARD_BLOCK: u64 = 64;

/// How many postings ahead of the one being read are touched (see `FrameReader::postings`).
const TOUCH_AHEAD: usize = 8;

/// Bytes of a frame to touch when its length is not known yet: the sample events' size.
const TYPICAL_FRAME: usize = 384;

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

/// A record that matched, read in place from its segment.
pub(crate) struct Match<'a> {
    segment: &'a Segment,
    offset: u64,
    pub record: RecordView<'a>,
}

impl Match<'_> {
    /// The decoded record; a payload whose JSON does not parse is reported as damage at
    /// its place in the segment.
    pub(crate) fn to_record(&self) -> Result<Record> {
        self.record
            .to_record()
            .map_err(|e| bad_payload(self.segment, self.offset, self.record.seq, &e))
    }
}

fn bad_payload(segment: &Segment, offset: u64, seq: u64, e: &PayloadError) -> Error {
    Error::Corrupt(Box::new(Corruption {
        file: segment.path.clone(),
        offset,
        seq: Some(seq),
        kind: CorruptionKind::BadPayload(e.to_string()),
    }))
}

/// What a segment is about to hand over, told before its records are read so a caller
/// collecting them can allocate once (see [`for_each_match`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expected {
    /// Records that will be read (a few more than match at the edges of a time range).
    pub records: usize,
    /// Roughly the bytes of their payloads: the segment's mean frame size times `records`.
    pub payload_bytes: usize,
}

/// What [`for_each_match`] hands its records to.
pub(crate) trait Visitor {
    /// Told, segment by segment, how many records are about to be read when nearly all of
    /// them will match (see [`for_each_match`]). Ignored by default.
    fn expect(&mut self, _expected: Expected) {}

    /// Called with each matching record; breaking stops the query.
    fn visit(&mut self, m: &Match<'_>) -> Result<ControlFlow<()>>;
}

/// A closure visits every match and ignores what is expected.
impl<F: FnMut(&Match<'_>) -> Result<ControlFlow<()>>> Visitor for F {
    fn visit(&mut self, m: &Match<'_>) -> Result<ControlFlow<()>> {
        self(m)
    }
}

/// Hands each record in `[lo, hi)` matching `query` to `visitor`, in the query's order, until
/// it breaks.
///
/// When the query filters on nothing but what the plan already selected records by (a
/// `recorded_at` range, an actor, an entity), nearly every record read matches: the visitor
/// is then told, segment by segment, how many records are about to be read
/// ([`Visitor::expect`]), so it can allocate once. It is not told for other queries, whose
/// candidates may mostly fail the filter.
pub(crate) fn for_each_match(
    indexes: &IndexSet,
    view: &View,
    query: &Query,
    lo: u64,
    hi: u64,
    visitor: &mut impl Visitor,
) -> Result<()> {
    let candidates_match = query.indexes_select_all();
    // A query on `recorded_at` alone is decided by the check below, before the payload is
    // walked; the whole filter need not run again.
    let only_recorded = query.filters_only_recorded();
    // An exact actor is stored verbatim in the payload of every record of that actor (the
    // codec keeps strings as their UTF-8 bytes), so a payload without those bytes cannot
    // match and is passed over before it is walked. Index postings select such records
    // anyway; this pays where records are read in a run, as a read-only handle's first
    // query of the active segment reads them (`SlotRef::scan_unindexed`).
    let actor_bytes = query
        .actor
        .as_deref()
        .map(|actor| memchr::memmem::Finder::new(actor.as_bytes()));
    // Holds the frames of segments that are not mapped (active, cold); reused throughout.
    let mut scratch = Vec::new();
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
        let slot = indexes.slot(first);
        // A read-only handle's first query of the active segment checks its records
        // directly rather than building its index first (`SlotRef::scan_unindexed`).
        let unindexed = slot.scan_unindexed(indexes, segment);
        let plan = if unindexed {
            let (from, to) = (seg_lo - first, seg_hi - first);
            // The records of the query's actor that the open noted while scanning the
            // segment, if it was told to (segment/candidates.rs): the same records this run
            // would pass to `visit`, without reading the others again.
            segment
                .open_candidates()
                .and_then(|noted| noted.for_range(query.actor.as_deref(), from, to))
                .map_or(Plan::Run { from, to }, Plan::Postings)
        } else {
            let guard = slot.index(indexes, segment, view.end_seq)?;
            if !guard.lookup().summary().may_match(query) {
                continue;
            }
            match plan(guard.lookup(), query, seg_lo - first, seg_hi - first) {
                Ok(plan) => plan,
                // The file failed a check as it was read: answer from the segment's records.
                Err(Damaged) => {
                    drop(guard);
                    let guard = slot.rebuild(indexes, segment)?;
                    let index = guard.lookup();
                    if !index.summary().may_match(query) {
                        continue;
                    }
                    plan(index, query, seg_lo - first, seg_hi - first).map_err(|Damaged| {
                        Error::io(
                            format!("indexing {}", segment.path.display()),
                            std::io::Error::other("the rebuilt index failed its own checks"),
                        )
                    })?
                }
            }
        };
        // Not told for an unindexed run: its records are all of the segment's, not the
        // candidates of the query.
        if candidates_match && !unindexed {
            let records = match &plan {
                Plan::Postings(p) => p.len(),
                Plan::Run { from, to } => usize::try_from(to - from).unwrap_or(usize::MAX),
            };
            let mean_frame = segment
                .footer()
                .and_then(|f| f.records_end.checked_div(f.record_count))
                .map_or(TYPICAL_FRAME, |m| {
                    usize::try_from(m).unwrap_or(TYPICAL_FRAME)
                });
            visitor.expect(Expected {
                records,
                payload_bytes: records.saturating_mul(mean_frame),
            });
        }
        // Whether a record may match, from its time and payload bytes alone.
        let may_match = |recorded_at: i64, payload: &[u8]| {
            query.recorded.contains(recorded_at)
                && actor_bytes
                    .as_ref()
                    .is_none_or(|f| f.find(payload).is_some())
        };
        let mut visit = |offset: u64, seq: u64, recorded_at: i64, payload: &[u8]| {
            if !may_match(recorded_at, payload) {
                return Ok(ControlFlow::Continue(()));
            }
            let event =
                EventView::parse(payload).map_err(|e| bad_payload(segment, offset, seq, &e))?;
            let record = RecordView {
                seq,
                recorded_at: Timestamp::from_nanos(recorded_at),
                event,
            };
            match only_recorded || query.matches_view(&record) {
                true => visitor.visit(&Match {
                    segment,
                    offset,
                    record,
                }),
                false => Ok(ControlFlow::Continue(())),
            }
        };
        let mut reader = FrameReader {
            segment,
            scratch: &mut scratch,
            may_match: &may_match,
        };
        let flow = match plan {
            Plan::Postings(postings) => reader.postings(&postings, query.order, &mut visit)?,
            Plan::Run { from, to } => {
                reader.run(first + from, first + to, query.order, &mut visit)?
            }
        };
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

/// Chooses the records of one segment to examine, within record numbers `[from, to)`.
fn plan(index: &dyn Lookup, query: &Query, from: u64, to: u64) -> Result<Plan, Damaged> {
    let (mut from, mut to) = (from, to.min(index.records()));
    if query.recorded.since != i64::MIN
        && let Some(start) = index.time_start(query.recorded.since)?
    {
        from = from.max(u64::from(start.rel));
    }
    if query.recorded.until != i64::MAX {
        to = to.min(index.time_end(query.recorded.until)?);
    }
    let actor = match &query.actor {
        Some(a) => Some(index.postings(KeyIndex::Actor, actor_key(a))?),
        None => None,
    };
    let entity = match (&query.entity_kind, &query.entity_id) {
        (Some(kind), Some(id)) => Some(index.postings(KeyIndex::Entity, entity_key(kind, id))?),
        _ => None,
    };
    let mut postings = match (actor, entity) {
        (Some(a), Some(e)) => Some(intersect(&a, &e)),
        (Some(p), None) | (None, Some(p)) => Some(p),
        (None, None) => None,
    };
    // An OR-list of exact actors (`--actor a --actor b`) is served by the union of their
    // postings; every candidate is still checked against the whole filter.
    for filter in query
        .fields
        .iter()
        .filter(|f| matches!(f.field, Field::Actor) && !f.negated)
    {
        let Some(ids) = filter
            .any_of
            .iter()
            .map(Pattern::exact_value)
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let mut any = Vec::new();
        for id in ids {
            any = union(&any, &index.postings(KeyIndex::Actor, actor_key(id))?);
        }
        postings = Some(match postings {
            Some(p) => intersect(&p, &any),
            None => any,
        });
    }
    Ok(match postings {
        Some(mut p) => {
            p.retain(|p| (from..to).contains(&u64::from(p.rel)));
            Plan::Postings(p)
        }
        None => Plan::Run {
            from,
            to: to.max(from),
        },
    })
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

/// Postings in either sorted list, each once, still sorted.
fn union(a: &[Posting], b: &[Posting]) -> Vec<Posting> {
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(a.len() + b.len()));
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => match x.rel.cmp(&y.rel) {
                std::cmp::Ordering::Less => {
                    out.push(*x);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(*y);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(*x);
                    i += 1;
                    j += 1;
                }
            },
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (None, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (None, None) => return out,
        }
    }
}

/// Called with each frame read: offset, sequence number, `recorded_at`, payload.
type Visit<'a> = dyn FnMut(u64, u64, i64, &[u8]) -> Result<ControlFlow<()>> + 'a;

/// Reads frames of one segment in place.
struct FrameReader<'s> {
    segment: &'s Segment,
    scratch: &'s mut Vec<u8>,
    /// Whether a record may match the query, from its time and payload bytes: a run passes
    /// over the records that cannot without checking their frames again where the handle's
    /// open checked them (`Segment::checked_frame`).
    may_match: &'s dyn Fn(i64, &[u8]) -> bool,
}

impl FrameReader<'_> {
    /// Reads the frame of `seq` at `offset` and hands it to `visit`.
    fn visit_at(
        &mut self,
        offset: u64,
        seq: u64,
        visit: &mut Visit<'_>,
    ) -> Result<ControlFlow<()>> {
        let r = self.segment.frame(offset, seq, self.scratch)?;
        visit(offset, seq, r.recorded_at, r.payload)
    }

    /// The records at `postings`, in `order`.
    fn postings(
        &mut self,
        postings: &[Posting],
        order: Order,
        visit: &mut Visit<'_>,
    ) -> Result<ControlFlow<()>> {
        let ordered: Vec<&Posting> = match order {
            Order::OldestFirst => postings.iter().collect(),
            Order::NewestFirst => postings.iter().rev().collect(),
        };
        for (i, p) in ordered.iter().enumerate() {
            // Postings are scattered over the segment: each frame read waits on memory
            // (a page-table walk and a cache miss, from a warm page cache). Touching the
            // next few frames ahead lets those waits overlap.
            if i % TOUCH_AHEAD == 0 {
                let ahead = ordered.iter().skip(i + TOUCH_AHEAD).take(TOUCH_AHEAD);
                let touched = ahead.fold(0u8, |acc, p| {
                    acc ^ self.segment.touch(u64::from(p.offset), TYPICAL_FRAME)
                });
                std::hint::black_box(touched);
            }
            let seq = self.segment.first_seq() + u64::from(p.rel);
            // An index offset is a hint: if it does not hold the record, find it the slow way.
            let hint = u64::from(p.offset);
            let flow = match self.segment.frame(hint, seq, self.scratch) {
                Ok(r) => visit(hint, seq, r.recorded_at, r.payload)?,
                Err(_) => {
                    let offset = self.segment.offset_of(seq)?;
                    self.visit_at(offset, seq, visit)?
                }
            };
            if flow.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Reads records `from..to` (sequence numbers) in `order`.
    fn run(
        &mut self,
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
                let mut offset = self.segment.offset_of(from)?;
                for seq in from..to {
                    // A read-only handle's first query of its active segment reads every
                    // record of it; the open has just checked each frame's CRC, and those
                    // that cannot match are passed over as a sealed segment's records
                    // outside the index's candidates are (docs/DESIGN.md, "Reading the
                    // active segment read-only"). Every record visited is checked again.
                    if let Some(r) = self.segment.checked_frame(offset, seq)
                        && !(self.may_match)(r.recorded_at, r.payload)
                    {
                        offset += r.frame_len() as u64;
                        continue;
                    }
                    let r = self.segment.frame(offset, seq, self.scratch)?;
                    let next = offset + r.frame_len() as u64;
                    if visit(offset, seq, r.recorded_at, r.payload)?.is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                    offset = next;
                }
            }
            Order::NewestFirst => {
                // Frames can only be found walking forward: find the offsets of a block,
                // then visit it backwards.
                let mut top = to;
                let mut offsets = Vec::with_capacity(BACKWARD_BLOCK as usize);
                while top > from {
                    let start = top.saturating_sub(BACKWARD_BLOCK).max(from);
                    let mut offset = self.segment.offset_of(start)?;
                    offsets.clear();
                    for _ in start..top {
                        offsets.push(offset);
                        offset += self.segment.frame_len_at(offset)?;
                    }
                    for (seq, offset) in (start..top).rev().zip(offsets.iter().copied().rev()) {
                        if self.visit_at(offset, seq, visit)?.is_break() {
                            return Ok(ControlFlow::Break(()));
                        }
                    }
                    top = start;
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}
