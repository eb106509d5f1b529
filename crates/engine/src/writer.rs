//! The single writer thread: group commit.
//!
//! Producers encode and hash their events on their own threads and send them through a bounded
//! channel (back-pressure: `append` waits, `try_append` fails when it is full). The writer
//! drains whatever is queued, up to `max_group_bytes`, assigns sequence numbers and
//! `recorded_at`, frames the records into one buffer, writes it with one call, fdatasyncs once
//! (with `Durability::Immediate`), publishes the new committed end to readers and only then
//! completes the producers' handles. Any failed write or sync poisons the log: the writer
//! fails every later request instead of retrying (a retried fsync can report success after the
//! kernel dropped the dirty pages).

use crate::error::{Error, Result};
use crate::fs::WritableFile;
use crate::index::IndexSet;
use crate::merkle::{self, Frontier, Hash};
use crate::options::{Durability, Options};
use crate::queue::Queue;
use crate::receipt::{Receipt, Reply};
use crate::record::{BODY_FIXED_LEN, FRAME_HEADER_LEN, FrameCrc, encode_frame, salt};
use crate::segment::Segment;
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::SegmentHeader;
use crate::segment::name::{segment_path, segment_tmp_path};
use crate::segment::scan::ScanOutcome;
use crate::timestamp::Timestamp;
use crate::view::{Head, Published};
use auditlog_format::merkle::lanes;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

mod deferred;
pub(crate) mod gate;

pub(crate) use deferred::Startup;

/// An event encoded and hashed by its producer.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub payload: Vec<u8>,
    pub digest: Hash,
}

/// What producers and the handle ask of the writer.
#[derive(Debug)]
pub(crate) enum Command {
    Append {
        events: Vec<Encoded>,
        done: Reply,
    },
    Sync(Reply),
    Seal(Reply),
    /// Start writing if the writer was deferred (a log opened on a full disk); a no-op
    /// otherwise.
    Start(Reply),
    Shutdown(Reply),
}

impl Command {
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Command::Append { events, .. } => events
                .iter()
                .map(|e| e.payload.len() + FRAME_HEADER_LEN + BODY_FIXED_LEN)
                .sum(),
            _ => 0,
        }
    }
}

/// What the writer thread works with, handed over by the log when it opens (log.rs).
#[derive(Debug)]
pub(crate) struct Host {
    pub dir: PathBuf,
    pub options: Options,
    /// Where committed records are published to readers.
    pub published: Arc<Published>,
    /// The queue's budget, waiting async producers and poison, shared with the handle.
    pub queue: Arc<Queue>,
    /// Told of each segment sealed, whose index file is then written off this thread
    /// (src/index).
    pub indexes: Arc<IndexSet>,
}

/// The writer's private state: the active segment and the Merkle frontier.
#[derive(Debug)]
pub(crate) struct Writer {
    pub host: Host,
    pub file: Box<dyn WritableFile>,
    pub header: SegmentHeader,
    /// The active segment as readers see it (the writer notes record offsets in it).
    pub active: Arc<Segment>,
    pub crc: FrameCrc,
    /// End of the records written to the active segment.
    pub write_offset: u64,
    pub frontier: Frontier,
    pub first_recorded_at: Option<i64>,
    pub last_recorded_at: i64,
    /// Records known to be durable (fdatasync'ed).
    pub durable_size: u64,
    pub last_sync: Instant,
    /// Frames of the group being built, and where they go.
    pub buf: Vec<u8>,
    pub group_offset: u64,
    /// Leaf hashes of the records in `buf`, handed to the active segment's proof tree once per
    /// commit (proof/active.rs) rather than under its lock once per record.
    pub group_leaves: Vec<crate::merkle::Hash>,
    /// Append requests in the last group: how many producers are probably about to send again.
    pub last_group_appends: usize,
    /// Queue-budget bytes of the batch being processed, returned even if processing panics.
    pub unreleased_bytes: usize,
    /// Requests of the batch being processed that await the group's outcome.
    pub pending: Vec<(Reply, Vec<Receipt>)>,
    /// Whether the active segment's file already reserves `segment_max_bytes` (or
    /// preallocation is off). Reserved lazily, on the first write into the segment, so that
    /// opening a log and creating a segment need no new space: maintenance, which frees
    /// space, must work on a full disk.
    pub reserved: bool,
}

/// Longest the writer of an `Immediate` log waits for the producers of its last group to send
/// again before it starts the next write and fdatasync. Without it, the first producer to wake
/// gets a group (and a sync) of its own while the others queue behind it. Measured with 64
/// producers (docs/BENCHMARKS.md): 45–54 events per fdatasync without the wait, 61–64 with it.
const GROUP_WAIT: std::time::Duration = std::time::Duration::from_micros(200);

/// Requests of at least this many events have their leaf hashes computed together, in SIMD
/// lanes (eight at a time), rather than one by one.
const LANE_BATCH: usize = 8;

/// Why a group failed; the writer poisons the log with it.
struct Failure {
    cause: String,
    /// The kind of the I/O error behind it, if one is.
    kind: Option<io::ErrorKind>,
}

impl Failure {
    fn io(what: &str, path: &std::path::Path, e: io::Error) -> Self {
        Failure {
            cause: format!("{what} {}: {e}", path.display()),
            kind: Some(e.kind()),
        }
    }

    fn msg(cause: String) -> Self {
        Failure { cause, kind: None }
    }

    /// Whether the file system said it has no room (ENOSPC, or a quota).
    fn is_storage_full(&self) -> bool {
        matches!(
            self.kind,
            Some(io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
        )
    }
}

impl Writer {
    /// A writer continuing the active segment `segment` that recovery scanned (`scan`).
    pub(crate) fn resume(
        host: Host,
        segment: Arc<Segment>,
        scan: &ScanOutcome,
        last_recorded_at: i64,
    ) -> Result<Self> {
        let path = segment.path.clone();
        let io = |e| Error::io(format!("opening {} for appending", path.display()), e);
        let file = host.options.fs.open_writable(&path).map_err(io)?;
        let len = std::fs::metadata(&path).map_err(io)?.len();
        let header = segment.header.clone();
        let scanned = Some((
            scan.records_end,
            scan.frontier.clone(),
            scan.first_recorded_at,
        ));
        Ok(Writer::new(
            host,
            file,
            header,
            segment,
            scanned,
            last_recorded_at,
            len,
        ))
    }

    /// A writer of the active segment `file`, `file_len` bytes long, whose records end at
    /// `write_offset` (from `scanned`, else right after the header).
    fn new(
        host: Host,
        file: Box<dyn WritableFile>,
        header: SegmentHeader,
        active: Arc<Segment>,
        scanned: Option<(u64, Frontier, Option<i64>)>,
        last_recorded_at: i64,
        file_len: u64,
    ) -> Self {
        let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
        let (write_offset, frontier, first_recorded_at) =
            scanned.unwrap_or_else(|| (header.encoded_len() as u64, header.frontier.clone(), None));
        Writer {
            crc,
            durable_size: frontier.size(),
            write_offset,
            group_offset: write_offset,
            frontier,
            first_recorded_at,
            last_recorded_at,
            last_sync: Instant::now(),
            buf: Vec::with_capacity(host.options.max_group_bytes + 64 * 1024),
            group_leaves: Vec::new(),
            last_group_appends: 0,
            unreleased_bytes: 0,
            pending: Vec::new(),
            reserved: reserved(&host.options, file_len),
            file,
            header,
            active,
            host,
        }
    }

    /// The writer thread: serves requests until shut down or every handle is gone.
    ///
    /// A panic (a bug, or a file-system layer that panics) must not leave callers blocked
    /// forever: it is caught here, poisons the log with its message, and the thread stays to
    /// fail every request still queued or sent later, until every handle is gone. The requests
    /// the panic interrupted are still held (in `batch` and `self.pending`) and are failed
    /// only after the poison is set; a [`Reply`] dropped any other way fails its waiter too.
    /// `batch` holds requests already taken off the channel (the one that started a deferred
    /// writer), served first.
    pub(crate) fn run(mut self, rx: Receiver<Command>, mut batch: Vec<Command>) {
        self.host.queue.gate.register_writer();
        let served = panic::catch_unwind(AssertUnwindSafe(|| self.serve(&rx, &mut batch)));
        let Err(payload) = served else {
            return;
        };
        let queue = self.host.queue.clone();
        queue.set_poison(format!(
            "the writer thread panicked: {}; no write was acknowledged after the panic",
            panic_message(payload.as_ref())
        ));
        for (done, _) in self.pending.drain(..) {
            done.complete(Err(queue.poisoned_error()));
        }
        for cmd in batch.drain(..) {
            fail(cmd, &queue);
        }
        queue.drained(std::mem::take(&mut self.unreleased_bytes));
        // Its state may be half-updated: drop it without another file-system call.
        drop(self);
        fail_until_shutdown(&rx, &queue);
    }

    fn serve(&mut self, rx: &Receiver<Command>, batch: &mut Vec<Command>) {
        loop {
            let first = match self.sync_deadline() {
                _ if !batch.is_empty() => Ok(None),
                Some(deadline) => rx.recv_deadline(deadline).map(Some),
                None => rx
                    .recv()
                    .map(Some)
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match first {
                Ok(cmd) => batch.extend(cmd),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(f) = self.sync() {
                        self.poison(f);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if !self.host.queue.is_poisoned() {
                        let _ = self.sync();
                    }
                    return;
                }
            }
            let mut bytes: usize = batch.iter().map(Command::bytes).sum();
            while bytes < self.host.options.max_group_bytes {
                match rx.try_recv() {
                    Ok(cmd) => {
                        bytes += cmd.bytes();
                        batch.push(cmd);
                    }
                    Err(_) => break,
                }
            }
            self.await_last_group(rx, batch, bytes);
            self.last_group_appends = appends(batch);
            // The channel has room again: let async appends waiting for it retry.
            self.host.queue.drained(0);
            self.unreleased_bytes = batch.iter().map(Command::bytes).sum();
            let shutdown = self.process(batch);
            // The group is written: its bytes leave the queue's budget.
            self.host
                .queue
                .drained(std::mem::take(&mut self.unreleased_bytes));
            if shutdown {
                return;
            }
        }
    }

    /// Under `Immediate`, gives the producers of the last group up to [`GROUP_WAIT`] to send
    /// again, so that they share the next fdatasync. A lone producer never waits (its last
    /// group held one request), and a control command ends the wait. The writer sleeps
    /// through the wait and is woken once, by the sender that completes the count
    /// (writer/gate.rs), then takes what is queued.
    fn await_last_group(&self, rx: &Receiver<Command>, batch: &mut Vec<Command>, mut bytes: usize) {
        if self.host.options.durability != Durability::Immediate {
            return;
        }
        if appends(batch) != batch.len() {
            return;
        }
        let max_bytes = self.host.options.max_group_bytes;
        let Some(wanted) = self.last_group_appends.checked_sub(batch.len()) else {
            return;
        };
        if wanted == 0 || bytes >= max_bytes {
            return;
        }
        let deadline = Instant::now() + GROUP_WAIT;
        self.host.queue.gate.wait(|| rx.len(), wanted, deadline);
        while bytes < max_bytes && batch.len() < self.last_group_appends {
            let Ok(cmd) = rx.try_recv() else {
                break;
            };
            bytes += cmd.bytes();
            let control = !matches!(cmd, Command::Append { .. });
            batch.push(cmd);
            if control {
                break;
            }
        }
    }

    /// When a `Periodic` log next has to sync, if it has unsynced records.
    fn sync_deadline(&self) -> Option<Instant> {
        if self.host.queue.is_poisoned() {
            return None; // a poisoned writer never retries a sync
        }
        match self.host.options.durability {
            Durability::Periodic(interval) if self.durable_size < self.frontier.size() => {
                Some(self.last_sync + interval)
            }
            _ => None,
        }
    }

    /// Handles one drained batch of commands. Returns true on shutdown.
    ///
    /// Requests move from `batch` into `self.pending` before any file-system call, never
    /// through a local: if a call panics, [`run`](Self::run) still holds every unanswered
    /// request and fails it after poisoning the log, so a waiter woken with the error already
    /// finds the log poisoned on its next call.
    fn process(&mut self, batch: &mut Vec<Command>) -> bool {
        let mut shutdown = false;
        let mut failure: Option<Failure> = None;
        batch.reverse(); // popped from the end: oldest first
        while let Some(cmd) = batch.pop() {
            if failure.is_some() || self.host.queue.is_poisoned() {
                // A poisoned log's close still stops the thread (see AuditLog::shutdown).
                shutdown |= matches!(cmd, Command::Shutdown(_));
                fail(cmd, &self.host.queue);
                continue;
            }
            let result = match cmd {
                Command::Append { events, done } => {
                    self.pending.push((done, Vec::new()));
                    self.append(&events).map(|receipts| {
                        if let Some(last) = self.pending.last_mut() {
                            last.1 = receipts;
                        }
                    })
                }
                Command::Sync(done) => {
                    self.pending.push((done, Vec::new()));
                    self.commit().and_then(|()| self.sync())
                }
                Command::Seal(done) => {
                    self.pending.push((done, Vec::new()));
                    self.commit().and_then(|()| self.roll())
                }
                Command::Start(done) => {
                    self.pending.push((done, Vec::new()));
                    Ok(())
                }
                Command::Shutdown(done) => {
                    shutdown = true;
                    self.pending.push((done, Vec::new()));
                    self.commit().and_then(|()| self.sync())
                }
            };
            if let Err(f) = result {
                failure = Some(f);
            }
        }
        if failure.is_none()
            && let Err(f) = self.commit()
        {
            failure = Some(f);
        }
        let pending = std::mem::take(&mut self.pending);
        match failure {
            None => {
                let tree_size = self.frontier.size();
                for (done, mut receipts) in pending {
                    for r in &mut receipts {
                        r.tree_size = tree_size;
                    }
                    done.complete(Ok(receipts));
                }
            }
            Some(f) => {
                self.poison(f);
                for (done, _) in pending {
                    done.complete(Err(self.host.queue.poisoned_error()));
                }
            }
        }
        shutdown
    }

    fn poison(&mut self, failure: Failure) {
        self.buf.clear();
        self.group_leaves.clear();
        self.host.queue.set_poison(failure.cause);
    }

    /// Frames one producer's events into the group buffer.
    fn append(&mut self, events: &[Encoded]) -> Result<Vec<Receipt>, Failure> {
        let now = self.host.options.clock.now().as_nanos();
        let recorded_at = now.max(self.last_recorded_at);
        let mut receipts = Vec::with_capacity(events.len());
        // Sequence numbers run on across a roll, so a request's leaf hashes are known before
        // its frames are placed: a batch's are hashed eight at a time (SIMD lanes).
        let first_seq = self.frontier.size();
        let leaves = (events.len() >= LANE_BATCH).then(|| {
            let records: Vec<_> = (first_seq..)
                .zip(events)
                .map(|(seq, e)| (seq, recorded_at, e.digest))
                .collect();
            lanes::leaf_hashes(&records)
        });
        for (i, event) in events.iter().enumerate() {
            let frame_len = (FRAME_HEADER_LEN + BODY_FIXED_LEN + event.payload.len()) as u64;
            self.roll_if_due(frame_len, recorded_at)?;
            let seq = self.frontier.size();
            if (seq - self.header.first_seq).is_multiple_of(crate::segment::scan::OFFSET_STRIDE) {
                self.active
                    .note_offset(seq, self.group_offset + self.buf.len() as u64);
            }
            encode_frame(
                &mut self.buf,
                &self.crc,
                seq,
                recorded_at,
                self.durable_size,
                &event.payload,
            );
            debug_assert_eq!(seq, first_seq + i as u64);
            let leaf_hash = match &leaves {
                Some(leaves) => leaves[i],
                None => merkle::leaf_hash(seq, recorded_at, &event.digest),
            };
            self.frontier.push(leaf_hash);
            self.group_leaves.push(leaf_hash);
            self.first_recorded_at.get_or_insert(recorded_at);
            self.last_recorded_at = recorded_at;
            receipts.push(Receipt {
                seq,
                recorded_at: Timestamp::from_nanos(recorded_at),
                leaf_hash,
                tree_size: 0,
            });
            if self.buf.len() >= self.host.options.max_group_bytes {
                self.commit()?;
            }
        }
        Ok(receipts)
    }

    /// Seals the active segment and starts a new one if the next frame would overflow it or
    /// the segment is older than the configured age. Empty segments never roll.
    fn roll_if_due(&mut self, frame_len: u64, now: i64) -> Result<(), Failure> {
        let records = self.frontier.size() - self.header.first_seq;
        if records == 0 {
            return Ok(());
        }
        let end = self.write_offset + self.buf.len() as u64 + frame_len + FOOTER_LEN as u64;
        let options = &self.host.options;
        let age = now.saturating_sub(self.header.created_at);
        let too_old = age > options.segment_max_age.as_nanos().min(i64::MAX as u128) as i64;
        if end > options.segment_max_bytes || too_old {
            self.commit()?;
            self.roll()?;
        }
        Ok(())
    }

    /// Writes the group buffer (and syncs it under `Immediate`), then publishes it to readers.
    fn commit(&mut self) -> Result<(), Failure> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = &self.active_path();
        self.reserve()?;
        self.file
            .write_all_at(&self.buf, self.group_offset)
            .map_err(|e| Failure::io("writing records to", path, e))?;
        self.write_offset = self.group_offset + self.buf.len() as u64;
        self.group_offset = self.write_offset;
        self.buf.clear();
        match self.host.options.durability {
            Durability::Immediate => self.sync()?,
            Durability::Periodic(interval) if self.last_sync.elapsed() >= interval => {
                self.sync()?
            }
            _ => {}
        }
        // For proofs about the active segment, used only once published. A roll always
        // commits first, so these leaves belong to the segment still active here.
        let first = self.frontier.size() - self.group_leaves.len() as u64;
        self.active.note_leaves(first, &self.group_leaves);
        self.group_leaves.clear();
        self.publish();
        Ok(())
    }

    /// Preallocates the active segment before its first write (see `reserved`). A failed
    /// fallocate can leave the file partly extended (ext4 does): it is cut back to the end of
    /// the records, so that a full disk leaves no stray reservation behind.
    fn reserve(&mut self) -> Result<(), Failure> {
        if self.reserved {
            return Ok(());
        }
        let path = self.active_path();
        if let Err(e) = self.file.preallocate(self.host.options.segment_max_bytes) {
            let _ = self.file.set_len(self.write_offset);
            return Err(Failure::io("preallocating", &path, e));
        }
        self.reserved = true;
        Ok(())
    }

    fn publish(&self) {
        let end_seq = self.frontier.size();
        let tree_head = self.frontier.tree_head();
        let last = self.last_recorded_at;
        self.host.published.update(|v| {
            v.end_seq = end_seq;
            v.tree_head = Head::Known(tree_head);
            v.last_recorded_at = last;
        });
    }

    fn active_path(&self) -> std::path::PathBuf {
        segment_path(&self.host.dir, self.header.first_seq)
    }

    fn sync(&mut self) -> Result<(), Failure> {
        if self.durable_size == self.frontier.size() && self.buf.is_empty() {
            return Ok(());
        }
        let path = self.active_path();
        self.file
            .sync_data()
            .map_err(|e| Failure::io("syncing", &path, e))?;
        self.durable_size = self.frontier.size();
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Seals the active segment (footer, fdatasync) and starts the next one.
    fn roll(&mut self) -> Result<(), Failure> {
        let path = self.active_path();
        let records = self.frontier.size() - self.header.first_seq;
        if records == 0 {
            return Ok(()); // an empty segment stays active: nothing to seal
        }
        let footer = SegmentFooter {
            record_count: records,
            first_seq: self.header.first_seq,
            first_recorded_at: self
                .first_recorded_at
                .unwrap_or(self.header.prev_recorded_at),
            last_recorded_at: self.last_recorded_at,
            tree_head: self.frontier.tree_head(),
            records_end: self.write_offset,
        };
        let io = |what, e| Failure::io(what, &path, e);
        self.file
            .set_len(self.write_offset)
            .map_err(|e| io("trimming the preallocation of", e))?;
        // The trim (and every record) must be durable before the footer is written: a power
        // loss may otherwise keep the footer but not the trim, leaving a footer followed by
        // preallocated zeros, which recovery rightly reports as data after a sealed segment's
        // footer. With this order a crash leaves either an unsealed segment or a torn footer
        // at its end, both a torn tail that recovery cuts. One extra fdatasync per roll.
        self.file
            .sync_data()
            .map_err(|e| io("syncing the records of", e))?;
        self.file
            .write_all_at(&footer.encode(&self.crc), self.write_offset)
            .map_err(|e| io("writing the footer of", e))?;
        self.file
            .sync_data()
            .map_err(|e| io("syncing the footer of", e))?;
        self.durable_size = self.frontier.size();
        self.last_sync = Instant::now();
        let sealed = Arc::new(
            Segment::sealed(path.clone(), self.header.clone(), footer)
                .with_offsets(self.active.offsets_snapshot()),
        );
        self.host.published.update(|v| {
            let mut segments = (*v.segments).clone();
            if let Some(last) = segments.last_mut() {
                *last = sealed.clone();
            }
            v.segments = Arc::new(segments);
        });
        if let Some(signer) = &self.host.options.signer {
            let segments = self.host.published.snapshot().segments;
            signer
                .sign_head(
                    self.host.options.fs.as_ref(),
                    &self.host.dir,
                    &self.header.log_id,
                    self.host.options.clock.now(),
                    &segments,
                    self.frontier.tree_head(),
                )
                .map_err(|e| {
                    Failure::msg(format!(
                        "signing the checkpoint at the seal of {}: {e}",
                        path.display()
                    ))
                })?;
        }

        let header = SegmentHeader {
            log_id: self.header.log_id,
            first_seq: self.frontier.size(),
            created_at: self.host.options.clock.now().as_nanos(),
            prev_recorded_at: self.last_recorded_at,
            frontier: self.frontier.clone(),
        };
        let (file, active) = create_segment(&self.host, &header)?;
        publish_new_segment(&self.host.published, active.clone());
        self.active = active;
        self.crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
        self.write_offset = header.encoded_len() as u64;
        self.group_offset = self.write_offset;
        self.first_recorded_at = None;
        self.reserved = reserved(&self.host.options, header.encoded_len() as u64);
        self.header = header;
        self.file = file;
        if self.host.options.index_on_seal {
            // Now that the seal is durable and the next segment ready: built and written on a
            // thread of its own (index/), so neither this thread nor the appends wait for it,
            // and its failure fails nothing. (If the roll failed before this point the log is
            // poisoned; a later query or `reindex` builds the index.)
            self.host.indexes.note_sealed(sealed);
        }
        Ok(())
    }
}

/// Creates a segment durably: write the header to a temporary file, fdatasync, rename into
/// place, fsync the directory. It is preallocated later, by its first write (`reserve`).
/// A failure before the rename removes the temporary file (best effort): on a full disk its
/// blocks are what the next attempt, or a cut record that frees space, needs; a leftover is
/// removed by the next writable open.
fn create_segment(
    host: &Host,
    header: &SegmentHeader,
) -> Result<(Box<dyn WritableFile>, Arc<Segment>), Failure> {
    let fs = &host.options.fs;
    let tmp = segment_tmp_path(&host.dir, header.first_seq);
    let path = segment_path(&host.dir, header.first_seq);
    let io = |what, e| Failure::io(what, &path, e);
    let bytes = header.encode();
    let mut file = fs.create_new(&tmp).map_err(|e| io("creating", e))?;
    let written = file
        .write_all_at(&bytes, 0)
        .map_err(|e| io("writing the header of", e))
        .and_then(|()| file.sync_data().map_err(|e| io("syncing", e)))
        .and_then(|()| {
            fs.rename(&tmp, &path)
                .map_err(|e| io("renaming into place", e))
        });
    if let Err(f) = written {
        drop(file);
        let _ = fs.remove_file(&tmp);
        return Err(f);
    }
    fs.sync_dir(&host.dir)
        .map_err(|e| io("syncing the directory of", e))?;
    let segment = Segment::active(path.clone(), header.clone(), Vec::new())
        .map_err(|e| Failure::msg(e.to_string()))?;
    Ok((file, Arc::new(segment)))
}

fn publish_new_segment(published: &Published, segment: Arc<Segment>) {
    published.update(|v| {
        let mut segments = (*v.segments).clone();
        segments.push(segment);
        v.segments = Arc::new(segments);
    });
}

/// Whether an active segment file `file_len` bytes long needs no reservation before its next
/// write: preallocation is off, or the file already has `segment_max_bytes` (a resumed
/// segment that was reserved before). The one place that decides it (see `Writer::reserved`).
fn reserved(options: &Options, file_len: u64) -> bool {
    !options.preallocate || file_len >= options.segment_max_bytes
}

/// Append requests among `batch`.
fn appends(batch: &[Command]) -> usize {
    batch
        .iter()
        .filter(|c| matches!(c, Command::Append { .. }))
        .count()
}

/// The text of a panic's payload (`panic!` with a literal or with a format).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Completes a command the writer will not carry out because the log is poisoned.
fn fail(cmd: Command, queue: &Queue) {
    reply(cmd).complete(Err(queue.poisoned_error()));
}

/// Where the answer to `cmd` goes.
fn reply(cmd: Command) -> Reply {
    match cmd {
        Command::Append { done, .. }
        | Command::Sync(done)
        | Command::Seal(done)
        | Command::Start(done)
        | Command::Shutdown(done) => done,
    }
}

/// Fails every request of a poisoned log until it is shut down or every handle is gone.
fn fail_until_shutdown(rx: &Receiver<Command>, queue: &Queue) {
    while let Ok(cmd) = rx.recv() {
        let bytes = cmd.bytes();
        let shutdown = matches!(cmd, Command::Shutdown(_));
        fail(cmd, queue);
        queue.drained(bytes);
        if shutdown {
            return;
        }
    }
}
