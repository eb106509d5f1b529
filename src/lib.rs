//! auditlog: an append-only, tamper-evident storage engine for audit logs.

pub mod error;
pub mod timestamp;

pub use error::{Corruption, CorruptionKind, Error, Result};
pub use timestamp::Timestamp;
