//! Inclusion and consistency proofs of a log, as self-contained JSON documents that
//! [`check_proof`] verifies offline (without the log), following RFC 9162 §2.1.3–2.1.4 with the
//! hashes of docs/FORMAT.md §4.
//!
//! Proofs are generated from the segment files through `source::LogSubtrees`: the big
//! subtrees come from the frontiers that segment headers carry, and only the few segments
//! holding a proof's small subtrees (near the proven record and the trees' right edges) are
//! read: their leaf hashes come from a derived per-segment cache (leaf_cache.rs, checked
//! against the footer by node hashes) or, failing that, from rehashing the segment, after
//! which the cache is written. The cost is O(segments) header reads plus, per touched
//! segment, O(its records) node hashes; every proof is checked against the tree head it is
//! printed with before it is returned. Proofs do not verify the whole log: that is
//! `verify`'s job.
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

mod active;
mod leaf_cache;
mod source;

pub(crate) use active::ActiveTree;

pub use auditlog_verify::proof::{ProofCheck, check_proof};

use crate::checkpoint::{Checkpoint, NoteVerifier, store::read_notes};
use crate::error::{Error, Result};
use crate::event::decode_payload;
use crate::merkle::{self, TreeHead, consistency_path, inclusion_path, to_hex};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use source::LogSubtrees;
use std::path::Path;
use std::sync::Arc;

/// The committed state of the log at `dir` (read-only open) and a subtree source over it.
struct Loaded<L = crate::ReadOnlyLog> {
    log: L,
    log_id: [u8; 16],
    /// The oldest record still held (0 unless retention or archiving removed a prefix).
    first: u64,
    end: u64,
    subtrees: LogSubtrees,
}

fn load(dir: &Path) -> Result<Loaded> {
    let log = crate::ReadOnlyLog::open(dir)?;
    loaded(log, false)
}

/// What proofs need of an open log; `use_memory`: answer subtrees of the active segment from
/// its in-memory nodes (active.rs) instead of rehashing it.
fn loaded<L: std::ops::Deref<Target = crate::LogReader>>(
    log: L,
    use_memory: bool,
) -> Result<Loaded<L>> {
    if let Some(problem) = log.open_report().problems.first() {
        return Err(Error::Corrupt(Box::new(problem.clone())));
    }
    // After retention or archiving the first segment starts at the cut, and its header's
    // frontier holds the roots of the removed prefix: every proof node left of the cut is one
    // of them (or a union of them), so proofs about retained records need nothing removed.
    let view = log.view();
    let log_id = view
        .segments
        .first()
        .map_or_else(Default::default, |s| s.header.log_id);
    let mut subtrees = LogSubtrees::new(&view).write_leaf_caches(Arc::clone(&log.options().fs));
    if use_memory {
        subtrees = subtrees.use_active_tree();
    }
    Ok(Loaded {
        log_id,
        first: view.first_seq,
        end: view.end_seq,
        subtrees,
        log,
    })
}

fn head_of(subtrees: &mut LogSubtrees, size: u64) -> Result<TreeHead> {
    Ok(TreeHead {
        size,
        root: subtrees.prefix_root(size)?,
    })
}

/// A generated proof that does not verify against the head it is printed with: the log's
/// headers and footers contradict each other (damage), reported against the directory.
fn inconsistent(dir: &Path, size: u64, e: merkle::ProofError) -> Error {
    Error::Corrupt(Box::new(crate::error::Corruption {
        file: dir.to_path_buf(),
        offset: 0,
        seq: Some(size),
        kind: crate::error::CorruptionKind::CheckpointMismatch(format!(
            "a proof built from the segments does not verify against their tree head ({e}): run verify"
        )),
    }))
}

/// A checkpoint printed with a proof must be for the head the proof is against; a different
/// root for the same size means the log was rewritten after it was signed.
fn matches_checkpoint(dir: &Path, cp: &Checkpoint, head: &TreeHead) -> Result<()> {
    if cp.tree_head == *head {
        return Ok(());
    }
    Err(Error::Corrupt(Box::new(crate::error::Corruption {
        file: dir.to_path_buf(),
        offset: 0,
        seq: Some(head.size),
        kind: crate::error::CorruptionKind::CheckpointMismatch(format!(
            "the log's root at size {} differs from the signed checkpoint's: it was rewritten after signing; run verify",
            head.size
        )),
    })))
}

/// Generation errors: the source's own error as it is, the rest as proof errors.
fn generation_error(e: merkle::ProofError<Error>) -> Error {
    match e {
        merkle::ProofError::Source(e) => e,
        other => proof_error(other),
    }
}

fn head_json(h: &TreeHead) -> Value {
    json!({"size": h.size, "root": to_hex(&h.root)})
}

fn hex_id(id: &[u8; 16]) -> String {
    crate::meta::log_id_hex(id)
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
/// (default: the newest signed checkpoint covering `seq`, else the current tree). The proof
/// carries the signed checkpoint of its tree head whenever the log has one of that size.
///
/// This opens the log read-only and builds the proof from the files alone; a process that
/// holds the log open proves faster with [`LogReader::prove_inclusion`](crate::LogReader::prove_inclusion).
pub fn prove_inclusion(dir: &Path, seq: u64, size: Option<u64>) -> Result<Value> {
    prove_with(load(dir)?, dir, seq, size)
}

/// [`LogReader::prove_inclusion`]: as [`prove_inclusion`] over the log's live view, with the
/// active segment's subtrees from memory. A proof from memory that fails any check is built
/// again from the files alone (and the memory dropped): derived data never outranks the log.
pub(crate) fn prove_inclusion_live(
    log: &crate::LogReader,
    seq: u64,
    size: Option<u64>,
) -> Result<Value> {
    let dir = log.dir();
    match prove_with(loaded(log, true)?, dir, seq, size) {
        Err(Error::Corrupt(_)) => {
            if let Some(tree) = log.view().segments.last().and_then(|s| s.active_tree()) {
                tree.clear();
            }
            prove_with(loaded(log, false)?, dir, seq, size)
        }
        other => other,
    }
}

fn prove_with<L: std::ops::Deref<Target = crate::LogReader>>(
    loaded: Loaded<L>,
    dir: &Path,
    seq: u64,
    size: Option<u64>,
) -> Result<Value> {
    let Loaded {
        log,
        log_id,
        first,
        end,
        mut subtrees,
    } = loaded;
    // A record removed by retention or archiving cannot be proven from this directory (its
    // bundle holds it): say which records the log still holds.
    if seq >= end || seq < first {
        return Err(Error::NotFound { seq, first, end });
    }
    // With an explicit size, a checkpoint signed at exactly that size is attached (and must
    // match, as below); without one, the newest checkpoint covering `seq` picks the size.
    let checkpoint = match size {
        Some(size) => usable_checkpoint(dir, None, size, size)?,
        None => usable_checkpoint(dir, None, seq + 1, end)?,
    };
    let size = size
        .or(checkpoint.as_ref().map(|(c, _)| c.tree_head.size))
        .unwrap_or(end);
    if size > end || seq >= size {
        return Err(Error::NotFound {
            seq: size.saturating_sub(1),
            first,
            end,
        });
    }
    let head = head_of(&mut subtrees, size)?;
    if let Some((cp, _)) = &checkpoint {
        matches_checkpoint(dir, cp, &head)?;
    }
    let path = inclusion_path(seq, size, &mut subtrees).map_err(generation_error)?;
    let leaf = subtrees.leaf(seq)?;
    merkle::verify_inclusion(&leaf, seq, size, &path, &head.root)
        .map_err(|e| inconsistent(dir, size, e))?;
    let stored = record_bytes(&log, seq)?;
    // The leaf must be the record on disk: the proof is then as good as the head it verified
    // against, wherever its other hashes came from.
    if merkle::leaf_hash(seq, stored.0, &merkle::payload_digest(&stored.1)) != leaf {
        return Err(inconsistent(dir, size, merkle::ProofError::RootMismatch));
    }
    let event = decode_payload(&stored.1)
        .ok()
        .and_then(|e| serde_json::to_value(&e).ok());
    Ok(json!({
        "type": "inclusion",
        "log_id": hex_id(&log_id),
        "seq": seq,
        "recorded_at_nanos": stored.0,
        "payload": B64.encode(&stored.1),
        "leaf_index": seq,
        "leaf_hash": to_hex(&leaf),
        "tree_head": head_json(&head),
        "path": path.iter().map(to_hex).collect::<Vec<_>>(),
        "checkpoint": checkpoint.map(|(_, note)| note),
        "event": event,
    }))
}

/// Writes the leaf-hash file (docs/FORMAT.md §11) of the sealed segment of `view` that
/// starts at `first_seq`, unless a valid one is there: archiving to an object store takes it
/// along, so that a proof of an archived record reads leaf hashes by range instead of the
/// whole segment. The leaves come from the records (frames and CRCs checked) and reproduce
/// the footer's root before anything is written; the file goes through `fs` as temp file,
/// fsync, rename and directory fsync.
pub(crate) fn write_leaf_cache(
    fs: &dyn crate::fs::FileSystem,
    view: &crate::view::View,
    first_seq: u64,
) -> Result<()> {
    let Some(segment) = view.segments.iter().find(|s| s.first_seq() == first_seq) else {
        return Ok(());
    };
    let Some(footer) = segment.footer() else {
        return Ok(());
    };
    let path = leaf_cache::cache_path(&segment.path);
    if leaf_cache::read(&path, &segment.header, footer).is_some() {
        return Ok(());
    }
    let mut subtrees = LogSubtrees::new(view);
    let leaves = subtrees.leaves_of(first_seq)?;
    leaf_cache::write(fs, &path, &segment.header, footer, &leaves)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The stored `recorded_at` and payload bytes of record `seq`.
fn record_bytes(log: &crate::LogReader, seq: u64) -> Result<(i64, Vec<u8>)> {
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
    let Loaded {
        log_id,
        first,
        end,
        mut subtrees,
        ..
    } = load(dir)?;
    let new = new.unwrap_or(end);
    if new > end || old > new {
        return Err(Error::NotFound {
            seq: new.max(old).saturating_sub(1),
            first,
            end,
        });
    }
    let path = consistency_path(old, new, &mut subtrees).map_err(generation_error)?;
    let old_head = head_of(&mut subtrees, old)?;
    let new_head = head_of(&mut subtrees, new)?;
    merkle::verify_consistency(&old_head, &new_head, &path)
        .map_err(|e| inconsistent(dir, new, e))?;
    let checkpoint = usable_checkpoint(dir, None, new, new)?;
    if let Some((cp, _)) = &checkpoint {
        matches_checkpoint(dir, cp, &new_head)?;
    }
    Ok(json!({
        "type": "consistency",
        "log_id": hex_id(&log_id),
        "old": head_json(&old_head),
        "new": head_json(&new_head),
        "path": path.iter().map(to_hex).collect::<Vec<_>>(),
        "checkpoint": checkpoint.map(|(_, note)| note),
    }))
}
