//! Checking the derived index files against their segments.
//!
//! An index is a pure function of its sealed segment (FORMAT.md §7), so the check is exact:
//! rebuild the index from the segment in memory and compare byte for byte (with the rebuilt
//! index encoded in the stored file's version, 1 or 2). A missing file is
//! normal (the next query builds it). A file that differs is damage, whether bit rot or a
//! forgery with its CRC recomputed: queries trust an index to rule records out, so a wrong one
//! can hide records that verify just proved are in the log. It is reported naming the file and
//! moved aside (`*.idx.damaged`, through the file-system interface, directory fsynced) so that
//! no reader serves it again: the next query rebuilds it from the segment.

use crate::error::{Corruption, CorruptionKind};
use crate::fs::{FileSystem, StdFileSystem};
use crate::index::{INDEX_VERSION, IndexBuilder, SegmentIndex, index_path};
use crate::recovery::settle::open_cold;
use crate::segment::Segment;
use crate::segment::name::is_cold;
use crate::segment::scan::End;
use auditlog_verify::segment_check::SegmentCheck;
use std::path::{Path, PathBuf};

/// Suffix of an index file moved aside by verify.
pub(crate) const DAMAGED_SUFFIX: &str = ".damaged";

/// Problems with the index files of the intact sealed segments among `checks`; each differing
/// file is moved aside when `move_aside` (a read-only medium makes the move fail, which the
/// problem then says).
pub(crate) fn check_indexes(
    dir: &Path,
    checks: &[SegmentCheck],
    move_aside: bool,
) -> Vec<Corruption> {
    checks
        .iter()
        .filter_map(|check| check_one(dir, check, move_aside))
        .collect()
}

fn check_one(dir: &Path, check: &SegmentCheck, move_aside: bool) -> Option<Corruption> {
    let outcome = check.outcome.as_ref().ok()?;
    let End::Footer(footer) = &outcome.end else {
        return None;
    };
    let first_seq = outcome.header.first_seq;
    let path = index_path(dir, first_seq);
    // Read once: the comparison and the structural verdict are about the same bytes.
    let stored = std::fs::read(&path).ok()?;
    let segment = if is_cold(&check.job.path) {
        // The segment's own damage is already reported; its index cannot be judged.
        open_cold(&check.job.path).ok()?
    } else {
        Segment::sealed(
            check.job.path.clone(),
            outcome.header.clone(),
            footer.clone(),
        )
    };
    let builder = IndexBuilder::of_sealed(&segment).ok()?;
    // A file of an older version that readers still serve is compared with the rebuilt index
    // encoded in that version: it is valid if it is exactly that (FORMAT.md §7).
    let version = match stored.get(8..10) {
        Some(&[lo, hi]) if u16::from_le_bytes([lo, hi]) == 1 => 1,
        _ => INDEX_VERSION,
    };
    let rebuilt = SegmentIndex::encoded(&segment, &builder, version)?;
    if rebuilt == stored {
        return None;
    }
    let offset = stored
        .iter()
        .zip(&rebuilt)
        .position(|(a, b)| a != b)
        .unwrap_or(stored.len().min(rebuilt.len()));
    let what = match SegmentIndex::decode_bytes(stored, &segment) {
        // Readers would have served this one: it is what can hide records.
        true => {
            "it passes the readers' checks but its content differs from the index \
                 rebuilt from the segment (forged or damaged; queries could miss records)"
        }
        false => "it is damaged or stale (readers reject it and rebuild it)",
    };
    let fate = match move_aside {
        true => match set_aside(&StdFileSystem, dir, &path) {
            Ok(to) => format!(
                "moved aside to {} so the next query rebuilds it from the segment",
                to.display()
            ),
            Err(e) => format!(
                "could not move it aside ({e}): remove it, or run `auditlog reindex --dir {}`",
                dir.display()
            ),
        },
        false => format!(
            "run `auditlog reindex --dir {}` to rebuild it",
            dir.display()
        ),
    };
    Some(Corruption {
        file: path,
        offset: offset as u64,
        seq: Some(first_seq),
        kind: CorruptionKind::IndexMismatch(format!(
            "first difference at byte {offset}: {what}; {fate}"
        )),
    })
}

/// Renames `path` to `path.damaged` (replacing an older one) and fsyncs the directory.
fn set_aside(fs: &dyn FileSystem, dir: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let mut to = path.as_os_str().to_owned();
    to.push(DAMAGED_SUFFIX);
    let to = PathBuf::from(to);
    fs.rename(path, &to)?;
    fs.sync_dir(dir)?;
    Ok(to)
}
