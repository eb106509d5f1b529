//! What one row of the comparison asks of an engine.

/// How events are committed.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Events per commit (transaction, batch, fdatasync group).
    pub batch: usize,
    /// Concurrent producer threads (each commits its own events).
    pub producers: usize,
    /// Whether to also time the actor, count and time-range queries and the open after a
    /// crash.
    pub extras: bool,
}

/// Which actor the actor query looks for (one of the stored events' actors), and which
/// sequence window the time-range query covers, for query repetition `i`.
pub fn query_actor(events: &[auditlog::Event], i: usize) -> String {
    events
        .get((i * 7919 + 13) % events.len().max(1))
        .map_or_else(String::new, |e| e.actor.id.clone())
}

pub const RANGE_ROWS: usize = 1000;

/// Batch size of the log our queries run on (ours.rs): range starts are multiples of it, so
/// that a range between the `recorded_at` of two records holds whole batches (every record
/// of one append request shares its `recorded_at`).
pub const QUERY_BATCH: usize = 100;

pub fn range_start(i: usize, n: usize) -> usize {
    let at = (n.saturating_sub(RANGE_ROWS + QUERY_BATCH + 1)) * (i + 1) / (QUERY_REPEATS_PLUS + 1);
    at / QUERY_BATCH * QUERY_BATCH
}

/// Query repetitions including the warm-up (measure::median_query): each gets its own range.
const QUERY_REPEATS_PLUS: usize = crate::measure::QUERY_REPEATS + 1;
