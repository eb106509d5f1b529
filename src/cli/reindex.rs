//! `auditlog reindex`: rebuild every sealed segment's index file from the segment.

use super::{CliError, DirArg};
use auditlog::AuditLog;

#[derive(Debug, clap::Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    dir: DirArg,
}

pub fn run(args: ReindexArgs) -> Result<(), CliError> {
    // Writable, so the files are written (a read-only log rebuilds in memory only); this
    // takes the lock, like every command that changes the directory.
    let log = AuditLog::open(&args.dir.dir)?;
    let report = log.reindex()?;
    println!(
        "rebuilt {} index file(s) from their segments ({} postings); files moved aside by \
         verify (*.idx.damaged) are left for inspection",
        report.rebuilt, report.postings
    );
    log.close()?;
    Ok(())
}
