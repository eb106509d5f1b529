//! The `auditlog` command line: each subcommand is a thin wrapper over library calls, in its
//! own module.
//!
//! Exit codes (also in README.md):
//! - 0: success (for `verify`: everything intact);
//! - 1: damage or a failed check was found (the output says where);
//! - 2: usage error: bad flags or arguments, malformed input (clap also uses 2);
//! - 3: the operation failed (I/O error, the log is locked, not a log, unreadable).

mod append;
mod archive;
mod checkpoint;
mod compact;
mod demo;
mod export;
mod filters;
mod get;
mod import;
mod keygen;
mod open;
mod output;
mod privacy;
mod progress;
mod prove;
mod query;
mod reindex;
mod restore;
mod retention;
mod s3;
mod seal;
mod serve;
mod stats;
mod table;
mod tail;
mod terminal;
mod token;
mod verify;
mod verify_proof;
mod verify_s3;
mod when;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code: damage or a failed check.
pub const EXIT_DAMAGE: u8 = 1;
/// Exit code: bad usage or malformed input.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the operation failed.
pub const EXIT_FAILED: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "auditlog",
    version,
    about = "An append-only, tamper-evident audit log: write, query and verify it.",
    after_help = "Every command that takes --dir also reads the AUDITLOG_DIR environment variable.\n\
                  Exit codes: 0 ok, 1 damage found, 2 usage error, 3 operation failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a realistic log from several producer threads, read it back and verify it.
    #[command(
        after_help = "Examples:\n  auditlog demo\n  auditlog demo --dir /tmp/demo --events 200000 --threads 4"
    )]
    Demo(demo::DemoArgs),
    /// Verify a log directory or a segment file: every record, hash, footer and the chain.
    #[command(
        after_help = "Exit codes: 0 intact, 1 damage found (each problem is listed), 2 usage error, 3 failed.\n\
                      Examples:\n  auditlog verify /var/log/audit          # or: auditlog verify --dir /var/log/audit\n  auditlog verify --json /var/log/audit\n  \
                      auditlog verify /var/log/audit --checkpoint cp.txt --public-key log.pub"
    )]
    Verify(verify::VerifyArgs),
    /// Make an Ed25519 key pair for signing checkpoints.
    #[command(
        after_help = "Example:\n  auditlog keygen --out ./audit-signer --name example.com/audit"
    )]
    Keygen(keygen::KeygenArgs),
    /// Sign a checkpoint of the log's current tree head (C2SP signed note) and print it.
    #[command(
        after_help = "The log must not be open by another writer (it takes the lock).\n\
                      Examples:\n  auditlog checkpoint --dir /var/log/audit --key ./audit-signer.key\n  \
                      auditlog checkpoint --dir /var/log/audit --latest"
    )]
    Checkpoint(checkpoint::CheckpointArgs),
    /// Print an inclusion or consistency proof as JSON.
    #[command(
        after_help = "Examples:\n  auditlog prove --dir /var/log/audit 12345 > proof.json\n  \
                      auditlog prove --dir /var/log/audit --consistency 1000 2000"
    )]
    Prove(prove::ProveArgs),
    /// Check a proof offline, without the log.
    #[command(
        after_help = "Exit codes: 0 the proof holds, 1 it does not, 2 malformed input.\n\
                      Example:\n  auditlog verify-proof proof.json --public-key ./audit-signer.pub"
    )]
    VerifyProof(verify_proof::VerifyProofArgs),
    /// Seal the active segment now.
    #[command(after_help = "Example:\n  auditlog seal --dir /var/lib/audit")]
    Seal(seal::SealArgs),
    /// Compress sealed segments into cold (zstd) segments.
    #[command(after_help = "Example:\n  auditlog compact --dir /var/lib/audit --older-than-days 7")]
    Compact(compact::CompactArgs),
    /// Move the oldest sealed segments into verifiable bundles in an archive directory or
    /// S3-compatible object storage.
    #[command(
        after_help = "Examples:\n  auditlog archive --dir /var/lib/audit --to /mnt/archive --older-than-days 90\n  AWS_ENDPOINT_URL=http://127.0.0.1:8333 auditlog archive --dir /var/lib/audit --to s3://audit/fleet"
    )]
    Archive(archive::ArchiveArgs),
    /// Rebuild a local log directory from its archive in object storage, every bundle
    /// checked before anything is written.
    #[command(
        after_help = "Exit codes: 0 restored, 1 the archive does not verify (nothing written), 2 usage error (DIR not empty, say), 3 failed.\n\
                      Example:\n  auditlog restore --from s3://audit/fleet --log-id 0123...cdef --to /var/lib/audit-restored"
    )]
    Restore(restore::RestoreArgs),
    /// Delete the oldest sealed segments by age or size, recording the cut first.
    #[command(
        after_help = "Examples:\n  auditlog retention --dir /var/lib/audit --max-age-days 365 --dry-run\n  auditlog retention --dir /var/lib/audit --max-bytes 10000000000"
    )]
    Retention(retention::RetentionArgs),
    /// Import JSON Lines: our own export, or another system's events through a mapping.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(import::ImportArgs),
    /// Find records: every filter of the query API, one page at a time.
    #[command(after_help = QUERY_EXAMPLES)]
    Query(query::QueryArgs),
    /// Print the newest matching records; with -f, keep printing new ones as they arrive.
    #[command(after_help = TAIL_EXAMPLES)]
    Tail(tail::TailArgs),
    /// Print one record by its sequence number, as JSON.
    #[command(
        after_help = "Examples:\n  auditlog get --dir ./audit 42\n  auditlog get 42 --compact   # with AUDITLOG_DIR set"
    )]
    Get(get::GetArgs),
    /// Write every matching record as JSON Lines, CSV or a JSON array, in constant memory.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(export::ExportArgs),
    /// Counts by action, actor, severity, outcome and day; files, sizes and the tree head.
    #[command(
        after_help = "Examples:\n  auditlog stats --dir ./audit\n  auditlog stats --dir ./audit --time-field occurred --top 5\n  auditlog stats --dir ./audit --actor pgustavo --json"
    )]
    Stats(stats::StatsArgs),
    /// Append one event, from flags or as JSON on standard input; prints its receipt.
    #[command(after_help = APPEND_EXAMPLES)]
    Append(append::AppendArgs),
    /// Rebuild every sealed segment's index file from the segment (derived data).
    #[command(
        after_help = "Takes the log's lock. Use after `verify` reported an index, or after                       restoring files from a backup.\nExample:\n  auditlog reindex --dir /var/lib/audit"
    )]
    Reindex(reindex::ReindexArgs),
    /// Run the audit service: HTTP (and a Unix socket) for appends, queries, exports, streams
    /// and proofs, with bearer tokens (README.md, "Running the server").
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(serve::ServeArgs),
    /// Manage the server's bearer tokens (stored as hashes in the log directory).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Create a log whose personal-data fields are encrypted per data subject.
    #[command(
        after_help = "Examples:\n  auditlog keygen --master --out /etc/audit/master.key\n  \
                      auditlog init --dir ./audit --protect actor.email,actor.name,ip,after.email=entity.id\n  \
                      auditlog append --dir ./audit --master-key-file /etc/audit/master.key --actor u1 --action login --ip 192.0.2.7"
    )]
    Init(privacy::InitArgs),
    /// Erase a data subject: destroy its key, so its protected values read [erased]. Every
    /// record, root and proof is unchanged.
    #[command(
        after_help = "Takes the log's lock; needs no master key.\nExample:\n  auditlog erase --dir ./audit --subject user:42"
    )]
    Erase(privacy::EraseArgs),
    /// Re-wrap every subject key of a log with a new master key, in one crash-safe rewrite.
    #[command(after_help = "Example:\n  auditlog keygen --master --out new.key\n  \
                      auditlog rotate-master-key --dir ./audit --master-key-file old.key --new-master-key-file new.key")]
    RotateMasterKey(privacy::RotateArgs),
}

/// Days as a duration, for the lifecycle commands' `--…-days` flags.
pub(crate) fn days(d: u64) -> std::time::Duration {
    std::time::Duration::from_secs(d.saturating_mul(86_400))
}

const IMPORT_EXAMPLES: &str = "Examples:
  auditlog import --dir ./audit export.jsonl              # our own export: no mapping needed
  auditlog import --dir ./audit --preset windows-security windows-security-events.jsonl.zst
  auditlog import --dir ./audit --preset auditd linux-auditd-events.jsonl.zst
  auditlog import --dir ./audit --preset linux-audit /var/log/audit/audit.log   # or ausearch --raw ... | ... -
  auditlog import --show-preset windows-security          # the preset's rules, to adapt
  cat app.jsonl | auditlog import --dir ./audit -  \\
      --map actor=user.id --map action=event --map 'occurred_at=/meta/time' \\
      --map 'entity=order:{order.id}' --map 'severity=level|\"info\"' --skip-bad

A line that cannot be read, mapped or validated stops the import (exit 2) after the lines
before it were written, naming its line number; --skip-bad reports it and goes on.
zstd-compressed input is recognised by its magic bytes.";

const QUERY_EXAMPLES: &str = "Examples:
  auditlog query --dir ./audit --actor pgustavo --limit 20
  auditlog query --dir ./audit --action 'windows.46*' --outcome failure --reverse
  auditlog query --dir ./audit --since 24h --severity high+ --format jsonl
  auditlog query --dir ./audit --time-field occurred --since 2020-10-22T08:30:00Z --until 2020-10-22T09:00:00Z
  auditlog query --dir ./audit --text mimikatz --count
  auditlog query --dir ./audit --actor pgustavo --cursor 01000000000000006500a1b2c3d4e5f60718

  auditlog query --dir ./audit --columns time,actor,action,outcome,ip --utc

Times as journalctl reads them: today, yesterday, -1h, 1h30m, '5min ago', 2023-09-06 07:20:00
(local time), RFC 3339, @1700000000. The table fits the terminal and shows local time unless
--utc; jsonl, csv and json write UTC unless --local.
When more records match than --limit, the cursor of the next page is printed on stderr.";

const TAIL_EXAMPLES: &str = "Examples:
  auditlog tail --dir ./audit                       # the 10 newest records
  auditlog tail --dir ./audit -f --severity high+   # then follow, beside a running writer
  auditlog tail --dir ./audit -f -n 0 --format jsonl | jq .action";

const EXPORT_EXAMPLES: &str = "Examples:
  auditlog export --dir ./audit > all.jsonl                 # re-importable with `auditlog import`
  auditlog export --dir ./audit --format csv --since 7d -o last-week.csv
  auditlog export --dir ./audit --format json --actor pgustavo | jq length

CSV columns: seq, recorded_at, occurred_at, actor_id, actor_kind, actor_name, actor_email,
action, outcome, error_message, severity, entity_type, entity_id, entity_name, tenant, ip,
user_agent, session_id, request_id, source, before, after, changed_fields, labels, metadata
(the last five as JSON text).";

const APPEND_EXAMPLES: &str = "Examples:
  auditlog append --dir ./audit --actor alice --action login --outcome failure --ip 192.0.2.7
  auditlog append --dir ./audit --actor ci --action deploy --entity service:billing \\
      --severity medium --label SOX --meta version=1.4.2 --meta canary=true
  echo '{\"actor\":{\"id\":\"bob\"},\"action\":\"export\"}' | auditlog append --dir ./audit";

const SERVE_EXAMPLES: &str = "Examples:
  auditlog token add --dir /var/lib/audit --role writer --name web   # prints the secret once
  auditlog serve --dir /var/lib/audit                                 # http://127.0.0.1:7600
  auditlog serve --dir /var/lib/audit --listen 127.0.0.1:0 --socket /run/audit.sock
  auditlog serve --dir /var/lib/audit --durability periodic:50ms --key ./audit-signer.key

It logs one line on stderr when started (with the bound address) and one when stopped.
SIGTERM or SIGINT: new writes get 503, requests in flight finish, the log is closed.";

/// The log directory argument shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct DirArg {
    /// The log directory.
    #[arg(long, env = "AUDITLOG_DIR", value_name = "DIR")]
    pub dir: PathBuf,
}

/// A command's failure, mapped to an exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags, arguments or input.
    Usage(String),
    /// Damage or a failed check.
    Damage(String),
    /// The library reported an error.
    Failed(auditlog::Error),
}

/// The format's errors are the engine's, for the exit code as for everything else.
impl From<auditlog_format::Error> for CliError {
    fn from(e: auditlog_format::Error) -> Self {
        CliError::from(auditlog::Error::from(e))
    }
}

/// Opening and appending fail with their own enums; the exit code is that of the same
/// [`auditlog::Error`].
impl From<auditlog::OpenError> for CliError {
    fn from(e: auditlog::OpenError) -> Self {
        CliError::from(auditlog::Error::from(e))
    }
}

impl From<auditlog::AppendError> for CliError {
    fn from(e: auditlog::AppendError) -> Self {
        CliError::from(auditlog::Error::from(e))
    }
}

impl From<auditlog::Error> for CliError {
    fn from(e: auditlog::Error) -> Self {
        match e {
            auditlog::Error::Corrupt(_) => CliError::Damage(e.to_string()),
            auditlog::Error::InvalidEvent { .. } | auditlog::Error::EventTooLarge { .. } => {
                CliError::Usage(e.to_string())
            }
            auditlog::Error::Privacy(auditlog::privacy::PrivacyError::DamagedKeyStore(_)) => {
                CliError::Damage(e.to_string())
            }
            auditlog::Error::Privacy(
                auditlog::privacy::PrivacyError::Io(_) | auditlog::privacy::PrivacyError::Random(_),
            ) => CliError::Failed(e),
            // A wrong or missing master key, a bad policy, an unknown subject: bad input.
            auditlog::Error::Privacy(_) => CliError::Usage(e.to_string()),
            e => CliError::Failed(e),
        }
    }
}

/// Parses the command line, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Checkpoint(args) => checkpoint::run(args),
        Command::Prove(args) => prove::run(args),
        Command::VerifyProof(args) => verify_proof::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Compact(args) => compact::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Retention(args) => retention::run(args),
        Command::Import(args) => import::run(args),
        Command::Query(args) => query::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Get(args) => get::run(args),
        Command::Export(args) => export::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Append(args) => append::run(args),
        Command::Reindex(args) => reindex::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Token(command) => token::run(command),
        Command::Init(args) => privacy::init(args),
        Command::Erase(args) => privacy::erase(args),
        Command::RotateMasterKey(args) => privacy::rotate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("auditlog: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(CliError::Damage(msg)) => {
            eprintln!("auditlog: DAMAGE: {msg}");
            ExitCode::from(EXIT_DAMAGE)
        }
        Err(CliError::Failed(e)) => {
            eprintln!("auditlog: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
