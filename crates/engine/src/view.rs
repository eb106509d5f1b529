//! The committed state that readers see, published by the writer after each group.

use crate::merkle::TreeHead;
use crate::segment::Segment;
use parking_lot::{Condvar, Mutex, RwLock};
use std::sync::Arc;
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
    /// Tree head at `end_seq`.
    pub tree_head: TreeHead,
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
