//! `auditlog restore --from s3://BUCKET/PREFIX --to DIR`: rebuild a local log directory from
//! its archive in object storage, every bundle checked (alone, as one chain, against the
//! head object) before anything is moved into DIR.

use super::CliError;
use super::s3::{S3Args, s3_url, store_failed};
use auditlog::fs::StdFileSystem;
use auditlog_objstore::{ArchiveVerifyOptions, RestoreOptions, head, only_log, restore_log};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The archive: s3://BUCKET/PREFIX, as given to `archive --to`.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    from: String,
    /// The directory to rebuild the log in: new, or empty.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// The log (32 hex digits, its folder in the archive). Default: the archive's only log.
    #[arg(long, value_name = "HEX")]
    log_id: Option<String>,
    /// The log's public key (written by `auditlog keygen`): the archive head's signed
    /// checkpoint must verify with it, which shows that no newer bundle was removed.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// The log's private key: signs the cut a restored log starts with when its archive
    /// does not begin at record 0.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Threads checking bundles (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    #[command(flatten)]
    s3: S3Args,
}

pub fn run(args: RestoreArgs) -> Result<(), CliError> {
    let url = s3_url(&args.from, "--from")?;
    let log_id = match &args.log_id {
        Some(hex) if head::parse_log_id(hex).is_none() => {
            return Err(CliError::Usage(format!(
                "--log-id {hex:?} is not 32 hex digits"
            )));
        }
        Some(hex) => Some(hex.to_ascii_lowercase()),
        None => None,
    };
    let verifier = match &args.public_key {
        Some(path) => Some(super::verify::read_verifier(path)?),
        None => None,
    };
    let signer = match &args.key {
        Some(path) => Some(super::verify::read_signer(path)?),
        None => None,
    };
    let store = args.s3.connect(&url)?;
    let log_id = match log_id {
        Some(id) => id,
        None => only_log(&store).map_err(store_failed)?,
    };
    let options = RestoreOptions {
        verify: ArchiveVerifyOptions {
            public_key: verifier.as_ref(),
            check_threads: args.threads,
            ..ArchiveVerifyOptions::default()
        },
        signer: signer.as_ref(),
    };
    let report =
        restore_log(&store, &log_id, &args.to, &StdFileSystem, &options).map_err(store_failed)?;
    for w in &report.warnings {
        eprintln!("auditlog: warning: {w}");
    }
    println!(
        "restored log {} into {}: {} bundle(s), records {}..{}, {} files, {} bytes fetched",
        report.log_id,
        report.dir.display(),
        report.bundles.len(),
        report.first_seq,
        report.tree_head.size,
        report.files,
        report.bytes_fetched
    );
    println!("tree head: {}", report.tree_head);
    Ok(())
}
