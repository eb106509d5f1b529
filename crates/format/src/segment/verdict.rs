//! The one rule (FORMAT.md §5.3) that tells a torn tail from damage, applied by recovery,
//! verification and followers alike, so that `verify` never calls "not damage" what a
//! read-write open would refuse, nor the other way round.
//!
//! Only the newest segment of a log can end in a torn tail, and only when nothing proves the
//! invalid bytes were durable. Two things do: a valid footer at the end of the file (the
//! writer fdatasyncs every record before it writes the footer, so a sealed segment has no
//! unsynced bytes), and a later valid frame whose `durable_size` covers the invalid record.
//! A crash between a seal and the creation of the next segment leaves a sealed segment as the
//! newest one: without the footer check, a flipped bit in it read as a torn tail and was cut.

use crate::error::CorruptionKind;
use crate::segment::footer::SegmentFooter;
use crate::segment::scan::{End, ScanOutcome};

/// What the end of a scanned segment means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Sealed by this footer, every record intact.
    Sealed(&'a SegmentFooter),
    /// The newest segment, not sealed, its records ending at zeros or the end of the file.
    Open,
    /// The newest segment ends in bytes never known durable: a write in flight or torn by a
    /// crash. A read-write open cuts them; a verifier reports the log's end before them.
    TornTail {
        offset: u64,
        kind: &'a CorruptionKind,
        /// Valid-looking but unsynced frames after the invalid bytes, dropped with them.
        later_frames: u64,
    },
    /// Damage at `offset`: an error naming the file, the offset and the scan's end sequence.
    Damage { offset: u64, kind: CorruptionKind },
}

impl<L> ScanOutcome<L> {
    /// Applies FORMAT.md §5.3 to this scan; `newest` says whether the segment is the newest of
    /// its log (the only one that may lack a footer or end in a torn tail).
    pub fn verdict(&self, newest: bool) -> Verdict<'_> {
        match &self.end {
            End::Footer(footer) => Verdict::Sealed(footer),
            End::Clean if newest => Verdict::Open,
            End::Clean => Verdict::Damage {
                offset: self.records_end,
                kind: CorruptionKind::UnsealedSegment,
            },
            End::Damaged {
                offset,
                kind,
                durable,
                sealed,
                later_frames,
            } => {
                if !newest || *sealed {
                    Verdict::Damage {
                        offset: *offset,
                        kind: kind.clone(),
                    }
                } else if *durable {
                    Verdict::Damage {
                        offset: *offset,
                        kind: CorruptionKind::DamageBeforeValidRecords,
                    }
                } else {
                    Verdict::TornTail {
                        offset: *offset,
                        kind,
                        later_frames: *later_frames,
                    }
                }
            }
        }
    }
}
