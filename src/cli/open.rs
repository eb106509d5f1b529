//! Opening the log for the read-only commands, with errors that say what to do.

use super::CliError;
use auditlog::query::Query;
use auditlog::{AuditLog, ReadOnlyLog};
use std::path::Path;

/// Opens `dir` read-only: works beside a running writer and on a damaged log (damage found
/// while opening is printed as a warning; reading stops where the damage starts).
pub fn open_read_only(dir: &Path) -> Result<ReadOnlyLog, CliError> {
    opened(dir, ReadOnlyLog::open(dir))
}

/// [`open_read_only`] for a command that answers `query` first: the open notes the records
/// the query may want as it scans the newest segment, so the query need not read that
/// segment again (`AuditLogBuilder::first_query`).
pub fn open_read_only_for(dir: &Path, query: &Query) -> Result<ReadOnlyLog, CliError> {
    let log = AuditLog::builder(dir).first_query(query).open_read_only();
    opened(dir, log)
}

/// The log a read-only open gave, or its error in words that say what to do; damage the open
/// found is printed as a warning.
fn opened(
    dir: &Path,
    log: Result<ReadOnlyLog, auditlog::OpenError>,
) -> Result<ReadOnlyLog, CliError> {
    let log = log.map_err(|e| match e {
        auditlog::OpenError::NotALog { .. } if !dir.exists() => CliError::Usage(format!(
            "{} does not exist: give the directory of a log with --dir (or AUDITLOG_DIR), or \
             create one with `auditlog import` or `auditlog append`",
            dir.display()
        )),
        e => CliError::from(e),
    })?;
    for problem in &log.open_report().problems {
        eprintln!(
            "auditlog: warning: {problem} (run `auditlog verify` for a full check; records \
             after the damage are not shown)"
        );
    }
    Ok(log)
}

/// Ends a read-only command's use of `log` without dropping it, when the process exits next.
/// Dropping a handle unmaps each of its segment and index maps, one `munmap` each, which was
/// about a third of a `query --count` over 49 sealed segments (docs/BENCHMARKS.md, "The root
/// left until asked"); the kernel's teardown of the whole address space at exit does the same
/// work in one pass. Only a read-only handle may be left so: it holds no lock, buffers nothing
/// and starts no thread unless it follows, and nothing of it outlives the process. (A writer
/// must be closed: its drop syncs and joins the writer.)
pub fn leave_to_exit(log: ReadOnlyLog) {
    std::mem::forget(log);
}
