//! [`AuditLog`]: the handle services hold, and its builder.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::event::{Event, EventLimits, Record, encode_payload_into};
use crate::fs::FileSystem;
use crate::merkle::{self, TreeHead};
use crate::meta::{self, LogMeta};
use crate::options::{Durability, OpenCheck, Options};
use crate::reader::RecordIter;
use crate::receipt::{AppendHandle, BatchHandle, Completion, Reply};
use crate::recovery::{OpenReport, recover};
use crate::room::{AppendFuture, QueueBudget, RoomWaiters};
use crate::segment::scan::ScanOutcome;
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
    /// Async appends waiting for room in the queue.
    pub room: RoomWaiters,
    /// Bytes of appends queued for the writer, bounded by `queue_max_bytes`.
    pub budget: QueueBudget,
    /// For a read-only handle: where the scan of the newest segment stopped (see follow.rs).
    pub follow: Mutex<Option<ScanOutcome>>,
    /// Whether the read-only follower thread runs (see follow.rs).
    pub follower_started: std::sync::atomic::AtomicBool,
    /// Per-segment query indexes, built and loaded lazily by readers (src/index).
    pub indexes: crate::index::IndexSet,
    /// Compaction, archiving, retention and the maintenance thread (src/lifecycle/).
    pub lifecycle: crate::lifecycle::LifecycleState,
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

    /// Bytes of encoded events that may wait for the writer before `append` blocks and
    /// `try_append` fails with [`Error::QueueFull`]: the bound on memory held by producers
    /// outrunning the disk. Default 64 MiB. A single request larger than this is admitted
    /// when nothing else waits.
    pub fn queue_max_bytes(mut self, bytes: usize) -> Self {
        self.options.queue_max_bytes = bytes;
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

    /// Whether each segment reserves its full size on disk (fallocate) at its first write,
    /// which makes each fdatasync cheaper and turns a full disk into an error at the start of
    /// a segment rather than mid-segment. Opening a log and creating a segment never
    /// preallocate, so retention and archiving still work on a full disk. Default true.
    pub fn preallocate(mut self, yes: bool) -> Self {
        self.options.preallocate = yes;
        self
    }

    /// Whether the index file of each segment this handle seals is written by the next
    /// [`seal`](AuditLog::seal) or [`close`](AuditLog::close) (on the caller's thread, never
    /// the writer's), so later queries, in any process, map it instead of rebuilding it.
    /// Failing to write it costs only a rebuild later and is not an error. Default true;
    /// turn it off for an ingest-only node whose segments are queried elsewhere.
    pub fn index_on_seal(mut self, yes: bool) -> Self {
        self.options.index_on_seal = yes;
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

    /// Signs a checkpoint with this key each time a segment is sealed (and on
    /// [`AuditLog::checkpoint`]), appending it to the log's `checkpoints` file. A seal whose
    /// checkpoint cannot be signed (I/O error, or a tree that does not extend the last
    /// checkpoint) poisons the log. Default: none.
    pub fn signing_key(mut self, key: crate::checkpoint::NoteSigner) -> Self {
        self.options.signer = Some(Arc::new(crate::checkpoint::CheckpointSigner::new(key)));
        self
    }

    /// Lifecycle maintenance (retention, archiving, compaction) that
    /// [`AuditLog::maintain`] runs, and a background thread runs every
    /// `policy.interval` if set. Default: none.
    pub fn maintenance(mut self, policy: crate::lifecycle::MaintenancePolicy) -> Self {
        self.options.maintenance = Some(policy);
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
                if dir.exists() && !dir.is_dir() {
                    return Err(Error::NotALog {
                        path: dir,
                        reason: "it is not a directory".into(),
                    });
                }
                auditlog_format::classes::refuse_classified_root(&dir)?;
                if dir.is_dir() {
                    // Before the lock file exists: a mistyped path is left as it was found.
                    refuse_foreign_files(&dir)?;
                }
                options
                    .fs
                    .create_dir_all(&dir)
                    .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                // The directory's own name must be durable too, or a power loss can take the
                // whole log, acknowledged records included, with it.
                let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
                let parent = parent.unwrap_or(Path::new("."));
                options
                    .fs
                    .sync_dir(parent)
                    .map_err(|e| Error::io(format!("syncing {}", parent.display()), e))?;
            }
            let lock = crate::lock::lock_dir(&dir)?;
            if exists {
                (LogMeta::read(&dir)?, Some(lock), false)
            } else {
                refuse_foreign_files(&dir)?;
                let meta = LogMeta::generate(options.clock.now().as_nanos());
                meta.create(options.fs.as_ref(), &dir)?;
                // After the identity file: a crash between the two leaves the older layout
                // (no cut log), which every reader accepts.
                crate::lifecycle::cuts::create_empty(options.fs.as_ref(), &dir, &meta.log_id)?;
                (meta, Some(lock), true)
            }
        };
        let recovered = recover(&dir, meta, &options)?;
        let mut report = recovered.report;
        report.created = created;
        let mut segments: Vec<Arc<_>> = recovered.sealed.into_iter().map(Arc::new).collect();
        let active = recovered.active.map(|(segment, scan)| {
            let segment = Arc::new(segment);
            segments.push(segment.clone());
            (segment, scan)
        });
        // After retention the oldest segment may be the active one and start past 0.
        let first_seq = segments.first().map_or(report.first_seq, |s| s.first_seq());
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
            room: RoomWaiters::default(),
            budget: QueueBudget::new(options.queue_max_bytes),
            follow: Mutex::new(None),
            follower_started: Default::default(),
            indexes: Default::default(),
            lifecycle: Default::default(),
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
            *shared.follow.lock() = active.map(|(_, scan)| scan);
            return Ok(log);
        }
        let writer = match active {
            Some((segment, scan)) => {
                let path = segment.path.clone();
                let io = |e| Error::io(format!("opening {} for appending", path.display()), e);
                let file = shared.options.fs.open_writable(&path).map_err(io)?;
                // Not preallocated here but by the first write: an open (for retention or
                // archiving on a full disk, say) must not need new space.
                let len = std::fs::metadata(&path).map_err(io)?.len();
                let reserved = len >= shared.options.segment_max_bytes;
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
                    reserved,
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
        crate::lifecycle::maintenance::start(&shared)?;
        Ok(log)
    }

    /// The state shared with the writer and readers, for `impl AuditLog` blocks in other
    /// modules (queries, verification, lifecycle).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A consistent snapshot of the committed state.
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
        let bytes = cmd.bytes();
        let budget = &self.shared.budget;
        let sent = if wait_for_room {
            budget.acquire(bytes);
            tx.send(cmd).map_err(|_| self.shared.poisoned_error())
        } else if budget.try_acquire(bytes) {
            tx.try_send(cmd).map_err(|e| match e {
                TrySendError::Full(_) => Error::QueueFull,
                TrySendError::Disconnected(_) => self.shared.poisoned_error(),
            })
        } else {
            return Err(Error::QueueFull);
        };
        if sent.is_err() {
            budget.release(bytes);
        }
        sent
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
                done: Reply::new(&done),
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
                done: Reply::new(&done),
            },
            false,
        )?;
        Ok(AppendHandle { completion: done })
    }

    /// Appends one event from async code: waits for room in the queue without blocking the
    /// thread (the writer wakes the task when it drains), then resolves to the receipt.
    /// Validation errors are returned when awaited; nothing is written for an invalid event.
    pub fn append_async(&self, event: &Event) -> AppendFuture {
        let tx = match self.sender() {
            Ok(tx) => tx.clone(),
            Err(e) => return AppendFuture::failed(e),
        };
        match self.encode(event) {
            Ok(encoded) => AppendFuture::new(self.shared.clone(), tx, encoded),
            Err(e) => AppendFuture::failed(e),
        }
    }

    /// Appends events as one request: they get consecutive sequence numbers and are
    /// acknowledged together. If any event is invalid, none is written.
    pub fn append_batch(&self, events: &[Event]) -> Result<BatchHandle> {
        let encoded = self.encode_all(events)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events: encoded,
                done: Reply::new(&done),
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
                done: Reply::new(&done),
            },
            false,
        )?;
        Ok(BatchHandle { completion: done })
    }

    fn control(&self, make: impl FnOnce(Reply) -> Command) -> Result<()> {
        let done = Completion::new();
        self.send(make(Reply::new(&done)), true)?;
        BatchHandle { completion: done }.wait().map(|_| ())
    }

    /// Makes every acknowledged record durable (fdatasync), whatever the durability mode.
    pub fn sync(&self) -> Result<()> {
        self.control(Command::Sync)
    }

    /// Seals the active segment (footer, fdatasync) and starts a new one. Does nothing if
    /// the active segment is empty.
    pub fn seal(&self) -> Result<()> {
        self.control(Command::Seal)?;
        self.persist_sealed_indexes();
        Ok(())
    }

    /// Writes and syncs everything queued, then stops the writer. Dropping the handle does
    /// the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        crate::lifecycle::maintenance::stop(&self.shared);
        let result = match self.tx.as_ref() {
            Some(_) if self.shared.poison_cause().is_none() => self.control(Command::Shutdown),
            // A poisoned log could not sync what it acknowledged: close must not say it did.
            // The writer is still told to stop: an `AppendFuture` not yet polled holds a
            // sender, so waiting for every sender to go could wait forever.
            Some(tx) => {
                let _ = tx.send(Command::Shutdown(Reply::new(&Completion::new())));
                Err(self.shared.poisoned_error())
            }
            None => Ok(()),
        };
        self.tx = None;
        if let Some(handle) = self.writer.get_mut().take()
            && handle.join().is_err()
        {
            // The writer catches its panics (writer.rs); this is a panic while failing them.
            return Err(Error::Poisoned {
                cause: "the writer thread panicked".into(),
            });
        }
        if result.is_ok() {
            self.persist_sealed_indexes();
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
