//! auditlog: an append-only, tamper-evident storage engine for audit logs.

pub mod error;
pub mod event;
pub mod timestamp;

pub use error::{Corruption, CorruptionKind, Error, Result};
pub use event::{Actor, Entity, Event, EventLimits, Outcome, Record, Severity};
pub use timestamp::Timestamp;
