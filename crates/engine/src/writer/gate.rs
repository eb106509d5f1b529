//! How the writer of an `Immediate` log sleeps while the producers of its last group send
//! again (`Writer::await_last_group`): woken once, when as many requests are queued as it
//! waits for (or when a control command is queued, or at its deadline), instead of once per
//! send as a blocking `recv` is. With 64 producers that was up to 63 wake-ups of the writer
//! thread per group, each a futex wake on the producer's side and a context switch on the
//! writer's (docs/BENCHMARKS.md, "The Unix socket (session 29)").
//!
//! Only when the writer is woken changes: what it then takes from the channel, and when it
//! writes and syncs, do not. A lost wake-up would cost latency (the writer sleeps until its
//! deadline), never a record or an acknowledgement.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::thread::{self, Thread};
use std::time::Instant;

/// The writer's side and the senders' side of the wait for a group.
#[derive(Debug, Default)]
pub(crate) struct GroupGate {
    /// How many queued commands end the writer's wait; 0 while it does not wait.
    wanted: AtomicUsize,
    /// The writer thread, to unpark (set once it runs).
    writer: OnceLock<Thread>,
}

impl GroupGate {
    /// Called on the writer thread before its first wait.
    pub(crate) fn register_writer(&self) {
        let _ = self.writer.set(thread::current());
    }

    /// Called by a sender once its command is in the channel, which then holds `queued()`
    /// commands: wakes a waiting writer if that is as many as it waits for, or at once for a
    /// control command (`control`), which must not wait for appends.
    pub(crate) fn sent(&self, queued: impl FnOnce() -> usize, control: bool) {
        // Pairs with the fence in `wait`: either the writer sees this command in the channel
        // when it checks, or this sender sees the writer's `wanted`.
        fence(Ordering::SeqCst);
        let wanted = self.wanted.load(Ordering::Relaxed);
        if wanted == 0 || (!control && queued() < wanted) {
            return;
        }
        // One sender wakes it: the first to take `wanted` back to 0.
        if self
            .wanted
            .compare_exchange(wanted, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
            && let Some(writer) = self.writer.get()
        {
            writer.unpark();
        }
    }

    /// On the writer thread: sleeps until `queued()` reaches `wanted`, a control command is
    /// sent, or `deadline`, whichever is first. A wake-up meant for an earlier wait can end
    /// this one early (a smaller group, nothing worse).
    pub(crate) fn wait(&self, queued: impl Fn() -> usize, wanted: usize, deadline: Instant) {
        self.wanted.store(wanted, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        loop {
            if queued() >= wanted || self.wanted.load(Ordering::Acquire) == 0 {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            thread::park_timeout(deadline - now);
        }
        self.wanted.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A writer thread waiting for `wanted` commands (counted in the returned counter), once
    /// its wait has begun; it returns the count it saw when woken.
    fn waiting_writer(
        wanted: usize,
    ) -> (Arc<GroupGate>, Arc<AtomicUsize>, thread::JoinHandle<usize>) {
        let gate = Arc::new(GroupGate::default());
        let queued = Arc::new(AtomicUsize::new(0));
        let (g, q) = (gate.clone(), queued.clone());
        let writer = thread::spawn(move || {
            g.register_writer();
            let deadline = Instant::now() + Duration::from_secs(3600);
            g.wait(|| q.load(Ordering::SeqCst), wanted, deadline);
            q.load(Ordering::SeqCst)
        });
        while gate.wanted.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        (gate, queued, writer)
    }

    /// A wait that a sender ends: the writer returns once the count is reached, long before
    /// a deadline it would otherwise sleep to. (The deadline is an hour: a missed wake-up
    /// hangs the test rather than passing it slowly.)
    #[test]
    fn the_sender_that_completes_the_count_wakes_the_writer() {
        let (gate, queued, writer) = waiting_writer(3);
        for _ in 0..3 {
            queued.fetch_add(1, Ordering::SeqCst);
            gate.sent(|| queued.load(Ordering::SeqCst), false);
        }
        assert_eq!(writer.join().expect("writer"), 3);
        assert_eq!(gate.wanted.load(Ordering::SeqCst), 0);
    }

    /// A control command ends the wait although fewer appends are queued than awaited.
    #[test]
    fn a_control_command_ends_the_wait_at_once() {
        let (gate, queued, writer) = waiting_writer(64);
        queued.fetch_add(1, Ordering::SeqCst);
        gate.sent(|| queued.load(Ordering::SeqCst), true);
        assert_eq!(writer.join().expect("writer"), 1);
    }

    /// With no sender at all the wait ends at its deadline; an append sent while nobody
    /// waits wakes nobody (and leaves no wait behind).
    #[test]
    fn the_deadline_ends_a_wait_nobody_completes() {
        let gate = GroupGate::default();
        gate.register_writer();
        gate.sent(|| 1, false);
        gate.wait(|| 0, 2, Instant::now() + Duration::from_millis(1));
        assert_eq!(gate.wanted.load(Ordering::SeqCst), 0);
    }
}
