//! The bytes of an auditlog log, and nothing else.
//!
//! What a log directory holds, byte for byte, as docs/FORMAT.md describes it: the event payload
//! codec ([`event`]), record frames ([`record`]), segment header, footer, names and scan
//! ([`segment`]), cold segments ([`cold`]) and their dictionaries ([`dictionary`]), the cut log
//! ([`cuts`]), the retention-class manifest ([`classes`]), signed checkpoints ([`checkpoint`]),
//! the log's metadata file ([`meta`]), Merkle hashing and proofs ([`merkle`]), and the narrow
//! file-system interface every durable write goes through ([`fs`]).
//!
//! This crate must never depend on the engine (`auditlog`), on the verifier, or on anything
//! with threads or writer state: an auditor's verifier is built on it alone, and CI
//! (`.ci/layering`) fails if it gains such a dependency.

pub mod bundle;
pub mod checkpoint;
pub mod classes;
pub mod cold;
pub mod cuts;
pub mod dictionary;
pub mod error;
pub mod event;
pub mod fs;
pub mod merkle;
pub mod meta;
pub mod record;
pub mod sample;
pub mod segment;
#[allow(unsafe_code)]
pub mod sys;
pub mod timestamp;

pub use error::{Corruption, CorruptionKind, Error, HeaderFault, Result};
