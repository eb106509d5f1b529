//! The committed state that readers see, published by the writer after each group.

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::merkle::{Frontier, TreeHead};
use crate::segment::Segment;
use crate::segment::scan::{Counted, End, Tree};
use auditlog_verify::segment_check::{SegmentJob, check_segment};
use parking_lot::{Condvar, Mutex, RwLock};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use std::task::Waker;
use std::time::Duration;

/// A consistent snapshot of what is committed: readers never see a record past `end_seq`.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// All segments, oldest first; the last may be the active one.
    pub segments: Arc<Vec<Arc<Segment>>>,
    /// First sequence number held.
    pub first_seq: u64,
    /// One past the last committed sequence number.
    pub end_seq: u64,
    /// Tree head at `end_seq`, or how to compute it.
    pub tree_head: Head,
    /// `recorded_at` of the last committed record (i64::MIN if none).
    pub last_recorded_at: i64,
}

impl View {
    /// The segment holding `seq`, which the caller has checked is in `first_seq..end_seq`.
    pub(crate) fn segment_of(&self, seq: u64) -> Option<&Arc<Segment>> {
        let idx = self.segments.partition_point(|s| s.first_seq() <= seq);
        idx.checked_sub(1).and_then(|i| self.segments.get(i))
    }
}

/// The tree head of a view: known, or left by a read-only open to be computed when first
/// asked (`live::scan_chunked_counted`: a count or a query of a large active segment never
/// needs the root, and hashing its leaves was most of the open).
#[derive(Debug, Clone)]
pub(crate) enum Head {
    Known(TreeHead),
    Counted(Arc<CountedHead>),
}

impl Head {
    /// The tree head; for a counted one, computed the first time (and kept).
    pub(crate) fn get(&self) -> Result<TreeHead> {
        match self {
            Head::Known(head) => Ok(*head),
            Head::Counted(counted) => counted.get(),
        }
    }

    /// The tree head if it is known without reading the log.
    pub(crate) fn known(&self) -> Option<TreeHead> {
        match self {
            Head::Known(head) => Some(*head),
            Head::Counted(counted) => counted.root.get().copied(),
        }
    }
}

/// The records of the active segment at `path` that a read-only open checked and counted,
/// without hashing their leaves.
#[derive(Debug)]
pub(crate) struct CountedHead {
    path: PathBuf,
    counted: Counted,
    root: OnceLock<TreeHead>,
}

impl CountedHead {
    pub(crate) fn new(path: PathBuf, counted: Counted) -> Self {
        CountedHead {
            path,
            counted,
            root: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<TreeHead> {
        if let Some(head) = self.root.get() {
            return Ok(*head);
        }
        let frontier = hash_counted(&self.path, &self.counted)?;
        Ok(*self.root.get_or_init(|| frontier.tree_head()))
    }
}

/// The frontier after the `counted` records of the segment at `path`: the segment is scanned
/// again, every frame checked as `verify` checks it, and the counted records' leaves are
/// hashed onto the header's frontier. The file may have grown since it was counted (a writer
/// elsewhere appends); a counted record that is no longer valid is damage, reported where
/// the scan found it.
pub(crate) fn hash_counted(path: &std::path::Path, counted: &Counted) -> Result<Frontier> {
    let job = SegmentJob {
        path: path.to_path_buf(),
        name_seq: Some(counted.start().size()),
        newest: true,
    };
    let check = check_segment(job, false, true);
    if let Some(e) = check.failed {
        return Err(e.into());
    }
    let outcome = check.outcome.map_err(|c| Error::Corrupt(Box::new(c)))?;
    counted.hashed(&check.leaves).ok_or_else(|| {
        let seq = Some(outcome.end_seq());
        let (offset, kind) = match outcome.end {
            End::Damaged { offset, kind, .. } => (offset, kind),
            _ => (outcome.records_end, CorruptionKind::BadLength(0)),
        };
        Error::Corrupt(Box::new(Corruption {
            file: path.to_path_buf(),
            offset,
            seq,
            kind,
        }))
    })
}

/// The frontier of `tree`, hashing counted leaves from the segment at `path` if need be.
pub(crate) fn into_frontier(tree: Tree, path: &std::path::Path) -> Result<Frontier> {
    match tree {
        Tree::Hashed(frontier) => Ok(frontier),
        Tree::Counted(counted) => hash_counted(path, &counted),
    }
}

/// The published view plus a way to wait for it to grow (for tailing).
#[derive(Debug)]
pub(crate) struct Published {
    view: RwLock<View>,
    commit_lock: Mutex<u64>,
    committed: Condvar,
    /// Async tail streams waiting for the committed end to grow (see `wake_when_past`).
    wakers: Mutex<Vec<Waker>>,
}

impl Published {
    pub(crate) fn new(view: View) -> Self {
        let end = view.end_seq;
        Published {
            view: RwLock::new(view),
            commit_lock: Mutex::new(end),
            committed: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn snapshot(&self) -> View {
        self.view.read().clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut View)) {
        let end = {
            let mut view = self.view.write();
            f(&mut view);
            view.end_seq
        };
        *self.commit_lock.lock() = end;
        self.committed.notify_all();
        // Taken after the end is stored: a waker registered before this point is woken here,
        // one registered after sees the new end (see `wake_when_past`).
        let wakers = std::mem::take(&mut *self.wakers.lock());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Returns true if more than `seen_end` records are committed; otherwise keeps `waker`
    /// to wake on the next publish (or when the log is dropped) and returns false.
    pub(crate) fn wake_when_past(&self, seen_end: u64, waker: &Waker) -> bool {
        let mut wakers = self.wakers.lock();
        if *self.commit_lock.lock() > seen_end {
            return true;
        }
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        false
    }

    /// Waits until more than `seen_end` records are committed or `timeout` passes; returns the
    /// committed end.
    pub(crate) fn wait_past(&self, seen_end: u64, timeout: Duration) -> u64 {
        let mut end = self.commit_lock.lock();
        if *end <= seen_end {
            let _ = self.committed.wait_for(&mut end, timeout);
        }
        *end
    }
}

impl Drop for Published {
    /// Wakes waiting streams so they notice that the log is gone and end.
    fn drop(&mut self) {
        self.wakers.get_mut().drain(..).for_each(Waker::wake);
    }
}
