//! [`LogReader::segments`]: the segments a log holds, for operators' pages and tools.

use super::LogReader;
use crate::timestamp::Timestamp;

/// Where a segment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentState {
    /// The newest segment, still appended to (no footer yet).
    Active,
    /// Sealed (footer written), read from its hot file.
    Sealed,
    /// Sealed and compressed into a cold (zstd) file.
    Cold,
}

impl SegmentState {
    /// `active`, `sealed` or `cold`.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentState::Active => "active",
            SegmentState::Sealed => "sealed",
            SegmentState::Cold => "cold",
        }
    }
}

/// One segment of the log's committed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Its first sequence number (also its file name's stem).
    pub first_seq: u64,
    /// One past its last committed record.
    pub end_seq: u64,
    pub state: SegmentState,
    /// Size of its file on disk (0 if it cannot be read now).
    pub size_bytes: u64,
    /// `recorded_at` of its first and last records, when its footer says (sealed or cold).
    pub recorded: Option<(Timestamp, Timestamp)>,
}

impl LogReader {
    /// The segments in the log directory, oldest first, as of the committed state (records
    /// removed by retention or archiving are in the cut log, `lifecycle::cuts::read`).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let view = self.view();
        view.segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let end_seq = view
                    .segments
                    .get(i + 1)
                    .map_or(view.end_seq, |next| next.first_seq())
                    .min(view.end_seq);
                let state = match s.footer() {
                    None => SegmentState::Active,
                    Some(_) if s.is_cold() => SegmentState::Cold,
                    Some(_) => SegmentState::Sealed,
                };
                SegmentInfo {
                    first_seq: s.first_seq(),
                    end_seq,
                    state,
                    size_bytes: std::fs::metadata(&s.path).map_or(0, |m| m.len()),
                    recorded: s.footer().filter(|f| f.record_count > 0).map(|f| {
                        (
                            Timestamp::from_nanos(f.first_recorded_at),
                            Timestamp::from_nanos(f.last_recorded_at),
                        )
                    }),
                }
            })
            .collect()
    }
}
