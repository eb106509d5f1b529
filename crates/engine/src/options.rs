//! Options for opening a log, validated once in `open()`.

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::event::EventLimits;
use crate::fs::{FileSystem, StdFileSystem};
use crate::record::{BODY_FIXED_LEN, MAX_BODY_LEN};
use std::sync::Arc;
use std::time::Duration;

/// When an append is acknowledged, and what survives a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Acknowledged after the record's group is written and fdatasync'ed: survives power
    /// loss. Concurrent appends share one fdatasync (group commit). The default.
    #[default]
    Immediate,
    /// Acknowledged after the record is written to the operating system; the log fdatasyncs at
    /// least every interval. A process crash loses nothing; a power loss can lose up to the last
    /// interval of acknowledged records.
    Periodic(Duration),
    /// Acknowledged after the write; synced only when a segment seals, on `sync()` and on
    /// `close()`. A process crash loses nothing; a power loss can lose any unsynced record.
    OsBuffered,
}

/// How much of the log `open()` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenCheck {
    /// Headers, footers and the chain of tree heads of every segment, and every record of the
    /// active segment. Cost independent of the log's size, apart from one header and footer
    /// read per segment. The default.
    #[default]
    Quick,
    /// Also every record of every sealed segment (CRC, order, Merkle root against the footer).
    Full,
}

/// Everything configurable when opening a log. Build it through [`crate::AuditLogBuilder`].
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) durability: Durability,
    pub(crate) segment_max_bytes: u64,
    pub(crate) segment_max_age: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) queue_max_bytes: usize,
    pub(crate) max_group_bytes: usize,
    pub(crate) preallocate: bool,
    /// Whether a writer persists the index file of each segment it seals (src/index).
    pub(crate) index_on_seal: bool,
    pub(crate) open_check: OpenCheck,
    pub(crate) event_limits: EventLimits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) fs: Arc<dyn FileSystem>,
    /// Signs a checkpoint at each seal (checkpoint/sign.rs).
    pub(crate) signer: Option<Arc<crate::checkpoint::CheckpointSigner>>,
    /// Lifecycle maintenance (src/lifecycle/maintenance.rs); `None`: none configured.
    pub(crate) maintenance: Option<crate::lifecycle::MaintenancePolicy>,
    /// The exact actor a read-only handle's first query names, if the opener said
    /// (`AuditLogBuilder::first_query`): its open notes that actor's records in the newest
    /// segment while scanning it (segment/candidates.rs).
    pub(crate) first_actor: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Immediate,
            segment_max_bytes: 64 * 1024 * 1024,
            segment_max_age: Duration::from_secs(24 * 3600),
            queue_capacity: 4096,
            queue_max_bytes: 64 * 1024 * 1024,
            max_group_bytes: 4 * 1024 * 1024,
            preallocate: true,
            index_on_seal: true,
            open_check: OpenCheck::Quick,
            event_limits: EventLimits::default(),
            clock: Arc::new(SystemClock),
            fs: Arc::new(StdFileSystem),
            signer: None,
            maintenance: None,
            first_actor: None,
        }
    }
}

impl Options {
    /// Checks the options against each other and the format's limits.
    pub(crate) fn validate(&self) -> Result<()> {
        let max_event = self.event_limits.max_event_bytes;
        if max_event == 0 || max_event > (MAX_BODY_LEN as usize - BODY_FIXED_LEN) {
            return Err(Error::InvalidOption {
                option: "max_event_bytes",
                reason: format!(
                    "must be between 1 and {} bytes",
                    MAX_BODY_LEN as usize - BODY_FIXED_LEN
                ),
            });
        }
        if self.segment_max_bytes < 64 * 1024 {
            return Err(Error::InvalidOption {
                option: "segment_max_bytes",
                reason: "must be at least 64 KiB".into(),
            });
        }
        if self.segment_max_bytes > u32::MAX as u64 {
            return Err(Error::InvalidOption {
                option: "segment_max_bytes",
                reason: "must be below 4 GiB".into(),
            });
        }
        if self.queue_max_bytes == 0 {
            return Err(Error::InvalidOption {
                option: "queue_max_bytes",
                reason: "must be > 0".into(),
            });
        }
        if self.queue_capacity == 0 {
            return Err(Error::InvalidOption {
                option: "queue_capacity",
                reason: "must be > 0".into(),
            });
        }
        if let Durability::Periodic(interval) = self.durability
            && interval.is_zero()
        {
            return Err(Error::InvalidOption {
                option: "durability",
                reason: "Periodic interval must be > 0 (use Immediate to sync every group)".into(),
            });
        }
        if self.segment_max_age.is_zero() {
            return Err(Error::InvalidOption {
                option: "segment_max_age",
                reason: "must be > 0".into(),
            });
        }
        Ok(())
    }
}

/// Whether an open may change the log's directory: a writer repairs it (cuts a torn tail,
/// finishes an interrupted lifecycle step); a read-only open changes nothing and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Write,
    ReadOnly,
}
