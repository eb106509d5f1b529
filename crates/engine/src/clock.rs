//! The engine's clock, which assigns `recorded_at`.
//!
//! `recorded_at` never decreases within a log: the writer takes the maximum of the clock and
//! the previous record's time, so a system clock stepping back cannot reorder time. Tests
//! substitute their own [`Clock`] to step time at will.

use crate::timestamp::Timestamp;
use std::fmt;

/// A source of wall-clock time for `recorded_at`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
