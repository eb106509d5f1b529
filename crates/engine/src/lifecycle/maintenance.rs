//! Maintenance: retention, archiving and compaction per a configured policy, on request
//! ([`AuditLog::maintain`]) or from a background thread on a schedule. Never on the writer
//! thread, so appends are never blocked by it.

use super::archive::{ArchiveDestination, ArchivePolicy, ArchiveReport};
use super::compact::{CompactOptions, CompactReport};
use super::retention::{RetentionPolicy, RetentionReport};
use crate::error::{Error, Result};
use crate::log::{AuditLog, Shared};
use crossbeam_channel::{RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// What maintenance does, in this order: retention, archiving, compaction (so nothing is
/// compressed just before it is deleted or moved). Every part is optional.
#[derive(Debug, Clone, Default)]
pub struct MaintenancePolicy {
    /// Retention limits. Default: keep everything.
    pub retention: Option<RetentionPolicy>,
    /// Where and what to archive. Default: no archiving.
    pub archive: Option<(Arc<dyn ArchiveDestination>, ArchivePolicy)>,
    /// What to compress. Default: nothing.
    pub compact: Option<CompactOptions>,
    /// Run in a background thread this often. Default: only on request.
    pub interval: Option<Duration>,
}

/// What one maintenance run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Retention's part, if configured.
    pub retention: Option<RetentionReport>,
    /// Archiving's part, if configured.
    pub archive: Option<ArchiveReport>,
    /// Compaction's part, if configured.
    pub compact: Option<CompactReport>,
}

/// The background thread's handle.
#[derive(Debug)]
pub(crate) struct MaintenanceThread {
    stop: Sender<()>,
    handle: JoinHandle<()>,
}

impl AuditLog {
    /// Runs the maintenance configured with
    /// [`AuditLogBuilder::maintenance`](crate::AuditLogBuilder::maintenance) now, on the
    /// calling thread.
    pub fn maintain(&self) -> Result<MaintenanceReport> {
        let policy = self
            .shared()
            .options
            .maintenance
            .clone()
            .unwrap_or_default();
        run(self.shared(), &policy)
    }

    /// Runs the given maintenance policy now, on the calling thread.
    pub fn maintain_with(&self, policy: &MaintenancePolicy) -> Result<MaintenanceReport> {
        run(self.shared(), policy)
    }

    /// The error of the background maintenance thread's last run, if it failed.
    pub fn last_maintenance_error(&self) -> Option<String> {
        self.shared().lifecycle.last_error.lock().clone()
    }
}

pub(crate) fn run(shared: &Arc<Shared>, policy: &MaintenancePolicy) -> Result<MaintenanceReport> {
    if shared.options.read_only {
        return Err(Error::ReadOnly);
    }
    let mut report = MaintenanceReport::default();
    if let Some(retention) = &policy.retention {
        report.retention = Some(super::retention::apply(shared, retention)?);
    }
    if let Some((destination, archive)) = &policy.archive {
        report.archive = Some(super::archive::archive(
            shared,
            destination.as_ref(),
            archive,
        )?);
    }
    if let Some(compact) = &policy.compact {
        report.compact = Some(super::compact::compact(shared, compact)?);
    }
    Ok(report)
}

/// Starts the background thread if the options ask for one.
pub(crate) fn start(shared: &Arc<Shared>) -> Result<()> {
    let Some(policy) = shared.options.maintenance.clone() else {
        return Ok(());
    };
    let Some(interval) = policy.interval else {
        return Ok(());
    };
    let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let handle = std::thread::Builder::new()
        .name("auditlog-maintenance".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let Some(shared) = weak.upgrade() else { return };
                let result = run(&shared, &policy);
                *shared.lifecycle.last_error.lock() = result.err().map(|e| e.to_string());
            }
        })
        .map_err(|e| Error::io("starting the maintenance thread", e))?;
    *shared.lifecycle.maintenance.lock() = Some(MaintenanceThread { stop, handle });
    Ok(())
}

/// Stops the background thread (waiting for a run in progress to finish).
pub(crate) fn stop(shared: &Shared) {
    let thread = shared.lifecycle.maintenance.lock().take();
    if let Some(t) = thread {
        let _ = t.stop.send(());
        let _ = t.handle.join();
    }
}
