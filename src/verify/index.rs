//! Checking the derived index files against their segments.
//!
//! Indexes are derived data (FORMAT.md §7): a missing one is normal, and a damaged, stale or
//! disagreeing one is rebuilt by the engine, so every finding here is a warning, never damage.
//! An index "agrees" when it is byte for byte the index the engine builds from the segment.

use super::report::Warning;
use super::segment::SegmentCheck;
use crate::index::{IndexBuilder, SegmentIndex, index_path};
use crate::lifecycle::recover::{is_cold, open_cold};
use crate::segment::Segment;
use crate::segment::scan::End;
use std::path::Path;

/// Warnings for the index files of the intact sealed segments among `checks`.
pub(crate) fn check_indexes(dir: &Path, checks: &[SegmentCheck]) -> Vec<Warning> {
    checks
        .iter()
        .filter_map(|check| check_one(dir, check))
        .collect()
}

fn check_one(dir: &Path, check: &SegmentCheck) -> Option<Warning> {
    let outcome = check.outcome.as_ref().ok()?;
    let End::Footer(footer) = &outcome.end else {
        return None;
    };
    let path = index_path(dir, outcome.header.first_seq);
    if !path.exists() {
        return None;
    }
    let warn = |message: String| {
        Some(Warning {
            file: path.clone(),
            offset: None,
            message,
        })
    };
    let segment = if is_cold(&check.job.path) {
        match open_cold(&check.job.path) {
            Ok(s) => s,
            Err(_) => return None, // the segment's own damage is already reported
        }
    } else {
        Segment::sealed(
            check.job.path.clone(),
            outcome.header.clone(),
            footer.clone(),
        )
    };
    let Some(stored) = SegmentIndex::load(dir, &segment) else {
        return warn("index file is damaged or stale (it will be rebuilt from its segment)".into());
    };
    let rebuilt = IndexBuilder::of_sealed(&segment)
        .ok()
        .and_then(|builder| SegmentIndex::from_builder(&segment, &builder));
    match rebuilt {
        Some(rebuilt) if rebuilt.bytes() == stored.bytes() => None,
        Some(_) => warn("index file disagrees with its segment (it will be rebuilt)".into()),
        None => None,
    }
}
