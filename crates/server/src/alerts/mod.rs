//! Alerts (`auditlog serve --alerts FILE`, docs/SERVER.md "Alerts"): rules evaluated over
//! every record the log commits, whoever appended it (HTTP, the Unix socket, the server's own
//! `audit.*` events). When a rule fires the server appends an `alert.triggered` event naming
//! the rule, the key and the records that caused it (so the alert is itself in the tree and
//! provable), then queues a JSON notification to the rule's webhook.
//!
//! The evaluator follows the log with the engine's live tail ([`auditlog::RecordStream`]), a
//! reader beside the writer: ingest never waits for it, and a slow webhook only fills the
//! bounded delivery queue ([`webhook`]). It starts at the alert cursor ([`cursor`]), so the
//! records committed while no server ran are evaluated when the next one starts, with windows
//! rebuilt from the records before it ([`catch_up`]).
//!
//! - [`cursor`]: where the previous run stopped evaluating and notifying;
//! - [`catch_up`]: where a run starts, and the alerts earlier runs logged;
//! - [`rules`]: the rules file, read and checked at start;
//! - [`eval`]: the sliding windows;
//! - [`webhook`]: the delivery queue, retries, resending, the HMAC signature;
//! - [`metrics`]: the counters of `/metrics`.

pub mod catch_up;
pub mod cursor;
pub mod eval;
pub mod metrics;
pub mod rules;
pub mod webhook;

use crate::state::AppState;
use auditlog::fs::StdFileSystem;
use auditlog::merkle::{Hash, leaf_hash, payload_digest};
use auditlog::query::Query;
use auditlog::{AuditLog, Event, LazyRecord, Receipt, Record, Timestamp};
use catch_up::{LoggedAlerts, Plan};
use eval::{Evaluator, Firing};
use rules::Rules;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use metrics::AlertMetrics;

/// The action of the events alerts append.
pub const ALERT_ACTION: &str = "alert.triggered";
/// Their actor id (kind `system`).
pub const ALERT_ACTOR: &str = "auditlog-serve:alerts";

/// The metadata members of an `alert.triggered` event, which are also the notification's
/// `alert` object, in this order.
const ALERT_KEYS: [&str; 9] = [
    "rule",
    "per",
    "key",
    "count",
    "at_least",
    "within_secs",
    "records",
    "first_recorded_at",
    "last_recorded_at",
];

/// Starts evaluating `rules` and the delivery worker, in the background: ingest and readiness
/// do not wait. Both stop when the server starts stopping.
///
/// What a restart guarantees ([`catch_up`] has the details):
/// - every record committed while no server ran is evaluated once the next one starts, in
///   order, with its own `recorded_at`; the windows are rebuilt from the records before the
///   cursor, so a burst that spans a stop fires;
/// - no record is alerted twice by one rule: the cursor may lag (a crash repeats the records
///   after it), but a firing that names a record an alert of the same rule named in the log
///   is neither appended nor notified;
/// - every alert's notification is delivered at least once, unless given up after its last
///   attempt: those not settled at a stop or crash are resent by the next start.
///
/// The tree's size is read here, before this returns, not in the background task: the
/// caller starts accepting events after this call, and a task scheduled late would
/// otherwise take the records posted in between for records of an earlier run (with no
/// cursor, it would never evaluate them).
pub fn start(state: &AppState, rules: Rules) -> Arc<AlertMetrics> {
    let metrics = Arc::new(AlertMetrics::new(&rules));
    let log = state.log().clone();
    let tail = log.end_seq();
    let stopping = state.stopping();
    let task_metrics = metrics.clone();
    tokio::spawn(async move {
        let Some(plan) = plan(&log, tail, &rules, &task_metrics).await else {
            return;
        };
        let (queue, worker) = webhook::start(
            rules.delivery.clone(),
            rules.client.clone(),
            task_metrics.clone(),
            stopping.clone(),
            webhook::Backlog {
                log: log.clone(),
                rules: rules.clone(),
                from: plan.notify_from,
                until: plan.tail,
            },
        );
        let cursor = CursorWriter {
            path: cursor::path(log.dir()),
            saved: cursor::Saved {
                next_seq: plan.from,
                notify_from: plan.notify_from,
            },
            evaluated: plan.from,
            progress: queue.progress().clone(),
        };
        let (read_log, read_rules) = (log.clone(), rules.clone());
        let logged = read_blocking(move || {
            LoggedAlerts::read(&read_log, &read_rules, plan.warm_from, plan.tail)
        })
        .await;
        let logged = match logged {
            Ok(logged) => logged,
            Err(e) => {
                eprintln!(
                    "auditlog serve: alerts stopped: reading the earlier alerts failed: {}",
                    e.escape_debug()
                );
                return;
            }
        };
        task_metrics.next_seq.store(plan.from, Ordering::Relaxed);
        let mut run = Run {
            log,
            eval: Evaluator::new(&rules),
            rules,
            metrics: task_metrics,
            queue,
            logged,
            plan,
            cursor,
        };
        run.follow(stopping).await;
        // The final save waits for the worker, so it holds the worker's last progress.
        let _ = worker.await;
        run.cursor.flush(&run.metrics).await;
    });
    metrics
}

/// Reads the cursor and plans the run ([`catch_up::plan`]) for a log of `tail` records at
/// the start: a damaged cursor is reported on stderr and in
/// `auditlog_alert_cursor_damaged_total`, and a missing one is created. `None` when the
/// cursor could not be created or the log not read.
async fn plan(
    log: &Arc<AuditLog>,
    tail: u64,
    rules: &Rules,
    metrics: &AlertMetrics,
) -> Option<Plan> {
    let path = cursor::path(log.dir());
    let window = catch_up::longest_window(rules);
    let (read_log, read_path) = (log.clone(), path.clone());
    let planned = read_blocking(move || {
        let start = cursor::load(&read_path, tail);
        catch_up::plan(&read_log, &start, window, tail).map(|plan| (start, plan))
    })
    .await;
    let (start, plan) = match planned {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "auditlog serve: alerts stopped: the log could not be read to plan the catch-up: {}",
                e.escape_debug()
            );
            return None;
        }
    };
    match &start {
        cursor::Start::Damaged(why) => {
            metrics.cursor_damaged.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "auditlog serve: the alert cursor is damaged ({}): evaluating the {} records from seq {} (those within the longest rule window, {} s, of the newest, at most {}); older records are not evaluated again, and the notifications of the alerts from seq {} on are sent again",
                why.escape_debug(),
                plan.tail - plan.from,
                plan.from,
                window.as_secs(),
                catch_up::CATCH_UP_MAX_RECORDS,
                plan.notify_from,
            );
        }
        cursor::Start::NoCursor => {
            let saved = cursor::Saved {
                next_seq: plan.from,
                notify_from: plan.notify_from,
            };
            if let Err(e) = save_cursor(path, saved).await {
                metrics
                    .cursor_write_failures
                    .fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "auditlog serve: alerts stopped: the alert cursor could not be created: {}",
                    e.to_string().escape_debug()
                );
                return None;
            }
        }
        cursor::Start::Resume(_) => {}
    }
    Some(plan)
}

/// Runs a blocking read of the log off the async threads; a failure, or a panic of the
/// read, as its message.
async fn read_blocking<T: Send + 'static>(
    read: impl FnOnce() -> auditlog::Result<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(read).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// [`cursor::save`] off the async threads (it fsyncs).
async fn save_cursor(path: PathBuf, saved: cursor::Saved) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || cursor::save(&StdFileSystem, &path, saved))
        .await
        .map_err(std::io::Error::other)?
}

/// Saves the cursor at most every [`CURSOR_EVERY`], after the records before it were
/// evaluated and the notifications before its `notify_from` settled.
struct CursorWriter {
    path: PathBuf,
    saved: cursor::Saved,
    evaluated: u64,
    progress: Arc<webhook::Progress>,
}

/// How often the cursor is saved while records are evaluated.
const CURSOR_EVERY: Duration = Duration::from_secs(1);

impl CursorWriter {
    /// Saves the cursor if evaluation or delivery moved since it was last saved. A failure is
    /// reported and counted; the cursor then lags, which is safe (see [`start`]).
    async fn flush(&mut self, metrics: &AlertMetrics) {
        let next = cursor::Saved {
            next_seq: self.evaluated,
            notify_from: self.progress.notify_from(),
        };
        if next == self.saved {
            return;
        }
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
    eval: Evaluator,
    rules: Rules,
    metrics: Arc<AlertMetrics>,
    queue: webhook::Queue,
    /// The alerts earlier runs logged for the records this run reads again.
    logged: LoggedAlerts,
    plan: Plan,
    cursor: CursorWriter,
}

impl Run {
    /// Reads every record from the plan's warm-up on, saving the cursor every second, until
    /// the server stops.
    async fn follow(&mut self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let mut stream = self.log.stream(&Query::default(), self.plan.warm_from);
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
            match next {
                None => break,
                Some(Ok(record)) => self.evaluate(&record).await,
                Some(Err(e)) => {
                    eprintln!(
                        "auditlog serve: alerts stopped: reading the log failed: {}",
                        e.to_string().escape_debug()
                    );
                    break;
                }
            }
        }
    }

    /// Feeds one record to the windows and fires what it causes, unless it is in the
    /// warm-up (evaluated by an earlier run) or a logged alert already named its records.
    async fn evaluate(&mut self, record: &Record) {
        let firings = self.eval.feed(record);
        self.metrics
            .untracked
            .store(self.eval.untracked, Ordering::Relaxed);
        if record.seq >= self.plan.from {
            for firing in firings {
                if self.logged.named_any(&firing) {
                    self.metrics.replay_skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                fire(
                    &self.log,
                    &self.rules,
                    &self.metrics,
                    &self.queue,
                    record,
                    firing,
                )
                .await;
            }
            self.cursor.evaluated = record.seq + 1;
            self.metrics
                .next_seq
                .store(record.seq + 1, Ordering::Relaxed);
        }
        for (rule, key) in self.logged.fired_at(record.seq) {
            self.eval.forget(rule, &key);
        }
        if record.seq + 1 == self.plan.tail {
            // Past the records of earlier runs: nothing logged can apply any more.
            self.logged = LoggedAlerts::default();
            eprintln!(
                "auditlog serve: alerts caught up to seq {}: windows rebuilt from {} records before seq {}, {} records evaluated since",
                self.plan.tail,
                self.plan.from - self.plan.warm_from,
                self.plan.from,
                self.plan.tail - self.plan.from,
            );
        }
    }
}

/// The `alert` object of a notification, from an alert's metadata: the same members in the
/// same order whether built when it fired or read back from the log.
fn alert_object(metadata: &Value) -> Value {
    let members: Map<String, Value> = ALERT_KEYS
        .iter()
        .map(|k| ((*k).to_string(), metadata[*k].clone()))
        .collect();
    Value::Object(members)
}

/// The body of an alert's notification: a function of its `alert.triggered` record alone,
/// so that the one resent after a restart is byte for byte the one sent first. `event` is
/// the record's receipt with the smallest tree that holds it (`seq + 1`): the size of the
/// group it was committed in is not in the log.
fn notification_body(
    alert: &Value,
    seq: u64,
    recorded_at: Timestamp,
    leaf_hash: Hash,
    tenant: Option<&str>,
) -> Vec<u8> {
    let receipt = Receipt {
        seq,
        recorded_at,
        leaf_hash,
        tree_size: seq + 1,
    };
    let body = json!({
        "alert": alert_object(alert),
        "event": crate::ingest::receipt_json(&receipt),
        "tenant": tenant,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The notification of a logged `alert.triggered` record, if its rule (by name, in the
/// current rules file) has a webhook.
fn notification_for(record: &LazyRecord, rules: &Rules) -> Option<webhook::Notification> {
    let event = record.event();
    if event.action() != ALERT_ACTION || event.actor_id() != ALERT_ACTOR {
        return None;
    }
    let metadata: Value = serde_json::from_str(event.metadata_json()?).ok()?;
    let name = metadata["rule"].as_str()?;
    let webhook = rules
        .rules
        .iter()
        .find(|r| r.name == name)?
        .webhook
        .clone()?;
    let leaf = leaf_hash(
        record.seq(),
        record.recorded_at().as_nanos(),
        &payload_digest(record.payload()),
    );
    Some(webhook::Notification {
        webhook,
        alert_seq: record.seq(),
        body: notification_body(
            &metadata,
            record.seq(),
            record.recorded_at(),
            leaf,
            event.tenant(),
        ),
    })
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
    for key in ALERT_KEYS {
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
        queue.offer(webhook::Notification {
            webhook: webhook.clone(),
            alert_seq: receipt.seq,
            body: notification_body(
                &alert,
                receipt.seq,
                receipt.recorded_at,
                receipt.leaf_hash,
                firing.tenant.as_deref(),
            ),
        });
    }
}
