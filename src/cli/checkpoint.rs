//! `auditlog checkpoint --dir DIR --key FILE`: sign the current tree head, append it to the
//! log's checkpoints file and print it for publishing; `--latest` prints the newest one.

use super::{CliError, DirArg};
use auditlog::AuditLog;
use auditlog::checkpoint::{CheckpointSigner, NoteSigner, store::read_notes};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The private key written by `auditlog keygen`.
    #[arg(long, value_name = "FILE", required_unless_present = "latest")]
    key: Option<PathBuf>,
    /// Print the newest stored checkpoint instead of signing a new one.
    #[arg(long)]
    latest: bool,
}

pub fn run(args: CheckpointArgs) -> Result<(), CliError> {
    if args.latest {
        // Refuse a path that is not a log before reading its checkpoints file.
        drop(super::open::open_read_only(&args.dir.dir)?);
        let notes = read_notes(&args.dir.dir)?;
        let note = notes
            .last()
            .ok_or_else(|| CliError::Usage("the log has no checkpoint yet".into()))?;
        print!("{note}");
        return Ok(());
    }
    let Some(key_path) = args.key else {
        return Err(CliError::Usage("--key is required".into()));
    };
    let text = super::verify::read_text(&key_path, "private key")?;
    let key = NoteSigner::from_text(&text).map_err(|e| CliError::Usage(e.to_string()))?;
    let log = AuditLog::open(&args.dir.dir)?;
    let note = log.sign_checkpoint(&CheckpointSigner::new(key));
    log.close()?;
    print!("{}", note?);
    Ok(())
}
