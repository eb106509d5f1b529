//! Async appends never block the polling thread: with the writer stalled (its fdatasync held
//! by a gate) and the queue full, polling `append_async` returns `Pending` at once; once the
//! gate opens the writer drains, wakes the task, and every receipt arrives in order.

mod common;

use auditlog::{AuditLog, Event};
use common::{SyncGate, gated_file_system};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

struct CountingWaker(AtomicUsize, AtomicBool);
impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        self.1.store(true, Ordering::SeqCst);
    }
}

#[test]
fn full_queue_yields_pending_and_wakes_when_drained() {
    let tmp = tempfile::tempdir().unwrap();
    let gate = Arc::new(SyncGate::default());
    let log = AuditLog::builder(tmp.path())
        .queue_capacity(2)
        .file_system(gated_file_system(&gate))
        .open()
        .unwrap();
    gate.close();
    // Fill: the writer takes one request and stalls in fdatasync; two more fill the queue.
    let mut handles = Vec::new();
    let mut queued = 0;
    while queued < 50 {
        match log.try_append(&Event::new("user:1", "blocked")) {
            Ok(h) => {
                handles.push(h);
                queued += 1;
            }
            Err(auditlog::AppendError::QueueFull) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(queued < 50, "the queue never filled");

    let flag = Arc::new(CountingWaker(AtomicUsize::new(0), AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut futures: Vec<_> = (0..5)
        .map(|i| log.append_async(&Event::new("user:2", format!("async.{i}"))))
        .collect();
    for f in &mut futures {
        assert!(
            Pin::new(f).poll(&mut cx).is_pending(),
            "a full queue must not block or complete"
        );
    }

    // Open the gate; drive the futures on this thread like a single-threaded executor.
    gate.open();
    let mut receipts = vec![None; futures.len()];
    while receipts.iter().any(Option::is_none) {
        flag.1.store(false, Ordering::SeqCst);
        for (i, f) in futures.iter_mut().enumerate() {
            if receipts[i].is_none()
                && let Poll::Ready(r) = Pin::new(f).poll(&mut cx)
            {
                receipts[i] = Some(r.unwrap());
            }
        }
        if receipts.iter().any(Option::is_none) {
            // Wait for a wake-up rather than spinning (bounded so a lost wake-up fails the test).
            let mut waited = 0;
            while !flag.1.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(1));
                waited += 1;
                assert!(waited < 30_000, "no wake-up: a lost waker");
            }
        }
    }
    assert!(
        flag.0.load(Ordering::SeqCst) > 0,
        "the writer never woke the task"
    );
    for h in handles {
        h.wait().unwrap();
    }
    // Independent futures are not ordered among themselves (room can appear between two
    // polls); each must hold its own event under a distinct sequence number.
    let seqs: Vec<u64> = receipts.iter().map(|r| r.unwrap().seq).collect();
    let distinct: std::collections::HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(distinct.len(), seqs.len(), "{seqs:?}");
    for (i, seq) in seqs.iter().enumerate() {
        assert_eq!(log.get(*seq).unwrap().event.action, format!("async.{i}"));
    }
}

/// The queue is bounded by bytes, not only by requests: with the writer stalled, appends of
/// ~1 KiB events fill a 16 KiB budget long before the 4096-request channel, `try_append`
/// then fails with `QueueFull`, a blocking `append` waits, and everything completes once the
/// writer moves again.
#[test]
fn queued_bytes_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let gate = Arc::new(SyncGate::default());
    let log = Arc::new(
        AuditLog::builder(tmp.path())
            .queue_max_bytes(16 * 1024)
            .file_system(gated_file_system(&gate))
            .open()
            .unwrap(),
    );
    gate.close();
    let big = |i: usize| {
        Event::new("user:1", "upload")
            .entity("file", i.to_string())
            .error_message("x".repeat(1000))
    };
    let mut handles = Vec::new();
    let mut accepted = 0;
    loop {
        match log.try_append(&big(accepted)) {
            Ok(h) => {
                handles.push(h);
                accepted += 1;
                assert!(accepted < 200, "the byte budget never filled");
            }
            Err(auditlog::AppendError::QueueFull) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Roughly 16 KiB of ~1 KiB events, plus the group the stalled writer already took.
    assert!((10..60).contains(&accepted), "{accepted} accepted");

    let blocked = std::thread::spawn({
        let log = log.clone();
        move || log.append(&big(9999)).unwrap().wait().unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !blocked.is_finished(),
        "append must wait while the budget is full"
    );

    gate.open();
    for h in handles {
        h.wait().unwrap();
    }
    let receipt = blocked.join().unwrap();
    assert_eq!(receipt.seq, accepted as u64);
}
