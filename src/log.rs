//! [`AuditLog`]: the handle services hold, and its builder.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::event::{Event, EventLimits, Record, encode_payload_into};
use crate::fs::FileSystem;
use crate::merkle::{self, TreeHead};
use crate::meta::{self, LogMeta};
use crate::options::{Durability, OpenCheck, Options};
use crate::reader::RecordIter;
use crate::receipt::{AppendHandle, BatchHandle, Completion};
use crate::recovery::{OpenReport, recover};
use crate::view::{Published, View};
use crate::writer::{Command, Encoded, Writer};
use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use std::fs::File;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// State shared by the handle, the writer thread and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub meta: LogMeta,
    pub options: Options,
    pub published: Published,
    poison: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn poison_cause(&self) -> Option<String> {
        self.poison.lock().clone()
    }

    /// Records the first failure; later ones keep the first cause.
    pub(crate) fn set_poison(&self, cause: String) {
        self.poison.lock().get_or_insert(cause);
    }

    pub(crate) fn poisoned_error(&self) -> Error {
        match self.poison_cause() {
            Some(cause) => Error::Poisoned { cause },
            None => Error::Closed,
        }
    }
}

/// An open audit log: append from many threads (it is `Send + Sync`; share it in an `Arc`),
/// read while appending.
///
/// ```no_run
/// use auditlog::{AuditLog, Event, Severity};
/// let log = AuditLog::open("./audit")?;
/// let receipt = log
///     .append(&Event::new("user:42", "order.status_change").entity("order", "123").severity(Severity::Low))?
///     .wait()?; // durable once this returns (Durability::Immediate)
/// println!("stored as #{} in a tree of {}", receipt.seq, receipt.tree_size);
/// # Ok::<(), auditlog::Error>(())
/// ```
#[derive(Debug)]
pub struct AuditLog {
    shared: Arc<Shared>,
    tx: Option<Sender<Command>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    report: OpenReport,
    _lock: Option<File>,
}

/// Configures and opens an [`AuditLog`]. Every setter documents its default.
#[derive(Debug, Clone)]
pub struct AuditLogBuilder {
    dir: PathBuf,
    options: Options,
}

impl AuditLogBuilder {
    /// When appends are acknowledged. Default: [`Durability::Immediate`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.options.durability = durability;
        self
    }

    /// Size at which the active segment is sealed and a new one started. Default 64 MiB;
    /// at least 64 KiB, below 4 GiB.
    pub fn segment_max_bytes(mut self, bytes: u64) -> Self {
        self.options.segment_max_bytes = bytes;
        self
    }

    /// Age at which a non-empty active segment is sealed on the next append. Default 24 h.
    pub fn segment_max_age(mut self, age: Duration) -> Self {
        self.options.segment_max_age = age;
        self
    }

    /// Appends (or batches) that may wait for the writer before `append` blocks and
    /// `try_append` fails with [`Error::QueueFull`]. Default 4096. Memory held by the queue is
    /// at most this many requests.
    pub fn queue_capacity(mut self, requests: usize) -> Self {
        self.options.queue_capacity = requests;
        self
    }

    /// Bytes of records the writer gathers into one write (and one fdatasync). Default 4 MiB.
    pub fn max_group_bytes(mut self, bytes: usize) -> Self {
        self.options.max_group_bytes = bytes.max(1);
        self
    }

    /// Largest encoded event accepted. Default 1 MiB.
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.options.event_limits.max_event_bytes = bytes;
        self
    }

    /// All event validation limits. Default [`EventLimits::default`].
    pub fn event_limits(mut self, limits: EventLimits) -> Self {
        self.options.event_limits = limits;
        self
    }

    /// Whether new segments reserve their full size on disk up front (fallocate), which
    /// makes each fdatasync cheaper and turns a full disk into an error at roll time rather
    /// than mid-segment. Default true.
    pub fn preallocate(mut self, yes: bool) -> Self {
        self.options.preallocate = yes;
        self
    }

    /// How much `open` checks. Default [`OpenCheck::Quick`].
    pub fn open_check(mut self, check: OpenCheck) -> Self {
        self.options.open_check = check;
        self
    }

    /// The clock that assigns `recorded_at`. Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.options.clock = clock;
        self
    }

    /// The file-system layer of the write path. Default: the real file system. Tests use it
    /// to inject I/O errors and simulate power loss.
    pub fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.options.fs = fs;
        self
    }

    /// Opens the log read-only: no lock is taken (a writer may run beside it), nothing is
    /// repaired, and damage is listed in [`OpenReport::problems`] with the readable prefix
    /// kept. Default false.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.options.read_only = yes;
        self
    }

    /// Opens (or, unless read-only, creates) the log.
    pub fn open(self) -> Result<AuditLog> {
        AuditLog::open_with(self.dir, self.options)
    }
}

impl AuditLog {
    /// Opens the log in `dir` for writing with default options, creating it if the directory
    /// is missing or empty.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder(dir).open()
    }

    /// Opens the log in `dir` read-only (see [`AuditLogBuilder::read_only`]).
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder(dir).read_only(true).open()
    }

    /// A builder for options.
    pub fn builder(dir: impl AsRef<Path>) -> AuditLogBuilder {
        AuditLogBuilder {
            dir: dir.as_ref().to_path_buf(),
            options: Options::default(),
        }
    }

    fn open_with(dir: PathBuf, options: Options) -> Result<Self> {
        options.validate()?;
        let (meta, lock, created) = if options.read_only {
            (LogMeta::read(&dir)?, None, false)
        } else {
            let exists = dir.join(meta::META_FILE).exists();
            if !exists {
                options
                    .fs
                    .create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            }
            let lock = meta::lock_dir(&dir)?;
            if exists {
                (LogMeta::read(&dir)?, Some(lock), false)
            } else {
                refuse_foreign_files(&dir)?;
                let meta = LogMeta::generate(options.clock.now().as_nanos());
                meta.create(options.fs.as_ref(), &dir)?;
                (meta, Some(lock), true)
            }
        };
        let recovered = recover(&dir, meta, &options)?;
        let mut report = recovered.report;
        report.created = created;
        let mut segments: Vec<Arc<_>> = recovered.sealed.into_iter().map(Arc::new).collect();
        let first_seq = segments.first().map_or(0, |s| s.first_seq());
        let active = recovered.active.map(|(segment, scan)| {
            let segment = Arc::new(segment);
            segments.push(segment.clone());
            (segment, scan)
        });
        let first_seq = active
            .as_ref()
            .map_or(first_seq, |(s, _)| first_seq.min(s.first_seq()));
        let view = View {
            segments: Arc::new(segments),
            first_seq,
            end_seq: recovered.frontier.size(),
            tree_head: recovered.frontier.tree_head(),
            last_recorded_at: recovered.last_recorded_at,
        };
        let shared = Arc::new(Shared {
            dir,
            meta,
            published: Published::new(view),
            poison: Mutex::new(None),
            options,
        });
        let mut log = AuditLog {
            shared: shared.clone(),
            tx: None,
            writer: Mutex::new(None),
            report,
            _lock: lock,
        };
        if shared.options.read_only {
            return Ok(log);
        }
        let writer = match active {
            Some((segment, scan)) => {
                let path = segment.path.clone();
                let io = |e| Error::io(format!("opening {} for appending", path.display()), e);
                let mut file = shared.options.fs.open_writable(&path).map_err(io)?;
                if shared.options.preallocate {
                    let len = std::fs::metadata(&path).map_err(io)?.len();
                    if len < shared.options.segment_max_bytes {
                        file.preallocate(shared.options.segment_max_bytes)
                            .map_err(io)?;
                        file.sync_data().map_err(io)?;
                    }
                }
                let header = segment.header.clone();
                let scanned = Some((
                    scan.records_end,
                    scan.frontier.clone(),
                    scan.first_recorded_at,
                ));
                Writer::resume(
                    shared.clone(),
                    file,
                    header,
                    segment,
                    scanned,
                    recovered.last_recorded_at,
                )
            }
            None => Writer::start(
                shared.clone(),
                recovered.frontier,
                recovered.last_recorded_at,
            )?,
        };
        let (tx, rx) = crossbeam_channel::bounded(shared.options.queue_capacity);
        let handle = std::thread::Builder::new()
            .name("auditlog-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("starting the writer thread", e))?;
        log.tx = Some(tx);
        *log.writer.get_mut() = Some(handle);
        Ok(log)
    }

    /// The state shared with the writer and readers, for `impl AuditLog` blocks in other
    /// modules (queries, verification, lifecycle).
    #[allow(
        dead_code,
        reason = "used by the query, verify and lifecycle modules as they land"
    )]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A consistent snapshot of the committed state.
    #[allow(
        dead_code,
        reason = "used by the query, verify and lifecycle modules as they land"
    )]
    pub(crate) fn view(&self) -> View {
        self.shared.published.snapshot()
    }

    /// What `open` found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The log's random 16-byte id (in its metadata and every segment header).
    pub fn log_id(&self) -> [u8; 16] {
        self.shared.meta.log_id
    }

    /// The current tree head: size (= committed records since 0) and Merkle root.
    pub fn tree_head(&self) -> TreeHead {
        self.shared.published.snapshot().tree_head
    }

    /// The first sequence number held (0 unless retention removed older segments).
    pub fn first_seq(&self) -> u64 {
        self.shared.published.snapshot().first_seq
    }

    /// One past the newest committed sequence number.
    pub fn end_seq(&self) -> u64 {
        self.shared.published.snapshot().end_seq
    }

    fn sender(&self) -> Result<&Sender<Command>> {
        let tx = self.tx.as_ref().ok_or(Error::ReadOnly)?;
        if let Some(cause) = self.shared.poison_cause() {
            return Err(Error::Poisoned { cause });
        }
        Ok(tx)
    }

    fn encode(&self, event: &Event) -> Result<Encoded> {
        let mut payload = Vec::new();
        encode_payload_into(event, &self.shared.options.event_limits, &mut payload)?;
        let digest = merkle::payload_digest(&payload);
        Ok(Encoded { payload, digest })
    }

    fn encode_all(&self, events: &[Event]) -> Result<Vec<Encoded>> {
        events.iter().map(|e| self.encode(e)).collect()
    }

    fn send(&self, cmd: Command, wait_for_room: bool) -> Result<()> {
        let tx = self.sender()?;
        if wait_for_room {
            tx.send(cmd).map_err(|_| self.shared.poisoned_error())
        } else {
            tx.try_send(cmd).map_err(|e| match e {
                TrySendError::Full(_) => Error::QueueFull,
                TrySendError::Disconnected(_) => self.shared.poisoned_error(),
            })
        }
    }

    /// Appends one event. Validation and encoding happen on the calling thread; an invalid
    /// event returns an error and writes nothing. Blocks while the writer's queue is full
    /// (use [`try_append`](Self::try_append) from async code). The returned handle resolves
    /// when the record is acknowledged.
    pub fn append(&self, event: &Event) -> Result<AppendHandle> {
        let encoded = self.encode(event)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events: vec![encoded],
                done: done.clone(),
            },
            true,
        )?;
        Ok(AppendHandle { completion: done })
    }

    /// Like [`append`](Self::append) but never blocks: fails with [`Error::QueueFull`] when the
    /// writer's queue is full.
    pub fn try_append(&self, event: &Event) -> Result<AppendHandle> {
        let encoded = self.encode(event)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events: vec![encoded],
                done: done.clone(),
            },
            false,
        )?;
        Ok(AppendHandle { completion: done })
    }

    /// Appends events as one request: they get consecutive sequence numbers and are
    /// acknowledged together. If any event is invalid, none is written.
    pub fn append_batch(&self, events: &[Event]) -> Result<BatchHandle> {
        let encoded = self.encode_all(events)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events: encoded,
                done: done.clone(),
            },
            true,
        )?;
        Ok(BatchHandle { completion: done })
    }

    /// Like [`append_batch`](Self::append_batch) but fails with [`Error::QueueFull`] instead
    /// of blocking.
    pub fn try_append_batch(&self, events: &[Event]) -> Result<BatchHandle> {
        let encoded = self.encode_all(events)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events: encoded,
                done: done.clone(),
            },
            false,
        )?;
        Ok(BatchHandle { completion: done })
    }

    fn control(&self, make: impl FnOnce(Arc<Completion>) -> Command) -> Result<()> {
        let done = Completion::new();
        self.send(make(done.clone()), true)?;
        BatchHandle { completion: done }.wait().map(|_| ())
    }

    /// Makes every acknowledged record durable (fdatasync), whatever the durability mode.
    pub fn sync(&self) -> Result<()> {
        self.control(Command::Sync)
    }

    /// Seals the active segment (footer, fdatasync) and starts a new one. Does nothing if
    /// the active segment is empty.
    pub fn seal(&self) -> Result<()> {
        self.control(Command::Seal)
    }

    /// Writes and syncs everything queued, then stops the writer. Dropping the handle does
    /// the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let result = match self.tx.as_ref() {
            Some(_) if self.shared.poison_cause().is_none() => self.control(Command::Shutdown),
            _ => Ok(()),
        };
        self.tx = None;
        if let Some(handle) = self.writer.get_mut().take() {
            let _ = handle.join();
        }
        result
    }

    /// Reads the record with sequence number `seq`.
    pub fn get(&self, seq: u64) -> Result<Record> {
        let view = self.shared.published.snapshot();
        let mut iter = RecordIter::new(view, seq..seq.saturating_add(1));
        iter.next()
            .unwrap_or(Err(Error::NotFound {
                seq,
                first: 0,
                end: 0,
            }))
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    let v = self.shared.published.snapshot();
                    Error::NotFound {
                        seq,
                        first: v.first_seq,
                        end: v.end_seq,
                    }
                }
                e => e,
            })
    }

    /// Iterates over committed records in `range` of sequence numbers, oldest first; call
    /// `.rev()` for newest first. The iterator sees the records committed when it was
    /// created (a consistent prefix), never a torn one.
    pub fn iter(&self, range: impl RangeBounds<u64>) -> RecordIter {
        RecordIter::new(self.shared.published.snapshot(), range)
    }

    /// Waits until records past `seen_end` are committed, or `timeout` passes; returns the
    /// committed end. The building block of tailing.
    pub fn wait_for_records(&self, seen_end: u64, timeout: Duration) -> u64 {
        self.shared.published.wait_past(seen_end, timeout)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A new log is created only in an empty directory (or one holding just our lock file), so a
/// mistyped path never sprinkles segments among someone else's files.
fn refuse_foreign_files(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name != meta::LOCK_FILE
            && name != std::ffi::OsStr::new(&format!("{}.tmp", meta::META_FILE))
        {
            return Err(Error::NotALog {
                path: dir.to_path_buf(),
                reason: format!(
                    "it is not empty (found {:?}) and has no {}: pass an empty or new directory",
                    name,
                    meta::META_FILE
                ),
            });
        }
    }
    Ok(())
}
