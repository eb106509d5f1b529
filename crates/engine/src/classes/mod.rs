//! Retention classes: one root directory holding one ordinary log per class, and
//! [`ClassifiedLog`], which routes each event to the class its severity maps to.
//!
//! Records of one Merkle tree cannot be deleted out of order without breaking the tree, so a
//! class that keeps events 30 days and one that keeps them a year must be separate trees.
//! `<root>/<class>/` is a complete log (meta, segments, indexes, tree, `cuts.log`); the root
//! holds those directories and the class manifest `auditlog.classes` (manifest.rs,
//! docs/FORMAT.md §13). A record is identified by `(class, seq)`; the state of the whole is
//! the list of the classes' tree heads ([`ClassifiedLog::tree_heads`]), and each class signs
//! its own checkpoints. Reads across classes merge by `recorded_at` (query.rs).

use auditlog_format::classes as manifest;
mod query;

pub use auditlog_verify::classes::ClassifiedVerifyReport;
pub use manifest::CLASSES_FILE;
pub use manifest::is_classified_root;
pub use query::{ClassifiedCursor, ClassifiedPage};

/// Verifies a classified root and every class's sub-log
/// ([`auditlog_verify::classes::verify_classified`]), each with the engine's
/// [`verify`](crate::verify()), which also checks the sub-log's index files.
pub fn verify_classified(root: &Path, options: &VerifyOptions) -> Result<ClassifiedVerifyReport> {
    let verify_one = |dir: &Path, options: &VerifyOptions| {
        crate::verify::verify_format_errors(dir, options, IndexCheck::CompareAndSetAside)
    };
    Ok(auditlog_verify::classes::verify_classified_with(
        root,
        options,
        &verify_one,
    )?)
}

use crate::error::{Error, Result};
use crate::event::{Event, Record, Severity};
use crate::fs::{FileSystem, StdFileSystem};
use crate::lifecycle::{MaintenancePolicy, MaintenanceReport, RetentionPolicy, RetentionReport};
use crate::log::{AuditLog, AuditLogBuilder, LogReader, ReadOnlyLog};
use crate::merkle::TreeHead;
use crate::receipt::{AppendHandle, BatchHandle, Receipt};
use crate::verify::{IndexCheck, VerifyOptions};
use manifest::ClassEntry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const DAY: u64 = 86_400;

/// One retention class: a name (also its sub-directory), the severities it receives, and how
/// long its records are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionClass {
    /// 1 to 64 characters of `a-z`, `0-9`, `_` and `-`.
    pub name: String,
    /// The severities whose events this class receives. Across a root's classes every
    /// severity appears exactly once.
    pub severities: Vec<Severity>,
    /// The class's retention (ages are kept in whole seconds).
    pub retention: RetentionPolicy,
}

impl RetentionClass {
    /// A class receiving `severities`, keeping records `max_age` (`None`: forever).
    pub fn new(
        name: impl Into<String>,
        severities: impl IntoIterator<Item = Severity>,
        max_age: Option<Duration>,
    ) -> Self {
        RetentionClass {
            name: name.into(),
            severities: severities.into_iter().collect(),
            retention: RetentionPolicy {
                max_age,
                max_total_bytes: None,
            },
        }
    }

    /// Also a total size budget for the class's files. Default: none.
    #[must_use]
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.retention.max_total_bytes = Some(bytes);
        self
    }

    /// What audit services commonly do: `low` (info and low) 30 days, `medium` 60,
    /// `high` 90, `critical` 365.
    pub fn defaults() -> Vec<RetentionClass> {
        let days = |d| Some(Duration::from_secs(d * DAY));
        vec![
            RetentionClass::new("low", [Severity::Info, Severity::Low], days(30)),
            RetentionClass::new("medium", [Severity::Medium], days(60)),
            RetentionClass::new("high", [Severity::High], days(90)),
            RetentionClass::new("critical", [Severity::Critical], days(365)),
        ]
    }

    pub(crate) fn entry(&self) -> ClassEntry {
        ClassEntry {
            name: self.name.clone(),
            severities: self
                .severities
                .iter()
                .fold(0, |mask, s| mask | 1 << s.to_u8()),
            max_age_secs: self.retention.max_age.map_or(0, |a| a.as_secs().max(1)),
            max_total_bytes: self.retention.max_total_bytes.unwrap_or(0),
            log_id: [0; 16],
        }
    }

    fn from_entry(e: &ClassEntry) -> Self {
        RetentionClass {
            name: e.name.clone(),
            severities: Severity::ALL
                .into_iter()
                .filter(|s| e.severities & (1 << s.to_u8()) != 0)
                .collect(),
            retention: RetentionPolicy {
                max_age: e.max_age(),
                max_total_bytes: e.max_total_bytes(),
            },
        }
    }
}

/// How each class's sub-log is configured, given its directory.
type SubLogOptions = Arc<dyn Fn(&Path) -> AuditLogBuilder + Send + Sync>;

/// Configures and opens a [`ClassifiedLog`].
#[derive(Clone)]
pub struct ClassifiedLogBuilder {
    root: PathBuf,
    classes: Option<Vec<RetentionClass>>,
    sub_log: SubLogOptions,
    maintenance: MaintenancePolicy,
    fs: Arc<dyn FileSystem>,
    read_only: bool,
}

impl std::fmt::Debug for ClassifiedLogBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassifiedLogBuilder")
            .field("root", &self.root)
            .field("classes", &self.classes)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl ClassifiedLogBuilder {
    /// The classes. Required to create a root; when reopening, they must have the recorded
    /// names and severities in the recorded order (else [`Error::ClassMismatch`]), and their
    /// retention replaces the recorded one. Default: the recorded classes.
    #[must_use]
    pub fn classes(mut self, classes: Vec<RetentionClass>) -> Self {
        self.classes = Some(classes);
        self
    }

    /// Options of every sub-log: a function from its directory to its builder (durability,
    /// segment size, clock, signing key...). The builder's file system, read-only flag and
    /// maintenance are replaced by this builder's. Default: `AuditLog::builder(dir)`.
    #[must_use]
    pub fn sub_log(
        mut self,
        options: impl Fn(&Path) -> AuditLogBuilder + Send + Sync + 'static,
    ) -> Self {
        self.sub_log = Arc::new(options);
        self
    }

    /// Maintenance of every sub-log (archiving, compaction, background interval); its
    /// retention is replaced by each class's. Default: retention only, on request.
    #[must_use]
    pub fn maintenance(mut self, policy: MaintenancePolicy) -> Self {
        self.maintenance = policy;
        self
    }

    /// The file-system layer of the root and of every sub-log. Default: the real one.
    #[must_use]
    pub fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    /// Opens every sub-log read-only (see [`AuditLogBuilder::open_read_only`]); nothing is
    /// created or rewritten, and every write fails with [`Error::ReadOnly`]. Default false.
    #[must_use]
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = yes;
        self
    }

    /// Opens (or, unless read-only, creates) the classified root.
    pub fn open(self) -> Result<ClassifiedLog> {
        ClassifiedLog::open_with(self)
    }
}

/// A log split into retention classes, one sub-log per class under one root (see the
/// module docs). `Send + Sync`, like [`AuditLog`].
#[derive(Debug)]
pub struct ClassifiedLog {
    root: PathBuf,
    classes: Vec<RetentionClass>,
    logs: Vec<SubLog>,
    /// The class index of each severity code.
    route: [usize; Severity::ALL.len()],
}

/// The pending acknowledgement of one [`ClassifiedLog::append`].
#[derive(Debug)]
#[must_use = "an append is acknowledged only when its handle resolves"]
pub struct ClassifiedHandle {
    class: String,
    inner: AppendHandle,
}

impl ClassifiedHandle {
    /// The class the event went to.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// Blocks until the record is acknowledged; its identity is `(class, receipt.seq)`.
    pub fn wait(self) -> Result<(String, Receipt)> {
        Ok((self.class, self.inner.wait()?))
    }
}

/// The pending acknowledgement of one [`ClassifiedLog::append_batch`].
#[derive(Debug)]
#[must_use = "a batch is acknowledged only when its handle resolves"]
pub struct ClassifiedBatchHandle {
    /// Per class touched: its name, its part of the batch, and the positions in the input.
    parts: Vec<(String, BatchHandle, Vec<usize>)>,
    len: usize,
}

impl ClassifiedBatchHandle {
    /// Blocks until every class's part is acknowledged; one `(class, receipt)` per event, in
    /// the order given.
    pub fn wait(self) -> Result<Vec<(String, Receipt)>> {
        let mut out: Vec<Option<(String, Receipt)>> = vec![None; self.len];
        for (class, handle, positions) in self.parts {
            for (receipt, at) in handle.wait()?.into_iter().zip(positions) {
                out[at] = Some((class.clone(), receipt));
            }
        }
        out.into_iter().map(|r| r.ok_or(Error::Closed)).collect()
    }
}

impl ClassifiedLog {
    /// Opens the classified root `root` with its recorded classes (for writing).
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        Self::builder(root).open()
    }

    /// A builder; see [`ClassifiedLogBuilder`].
    pub fn builder(root: impl AsRef<Path>) -> ClassifiedLogBuilder {
        ClassifiedLogBuilder {
            root: root.as_ref().to_path_buf(),
            classes: None,
            sub_log: Arc::new(|dir: &Path| AuditLog::builder(dir)),
            maintenance: MaintenancePolicy::default(),
            fs: Arc::new(StdFileSystem),
            read_only: false,
        }
    }

    fn open_with(b: ClassifiedLogBuilder) -> Result<Self> {
        let root = b.root.clone();
        let mismatch = |reason: String| Error::ClassMismatch {
            root: root.clone(),
            reason,
        };
        let recorded = manifest::read(&root)?;
        let wanted: Option<Vec<ClassEntry>> = match &b.classes {
            Some(classes) => {
                let entries: Vec<ClassEntry> = classes.iter().map(RetentionClass::entry).collect();
                manifest::check_classes(&entries).map_err(|reason| Error::InvalidOption {
                    option: "classes",
                    reason,
                })?;
                Some(entries)
            }
            None => None,
        };
        let mut entries = match (recorded.clone(), wanted) {
            (Some(recorded), Some(mut wanted)) => {
                let shape = |c: &[ClassEntry]| -> Vec<(String, u8)> {
                    c.iter().map(|e| (e.name.clone(), e.severities)).collect()
                };
                if shape(&recorded) != shape(&wanted) {
                    return Err(mismatch(format!(
                        "the classes asked for ({}) differ from those recorded in {CLASSES_FILE} ({})",
                        describe(&wanted),
                        describe(&recorded)
                    )));
                }
                for (w, r) in wanted.iter_mut().zip(&recorded) {
                    w.log_id = r.log_id;
                }
                wanted
            }
            (Some(recorded), None) => recorded,
            (None, Some(wanted)) if !b.read_only => {
                prepare_new_root(&root, &wanted, b.fs.as_ref())?;
                wanted
            }
            (None, _) => {
                return Err(Error::NotALog {
                    path: root.clone(),
                    reason: format!(
                        "{CLASSES_FILE} is missing: it is not a classified root (create one by \
                         giving its classes)"
                    ),
                });
            }
        };
        let mut logs = Vec::with_capacity(entries.len());
        for entry in entries.iter_mut() {
            let dir = root.join(&entry.name);
            let exists = dir.join(crate::meta::META_FILE).exists();
            if recorded.is_some() && !exists {
                return Err(mismatch(format!(
                    "the sub-log of class {:?} ({}) is missing",
                    entry.name,
                    dir.display()
                )));
            }
            let class = RetentionClass::from_entry(entry);
            let maintenance = MaintenancePolicy {
                retention: Some(class.retention),
                ..b.maintenance.clone()
            };
            let builder = (b.sub_log)(&dir)
                .file_system(b.fs.clone())
                .maintenance(maintenance);
            let log = match b.read_only {
                true => SubLog::Read(builder.open_read_only()?),
                false => SubLog::Written(builder.open()?),
            };
            if recorded.is_some() && log.log_id() != entry.log_id {
                return Err(mismatch(format!(
                    "the sub-log of class {:?} has log id {}, but {CLASSES_FILE} records {}: it \
                     was replaced by another log",
                    entry.name,
                    hex(&log.log_id()),
                    hex(&entry.log_id)
                )));
            }
            entry.log_id = log.log_id();
            logs.push(log);
        }
        if !b.read_only && recorded.as_ref() != Some(&entries) {
            // Written last when creating: a root without it is not yet a classified root, and
            // reopening with the same classes adopts the sub-logs already made.
            manifest::write(b.fs.as_ref(), &root, &entries)?;
        }
        let mut route = [0; Severity::ALL.len()];
        for (i, e) in entries.iter().enumerate() {
            for s in Severity::ALL {
                if e.severities & (1 << s.to_u8()) != 0 {
                    route[s.to_u8() as usize] = i;
                }
            }
        }
        Ok(ClassifiedLog {
            root,
            classes: entries.iter().map(RetentionClass::from_entry).collect(),
            logs,
            route,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The classes, in their recorded order.
    pub fn classes(&self) -> &[RetentionClass] {
        &self.classes
    }

    /// The sub-log of class `name`, for everything a single log offers (iterators, proofs by
    /// its directory, checkpoints, compaction...).
    pub fn class(&self, name: &str) -> Option<&LogReader> {
        let i = self.classes.iter().position(|c| c.name == name)?;
        self.logs.get(i).map(|log| &**log)
    }

    /// The writing handle of class `name`'s sub-log (for compaction, archiving,
    /// checkpoints...); `None` if there is no such class or the log was opened read-only.
    pub fn class_writer(&self, name: &str) -> Option<&AuditLog> {
        let i = self.classes.iter().position(|c| c.name == name)?;
        self.logs.get(i)?.writer().ok()
    }

    /// The class events of `severity` go to.
    pub fn class_of(&self, severity: Severity) -> &str {
        &self.classes[self.route[severity.to_u8() as usize]].name
    }

    /// The state of the whole: each class's name and current tree head, in class order.
    pub fn tree_heads(&self) -> Result<Vec<(String, TreeHead)>> {
        self.named()
            .map(|(n, l)| Ok((n.to_string(), l.tree_head()?)))
            .collect()
    }

    fn named(&self) -> impl Iterator<Item = (&str, &SubLog)> {
        self.classes.iter().map(|c| c.name.as_str()).zip(&self.logs)
    }

    fn log_for(&self, event: &Event) -> (usize, &SubLog) {
        let i = self.route[event.severity.to_u8() as usize];
        (i, &self.logs[i])
    }

    /// Appends `event` to its class (see [`AuditLog::append`]).
    pub fn append(&self, event: &Event) -> Result<ClassifiedHandle> {
        let (i, log) = self.log_for(event);
        Ok(ClassifiedHandle {
            class: self.classes[i].name.clone(),
            inner: log.writer()?.append(event)?,
        })
    }

    /// Like [`append`](Self::append) but fails with [`Error::QueueFull`] instead of blocking
    /// (the log's [`AppendError::QueueFull`](crate::AppendError::QueueFull), converted).
    pub fn try_append(&self, event: &Event) -> Result<ClassifiedHandle> {
        let (i, log) = self.log_for(event);
        Ok(ClassifiedHandle {
            class: self.classes[i].name.clone(),
            inner: log.writer()?.try_append(event)?,
        })
    }

    /// Appends events, each to its class: one batch per class touched, with consecutive
    /// sequence numbers in that class. Every event is validated (and its size checked) before
    /// any part is sent, so an invalid event writes nothing; the parts are atomic per class, not across classes (a
    /// class's writer can fail alone).
    pub fn append_batch(&self, events: &[Event]) -> Result<ClassifiedBatchHandle> {
        let mut by_class: Vec<(Vec<Event>, Vec<usize>)> = vec![Default::default(); self.logs.len()];
        let mut scratch = Vec::new();
        for (at, event) in events.iter().enumerate() {
            let (i, log) = self.log_for(event);
            // Encoding checks every rule, the encoded size included; the class's log encodes
            // again, which is the price of all-or-nothing validation across classes.
            scratch.clear();
            crate::event::encode_payload_into(event, &log.options().event_limits, &mut scratch)?;
            by_class[i].0.push(event.clone());
            by_class[i].1.push(at);
        }
        let mut parts = Vec::new();
        for (i, (batch, positions)) in by_class.into_iter().enumerate() {
            if !batch.is_empty() {
                let handle = self.logs[i].writer()?.append_batch(&batch)?;
                parts.push((self.classes[i].name.clone(), handle, positions));
            }
        }
        Ok(ClassifiedBatchHandle {
            parts,
            len: events.len(),
        })
    }

    /// Reads record `seq` of class `class`.
    pub fn get(&self, class: &str, seq: u64) -> Result<Record> {
        let log = self.class(class).ok_or_else(|| Error::InvalidOption {
            option: "class",
            reason: format!("no class named {class:?}"),
        })?;
        log.get(seq)
    }

    /// Makes every acknowledged record of every class durable.
    pub fn sync(&self) -> Result<()> {
        self.logs.iter().try_for_each(|log| log.writer()?.sync())
    }

    /// Seals every class's active segment (see [`AuditLog::seal`]).
    pub fn seal(&self) -> Result<()> {
        self.logs.iter().try_for_each(|log| log.writer()?.seal())
    }

    /// Closes every sub-log (all of them, even after one fails); returns the first error.
    pub fn close(self) -> Result<()> {
        let mut first = Ok(());
        for log in self.logs {
            let result = log.close();
            if first.is_ok() {
                first = result;
            }
        }
        first
    }

    /// Runs each sub-log's maintenance (its class's retention, then the archiving and
    /// compaction of [`ClassifiedLogBuilder::maintenance`]) now; one report per class.
    pub fn maintain(&self) -> Result<Vec<(String, MaintenanceReport)>> {
        self.per_class(|log| log.writer()?.maintain())
    }

    /// Lists what each class's retention would delete now, changing nothing.
    pub fn plan_retention(&self) -> Result<Vec<(String, RetentionReport)>> {
        self.per_class_policy(|log, policy| log.plan_retention(policy))
    }

    /// Applies each class's retention (recording each class's cut first, see
    /// [`AuditLog::apply_retention`]).
    pub fn apply_retention(&self) -> Result<Vec<(String, RetentionReport)>> {
        self.per_class_policy(|log, policy| log.writer()?.apply_retention(policy))
    }

    fn per_class<T>(&self, f: impl Fn(&SubLog) -> Result<T>) -> Result<Vec<(String, T)>> {
        self.named()
            .map(|(name, log)| Ok((name.to_string(), f(log)?)))
            .collect()
    }

    fn per_class_policy<T>(
        &self,
        f: impl Fn(&SubLog, &RetentionPolicy) -> Result<T>,
    ) -> Result<Vec<(String, T)>> {
        self.classes
            .iter()
            .zip(&self.logs)
            .map(|(c, log)| Ok((c.name.clone(), f(log, &c.retention)?)))
            .collect()
    }
}

/// A class's sub-log: written, or only read (a classified log opened read-only).
#[derive(Debug)]
enum SubLog {
    Written(AuditLog),
    Read(ReadOnlyLog),
}

impl SubLog {
    /// The writing handle; [`Error::ReadOnly`] when the classified log was opened read-only.
    fn writer(&self) -> Result<&AuditLog> {
        match self {
            SubLog::Written(log) => Ok(log),
            SubLog::Read(_) => Err(Error::ReadOnly),
        }
    }

    fn close(self) -> Result<()> {
        match self {
            SubLog::Written(log) => log.close(),
            SubLog::Read(_) => Ok(()),
        }
    }
}

impl std::ops::Deref for SubLog {
    type Target = LogReader;

    fn deref(&self) -> &LogReader {
        match self {
            SubLog::Written(log) => log,
            SubLog::Read(log) => log,
        }
    }
}

/// A new root is created only in a missing or empty directory, or one holding exactly
/// sub-directories of these classes (left by a creation interrupted before the manifest).
fn prepare_new_root(root: &Path, classes: &[ClassEntry], fs: &dyn FileSystem) -> Result<()> {
    if root.exists() {
        let entries = std::fs::read_dir(root)
            .map_err(|e| Error::io(format!("listing {}", root.display()), e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let ours = name.to_str().is_some_and(|n| {
                classes.iter().any(|c| c.name == n) || n == format!("{CLASSES_FILE}.tmp")
            });
            if !ours {
                return Err(Error::NotALog {
                    path: root.to_path_buf(),
                    reason: format!(
                        "it is not empty (found {name:?}) and has no {CLASSES_FILE}: pass an \
                         empty or new directory"
                    ),
                });
            }
        }
        return Ok(());
    }
    fs.create_dir_all(root)
        .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
    let parent = root.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    fs.sync_dir(parent)
        .map_err(|e| Error::io(format!("syncing {}", parent.display()), e))
}

fn describe(classes: &[ClassEntry]) -> String {
    classes
        .iter()
        .map(|c| {
            let sev: Vec<&str> = RetentionClass::from_entry(c)
                .severities
                .iter()
                .map(|s| s.as_str())
                .collect();
            format!("{}: {}", c.name, sev.join("+"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex(id: &[u8; 16]) -> String {
    crate::meta::log_id_hex(id)
}

#[cfg(test)]
mod tests {
    use super::manifest::{ClassEntry, encode};

    #[test]
    fn the_default_classes_encode_as_docs_format_md_shows() {
        let entries: Vec<ClassEntry> = super::RetentionClass::defaults()
            .iter()
            .map(|c| c.entry())
            .collect();
        let bytes = encode(&entries);
        assert_eq!(bytes.len(), 174);
        let low = [
            0x03, 0x6c, 0x6f, 0x77, 0x03, 0x00, 0x8d, 0x27, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(&bytes[13..13 + low.len()], &low);
        assert_eq!(&bytes[..13], b"AUDITCLS\x01\x00\x00\x00\x04");
    }
}
