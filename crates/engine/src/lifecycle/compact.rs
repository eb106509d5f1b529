//! `AuditLog::compact`: rewrite eligible sealed segments as cold segments, off the writer
//! thread, publishing each swap to readers as one pointer update.

use super::LiveLog;
use super::cold::{self, CompressOptions};
use super::dictionary;
use crate::error::{Error, Result};
use crate::segment::Segment;
use crate::segment::name::segment_path;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Which sealed segments [`AuditLog::compact`](crate::AuditLog::compact) compresses, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactOptions {
    /// Only segments whose newest record is at least this old by the engine's clock; `None`
    /// (the default) compresses every sealed segment.
    pub min_age: Option<Duration>,
    /// How to compress.
    pub compress: CompressOptions,
}

/// What [`AuditLog::compact`](crate::AuditLog::compact) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactReport {
    /// Cold segments written (their paths), oldest first.
    pub compressed: Vec<PathBuf>,
    /// Bytes of the hot files replaced.
    pub hot_bytes: u64,
    /// Bytes of the cold files written.
    pub cold_bytes: u64,
    /// The dictionary used, if any.
    pub dict_id: Option<u32>,
}

pub(crate) fn compact(live: &LiveLog<'_>, options: &CompactOptions) -> Result<CompactReport> {
    compact_oldest(live, options, None)
}

/// [`compact`], of the `limit` oldest sealed segments only (all with `None`): those that
/// archiving is about to move.
pub(crate) fn compact_oldest(
    live: &LiveLog<'_>,
    options: &CompactOptions,
    limit: Option<usize>,
) -> Result<CompactReport> {
    let mut report = CompactReport::default();
    let now = live.clock.now().as_nanos();
    let candidates: Vec<Arc<Segment>> = {
        let view = live.published.snapshot();
        let sealed = view.segments.len().saturating_sub(1);
        view.segments[..sealed]
            .iter()
            .take(limit.unwrap_or(usize::MAX))
            .filter(|s| !s.is_cold())
            .filter(|s| match (options.min_age, s.footer()) {
                (None, _) => true,
                (Some(age), Some(f)) => is_older(f.last_recorded_at, age, now),
                (Some(_), None) => false,
            })
            .cloned()
            .collect()
    };
    let mut dict: Option<(u32, Vec<u8>)> = None;
    for segment in candidates {
        let first_seq = segment.first_seq();
        if options.compress.dictionary && dict.is_none() {
            dict = choose_dictionary(live, first_seq, &options.compress)?;
        }
        let dict_ref = dict.as_ref().map(|(id, d)| (*id, d.as_slice()));
        let fs = live.fs;
        let hot_bytes = std::fs::metadata(segment_path(live.dir, first_seq))
            .map(|m| m.len())
            .unwrap_or(0);
        let cold_path = cold::convert(fs, live.dir, first_seq, &options.compress, dict_ref)?;
        let cold_file = cold::read::ColdFile::open(&cold_path)?;
        let replacement = Arc::new(Segment::cold(cold_path.clone(), cold_file));
        live.published.update(|v| {
            let mut segments = (*v.segments).clone();
            if let Some(s) = segments.iter_mut().find(|s| s.first_seq() == first_seq) {
                *s = replacement;
            }
            v.segments = Arc::new(segments);
        });
        cold::remove_hot(fs, live.dir, first_seq)?;
        report.hot_bytes += hot_bytes;
        report.cold_bytes += std::fs::metadata(&cold_path).map(|m| m.len()).unwrap_or(0);
        report.compressed.push(cold_path);
        report.dict_id = dict.as_ref().map(|(id, _)| *id);
    }
    Ok(report)
}

/// Whether `recorded_at` lies more than `age` before `now` (engine clock, ns).
pub(crate) fn is_older(recorded_at: i64, age: Duration, now: i64) -> bool {
    let age = i64::try_from(age.as_nanos()).unwrap_or(i64::MAX);
    recorded_at < now.saturating_sub(age)
}

/// The newest dictionary in the directory, or one trained from the records of segment
/// `first_seq` and stored. `None` when training fails (too few or too uniform samples).
fn choose_dictionary(
    live: &LiveLog<'_>,
    first_seq: u64,
    options: &CompressOptions,
) -> Result<Option<(u32, Vec<u8>)>> {
    for id in dictionary::list(live.dir) {
        if let Ok(d) = dictionary::load(live.dir, id) {
            return Ok(Some((id, d)));
        }
    }
    let path = segment_path(live.dir, first_seq);
    let hot =
        std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let (offsets, records_end) = cold::write::record_offsets(&path, &hot)?;
    let mut samples: Vec<&[u8]> = Vec::with_capacity(offsets.len());
    for (i, (start, _)) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).map_or(records_end, |(o, _)| *o);
        samples.push(&hot[*start as usize..end as usize]);
    }
    let Ok(dict) = dictionary::train(&samples, options.dictionary_max_bytes) else {
        return Ok(None);
    };
    let id = dictionary::store(live.fs, live.dir, &dict)?;
    Ok(Some((id, dict)))
}
