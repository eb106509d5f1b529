//! Retention: delete whole sealed segments, oldest first, whose newest record is older than
//! the policy by the engine's clock, or beyond a total size budget. Never the newest segment.
//! The cut is recorded durably before any file is removed (see `prefix.rs`, `cuts.rs`).

use super::LiveLog;
use super::compact::is_older;
use super::cuts::{Cut, CutKind};
use super::prefix::{family_files, remove_prefix, size_of};
use crate::error::Result;
use crate::segment::Segment;
use crate::timestamp::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What retention keeps. Both limits apply; a segment goes if either says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Delete segments whose newest `recorded_at` is older than this. Default: no age limit.
    pub max_age: Option<Duration>,
    /// Delete the oldest segments while the log's files (segments and their index files)
    /// total more than this. The active segment counts the bytes it holds (header and
    /// committed records), not its preallocated file length. Default: no size limit.
    pub max_total_bytes: Option<u64>,
}

/// One segment retention would delete (or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedOut {
    /// Its first sequence number.
    pub first_seq: u64,
    /// One past its last sequence number.
    pub end_seq: u64,
    /// `recorded_at` of its newest record.
    pub last_recorded_at: Timestamp,
    /// Bytes of its files (data and indexes).
    pub bytes: u64,
    /// Which limit selects it.
    pub reason: String,
}

/// What [`AuditLog::apply_retention`](crate::AuditLog::apply_retention) did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionReport {
    /// The segments selected, oldest first.
    pub segments: Vec<RetainedOut>,
    /// The cut recorded (`None` on a dry run or when nothing was selected).
    pub cut: Option<Cut>,
    /// Bytes removed from the directory.
    pub reclaimed_bytes: u64,
}

pub(crate) fn apply(live: &LiveLog<'_>, policy: &RetentionPolicy) -> Result<RetentionReport> {
    let segments = plan(live, policy)?;
    if segments.is_empty() {
        return Ok(RetentionReport::default());
    }
    let reasons: Vec<&str> = segments.iter().map(|s| s.reason.as_str()).collect();
    let mut note = reasons.last().copied().unwrap_or_default().to_string();
    if reasons.iter().any(|r| *r != note) {
        note = format!("{} and {}", reasons[0], note);
    }
    let (cut, reclaimed_bytes) = remove_prefix(live, CutKind::Retention, segments.len(), note)?;
    Ok(RetentionReport {
        segments,
        cut: Some(cut),
        reclaimed_bytes,
    })
}

pub(crate) fn plan(live: &LiveLog<'_>, policy: &RetentionPolicy) -> Result<Vec<RetainedOut>> {
    let view = live.published.snapshot();
    let now = live.clock.now().as_nanos();
    let mut sizes = Vec::with_capacity(view.segments.len());
    for s in view.segments.iter() {
        sizes.push(bytes_used(live.dir, s, view.end_seq)?);
    }
    let mut total: u64 = sizes.iter().sum();
    let mut out = Vec::new();
    let candidates = view.segments.len().saturating_sub(1);
    for (i, segment) in view.segments[..candidates].iter().enumerate() {
        let Some(footer) = segment.footer() else {
            break;
        };
        let reason = if let Some(age) = policy
            .max_age
            .filter(|age| is_older(footer.last_recorded_at, *age, now))
        {
            format!("older than {}", describe(age))
        } else if let Some(budget) = policy.max_total_bytes.filter(|b| total > *b) {
            format!("over the size budget of {budget} bytes")
        } else {
            break;
        };
        total -= sizes[i];
        out.push(RetainedOut {
            first_seq: segment.first_seq(),
            end_seq: footer.tree_head.size,
            last_recorded_at: Timestamp::from_nanos(footer.last_recorded_at),
            bytes: sizes[i],
            reason,
        });
    }
    Ok(out)
}

/// Bytes segment `segment`'s files occupy for the size budget. A sealed segment counts its
/// files' lengths; the active one counts its committed data (header and records up to
/// `end_seq`) instead of its file length, which preallocation makes `segment_max_bytes` from
/// the start: an operator's budget is about data kept, and counting reserved zeros would make
/// a budget below one preallocation delete every sealed segment at once.
fn bytes_used(dir: &Path, segment: &Segment, end_seq: u64) -> Result<u64> {
    let files = family_files(dir, segment.first_seq())?;
    if segment.footer().is_some() {
        return Ok(size_of(&files));
    }
    let others: Vec<PathBuf> = files.into_iter().filter(|p| *p != segment.path).collect();
    let data_end = if end_seq > segment.first_seq() {
        let last = end_seq - 1;
        let offset = segment.offset_of(last)?;
        offset + segment.frame_len_at(offset)?
    } else {
        segment.header.encoded_len() as u64
    };
    Ok(size_of(&others) + data_end)
}

/// A duration as a person writes it (`30d`, `12h`, `90s`).
pub(crate) fn describe(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s > 0 => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}
