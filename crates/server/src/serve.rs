//! Starting and stopping: [`run`] opens (or creates) the log, binds the listeners, logs one
//! line when started and one when stopped, and on SIGTERM or SIGINT stops cleanly:
//!
//! 1. writes are refused from the signal on (503 `shutting-down`), streams end;
//! 2. requests in flight finish (their appends are already queued: each gets its durable
//!    receipt and its answer), connections close;
//! 3. the log is closed (everything queued written and synced), then the stop line.
//!
//! Every event acknowledged before the signal, or in flight at it, is durable when the
//! process exits. A second signal does not cut this short: only the drain timeout does, and
//! even then the log is synced before exit.

use crate::error::Problem;
use crate::routes::router;
use crate::state::{AppState, Limits};
use crate::tokens::TokenCache;
use auditlog::checkpoint::NoteSigner;
use auditlog::{AuditLog, Durability};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// What `auditlog serve` was asked for.
#[derive(Debug)]
pub struct ServerConfig {
    /// The log directory (created if missing or empty).
    pub dir: PathBuf,
    /// The HTTP address (port 0: any free port, printed in the start line).
    pub listen: SocketAddr,
    /// A Unix socket to listen on as well (docs/SERVER.md, "The Unix socket").
    pub socket: Option<PathBuf>,
    /// When an append is acknowledged.
    pub durability: Durability,
    /// Signs checkpoints (at each seal, and for `GET /v1/checkpoint`).
    pub signing_key: Option<NoteSigner>,
    /// Wraps the subject keys of a log with a privacy policy (docs/PRIVACY.md): without it,
    /// appends of events with protected fields are refused (500 naming the cause).
    pub master_key: Option<auditlog::privacy::MasterKey>,
    /// Request limits.
    pub limits: Limits,
    /// How long a stop waits for requests in flight before closing anyway.
    pub drain_timeout: Duration,
    /// Alert rules (`--alerts FILE`, already checked), if any.
    pub alerts: Option<crate::alerts::rules::Rules>,
    /// Retention, archiving and compaction on a schedule, if any.
    pub maintenance: Option<crate::maintenance::Schedule>,
    /// Seal the active segment at this size (`None`: the engine's default, 64 MiB).
    pub segment_max_bytes: Option<u64>,
}

/// Why the server could not start or stop cleanly.
#[derive(Debug)]
pub enum ServeError {
    /// The request is wrong (a bad address, a directory that is not a log).
    Usage(String),
    /// Something failed (the log could not be opened, the port is taken).
    Failed(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Usage(m) | ServeError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ServeError {}

fn durability_name(d: Durability) -> String {
    match d {
        Durability::Immediate => "immediate".into(),
        Durability::Periodic(i) => format!("periodic:{}ms", i.as_millis()),
        Durability::OsBuffered => "os-buffered".into(),
    }
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(config: ServerConfig) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("auditlog-serve")
        .build()
        .map_err(|e| ServeError::Failed(format!("starting the runtime: {e}")))?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> Result<(), ServeError> {
    let mut builder = AuditLog::builder(&config.dir)
        .durability(config.durability)
        .event_limits(config.limits.event.clone());
    if let Some(key) = &config.signing_key {
        builder = builder.signing_key(key.clone());
    }
    if let Some(bytes) = config.segment_max_bytes {
        builder = builder.segment_max_bytes(bytes);
    }
    if let Some(key) = &config.master_key {
        builder = builder.master_key(key.clone());
    }
    let log = builder.open().map_err(|e| match e {
        e @ auditlog::OpenError::NotALog { .. } => ServeError::Usage(e.to_string()),
        e => ServeError::Failed(e.to_string()),
    })?;
    let log = Arc::new(log);
    let tokens = TokenCache::open(&config.dir).map_err(|e| ServeError::Failed(e.to_string()))?;
    let signer = config
        .signing_key
        .clone()
        .map(|k| Arc::new(auditlog::checkpoint::CheckpointSigner::new(k)));
    let state = AppState::new(log.clone(), tokens, config.limits.clone(), signer);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Failed(format!("listening on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Failed(format!("reading the bound address: {e}")))?;
    // Before the socket, which takes events as soon as it is bound, and before the start
    // line: a client that saw it finds every later record evaluated.
    if let Some(rules) = config.alerts.clone() {
        state.start_alerts(rules);
    }
    let socket = match &config.socket {
        Some(path) => Some(crate::socket::bind(path, state.clone())?),
        None => None,
    };
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| ServeError::Failed(format!("installing the SIGTERM handler: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| ServeError::Failed(format!("installing the SIGINT handler: {e}")))?;
    let records_at_start = log.end_seq();
    if let Some(schedule) = config.maintenance.clone() {
        state.start_maintenance(schedule);
    }
    eprintln!(
        "auditlog serve: started pid={} listen=http://{addr} socket={} dir={} durability={} records={} alert_rules={} maintenance={}",
        std::process::id(),
        config
            .socket
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string()),
        config.dir.display(),
        durability_name(config.durability),
        records_at_start,
        config.alerts.as_ref().map_or(0, |r| r.rules.len()),
        config
            .maintenance
            .as_ref()
            .map_or("-".into(), |m| format!("every:{}s", m.every.as_secs())),
    );
    let server = tokio::spawn(serve_http(listener, state.clone()));
    let why = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    let stop_started = Instant::now();
    state.begin_drain();
    let deadline = stop_started + config.drain_timeout;
    let mut clean = true;
    match tokio::time::timeout_at(deadline.into(), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            eprintln!("auditlog serve: the HTTP server failed: {e}");
            clean = false;
        }
        Ok(Err(e)) => {
            eprintln!("auditlog serve: the HTTP server task failed: {e}");
            clean = false;
        }
        Err(_) => {
            eprintln!("auditlog serve: requests still running after the drain timeout");
            clean = false;
        }
    }
    if let Some(socket) = socket
        && !socket.stop(deadline).await
    {
        clean = false;
    }
    drop(state);
    let closed = close_log(log, deadline).await;
    let head_after = match &closed {
        Ok(size) => *size,
        Err(_) => 0,
    };
    eprintln!(
        "auditlog serve: stopped ({why}) pid={} records={head_after} appended={} drain_ms={} clean={}",
        std::process::id(),
        head_after - records_at_start.min(head_after),
        stop_started.elapsed().as_millis(),
        clean && closed.is_ok(),
    );
    closed.map(|_| ()).map_err(|e| ServeError::Failed(e.detail))
}

/// Serves `state`'s router on `listener` until the state starts stopping
/// ([`AppState::begin_drain`]), then lets requests in flight finish. [`run`] uses it; tests
/// and embedders that build their own [`AppState`] (a log on an injected file system, say)
/// call it directly.
pub async fn serve_http(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let mut stopping = state.stopping();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|s| *s).await;
        })
        .await
}

/// Closes the log once no request holds it any more (syncing everything queued); if some
/// task still holds it at `deadline`, syncs it instead, so nothing acknowledged is lost.
async fn close_log(mut log: Arc<AuditLog>, deadline: Instant) -> Result<u64, Problem> {
    loop {
        match Arc::try_unwrap(log) {
            Ok(log) => {
                let size = log.end_seq();
                return tokio::task::spawn_blocking(move || log.close())
                    .await
                    .map_err(|e| Problem::internal(e.to_string()))?
                    .map(|()| size)
                    .map_err(Problem::from);
            }
            Err(shared) if Instant::now() >= deadline => {
                eprintln!(
                    "auditlog serve: the log is still in use at the drain timeout: syncing it"
                );
                let size = shared.end_seq();
                return tokio::task::spawn_blocking(move || shared.sync())
                    .await
                    .map_err(|e| Problem::internal(e.to_string()))?
                    .map(|()| size)
                    .map_err(Problem::from);
            }
            Err(shared) => {
                log = shared;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
