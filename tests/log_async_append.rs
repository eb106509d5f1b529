//! Async appends never block the polling thread: with the writer stalled (its fdatasync held
//! by a gate) and the queue full, polling `append_async` returns `Pending` at once; once the
//! gate opens the writer drains, wakes the task, and every receipt arrives in order.

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::{AuditLog, Event};
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A file system whose fdatasync waits while the gate is closed.
#[derive(Debug, Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
}

#[derive(Debug)]
struct GatedFs(Arc<Gate>);
#[derive(Debug)]
struct GatedFile(Box<dyn WritableFile>, Arc<Gate>);

impl FileSystem for GatedFs {
    fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(p)
    }
    fn create_new(&self, p: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(GatedFile(
            StdFileSystem.create_new(p)?,
            self.0.clone(),
        )))
    }
    fn open_writable(&self, p: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(GatedFile(
            StdFileSystem.open_writable(p)?,
            self.0.clone(),
        )))
    }
    fn rename(&self, a: &Path, b: &Path) -> io::Result<()> {
        StdFileSystem.rename(a, b)
    }
    fn remove_file(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.remove_file(p)
    }
    fn sync_dir(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(p)
    }
}

impl WritableFile for GatedFile {
    fn write_all_at(&mut self, b: &[u8], o: u64) -> io::Result<()> {
        self.0.write_all_at(b, o)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let mut closed = self.1.closed.lock().unwrap();
        while *closed {
            closed = self.1.opened.wait(closed).unwrap();
        }
        drop(closed);
        self.0.sync_data()
    }
    fn set_len(&mut self, l: u64) -> io::Result<()> {
        self.0.set_len(l)
    }
    fn preallocate(&mut self, l: u64) -> io::Result<bool> {
        self.0.preallocate(l)
    }
}

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
    let gate = Arc::new(Gate::default());
    let log = AuditLog::builder(tmp.path())
        .queue_capacity(2)
        .file_system(Arc::new(GatedFs(gate.clone())))
        .open()
        .unwrap();
    *gate.closed.lock().unwrap() = true;
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
    *gate.closed.lock().unwrap() = false;
    gate.opened.notify_all();
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
    let gate = Arc::new(Gate::default());
    let log = Arc::new(
        AuditLog::builder(tmp.path())
            .queue_max_bytes(16 * 1024)
            .file_system(Arc::new(GatedFs(gate.clone())))
            .open()
            .unwrap(),
    );
    *gate.closed.lock().unwrap() = true;
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

    *gate.closed.lock().unwrap() = false;
    gate.opened.notify_all();
    for h in handles {
        h.wait().unwrap();
    }
    let receipt = blocked.join().unwrap();
    assert_eq!(receipt.seq, accepted as u64);
}
