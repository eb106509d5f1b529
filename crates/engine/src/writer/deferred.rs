//! Starting the writer, and a writer deferred by a full disk.
//!
//! A log whose last segment is sealed (a roll whose next segment could not be created, or a
//! log created a moment ago) needs a new active segment before it can take appends: a
//! header's worth of new space. On a full disk that is exactly what is missing, and refusing
//! to open would also refuse the maintenance that frees space (retention, archive) and every
//! read. So when creating that segment fails because the file system is full (ENOSPC or a
//! quota), the open succeeds with the writer *deferred*: the log is not poisoned, because
//! nothing of it was written (the half-made temporary file is removed, and a later attempt
//! makes the segment from scratch, never retrying an fsync of bytes written before). Each
//! append, or [`AuditLog::start_writer`](crate::AuditLog::start_writer), tries again; until
//! one succeeds, appends fail with [`AppendError::StorageFull`] and sync, seal and close
//! have nothing to do. Any other failure to create the segment fails the open as before, or
//! poisons the log when it happens on a later attempt.

use super::{
    Command, Failure, Host, Writer, create_segment, fail, fail_until_shutdown, publish_new_segment,
    reply,
};
use crate::error::{AppendError, Error, Result};
use crate::fs::WritableFile;
use crate::merkle::Frontier;
use crate::segment::Segment;
use crate::segment::header::SegmentHeader;
use crossbeam_channel::Receiver;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

/// What the writer thread starts with.
#[derive(Debug)]
pub(crate) enum Startup {
    /// A writer with its active segment.
    Running(Box<Writer>),
    /// No active segment yet: the disk was full when the log opened.
    Deferred(Box<Deferred>),
}

/// A segment just created, and its handle.
struct Created {
    file: Box<dyn WritableFile>,
    active: Arc<Segment>,
    header: SegmentHeader,
}

/// A writer waiting for room to create its active segment at the tree's end.
#[derive(Debug)]
pub(crate) struct Deferred {
    host: Host,
    log_id: [u8; 16],
    frontier: Frontier,
    last_recorded_at: i64,
}

impl Startup {
    /// A writer for a new active segment created at the current tree end, or deferred if the
    /// disk is full (see the module docs).
    pub(crate) fn new(
        host: Host,
        log_id: [u8; 16],
        frontier: Frontier,
        last_recorded_at: i64,
    ) -> Result<Self> {
        let deferred = Deferred {
            host,
            log_id,
            frontier,
            last_recorded_at,
        };
        match deferred.create() {
            Ok(created) => Ok(Startup::Running(deferred.into_writer(created))),
            Err(f) if f.is_storage_full() => {
                deferred.host.queue.set_deferred(Some(f.cause));
                Ok(Startup::Deferred(Box::new(deferred)))
            }
            Err(f) => Err(Error::Poisoned { cause: f.cause }),
        }
    }

    /// The writer thread.
    pub(crate) fn run(self, rx: Receiver<Command>) {
        match self {
            Startup::Running(writer) => writer.run(rx, Vec::new()),
            Startup::Deferred(deferred) => deferred.run(rx),
        }
    }
}

impl Deferred {
    /// Creates the active segment at the tree's end.
    fn create(&self) -> Result<Created, Failure> {
        let header = SegmentHeader {
            log_id: self.log_id,
            first_seq: self.frontier.size(),
            created_at: self.host.options.clock.now().as_nanos(),
            prev_recorded_at: self.last_recorded_at,
            frontier: self.frontier.clone(),
        };
        let created = panic::catch_unwind(AssertUnwindSafe(|| create_segment(&self.host, &header)))
            .unwrap_or_else(|_| {
                Err(Failure::msg(
                    "the writer thread panicked while creating its segment".into(),
                ))
            });
        let (file, active) = created?;
        Ok(Created {
            file,
            active,
            header,
        })
    }

    /// The writer over the segment just created.
    fn into_writer(self, created: Created) -> Box<Writer> {
        let Created {
            file,
            active,
            header,
        } = created;
        publish_new_segment(&self.host.published, active.clone());
        self.host.queue.set_deferred(None);
        // A new segment holds only its header.
        let len = header.encoded_len() as u64;
        Box::new(Writer::new(
            self.host,
            file,
            header,
            active,
            None,
            self.last_recorded_at,
            len,
        ))
    }

    /// Serves requests with no active segment until one can be created, then hands over to
    /// the writer (with the request that started it).
    fn run(self: Box<Self>, rx: Receiver<Command>) {
        while let Ok(cmd) = rx.recv() {
            let bytes = cmd.bytes();
            match cmd {
                Command::Append { .. } | Command::Start(_) => match self.create() {
                    Ok(created) => {
                        let writer = self.into_writer(created);
                        let first = match cmd {
                            Command::Start(done) => {
                                done.complete(Ok(Vec::new()));
                                Vec::new()
                            }
                            other => vec![other],
                        };
                        return writer.run(rx, first);
                    }
                    Err(f) if f.is_storage_full() => {
                        let queue = &self.host.queue;
                        queue.set_deferred(Some(f.cause.clone()));
                        reply(cmd).complete(Err(AppendError::StorageFull { cause: f.cause }));
                        queue.drained(bytes);
                    }
                    Err(f) => {
                        let queue = self.host.queue.clone();
                        queue.set_deferred(None);
                        queue.set_poison(f.cause);
                        fail(cmd, &queue);
                        queue.drained(bytes);
                        return fail_until_shutdown(&rx, &queue);
                    }
                },
                // Nothing was written since the open: nothing to sync, and the last segment
                // is already sealed.
                Command::Sync(done) | Command::Seal(done) => done.complete(Ok(Vec::new())),
                Command::Shutdown(done) => {
                    done.complete(Ok(Vec::new()));
                    return;
                }
            }
        }
    }
}
