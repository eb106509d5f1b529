//! `auditlog seal`: seal the active segment now (footer, fdatasync) so it can be compressed,
//! archived or deleted by retention.

use super::{CliError, DirArg};
use auditlog::AuditLog;

#[derive(Debug, clap::Args)]
pub struct SealArgs {
    #[command(flatten)]
    dir: DirArg,
}

pub fn run(args: SealArgs) -> Result<(), CliError> {
    let log = AuditLog::open(&args.dir.dir)?;
    log.seal()?;
    println!("sealed; the log now ends at {}", log.tree_head()?);
    log.close()?;
    Ok(())
}
