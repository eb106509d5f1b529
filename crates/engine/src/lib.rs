//! The auditlog engine: an append-only, tamper-evident log of audit events, embedded in the
//! service that produces them.
//!
//! Events go into a segmented write-ahead log whose records form a BLAKE3 Merkle tree; every
//! root can be recomputed from the segment files alone. This crate is the part that runs
//! beside the service: the writer (group commit, back-pressure, one `fdatasync` per group),
//! readers and followers, recovery of a torn tail, the time/actor/entity indexes and queries,
//! checkpoint signing, proofs, and the lifecycle of sealed segments (cold compression,
//! archiving, retention, maintenance).
//!
//! ```no_run
//! use auditlog::{AuditLog, Event, Severity};
//!
//! # fn main() -> Result<(), auditlog::Error> {
//! let log = AuditLog::open("/var/lib/myservice/audit")?;
//! let receipt = log
//!     .append(&Event::new("user:42", "login").severity(Severity::Low))?
//!     .wait()?; // durable once this returns (or `.await` it)
//! println!("record {} is in the tree of size {}", receipt.seq, receipt.tree_size);
//! let report = auditlog::verify(log.dir(), &auditlog::VerifyOptions::default())?;
//! assert!(report.ok);
//! # Ok(()) }
//! ```
//!
//! The API is what the root re-exports, plus modules with a reason to be public:
//! [`checkpoint`] (signing keys and signed tree heads), [`classes`] (one sub-log per retention
//! class, for retention by severity), [`query`] (filters and cursors),
//! [`proof`] (inclusion and consistency proofs), [`lifecycle`] (compaction, archiving,
//! retention and their policies), [`verify`](mod@verify) (what to do with index files), [`merkle`] (tree
//! heads and checking proofs) and [`fs`] (the file-system interface every durable write goes
//! through, for embedders that must inject faults).
//!
//! Layering: the engine is built on `auditlog-format` (the bytes) and `auditlog-verify` (the
//! checks it shares with an auditor). It must never be a dependency of either, and never
//! depend on a command-line parser or a server: those are crates above it.

// The README's examples are compiled and run as doctests of the engine.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

// The format's modules, under the paths the engine's modules use for them. `fs` (the file
// system every durable write goes through, for embedders that inject faults) and `merkle`
// (tree heads and proof checking) are part of the API; the rest are the format's business.
pub use auditlog_format::fs;
pub(crate) use auditlog_format::{event, meta, record, sys, timestamp};

pub mod checkpoint;
pub mod classes;
mod clock;
pub mod csv;
mod error;
mod follow;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod index;
pub mod lifecycle;
mod lock;
mod log;
pub mod merkle;
mod options;
pub mod privacy;
pub mod proof;
pub mod query;
mod queue;
mod reader;
mod receipt;
mod recovery;
mod room;
mod segment;
mod tail;
pub mod verify;
mod view;
mod writer;

pub use clock::{Clock, SystemClock};
pub use error::{AppendError, Corruption, CorruptionKind, Error, HeaderFault, OpenError, Result};
pub use event::{
    Actor, EVENT_KEYS, Entity, EntityView, Event, EventLimits, EventView, JsonText, LazyRecord,
    Outcome, Record, Severity, json_error_hint,
};
pub use index::ReindexReport;
pub use log::{AuditLog, AuditLogBuilder, LogReader, ReadOnlyLog, SegmentInfo, SegmentState};
pub use merkle::{Frontier, ProofError, TreeHead};
pub use options::{Durability, OpenCheck};
pub use reader::RecordIter;
pub use receipt::{AppendHandle, BatchHandle, Receipt};
pub use recovery::{OpenReport, TruncatedTail};
pub use room::AppendFuture;
pub use tail::{NextRecord, RecordStream, Subscription};
pub use timestamp::Timestamp;
pub use verify::{IndexCheck, VerifyOptions, VerifyReport, verify, verify_with};
