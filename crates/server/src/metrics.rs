//! `/metrics` in the Prometheus text format (version 0.0.4): counters, gauges and one
//! histogram, kept in atomics (no metrics crate: a dozen numbers do not need one).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the acknowledgement latency buckets.
const BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Everything `/metrics` shows that the server counts itself.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_appended: Counter,
    pub ingest_bytes: Counter,
    pub ingest_requests: Counter,
    pub queue_full: Counter,
    pub queries: Counter,
    pub exports: Counter,
    pub streams: Counter,
    pub proofs: Counter,
    pub auth_failures: Counter,
    pub client_errors: Counter,
    pub server_errors: Counter,
    /// Appends submitted and not yet acknowledged.
    pub appends_in_flight: AtomicU64,
    /// From queueing an append to its durable receipt (includes the group's fdatasync).
    pub ack_latency: Histogram,
}

/// Values read from the log when `/metrics` is asked.
#[derive(Debug)]
pub struct LogGauges {
    pub tree_size: u64,
    pub first_seq: u64,
    pub log_bytes: u64,
    pub segment_files: u64,
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self, log: &LogGauges) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "auditlog_events_appended_total",
            "Events acknowledged by this server.",
            self.events_appended.get(),
        );
        counter(
            "auditlog_ingest_bytes_total",
            "Bytes of ingest request bodies read.",
            self.ingest_bytes.get(),
        );
        counter(
            "auditlog_ingest_requests_total",
            "Ingest requests (HTTP and socket frames).",
            self.ingest_requests.get(),
        );
        counter(
            "auditlog_queue_full_total",
            "Ingest requests refused because the writer's queue was full.",
            self.queue_full.get(),
        );
        counter(
            "auditlog_queries_total",
            "Record queries, lookups and stats requests.",
            self.queries.get(),
        );
        counter(
            "auditlog_exports_total",
            "Exports started.",
            self.exports.get(),
        );
        counter(
            "auditlog_streams_total",
            "Event streams opened.",
            self.streams.get(),
        );
        counter(
            "auditlog_proofs_total",
            "Proofs and checkpoints served.",
            self.proofs.get(),
        );
        counter(
            "auditlog_auth_failures_total",
            "Requests with an unknown or revoked token.",
            self.auth_failures.get(),
        );
        counter(
            "auditlog_client_errors_total",
            "Answers with a 4xx status.",
            self.client_errors.get(),
        );
        counter(
            "auditlog_server_errors_total",
            "Answers with a 5xx status.",
            self.server_errors.get(),
        );
        let mut gauge = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            "auditlog_appends_in_flight",
            "Appends queued and not yet acknowledged (the writer's queue depth).",
            self.appends_in_flight.load(Ordering::Relaxed),
        );
        gauge(
            "auditlog_tree_size",
            "Records committed since the log began (the Merkle tree's size).",
            log.tree_size,
        );
        gauge(
            "auditlog_first_seq",
            "The oldest sequence number the directory holds.",
            log.first_seq,
        );
        gauge(
            "auditlog_log_bytes",
            "Bytes of segment files in the log directory.",
            log.log_bytes,
        );
        gauge(
            "auditlog_segment_files",
            "Segment files in the log directory.",
            log.segment_files,
        );
        let h = &self.ack_latency;
        let name = "auditlog_ack_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From queueing an append to its durable acknowledgement (the group's fdatasync included).\n# TYPE {name} histogram"
        );
        for (bound, bucket) in BOUNDS.iter().zip(&h.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
        out
    }
}
