//! [`AppState`]: what every handler shares.

use crate::alerts::AlertMetrics;
use crate::auth::Caller;
use crate::error::Problem;
use crate::maintenance::MaintenanceMetrics;
use crate::metrics::Metrics;
use crate::tokens::TokenCache;
use crate::verify_job::VerifyJob;
use auditlog::checkpoint::CheckpointSigner;
use auditlog::privacy::Reveal;
use auditlog::{AuditLog, Event, EventLimits, Receipt, Record};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::watch;

/// Limits on what one request may carry (413 / 422 beyond them).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most bytes of a request body (HTTP) or frame (socket). Default 16 MiB.
    pub max_body_bytes: usize,
    /// Most events in one request. Default 10,000.
    pub max_batch_events: usize,
    /// Most records one page of `GET /v1/events` returns. Default 1,000.
    pub max_page: usize,
    /// The engine's event limits (`max_event_bytes` among them).
    pub event: EventLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_batch_events: 10_000,
            max_page: 1_000,
            event: EventLimits::default(),
        }
    }
}

/// What every handler shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    log: Arc<AuditLog>,
    tokens: TokenCache,
    limits: Limits,
    metrics: Metrics,
    signer: Option<Arc<CheckpointSigner>>,
    /// Set by the first SIGTERM/SIGINT: writes are refused from then on.
    draining: AtomicBool,
    /// Becomes `true` at the same moment, for streams to end.
    stopping: watch::Sender<bool>,
    started: Instant,
    /// The background verification (`/v1/admin/verify`).
    verify: VerifyJob,
    /// The alert counters, once alerts run (`--alerts`).
    alerts: OnceLock<Arc<AlertMetrics>>,
    /// The maintenance counters, once the schedule runs.
    maintenance: OnceLock<Arc<MaintenanceMetrics>>,
}

impl AppState {
    /// The state of a server of `log`.
    pub fn new(
        log: Arc<AuditLog>,
        tokens: TokenCache,
        limits: Limits,
        signer: Option<Arc<CheckpointSigner>>,
    ) -> Self {
        AppState(Arc::new(Shared {
            tokens,
            limits,
            metrics: Metrics::default(),
            signer,
            draining: AtomicBool::new(false),
            stopping: watch::channel(false).0,
            started: Instant::now(),
            verify: VerifyJob::open(log.dir(), Arc::new(auditlog::fs::StdFileSystem)),
            log,
            alerts: OnceLock::new(),
            maintenance: OnceLock::new(),
        }))
    }

    /// Starts evaluating alert rules over every record committed from now on (see
    /// [`crate::alerts`]). Once per server: a second call is ignored.
    pub fn start_alerts(&self, rules: crate::alerts::rules::Rules) {
        self.0
            .alerts
            .get_or_init(|| crate::alerts::start(self, rules));
    }

    /// The alert counters, if alerts run.
    pub fn alerts(&self) -> Option<&Arc<AlertMetrics>> {
        self.0.alerts.get()
    }

    /// Starts retention and compaction on `schedule` (see [`crate::maintenance`]). Once per
    /// server: a second call is ignored.
    pub fn start_maintenance(&self, schedule: crate::maintenance::Schedule) {
        self.0
            .maintenance
            .get_or_init(|| crate::maintenance::start(self, schedule));
    }

    /// The maintenance counters, if the schedule runs.
    pub fn maintenance(&self) -> Option<&Arc<MaintenanceMetrics>> {
        self.0.maintenance.get()
    }

    /// The log.
    pub fn log(&self) -> &Arc<AuditLog> {
        &self.0.log
    }

    /// The token store as last read.
    pub fn tokens(&self) -> &TokenCache {
        &self.0.tokens
    }

    /// The request limits.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The checkpoint signer given with `--key`, if any.
    pub fn signer(&self) -> Option<&Arc<CheckpointSigner>> {
        self.0.signer.as_ref()
    }

    /// The background verification.
    pub fn verify_job(&self) -> &VerifyJob {
        &self.0.verify
    }

    /// How `caller` reads the protected values of this log (docs/PRIVACY.md, "Reading over
    /// HTTP"): `None` if the log has no privacy policy; `[protected]` for everyone if the
    /// server has no master key; in clear for tokens with the `pii` permission; masked
    /// (`a***@example.com`, `203.0.113.0/24`) for the others. Erased values read `[erased]`.
    pub fn reveal_for(&self, caller: &Caller) -> Option<Reveal> {
        let vault = self.0.log.vault()?;
        Some(match (vault.has_master_key(), caller.pii) {
            (false, _) => Reveal::Protected,
            (true, true) => Reveal::Plaintext,
            (true, false) => Reveal::Masked,
        })
    }

    /// `record` as `caller` may see it: every read path (JSON API, export, stream, console)
    /// passes its records through here before they are serialised.
    pub fn present(&self, caller: &Caller, record: Record) -> Record {
        match (self.0.log.vault(), self.reveal_for(caller)) {
            (Some(vault), Some(mode)) => vault.reveal(&record, mode),
            _ => record,
        }
    }

    /// `event` (a read's audit event) with how the caller saw personal data
    /// (`metadata.reveal`: plaintext, masked or protected), on a log with a privacy policy:
    /// every plaintext read of personal data is itself recorded.
    pub fn mark_reveal(&self, caller: &Caller, event: Event) -> Event {
        match self.reveal_for(caller) {
            None => event,
            Some(mode) => event.metadata(
                "reveal",
                match mode {
                    Reveal::Plaintext => "plaintext",
                    Reveal::Masked => "masked",
                    Reveal::Protected => "protected",
                },
            ),
        }
    }

    /// How long the server has run.
    pub fn uptime_secs(&self) -> u64 {
        self.0.started.elapsed().as_secs()
    }

    /// Starts the stop: new writes are refused (503) and streams end.
    pub fn begin_drain(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
        self.0.stopping.send_replace(true);
    }

    /// Whether the server is stopping.
    pub fn draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    /// A receiver that becomes `true` when the server starts stopping.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.0.stopping.subscribe()
    }

    /// 503 if the server is stopping.
    pub fn refuse_if_draining(&self) -> Result<(), Problem> {
        match self.draining() {
            true => Err(Problem::unavailable(
                "shutting-down",
                "the server is stopping and accepts no more writes: retry against its successor",
                5,
            )),
            false => Ok(()),
        }
    }

    /// Runs a blocking engine call (a query, a proof: they read files) off the async workers.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AuditLog) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let log = self.0.log.clone();
        tokio::task::spawn_blocking(move || f(&log))
            .await
            .map_err(|e| Problem::internal(format!("a read task failed: {e}")))?
    }

    /// Appends `events` as one batch through the engine's non-blocking path and waits for
    /// the durable receipts. A full queue is 503 at once (never unbounded memory); an invalid
    /// event fails the whole batch and writes nothing.
    pub async fn append(&self, events: &[Event]) -> Result<Vec<Receipt>, Problem> {
        self.refuse_if_draining()?;
        let metrics = self.metrics();
        let handle = self.0.log.try_append_batch(events).map_err(|e| {
            if matches!(e, auditlog::AppendError::QueueFull) {
                metrics.queue_full.inc();
            }
            Problem::from(e)
        })?;
        let n = events.len() as u64;
        metrics.appends_in_flight.fetch_add(n, Ordering::Relaxed);
        let queued = Instant::now();
        let result = handle.await;
        metrics.appends_in_flight.fetch_sub(n, Ordering::Relaxed);
        let receipts = result?;
        metrics.ack_latency.observe(queued.elapsed());
        metrics.events_appended.add(n);
        Ok(receipts)
    }

    /// Appends the event of a read (see [`read_event`]) and waits for it to be durable, so
    /// no read goes unrecorded: the read's answer is sent only after.
    pub async fn audit_read(&self, event: Event) -> Result<(), Problem> {
        let receipt = self.0.log.append_async(&event).await;
        receipt.map(|_| ()).map_err(Problem::from)
    }
}

/// The `audit.read` (or `audit.export`) event of a read by `caller`: the token as actor
/// (`token:<id>`, kind `token`, its name), and in metadata the endpoint, the role, the
/// filters and the number of records.
pub fn read_event(
    caller: &Caller,
    action: &str,
    endpoint: &str,
    filters: Value,
    count: u64,
) -> Event {
    let mut event = Event::new(format!("token:{}", caller.id), action)
        .actor_kind("token")
        .metadata("endpoint", endpoint)
        .metadata("role", caller.role.as_str())
        .metadata("filters", filters)
        .metadata("count", count);
    if let Some(name) = &caller.name {
        event = event.actor_name(name.clone());
    }
    event
}
