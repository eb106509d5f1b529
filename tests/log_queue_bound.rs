//! The memory bound of a writer under overload, checked without timing: with the writer
//! stalled in its fdatasync (a gate), producers calling `try_append` and `try_append_batch`
//! get everything they can in, and the frames admitted add up to at most `queue_max_bytes`
//! (the records the stalled writer holds included, since their bytes leave the budget only
//! once written), while the first refused request would not have fit. This is the bound
//! docs/BENCHMARKS.md ("Memory under overload") measures as resident memory.

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::{AppendError, AuditLog, Event, EventLimits};
use auditlog_format::event::codec::encode_payload;
use auditlog_format::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN};
use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

/// A file system whose fdatasync waits while the gate is closed.
#[derive(Debug, Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }
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

/// Bytes one event takes in the queue's budget: its frame (header, fixed body, payload).
fn frame_bytes(event: &Event) -> usize {
    let payload = encode_payload(event, &EventLimits::default()).unwrap();
    FRAME_HEADER_LEN + BODY_FIXED_LEN + payload.len()
}

/// Events of different sizes, so that the limit is not a multiple of any of them.
fn event(i: usize) -> Event {
    Event::new(format!("user:{i}"), "upload")
        .entity("file", i.to_string())
        .error_message("x".repeat(100 + (i * 37) % 900))
}

/// Fills the queue of a stalled writer with `try_append` (single events) or
/// `try_append_batch` (batches of `batch`) until it refuses; returns the bytes admitted and
/// the bytes of the refused request, after checking every admitted event is written once
/// the writer moves again.
fn fill(limit: usize, batch: usize) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let log = AuditLog::builder(tmp.path())
        .queue_max_bytes(limit)
        .file_system(Arc::new(GatedFs(gate.clone())))
        .open()
        .unwrap();
    gate.set(true);
    let (mut admitted, mut next) = (0usize, 0usize);
    let (mut singles, mut batches) = (Vec::new(), Vec::new());
    let refused = loop {
        let events: Vec<Event> = (next..next + batch).map(event).collect();
        let bytes: usize = events.iter().map(frame_bytes).sum();
        let result = if batch == 1 {
            log.try_append(&events[0]).map(|h| singles.push(h))
        } else {
            log.try_append_batch(&events).map(|h| batches.push(h))
        };
        match result {
            Ok(()) => {
                admitted += bytes;
                next += batch;
                assert!(next < 100_000, "the byte budget never filled");
            }
            Err(AppendError::QueueFull) => break bytes,
            Err(e) => panic!("{e}"),
        }
    };
    gate.set(false);
    for h in singles {
        h.wait().unwrap();
    }
    for h in batches {
        h.wait().unwrap();
    }
    assert_eq!(
        log.end_seq(),
        next as u64,
        "every admitted event is written"
    );
    log.close().unwrap();
    (admitted, refused)
}

#[test]
fn a_stalled_writer_never_holds_more_than_queue_max_bytes_of_single_events() {
    let limit = 64 * 1024;
    let (admitted, refused) = fill(limit, 1);
    assert!(
        admitted <= limit,
        "{admitted} bytes admitted under a {limit}-byte limit"
    );
    assert!(
        admitted + refused > limit,
        "a {refused}-byte event was refused with {admitted} of {limit} bytes used"
    );
}

#[test]
fn a_stalled_writer_never_holds_more_than_queue_max_bytes_of_batches() {
    let limit = 256 * 1024;
    let (admitted, refused) = fill(limit, 20);
    assert!(
        admitted <= limit,
        "{admitted} bytes admitted under a {limit}-byte limit"
    );
    assert!(
        admitted + refused > limit,
        "a {refused}-byte batch was refused with {admitted} of {limit} bytes used"
    );
}
