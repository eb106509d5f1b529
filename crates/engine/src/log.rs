//! The handles services hold: [`AuditLog`] (append, seal, lifecycle) and [`ReadOnlyLog`],
//! both reading through a [`LogReader`], and the [`AuditLogBuilder`] that opens them.
//!
//! Every public method of the handles is declared in this module (here, `log/reader.rs` and
//! `log/builder.rs`). The modules below it offer narrow functions and types that these
//! methods call, and never name a handle: the writer thread (`writer.rs`) and its queue
//! (`queue.rs`), the published view and how a read-only handle follows the files
//! (`follow.rs`), queries over an index set (`query/`, `index/`), tails (`tail.rs`),
//! checkpoint signing (`checkpoint/`) and the lifecycle operations (`lifecycle/`).

mod builder;
mod reader;
mod segments;

pub use builder::AuditLogBuilder;
pub use reader::{LogReader, ReadOnlyLog};
pub use segments::{SegmentInfo, SegmentState};

use crate::checkpoint::CheckpointSigner;
use crate::error::{AppendError, Error, OpenError, Result};
use crate::event::{Event, encode_payload_into};
use crate::follow::Feed;
use crate::index::IndexSet;
use crate::lifecycle::{
    ArchiveDestination, ArchivePolicy, ArchiveReport, CompactOptions, CompactReport,
    LifecycleState, LiveLog, MaintenancePolicy, MaintenanceReport, RetentionPolicy,
    RetentionReport,
};
use crate::merkle;
use crate::meta::LogMeta;
use crate::options::{Access, Options};
use crate::queue::Queue;
use crate::receipt::{AppendHandle, BatchHandle, Completion, Reply};
use crate::recovery::Recovered;
use crate::room::AppendFuture;
use crate::view;
use crate::writer::{self, Command, Encoded, Startup, Writer};
use auditlog_format::merkle::lanes;
use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use reader::Resume;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What both handles share with their readers, tails and threads. Private to this module:
/// the modules below receive only the parts they need.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    meta: LogMeta,
    options: Options,
    /// The published view, and for a read-only handle how it follows the files.
    feed: Arc<Feed>,
    /// Per-segment query indexes, built and loaded lazily by readers (src/index).
    indexes: Arc<IndexSet>,
}

impl Shared {
    /// The live log as the lifecycle operations see it.
    fn live(&self) -> LiveLog<'_> {
        LiveLog {
            dir: &self.dir,
            log_id: self.meta.log_id,
            fs: self.options.fs.as_ref(),
            clock: self.options.clock.as_ref(),
            signer: self.options.signer.as_ref().map(|s| s.key()),
            published: &self.feed.published,
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
    reader: LogReader,
    /// The writer's queue: budget, waiting async producers, poison.
    queue: Arc<Queue>,
    /// Compaction, archiving, retention and the maintenance thread (src/lifecycle).
    lifecycle: Arc<LifecycleState>,
    tx: Option<Sender<Command>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Policy and subject keys, for a log created with a privacy policy (src/privacy).
    pub(crate) privacy: Option<Arc<crate::privacy::Vault>>,
    _lock: File,
}

/// Whether an append waits for room in the writer's queue or fails at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    Wait,
    FailIfFull,
}

impl AuditLog {
    /// Opens the log in `dir` for writing with default options, creating it if the directory
    /// is missing or empty. Fails with an [`OpenError`] (see [`AuditLogBuilder::open`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::builder(dir).open()
    }

    /// A builder for options.
    pub fn builder(dir: impl AsRef<Path>) -> AuditLogBuilder {
        AuditLogBuilder::new(dir.as_ref())
    }

    /// Starts the writer of the log that recovery found in `dir` (see
    /// [`AuditLogBuilder::open`]).
    fn start(
        dir: PathBuf,
        meta: LogMeta,
        options: Options,
        lock: File,
        created: bool,
        mut recovered: Recovered,
    ) -> Result<Self> {
        recovered.report.created = created;
        let (reader, resume) = LogReader::assemble(dir, meta, options, recovered, Access::Write);
        let shared = reader.shared.clone();
        let queue = Arc::new(Queue::new(shared.options.queue_max_bytes));
        let host = writer::Host {
            dir: shared.dir.clone(),
            options: shared.options.clone(),
            published: shared.feed.published.clone(),
            queue: queue.clone(),
            indexes: shared.indexes.clone(),
        };
        let Resume {
            active,
            frontier,
            last_recorded_at,
        } = resume;
        // A writer's open hashes every leaf (recovery counts them only for a read-only open),
        // so this costs nothing; counted leaves would be hashed from the active segment here.
        let newest = active.as_ref().map(|(segment, _)| segment.path.clone());
        let frontier = view::into_frontier(frontier, newest.as_deref().unwrap_or(&shared.dir))?;
        let writer = match active {
            Some((segment, scan)) => {
                let scan = scan.map_leaves(|_| frontier);
                Startup::Running(Box::new(Writer::resume(
                    host,
                    segment,
                    &scan,
                    last_recorded_at,
                )?))
            }
            // On a full disk the writer may start deferred (writer/deferred.rs).
            None => Startup::new(host, meta.log_id, frontier, last_recorded_at)?,
        };
        let (tx, rx) = crossbeam_channel::bounded(shared.options.queue_capacity);
        let handle = std::thread::Builder::new()
            .name("auditlog-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("starting the writer thread", e))?;
        let log = AuditLog {
            reader,
            queue,
            lifecycle: Arc::default(),
            tx: Some(tx),
            writer: Mutex::new(Some(handle)),
            privacy: None,
            _lock: lock,
        };
        log.start_maintenance()?;
        Ok(log)
    }

    /// Starts the background maintenance thread if the options ask for one.
    fn start_maintenance(&self) -> Result<()> {
        let Some(policy) = self.options().maintenance.clone() else {
            return Ok(());
        };
        let Some(interval) = policy.interval else {
            return Ok(());
        };
        let shared = Arc::downgrade(&self.reader.shared);
        let lifecycle = Arc::downgrade(&self.lifecycle);
        self.lifecycle.start_maintenance(interval, move || {
            let (Some(shared), Some(lifecycle)) = (shared.upgrade(), lifecycle.upgrade()) else {
                return false;
            };
            let result = lifecycle.maintain(&shared.live(), &policy);
            lifecycle.note_background_run(&result);
            true
        })
    }

    fn sender(&self) -> Result<&Sender<Command>, AppendError> {
        let tx = self.tx.as_ref().ok_or(AppendError::Closed)?;
        if let Some(cause) = self.queue.poison_cause() {
            return Err(AppendError::Poisoned { cause });
        }
        Ok(tx)
    }

    fn encode(&self, event: &Event) -> Result<Encoded, AppendError> {
        let payload = self.payload(event)?;
        let digest = merkle::payload_digest(&payload);
        Ok(Encoded { payload, digest })
    }

    /// Encodes `events` and their payload digests; the digests of a batch are hashed eight at
    /// a time (the verifier's SIMD lanes, `auditlog_format::merkle::lanes`).
    fn encode_all(&self, events: &[Event]) -> Result<Vec<Encoded>, AppendError> {
        if let [event] = events {
            return Ok(vec![self.encode(event)?]);
        }
        let payloads = events
            .iter()
            .map(|e| self.payload(e))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let digests = lanes::payload_digests(&refs);
        Ok(payloads
            .into_iter()
            .zip(digests)
            .map(|(payload, digest)| Encoded { payload, digest })
            .collect())
    }

    /// Validates and encodes one event's payload (encrypting its protected values first).
    fn payload(&self, event: &Event) -> Result<Vec<u8>, AppendError> {
        // Protected values are encrypted here, before the event is encoded and hashed.
        let protected;
        let event = match &self.privacy {
            Some(vault) => {
                protected = vault.protect(event)?;
                &*protected
            }
            None => event,
        };
        let mut payload = Vec::new();
        encode_payload_into(event, &self.options().event_limits, &mut payload)
            .map_err(AppendError::rejected)?;
        Ok(payload)
    }

    fn send(&self, cmd: Command, room: Room) -> Result<(), AppendError> {
        let tx = self.sender()?;
        let bytes = cmd.bytes();
        let control = !matches!(cmd, Command::Append { .. });
        let budget = &self.queue.budget;
        let sent = if room == Room::Wait {
            budget.acquire(bytes);
            tx.send(cmd).map_err(|_| self.queue.poisoned_error())
        } else if budget.try_acquire(bytes) {
            tx.try_send(cmd).map_err(|e| match e {
                TrySendError::Full(_) => AppendError::QueueFull,
                TrySendError::Disconnected(_) => self.queue.poisoned_error(),
            })
        } else {
            return Err(AppendError::QueueFull);
        };
        match sent {
            Ok(()) => self.queue.gate.sent(|| tx.len(), control),
            Err(_) => budget.release(bytes),
        }
        sent
    }

    /// The one append path: encodes `events` on the calling thread (nothing is sent if one
    /// is invalid) and queues them as one request.
    fn submit(&self, events: &[Event], room: Room) -> Result<Arc<Completion>, AppendError> {
        let events = self.encode_all(events)?;
        let done = Completion::new();
        self.send(
            Command::Append {
                events,
                done: Reply::new(&done),
            },
            room,
        )?;
        Ok(done)
    }

    /// Appends one event. Validation and encoding happen on the calling thread; an invalid
    /// event returns an error and writes nothing. Blocks while the writer's queue is full
    /// (use [`try_append`](Self::try_append) from async code). The returned handle resolves
    /// when the record is acknowledged.
    pub fn append(&self, event: &Event) -> Result<AppendHandle, AppendError> {
        let completion = self.submit(std::slice::from_ref(event), Room::Wait)?;
        Ok(AppendHandle { completion })
    }

    /// Like [`append`](Self::append) but never blocks: fails with [`AppendError::QueueFull`]
    /// when the writer's queue is full.
    pub fn try_append(&self, event: &Event) -> Result<AppendHandle, AppendError> {
        let completion = self.submit(std::slice::from_ref(event), Room::FailIfFull)?;
        Ok(AppendHandle { completion })
    }

    /// Appends one event from async code: waits for room in the queue without blocking the
    /// thread (the writer wakes the task when it drains), then resolves to the receipt.
    /// Validation errors ([`AppendError::InvalidEvent`], [`AppendError::EventTooLarge`]) are
    /// returned when awaited; nothing is written for an invalid event.
    pub fn append_async(&self, event: &Event) -> AppendFuture {
        let tx = match self.sender() {
            Ok(tx) => tx.clone(),
            Err(e) => return AppendFuture::failed(e),
        };
        match self.encode(event) {
            Ok(encoded) => AppendFuture::new(self.queue.clone(), tx, encoded),
            Err(e) => AppendFuture::failed(e),
        }
    }

    /// Appends events as one request: they get consecutive sequence numbers and are
    /// acknowledged together. If any event is invalid, none is written.
    pub fn append_batch(&self, events: &[Event]) -> Result<BatchHandle, AppendError> {
        let completion = self.submit(events, Room::Wait)?;
        Ok(BatchHandle { completion })
    }

    /// Like [`append_batch`](Self::append_batch) but fails with [`AppendError::QueueFull`]
    /// instead of blocking.
    pub fn try_append_batch(&self, events: &[Event]) -> Result<BatchHandle, AppendError> {
        let completion = self.submit(events, Room::FailIfFull)?;
        Ok(BatchHandle { completion })
    }

    fn control(&self, make: impl FnOnce(Reply) -> Command) -> Result<()> {
        let done = Completion::new();
        self.send(make(Reply::new(&done)), Room::Wait)?;
        BatchHandle { completion: done }.wait()?;
        Ok(())
    }

    /// Makes every acknowledged record durable (fdatasync), whatever the durability mode.
    pub fn sync(&self) -> Result<()> {
        self.control(Command::Sync)
    }

    /// Why the log takes no appends yet, if it was opened on a full disk: creating the segment
    /// that appends go to failed for want of space (see [`AppendError::StorageFull`]). Reads
    /// and maintenance work meanwhile; the next append, or
    /// [`start_writer`](Self::start_writer), tries again. `None` once writing has started.
    pub fn writer_deferred(&self) -> Option<String> {
        self.queue.deferred_cause()
    }

    /// Why the log refuses every append, if a write failed (an I/O error on the write path
    /// poisons the log: see [`AppendError::Poisoned`]). `None` while it takes appends. For
    /// health checks, which must not append to find out.
    pub fn poisoned(&self) -> Option<String> {
        self.queue.poison_cause()
    }

    /// Starts the writer of a log opened on a full disk (see
    /// [`writer_deferred`](Self::writer_deferred)) now rather than at the next append, e.g.
    /// right after freeing space. Does nothing if it runs already.
    ///
    /// # Errors
    /// [`Error::StorageFull`] if there is still no room; [`Error::Poisoned`] if creating the
    /// segment failed otherwise.
    pub fn start_writer(&self) -> Result<()> {
        self.control(Command::Start)
    }

    /// Seals the active segment (footer, fdatasync) and starts a new one. Does nothing if
    /// the active segment is empty.
    pub fn seal(&self) -> Result<()> {
        self.control(Command::Seal)?;
        self.persist_sealed_indexes();
        Ok(())
    }

    /// Waits for the index files being written in the background since the segments sealed,
    /// then persists each one of them that is still missing, unless a valid one exists (a
    /// query may have written it). Errors are dropped on purpose: the
    /// index is derived data, a missing file costs a rebuild, and a segment that cannot be
    /// read is reported by the reads and by verify, not by the seal that succeeded.
    fn persist_sealed_indexes(&self) {
        self.reader.shared.indexes.persist_sealed(&self.view());
    }

    /// Writes and syncs everything queued, then stops the writer. Dropping the handle does
    /// the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.lifecycle.stop_maintenance();
        let result = match self.tx.as_ref() {
            Some(_) if !self.queue.is_poisoned() => self.control(Command::Shutdown),
            // A poisoned log could not sync what it acknowledged: close must not say it did.
            // The writer is still told to stop: an `AppendFuture` not yet polled holds a
            // sender, so waiting for every sender to go could wait forever.
            Some(tx) => {
                let _ = tx.send(Command::Shutdown(Reply::new(&Completion::new())));
                Err(self.queue.poisoned_error().into())
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
        } else {
            // No index file may be written once the lock is given up.
            self.reader.shared.indexes.join_background();
        }
        result
    }

    /// Compresses every eligible sealed segment into a cold segment (see [`CompactOptions`]).
    ///
    /// Runs on the calling thread and never blocks appends: the writer only ever touches the
    /// active segment. Each conversion is crash-safe (docs/DESIGN.md, "Compressing a segment")
    /// and every cold file is checked to decode to exactly its hot file before the hot file is
    /// removed. Readers switch to the cold file atomically; iterators already holding the hot
    /// segment keep reading it (its map outlives the removal).
    pub fn compact(&self, options: &CompactOptions) -> Result<CompactReport> {
        self.lifecycle.compact(&self.reader.shared.live(), options)
    }

    /// Moves eligible sealed segments (oldest first, never the newest) into `destination`
    /// as bundles, then records each cut and removes the segment's files from the directory.
    pub fn archive(
        &self,
        destination: &dyn ArchiveDestination,
        policy: &ArchivePolicy,
    ) -> Result<ArchiveReport> {
        self.lifecycle
            .archive(&self.reader.shared.live(), destination, policy)
    }

    /// Deletes the segments `policy` selects (oldest first, never the newest), after
    /// recording the cut durably in the cut log. Removed records then read as
    /// [`Error::NotFound`]; verification still proves the rest continue the original tree.
    pub fn apply_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport> {
        self.lifecycle
            .apply_retention(&self.reader.shared.live(), policy)
    }

    /// Runs the maintenance configured with [`AuditLogBuilder::maintenance`] now, on the
    /// calling thread.
    pub fn maintain(&self) -> Result<MaintenanceReport> {
        let policy = self.options().maintenance.clone().unwrap_or_default();
        self.maintain_with(&policy)
    }

    /// Runs the given maintenance policy now, on the calling thread.
    pub fn maintain_with(&self, policy: &MaintenancePolicy) -> Result<MaintenanceReport> {
        self.lifecycle.maintain(&self.reader.shared.live(), policy)
    }

    /// The error of the background maintenance thread's last run, if it failed.
    pub fn last_maintenance_error(&self) -> Option<String> {
        self.lifecycle.last_error()
    }

    /// Signs a checkpoint of the current tree head with `signer` (whatever the builder was
    /// given), appends it to the log's `checkpoints` file durably and returns the signed note
    /// (to publish elsewhere). Every committed record is made durable first, so the log can
    /// never lose a record that a signed checkpoint covers.
    ///
    /// # Errors
    /// [`Error::InconsistentCheckpoint`] if the tree does not extend the last checkpoint this
    /// key signed for this log; I/O errors.
    pub fn sign_checkpoint(&self, signer: &CheckpointSigner) -> Result<String> {
        self.sync()?;
        let view = self.view();
        if let Some(active) = view.segments.last().filter(|s| s.footer().is_none()) {
            // sync() skips the fdatasync when the writer believes everything durable, which
            // after a reopen is an assumption about the page cache: make sure.
            let path = &active.path;
            let io = |e| Error::io(format!("syncing {}", path.display()), e);
            let fs = &self.options().fs;
            fs.open_writable(path)
                .map_err(io)?
                .sync_data()
                .map_err(io)?;
        }
        let shared = &self.reader.shared;
        signer
            .sign_head(
                shared.options.fs.as_ref(),
                &shared.dir,
                &shared.meta.log_id,
                shared.options.clock.now(),
                &view.segments,
                view.tree_head.get()?,
            )
            .map(|(_, note)| note)
    }

    /// Signs a checkpoint with the key given to
    /// [`AuditLogBuilder::signing_key`].
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when no key was given; otherwise as
    /// [`sign_checkpoint`](Self::sign_checkpoint).
    pub fn checkpoint(&self) -> Result<String> {
        let signer = self.options().signer.clone().ok_or(Error::InvalidOption {
            option: "signing_key",
            reason: "no signing key was given when the log was opened".into(),
        })?;
        self.sign_checkpoint(&signer)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
