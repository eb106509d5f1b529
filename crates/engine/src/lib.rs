#![doc = include_str!("../../../README.md")]

// The format's modules, under the paths the engine has always used for them.
pub use auditlog_format::{event, fs, merkle, meta, timestamp};
pub(crate) use auditlog_format::{record, sys};

pub mod checkpoint;
pub mod clock;
pub mod error;
mod follow;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod index;
pub mod lifecycle;
mod lock;
mod log;
pub mod options;
pub mod proof;
pub mod query;
mod reader;
pub mod receipt;
pub mod recovery;
mod room;
pub mod segment;
mod tail;
pub mod verify;
mod view;
mod writer;

pub use clock::{Clock, SystemClock};
pub use error::{Corruption, CorruptionKind, Error, HeaderFault, Result};
pub use event::{Actor, Entity, Event, EventLimits, Outcome, Record, Severity};
pub use index::ReindexReport;
pub use log::{AuditLog, AuditLogBuilder};
pub use merkle::{Frontier, ProofError, TreeHead};
pub use options::{Durability, OpenCheck};
pub use reader::RecordIter;
pub use receipt::{AppendHandle, BatchHandle, Receipt};
pub use recovery::{OpenReport, TruncatedTail};
pub use room::AppendFuture;
pub use tail::{NextRecord, RecordStream, Subscription};
pub use timestamp::Timestamp;
pub use verify::{IndexCheck, VerifyOptions, VerifyReport, verify, verify_with};
