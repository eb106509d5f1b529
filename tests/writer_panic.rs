//! A panic in the writer thread, injected through the file-system interface, must not hang
//! anyone: every waiter gets an error, later appends are refused as poisoned, and `close`
//! says the writer panicked. The log reopens afterwards with nothing lost.
//!
//! The panicking write first blocks until the test has queued several appends behind it, so
//! both kinds of waiter are there when it panics: the one whose group was being written and
//! those still queued. `recv_timeout` below only detects a hang (without the fix the waiters
//! block forever); no assertion depends on how long anything takes.

mod common;

use auditlog::fs::WritableFile;
use auditlog::fuzzing::model::event_for;
use auditlog::{AppendError, AuditLog, Durability, Error};
use common::{WrapFile, Wrapped};
use parking_lot::Mutex;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

const WAITERS: u64 = 8;
const PANIC_MESSAGE: &str = "injected panic in write_all_at";
/// Only a hang detector: far longer than any healthy wake-up.
const HANG: Duration = Duration::from_secs(60);

/// Once armed, the next `write_all_at` waits for the gate to open, then panics.
#[derive(Debug, Clone, Default)]
struct PanickingFs {
    armed: Arc<AtomicBool>,
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
}

impl PanickingFs {
    fn arm(&self) -> mpsc::Sender<()> {
        let (open, gate) = mpsc::channel();
        *self.gate.lock() = Some(gate);
        self.armed.store(true, Ordering::SeqCst);
        open
    }
}

impl WrapFile for PanickingFs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        Box::new(PanickingFile(file, self.clone()))
    }
}

#[derive(Debug)]
struct PanickingFile(Box<dyn WritableFile>, PanickingFs);

impl WritableFile for PanickingFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.1.armed.swap(false, Ordering::SeqCst) {
            if let Some(gate) = self.1.gate.lock().take() {
                let _ = gate.recv();
            }
            panic!("{PANIC_MESSAGE}");
        }
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.0.preallocate(len)
    }
}

#[test]
fn a_writer_panic_fails_every_waiter_and_poisons_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let fs = PanickingFs::default();
    let log = AuditLog::builder(&dir)
        .durability(Durability::Immediate)
        .file_system(Arc::new(Wrapped(fs.clone())))
        .open()
        .expect("open");
    // An async append created but never polled holds a sender to the writer: close must not
    // wait for it to go.
    let unpolled = log.append_async(&event_for(1_000));
    let open_gate = fs.arm();

    // The first append's group blocks in the armed write; the others queue behind it.
    let handles: Vec<_> = (0..WAITERS)
        .map(|i| log.append(&event_for(i)).expect("queued before the panic"))
        .collect();
    let (tx, results) = mpsc::channel();
    for (i, handle) in handles.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, handle.wait()));
        });
    }
    open_gate.send(()).unwrap();

    for _ in 0..WAITERS {
        let (i, result) = results
            .recv_timeout(HANG)
            .expect("a waiter was never woken after the writer panicked");
        match result {
            Err(AppendError::Poisoned { cause }) => {
                assert!(cause.contains("panicked"), "waiter {i}: {cause}")
            }
            other => panic!("waiter {i} did not get a poisoned error: {other:?}"),
        }
    }

    let later = log.append(&event_for(WAITERS)).map(|_| ());
    match &later {
        Err(AppendError::Poisoned { cause }) => assert!(
            cause.contains("writer thread panicked") && cause.contains(PANIC_MESSAGE),
            "the later append's error does not name the panic: {cause}"
        ),
        other => panic!("a later append was not refused as poisoned: {other:?}"),
    }
    let sync = log.sync();
    assert!(matches!(&sync, Err(Error::Poisoned { .. })), "{sync:?}");
    let (closing, closed) = mpsc::channel();
    std::thread::spawn(move || closing.send(log.close()));
    let closed = closed
        .recv_timeout(HANG)
        .expect("close of a panicked log never returned");
    drop(unpolled);
    let message = closed.as_ref().map_err(|e| e.to_string()).err();
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("writer thread panicked")),
        "close did not say the writer panicked: {closed:?}"
    );

    // Nothing was acknowledged; the log reopens and takes appends again.
    let log = AuditLog::open(&dir).expect("reopen after the panic");
    let end = log.end_seq();
    log.append(&event_for(end))
        .and_then(|h| h.wait())
        .expect("append after reopening");
    log.close().expect("close");
}
