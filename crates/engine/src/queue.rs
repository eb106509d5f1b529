//! The writer's queue as the handle and the writer thread share it: the byte budget that
//! bounds it, the async producers waiting for room in it, and the poison that closes it.

use crate::error::AppendError;
use crate::writer::gate::GroupGate;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Waker;

/// What a writing handle, its writer thread and its pending [`AppendFuture`]s share.
///
/// [`AppendFuture`]: crate::AppendFuture
#[derive(Debug)]
pub(crate) struct Queue {
    /// Bytes of appends queued for the writer, bounded by `queue_max_bytes`.
    pub budget: QueueBudget,
    /// Async appends waiting for room in the queue.
    pub room: RoomWaiters,
    /// Where the writer waits for the rest of a group and senders wake it (writer/gate.rs).
    pub gate: GroupGate,
    poison: Mutex<Option<String>>,
    /// Whether `poison` is set: read on every append without taking the lock.
    poisoned: AtomicBool,
    /// Set while the writer waits for room to create its active segment.
    deferred: Mutex<Option<String>>,
}

impl Queue {
    pub(crate) fn new(max_bytes: usize) -> Self {
        Queue {
            budget: QueueBudget::new(max_bytes),
            room: RoomWaiters::default(),
            gate: GroupGate::default(),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            deferred: Mutex::new(None),
        }
    }

    /// Why the writer is deferred (a log opened on a full disk, writer.rs), if it is.
    pub(crate) fn deferred_cause(&self) -> Option<String> {
        self.deferred.lock().clone()
    }

    pub(crate) fn set_deferred(&self, cause: Option<String>) {
        *self.deferred.lock() = cause;
    }

    pub(crate) fn poison_cause(&self) -> Option<String> {
        if !self.is_poisoned() {
            return None;
        }
        self.poison.lock().clone()
    }

    /// Whether a write, sync or panic poisoned the writer (cheap: no lock, no copy).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Records the first failure; later ones keep the first cause.
    pub(crate) fn set_poison(&self, cause: String) {
        self.poison.lock().get_or_insert(cause);
        self.poisoned.store(true, Ordering::Release);
    }

    pub(crate) fn poisoned_error(&self) -> AppendError {
        match self.poison_cause() {
            Some(cause) => AppendError::Poisoned { cause },
            None => AppendError::Closed,
        }
    }

    /// The writer took `bytes` off the queue (0 after a drain): they leave the budget and
    /// every waiting async producer may retry.
    pub(crate) fn drained(&self, bytes: usize) {
        self.budget.release(bytes);
        self.room.wake_all();
    }
}

/// Bytes of queued appends, bounded so that producers outrunning the disk block (or get
/// `QueueFull`) instead of growing memory. A request larger than the whole budget is admitted
/// when nothing else is queued, so it can never wait forever.
#[derive(Debug)]
pub(crate) struct QueueBudget {
    used: AtomicUsize,
    limit: usize,
    lock: Mutex<()>,
    freed: parking_lot::Condvar,
}

impl QueueBudget {
    pub(crate) fn new(limit: usize) -> Self {
        QueueBudget {
            used: AtomicUsize::new(0),
            limit,
            lock: Mutex::new(()),
            freed: parking_lot::Condvar::new(),
        }
    }

    /// Takes `n` bytes of the budget if they fit.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut used = self.used.load(Ordering::Acquire);
        loop {
            if used > 0 && used.saturating_add(n) > self.limit {
                return false;
            }
            match self.used.compare_exchange_weak(
                used,
                used + n,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Takes `n` bytes, waiting while they do not fit.
    pub(crate) fn acquire(&self, n: usize) {
        if self.try_acquire(n) {
            return;
        }
        let mut guard = self.lock.lock();
        // Re-checked under the lock that `release` takes before notifying: no lost wake-up.
        while !self.try_acquire(n) {
            self.freed.wait(&mut guard);
        }
    }

    /// Returns `n` bytes (the writer, after writing them; or a sender whose send failed).
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, Ordering::AcqRel);
        let _guard = self.lock.lock();
        self.freed.notify_all();
    }
}

/// Tasks waiting for the queue to have room.
#[derive(Debug, Default)]
pub(crate) struct RoomWaiters {
    any: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl RoomWaiters {
    pub(crate) fn register(&self, waker: &Waker) {
        let mut wakers = self.wakers.lock();
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        self.any.store(true, Ordering::Release);
    }

    /// Called by the writer after draining: wakes every waiting task (cheap when none wait).
    pub(crate) fn wake_all(&self) {
        if !self.any.swap(false, Ordering::AcqRel) {
            return;
        }
        let wakers = std::mem::take(&mut *self.wakers.lock());
        for w in wakers {
            w.wake();
        }
    }
}
