//! Inclusion and consistency proofs of a log, as self-contained JSON documents that
//! [`check_proof`] verifies offline (without the log), following RFC 9162 §2.1.3–2.1.4 with the
//! hashes of docs/MERKLE.md.
//!
//! Proofs are generated from the segment files: the log is verified and its leaf hashes
//! collected (O(records) time and 32 bytes of memory per record), then the RFC's paths are
//! computed over them. A cache of perfect-subtree roots per sealed segment would make this
//! O(log n) reads; it is not built yet.
//!
//! Inclusion proof JSON (all hashes lowercase hex, the payload standard base64):
//! ```json
//! {"type": "inclusion", "log_id": "<32 hex>", "seq": 5, "recorded_at_nanos": 1700000000000000000,
//!  "payload": "<base64 of the encoded event payload>", "leaf_index": 5, "leaf_hash": "<hex>",
//!  "tree_head": {"size": 10, "root": "<hex>"}, "path": ["<hex>", ...],
//!  "checkpoint": "<signed note text, when the tree head is a signed checkpoint's>",
//!  "event": { ... informational: the decoded event ... }}
//! ```
//! Consistency proof JSON: `{"type": "consistency", "log_id", "old": {size, root}, "new":
//! {size, root}, "path": [...], "checkpoint": optional note of the new head}`.

mod check;

pub use check::{ProofCheck, check_proof};

use crate::checkpoint::{Checkpoint, NoteVerifier, store::read_notes};
use crate::error::{Error, Result};
use crate::event::decode_payload;
use crate::merkle::{
    self, Hash, LeafSlice, TreeHead, consistency_path, inclusion_path, root_from_leaves, to_hex,
};
use crate::verify::{VerifyOptions, examine};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::path::Path;

/// The verified leaves of a log and the stored record bytes needed for proofs.
struct LogLeaves {
    log_id: [u8; 16],
    leaves: Vec<Hash>,
}

fn load(dir: &Path) -> Result<LogLeaves> {
    let options = VerifyOptions {
        decode_payloads: false,
        ..VerifyOptions::default()
    };
    let (report, checks) = examine(dir, &options, true)?;
    if let Some(problem) = report.problems.first() {
        return Err(Error::Corrupt(Box::new(problem.clone())));
    }
    if report.first_seq != 0 {
        return Err(Error::NotFound {
            seq: 0,
            first: report.first_seq,
            end: report.tree_head.size,
        });
    }
    let mut leaves = Vec::with_capacity(report.records as usize);
    for check in &checks {
        leaves.extend_from_slice(&check.leaves);
    }
    leaves.truncate(report.tree_head.size as usize);
    Ok(LogLeaves {
        log_id: report.log_id.unwrap_or_default(),
        leaves,
    })
}

fn head_of(leaves: &[Hash], size: u64) -> TreeHead {
    let n = (size as usize).min(leaves.len());
    TreeHead {
        size: n as u64,
        root: root_from_leaves(&leaves[..n]),
    }
}

fn head_json(h: &TreeHead) -> Value {
    json!({"size": h.size, "root": to_hex(&h.root)})
}

fn hex_id(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The newest checkpoint in the log's checkpoints file (signed by `verifier` if given) whose
/// size is at least `min_size` and at most `max_size`.
fn usable_checkpoint(
    dir: &Path,
    verifier: Option<&NoteVerifier>,
    min_size: u64,
    max_size: u64,
) -> Result<Option<(Checkpoint, String)>> {
    Ok(read_notes(dir)?
        .into_iter()
        .filter_map(|note| {
            let text = match verifier {
                Some(v) => v.open(&note).ok()?.to_string(),
                None => note.split_once("\n\n")?.0.to_string() + "\n",
            };
            let cp = Checkpoint::parse(&text).ok()?;
            (min_size..=max_size)
                .contains(&cp.tree_head.size)
                .then_some((cp, note))
        })
        .next_back())
}

fn proof_error<E: std::fmt::Display>(e: merkle::ProofError<E>) -> Error {
    Error::BadCheckpoint {
        what: "proof".into(),
        reason: e.to_string(),
    }
}

/// An inclusion proof of record `seq` in the log at `dir`, against the tree of `size` records
/// (default: the newest signed checkpoint covering `seq`, else the current tree).
pub fn prove_inclusion(dir: &Path, seq: u64, size: Option<u64>) -> Result<Value> {
    let log = load(dir)?;
    let end = log.leaves.len() as u64;
    if seq >= end {
        return Err(Error::NotFound { seq, first: 0, end });
    }
    let checkpoint = match size {
        Some(_) => None,
        None => usable_checkpoint(dir, None, seq + 1, end)?,
    };
    let size = size
        .or(checkpoint.as_ref().map(|(c, _)| c.tree_head.size))
        .unwrap_or(end);
    if size > end || seq >= size {
        return Err(Error::NotFound {
            seq: size.saturating_sub(1),
            first: 0,
            end,
        });
    }
    let head = head_of(&log.leaves, size);
    let path = inclusion_path(seq, size, &mut LeafSlice(&log.leaves)).map_err(proof_error)?;
    let record = crate::AuditLog::open_read_only(dir)?;
    let stored = record_bytes(&record, seq)?;
    let event = decode_payload(&stored.1)
        .ok()
        .and_then(|e| serde_json::to_value(&e).ok());
    Ok(json!({
        "type": "inclusion",
        "log_id": hex_id(&log.log_id),
        "seq": seq,
        "recorded_at_nanos": stored.0,
        "payload": B64.encode(&stored.1),
        "leaf_index": seq,
        "leaf_hash": to_hex(&log.leaves[seq as usize]),
        "tree_head": head_json(&head),
        "path": path.iter().map(to_hex).collect::<Vec<_>>(),
        "checkpoint": checkpoint.map(|(_, note)| note),
        "event": event,
    }))
}

/// The stored `recorded_at` and payload bytes of record `seq`.
fn record_bytes(log: &crate::AuditLog, seq: u64) -> Result<(i64, Vec<u8>)> {
    let view = log.view();
    let segment = view.segment_of(seq).ok_or(Error::NotFound {
        seq,
        first: view.first_seq,
        end: view.end_seq,
    })?;
    let offset = segment.offset_of(seq)?;
    let stored = segment.read_frame(offset, seq)?;
    Ok((stored.recorded_at, stored.payload))
}

/// A consistency proof from the tree of `old` records to the tree of `new` records (default:
/// the current tree) of the log at `dir`.
pub fn prove_consistency(dir: &Path, old: u64, new: Option<u64>) -> Result<Value> {
    let log = load(dir)?;
    let end = log.leaves.len() as u64;
    let new = new.unwrap_or(end);
    if new > end || old > new {
        return Err(Error::NotFound {
            seq: new.max(old).saturating_sub(1),
            first: 0,
            end,
        });
    }
    let path = consistency_path(old, new, &mut LeafSlice(&log.leaves)).map_err(proof_error)?;
    let checkpoint = usable_checkpoint(dir, None, new, new)?;
    Ok(json!({
        "type": "consistency",
        "log_id": hex_id(&log.log_id),
        "old": head_json(&head_of(&log.leaves, old)),
        "new": head_json(&head_of(&log.leaves, new)),
        "path": path.iter().map(to_hex).collect::<Vec<_>>(),
        "checkpoint": checkpoint.map(|(_, note)| note),
    }))
}
