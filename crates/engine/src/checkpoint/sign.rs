//! Signing checkpoints of an open log, on request and at each seal, never two that disagree.

use super::note::NoteSigner;
use super::store::{append_note, read_notes};
use super::{Checkpoint, origin_of};
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::merkle::{Hash, TreeHead};
use crate::segment::Segment;
use crate::segment::scan::scan;
use crate::timestamp::Timestamp;
use parking_lot::Mutex;
use std::path::Path;
use std::sync::Arc;

/// Signs a log's checkpoints with one key and remembers the last one signed, so it can refuse
/// to sign a tree head that does not extend it (C2SP tlog-checkpoint: a log must never sign a
/// checkpoint inconsistent with one it signed before).
#[derive(Debug)]
pub struct CheckpointSigner {
    key: NoteSigner,
    /// The last checkpoint signed with this key, loaded from the checkpoints file on first use.
    last: Mutex<Option<Option<Checkpoint>>>,
}

impl CheckpointSigner {
    /// A signer with `key`.
    pub fn new(key: NoteSigner) -> Self {
        CheckpointSigner {
            key,
            last: Mutex::new(None),
        }
    }

    /// The key.
    pub fn key(&self) -> &NoteSigner {
        &self.key
    }

    /// Signs `head`, at time `now`, of the log `log_id` in `dir` (its segments in `segments`),
    /// appends the note to the checkpoints file durably (through `fs`) and returns it.
    pub(crate) fn sign_head(
        &self,
        fs: &dyn FileSystem,
        dir: &Path,
        log_id: &[u8; 16],
        now: Timestamp,
        segments: &[Arc<Segment>],
        head: TreeHead,
    ) -> Result<(Checkpoint, String)> {
        let origin = origin_of(log_id);
        let mut last = self.last.lock();
        if last.is_none() {
            *last = Some(self.last_signed(dir, &origin)?);
        }
        if let Some(Some(prev)) = last.as_ref() {
            check_extends(prev, head, segments, dir, log_id)?;
        }
        let checkpoint = Checkpoint {
            origin,
            tree_head: head,
            time: now,
        };
        let note = checkpoint.sign(&self.key)?;
        append_note(fs, dir, &note)?;
        *last = Some(Some(checkpoint.clone()));
        Ok((checkpoint, note))
    }

    /// The newest checkpoint of this log in the file that this key signed.
    fn last_signed(&self, dir: &Path, origin: &str) -> Result<Option<Checkpoint>> {
        let verifier = self.key.verifier();
        Ok(read_notes(dir)?
            .iter()
            .filter_map(|n| Checkpoint::open(n, &verifier).ok())
            .rfind(|c| c.origin == origin))
    }
}

/// Refuses unless the tree of `head` extends the tree of `prev`: `prev` is no larger, and the
/// root of the log's first `prev.size` leaves is `prev`'s root. For the log itself this is
/// exactly what a verified RFC 9162 consistency proof establishes.
fn check_extends(
    prev: &Checkpoint,
    head: TreeHead,
    segments: &[Arc<Segment>],
    dir: &Path,
    log_id: &[u8; 16],
) -> Result<()> {
    let refuse = |reason: String| Err(Error::InconsistentCheckpoint { reason });
    let old = prev.tree_head;
    if old.size > head.size {
        return refuse(format!(
            "the last signed checkpoint has {} records, the log only {}",
            old.size, head.size
        ));
    }
    let root = if old.size == head.size {
        Some(head.root)
    } else {
        prefix_root(segments, old.size, dir, log_id)?
    };
    if root.is_some_and(|root| root != old.root) {
        return refuse(format!(
            "the log's root at size {} differs from the last signed checkpoint's",
            old.size
        ));
    }
    Ok(())
}

/// The root of the log's first `size` leaves, below the current end: from the header of the
/// segment starting there (O(1), the usual case as checkpoints are signed at seals), or by
/// replaying the segment holding `size` from its header's frontier (O(segment)).
///
/// Below the first segment held, only the cut log knows the tree: a cut at exactly `size`
/// gives its root (from the frontier it recorded). `None` when a recorded cut (retention or
/// archive) removed the records around `size`: that root can no longer be recomputed here
/// (the chain of segment headers was checked while they were held, and the kept segments
/// continue the cut's tree, which recovery checks); refusing instead would stop a signer
/// whose last checkpoint retention removed from ever signing again. A prefix that is
/// missing without a recorded cut is refused.
fn prefix_root(
    segments: &[Arc<Segment>],
    size: u64,
    dir: &Path,
    log_id: &[u8; 16],
) -> Result<Option<Hash>> {
    let idx = segments.partition_point(|s| s.first_seq() <= size);
    let Some(segment) = idx.checked_sub(1).and_then(|i| segments.get(i)) else {
        let cut_log = auditlog_format::cuts::read(dir, log_id)?;
        if let Some(cut) = cut_log.cuts.iter().find(|c| c.cut_seq == size) {
            return Ok(Some(cut.tree_head().root));
        }
        if cut_log
            .cuts
            .iter()
            .any(|c| c.removed_from <= size && size < c.cut_seq)
        {
            return Ok(None);
        }
        return Err(Error::InconsistentCheckpoint {
            reason: format!("the log no longer holds the segment with record {size}"),
        });
    };
    if segment.first_seq() == size {
        return Ok(Some(segment.header.start_root()));
    }
    // A compacted segment is replayed from the hot image its cold file decodes to.
    let bytes = crate::segment::hot_bytes(&segment.path)?;
    let wanted = size - segment.first_seq();
    let mut leaves = Vec::new();
    scan(&segment.path, &bytes, &mut |_, r| {
        if (leaves.len() as u64) < wanted {
            leaves.push(r.leaf_hash());
        }
    })
    .map_err(|c| Error::Corrupt(Box::new(c)))?;
    match segment.header.frontier.prefix_root(size, leaves) {
        Some(root) => Ok(Some(root)),
        None => Err(Error::InconsistentCheckpoint {
            reason: format!("the log does not hold record {}", size - 1),
        }),
    }
}
