//! Waiting for room in the writer's queue without blocking a thread.
//!
//! `append` blocks its thread while the bounded queue is full, which would stall an async
//! runtime's worker. [`AppendFuture`] instead registers the task's waker here and returns
//! `Pending`; the writer wakes every registered task each time it drains the queue.

use crate::error::{Error, Result};
use crate::log::Shared;
use crate::receipt::{AppendHandle, Completion, Receipt};
use crate::writer::{Command, Encoded};
use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

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
                    let done = Completion::new();
                    let cmd = Command::Append {
                        events: batch,
                        done: done.clone(),
                    };
                    match tx.try_send(cmd) {
                        Ok(()) => self.state = State::Waiting(AppendHandle { completion: done }),
                        Err(TrySendError::Full(Command::Append { events: batch, .. })) => {
                            // Register first, then retry once: the writer may have drained
                            // between the failed send and the registration.
                            shared.room.register(cx.waker());
                            let done = Completion::new();
                            let cmd = Command::Append {
                                events: batch,
                                done: done.clone(),
                            };
                            match tx.try_send(cmd) {
                                Ok(()) => {
                                    self.state = State::Waiting(AppendHandle { completion: done })
                                }
                                Err(TrySendError::Full(Command::Append {
                                    events: batch, ..
                                })) => {
                                    *events = Some(batch);
                                    return Poll::Pending;
                                }
                                Err(_) => self.state = State::Failed(Some(shared.poisoned_error())),
                            }
                        }
                        Err(_) => self.state = State::Failed(Some(shared.poisoned_error())),
                    }
                }
            }
        }
    }
}
