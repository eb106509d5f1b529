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

use crate::checkpoint::NoteSigner;
use crate::clock::Clock;
use crate::error::Result;
use crate::fs::FileSystem;
use crate::view::Published;
use std::path::Path;
use std::time::Duration;

/// The live log that a lifecycle operation works on: what it reads, publishes and writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiveLog<'a> {
    pub dir: &'a Path,
    pub log_id: [u8; 16],
    pub fs: &'a dyn FileSystem,
    pub clock: &'a dyn Clock,
    /// The key that signs every cut, if the log has one.
    pub signer: Option<&'a NoteSigner>,
    /// Where segment swaps and removals are published to readers.
    pub published: &'a Published,
}

/// The lifecycle state of a writing handle: the lock that serializes lifecycle operations,
/// and the background maintenance thread.
#[derive(Debug, Default)]
pub(crate) struct LifecycleState {
    /// Held while a lifecycle operation (compact, archive, retention) changes the directory,
    /// so that two never remove or rewrite the same segment at once.
    busy: parking_lot::Mutex<()>,
    /// The background maintenance thread, if one runs.
    maintenance: parking_lot::Mutex<Option<maintenance::MaintenanceThread>>,
    /// The last background run's error.
    last_error: parking_lot::Mutex<Option<String>>,
}

impl LifecycleState {
    /// See [`AuditLog::compact`](crate::AuditLog::compact).
    pub(crate) fn compact(
        &self,
        live: &LiveLog<'_>,
        options: &CompactOptions,
    ) -> Result<CompactReport> {
        let _busy = self.busy.lock();
        compact::compact(live, options)
    }

    /// See [`AuditLog::archive`](crate::AuditLog::archive).
    pub(crate) fn archive(
        &self,
        live: &LiveLog<'_>,
        destination: &dyn ArchiveDestination,
        policy: &ArchivePolicy,
    ) -> Result<ArchiveReport> {
        let _busy = self.busy.lock();
        archive::archive(live, destination, policy)
    }

    /// See [`AuditLog::apply_retention`](crate::AuditLog::apply_retention).
    pub(crate) fn apply_retention(
        &self,
        live: &LiveLog<'_>,
        policy: &RetentionPolicy,
    ) -> Result<RetentionReport> {
        let _busy = self.busy.lock();
        retention::apply(live, policy)
    }

    /// Runs `policy`: retention, archiving, compaction, each under the lock.
    pub(crate) fn maintain(
        &self,
        live: &LiveLog<'_>,
        policy: &MaintenancePolicy,
    ) -> Result<MaintenanceReport> {
        maintenance::run(self, live, policy)
    }

    /// Starts the background thread, which calls `tick` every `interval` (see
    /// [`MaintenanceThread::start`](maintenance::MaintenanceThread::start)).
    pub(crate) fn start_maintenance(
        &self,
        interval: Duration,
        tick: impl FnMut() -> bool + Send + 'static,
    ) -> Result<()> {
        let thread = maintenance::MaintenanceThread::start(interval, tick)?;
        *self.maintenance.lock() = Some(thread);
        Ok(())
    }

    /// Stops the background thread (waiting for a run in progress to finish).
    pub(crate) fn stop_maintenance(&self) {
        let thread = self.maintenance.lock().take();
        if let Some(thread) = thread {
            thread.stop();
        }
    }

    /// Notes the outcome of a background run.
    pub(crate) fn note_background_run<T>(&self, result: &Result<T>) {
        *self.last_error.lock() = result.as_ref().err().map(|e| e.to_string());
    }

    /// The error of the background thread's last run, if it failed.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }
}
pub use auditlog_format::cuts;

pub use cuts::{Cut, CutKind, CutLog};
mod prefix;
pub mod retention;

pub use retention::{RetainedOut, RetentionPolicy, RetentionReport};
pub mod archive;

pub use archive::{ArchiveDestination, ArchivePolicy, ArchiveReport, LocalDirDestination};
pub use auditlog_verify::bundle::{BundleSummary, check_bundle};
pub mod maintenance;

pub use maintenance::{MaintenancePolicy, MaintenanceReport};
