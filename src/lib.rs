//! auditlog: an append-only, tamper-evident storage engine for audit logs.

pub mod error;
pub use error::{Corruption, CorruptionKind, Error, Result};
