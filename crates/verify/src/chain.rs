//! Putting the per-segment checks together: the chain of tree heads from one segment to the
//! next, missing and foreign segments, and what counts as damage in the newest segment.

use super::report::Warning;
use crate::cuts::CutLog;
use crate::error::{Corruption, CorruptionKind, HeaderFault};
use crate::merkle::{TreeHead, to_hex};
use crate::segment::SegmentHeader;
use crate::segment::scan::ScanOutcome;
use crate::segment::verdict::Verdict;
use crate::segment_check::SegmentCheck;
use std::path::Path;

/// The log-level result of the segment checks.
#[derive(Debug)]
pub struct ChainSummary {
    pub first_seq: u64,
    /// Records in the unbroken chain from the first segment.
    pub records: u64,
    /// Tree head at the end of the unbroken chain.
    pub tree_head: TreeHead,
    pub first_recorded_at: Option<i64>,
    pub last_recorded_at: Option<i64>,
    pub problems: Vec<Corruption>,
    pub warnings: Vec<Warning>,
    /// Index into the checks of the segments forming the unbroken chain.
    pub chained: Vec<usize>,
}

/// Checks the segments (in log order) against each other.
///
/// `log_id` is the id every segment must carry (from the metadata file); `lone` is set when a
/// single segment file was given, whose predecessors are not available.
pub fn summarize(
    checks: &[SegmentCheck],
    log_id: Option<[u8; 16]>,
    lone: bool,
    cuts: &CutLog,
) -> ChainSummary {
    let mut s = ChainSummary {
        first_seq: 0,
        records: 0,
        tree_head: TreeHead::empty(),
        first_recorded_at: None,
        last_recorded_at: None,
        problems: Vec::new(),
        warnings: Vec::new(),
        chained: Vec::new(),
    };
    // Where the previous segment of the unbroken chain ended; `None` before the first.
    let mut prev: Option<(TreeHead, i64)> = None;
    let mut intact = true;
    for (i, check) in checks.iter().enumerate() {
        let path = &check.job.path;
        s.problems.extend(check.payload_problems.iter().cloned());
        let o = match &check.outcome {
            Ok(o) => o,
            Err(c) => {
                s.problems.push(c.clone());
                intact = false;
                continue;
            }
        };
        let at_start = |kind| Corruption {
            file: path.clone(),
            offset: 0,
            seq: Some(o.header.first_seq),
            kind,
        };
        // A segment that is not this log's, or not at the place its name says, is reported
        // and left out of the chain, so the next segment is checked against the last good one.
        if log_id.is_some_and(|id| id != o.header.log_id) {
            s.problems.push(at_start(CorruptionKind::ForeignLog));
            continue;
        }
        if let Some(name_seq) = check.job.name_seq
            && name_seq != o.header.first_seq
        {
            s.problems.push(at_start(CorruptionKind::BadHeader(
                HeaderFault::FirstSeqMismatch {
                    header: o.header.first_seq,
                    name: name_seq,
                },
            )));
            continue;
        }
        match prev {
            None if i == 0 && !lone => {
                // The first segment starts at 0, or exactly where the newest durable cut
                // (retention or archive, FORMAT.md §9) left the tree; anything else means
                // segments were removed outside the retention path.
                if let Err(c) = check_first(&o.header, path, cuts) {
                    s.problems.push(c);
                }
            }
            None => {}
            Some((head, last_at)) if intact => {
                if let Err(c) = check_chain(&o.header, path, &head, last_at) {
                    s.problems.push(c);
                    intact = false;
                }
            }
            Some(_) => {}
        }
        if prev.is_none() {
            s.first_seq = o.header.first_seq;
        }
        let newest = check.job.newest;
        let end_problem = |offset: u64, kind| Corruption {
            file: path.clone(),
            offset,
            seq: Some(o.end_seq()),
            kind,
        };
        let mut segment_intact = true;
        // The same rule as recovery (segment/verdict.rs): what a read-write open would
        // refuse is damage here, what it would cut is a warning.
        match o.verdict(newest) {
            Verdict::Sealed(_) | Verdict::Open => {}
            Verdict::Damage { offset, kind } => {
                s.problems.push(end_problem(offset, kind));
                segment_intact = false;
            }
            Verdict::TornTail {
                offset,
                kind,
                later_frames,
            } => s.warnings.push(Warning {
                file: path.clone(),
                offset: Some(offset),
                message: format!(
                    "uncommitted tail from sequence {} ({kind}; {later_frames} unsynced frame(s) after it): \
                     a group being written, or torn by a crash and cut on the next open; not damage",
                    o.end_seq()
                ),
            }),
        }
        if intact {
            s.chained.push(i);
            s.records += o.end_seq() - o.header.first_seq;
            s.tree_head = o.frontier.tree_head();
            if s.first_recorded_at.is_none() {
                s.first_recorded_at = o.first_recorded_at;
            }
            if o.first_recorded_at.is_some() {
                s.last_recorded_at = Some(o.last_recorded_at);
            }
        }
        intact &= segment_intact;
        prev = Some((o.frontier.tree_head(), o.last_recorded_at));
    }
    s
}

/// Checks that the first segment may start at `header.first_seq`: 0, or exactly where the
/// newest recorded cut left the tree.
pub fn check_first(header: &SegmentHeader, path: &Path, cuts: &CutLog) -> Result<(), Corruption> {
    let corrupt = |kind| Corruption {
        file: path.to_path_buf(),
        offset: 0,
        seq: Some(header.first_seq),
        kind,
    };
    let latest = cuts.latest();
    match latest {
        None if header.first_seq == 0 => Ok(()),
        Some(cut) if cut.cut_seq == header.first_seq => {
            if cut.matches(header) {
                Ok(())
            } else {
                Err(corrupt(CorruptionKind::ChainBroken(format!(
                    "the first segment does not continue the tree head recorded at the cut ({})",
                    cut.tree_head()
                ))))
            }
        }
        _ => Err(corrupt(CorruptionKind::MissingSegment {
            first_seq: latest.map_or(0, |c| c.cut_seq),
        })),
    }
}

/// Checks that `next` continues the tree where `prev` (final head and time) ended.
pub fn check_chain(
    next: &SegmentHeader,
    path: &Path,
    end: &TreeHead,
    last_recorded_at: i64,
) -> Result<(), Corruption> {
    let corrupt = |kind| Corruption {
        file: path.to_path_buf(),
        offset: 0,
        seq: Some(next.first_seq),
        kind,
    };
    if next.first_seq > end.size {
        return Err(corrupt(CorruptionKind::MissingSegment {
            first_seq: end.size,
        }));
    }
    if next.first_seq < end.size || next.start_root() != end.root {
        return Err(corrupt(CorruptionKind::ChainBroken(format!(
            "segment starts at tree size {} with root {}, previous segment ended at size {} with root {}",
            next.first_seq,
            to_hex(&next.start_root()),
            end.size,
            to_hex(&end.root),
        ))));
    }
    if next.prev_recorded_at != last_recorded_at {
        return Err(corrupt(CorruptionKind::ChainBroken(
            "prev_recorded_at differs from the previous segment's last recorded_at".into(),
        )));
    }
    Ok(())
}

/// Whether a scan of a segment ended where a live segment may end: cleanly, at a footer, or in
/// bytes no later frame proves durable (a group being written). Anything else is damage, or
/// a read that raced the writer.
pub fn scanned_sound<L, E>(scanned: &Result<ScanOutcome<L>, E>) -> bool {
    match scanned {
        Err(_) => false,
        Ok(o) => !matches!(o.verdict(true), Verdict::Damage { .. }),
    }
}
