//! Waiting for room in the writer's queue without blocking a thread.
//!
//! `append` blocks its thread while the bounded queue is full, which would stall an async
//! runtime's worker. [`AppendFuture`] instead registers the task's waker here and returns
//! `Pending`; the writer wakes every registered task each time it drains the queue.

use crate::error::AppendError;
use crate::queue::Queue;
use crate::receipt::{AppendHandle, Completion, Receipt, Reply};
use crate::writer::{Command, Encoded};
use crossbeam_channel::{Sender, TrySendError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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
        queue: Arc<Queue>,
        tx: Sender<Command>,
        events: Option<Vec<Encoded>>,
    },
    Waiting(AppendHandle),
    Failed(Option<AppendError>),
}

impl AppendFuture {
    pub(crate) fn new(queue: Arc<Queue>, tx: Sender<Command>, encoded: Encoded) -> Self {
        AppendFuture {
            state: State::Queueing {
                queue,
                tx,
                events: Some(vec![encoded]),
            },
        }
    }

    pub(crate) fn failed(error: AppendError) -> Self {
        AppendFuture {
            state: State::Failed(Some(error)),
        }
    }
}

impl Future for AppendFuture {
    type Output = Result<Receipt, AppendError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match &mut self.state {
                State::Failed(e) => {
                    return Poll::Ready(Err(e.take().unwrap_or(AppendError::Closed)));
                }
                State::Waiting(handle) => return Pin::new(handle).poll(cx),
                State::Queueing { queue, tx, events } => {
                    let Some(batch) = events.take() else {
                        return Poll::Ready(Err(AppendError::Closed));
                    };
                    match try_queue(queue, tx, batch) {
                        Queued::Sent(handle) => self.state = State::Waiting(handle),
                        Queued::Full(batch) => {
                            // Register first, then retry once: the writer may have made room
                            // between the failed attempt and the registration.
                            queue.room.register(cx.waker());
                            match try_queue(queue, tx, batch) {
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
    Failed(AppendError),
}

/// Queues `events` if both the byte budget and the channel have room, without blocking.
fn try_queue(queue: &Queue, tx: &Sender<Command>, events: Vec<Encoded>) -> Queued {
    let done = Completion::new();
    let cmd = Command::Append {
        events,
        done: Reply::new(&done),
    };
    let bytes = cmd.bytes();
    if !queue.budget.try_acquire(bytes) {
        let Command::Append { events, .. } = cmd else {
            return Queued::Failed(AppendError::Closed);
        };
        return Queued::Full(events);
    }
    match tx.try_send(cmd) {
        Ok(()) => {
            queue.gate.sent(|| tx.len(), false);
            Queued::Sent(AppendHandle { completion: done })
        }
        Err(TrySendError::Full(Command::Append { events, .. })) => {
            queue.budget.release(bytes);
            Queued::Full(events)
        }
        Err(_) => {
            queue.budget.release(bytes);
            Queued::Failed(queue.poisoned_error())
        }
    }
}
