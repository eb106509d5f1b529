//! Maintenance: retention, archiving and compaction per a configured policy, on request
//! ([`AuditLog::maintain`](crate::AuditLog::maintain)) or from a background thread on a
//! schedule. Never on the writer thread, so appends are never blocked by it.

use super::LiveLog;
use super::archive::{ArchiveDestination, ArchivePolicy, ArchiveReport};
use super::compact::{CompactOptions, CompactReport};
use super::retention::{RetentionPolicy, RetentionReport};
use crate::error::{Error, Result};
use crossbeam_channel::{RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What maintenance does, in this order: retention, archiving, compaction (so nothing is
/// compressed just before it is deleted or moved to a destination that takes segments as
/// they are). A destination that wants cold segments (an object store,
/// [`ArchiveDestination::wants_cold`]) gets them: archiving compacts what it moves first, the
/// same step as `auditlog archive --to s3://`. Every part is optional.
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

/// Runs `policy` on `live`, each part under the lifecycle lock (see
/// [`LifecycleState::maintain`](super::LifecycleState::maintain)).
pub(crate) fn run(
    state: &super::LifecycleState,
    live: &LiveLog<'_>,
    policy: &MaintenancePolicy,
) -> Result<MaintenanceReport> {
    let mut report = MaintenanceReport::default();
    if let Some(retention) = &policy.retention {
        report.retention = Some(state.apply_retention(live, retention)?);
    }
    if let Some((destination, archive)) = &policy.archive {
        report.archive = Some(state.archive(live, destination.as_ref(), archive)?);
    }
    if let Some(compact) = &policy.compact {
        report.compact = Some(state.compact(live, compact)?);
    }
    Ok(report)
}

impl MaintenanceThread {
    /// Starts a thread that calls `tick` every `interval` until stopped or `tick` returns
    /// `false` (the log is gone).
    pub(crate) fn start(
        interval: Duration,
        mut tick: impl FnMut() -> bool + Send + 'static,
    ) -> Result<Self> {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let handle = std::thread::Builder::new()
            .name("auditlog-maintenance".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if !tick() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("starting the maintenance thread", e))?;
        Ok(MaintenanceThread { stop, handle })
    }

    /// Stops the thread, waiting for a run in progress to finish.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}
