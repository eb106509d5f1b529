//! What one row of the comparison asks of an engine.

/// How events are committed.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Events per commit (transaction, batch, fdatasync group).
    pub batch: usize,
    /// Concurrent producer threads (each commits its own events).
    pub producers: usize,
    /// Whether to also time the actor and time-range queries and the open after a crash.
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

pub fn range_start(i: usize, n: usize) -> usize {
    (n.saturating_sub(RANGE_ROWS + 1)) * (i + 1) / 7
}
