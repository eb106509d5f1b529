//! Back-pressure, made deterministic: the writer is held inside its fdatasync by a file
//! system whose syncs wait at a gate, so with a queue of one request the third concurrent
//! append finds the queue full. It must get 503 `queue-full` with `Retry-After` at once (not
//! wait, not grow memory), and the two queued appends must still be acknowledged once the
//! disk answers, while the refused one is not in the log.

mod common;

use auditlog::{AuditLog, Durability, Event};
use auditlog_server::AppState;
use auditlog_server::state::Limits;
use auditlog_server::tokens::TokenCache;
use common::{SyncGate, gated_file_system};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_503_with_retry_after_and_queued_appends_still_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gate = Arc::new(SyncGate::default());
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .queue_capacity(1)
        .file_system(gated_file_system(&gate))
        .open()
        .expect("opens");
    let log = Arc::new(log);
    let tokens = TokenCache::open(dir.path()).expect("token cache");
    let state = AppState::new(log.clone(), tokens, Limits::default(), None);
    gate.close();
    let first = tokio::spawn({
        let state = state.clone();
        async move { state.append(&[Event::new("a", "first")]).await }
    });
    // The writer holds the first request inside its fdatasync.
    tokio::task::spawn_blocking({
        let gate = gate.clone();
        move || gate.wait_blocked(1)
    })
    .await
    .expect("waits");
    let second = tokio::spawn({
        let state = state.clone();
        async move { state.append(&[Event::new("b", "second")]).await }
    });
    // Once the second is queued (counted in flight), the one-request queue is full.
    while state.metrics().appends_in_flight.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let problem = state
        .append(&[Event::new("c", "third")])
        .await
        .expect_err("the queue is full");
    assert_eq!(problem.status, 503, "{problem:?}");
    assert_eq!(problem.kind, "queue-full");
    // Answered with `Retry-After` (error.rs puts the header on every problem that has it).
    assert_eq!(problem.retry_after, Some(1));
    assert_eq!(state.metrics().queue_full.get(), 1);
    gate.open();
    let a = first.await.expect("joins").expect("first acknowledged");
    let b = second.await.expect("joins").expect("second acknowledged");
    assert_eq!((a[0].seq, b[0].seq), (0, 1));
    assert_eq!(
        log.tree_head().unwrap().size,
        2,
        "the refused append is not in the log"
    );
}
