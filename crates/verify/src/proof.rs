//! Offline checking of proof documents: recompute the leaf from the record's fields, run the
//! RFC 9162 verification, and (with a public key) tie the tree head to a signed checkpoint.

use crate::checkpoint::{Checkpoint, NoteVerifier, origin_of};
use crate::error::{Error, Result};
use crate::merkle::{
    Hash, TreeHead, from_hex, leaf_hash, payload_digest, verify_consistency, verify_inclusion,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

/// The verdict on a proof document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofCheck {
    /// Whether the proof holds (and, if a key was given, its tree head is signed by it).
    pub valid: bool,
    /// What was proven, or why not.
    pub message: String,
    /// The tree head the proof is against (the new one for consistency proofs).
    pub tree_head: TreeHead,
    /// Whether that tree head was checked against a checkpoint signed by the given key.
    pub signed: bool,
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::BadCheckpoint {
        what: "proof document".into(),
        reason: reason.into(),
    }
}

fn u64_field(v: &Value, key: &str) -> Result<u64> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed(format!("`{key}` is missing or not an unsigned integer")))
}

fn hash_field(v: &Value, key: &str) -> Result<Hash> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(from_hex)
        .ok_or_else(|| malformed(format!("`{key}` is missing or not 64 hex digits")))
}

fn head_field(v: &Value, key: &str) -> Result<TreeHead> {
    let h = v
        .get(key)
        .ok_or_else(|| malformed(format!("`{key}` is missing")))?;
    Ok(TreeHead {
        size: u64_field(h, "size")?,
        root: hash_field(h, "root")?,
    })
}

fn path_field(v: &Value) -> Result<Vec<Hash>> {
    v.get("path")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("`path` is missing or not a list"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(from_hex)
                .ok_or_else(|| malformed("a path entry is not 64 hex digits"))
        })
        .collect()
}

/// Checks a proof document (as produced by `auditlog::proof::prove_inclusion` or
/// `auditlog::proof::prove_consistency`) without the log.
///
/// With `verifier`, the document must carry a checkpoint signed by that key, for this log,
/// whose tree head is the one the proof is against; without, the proof is checked against the
/// tree head it carries, which proves nothing unless that head is trusted by other means.
///
/// # Errors
/// A malformed document ([`Error::BadCheckpoint`]). A proof that does not hold is
/// `Ok` with `valid == false`.
pub fn check_proof(doc: &Value, verifier: Option<&NoteVerifier>) -> Result<ProofCheck> {
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or("");
    let log_id = doc
        .get("log_id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("`log_id` is missing"))?;
    let (head, verdict) = match kind {
        "inclusion" => {
            let seq = u64_field(doc, "seq")?;
            let index = u64_field(doc, "leaf_index")?;
            let recorded_at = doc
                .get("recorded_at_nanos")
                .and_then(Value::as_i64)
                .ok_or_else(|| malformed("`recorded_at_nanos` is missing"))?;
            let payload = doc
                .get("payload")
                .and_then(Value::as_str)
                .and_then(|p| B64.decode(p).ok())
                .ok_or_else(|| malformed("`payload` is missing or not base64"))?;
            let head = head_field(doc, "tree_head")?;
            let path = path_field(doc)?;
            // The leaf is recomputed from the record: a leaf_hash in the document is only
            // compared, never trusted.
            let leaf = leaf_hash(seq, recorded_at, &payload_digest(&payload));
            let verdict = if index != seq {
                Err("leaf_index differs from seq (leaf i holds record i)".to_string())
            } else if doc.get("leaf_hash").is_some() && hash_field(doc, "leaf_hash")? != leaf {
                Err("leaf_hash does not match the record's fields".to_string())
            } else {
                verify_inclusion(&leaf, index, head.size, &path, &head.root)
                    .map(|()| {
                        format!(
                            "record {seq} is included in the tree of size {} with root {}",
                            head.size,
                            crate::merkle::to_hex(&head.root)
                        )
                    })
                    .map_err(|e| e.to_string())
            };
            (head, verdict)
        }
        "consistency" => {
            let old = head_field(doc, "old")?;
            let new = head_field(doc, "new")?;
            let verdict = verify_consistency(&old, &new, &path_field(doc)?)
                .map(|()| {
                    format!(
                        "the tree of size {} is a prefix of the tree of size {}",
                        old.size, new.size
                    )
                })
                .map_err(|e| e.to_string());
            (new, verdict)
        }
        _ => return Err(malformed("`type` is neither inclusion nor consistency")),
    };
    let mut check = ProofCheck {
        valid: verdict.is_ok(),
        message: verdict.unwrap_or_else(|e| format!("the proof does not hold: {e}")),
        tree_head: head,
        signed: false,
    };
    if let (true, Some(v)) = (check.valid, verifier) {
        match signed_head(doc, v, log_id) {
            Ok(cp) if cp == head => check.signed = true,
            Ok(_) => {
                check.valid = false;
                check.message = "the signed checkpoint's tree head differs from the proof's".into();
            }
            Err(why) => {
                check.valid = false;
                check.message = why;
            }
        }
    }
    Ok(check)
}

fn signed_head(
    doc: &Value,
    verifier: &NoteVerifier,
    log_id: &str,
) -> std::result::Result<TreeHead, String> {
    let note = doc
        .get("checkpoint")
        .and_then(Value::as_str)
        .ok_or("the proof carries no signed checkpoint")?;
    let cp = Checkpoint::open(note, verifier).map_err(|e| e.to_string())?;
    let id: Option<[u8; 16]> = (0..16)
        .map(|i| {
            log_id
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .and_then(|v| v.try_into().ok());
    if id.is_none_or(|id| origin_of(&id) != cp.origin) {
        return Err(format!(
            "the checkpoint is for {}, not log {log_id}",
            cp.origin
        ));
    }
    Ok(cp.tree_head)
}
