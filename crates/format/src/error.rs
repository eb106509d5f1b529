//! The errors of reading and writing the format's bytes, and the description of damage.
//!
//! [`Error`] is deliberately small: only what reading or encoding files can go wrong with, and
//! nothing about writers, queues or locks (the engine's error adds those and converts from this
//! one). Every variant's documentation says what caused it and what the caller can do. Corruption is
//! structured ([`Corruption`]) so that tools can report the file, byte offset and sequence number
//! of the damage and act on its [`CorruptionKind`] without parsing strings.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Shorthand for results whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading, checking or encoding the format's bytes.
///
/// Not `#[non_exhaustive]` on purpose: the engine and the verifier convert it variant by
/// variant, and a new variant must fail their build rather than fall into a catch-all.
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
}
impl Error {
    /// Wraps an I/O error with what the engine was doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Builds a corruption error.
    pub fn corrupt(
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

/// Where stored data is damaged, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The damaged file.
    pub file: PathBuf,
    /// Byte offset in the file where the damage starts.
    pub offset: u64,
    /// The sequence number of the affected record, when known.
    pub seq: Option<u64>,
    /// What is wrong.
    pub kind: CorruptionKind,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "corruption in {} at byte {}",
            self.file.display(),
            self.offset
        )?;
        if let Some(seq) = self.seq {
            write!(f, " (sequence {seq})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for Corruption {}

/// The kinds of damage the engine detects.
///
/// Not `#[non_exhaustive]`: the verifier's report names every kind (`kind_name`), and a new
/// kind must fail its build until it has a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptionKind {
    /// A file's magic bytes are wrong.
    BadMagic,
    /// A segment header or the identity file (`auditlog.meta`) is damaged; [`HeaderFault`]
    /// says how. A header of a future format version is not damage: it is
    /// [`Error::UnsupportedVersion`].
    BadHeader(HeaderFault),
    /// A cold (compressed) segment's prefix, frame table, trailer or dictionary is damaged,
    /// or one of its compressed frames (its CRC, its zstd data or its decompressed length).
    /// The footer it keeps is the segment's own: damage there is [`Self::BadFooter`].
    BadColdSegment(String),
    /// An archive bundle's or a classified root's manifest is malformed or inconsistent.
    BadManifest(String),
    /// A file's size or BLAKE3 digest differs from the one its manifest records.
    DigestMismatch,
    /// A record of the cut log (`auditlog.cuts`) is malformed.
    BadCutLog(String),
    /// A segment footer's fields are inconsistent or its checksum fails.
    BadFooter(String),
    /// A record frame's CRC does not match its contents.
    ChecksumMismatch {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC computed over the frame.
        computed: u32,
    },
    /// A record frame's length field is impossible.
    BadLength(u32),
    /// A record's sequence number is not the next one.
    SequenceMismatch {
        /// The sequence number the position requires.
        expected: u64,
        /// The sequence number stored.
        found: u64,
    },
    /// `recorded_at` decreased from one record to the next.
    TimeWentBackwards,
    /// A record's payload does not decode as an event.
    BadPayload(String),
    /// A damaged record is followed by valid records, so this is not a torn tail.
    DamageBeforeValidRecords,
    /// Bytes follow the footer of a sealed segment.
    TrailingData,
    /// The tree head recomputed from the records differs from the stored one.
    RootMismatch,
    /// A segment's starting tree head does not continue the previous segment's final one.
    ChainBroken(String),
    /// A segment that should exist between two others is absent.
    MissingSegment {
        /// The first sequence number the absent segment would hold.
        first_seq: u64,
    },
    /// A file belongs to another log (its log id differs).
    ForeignLog,
    /// A segment that is not the newest has no footer (it was never sealed).
    UnsealedSegment,
    /// The log's tree does not extend a signed checkpoint: it was truncated below the
    /// checkpoint's size, or rewritten (the root at the checkpoint's size differs).
    CheckpointMismatch(String),
    /// A record of the cut log (`cuts.log`) is damaged, inconsistent with the cuts before
    /// it, or (checked with a public key) not signed by the log's key: a removal of records
    /// that cannot be accepted as retention or archiving.
    BadCut(String),
    /// A file's flags field (at the corruption's offset) is not 0, which format version 1
    /// requires: the file was written by an unknown variant of the format, or forged. Its
    /// checksum matched, so this is not a bit flip; do not trust the file until explained.
    UnknownFlags {
        /// The flags found.
        flags: u16,
    },
    /// An index file (derived data, FORMAT.md §7) differs from the index rebuilt from its
    /// segment: it was damaged or forged, and could hide records from queries. `verify` moves
    /// it aside (`*.idx.damaged`) so the next query rebuilds it; `auditlog reindex` rebuilds
    /// every index on request.
    IndexMismatch(String),
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorruptionKind::BadMagic => write!(f, "wrong magic bytes"),
            CorruptionKind::BadHeader(fault) => write!(f, "bad header: {fault}"),
            CorruptionKind::BadColdSegment(why) => write!(f, "bad cold segment: {why}"),
            CorruptionKind::BadManifest(why) => write!(f, "bad manifest: {why}"),
            CorruptionKind::DigestMismatch => {
                write!(f, "size or BLAKE3 differs from the manifest")
            }
            CorruptionKind::BadCutLog(why) => write!(f, "bad cut log: {why}"),
            CorruptionKind::BadFooter(why) => write!(f, "bad footer: {why}"),
            CorruptionKind::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "record checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
            CorruptionKind::BadLength(len) => write!(f, "impossible record length {len}"),
            CorruptionKind::SequenceMismatch { expected, found } => {
                write!(f, "expected sequence {expected}, found {found}")
            }
            CorruptionKind::TimeWentBackwards => write!(f, "recorded_at decreased"),
            CorruptionKind::BadPayload(why) => write!(f, "undecodable event payload: {why}"),
            CorruptionKind::DamageBeforeValidRecords => {
                write!(
                    f,
                    "damaged record followed by valid records (not a torn tail)"
                )
            }
            CorruptionKind::TrailingData => write!(f, "data after the footer of a sealed segment"),
            CorruptionKind::RootMismatch => {
                write!(
                    f,
                    "Merkle root recomputed from the records differs from the stored one"
                )
            }
            CorruptionKind::ChainBroken(why) => write!(f, "segment chain broken: {why}"),
            CorruptionKind::MissingSegment { first_seq } => {
                write!(f, "missing segment starting at sequence {first_seq}")
            }
            CorruptionKind::ForeignLog => write!(f, "file belongs to another log"),
            CorruptionKind::UnsealedSegment => write!(f, "segment before the newest has no footer"),
            CorruptionKind::CheckpointMismatch(why) => {
                write!(f, "the log is inconsistent with a signed checkpoint: {why}")
            }
            CorruptionKind::BadCut(why) => write!(f, "bad cut record: {why}"),
            CorruptionKind::UnknownFlags { flags } => write!(
                f,
                "flags are {flags:#06x}, but format version 1 requires 0 (an unknown format variant, or a forged file)"
            ),
            CorruptionKind::IndexMismatch(why) => {
                write!(f, "index file disagrees with its segment: {why}")
            }
        }
    }
}

/// How a segment header (FORMAT.md §2.1) or the identity file is damaged. Each is damage: a
/// header that fails its checksum is never read as some other version.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderFault {
    /// The file is shorter than its header.
    Truncated,
    /// `header_len` and `frontier_len` disagree.
    LengthMismatch,
    /// The header's checksum fails.
    Checksum,
    /// `frontier_len` is not `popcount(first_seq)`.
    Frontier,
    /// `start_root` is not the root of the frontier.
    StartRoot,
    /// A segment starting at sequence 0 has a `prev_recorded_at` other than `i64::MIN`: no
    /// record precedes it, and the writer always writes `i64::MIN` there (FORMAT.md §2.1).
    PrevRecordedAtAtZero,
    /// The header's `first_seq` differs from the one in the file name.
    FirstSeqMismatch {
        /// `first_seq` in the header.
        header: u64,
        /// The first sequence number the file name gives.
        name: u64,
    },
    /// A checksum-valid header (of a segment, or a cold segment's prefix) of another format
    /// version. It is no damage: it becomes [`Error::UnsupportedVersion`] wherever it turns
    /// into an [`Error`]; it stays a problem only inside an archive bundle's report.
    OtherVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
}

impl fmt::Display for HeaderFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderFault::Truncated => write!(f, "file too short for a header"),
            HeaderFault::LengthMismatch => {
                write!(f, "header length and frontier length disagree")
            }
            HeaderFault::Checksum => write!(f, "header checksum mismatch"),
            HeaderFault::Frontier => write!(f, "frontier length is not popcount(first_seq)"),
            HeaderFault::StartRoot => write!(f, "start_root does not match the frontier"),
            HeaderFault::PrevRecordedAtAtZero => write!(
                f,
                "a segment starting at sequence 0 must have prev_recorded_at i64::MIN"
            ),
            HeaderFault::FirstSeqMismatch { header, name } => {
                write!(
                    f,
                    "header says first sequence {header}, file name says {name}"
                )
            }
            HeaderFault::OtherVersion { found, supported } => {
                write!(f, "format version {found}, not {supported}")
            }
        }
    }
}
