//! Alerts (`auditlog serve --alerts FILE`, docs/SERVER.md "Alerts"): rules evaluated over
//! every record the log commits, whoever appended it (HTTP, the Unix socket, the server's own
//! `audit.*` events). When a rule fires the server appends an `alert.triggered` event naming
//! the rule, the key and the records that caused it (so the alert is itself in the tree and
//! provable), then queues a JSON notification to the rule's webhook.
//!
//! The evaluator follows the log with the engine's live tail ([`auditlog::RecordStream`]), a
//! reader beside the writer: ingest never waits for it, and a slow webhook only fills the
//! bounded delivery queue ([`webhook`]). It starts at the alert cursor ([`cursor`]), so the
//! records committed while no server ran are evaluated when the next one starts; windows
//! start empty at the cursor.
//!
//! - [`cursor`]: where the previous run stopped evaluating;
//! - [`rules`]: the rules file, read and checked at start;
//! - [`eval`]: the sliding windows;
//! - [`webhook`]: the delivery queue, retries, the HMAC signature.

pub mod cursor;
pub mod eval;
pub mod metrics;
pub mod rules;
pub mod webhook;

use crate::state::AppState;
use auditlog::fs::StdFileSystem;
use auditlog::query::Query;
use auditlog::{AuditLog, Event, Record, Timestamp};
use eval::{Evaluator, Firing};
use rules::Rules;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use metrics::AlertMetrics;

/// The action of the events alerts append.
pub const ALERT_ACTION: &str = "alert.triggered";
/// Their actor id (kind `system`).
pub const ALERT_ACTOR: &str = "auditlog-serve:alerts";

/// Starts evaluating `rules` and the delivery worker, in the background: ingest and readiness
/// do not wait. Evaluation starts at the cursor ([`cursor`]), so the records committed while
/// no server ran are evaluated first, in order, with their own `recorded_at`, then the live
/// ones: every record once per run. Both stop when the server starts stopping.
///
/// What a restart guarantees: the cursor is saved after the records before it were evaluated
/// and their alerts appended, so a crash can only make the next run evaluate again records
/// already evaluated (those after the saved cursor). Their firings are recognised: before
/// evaluating, the `alert.triggered` events at or after the start are read, and a firing with
/// the same rule and the same linked records as one of them is not appended or notified
/// again. A replay therefore fires no duplicate alert, provided the windows group the records
/// as before, which holds when the earlier run started at the same place or the window was
/// empty there (the windows are not saved: a burst that straddles the cursor is counted from
/// the cursor on, as after any restart). A notification queued but not delivered before a
/// crash is not sent again (its alert is in the log).
pub fn start(state: &AppState, rules: Rules) -> Arc<AlertMetrics> {
    let metrics = Arc::new(AlertMetrics::new(&rules));
    let queue = webhook::start(
        rules.delivery.clone(),
        rules.client.clone(),
        metrics.clone(),
        state.stopping(),
    );
    let log = state.log().clone();
    let cursor_path = cursor::path(log.dir());
    let stopping = state.stopping();
    let task_metrics = metrics.clone();
    tokio::spawn(async move {
        let Some(from) = resume_point(&log, &cursor_path, &task_metrics).await else {
            return;
        };
        let mut eval = Evaluator::new(&rules);
        let mut run = Run {
            log,
            rules,
            metrics: task_metrics,
            queue,
            already_fired: HashSet::new(),
            cursor: CursorWriter::new(cursor_path, from),
        };
        match run.earlier_alerts(from).await {
            Ok(set) => run.already_fired = set,
            Err(e) => {
                eprintln!(
                    "auditlog serve: alerts stopped: reading the earlier alerts failed: {}",
                    e.escape_debug()
                );
                return;
            }
        }
        run.metrics.next_seq.store(from, Ordering::Relaxed);
        run.follow(&mut eval, from, stopping).await;
    });
    metrics
}

/// The first sequence number to evaluate: the cursor's, or the tree's end for a log without
/// one (whose cursor is created now), or 0 for a damaged one (reported on stderr and in
/// `auditlog_alert_cursor_damaged_total`). `None` when the cursor could not be created.
async fn resume_point(log: &AuditLog, path: &Path, metrics: &AlertMetrics) -> Option<u64> {
    let tree_size = log.tree_head().size;
    let start = cursor::load(path, tree_size);
    if let cursor::Start::Damaged(why) = &start {
        metrics.cursor_damaged.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "auditlog serve: the alert cursor is damaged ({}): evaluating every record from seq 0",
            why.escape_debug()
        );
    }
    let from = start.from_seq(tree_size);
    if start == cursor::Start::NoCursor
        && let Err(e) = save_cursor(path.to_path_buf(), from).await
    {
        metrics
            .cursor_write_failures
            .fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "auditlog serve: alerts stopped: the alert cursor could not be created: {}",
            e.to_string().escape_debug()
        );
        return None;
    }
    Some(from)
}

/// [`cursor::save`] off the async threads (it fsyncs).
async fn save_cursor(path: PathBuf, next_seq: u64) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || cursor::save(&StdFileSystem, &path, next_seq))
        .await
        .map_err(std::io::Error::other)?
}

/// Saves the cursor at most every [`CURSOR_EVERY`], after the records before it were
/// evaluated.
struct CursorWriter {
    path: PathBuf,
    saved: u64,
    evaluated: u64,
}

/// How often the cursor is saved while records are evaluated.
const CURSOR_EVERY: Duration = Duration::from_secs(1);

impl CursorWriter {
    fn new(path: PathBuf, from: u64) -> Self {
        CursorWriter {
            path,
            saved: from,
            evaluated: from,
        }
    }

    /// Saves the cursor if records were evaluated since it was last saved. A failure is
    /// reported and counted; the cursor then lags, which is safe (see [`start`]).
    async fn flush(&mut self, metrics: &AlertMetrics) {
        if self.evaluated == self.saved {
            return;
        }
        let next = self.evaluated;
        match save_cursor(self.path.clone(), next).await {
            Ok(()) => self.saved = next,
            Err(e) => {
                metrics
                    .cursor_write_failures
                    .fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "auditlog serve: the alert cursor could not be saved to {}: {}",
                    self.path.display(),
                    e.to_string().escape_debug()
                );
            }
        }
    }
}

/// One run of the evaluator.
struct Run {
    log: Arc<AuditLog>,
    rules: Rules,
    metrics: Arc<AlertMetrics>,
    queue: webhook::Queue,
    /// (rule, linked records) of the `alert.triggered` events at or after the start: firings
    /// a replay must not repeat.
    already_fired: HashSet<(String, Vec<u64>)>,
    cursor: CursorWriter,
}

impl Run {
    /// The (rule, records) of the server's `alert.triggered` events from seq `from` on.
    async fn earlier_alerts(&self, from: u64) -> Result<HashSet<(String, Vec<u64>)>, String> {
        let log = self.log.clone();
        let read = tokio::task::spawn_blocking(move || {
            let query = Query::new().action(ALERT_ACTION).actor(ALERT_ACTOR);
            let from = query.cursor_at(from);
            log.query(&query.after(from))
        })
        .await
        .map_err(|e| e.to_string())?;
        let page = read.map_err(|e| e.to_string())?;
        Ok(page
            .records
            .iter()
            .filter_map(|r| {
                let meta = r.event.metadata.as_ref()?.to_value().ok()?;
                let rule = meta["rule"].as_str()?.to_string();
                let records = serde_json::from_value(meta["records"].clone()).ok()?;
                Some((rule, records))
            })
            .collect())
    }

    /// Evaluates every record from `from` on, saving the cursor every second and when the
    /// server stops.
    async fn follow(
        &mut self,
        eval: &mut Evaluator,
        from: u64,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stream = self.log.stream(&Query::default(), from);
        let mut tick = tokio::time::interval(CURSOR_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The select only picks: the watch guard of `stopping` must not live across
            // the cursor's save.
            let next = tokio::select! {
                r = stream.next_record() => Some(r),
                _ = tick.tick() => None,
                _ = stopping.wait_for(|s| *s) => break,
            };
            let Some(next) = next else {
                self.cursor.flush(&self.metrics).await;
                continue;
            };
            let record = match next {
                None => break,
                Some(Ok(record)) => record,
                Some(Err(e)) => {
                    eprintln!(
                        "auditlog serve: alerts stopped: reading the log failed: {}",
                        e.to_string().escape_debug()
                    );
                    break;
                }
            };
            let firings = eval.feed(&record);
            self.metrics
                .untracked
                .store(eval.untracked, Ordering::Relaxed);
            for firing in firings {
                let rule = self.rules.rules[firing.rule].name.clone();
                let linked = firing.records.iter().map(|r| r.0).collect();
                if self.already_fired.remove(&(rule, linked)) {
                    self.metrics.replay_skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                fire(
                    &self.log,
                    &self.rules,
                    &self.metrics,
                    &self.queue,
                    &record,
                    firing,
                )
                .await;
            }
            self.cursor.evaluated = record.seq + 1;
            self.metrics
                .next_seq
                .store(record.seq + 1, Ordering::Relaxed);
        }
        self.cursor.flush(&self.metrics).await;
    }
}

/// Appends the alert's event and queues its notification.
async fn fire(
    log: &AuditLog,
    rules: &Rules,
    metrics: &AlertMetrics,
    queue: &webhook::Queue,
    last: &Record,
    firing: Firing,
) {
    let rule = &rules.rules[firing.rule];
    let seqs: Vec<u64> = firing.records.iter().map(|r| r.0).collect();
    let at = |nanos: i64| Timestamp::from_nanos(nanos).to_rfc3339();
    let alert = json!({
        "rule": rule.name,
        "per": rule.per.map(|p| p.as_str()),
        "key": firing.key,
        "count": seqs.len(),
        "at_least": rule.at_least,
        "within_secs": rule.within.map(|w| w.as_secs()),
        "records": seqs,
        "first_recorded_at": at(firing.records[0].1),
        "last_recorded_at": at(last.recorded_at.as_nanos()),
    });
    let mut event = Event::new(ALERT_ACTOR, ALERT_ACTION)
        .actor_kind("system")
        .severity(rule.severity)
        .entity("alert_rule", rule.name.clone());
    for key in [
        "rule",
        "per",
        "key",
        "count",
        "at_least",
        "within_secs",
        "records",
        "first_recorded_at",
        "last_recorded_at",
    ] {
        event = event.metadata(key, alert[key].clone());
    }
    if let Some(t) = &firing.tenant {
        event = event.tenant(t.clone());
    }
    let receipt = match log.append_async(&event).await {
        Ok(r) => r,
        Err(e) => {
            metrics.append_failures.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "auditlog serve: alert {:?} fired but its event could not be appended: {}",
                rule.name,
                e.to_string().escape_debug()
            );
            return;
        }
    };
    metrics.count_fired(firing.rule);
    eprintln!(
        "auditlog serve: alert rule={} seq={} records={}",
        rule.name,
        receipt.seq,
        firing.records.len()
    );
    if let Some(webhook) = &rule.webhook {
        let body: Value = json!({
            "alert": alert,
            "event": crate::ingest::receipt_json(&receipt),
            "tenant": firing.tenant,
        });
        queue.offer(webhook::Notification {
            webhook: webhook.clone(),
            alert_seq: receipt.seq,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        });
    }
}
