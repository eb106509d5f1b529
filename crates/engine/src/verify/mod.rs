//! Verification: the auditor's checks (`auditlog_verify`), plus the one check only the engine
//! can make, of its derived files: each sealed segment's index file against the index rebuilt
//! from the segment (index.rs).

mod index;

pub use auditlog_verify::{
    CheckpointCheck, MAX_THREADS, Progress, VerifyOptions, VerifyReport, Warning, kind_name,
};
pub(crate) use auditlog_verify::{SegmentJob, check_segment, examine};

use crate::error::Result;
use std::path::Path;

/// What [`verify_with`] does with the log's index files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexCheck {
    /// Leave them alone (what `auditlog-verify`, which knows no indexes, does).
    Skip,
    /// Compare each with the index rebuilt from its segment; one that differs is damage (it
    /// could hide records from queries).
    Compare,
    /// Compare, and rename a differing file to `*.idx.damaged` (directory fsynced) so the next
    /// query rebuilds it instead of serving it: the only change verify ever makes, and only to
    /// derived data. The default.
    CompareAndSetAside,
}

/// Verifies the log directory, segment file or bundle at `path`, including the log's index
/// files (compared, and set aside when they differ). Damage is never an `Err`: see
/// [`auditlog_verify::verify`].
pub fn verify(path: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
    verify_with(path, options, IndexCheck::CompareAndSetAside)
}

/// [`verify`], choosing what happens to the index files.
pub fn verify_with(
    path: &Path,
    options: &VerifyOptions,
    indexes: IndexCheck,
) -> Result<VerifyReport> {
    Ok(verify_format_errors(path, options, indexes)?)
}

/// [`verify_with`], failing with the verifier's own (the format's) errors, as the verifier's
/// callbacks need.
pub(crate) fn verify_format_errors(
    path: &Path,
    options: &VerifyOptions,
    indexes: IndexCheck,
) -> auditlog_format::Result<VerifyReport> {
    if indexes == IndexCheck::Skip || !path.is_dir() || auditlog_verify::bundle::is_bundle(path) {
        return auditlog_verify::verify(path, options);
    }
    let (mut report, checks) = examine(path, options, false)?;
    let set_aside = indexes == IndexCheck::CompareAndSetAside;
    report
        .problems
        .extend(index::check_indexes(path, &checks, set_aside));
    report.ok = report.problems.is_empty();
    Ok(report)
}
