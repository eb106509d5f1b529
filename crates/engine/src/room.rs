//! Waiting for room in the writer's queue without blocking a thread.
//!
//! `append` blocks its thread while the bounded queue is full, which would stall an async
//! runtime's worker. [`AppendFuture`] instead registers the task's waker here and returns
//! `Pending`; the writer wakes every registered task each time it drains the queue.

use crate::error::{Error, Result};
use crate::log::Shared;
use crate::receipt::{AppendHandle, Completion, Receipt, Reply};
use crate::writer::{Command, Encoded};
use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

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
    fn register(&self, waker: &Waker) {
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

/// The future returned by [`crate::AuditLog::append_async`]: waits (without blocking the
/// thread) for room in the queue, then for the acknowledgement.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct AppendFuture {
    state: State,
}

#[derive(Debug)]
enum State {
    Queueing {
        shared: Arc<Shared>,
        tx: Sender<Command>,
        events: Option<Vec<Encoded>>,
    },
    Waiting(AppendHandle),
    Failed(Option<Error>),
}

impl AppendFuture {
    pub(crate) fn new(shared: Arc<Shared>, tx: Sender<Command>, encoded: Encoded) -> Self {
        AppendFuture {
            state: State::Queueing {
                shared,
                tx,
                events: Some(vec![encoded]),
            },
        }
    }

    pub(crate) fn failed(error: Error) -> Self {
        AppendFuture {
            state: State::Failed(Some(error)),
        }
    }
}

impl Future for AppendFuture {
    type Output = Result<Receipt>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Poll::Ready(Err(e.take().unwrap_or(Error::Closed))),
                State::Waiting(handle) => return Pin::new(handle).poll(cx),
                State::Queueing { shared, tx, events } => {
                    let Some(batch) = events.take() else {
                        return Poll::Ready(Err(Error::Closed));
                    };
                    match try_queue(shared, tx, batch) {
                        Queued::Sent(handle) => self.state = State::Waiting(handle),
                        Queued::Full(batch) => {
                            // Register first, then retry once: the writer may have made room
                            // between the failed attempt and the registration.
                            shared.room.register(cx.waker());
                            match try_queue(shared, tx, batch) {
                                Queued::Sent(handle) => self.state = State::Waiting(handle),
                                Queued::Full(batch) => {
                                    *events = Some(batch);
                                    return Poll::Pending;
                                }
                                Queued::Failed(e) => self.state = State::Failed(Some(e)),
                            }
                        }
                        Queued::Failed(e) => self.state = State::Failed(Some(e)),
                    }
                }
            }
        }
    }
}

enum Queued {
    Sent(AppendHandle),
    Full(Vec<Encoded>),
    Failed(Error),
}

/// Queues `events` if both the byte budget and the channel have room, without blocking.
fn try_queue(shared: &Shared, tx: &Sender<Command>, events: Vec<Encoded>) -> Queued {
    let done = Completion::new();
    let cmd = Command::Append {
        events,
        done: Reply::new(&done),
    };
    let bytes = cmd.bytes();
    if !shared.budget.try_acquire(bytes) {
        let Command::Append { events, .. } = cmd else {
            return Queued::Failed(Error::Closed);
        };
        return Queued::Full(events);
    }
    match tx.try_send(cmd) {
        Ok(()) => Queued::Sent(AppendHandle { completion: done }),
        Err(TrySendError::Full(Command::Append { events, .. })) => {
            shared.budget.release(bytes);
            Queued::Full(events)
        }
        Err(_) => {
            shared.budget.release(bytes);
            Queued::Failed(shared.poisoned_error())
        }
    }
}
