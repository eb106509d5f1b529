//! Per-segment indexes: time, actor and entity lookups plus a summary for skipping.
//!
//! Indexes are derived data. A sealed segment's index lives in an immutable file beside it
//! (`file.rs`, format in docs/FORMAT.md §7), mapped on first use; a missing, stale or
//! damaged file is rebuilt from the segment, never trusted over it, and never stops the log
//! from opening (open does not even look at index files). The active segment's index is
//! built in memory on the reading side, extended on each query up to the committed end, so
//! the writer's hot path is untouched (a read-only handle's first query reads the active
//! segment's records without it: `SlotRef::scan_unindexed`). Once its segment is sealed (and the seal durable), the
//! complete index is encoded and persisted by the writable handle that sealed it, on a
//! background thread started at the seal, so a fresh process (the CLI's read-only commands)
//! maps the file instead of rebuilding it; `seal()` and `close()` wait for those threads and
//! write whatever one could not. A query that needs the index first may write it earlier, and
//! [`LogReader::reindex`](crate::LogReader::reindex) rewrites every file on request. Failing
//! to write a file fails nothing: the index is derived data, kept in memory and rebuilt by
//! the next process that needs it. A read-only handle never writes. A file is used only if
//! it passes the checks of `file.rs`: a writable handle makes them all at load, a read-only
//! one (a fresh CLI process) checks the header at load and each block of a version 2 file
//! as a lookup reads it (`blocks.rs`), so its cost follows what the query reads, not the
//! size of the log; a block that fails makes the query rebuild that segment's index from
//! its records. Verify compares each file with the index rebuilt from the segment and moves
//! a differing one aside.

mod blocks;
mod build;
mod fields;
mod file;
mod keys;
mod lookup;
pub(crate) mod summary;

pub(crate) use build::IndexBuilder;
pub(crate) use fields::Fields;
pub(crate) use file::{Check, INDEX_VERSION, SegmentIndex, index_path};
pub(crate) use keys::{actor_key, entity_key};
pub(crate) use lookup::{Damaged, KeyIndex, Lookup, Posting};

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::segment::Segment;
use crate::view::View;
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

/// The indexes of one log's segments, keyed by the segment's first sequence number.
#[derive(Debug)]
pub(crate) struct IndexSet {
    dir: PathBuf,
    /// How index files are written; `None` for a read-only handle, which keeps the indexes
    /// it builds in memory and never writes a file.
    files: Option<Arc<dyn FileSystem>>,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    /// Segments the writer sealed whose index file this handle has yet to persist.
    sealed_unindexed: Mutex<Vec<u64>>,
    /// The threads writing the index files of segments sealed since the last `persist_sealed`.
    background: Mutex<Vec<JoinHandle<()>>>,
    /// Held while this handle writes an index file (background thread, seal, close or
    /// query), so that two writes of the same file never race for its temporary name.
    persisting: Mutex<()>,
}

#[derive(Debug, Default)]
struct Slot {
    sealed: OnceLock<Arc<SegmentIndex>>,
    /// Built from the segment after the loaded file failed a check made as it was read;
    /// served instead of `sealed` from then on.
    rebuilt: OnceLock<Arc<SegmentIndex>>,
    /// The in-memory index of the segment while it is active.
    active: Mutex<IndexBuilder>,
    /// Whether a query of a read-only handle has read this active segment without its index
    /// (`SlotRef::scan_unindexed`).
    scanned_unindexed: AtomicBool,
}

/// A segment's index, ready for lookups.
pub(crate) enum IndexGuard<'a> {
    Sealed(Arc<SegmentIndex>),
    Active(MutexGuard<'a, IndexBuilder>),
}

impl IndexGuard<'_> {
    pub(crate) fn lookup(&self) -> &dyn Lookup {
        match self {
            IndexGuard::Sealed(index) => index.as_ref(),
            IndexGuard::Active(builder) => &**builder,
        }
    }
}

/// Holds a slot alive while its active builder is locked.
pub(crate) struct SlotRef(Arc<Slot>);

impl IndexSet {
    /// The (empty) index set of the log in `dir`, writing index files through `files`.
    pub(crate) fn new(dir: PathBuf, files: Option<Arc<dyn FileSystem>>) -> Self {
        IndexSet {
            dir,
            files,
            slots: Mutex::default(),
            sealed_unindexed: Mutex::default(),
            background: Mutex::default(),
            persisting: Mutex::default(),
        }
    }

    /// The index slot of a segment, for the query executor.
    pub(crate) fn slot(&self, first_seq: u64) -> SlotRef {
        SlotRef(self.slots.lock().entry(first_seq).or_default().clone())
    }

    /// How much of an index file is checked at load: all of it by a writable handle, which
    /// rewrites a file that fails and is long-lived (a service pays once per segment);
    /// only what each lookup reads by a read-only one, so that a fresh process (the CLI)
    /// pays for what its query reads, not for the size of the log.
    fn check(&self) -> Check {
        match self.files {
            Some(_) => Check::Whole,
            None => Check::AsRead,
        }
    }

    /// Forgets a segment's index (its file is left for `reindex` to overwrite).
    fn forget(&self, first_seq: u64) {
        self.slots.lock().remove(&first_seq);
    }

    /// Called by the writer once the seal of `segment` is durable and published: starts a
    /// thread that writes its index file, so the writer's own thread (and with it the
    /// appends) never waits for the index to be built. If no thread can be started, the
    /// next `seal()` or `close()` writes the file on the caller's thread.
    pub(crate) fn note_sealed(self: &Arc<Self>, segment: Arc<Segment>) {
        self.sealed_unindexed.lock().push(segment.first_seq());
        if self.files.is_none() {
            return;
        }
        let set = self.clone();
        let spawned = std::thread::Builder::new()
            .name("auditlog-index".into())
            .spawn(move || set.persist_one(&segment));
        if let Ok(handle) = spawned {
            let mut background = self.background.lock();
            // A handle that never seals or closes must not collect one per segment: the
            // finished threads are let go (dropping their handles detaches them).
            background.retain(|h| !h.is_finished());
            background.push(handle);
        }
    }

    /// Builds (or loads) the complete index of the sealed `segment`, writing its file if it
    /// has none. Errors are dropped, as in `persist_sealed`.
    fn persist_one(&self, segment: &Segment) {
        let Some(footer) = segment.footer() else {
            return;
        };
        let slot = self.slot(segment.first_seq());
        let _ = slot.index(self, segment, footer.first_seq + footer.record_count);
    }

    /// Waits for the threads writing index files (a thread that panicked wrote nothing: its
    /// segment is indexed again by `persist_sealed` or by the next query).
    pub(crate) fn join_background(&self) {
        let handles = std::mem::take(&mut *self.background.lock());
        for handle in handles {
            let _ = handle.join();
        }
    }
}

impl IndexSet {
    /// The distinct actions the segments' summaries list (at most `limit`, sorted), from
    /// the index of each segment of `view`; a segment whose set overflowed adds none.
    pub(crate) fn known_actions(&self, view: &View, limit: usize) -> Result<Vec<String>> {
        let mut actions = std::collections::BTreeSet::new();
        for (i, segment) in view.segments.iter().enumerate() {
            let end = view
                .segments
                .get(i + 1)
                .map_or(view.end_seq, |next| next.first_seq())
                .min(view.end_seq);
            let slot = self.slot(segment.first_seq());
            let guard = slot.index(self, segment, end)?;
            if let Some(values) = &guard.lookup().summary().actions.values {
                actions.extend(values.iter().cloned());
            }
        }
        Ok(actions.into_iter().take(limit).collect())
    }
}

impl SlotRef {
    /// Whether a query should read every record of the active `segment` in its range and
    /// check it against the filter, instead of building (or extending) the segment's
    /// in-memory index first: true once per segment for a read-only handle, on its first
    /// query while nothing of the index is built yet.
    ///
    /// Building the index of an active segment costs a pass over its records that reads
    /// each one anyway (payload walked, keys hashed, postings and summary filed), so a
    /// handle that answers one query (every read-only CLI command is a fresh process)
    /// answers it for less by checking those records directly. A handle that queries again
    /// builds the index on its second query and extends it from then on, as before: it pays
    /// one extra pass over the segment in its lifetime. Writable handles, which live long and
    /// query often, always use the index.
    pub(crate) fn scan_unindexed(&self, set: &IndexSet, segment: &Segment) -> bool {
        let slot = &self.0;
        set.files.is_none()
            && segment.footer().is_none()
            && slot.sealed.get().is_none()
            && slot.rebuilt.get().is_none()
            && slot.active.lock().summary.records == 0
            && !slot.scanned_unindexed.swap(true, Ordering::AcqRel)
    }

    /// The index of `segment`, covering at least its records below `end_seq`.
    pub(crate) fn index<'a>(
        &'a self,
        set: &IndexSet,
        segment: &Segment,
        end_seq: u64,
    ) -> Result<IndexGuard<'a>> {
        let slot = &self.0;
        if let Some(index) = slot.rebuilt.get() {
            return Ok(IndexGuard::Sealed(index.clone()));
        }
        // Checked first: a snapshot taken before the segment was sealed may still see it
        // active, and the complete index serves it as well (the executor bounds the records).
        if let Some(index) = slot.sealed.get() {
            return Ok(IndexGuard::Sealed(index.clone()));
        }
        if segment.footer().is_none() {
            let mut builder = slot.active.lock();
            builder.extend(segment, end_seq)?;
            return Ok(IndexGuard::Active(builder));
        }
        let index = match SegmentIndex::load(&set.dir, segment, set.check()) {
            Some(index) => index,
            None => {
                // Reuse what was built while the segment was active; build the rest.
                let mut builder = std::mem::take(&mut *slot.active.lock());
                if let Some(footer) = segment.footer() {
                    builder.extend(segment, footer.first_seq + footer.record_count)?;
                }
                let index = SegmentIndex::from_builder(segment, &builder).ok_or_else(|| {
                    Error::io(
                        format!("indexing {}", segment.path.display()),
                        std::io::Error::other("segment has no footer"),
                    )
                })?;
                // Failing to persist only costs a rebuild next time; once persisted, the
                // mapped file replaces the built bytes so they leave the heap.
                let persisted = set.files.as_ref().is_some_and(|fs| {
                    let _one_at_a_time = set.persisting.lock();
                    file::persist(fs.as_ref(), &set.dir, segment.first_seq(), &index).is_ok()
                });
                match persisted {
                    true => SegmentIndex::load(&set.dir, segment, set.check()).unwrap_or(index),
                    false => index,
                }
            }
        };
        Ok(IndexGuard::Sealed(
            slot.sealed.get_or_init(|| Arc::new(index)).clone(),
        ))
    }
}

impl SlotRef {
    /// The index of the sealed `segment` rebuilt from its records, after its file failed a
    /// check made as it was read ([`Damaged`]): served from then on by this handle, and
    /// written over the file by a writable one (as a file failing its checks at load is).
    pub(crate) fn rebuild<'a>(
        &'a self,
        set: &IndexSet,
        segment: &Segment,
    ) -> Result<IndexGuard<'a>> {
        let builder = IndexBuilder::of_sealed(segment)?;
        let index = SegmentIndex::from_builder(segment, &builder).ok_or_else(|| {
            Error::io(
                format!("indexing {}", segment.path.display()),
                std::io::Error::other("segment has no footer"),
            )
        })?;
        if let Some(fs) = &set.files {
            let _one_at_a_time = set.persisting.lock();
            let _ = file::persist(fs.as_ref(), &set.dir, segment.first_seq(), &index);
        }
        Ok(IndexGuard::Sealed(
            self.0.rebuilt.get_or_init(|| Arc::new(index)).clone(),
        ))
    }
}

/// What [`LogReader::reindex`](crate::LogReader::reindex) did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReindexReport {
    /// Sealed segments whose index file was rebuilt and written.
    pub rebuilt: u64,
    /// Index entries (actor plus entity postings) written.
    pub postings: u64,
}

impl IndexSet {
    /// Persists the index file of each segment this handle sealed since the last call, unless
    /// a valid one exists (a query may have written it). Errors are dropped on purpose: the
    /// index is derived data, a missing file costs a rebuild, and a segment that cannot be
    /// read is reported by the reads and by verify, not by the seal that succeeded.
    /// Waits for the background writes first; a segment one of them indexed costs nothing
    /// more here.
    pub(crate) fn persist_sealed(&self, view: &View) {
        self.join_background();
        let pending = std::mem::take(&mut *self.sealed_unindexed.lock());
        if pending.is_empty() || self.files.is_none() {
            return;
        }
        for first_seq in pending {
            let segment = view
                .segments
                .iter()
                .find(|s| s.first_seq() == first_seq && s.footer().is_some());
            if let Some(segment) = segment {
                self.persist_one(segment);
            }
        }
    }

    /// Rebuilds the index file of every sealed segment of `view` from the segment itself
    /// (see `LogReader::reindex`); without `files`, in memory only.
    pub(crate) fn reindex(&self, view: &View) -> Result<ReindexReport> {
        let mut report = ReindexReport::default();
        for segment in view.segments.iter() {
            self.forget(segment.first_seq());
            if segment.footer().is_none() {
                continue;
            }
            let builder = IndexBuilder::of_sealed(segment)?;
            let Some(index) = SegmentIndex::from_builder(segment, &builder) else {
                continue;
            };
            if let Some(fs) = &self.files {
                let _one_at_a_time = self.persisting.lock();
                file::persist(fs.as_ref(), &self.dir, segment.first_seq(), &index).map_err(
                    |e| {
                        Error::io(
                            format!("writing the index of {}", segment.path.display()),
                            e,
                        )
                    },
                )?;
            }
            report.rebuilt += 1;
            report.postings += builder.actor.values().map(Vec::len).sum::<usize>() as u64
                + builder.entity.values().map(Vec::len).sum::<usize>() as u64;
            let index = match self.files {
                None => index,
                Some(_) => SegmentIndex::load(&self.dir, segment, self.check()).unwrap_or(index),
            };
            let slot = self.slot(segment.first_seq());
            let _ = slot.0.sealed.set(Arc::new(index));
        }
        Ok(report)
    }
}
