//! The segment lifecycle after sealing: compression into cold segments, archiving to an
//! external destination, retention, and the maintenance that runs them.
//!
//! A segment's life: `Active` → `Sealed` (hot, `NNN.seg`) → `Cold` (`NNN.zseg`) →
//! `Archived` (moved to a bundle) or removed by retention. Every removal of a prefix of the log
//! is first recorded durably in the cut log (`cuts.log`), so verification still proves the
//! remaining segments continue the original tree.

pub mod cold;
mod compact;
pub use auditlog_format::dictionary;

pub use compact::{CompactOptions, CompactReport};

/// Lifecycle state shared by the handle and the maintenance thread.
#[derive(Debug, Default)]
pub(crate) struct LifecycleState {
    /// Held while a lifecycle operation (compact, archive, retention) changes the directory,
    /// so that two never remove or rewrite the same segment at once.
    pub busy: parking_lot::Mutex<()>,
    /// The background maintenance thread, if one runs.
    pub maintenance: parking_lot::Mutex<Option<maintenance::MaintenanceThread>>,
    /// The last background run's error.
    pub last_error: parking_lot::Mutex<Option<String>>,
}
pub use auditlog_format::cuts;
pub(crate) mod recover;

pub use cuts::{Cut, CutKind, CutLog};
mod prefix;
pub mod retention;

pub use retention::{RetainedOut, RetentionPolicy, RetentionReport};
pub mod archive;

pub use archive::{
    ArchiveDestination, ArchivePolicy, ArchiveReport, LocalDirDestination, check_with_bundles,
};
pub use auditlog_verify::bundle::{BundleSummary, check_bundle};
pub mod maintenance;

pub use maintenance::{MaintenancePolicy, MaintenanceReport};
pub mod classes;

pub use classes::{
    ClassifiedBatchHandle, ClassifiedCursor, ClassifiedHandle, ClassifiedLog, ClassifiedLogBuilder,
    ClassifiedPage, ClassifiedVerifyReport, RetentionClass,
};
