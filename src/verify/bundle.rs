//! Verifying an archive bundle alone (FORMAT.md §10): the manifest, the checksum of every
//! file it lists, and the segment(s) inside, from the tree head at the bundle's start to the
//! one at its end. `check_bundle` in the lifecycle module does the work; this turns its
//! answer into a [`VerifyReport`].

use super::report::{VerifyReport, Warning};
use crate::lifecycle::archive::{MANIFEST_NAME, check_bundle};
use crate::merkle::TreeHead;
use std::path::Path;

/// Whether `dir` is an archive bundle rather than a log directory.
pub(crate) fn is_bundle(dir: &Path) -> bool {
    dir.join(MANIFEST_NAME).is_file() && !dir.join(crate::meta::META_FILE).exists()
}

/// Checks the bundle in `dir`.
pub(crate) fn verify_bundle(dir: &Path) -> VerifyReport {
    let mut report = VerifyReport {
        ok: false,
        path: dir.to_path_buf(),
        log_id: None,
        first_seq: 0,
        records: 0,
        tree_head: TreeHead::empty(),
        time_range: None,
        segments_checked: 0,
        bytes_checked: 0,
        problems: Vec::new(),
        warnings: Vec::new(),
        checkpoint: None,
    };
    match check_bundle(dir) {
        Ok(summary) => {
            report.first_seq = summary.start.size;
            report.records = summary.end.size - summary.start.size;
            report.tree_head = summary.end;
            report.segments_checked = summary
                .manifest
                .files
                .iter()
                .filter(|f| f.name.ends_with(".seg") || f.name.ends_with(".zseg"))
                .count();
            report.bytes_checked = summary.manifest.files.iter().map(|f| f.size).sum();
            report.log_id = parse_log_id(&summary.manifest.log_id);
            report.warnings.push(Warning {
                file: dir.join(MANIFEST_NAME),
                offset: None,
                message: format!(
                    "archive bundle of records {}..{}: starts at {} and ends at {}; to prove it \
                     belongs to a log, verify the log with its bundles (--bundle)",
                    summary.start.size, summary.end.size, summary.start, summary.end
                ),
            });
            report.ok = true;
        }
        Err(c) => report.problems.push(c),
    }
    report
}

/// A log id written as 32 hex digits.
fn parse_log_id(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        id[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(id)
}
