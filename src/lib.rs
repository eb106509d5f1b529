//! auditlog: an append-only, tamper-evident storage engine for audit logs.

pub mod error;
pub mod merkle;
pub use error::{Corruption, CorruptionKind, Error, Result};
pub use merkle::{Frontier, ProofError, TreeHead};
