//! Live tail: records matching a query, from a given sequence number on, as they commit.
//!
//! [`Subscription`] is a blocking iterator; [`RecordStream`] is its async-friendly twin with
//! a `poll_next` in the shape of `futures::Stream` and a `next()` future, needing no runtime:
//! the writer's publish wakes it. Both deliver every committed matching record exactly once,
//! in sequence order, because they remember the next sequence number to read and sequence
//! numbers never change. Both end (`None`) once the log has been closed and dropped.

use crate::error::{Error, Result};
use crate::event::Record;
use crate::follow::Feed;
use crate::query::Query;
use crate::reader::RecordIter;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Records read per refill: bounds the memory a far-behind subscriber holds.
const REFILL_RECORDS: u64 = 1024;
/// How often a blocked subscriber re-checks whether the log is gone.
const LIVENESS_CHECK: Duration = Duration::from_millis(200);

/// The state both tail flavours share: what to match and where to continue.
#[derive(Debug)]
struct Tail {
    feed: Weak<Feed>,
    query: Query,
    next_seq: u64,
    ready: VecDeque<Record>,
    failed: bool,
}

enum Step {
    Record(Box<Result<Record>>),
    /// Nothing new committed past this end.
    Wait(Arc<Feed>, u64),
    Closed,
}

impl Tail {
    /// Reads what is committed (a bounded batch) without blocking.
    fn step(&mut self) -> Step {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Step::Record(Box::new(Ok(record)));
            }
            if self.failed {
                return Step::Closed;
            }
            let Some(feed) = self.feed.upgrade() else {
                return Step::Closed;
            };
            let view = feed.snapshot();
            // Records removed by retention are gone: continue from the oldest one held.
            let from = self.next_seq.max(view.first_seq);
            if from >= view.end_seq {
                return Step::Wait(feed, view.end_seq);
            }
            let to = view.end_seq.min(from.saturating_add(REFILL_RECORDS));
            for record in RecordIter::new(view, from..to) {
                match record {
                    Ok(record) => {
                        self.next_seq = record.seq + 1;
                        if self.query.matches(&record) {
                            self.ready.push_back(record);
                        }
                    }
                    Err(e) => {
                        self.failed = true;
                        return Step::Record(Box::new(Err(e)));
                    }
                }
            }
        }
    }
}

/// A blocking iterator over records matching a query, live: [`next`](Iterator::next) waits
/// for the next matching record to commit. Yields `Err` once if a record cannot be read, then
/// ends; ends when the log is dropped.
#[derive(Debug)]
pub struct Subscription {
    tail: Tail,
}

impl Subscription {
    /// The next matching record, waiting at most `timeout`: `Ok(None)` if none committed in
    /// time, `Err(Error::Closed)` once the log is dropped.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Record>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.tail.step() {
                Step::Record(r) => return r.map(Some),
                Step::Closed => return Err(Error::Closed),
                Step::Wait(feed, end) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    // A read-only handle follows a writer in another process by polling.
                    feed.wait_for_records(end, left.min(LIVENESS_CHECK));
                }
            }
        }
    }

    /// The sequence number the subscription reads next.
    pub fn next_seq(&self) -> u64 {
        self.tail.next_seq
    }
}

impl Iterator for Subscription {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_timeout(LIVENESS_CHECK) {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => {}
                Err(Error::Closed) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// An async stream of records matching a query, live. Poll it with
/// [`poll_next`](Self::poll_next) (the `futures::Stream` signature, so wrapping it in a
/// `Stream` impl is one line) or await [`next_record`](Self::next_record). No runtime is needed: the
/// writer wakes the task when records commit. Reading a batch of committed records happens
/// inside the poll (it is bounded and hits the page cache or mmap).
#[derive(Debug)]
pub struct RecordStream {
    tail: Tail,
}

impl RecordStream {
    /// `Ready(Some(record))` for the next matching record, `Pending` until one commits,
    /// `Ready(None)` once the log is dropped (or after yielding a read error).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Record>>> {
        loop {
            match self.tail.step() {
                Step::Record(r) => return Poll::Ready(Some(*r)),
                Step::Closed => return Poll::Ready(None),
                Step::Wait(feed, end) => {
                    feed.ensure_follower();
                    if !feed.published.wake_when_past(end, cx.waker()) {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// A future resolving to the next item of the stream.
    pub fn next_record(&mut self) -> NextRecord<'_> {
        NextRecord { stream: self }
    }

    /// The sequence number the stream reads next.
    pub fn next_seq(&self) -> u64 {
        self.tail.next_seq
    }
}

/// The future of [`RecordStream::next_record`].
#[derive(Debug)]
pub struct NextRecord<'a> {
    stream: &'a mut RecordStream,
}

impl Future for NextRecord<'_> {
    type Output = Option<Result<Record>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.stream.poll_next(cx)
    }
}

impl Tail {
    fn new(feed: &Arc<Feed>, query: &Query, from_seq: u64) -> Self {
        Tail {
            feed: Arc::downgrade(feed),
            query: query.clone(),
            next_seq: from_seq,
            ready: VecDeque::new(),
            failed: false,
        }
    }
}

impl Subscription {
    /// A subscription to `feed` (see [`LogReader::subscribe`](crate::LogReader::subscribe)).
    pub(crate) fn new(feed: &Arc<Feed>, query: &Query, from_seq: u64) -> Self {
        Subscription {
            tail: Tail::new(feed, query, from_seq),
        }
    }
}

impl RecordStream {
    /// A stream of `feed` (see [`LogReader::stream`](crate::LogReader::stream)).
    pub(crate) fn new(feed: &Arc<Feed>, query: &Query, from_seq: u64) -> Self {
        RecordStream {
            tail: Tail::new(feed, query, from_seq),
        }
    }
}
