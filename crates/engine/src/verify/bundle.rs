//! Verifying an archive bundle alone (FORMAT.md §10): the manifest, the checksum of every
//! file it lists, and the segment(s) inside, from the tree head at the bundle's start to the
//! one at its end. `check_bundle` in the lifecycle module does the work; this turns its
//! answer into a [`VerifyReport`].

use super::report::{VerifyReport, Warning};
use super::{VerifyOptions, verify};
use crate::error::Result;
use crate::lifecycle::archive::{MANIFEST_NAME, check_bundle};
use crate::merkle::TreeHead;
use crate::segment::name::{parse_cold_segment_file_name, parse_segment_file_name};
use std::path::Path;

/// Whether `dir` is an archive bundle rather than a log directory.
pub(crate) fn is_bundle(dir: &Path) -> bool {
    dir.join(MANIFEST_NAME).is_file() && !dir.join(crate::meta::META_FILE).exists()
}

/// Checks the bundle in `dir`, and the checkpoint of `options` against the bundle's segment
/// that holds the checkpoint's last record (the way to check a checkpoint whose records
/// retention or archiving removed from the live log).
pub(crate) fn verify_bundle(dir: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
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
            if let Some(cp) = &options.checkpoint {
                check_checkpoint_in_bundle(dir, &summary.manifest, cp, options, &mut report)?;
            }
            report.ok = report.problems.is_empty();
        }
        Err(c) => report.problems.push(c),
    }
    Ok(report)
}

/// Verifies, against `cp`, the one segment of the bundle whose records reach the checkpoint's
/// tree size (its header carries the tree's frontier at its start, so it proves the prefix on
/// its own), and copies the outcome into `report`. Segment files are named by their first
/// sequence number, so that segment is the last one starting at or before the size.
fn check_checkpoint_in_bundle(
    dir: &Path,
    manifest: &crate::lifecycle::archive::Manifest,
    cp: &crate::checkpoint::Checkpoint,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<()> {
    let size = cp.tree_head.size;
    let holder = manifest
        .files
        .iter()
        .filter_map(|f| {
            let first = parse_segment_file_name(&f.name)
                .or_else(|| parse_cold_segment_file_name(&f.name))?;
            Some((first, &f.name))
        })
        .filter(|&(first, _)| first <= size)
        .max_by_key(|&(first, _)| first);
    if let Some((_, name)) = holder {
        let lone = verify(&dir.join(name), options)?;
        if size <= lone.first_seq + lone.records {
            report.checkpoint = lone.checkpoint;
            report.problems.extend(lone.problems);
            return Ok(());
        }
    }
    report.warnings.push(Warning {
        file: dir.join(MANIFEST_NAME),
        offset: None,
        message: format!(
            "the checkpoint (tree size {size}) lies outside this bundle's records {}..{}",
            manifest.first_seq, manifest.end_seq
        ),
    });
    Ok(())
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
