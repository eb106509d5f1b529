//! Alerts (`auditlog serve --alerts FILE`, docs/SERVER.md "Alerts"): rules evaluated over
//! every record the log commits, whoever appended it (HTTP, the Unix socket, the server's own
//! `audit.*` events). When a rule fires the server appends an `alert.triggered` event naming
//! the rule, the key and the records that caused it (so the alert is itself in the tree and
//! provable), then queues a JSON notification to the rule's webhook.
//!
//! The evaluator follows the log with the engine's live tail ([`auditlog::RecordStream`]), a
//! reader beside the writer: ingest never waits for it, and a slow webhook only fills the
//! bounded delivery queue ([`webhook`]). It starts at the tree's end when the server starts:
//! records committed while no server ran are not evaluated, and windows start empty.
//!
//! - [`rules`]: the rules file, read and checked at start;
//! - [`eval`]: the sliding windows;
//! - [`webhook`]: the delivery queue, retries, the HMAC signature.

pub mod eval;
pub mod rules;
pub mod webhook;

use crate::state::AppState;
use auditlog::query::Query;
use auditlog::{AuditLog, Event, Record, Timestamp};
use eval::{Evaluator, Firing};
use rules::Rules;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The action of the events alerts append.
pub const ALERT_ACTION: &str = "alert.triggered";
/// Their actor id (kind `system`).
pub const ALERT_ACTOR: &str = "auditlog-serve:alerts";

/// The alert counters of `/metrics`.
#[derive(Debug)]
pub struct AlertMetrics {
    names: Vec<String>,
    fired: Vec<AtomicU64>,
    /// `alert.triggered` events that could not be appended (the log refused them).
    pub append_failures: AtomicU64,
    /// Notifications waiting in the queue.
    pub webhook_queued: AtomicU64,
    /// Notifications delivered (a 2xx answer).
    pub webhook_delivered: AtomicU64,
    /// Attempts that failed (no connection, no answer in time, not 2xx).
    pub webhook_failed_attempts: AtomicU64,
    /// Notifications abandoned after their last attempt.
    pub webhook_given_up: AtomicU64,
    /// Notifications dropped because the queue was full.
    pub webhook_dropped: AtomicU64,
    /// Records of a new key not tracked (a rule had too many live keys).
    pub untracked: AtomicU64,
    /// The next seq the evaluator reads.
    pub next_seq: AtomicU64,
}

impl AlertMetrics {
    fn new(rules: &Rules) -> Self {
        AlertMetrics {
            names: rules.rules.iter().map(|r| r.name.clone()).collect(),
            fired: rules.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            append_failures: AtomicU64::new(0),
            webhook_queued: AtomicU64::new(0),
            webhook_delivered: AtomicU64::new(0),
            webhook_failed_attempts: AtomicU64::new(0),
            webhook_given_up: AtomicU64::new(0),
            webhook_dropped: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
        }
    }

    /// Times rule `i` fired.
    pub fn fired(&self, i: usize) -> u64 {
        self.fired[i].load(Ordering::Relaxed)
    }

    /// The Prometheus text of these counters. Rule names are checked to be letters, digits,
    /// `.`, `_` and `-` (rules.rs), so they need no escaping as label values.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        text.push_str(
            "# HELP auditlog_alert_rules Alert rules loaded.\n# TYPE auditlog_alert_rules gauge\n",
        );
        let _ = writeln!(text, "auditlog_alert_rules {}", self.names.len());
        text.push_str(
            "# HELP auditlog_alerts_fired_total Alerts fired (alert.triggered events appended), by rule.\n\
             # TYPE auditlog_alerts_fired_total counter\n",
        );
        for (i, name) in self.names.iter().enumerate() {
            let _ = writeln!(
                text,
                "auditlog_alerts_fired_total{{rule=\"{name}\"}} {}",
                self.fired(i)
            );
        }
        let counters = [
            (
                "auditlog_alert_append_failures_total",
                "counter",
                "alert.triggered events the log refused",
                get(&self.append_failures),
            ),
            (
                "auditlog_alert_records_untracked_total",
                "counter",
                "Records of a new key not counted because a rule tracked 100000 keys",
                get(&self.untracked),
            ),
            (
                "auditlog_alert_evaluated_seq",
                "gauge",
                "The next sequence number the alert evaluator reads",
                get(&self.next_seq),
            ),
            (
                "auditlog_alert_webhook_queue",
                "gauge",
                "Notifications waiting for delivery",
                get(&self.webhook_queued),
            ),
            (
                "auditlog_alert_webhook_delivered_total",
                "counter",
                "Notifications delivered (2xx)",
                get(&self.webhook_delivered),
            ),
            (
                "auditlog_alert_webhook_failed_attempts_total",
                "counter",
                "Delivery attempts that failed (retried with back-off)",
                get(&self.webhook_failed_attempts),
            ),
            (
                "auditlog_alert_webhook_given_up_total",
                "counter",
                "Notifications abandoned after their last attempt",
                get(&self.webhook_given_up),
            ),
            (
                "auditlog_alert_webhook_dropped_total",
                "counter",
                "Notifications dropped because the delivery queue was full",
                get(&self.webhook_dropped),
            ),
        ];
        for (name, kind, help, value) in counters {
            let _ = write!(
                text,
                "# HELP {name} {help}.\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        }
        text
    }
}

/// Starts evaluating `rules` over every record committed from now on, and the delivery
/// worker. Both stop when the server starts stopping.
pub fn start(state: &AppState, rules: Rules) -> Arc<AlertMetrics> {
    let metrics = Arc::new(AlertMetrics::new(&rules));
    let queue = webhook::start(
        rules.delivery.clone(),
        rules.client.clone(),
        metrics.clone(),
        state.stopping(),
    );
    let log = state.log().clone();
    let from = log.tree_head().size;
    metrics.next_seq.store(from, Ordering::Relaxed);
    let mut stream = log.stream(&Query::default(), from);
    let mut stopping = state.stopping();
    let task_metrics = metrics.clone();
    tokio::spawn(async move {
        let metrics = task_metrics;
        let mut eval = Evaluator::new(&rules);
        loop {
            let next = tokio::select! {
                r = stream.next_record() => r,
                _ = stopping.wait_for(|s| *s) => break,
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
            metrics.next_seq.store(record.seq + 1, Ordering::Relaxed);
            metrics.untracked.store(eval.untracked, Ordering::Relaxed);
            for firing in firings {
                fire(&log, &rules, &metrics, &queue, &record, firing).await;
            }
        }
    });
    metrics
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
    metrics.fired[firing.rule].fetch_add(1, Ordering::Relaxed);
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
