//! `auditlog serve`: the audit service (crates/server), configured from flags.

use super::{CliError, DirArg};
use auditlog::Durability;
use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::{
    ArchiveDestination, ArchivePolicy, CompactOptions, MaintenancePolicy, RetentionPolicy,
};
use auditlog_objstore::S3Destination;
use auditlog_server::alerts::rules::Rules;
use auditlog_server::maintenance::Schedule;
use auditlog_server::serve::ServeError;
use auditlog_server::state::Limits;
use auditlog_server::{ServerConfig, run as run_server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The HTTP address; port 0 takes any free port (the start line says which). Use a
    /// loopback or private address: /metrics, /healthz and /openapi.json need no token.
    #[arg(long, default_value = "127.0.0.1:7600", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Also listen on this Unix socket (length-prefixed JSON, docs/SERVER.md).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// When an append is acknowledged: `immediate` (after fdatasync, the default),
    /// `periodic:MS` (after the write, synced at least every MS milliseconds) or
    /// `os-buffered` (after the write; synced at seals and on stop).
    #[arg(long, default_value = "immediate", value_name = "MODE", value_parser = parse_durability)]
    durability: Durability,
    /// Sign checkpoints with this private key (from `auditlog keygen`).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Most bytes of one request body or socket frame.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Most events in one request.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_batch: usize,
    /// Most bytes of one encoded event.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_event_bytes: usize,
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
    /// Seconds a stop waits for requests in flight.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    drain_timeout: u64,
    /// Alert rules (JSON, docs/SERVER.md "Alerts"), checked at start: each firing appends an
    /// `alert.triggered` event and notifies the rule's webhook.
    #[arg(long, value_name = "FILE")]
    alerts: Option<PathBuf>,
    /// Retention: delete sealed segments whose newest record is older than this many days
    /// (run at start and then every --maintenance-every).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..=36_500))]
    retention_max_age_days: Option<u64>,
    /// Retention: delete the oldest sealed segments while the log's files exceed this many bytes.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    retention_max_bytes: Option<u64>,
    /// Compaction: compress sealed segments whose newest record is older than this many days
    /// into cold (zstd) segments (0: every sealed segment).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(0..=36_500))]
    compact_older_than_days: Option<u64>,
    /// Archiving: move sealed segments (compacted first) to S3-compatible object storage,
    /// s3://BUCKET/PREFIX, on the maintenance schedule, as `auditlog archive --to` does. The
    /// bucket and credentials (the --s3-* flags or AWS_* environment) are checked at start.
    /// --key, if given, also signs the archive head.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive_to: Option<String>,
    /// Archiving: only segments whose newest record is older than this many days (default:
    /// every sealed segment but the newest).
    #[arg(long, value_name = "DAYS", requires = "archive_to", value_parser = clap::value_parser!(u64).range(1..=36_500))]
    archive_older_than_days: Option<u64>,
    #[command(flatten)]
    s3: super::s3::S3Args,
    /// Seal the active segment at this many bytes (default 64 MiB; at least 65536).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(65_536..4_294_967_296))]
    segment_max_bytes: Option<u64>,
    /// Seconds between maintenance runs (retention, archiving, compaction); the first runs at
    /// start.
    #[arg(long, default_value_t = 3600, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    maintenance_every: u64,
}

fn parse_durability(text: &str) -> Result<Durability, String> {
    match text {
        "immediate" => Ok(Durability::Immediate),
        "os-buffered" => Ok(Durability::OsBuffered),
        _ => {
            let ms = text
                .strip_prefix("periodic:")
                .map(|v| v.strip_suffix("ms").unwrap_or(v))
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    format!(
                        "{text:?}: give immediate, periodic:MS (e.g. periodic:50) or os-buffered"
                    )
                })?;
            Ok(Durability::Periodic(Duration::from_millis(ms)))
        }
    }
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let signing_key = match &args.key {
        Some(path) => {
            let text = super::verify::read_text(path, "private key")?;
            Some(NoteSigner::from_text(&text).map_err(|e| CliError::Usage(e.to_string()))?)
        }
        None => None,
    };
    let mut limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_batch_events: args.max_batch,
        ..Limits::default()
    };
    limits.event.max_event_bytes = args.max_event_bytes;
    let alerts = match &args.alerts {
        Some(path) => Some(Rules::load(path).map_err(CliError::Usage)?),
        None => None,
    };
    let retention = (args.retention_max_age_days.is_some() || args.retention_max_bytes.is_some())
        .then(|| RetentionPolicy {
            max_age: args.retention_max_age_days.map(super::days),
            max_total_bytes: args.retention_max_bytes,
        });
    let compact = args.compact_older_than_days.map(|d| CompactOptions {
        min_age: (d > 0).then(|| super::days(d)),
        ..CompactOptions::default()
    });
    // The store is reached (bucket and credentials checked) before the log is opened: a
    // wrong credential or a missing bucket stops the start with its cause.
    let archive = match &args.archive_to {
        Some(url) => {
            let url = super::s3::s3_url(url, "--archive-to")?;
            let store = args.s3.connect(&url)?;
            let destination: Arc<dyn ArchiveDestination> =
                Arc::new(S3Destination::with_signer(store, signing_key.clone()));
            let policy = ArchivePolicy {
                min_age: args.archive_older_than_days.map(super::days),
                max_segments: None,
            };
            Some((destination, policy))
        }
        None => None,
    };
    // The store's client owns a runtime, which must not be dropped inside the server's: this
    // handle outlives the server, so the last reference goes here, after it stopped.
    let store_handle = archive.as_ref().map(|(d, _)| Arc::clone(d));
    let scheduled = retention.is_some() || compact.is_some() || archive.is_some();
    let maintenance = scheduled.then(|| Schedule {
        policy: MaintenancePolicy {
            retention,
            archive,
            compact,
            ..MaintenancePolicy::default()
        },
        every: Duration::from_secs(args.maintenance_every),
    });
    let config = ServerConfig {
        dir: args.dir.dir,
        listen: args.listen,
        socket: args.socket,
        durability: args.durability,
        signing_key,
        master_key: args.master_key.load()?,
        limits,
        drain_timeout: Duration::from_secs(args.drain_timeout),
        alerts,
        maintenance,
        segment_max_bytes: args.segment_max_bytes,
    };
    let result = run_server(config);
    drop(store_handle);
    result.map_err(|e| match e {
        ServeError::Usage(m) => CliError::Usage(m),
        ServeError::Failed(m) => CliError::Failed(auditlog::Error::Io {
            context: "serve".into(),
            source: std::io::Error::other(m),
        }),
    })
}
