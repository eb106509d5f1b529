//! Back-pressure, made deterministic: the writer is held inside its fdatasync by a file
//! system whose syncs wait at a gate, so with a queue of one request the third concurrent
//! append finds the queue full. It must get 503 `queue-full` with `Retry-After` at once (not
//! wait, not grow memory), and the two queued appends must still be acknowledged once the
//! disk answers, while the refused one is not in the log.

mod common;

use auditlog::fs::WritableFile;
use auditlog::{AuditLog, Durability, Event};
use auditlog_server::AppState;
use auditlog_server::state::Limits;
use auditlog_server::tokens::TokenCache;
use common::{WrapFile, Wrapped};
use parking_lot::{Condvar, Mutex};
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Syncs wait while the gate is closed; `blocked` counts the waiting ones.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<(bool, usize)>,
    changed: Condvar,
}

impl Gate {
    fn close(&self) {
        self.state.lock().0 = true;
    }
    fn open(&self) {
        self.state.lock().0 = false;
        self.changed.notify_all();
    }
    fn pass(&self) {
        let mut s = self.state.lock();
        s.1 += 1;
        self.changed.notify_all();
        while s.0 {
            self.changed.wait(&mut s);
        }
        s.1 -= 1;
    }
    fn wait_blocked(&self, n: usize) {
        let mut s = self.state.lock();
        while s.1 < n {
            self.changed.wait(&mut s);
        }
    }
}

/// Wraps every file the engine writes so that its fdatasync passes the gate.
#[derive(Debug, Clone)]
struct GateSyncs(Arc<Gate>);

#[derive(Debug)]
struct GatedFile(Box<dyn WritableFile>, Arc<Gate>);

impl WritableFile for GatedFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.1.pass();
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.0.preallocate(len)
    }
}

impl WrapFile for GateSyncs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        Box::new(GatedFile(file, self.0.clone()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_503_with_retry_after_and_queued_appends_still_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gate = Arc::new(Gate::default());
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .queue_capacity(1)
        .file_system(Arc::new(Wrapped(GateSyncs(gate.clone()))))
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
        log.tree_head().size,
        2,
        "the refused append is not in the log"
    );
}
