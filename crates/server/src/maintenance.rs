//! Retention, archiving and compaction on the server's schedule (`auditlog serve
//! --maintenance-every SECS` with `--retention-*`, `--archive-to` and
//! `--compact-older-than-days`): the engine's
//! [`AuditLog::maintain_with`] run once at start and then every interval, on a blocking
//! thread beside the writer (maintenance never blocks appends: it only touches sealed
//! segments). Each run logs one line and updates the `auditlog_maintenance_*` metrics.
//!
//! The server runs the schedule itself rather than through the engine's own maintenance
//! thread so that every run is reported, not only the last failure.

use crate::state::AppState;
use auditlog::AuditLog;
use auditlog::lifecycle::{MaintenancePolicy, MaintenanceReport};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the server's maintenance does and how often.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Retention, archiving and compaction (its `interval` is ignored: see `every`).
    pub policy: MaintenancePolicy,
    /// Time between the end of one run and the start of the next.
    pub every: Duration,
}

/// The maintenance counters of `/metrics`.
#[derive(Debug, Default)]
pub struct MaintenanceMetrics {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    /// Unix seconds of the last run's end (0: none yet).
    pub last_run_secs: AtomicI64,
    /// 1 if the last run succeeded.
    pub last_ok: AtomicU64,
    pub segments_deleted: AtomicU64,
    pub bytes_reclaimed: AtomicU64,
    pub segments_compacted: AtomicU64,
    pub bundles_archived: AtomicU64,
    pub bytes_archived: AtomicU64,
}

impl MaintenanceMetrics {
    /// The Prometheus text of these counters.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rows = [
            (
                "auditlog_maintenance_runs_total",
                "counter",
                "Maintenance runs (retention, compaction) finished",
                get(&self.runs),
            ),
            (
                "auditlog_maintenance_failures_total",
                "counter",
                "Maintenance runs that failed",
                get(&self.failures),
            ),
            (
                "auditlog_maintenance_last_run_timestamp_seconds",
                "gauge",
                "When the last maintenance run ended (Unix time; 0: none yet)",
                self.last_run_secs.load(Ordering::Relaxed).max(0) as u64,
            ),
            (
                "auditlog_maintenance_last_ok",
                "gauge",
                "1 if the last maintenance run succeeded, else 0",
                get(&self.last_ok),
            ),
            (
                "auditlog_retention_segments_deleted_total",
                "counter",
                "Segments deleted by retention",
                get(&self.segments_deleted),
            ),
            (
                "auditlog_retention_bytes_reclaimed_total",
                "counter",
                "Bytes removed by retention",
                get(&self.bytes_reclaimed),
            ),
            (
                "auditlog_compaction_segments_total",
                "counter",
                "Segments compressed into cold segments",
                get(&self.segments_compacted),
            ),
            (
                "auditlog_archive_bundles_total",
                "counter",
                "Segments moved to the archive as bundles",
                get(&self.bundles_archived),
            ),
            (
                "auditlog_archive_bytes_reclaimed_total",
                "counter",
                "Bytes removed from the log directory by archiving",
                get(&self.bytes_archived),
            ),
        ];
        let mut text = String::new();
        for (name, kind, help, value) in rows {
            let _ = write!(
                text,
                "# HELP {name} {help}.\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        }
        text
    }
}

/// Starts the schedule; it ends when the server starts stopping (a run in progress
/// finishes first: the log is closed only after).
pub fn start(state: &AppState, schedule: Schedule) -> Arc<MaintenanceMetrics> {
    let metrics = Arc::new(MaintenanceMetrics::default());
    let task_metrics = metrics.clone();
    let log = state.log().clone();
    let mut stopping = state.stopping();
    tokio::spawn(async move {
        let metrics = task_metrics;
        loop {
            if *stopping.borrow() {
                break;
            }
            run_once(&log, &schedule.policy, &metrics).await;
            tokio::select! {
                () = tokio::time::sleep(schedule.every) => {}
                _ = stopping.wait_for(|s| *s) => break,
            }
        }
    });
    metrics
}

async fn run_once(log: &Arc<AuditLog>, policy: &MaintenancePolicy, metrics: &MaintenanceMetrics) {
    let started = Instant::now();
    let run_log = log.clone();
    let run_policy = policy.clone();
    let result = tokio::task::spawn_blocking(move || run_log.maintain_with(&run_policy))
        .await
        .map_err(|e| format!("the maintenance task failed: {e}"))
        .and_then(|r| r.map_err(|e| e.to_string()));
    let n = metrics.runs.fetch_add(1, Ordering::Relaxed) + 1;
    metrics.last_run_secs.store(
        auditlog::Timestamp::now().as_nanos() / 1_000_000_000,
        Ordering::Relaxed,
    );
    let ms = started.elapsed().as_millis();
    match result {
        Ok(report) => {
            metrics.last_ok.store(1, Ordering::Relaxed);
            eprintln!(
                "auditlog serve: maintenance run={n} {} ms={ms} ok",
                summary(&report, metrics)
            );
        }
        Err(e) => {
            metrics.last_ok.store(0, Ordering::Relaxed);
            metrics.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "auditlog serve: maintenance run={n} ms={ms} failed: {}",
                e.escape_debug()
            );
        }
    }
}

/// `retention_deleted=N reclaimed_bytes=B first_seq=S archived=A archived_bytes=B
/// compacted=C ...`, counting into `metrics`.
fn summary(report: &MaintenanceReport, metrics: &MaintenanceMetrics) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &report.retention {
        metrics
            .segments_deleted
            .fetch_add(r.segments.len() as u64, Ordering::Relaxed);
        metrics
            .bytes_reclaimed
            .fetch_add(r.reclaimed_bytes, Ordering::Relaxed);
        parts.push(format!(
            "retention_deleted={} reclaimed_bytes={}",
            r.segments.len(),
            r.reclaimed_bytes
        ));
        if let Some(last) = r.segments.last() {
            parts.push(format!("first_seq={}", last.end_seq));
        }
    }
    if let Some(a) = &report.archive {
        metrics
            .bundles_archived
            .fetch_add(a.bundles.len() as u64, Ordering::Relaxed);
        metrics
            .bytes_archived
            .fetch_add(a.reclaimed_bytes, Ordering::Relaxed);
        parts.push(format!(
            "archived={} archived_bytes={}",
            a.bundles.len(),
            a.reclaimed_bytes
        ));
    }
    if let Some(c) = &report.compact {
        metrics
            .segments_compacted
            .fetch_add(c.compressed.len() as u64, Ordering::Relaxed);
        parts.push(format!(
            "compacted={} hot_bytes={} cold_bytes={}",
            c.compressed.len(),
            c.hot_bytes,
            c.cold_bytes
        ));
    }
    parts.join(" ")
}
