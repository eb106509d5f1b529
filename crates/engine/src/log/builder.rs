//! [`AuditLogBuilder`]: options, and opening a log for writing or read-only.

use super::{AuditLog, LogReader, ReadOnlyLog};
use crate::clock::Clock;
use crate::error::{Error, OpenError, Result};
use crate::event::EventLimits;
use crate::fs::FileSystem;
use crate::meta::{self, LogMeta};
use crate::options::{Access, Durability, OpenCheck, Options};
use crate::privacy::{self, MasterKey, PrivacyPolicy, Vault};
use crate::recovery::recover;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Configures and opens an [`AuditLog`]. Every setter documents its default.
#[derive(Debug, Clone)]
pub struct AuditLogBuilder {
    dir: PathBuf,
    options: Options,
    /// The privacy policy of a new log (src/privacy); checked against an existing one's.
    privacy_policy: Option<PrivacyPolicy>,
    /// The key wrapping the subject keys (src/privacy).
    master_key: Option<MasterKey>,
}

impl AuditLogBuilder {
    pub(super) fn new(dir: &Path) -> Self {
        AuditLogBuilder {
            dir: dir.to_path_buf(),
            options: Options::default(),
            privacy_policy: None,
            master_key: None,
        }
    }
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

    /// Whether the index file of each segment this handle seals is written as soon as the
    /// seal is durable, on a background thread (never the writer's, so appends do not wait
    /// for it; [`seal`](AuditLog::seal) and [`close`](AuditLog::close) wait for it and write
    /// any file it could not), so later queries, in any process, map it instead of
    /// rebuilding it. Failing to write it costs only a rebuild later and is not an error: it
    /// neither fails nor poisons anything. Default true;
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

    /// The privacy policy of a new log: which fields are personal data, encrypted per subject
    /// (docs/PRIVACY.md). Default: none. A policy is fixed when the log is created; opening an
    /// existing log with another policy (or one created without) fails with
    /// [`PrivacyError::BadPolicy`](crate::privacy::PrivacyError::BadPolicy).
    pub fn privacy_policy(mut self, policy: PrivacyPolicy) -> Self {
        self.privacy_policy = Some(policy);
        self
    }

    /// The master key wrapping the subject keys. Default: none, so protected values read
    /// `[protected]` and appending an event with protected fields fails.
    pub fn master_key(mut self, key: MasterKey) -> Self {
        self.master_key = Some(key);
        self
    }

    /// The query a read-only handle will answer first, for an open that reads less: while
    /// [`open_read_only`](Self::open_read_only) scans the newest segment (which has no index
    /// file), it notes the records that may be the query's actor's, and that query then reads
    /// only those instead of every record of the segment again (a fresh process's
    /// `query --actor X` reads a 64 MiB active segment once rather than twice). Every record
    /// the query reads is still checked, and its answer is the same as without the hint; only
    /// the query's exact actor is used, and only by its first query. A writable open ignores
    /// it. Default: none.
    pub fn first_query(mut self, query: &crate::query::Query) -> Self {
        self.options.first_actor = query.actor.clone();
        self
    }

    /// Opens the log for writing, creating it if the directory is missing or empty.
    ///
    /// Fails with an [`OpenError`]: locked, not a log, another version, damage, I/O or an
    /// option out of range.
    pub fn open(self) -> Result<AuditLog, OpenError> {
        self.open_writer().map_err(OpenError::from_engine)
    }

    fn open_writer(self) -> Result<AuditLog> {
        let AuditLogBuilder {
            dir,
            options,
            privacy_policy,
            master_key,
        } = self;
        options.validate()?;
        let (meta, lock, created) = create_or_lock(&dir, &options)?;
        if let Some(policy) = &privacy_policy {
            if created {
                privacy::write_policy(options.fs.as_ref(), &dir, policy)?;
            } else {
                privacy::check_policy(&dir, policy)?;
            }
        }
        let vault = Vault::load(options.fs.clone(), &dir, meta.log_id, master_key, true)?;
        let mut recovered = recover(&dir, meta, &options, Access::Write)?;
        recovered.report.key_store_cut = vault.as_ref().and_then(|v| v.torn_tail_cut().cloned());
        let mut log = AuditLog::start(dir, meta, options, lock, created, recovered)?;
        log.privacy = vault.map(Arc::new);
        log.finish_erasures()?;
        Ok(log)
    }

    /// Opens the log read-only: no lock is taken (a writer may run beside it), nothing is
    /// created or repaired, and damage is listed in
    /// [`OpenReport::problems`](crate::OpenReport::problems) with the readable prefix kept. Of the options, the open check, the clock and the file system
    /// apply.
    pub fn open_read_only(self) -> Result<ReadOnlyLog, OpenError> {
        self.open_reader().map_err(OpenError::from_engine)
    }

    fn open_reader(self) -> Result<ReadOnlyLog> {
        let AuditLogBuilder { dir, options, .. } = self;
        options.validate()?;
        let meta = LogMeta::read(&dir)?;
        let recovered = recover(&dir, meta, &options, Access::ReadOnly)?;
        Ok(ReadOnlyLog {
            reader: LogReader::assemble(dir, meta, options, recovered, Access::ReadOnly).0,
        })
    }
}

/// Creates the log in `dir` if it is missing or empty, and locks it. Returns its identity,
/// the lock and whether it was created.
fn create_or_lock(dir: &Path, options: &Options) -> Result<(LogMeta, File, bool)> {
    let exists = dir.join(meta::META_FILE).exists();
    if !exists {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::NotALog {
                path: dir.to_path_buf(),
                reason: "it is not a directory".into(),
            });
        }
        auditlog_format::classes::refuse_classified_root(dir)?;
        if dir.is_dir() {
            // Before the lock file exists: a mistyped path is left as it was found.
            refuse_foreign_files(dir)?;
        }
        options
            .fs
            .create_dir_all(dir)
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
    let lock = crate::lock::lock_dir(dir)?;
    if exists {
        Ok((LogMeta::read(dir)?, lock, false))
    } else {
        refuse_foreign_files(dir)?;
        let meta = LogMeta::generate(options.clock.now().as_nanos());
        meta.create(options.fs.as_ref(), dir)?;
        // After the identity file: a crash between the two leaves the older layout
        // (no cut log), which every reader accepts.
        crate::lifecycle::cuts::create_empty(options.fs.as_ref(), dir, &meta.log_id)?;
        Ok((meta, lock, true))
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
