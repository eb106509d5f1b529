//! What a verification found: [`VerifyReport`], as a value, as text and as JSON.

use crate::error::Corruption;
use crate::merkle::{TreeHead, to_hex};
use crate::timestamp::Timestamp;
use serde_json::{Value, json};
use std::fmt;
use std::path::PathBuf;

/// Something worth telling that is not damage, such as the uncommitted tail of a segment
/// being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file concerned.
    pub file: PathBuf,
    /// Byte offset, when it applies.
    pub offset: Option<u64>,
    /// What was found, as a sentence.
    pub message: String,
}

/// The outcome of checking the log against a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointCheck {
    /// The checkpoint's tree head.
    pub checkpoint: TreeHead,
    /// Whether the log's tree extends (or equals) the checkpoint's tree.
    pub consistent: bool,
}

/// Everything [`verify`](super::verify) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// True only when no problem was found (warnings do not count).
    pub ok: bool,
    /// The path that was verified.
    pub path: PathBuf,
    /// The log id (from the metadata file, or the segment header for a single segment).
    pub log_id: Option<[u8; 16]>,
    /// First sequence number held.
    pub first_seq: u64,
    /// Records whose frames, payloads and hashes checked out.
    pub records: u64,
    /// The tree head recomputed after the last verified record.
    pub tree_head: TreeHead,
    /// `recorded_at` of the first and last verified record.
    pub time_range: Option<(Timestamp, Timestamp)>,
    /// Segment files examined.
    pub segments_checked: usize,
    /// Bytes of segment files examined.
    pub bytes_checked: u64,
    /// Damage, each with file, offset, sequence number (when known) and kind.
    pub problems: Vec<Corruption>,
    /// Findings that are not damage.
    pub warnings: Vec<Warning>,
    /// The check against a trusted checkpoint, when one was given.
    pub checkpoint: Option<CheckpointCheck>,
}

/// One problem as JSON: `file`, `offset`, `seq`, `kind` (a stable snake_case name) and
/// `message`.
pub fn problem_json(p: &Corruption) -> Value {
    json!({
        "file": p.file.display().to_string(),
        "offset": p.offset,
        "seq": p.seq,
        "kind": kind_name(&p.kind),
        "message": p.kind.to_string(),
    })
}

impl VerifyReport {
    /// The report as a JSON value (the `--json` output of `auditlog verify`).
    pub fn to_json(&self) -> Value {
        let problems: Vec<Value> = self.problems.iter().map(problem_json).collect();
        let warnings: Vec<Value> = self
            .warnings
            .iter()
            .map(|w| {
                json!({
                    "file": w.file.display().to_string(),
                    "offset": w.offset,
                    "message": w.message,
                })
            })
            .collect();
        json!({
            "ok": self.ok,
            "path": self.path.display().to_string(),
            "log_id": self.log_id.as_ref().map(crate::meta::log_id_hex),
            "first_seq": self.first_seq,
            "records": self.records,
            "tree_head": { "size": self.tree_head.size, "root": to_hex(&self.tree_head.root) },
            "first_recorded_at": self.time_range.map(|(a, _)| a.to_rfc3339()),
            "last_recorded_at": self.time_range.map(|(_, b)| b.to_rfc3339()),
            "segments_checked": self.segments_checked,
            "bytes_checked": self.bytes_checked,
            "problems": problems,
            "warnings": warnings,
            "checkpoint": self.checkpoint.as_ref().map(|c| json!({
                "size": c.checkpoint.size,
                "root": to_hex(&c.checkpoint.root),
                "consistent": c.consistent,
            })),
        })
    }
}

/// A stable, machine-readable name for each corruption kind (the `kind` field of the JSON).
pub fn kind_name(kind: &crate::error::CorruptionKind) -> &'static str {
    use crate::error::CorruptionKind as K;
    match kind {
        K::BadMagic => "bad_magic",
        K::BadHeader(_) => "bad_header",
        K::BadColdSegment(_) => "bad_cold_segment",
        K::BadManifest(_) => "bad_manifest",
        K::DigestMismatch => "digest_mismatch",
        K::BadCutLog(_) => "bad_cut_log",
        K::BadFooter(_) => "bad_footer",
        K::ChecksumMismatch { .. } => "checksum_mismatch",
        K::BadLength(_) => "bad_length",
        K::SequenceMismatch { .. } => "sequence_mismatch",
        K::TimeWentBackwards => "time_went_backwards",
        K::BadPayload(_) => "bad_payload",
        K::DamageBeforeValidRecords => "damage_before_valid_records",
        K::TrailingData => "trailing_data",
        K::RootMismatch => "root_mismatch",
        K::ChainBroken(_) => "chain_broken",
        K::MissingSegment { .. } => "missing_segment",
        K::ForeignLog => "foreign_log",
        K::UnsealedSegment => "unsealed_segment",
        K::CheckpointMismatch(_) => "checkpoint_mismatch",
        K::BadCut(_) => "bad_cut",
        K::UnknownFlags { .. } => "unknown_flags",
        K::IndexMismatch(_) => "index_mismatch",
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = format!(
            "tree size {} root {}",
            self.tree_head.size,
            to_hex(&self.tree_head.root)
        );
        let range = match self.time_range {
            Some((a, b)) => format!("recorded {a} .. {b}"),
            None => "no records".to_string(),
        };
        if self.ok {
            writeln!(
                f,
                "OK: {} records (sequence {}..{}) in {} segments, {head}, {range}",
                self.records, self.first_seq, self.tree_head.size, self.segments_checked
            )?;
        } else {
            writeln!(
                f,
                "DAMAGED: {} problem(s) in {}; {} records verified up to {head}",
                self.problems.len(),
                self.path.display(),
                self.records
            )?;
            for p in &self.problems {
                let seq = p.seq.map_or("-".to_string(), |s| s.to_string());
                writeln!(
                    f,
                    "  {} offset {} seq {seq}: {} [{}]",
                    p.file.display(),
                    p.offset,
                    p.kind,
                    kind_name(&p.kind)
                )?;
            }
        }
        if let Some(c) = &self.checkpoint {
            writeln!(
                f,
                "checkpoint (size {}, root {}): {}",
                c.checkpoint.size,
                to_hex(&c.checkpoint.root),
                match (c.consistent, self.ok) {
                    (true, _) => "the log is consistent with it",
                    // Not damage: its records were removed by a recorded cut (see the note).
                    (false, true) => "NOT CHECKED, the log no longer holds its records",
                    (false, false) => "NOT consistent with the log",
                }
            )?;
        }
        for w in &self.warnings {
            match w.offset {
                Some(o) => writeln!(f, "note: {} offset {o}: {}", w.file.display(), w.message)?,
                None => writeln!(f, "note: {}: {}", w.file.display(), w.message)?,
            }
        }
        Ok(())
    }
}
