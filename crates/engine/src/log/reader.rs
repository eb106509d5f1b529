//! [`LogReader`]: everything that reads a log, shared by [`AuditLog`] and [`ReadOnlyLog`].

use super::{AuditLog, AuditLogBuilder, Shared};
use crate::error::{Corruption, Error, OpenError, Result};
use crate::event::{LazyRecord, Record};
use crate::follow::Feed;
use crate::index::{IndexSet, ReindexReport};
use crate::lifecycle::{BundleSummary, RetentionPolicy, RetentionReport};
use crate::merkle::TreeHead;
use crate::meta::LogMeta;
use crate::options::{Access, Options};
use crate::query::{self, Aggregation, GroupBy, Query, QueryPage};
use crate::reader::RecordIter;
use crate::recovery::{OpenReport, Recovered};
use crate::segment::Segment;
use crate::segment::scan::{Leaves, ScanOutcome, Tree};
use crate::tail::{RecordStream, Subscription};
use crate::view::{CountedHead, Head, View};
use std::ops::{Deref, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The reading side of an open log: records, queries, tails, index and bundle checks. Both
/// handles hold one and dereference to it, so every method here is callable on an
/// [`AuditLog`] (which sees its own appends as they commit) and on a [`ReadOnlyLog`]
/// (which follows a writer elsewhere through [`refresh`](Self::refresh)).
#[derive(Debug)]
pub struct LogReader {
    pub(super) shared: Arc<Shared>,
    report: OpenReport,
}

/// What a writer continues from, left over when a log's reader is assembled.
pub(super) struct Resume {
    /// The newest segment if it is not sealed, and where its scan stopped.
    pub active: Option<(Arc<Segment>, ScanOutcome<Tree>)>,
    pub frontier: Tree,
    pub last_recorded_at: i64,
}

impl LogReader {
    /// The reader of what recovery found in `dir`, and what a writer would continue from.
    pub(super) fn assemble(
        dir: PathBuf,
        meta: LogMeta,
        options: Options,
        recovered: Recovered,
        access: Access,
    ) -> (Self, Resume) {
        let report = recovered.report;
        let mut segments: Vec<Arc<_>> = recovered.sealed.into_iter().map(Arc::new).collect();
        let mut active = recovered.active.map(|(segment, scan)| {
            let segment = Arc::new(segment);
            segments.push(segment.clone());
            (segment, scan)
        });
        // After retention the oldest segment may be the active one and start past 0.
        let first_seq = segments.first().map_or(report.first_seq, |s| s.first_seq());
        let tree_head = match &recovered.frontier {
            Tree::Hashed(frontier) => Head::Known(frontier.tree_head()),
            Tree::Counted(counted) => {
                // Only the newest segment's leaves are ever counted (recovery::scan_file).
                let path = segments.last().map(|s| s.path.clone()).unwrap_or_default();
                Head::Counted(Arc::new(CountedHead::new(path, counted.clone())))
            }
        };
        let view = View {
            segments: Arc::new(segments),
            first_seq,
            end_seq: recovered.frontier.size(),
            tree_head,
            last_recorded_at: recovered.last_recorded_at,
        };
        let (feed, index_files) = match access {
            Access::Write => (Feed::written(view), Some(options.fs.clone())),
            Access::ReadOnly => {
                let scan = active.take().map(|(_, scan)| scan);
                let feed = Feed::followed(view, dir.clone(), meta.log_id, scan);
                (feed, None)
            }
        };
        let shared = Arc::new(Shared {
            indexes: Arc::new(IndexSet::new(dir.clone(), index_files)),
            feed: Arc::new(feed),
            dir,
            meta,
            options,
        });
        let resume = Resume {
            active,
            frontier: recovered.frontier,
            last_recorded_at: recovered.last_recorded_at,
        };
        (LogReader { shared, report }, resume)
    }

    /// A consistent snapshot of the committed state.
    pub(crate) fn view(&self) -> View {
        self.shared.feed.snapshot()
    }

    /// The options the log was opened with.
    pub(crate) fn options(&self) -> &Options {
        &self.shared.options
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
    ///
    /// A read-only handle's open leaves the root of the active segment's records to be
    /// computed here, the first time it is asked for (a count or a query never needs it):
    /// that reads and checks the segment again, so it can fail, naming any damage found.
    /// [`end_seq`](Self::end_seq) is the size without the root.
    pub fn tree_head(&self) -> Result<TreeHead> {
        self.view().tree_head.get()
    }

    /// The first sequence number held (0 unless retention removed older segments).
    pub fn first_seq(&self) -> u64 {
        self.view().first_seq
    }

    /// One past the newest committed sequence number.
    pub fn end_seq(&self) -> u64 {
        self.view().end_seq
    }

    /// Reads the record with sequence number `seq`.
    pub fn get(&self, seq: u64) -> Result<Record> {
        let mut iter = RecordIter::new(self.view(), seq..seq.saturating_add(1));
        iter.next()
            .unwrap_or(Err(Error::NotFound {
                seq,
                first: 0,
                end: 0,
            }))
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    let v = self.view();
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
        RecordIter::new(self.view(), range)
    }

    /// Runs `query` over the committed records: one page of at most `query`'s limit, in its
    /// order, after its cursor if it has one.
    ///
    /// Fails with [`Error::InvalidCursor`](crate::Error::InvalidCursor) if the cursor came from
    /// a query with other filters or another order, and with a corruption error if a record
    /// that must be read is damaged. Damaged or missing index files are never an error: they
    /// are rebuilt from their segment.
    pub fn query(&self, query: &Query) -> Result<QueryPage> {
        query::page(&self.shared.indexes, &self.view(), query)
    }

    /// As [`query`](Self::query), but the records keep their encoded payload and read fields
    /// in place ([`LazyRecord::event`]), decoding JSON only when asked: several times cheaper
    /// per record when a caller shows a few fields (a list, a dashboard). The same records,
    /// in the same order, with the same cursor; [`LazyRecord::to_record`] gives the
    /// [`Record`] [`query`](Self::query) would have returned.
    ///
    /// Unlike [`query`](Self::query), a record whose payload holds JSON that does not parse
    /// (damage that escaped the frame checksum) is returned, and reported when its JSON is
    /// asked for.
    pub fn query_lazy(&self, query: &Query) -> Result<QueryPage<LazyRecord>> {
        query::page_lazy(&self.shared.indexes, &self.view(), query)
    }

    /// Counts the records matching `query`'s filters (after its cursor, if any), ignoring its
    /// limit. Records are checked in place: nothing is decoded or allocated per record.
    pub fn count(&self, query: &Query) -> Result<u64> {
        query::count(&self.shared.indexes, &self.view(), query)
    }

    /// Counts the records matching `query`'s filters (after its cursor, if any), grouped by
    /// `by`, ignoring its limit.
    pub fn aggregate(&self, query: &Query, by: GroupBy) -> Result<Aggregation> {
        query::aggregate(&self.shared.indexes, &self.view(), query, by)
    }

    /// An inclusion proof of record `seq` against the tree of `size` records (default: the
    /// newest signed checkpoint covering `seq`, else the current tree), as
    /// [`proof::prove_inclusion`](crate::proof::prove_inclusion) prints it. Over a writing
    /// handle the active segment's Merkle nodes are kept in memory, so the cost is O(log n)
    /// hashes plus the records committed since the last proof, not a rehash of the segment;
    /// every proof is checked against its tree head (and checkpoint) and the record on disk.
    pub fn prove_inclusion(&self, seq: u64, size: Option<u64>) -> Result<serde_json::Value> {
        crate::proof::prove_inclusion_live(self, seq, size)
    }

    /// As [`aggregate`](Self::aggregate) for each grouping of `by`, in one pass over the
    /// matching records (a dashboard's charts at the cost of one). Each aggregation's `total`
    /// is the number of matching records.
    pub fn aggregate_many(&self, query: &Query, by: &[GroupBy]) -> Result<Vec<Aggregation>> {
        query::aggregate_many(&self.shared.indexes, &self.view(), query, by)
    }

    /// The distinct actions in the log (at most `limit`, sorted), from the segments'
    /// summaries: nothing is scanned. A segment with more distinct actions than a summary
    /// keeps (256) contributes none, so the list can be incomplete; it is for suggestions,
    /// and covers every tenant.
    pub fn known_actions(&self, limit: usize) -> Result<Vec<String>> {
        self.shared.indexes.known_actions(&self.view(), limit)
    }

    /// Follows the log from sequence number `from_seq` on (use `end_seq()` for only new
    /// records, 0 for everything), yielding records matching `query` as they commit. The
    /// query's order, limit and cursor are ignored: a tail is always oldest first.
    pub fn subscribe(&self, query: &Query, from_seq: u64) -> Subscription {
        Subscription::new(&self.shared.feed, query, from_seq)
    }

    /// Like [`subscribe`](Self::subscribe), as an async stream.
    pub fn stream(&self, query: &Query, from_seq: u64) -> RecordStream {
        RecordStream::new(&self.shared.feed, query, from_seq)
    }

    /// For a read-only handle, picks up records and segments written since it was opened or
    /// last refreshed (by a writer in another process) and returns the new committed end.
    /// For a writing handle the view is always current and this only returns it.
    pub fn refresh(&self) -> Result<u64> {
        self.shared.feed.refresh()
    }

    /// Waits until records past `seen_end` are committed, or `timeout` passes; returns the
    /// committed end. The building block of tailing. A read-only handle polls the files
    /// (every 50 ms) through [`refresh`](Self::refresh), so it follows a writer in another
    /// process.
    pub fn wait_for_records(&self, seen_end: u64, timeout: Duration) -> u64 {
        self.shared.feed.wait_for_records(seen_end, timeout)
    }

    /// Rebuilds the index file of every sealed segment from the segment itself, whatever
    /// the existing files hold, and drops cached indexes. Use after restoring files from a
    /// backup, or to rule the indexes out when investigating a wrong answer. On a read-only
    /// log the indexes are rebuilt in memory only.
    pub fn reindex(&self) -> Result<ReindexReport> {
        self.shared.indexes.reindex(&self.view())
    }

    /// Lists the segments `policy` would delete now, without changing anything (see
    /// [`AuditLog::apply_retention`]).
    pub fn plan_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport> {
        Ok(RetentionReport {
            segments: crate::lifecycle::retention::plan(&self.shared.live(), policy)?,
            ..RetentionReport::default()
        })
    }

    /// Checks this log together with bundles archived from it: each bundle alone
    /// ([`check_bundle`](crate::lifecycle::check_bundle)), that they form one chain of tree
    /// heads without gaps, that every archive cut of the log's cut log is the end of one of
    /// them, and that the live log's first segment continues where the last bundle (or
    /// recorded cut) ends. Typically called on a [`ReadOnlyLog`] opened with
    /// `OpenCheck::Full`.
    pub fn check_with_bundles(
        &self,
        bundle_dirs: &[PathBuf],
    ) -> Result<Vec<BundleSummary>, Corruption> {
        let view = self.view();
        crate::lifecycle::archive::check_with_bundles(
            self.dir(),
            &self.log_id(),
            &view,
            bundle_dirs,
        )
    }
}

/// A log opened for reading only: no lock is taken (a writer may run beside it, in this
/// process or another), nothing is created or repaired, and damage is listed in
/// [`OpenReport::problems`] with the readable prefix kept. It offers everything
/// [`LogReader`] does (it dereferences to one) and nothing that writes: appending, sealing,
/// compaction, archiving or retention on it does not compile.
///
/// ```no_run
/// use auditlog::ReadOnlyLog;
/// let log = ReadOnlyLog::open("./audit")?;
/// for record in log.iter(..) {
///     println!("{}", record?.seq);
/// }
/// # Ok::<(), auditlog::Error>(())
/// ```
///
/// Writing through it is a compile error, not a runtime one:
///
/// ```compile_fail
/// # fn f(log: &auditlog::ReadOnlyLog) -> auditlog::Result<()> {
/// log.append(&auditlog::Event::new("user:42", "login"))?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ReadOnlyLog {
    pub(super) reader: LogReader,
}

impl ReadOnlyLog {
    /// Opens the log in `dir` read-only with default options (see
    /// [`AuditLogBuilder::open_read_only`] for others).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        AuditLogBuilder::new(dir.as_ref()).open_read_only()
    }
}

impl Deref for ReadOnlyLog {
    type Target = LogReader;

    fn deref(&self) -> &LogReader {
        &self.reader
    }
}

impl Deref for AuditLog {
    type Target = LogReader;

    fn deref(&self) -> &LogReader {
        &self.reader
    }
}
