//! The `auditlog` command line: each subcommand is a thin wrapper over library calls, in its
//! own module.
//!
//! Exit codes (also in README.md):
//! - 0: success (for `verify`: everything intact);
//! - 1: damage or a failed check was found (the output says where);
//! - 2: usage error: bad flags or arguments, malformed input (clap also uses 2);
//! - 3: the operation failed (I/O error, the log is locked, not a log, unreadable).

mod archive;
mod checkpoint;
mod compact;
mod demo;
mod keygen;
mod prove;
mod retention;
mod seal;
mod verify;
mod verify_proof;

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
                      Examples:\n  auditlog verify /var/log/audit\n  auditlog verify --json /var/log/audit\n  \
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
    /// Move the oldest sealed segments into verifiable bundles in an archive directory.
    #[command(
        after_help = "Example:\n  auditlog archive --dir /var/lib/audit --to /mnt/archive --older-than-days 90"
    )]
    Archive(archive::ArchiveArgs),
    /// Delete the oldest sealed segments by age or size, recording the cut first.
    #[command(
        after_help = "Examples:\n  auditlog retention --dir /var/lib/audit --max-age-days 365 --dry-run\n  auditlog retention --dir /var/lib/audit --max-bytes 10000000000"
    )]
    Retention(retention::RetentionArgs),
}

/// Days as a duration, for the lifecycle commands' `--…-days` flags.
pub(crate) fn days(d: u64) -> std::time::Duration {
    std::time::Duration::from_secs(d.saturating_mul(86_400))
}

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

impl From<auditlog::Error> for CliError {
    fn from(e: auditlog::Error) -> Self {
        match e {
            auditlog::Error::Corrupt(_) => CliError::Damage(e.to_string()),
            auditlog::Error::InvalidEvent { .. } | auditlog::Error::EventTooLarge { .. } => {
                CliError::Usage(e.to_string())
            }
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
        Command::Retention(args) => retention::run(args),
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
