//! Helpers shared by the integration tests.
#![allow(dead_code)]

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::{AuditLog, AuditLogBuilder, Durability, Event, Record, Severity};
use std::io;
use std::path::{Path, PathBuf};

/// A deterministic, realistic event number `i`.
pub fn event(i: u64) -> Event {
    let severities = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    Event::new(
        format!("user:{}", i % 97),
        ["order.update", "LOGIN_FAILED", "user.create"][(i % 3) as usize],
    )
    .entity("order", format!("{}", i % 1013))
    .severity(severities[(i % 5) as usize])
}

/// A builder with small segments so tests cross segment boundaries.
pub fn small_segments(dir: &Path) -> AuditLogBuilder {
    AuditLog::builder(dir)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::Immediate)
}

/// Appends events `from..to` and waits for them.
pub fn append_range(log: &AuditLog, from: u64, to: u64) {
    let events: Vec<Event> = (from..to).map(event).collect();
    for chunk in events.chunks(500) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("ack");
    }
}

/// All records, read forward.
pub fn read_all(log: &auditlog::LogReader) -> Vec<Record> {
    log.iter(..)
        .collect::<Result<Vec<_>, _>>()
        .expect("read all")
}

/// Asserts that `records` are exactly events `0..n` in order.
pub fn assert_events(records: &[Record], n: u64) {
    assert_eq!(records.len() as u64, n, "record count");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.event, event(i as u64), "event {i}");
    }
}

/// Copies every file of a log directory (not the lock) into a new temporary directory.
pub fn copy_log(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dst = tmp.path().join("log");
    std::fs::create_dir(&dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dst.join(entry.file_name())).expect("copy");
    }
    (tmp, dst)
}

/// Opens `dir` read-only with a full check (every frame, hash and root, the way a committed
/// fixture must keep opening in every later build) and asserts that it found no problem.
pub fn open_checked_clean(dir: &Path) -> auditlog::ReadOnlyLog {
    let log = AuditLog::builder(dir)
        .open_check(auditlog::OpenCheck::Full)
        .open_read_only()
        .expect("opens read-only with a full check");
    assert!(
        log.open_report().problems.is_empty(),
        "{:?}",
        log.open_report().problems
    );
    log
}

/// Segment files of a log directory, oldest first.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

// Forging cut records by hand, from FORMAT.md §9 alone (tests of cut authenticity).

pub fn log_id(dir: &Path) -> [u8; 16] {
    let meta = std::fs::read(dir.join("auditlog.meta")).unwrap();
    // auditlog.meta (FORMAT.md §1.1): the log id follows the 8-byte magic and 4 bytes of
    // version and flags.
    meta[12..28].try_into().unwrap()
}

/// What a forged cut says, the rest coming from the header of the first kept segment.
pub struct Forgery {
    pub kind: u8,
    pub removed_from: u64,
    pub cut_at: i64,
}

/// Appends a cut record to `cuts.log` (creating it), byte for byte as FORMAT.md §9 says, for
/// a cut at the start of `kept` (a segment file). No signature: the forger has no key.
pub fn append_forged_cut(dir: &Path, kept: &Path, f: &Forgery) {
    let header = std::fs::read(kept).unwrap();
    let u64_at = |o: usize| u64::from_le_bytes(header[o..o + 8].try_into().unwrap());
    let first_seq = u64_at(32);
    let prev_recorded_at = u64_at(48);
    let start_root = &header[56..88];
    let k = u32::from_le_bytes(header[88..92].try_into().unwrap()) as usize;
    let frontier = &header[92..92 + 32 * k];
    let note = b"max age 0 s";
    let mut body = vec![f.kind];
    body.extend_from_slice(&f.removed_from.to_le_bytes());
    body.extend_from_slice(&first_seq.to_le_bytes());
    body.extend_from_slice(&f.cut_at.to_le_bytes());
    body.extend_from_slice(&prev_recorded_at.to_le_bytes());
    body.extend_from_slice(start_root);
    body.push(k as u8);
    body.extend_from_slice(frontier);
    body.extend_from_slice(&(note.len() as u16).to_le_bytes());
    body.extend_from_slice(note);

    let id = log_id(dir);
    let path = dir.join("cuts.log");
    let mut bytes = std::fs::read(&path).unwrap_or_else(|_| {
        let mut h = b"AUDITCUT".to_vec();
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&id);
        let crc = crc32fast::hash(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        h
    });
    let mut crc = crc32fast::Hasher::new();
    crc.update(&id);
    crc.update(&(body.len() as u32).to_le_bytes());
    crc.update(&body);
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc.finalize().to_le_bytes());
    bytes.extend_from_slice(&body);
    std::fs::write(&path, bytes).unwrap();
}

/// What a test double changes about the files it opens for writing (see [`Wrapped`]).
pub trait WrapFile: Send + Sync + std::fmt::Debug {
    /// The file the engine gets in place of `file`.
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile>;
}

/// The real file system, with every file it opens for writing wrapped by `W`: the directory
/// operations are forwarded in this one place for every such test double.
#[derive(Debug, Clone, Default)]
pub struct Wrapped<W>(pub W);

impl<W: WrapFile> FileSystem for Wrapped<W> {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(self.0.wrap(StdFileSystem.create_new(path)?))
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(self.0.wrap(StdFileSystem.open_writable(path)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFileSystem.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(dir)
    }
}

/// A gate for fdatasync: while it is closed, every sync of a file opened through
/// [`gated_file_system`] waits, which holds the writer inside a commit without any timing.
/// `wait_blocked(n)` returns once `n` syncs are waiting at it.
#[derive(Debug, Default)]
pub struct SyncGate {
    /// (closed, syncs waiting)
    state: std::sync::Mutex<(bool, usize)>,
    changed: std::sync::Condvar,
}

impl SyncGate {
    pub fn close(&self) {
        self.state.lock().unwrap().0 = true;
    }
    pub fn open(&self) {
        self.state.lock().unwrap().0 = false;
        self.changed.notify_all();
    }
    /// Waits here while the gate is closed (called by each sync).
    fn pass(&self) {
        let mut s = self.state.lock().unwrap();
        s.1 += 1;
        self.changed.notify_all();
        while s.0 {
            s = self.changed.wait(s).unwrap();
        }
        s.1 -= 1;
    }
    pub fn wait_blocked(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        while s.1 < n {
            s = self.changed.wait(s).unwrap();
        }
    }
}

/// The real file system, with every fdatasync passing `gate` first.
pub fn gated_file_system(gate: &std::sync::Arc<SyncGate>) -> std::sync::Arc<dyn FileSystem> {
    std::sync::Arc::new(Wrapped(GateSyncs(gate.clone())))
}

#[derive(Debug, Clone)]
struct GateSyncs(std::sync::Arc<SyncGate>);

impl WrapFile for GateSyncs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        Box::new(GatedFile(file, self.0.clone()))
    }
}

#[derive(Debug)]
struct GatedFile(Box<dyn WritableFile>, std::sync::Arc<SyncGate>);

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

/// Every file under `dir`, cold segments also decompressed.
pub fn all_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if path.extension().is_some_and(|x| x == "zseg") {
                let (_, hot) = auditlog_format::cold::read::decode_checked(&path, &bytes).unwrap();
                out.push((path.with_extension("zseg(decompressed)"), hot));
            }
            out.push((path, bytes));
        }
    }
    out
}

/// A control for [`assert_absent`]: an unprotected value is found by the same scan.
pub fn assert_present(dir: &Path, needle: &[u8]) {
    assert!(
        all_bytes(dir)
            .iter()
            .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle)),
        "the scan misses {:?}",
        String::from_utf8_lossy(needle)
    );
}

pub fn assert_absent(dir: &Path, needle: &[u8], what: &str) {
    for (path, bytes) in all_bytes(dir) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{what} found in {}",
            path.display()
        );
    }
}
