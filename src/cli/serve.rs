//! `auditlog serve`: the audit service (crates/server), configured from flags.

use super::{CliError, DirArg};
use auditlog::Durability;
use auditlog::checkpoint::NoteSigner;
use auditlog_server::serve::ServeError;
use auditlog_server::state::Limits;
use auditlog_server::{ServerConfig, run as run_server};
use std::net::SocketAddr;
use std::path::PathBuf;
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
    let config = ServerConfig {
        dir: args.dir.dir,
        listen: args.listen,
        socket: args.socket,
        durability: args.durability,
        signing_key,
        master_key: args.master_key.load()?,
        limits,
        drain_timeout: Duration::from_secs(args.drain_timeout),
    };
    run_server(config).map_err(|e| match e {
        ServeError::Usage(m) => CliError::Usage(m),
        ServeError::Failed(m) => CliError::Failed(auditlog::Error::Io {
            context: "serve".into(),
            source: std::io::Error::other(m),
        }),
    })
}
