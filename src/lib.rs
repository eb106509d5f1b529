#![doc = include_str!("../README.md")]

pub mod checkpoint;
pub mod clock;
pub mod error;
pub mod event;
mod follow;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
mod index;
pub mod lifecycle;
mod log;
pub mod merkle;
pub mod meta;
pub mod options;
pub mod proof;
pub mod query;
mod queue;
mod reader;
pub mod receipt;
pub(crate) mod record;
pub mod recovery;
mod room;
pub mod sample;
pub mod segment;
#[allow(unsafe_code)]
mod sys;
mod tail;
pub mod timestamp;
pub mod verify;
mod view;
mod writer;

pub use clock::{Clock, SystemClock};
pub use error::{Corruption, CorruptionKind, Error, HeaderFault, Result};
pub use event::{Actor, Entity, Event, EventLimits, Outcome, Record, Severity};
pub use index::ReindexReport;
pub use log::{AuditLog, AuditLogBuilder, LogReader, ReadOnlyLog};
pub use merkle::{Frontier, ProofError, TreeHead};
pub use options::{Durability, OpenCheck};
pub use reader::RecordIter;
pub use receipt::{AppendHandle, BatchHandle, Receipt};
pub use recovery::{OpenReport, TruncatedTail};
pub use room::AppendFuture;
pub use tail::{NextRecord, RecordStream, Subscription};
pub use timestamp::Timestamp;
pub use verify::{VerifyOptions, VerifyReport, verify};
