//! Acknowledgements: what an append returns, waited for blocking or as a `Future`.
//!
//! The writer completes a [`Completion`] once the record's group is as durable as the log's
//! [`crate::Durability`] promises. Producers wait with `wait()` (blocking) or `.await` (the
//! handles implement `Future`, so an async task is parked without blocking its runtime, and no
//! async runtime is a dependency).

use crate::error::AppendError;
use crate::merkle::Hash;
use crate::timestamp::Timestamp;
use parking_lot::{Condvar, Mutex};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Proof that a record was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The record's sequence number (gapless from 0).
    pub seq: u64,
    /// The time the engine assigned.
    pub recorded_at: Timestamp,
    /// The record's Merkle leaf hash.
    pub leaf_hash: Hash,
    /// The size of the tree the record was committed in (its group's end), for proofs.
    pub tree_size: u64,
}

/// A one-shot slot the writer fills and a producer waits on.
#[derive(Debug, Default)]
pub(crate) struct Completion {
    state: Mutex<CompletionState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct CompletionState {
    result: Option<Result<Vec<Receipt>, AppendError>>,
    /// Set by the first `complete`: a result already taken by the waiter is not replaced.
    completed: bool,
    waker: Option<Waker>,
}

impl Completion {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Completion::default())
    }

    /// Fills the slot and wakes the waiter. Later calls are ignored.
    pub(crate) fn complete(&self, result: Result<Vec<Receipt>, AppendError>) {
        let waker = {
            let mut state = self.state.lock();
            if state.completed {
                return;
            }
            state.completed = true;
            state.result = Some(result);
            state.waker.take()
        };
        self.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wait(&self) -> Result<Vec<Receipt>, AppendError> {
        let mut state = self.state.lock();
        loop {
            if let Some(result) = state.result.take() {
                return result;
            }
            self.ready.wait(&mut state);
        }
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<Receipt>, AppendError>> {
        let mut state = self.state.lock();
        match state.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The writer's side of a [`Completion`]: the only way the writer answers a request.
///
/// Dropped without an answer (the writer thread unwinding from a panic, or a request still
/// queued when the writer stopped) it completes the request with an error, so that no waiter
/// is ever left blocked on a request nobody will answer.
#[derive(Debug)]
pub(crate) struct Reply(Arc<Completion>);

impl Reply {
    pub(crate) fn new(completion: &Arc<Completion>) -> Self {
        Reply(completion.clone())
    }

    /// Answers the request and wakes its waiter.
    pub(crate) fn complete(self, result: Result<Vec<Receipt>, AppendError>) {
        self.0.complete(result);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        // A no-op after `complete`.
        let error = if std::thread::panicking() {
            AppendError::Poisoned {
                cause: "the writer thread panicked while handling this request".into(),
            }
        } else {
            AppendError::Closed
        };
        self.0.complete(Err(error));
    }
}

/// The pending acknowledgement of one `append`.
///
/// Call [`wait`](Self::wait) to block, or `.await` it. Dropping it does not cancel the append.
#[derive(Debug)]
#[must_use = "an append is acknowledged only when its handle resolves"]
pub struct AppendHandle {
    pub(crate) completion: Arc<Completion>,
}

impl AppendHandle {
    /// Blocks until the record is acknowledged (see [`crate::Durability`]). Fails only with
    /// [`AppendError::Poisoned`] (a write or fsync failed; its I/O error is the cause) or
    /// [`AppendError::Closed`].
    pub fn wait(self) -> Result<Receipt, AppendError> {
        first(self.completion.wait())
    }
}

impl Future for AppendHandle {
    type Output = Result<Receipt, AppendError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.completion.poll(cx).map(first)
    }
}

fn first(result: Result<Vec<Receipt>, AppendError>) -> Result<Receipt, AppendError> {
    result?.into_iter().next().ok_or(AppendError::Closed)
}

/// The pending acknowledgement of one `append_batch`, resolving to one receipt per event.
#[derive(Debug)]
#[must_use = "a batch is acknowledged only when its handle resolves"]
pub struct BatchHandle {
    pub(crate) completion: Arc<Completion>,
}

impl BatchHandle {
    /// Blocks until the whole batch is acknowledged.
    pub fn wait(self) -> Result<Vec<Receipt>, AppendError> {
        self.completion.wait()
    }
}

impl Future for BatchHandle {
    type Output = Result<Vec<Receipt>, AppendError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.completion.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn future_is_woken_on_completion() {
        let completion = Completion::new();
        let mut handle = AppendHandle {
            completion: completion.clone(),
        };
        let flag = Arc::new(Flag(Default::default()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        let receipt = Receipt {
            seq: 3,
            recorded_at: Timestamp::from_nanos(1),
            leaf_hash: [0; 32],
            tree_size: 4,
        };
        completion.complete(Ok(vec![receipt]));
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        match Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(Ok(r)) => assert_eq!(r, receipt),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_dropped_reply_fails_its_waiter_and_a_completed_one_is_kept() {
        let completion = Completion::new();
        drop(Reply::new(&completion));
        assert!(matches!(
            AppendHandle { completion }.wait(),
            Err(AppendError::Closed)
        ));
        let completion = Completion::new();
        Reply::new(&completion).complete(Err(AppendError::QueueFull));
        assert!(matches!(
            BatchHandle { completion }.wait(),
            Err(AppendError::QueueFull)
        ));
    }

    #[test]
    fn wait_returns_error() {
        let completion = Completion::new();
        completion.complete(Err(AppendError::Closed));
        assert!(matches!(
            AppendHandle { completion }.wait(),
            Err(AppendError::Closed)
        ));
    }
}
