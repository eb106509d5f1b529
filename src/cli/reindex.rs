//! `auditlog reindex`: rebuild every sealed segment's index file from the segment.

use super::{CliError, DirArg, progress};
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
    // Progress: index files written since the start, of the sealed segments.
    let dir = args.dir.dir.clone();
    let (hot, cold) = progress::segments_in(&dir);
    let sealed = (hot.len() + cold.len()).saturating_sub(1) as u64;
    let started = std::time::SystemTime::now();
    let rebuilt = || {
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= started)
            })
            .count() as u64
    };
    let report = progress::while_running(
        "reindex",
        progress::Unit::Count("segments"),
        || (rebuilt(), Some(sealed)),
        || log.reindex(),
    )?;
    println!(
        "rebuilt {} index file(s) from their segments ({} postings); files moved aside by \
         verify (*.idx.damaged) are left for inspection",
        report.rebuilt, report.postings
    );
    log.close()?;
    Ok(())
}
