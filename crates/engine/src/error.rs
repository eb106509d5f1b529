//! The engine's error type: every failure an embedder can meet, one enum.
//!
//! The format crate's smaller error (reading and encoding bytes) converts into it variant by
//! variant, so `?` on a format function keeps the same [`Error::Corrupt`], [`Error::Io`], ...
//!
//! Every variant's documentation says what caused it and what the caller can do. Corruption is
//! structured ([`Corruption`]) so that tools can report the file, byte offset and sequence number
//! of the damage and act on its [`CorruptionKind`] without parsing strings.

use crate::privacy::PrivacyError;
use std::io;
use std::path::PathBuf;

pub use auditlog_format::error::{Corruption, CorruptionKind, HeaderFault};

/// Shorthand for results whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in this crate.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed. `context` says what the engine was doing.
    /// Remedy: fix the cause (permissions, disk space, a missing directory) and retry; on the
    /// write path the log is poisoned afterwards and must be reopened.
    #[error("{context}: {source}")]
    Io {
        /// What the engine was doing, naming the file involved.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// An event failed validation (an empty required field or a field over its length limit).
    /// Nothing was written. Remedy: fix the event.
    #[error("invalid event: `{field}` {reason}")]
    InvalidEvent {
        /// The offending field, as named in the event's JSON shape.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// An event encodes to more bytes than the log accepts. Nothing was written.
    /// Remedy: shrink the event (for example move large blobs elsewhere and store a reference)
    /// or raise `max_event_bytes` when opening the log.
    #[error(
        "event encodes to {size} bytes, over the limit of {limit} bytes: shrink it or raise max_event_bytes"
    )]
    EventTooLarge {
        /// Encoded size of the rejected event.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// An option passed to the builder is out of range. Remedy: as the message says.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The builder method's name.
        option: &'static str,
        /// What is wrong with the value.
        reason: String,
    },

    /// `try_append` found the queue to the writer full: producers outrun the disk.
    /// Nothing was written. Remedy: retry later, or call `append`, which waits for room.
    #[error("the append queue is full: retry later, or use append(), which waits for room")]
    QueueFull,

    /// An earlier write or fsync failed, so the writer stopped to avoid acknowledging records
    /// whose durability is unknown (see PostgreSQL's "fsyncgate"). Remedy: fix the cause and
    /// reopen the log; recovery keeps every acknowledged record.
    #[error("the log refuses writes after an earlier failure ({cause}): reopen it")]
    Poisoned {
        /// The first failure, as text.
        cause: String,
    },

    /// The log was opened on a full disk and its writer could not create the segment that
    /// appends go to, so it waits (reads and maintenance that frees space work). Nothing was
    /// written and the log is not poisoned. Remedy: free space (`apply_retention`,
    /// `archive`, or outside the log), then append again or call `start_writer`.
    #[error(
        "the disk is full, so the log takes no appends yet ({cause}): free space (retention, archive), then append again"
    )]
    StorageFull {
        /// The failure of the last attempt to start writing, as text.
        cause: String,
    },

    /// The log was closed (or its writer thread ended) before this operation.
    #[error("the log is closed")]
    Closed,

    /// A write was attempted on a classified log opened read-only
    /// (`ClassifiedLogBuilder::read_only`). A single read-only log is a
    /// [`ReadOnlyLog`](crate::ReadOnlyLog), whose type offers no write at all. Remedy: open
    /// it without `read_only` to write.
    #[error("the log was opened read-only: open it without read_only to write")]
    ReadOnly,

    /// Another writer (this process or another one) holds the directory's lock.
    /// Remedy: close the other writer, or open read-only.
    #[error("{dir} is locked by another writer: close it, or open the log read-only")]
    Locked {
        /// The log directory.
        dir: PathBuf,
    },

    /// A file has a format version this build does not read.
    /// Remedy: use a build of auditlog that supports that version.
    #[error(
        "{path}: unsupported format version {found} (this build reads version {supported}): \
         open it with a build of auditlog that reads it; this is not damage"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },

    /// The directory is not an auditlog log (no metadata file, or one with a foreign magic).
    #[error("{path} is not an auditlog directory or file: {reason}")]
    NotALog {
        /// The path given.
        path: PathBuf,
        /// What was missing or wrong.
        reason: String,
    },

    /// Stored data is damaged. The log refuses to guess: see [`Corruption`] for where.
    /// Remedy: restore the named file from a backup or archive; `auditlog verify` lists every
    /// problem in the log.
    #[error("{0}")]
    Corrupt(Box<Corruption>),

    /// A checkpoint, key file or proof file could not be parsed, or its signature does not
    /// verify with the given key. Remedy: check that the right file and key were given; a
    /// signature that fails with the right key means the file was altered.
    #[error("{what}: {reason}")]
    BadCheckpoint {
        /// The file or object concerned.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A query's cursor is malformed, or belongs to a query with other filters or another
    /// order. Remedy: pass back the cursor of the previous page of the same query unchanged
    /// (only the limit may differ), or start again without a cursor.
    #[error("invalid query cursor: {reason}")]
    InvalidCursor {
        /// What is wrong with it.
        reason: String,
    },

    /// The engine refused to sign a checkpoint that does not extend the last one it signed
    /// (C2SP: a log must never sign two inconsistent checkpoints). Remedy: investigate: the
    /// log was rewritten or truncated since that checkpoint, or the checkpoints file belongs
    /// to another log.
    #[error("refusing to sign: {reason}")]
    InconsistentCheckpoint {
        /// Why the new tree head does not extend the last signed one.
        reason: String,
    },

    /// No record with that sequence number exists (yet, or any more after retention).
    #[error("no record with sequence number {seq} (the log holds {first}..{end})")]
    NotFound {
        /// The requested sequence number.
        seq: u64,
        /// The oldest retained sequence number.
        first: u64,
        /// One past the newest committed sequence number.
        end: u64,
    },

    /// A classified root (one sub-log per retention class) does not match its class manifest
    /// `auditlog.classes`: the classes asked for differ from the recorded ones (names or
    /// severities), or a class's sub-log is missing or is another log than the one recorded
    /// (its log id differs). Remedy: open the root with the classes it was created with (or
    /// with none, to use the recorded ones); restore the named sub-log from a backup. A sub-log
    /// is never created silently in place of a missing one.
    #[error("classified root {root}: {reason}")]
    ClassMismatch {
        /// The root directory.
        root: PathBuf,
        /// What differs.
        reason: String,
    },

    /// A privacy operation failed: wrong or missing master key, a damaged key store, a bad
    /// policy, an unknown subject. The [`PrivacyError`] variant says the remedy.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

impl Error {
    /// Wraps an I/O error with what the engine was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Builds a corruption error.
    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        offset: u64,
        seq: Option<u64>,
        kind: CorruptionKind,
    ) -> Self {
        Error::Corrupt(Box::new(Corruption {
            file: file.into(),
            offset,
            seq,
            kind,
        }))
    }

    /// The structured corruption, if this error is one.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            Error::Corrupt(c) => Some(c),
            _ => None,
        }
    }
}

/// Damage found deep in a reader becomes [`Error::Corrupt`], except a checksum-valid header
/// of another format version, which is no damage: [`Error::UnsupportedVersion`].
impl From<Corruption> for Error {
    fn from(c: Corruption) -> Self {
        match c.kind {
            CorruptionKind::BadHeader(HeaderFault::OtherVersion { found, supported }) => {
                Error::UnsupportedVersion {
                    path: c.file,
                    found,
                    supported,
                }
            }
            _ => Error::Corrupt(Box::new(c)),
        }
    }
}

/// A format-level failure is the same failure here: variant for variant, nothing lost.
impl From<auditlog_format::Error> for Error {
    fn from(e: auditlog_format::Error) -> Self {
        use auditlog_format::Error as F;
        match e {
            F::Io { context, source } => Error::Io { context, source },
            F::InvalidEvent { field, reason } => Error::InvalidEvent { field, reason },
            F::EventTooLarge { size, limit } => Error::EventTooLarge { size, limit },
            F::InvalidOption { option, reason } => Error::InvalidOption { option, reason },
            F::UnsupportedVersion {
                path,
                found,
                supported,
            } => Error::UnsupportedVersion {
                path,
                found,
                supported,
            },
            F::NotALog { path, reason } => Error::NotALog { path, reason },
            F::Corrupt(c) => Error::Corrupt(c),
            F::BadCheckpoint { what, reason } => Error::BadCheckpoint { what, reason },
        }
    }
}

/// What an append can fail with: the six cases a producer acts on differently.
///
/// Returned by [`AuditLog::append`](crate::AuditLog::append), `try_append`, `append_batch`,
/// `try_append_batch`, and by waiting on what they return ([`AppendHandle`](crate::AppendHandle),
/// [`BatchHandle`](crate::BatchHandle), [`AppendFuture`](crate::AppendFuture)). Waiting fails
/// only with [`Poisoned`](Self::Poisoned), [`StorageFull`](Self::StorageFull) (a log opened
/// on a full disk that still cannot start its segment) or [`Closed`](Self::Closed): a write
/// or fsync that fails poisons the log first, and the I/O error is its `cause`, so there is
/// no `Io` case.
///
/// Converts into [`Error`] variant for variant (`?` in a function returning
/// [`Result`] keeps the same `Error::QueueFull`, ...). Not `#[non_exhaustive]`, unlike
/// [`Error`]: a producer matches every case (fix the event, retry, reopen, stop) and a new one
/// must fail its build rather than fall into a catch-all.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// An event failed validation. Nothing was written. Remedy: fix the event.
    /// (See [`Error::InvalidEvent`].)
    #[error("invalid event: `{field}` {reason}")]
    InvalidEvent {
        /// The offending field, as named in the event's JSON shape.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// An event encodes to more bytes than the log accepts. Nothing was written.
    /// Remedy: shrink the event or raise `max_event_bytes`. (See [`Error::EventTooLarge`].)
    #[error(
        "event encodes to {size} bytes, over the limit of {limit} bytes: shrink it or raise max_event_bytes"
    )]
    EventTooLarge {
        /// Encoded size of the rejected event.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// `try_append` or `try_append_batch` found the writer's queue full. Nothing was written.
    /// Remedy: retry later, or call `append`, which waits for room.
    #[error("the append queue is full: retry later, or use append(), which waits for room")]
    QueueFull,

    /// An earlier write or fsync failed and the log refuses writes. Remedy: fix the cause and
    /// reopen the log; recovery keeps every acknowledged record. (See [`Error::Poisoned`].)
    #[error("the log refuses writes after an earlier failure ({cause}): reopen it")]
    Poisoned {
        /// The first failure, as text.
        cause: String,
    },

    /// The log was opened on a full disk and could not yet create the segment appends go
    /// to. Nothing was written and the log is not poisoned: the next append tries again.
    /// Remedy: free space (retention, archive), then retry. (See [`Error::StorageFull`].)
    #[error(
        "the disk is full, so the log takes no appends yet ({cause}): free space (retention, archive), then append again"
    )]
    StorageFull {
        /// The failure of the last attempt to start writing, as text.
        cause: String,
    },

    /// The log was closed (or its writer thread ended) before the append was acknowledged.
    #[error("the log is closed")]
    Closed,

    /// The event has protected fields the log cannot encrypt (no master key), or the key
    /// store could not be written. Nothing was written.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

impl AppendError {
    /// An event the format's encoder rejected. Encoding fails only with `InvalidEvent` or
    /// `EventTooLarge`; any other format error is reported as an invalid event, with its text.
    pub(crate) fn rejected(e: auditlog_format::Error) -> Self {
        match e {
            auditlog_format::Error::InvalidEvent { field, reason } => {
                AppendError::InvalidEvent { field, reason }
            }
            auditlog_format::Error::EventTooLarge { size, limit } => {
                AppendError::EventTooLarge { size, limit }
            }
            other => AppendError::InvalidEvent {
                field: "event",
                reason: format!("cannot be encoded: {other}"),
            },
        }
    }
}

impl From<AppendError> for Error {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::InvalidEvent { field, reason } => Error::InvalidEvent { field, reason },
            AppendError::EventTooLarge { size, limit } => Error::EventTooLarge { size, limit },
            AppendError::QueueFull => Error::QueueFull,
            AppendError::Poisoned { cause } => Error::Poisoned { cause },
            AppendError::StorageFull { cause } => Error::StorageFull { cause },
            AppendError::Closed => Error::Closed,
            AppendError::Privacy(e) => Error::Privacy(e),
        }
    }
}

/// What opening a log can fail with.
///
/// Returned by [`AuditLog::open`](crate::AuditLog::open), [`ReadOnlyLog::open`](crate::ReadOnlyLog::open)
/// and the builder's [`open`](crate::AuditLogBuilder::open) and
/// [`open_read_only`](crate::AuditLogBuilder::open_read_only). A classified root
/// ([`ClassifiedLog`](crate::classes::ClassifiedLog)) keeps [`Error`], which also has its
/// `ClassMismatch`.
///
/// Converts into [`Error`] variant for variant. Not `#[non_exhaustive]`, for the reason given
/// on [`AppendError`]: a caller tells "another writer holds it" from "this is not a log" from
/// "restore this file" by matching every case.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another writer (this process or another one) holds the directory's lock.
    /// Remedy: close the other writer, or open read-only.
    #[error("{dir} is locked by another writer: close it, or open the log read-only")]
    Locked {
        /// The log directory.
        dir: PathBuf,
    },

    /// The directory is not an auditlog log (no metadata file, or one with a foreign magic).
    #[error("{path} is not an auditlog directory or file: {reason}")]
    NotALog {
        /// The path given.
        path: PathBuf,
        /// What was missing or wrong.
        reason: String,
    },

    /// A file has a format version this build does not read; this is not damage.
    /// Remedy: use a build of auditlog that supports that version.
    #[error(
        "{path}: unsupported format version {found} (this build reads version {supported}): \
         open it with a build of auditlog that reads it; this is not damage"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },

    /// Recovery found damage it refuses to repair (see [`Corruption`] for where; which damage
    /// is refused depends on the [`OpenCheck`](crate::OpenCheck)). Remedy: restore the named
    /// file, or open read-only to read the intact prefix; `auditlog verify` lists every problem.
    #[error("{0}")]
    Corrupt(Box<Corruption>),

    /// An operating-system call failed while opening (including starting the writer).
    /// Remedy: fix the cause (permissions, disk space, a missing directory) and retry.
    #[error("{context}: {source}")]
    Io {
        /// What the engine was doing, naming the file involved.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// An option passed to the builder is out of range. Remedy: as the message says.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The builder method's name.
        option: &'static str,
        /// What is wrong with the value.
        reason: String,
    },

    /// The privacy side of the log cannot be opened: a wrong master key, a damaged key store
    /// or policy, or a policy that differs from the log's. The variant says the remedy.
    #[error(transparent)]
    Privacy(PrivacyError),
}

impl OpenError {
    /// The structured corruption, if this error is one.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            OpenError::Corrupt(c) => Some(c),
            _ => None,
        }
    }

    /// An error met on the open path, which is written with the engine's [`Error`]. The
    /// writer's failure to create its first segment (reported as `Poisoned` by the writer)
    /// is the I/O failure it is. The other variants are not produced while opening; should one
    /// appear it is kept whole as the source of an `Io`, so nothing is lost.
    pub(crate) fn from_engine(e: Error) -> Self {
        match e {
            Error::Locked { dir } => OpenError::Locked { dir },
            Error::NotALog { path, reason } => OpenError::NotALog { path, reason },
            Error::UnsupportedVersion {
                path,
                found,
                supported,
            } => OpenError::UnsupportedVersion {
                path,
                found,
                supported,
            },
            Error::Corrupt(c) => OpenError::Corrupt(c),
            Error::Io { context, source } => OpenError::Io { context, source },
            Error::InvalidOption { option, reason } => OpenError::InvalidOption { option, reason },
            Error::Privacy(e) => OpenError::Privacy(e),
            Error::Poisoned { cause } => OpenError::Io {
                context: "starting the writer".into(),
                source: io::Error::other(cause),
            },
            other @ (Error::InvalidEvent { .. }
            | Error::EventTooLarge { .. }
            | Error::QueueFull
            | Error::StorageFull { .. }
            | Error::Closed
            | Error::ReadOnly
            | Error::BadCheckpoint { .. }
            | Error::InvalidCursor { .. }
            | Error::InconsistentCheckpoint { .. }
            | Error::NotFound { .. }
            | Error::ClassMismatch { .. }) => OpenError::Io {
                context: "opening the log".into(),
                source: io::Error::other(other),
            },
        }
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Locked { dir } => Error::Locked { dir },
            OpenError::NotALog { path, reason } => Error::NotALog { path, reason },
            OpenError::UnsupportedVersion {
                path,
                found,
                supported,
            } => Error::UnsupportedVersion {
                path,
                found,
                supported,
            },
            OpenError::Corrupt(c) => Error::Corrupt(c),
            OpenError::Io { context, source } => Error::Io { context, source },
            OpenError::InvalidOption { option, reason } => Error::InvalidOption { option, reason },
            OpenError::Privacy(e) => Error::Privacy(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_errors_convert_variant_for_variant_with_the_same_message() {
        let cases = [
            AppendError::InvalidEvent {
                field: "action",
                reason: "is empty".into(),
            },
            AppendError::EventTooLarge { size: 9, limit: 8 },
            AppendError::QueueFull,
            AppendError::Poisoned {
                cause: "fdatasync: EIO".into(),
            },
            AppendError::StorageFull {
                cause: "creating segment 7: ENOSPC".into(),
            },
            AppendError::Closed,
            AppendError::Privacy(PrivacyError::WrongMasterKey),
        ];
        for e in cases {
            let text = e.to_string();
            let converted = Error::from(e);
            assert_eq!(converted.to_string(), text);
            let same = match converted {
                Error::InvalidEvent { field, reason } => field == "action" && reason == "is empty",
                Error::EventTooLarge { size, limit } => size == 9 && limit == 8,
                Error::QueueFull | Error::Closed => true,
                Error::Poisoned { cause } => cause == "fdatasync: EIO",
                Error::StorageFull { cause } => cause == "creating segment 7: ENOSPC",
                Error::Privacy(e) => e == PrivacyError::WrongMasterKey,
                other => panic!("converted into another variant: {other:?}"),
            };
            assert!(same, "{text}");
        }
    }

    #[test]
    fn open_errors_survive_the_round_trip_through_error() {
        let corruption = Corruption {
            file: "00000000000000000000.seg".into(),
            offset: 7,
            seq: Some(3),
            kind: CorruptionKind::BadHeader(HeaderFault::Checksum),
        };
        let cases = [
            OpenError::Locked { dir: "d".into() },
            OpenError::NotALog {
                path: "d".into(),
                reason: "no auditlog.meta".into(),
            },
            OpenError::UnsupportedVersion {
                path: "d/auditlog.meta".into(),
                found: 9,
                supported: 1,
            },
            OpenError::Corrupt(Box::new(corruption)),
            OpenError::Io {
                context: "reading d".into(),
                source: io::Error::other("EIO"),
            },
            OpenError::InvalidOption {
                option: "queue_capacity",
                reason: "must be at least 1".into(),
            },
        ];
        for e in cases {
            let text = e.to_string();
            let debug = format!("{e:?}");
            let converted = Error::from(e);
            assert_eq!(converted.to_string(), text);
            let back = OpenError::from_engine(converted);
            assert_eq!(format!("{back:?}"), debug);
        }
    }

    #[test]
    fn a_writer_that_cannot_start_is_an_io_failure_of_the_open() {
        let e = OpenError::from_engine(Error::Poisoned {
            cause: "creating segment 0: ENOSPC".into(),
        });
        match e {
            OpenError::Io { context, source } => {
                assert_eq!(context, "starting the writer");
                assert!(source.to_string().contains("ENOSPC"), "{source}");
            }
            other => panic!("not an I/O error: {other:?}"),
        }
    }
}
