//! The alert counters of `/metrics` (docs/SERVER.md, "Metrics").

use super::rules::Rules;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Notifications of earlier runs' alerts sent again at the start.
    pub webhook_resent: AtomicU64,
    /// Records of a new key not tracked (a rule had too many live keys).
    pub untracked: AtomicU64,
    /// The next seq the evaluator reads.
    pub next_seq: AtomicU64,
    /// Alert cursors found damaged or beyond the log at start (a bounded catch-up instead).
    pub cursor_damaged: AtomicU64,
    /// Cursor saves that failed.
    pub cursor_write_failures: AtomicU64,
    /// Firings of a replay not repeated: their `alert.triggered` event was already logged.
    pub replay_skipped: AtomicU64,
}

impl AlertMetrics {
    pub(super) fn new(rules: &Rules) -> Self {
        AlertMetrics {
            names: rules.rules.iter().map(|r| r.name.clone()).collect(),
            fired: rules.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            append_failures: AtomicU64::new(0),
            webhook_queued: AtomicU64::new(0),
            webhook_delivered: AtomicU64::new(0),
            webhook_failed_attempts: AtomicU64::new(0),
            webhook_given_up: AtomicU64::new(0),
            webhook_dropped: AtomicU64::new(0),
            webhook_resent: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            cursor_damaged: AtomicU64::new(0),
            cursor_write_failures: AtomicU64::new(0),
            replay_skipped: AtomicU64::new(0),
        }
    }

    /// Counts a firing of rule `i`.
    pub(super) fn count_fired(&self, i: usize) {
        self.fired[i].fetch_add(1, Ordering::Relaxed);
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
                "auditlog_alert_cursor_damaged_total",
                "counter",
                "Alert cursors found unreadable or beyond the log at start (a bounded catch-up instead)",
                get(&self.cursor_damaged),
            ),
            (
                "auditlog_alert_cursor_write_failures_total",
                "counter",
                "Alert cursor saves that failed (the cursor lags)",
                get(&self.cursor_write_failures),
            ),
            (
                "auditlog_alert_replay_skipped_total",
                "counter",
                "Firings of a replay not repeated because their alert.triggered event was already in the log",
                get(&self.replay_skipped),
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
                "Notifications dropped because the delivery queue was full (resent at the next start)",
                get(&self.webhook_dropped),
            ),
            (
                "auditlog_alert_webhook_resent_total",
                "counter",
                "Notifications of alerts logged before this start that were sent again (at least once)",
                get(&self.webhook_resent),
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
