//! Archiving: move whole sealed segments, oldest first, out of the live directory into an
//! [`ArchiveDestination`] as self-contained bundles that an auditor can verify alone.
//!
//! A bundle is named `<log id hex>-<first_seq, 20 digits>` and holds the segment's files (hot
//! or cold segment and any index files), the dictionary a cold segment needs, and last a
//! `manifest.json` (docs/FORMAT.md §10) with the tree heads at both ends, the frontier at the
//! start and the BLAKE3 and size of every file. The manifest is written last, so a bundle
//! with a manifest is complete. Objects are written once and never renamed, so an object
//! store fits the same trait (`auditlog-objstore` implements it for S3). Every object of the
//! bundle is read back and checked against the manifest before the segment leaves the live
//! log.

use super::LiveLog;
use super::cold;
use super::cuts::CutKind;
use super::prefix::{family_files, remove_prefix};
use super::retention::describe;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::fs::{FileSystem, StdFileSystem};
use crate::merkle::to_hex;
use crate::segment::SegmentHeader;
use crate::segment::footer::SegmentFooter;
use crate::segment::name::parse_cold_segment_file_name;
use crate::view::View;
use auditlog_format::bundle::file_role;
pub use auditlog_format::bundle::{FileJson, HeadJson, MANIFEST_NAME, Manifest, bundle_name};
use auditlog_verify::bundle::{BundleSummary, FirstSegment};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where archived bundles go: write-once objects addressed by name (`bundle/file`).
///
/// Implementations must make `put` durable before returning and must not expose a partly
/// written object under its name. No rename or overwrite is assumed, so an object store
/// (put-if-absent) fits.
pub trait ArchiveDestination: Send + Sync + fmt::Debug {
    /// A human-readable location, recorded in the cut log (`archived to <this> as <bundle>`).
    fn describe(&self) -> String;
    /// Stores `bytes` under `name` durably. Storing equal bytes under an existing name
    /// succeeds; different bytes fail.
    fn put(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// Whether an object exists.
    fn exists(&self, name: &str) -> io::Result<bool>;
    /// Reads an object back whole. Archiving reads every object of a bundle back and checks
    /// it against the manifest before it removes the segment from the live log.
    fn get(&self, name: &str) -> io::Result<Vec<u8>>;
    /// How many bundles archiving uploads at once (their objects but the manifests from as
    /// many threads; manifests still one by one, in order). Default 1: one bundle after
    /// another. An object store, where one request rarely fills the link, says more.
    fn parallel_bundles(&self) -> usize {
        1
    }
    /// Whether bundles must hold cold segments (docs/FORMAT.md §10.1: an object store, where a
    /// reader fetches one zstd frame by a range read). Archiving then first compacts each
    /// segment it is about to move and writes its leaf-hash file (§11), so that proofs of
    /// archived records need range reads only: the one step, compact then archive, that
    /// `auditlog archive --to s3://` and the maintenance schedule both run. Default `false`:
    /// a segment goes as it is.
    fn wants_cold(&self) -> bool {
        false
    }
    /// Called before any object of the log's bundle that starts at `first_seq` when that
    /// bundle continues a prefix removed from the live log (`first_seq > 0`), with the live
    /// cut log (docs/FORMAT.md §9 bytes) up to and including the cut at `first_seq` that
    /// explains the removal. A destination that verifies without the live log (an object
    /// store) keeps a copy if it has none yet; the default does nothing (a local archive is
    /// checked together with its live log).
    fn record_start(&self, log_id: &[u8; 16], first_seq: u64, cut_log: &[u8]) -> io::Result<()> {
        let _ = (log_id, first_seq, cut_log);
        Ok(())
    }
}

/// An archive destination in a local directory: each object is a file written to a temp
/// name, fdatasync'ed, renamed into place, and its directory fsync'ed.
#[derive(Debug, Clone)]
pub struct LocalDirDestination {
    root: PathBuf,
    fs: Arc<dyn FileSystem>,
}

impl LocalDirDestination {
    /// A destination rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_file_system(root, Arc::new(StdFileSystem))
    }

    /// The same, writing through `fs` (tests inject crashes here).
    pub fn with_file_system(root: impl Into<PathBuf>, fs: Arc<dyn FileSystem>) -> Self {
        LocalDirDestination {
            root: root.into(),
            fs,
        }
    }

    /// The directory of bundle `bundle`, for [`check_bundle`](auditlog_verify::check_bundle).
    pub fn bundle_dir(&self, bundle: &str) -> PathBuf {
        self.root.join(bundle)
    }
}

impl ArchiveDestination for LocalDirDestination {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn put(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.root.join(name);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        if let Ok(existing) = std::fs::read(&path) {
            return if existing == bytes {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists with different content", path.display()),
                ))
            };
        }
        create_dir_durably(self.fs.as_ref(), &dir)?;
        crate::fs::write_file_durably(self.fs.as_ref(), &path, bytes)
    }

    fn exists(&self, name: &str) -> io::Result<bool> {
        Ok(self.root.join(name).exists())
    }

    fn get(&self, name: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.root.join(name))
    }
}

/// Creates `dir` and any missing parents so that their names are durable: a new directory's
/// entry only survives a power loss once its parent is fsynced (fsync(2)), and without it a
/// crash could take a bundle (or the whole archive) whose cut was already recorded, leaving
/// archived records nowhere. The parent of `dir` is synced even when `dir` exists, since an
/// earlier run may have created it and crashed before syncing.
fn create_dir_durably(fs: &dyn FileSystem, dir: &Path) -> io::Result<()> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .skip(1)
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .map(Path::to_path_buf)
        .collect();
    fs.create_dir_all(dir)?;
    // Outermost first; a relative path's top directory lives in ".".
    for created in missing
        .iter()
        .rev()
        .chain(std::iter::once(&dir.to_path_buf()))
    {
        let parent = created.parent().filter(|p| !p.as_os_str().is_empty());
        fs.sync_dir(parent.unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// Which segments [`AuditLog::archive`](crate::AuditLog::archive) moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchivePolicy {
    /// Only segments whose newest record is at least this old (engine clock). Default: any.
    pub min_age: Option<Duration>,
    /// At most this many segments per run, oldest first. Default: every eligible one.
    pub max_segments: Option<usize>,
}

/// What [`AuditLog::archive`](crate::AuditLog::archive) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveReport {
    /// Bundle names written, oldest first.
    pub bundles: Vec<String>,
    /// Bytes removed from the live directory.
    pub reclaimed_bytes: u64,
}

pub(crate) fn archive(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    policy: &ArchivePolicy,
) -> Result<ArchiveReport> {
    let mut report = ArchiveReport::default();
    let now = live.clock.now().as_nanos();
    let parallel = destination.parallel_bundles().max(1);
    let wants_cold = destination.wants_cold();
    if wants_cold {
        prepare_cold(live, policy)?;
    }
    loop {
        let left = policy
            .max_segments
            .map_or(usize::MAX, |m| m.saturating_sub(report.bundles.len()));
        // The next segments to go, oldest first: sealed, old enough, never the newest.
        let view = live.published.snapshot();
        let candidates = view.segments.len().saturating_sub(1);
        let batch: Vec<(SegmentHeader, SegmentFooter)> = view.segments[..candidates]
            .iter()
            .map_while(|segment| {
                let footer = segment.footer()?;
                // Only what `prepare_cold` prepared: a segment sealed since waits for the
                // next run rather than going up hot.
                if wants_cold && !segment.is_cold() {
                    return None;
                }
                let young = policy.min_age.is_some_and(|age| {
                    !super::compact::is_older(footer.last_recorded_at, age, now)
                });
                (!young).then(|| (segment.header.clone(), footer.clone()))
            })
            .take(left.min(parallel))
            .collect();
        if batch.is_empty() {
            break;
        }
        let names: Vec<String> = batch
            .iter()
            .map(|(h, _)| bundle_name(&live.log_id, h.first_seq))
            .collect();
        if let Some((first, _)) = batch.first()
            && first.first_seq > 0
            && report.bundles.is_empty()
        {
            record_start(live, destination, first.first_seq)?;
        }
        // Every object but the manifests, of all bundles of the batch at once. Then the
        // manifests one by one in order, so that a failure leaves complete bundles only
        // below it (above it, objects without a manifest: an interrupted upload, which the
        // next run completes). Then every bundle read back and checked, at once; then the
        // cuts, in order, each only after its bundle checked.
        let uploaded = in_parallel(&batch, |(header, _), i| {
            upload_files(live, destination, &names[i], header)
        });
        let mut complete = 0;
        let mut failure = None;
        for (i, files) in uploaded.into_iter().enumerate() {
            let (header, footer) = &batch[i];
            let done = files.and_then(|files| match files {
                None => Ok(()),
                Some(files) => {
                    put_manifest(live, destination, &names[i], header, footer, files, now)
                }
            });
            match done {
                Ok(()) => complete += 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let confirmed = in_parallel(&batch[..complete], |(_, footer), i| {
            confirm_bundle(destination, &names[i], footer)
        });
        for (i, checked) in confirmed.into_iter().enumerate() {
            if let Err(e) = checked {
                failure = Some(e);
                break;
            }
            let bundle = &names[i];
            let note = match policy.min_age {
                Some(age) => format!(
                    "archived to {} as {bundle} (older than {})",
                    destination.describe(),
                    describe(age)
                ),
                None => format!("archived to {} as {bundle}", destination.describe()),
            };
            let (_, reclaimed) = remove_prefix(live, CutKind::Archive, 1, note)?;
            report.reclaimed_bytes += reclaimed;
            report.bundles.push(bundle.clone());
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(report)
}

/// The first half of archiving to a destination that wants cold segments: compacts the
/// sealed segments archiving is about to move (the oldest, old enough, at most
/// `max_segments`) and writes each one's leaf-hash file. Both are derived from the segment
/// and checked against it (the cold file decodes to the hot one; the leaves reproduce the
/// footer's root), and both are written durably through the engine's file system.
fn prepare_cold(live: &LiveLog<'_>, policy: &ArchivePolicy) -> Result<()> {
    let options = super::compact::CompactOptions {
        min_age: policy.min_age,
        ..Default::default()
    };
    super::compact::compact_oldest(live, &options, policy.max_segments)?;
    let view = live.published.snapshot();
    let sealed = view.segments.len().saturating_sub(1);
    let now = live.clock.now().as_nanos();
    let chosen = view.segments[..sealed]
        .iter()
        .take_while(|s| {
            s.footer().is_some_and(|f| {
                policy
                    .min_age
                    .is_none_or(|age| super::compact::is_older(f.last_recorded_at, age, now))
            })
        })
        .take(policy.max_segments.unwrap_or(usize::MAX));
    for segment in chosen {
        crate::proof::write_leaf_cache(live.fs, &view, segment.first_seq())?;
    }
    Ok(())
}

/// Gives `destination` the live cut log up to the cut at `first_seq` (see
/// [`ArchiveDestination::record_start`]). The live log's first segment starts at that cut
/// (§9, "Acceptance"), so a cut log without it is damage, reported rather than archived past.
fn record_start(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    first_seq: u64,
) -> Result<()> {
    let path = super::cuts::cuts_path(live.dir);
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let log = super::cuts::decode(&bytes, &live.log_id)
        .map_err(|kind| Error::corrupt(&path, 0, None, kind))?;
    let at = log.cuts.iter().position(|c| c.cut_seq == first_seq);
    let end = at.map(|i| log.offsets.get(i + 1).copied().unwrap_or(log.valid_len));
    let Some(end) = end else {
        return Err(Error::corrupt(
            &path,
            0,
            Some(first_seq),
            CorruptionKind::BadCut(format!(
                "the log starts at record {first_seq} but no cut there explains the removal"
            )),
        ));
    };
    destination
        .record_start(&live.log_id, first_seq, &bytes[..end as usize])
        .map_err(|e| {
            Error::io(
                format!("copying the cut log to {}", destination.describe()),
                e,
            )
        })
}

/// `f` on each of `items` (with its index), one thread each when there are several; the
/// results in order.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T, usize) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().enumerate().map(|(i, t)| f(t, i)).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, t)| scope.spawn(move || f(t, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Puts every file of the segment `header` starts (and the dictionary it needs) into bundle
/// `bundle`, and returns what the manifest lists of them; `None` when the bundle already has
/// its manifest.
fn upload_files(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    bundle: &str,
    header: &SegmentHeader,
) -> Result<Option<Vec<FileJson>>> {
    // The manifest is written last: if it exists, an earlier run (interrupted before its cut
    // was recorded) completed this bundle, and rewriting it would only change `archived_at`.
    let manifest_name = format!("{bundle}/{MANIFEST_NAME}");
    let complete = destination
        .exists(&manifest_name)
        .map_err(|e| Error::io(format!("looking for {manifest_name}"), e))?;
    if complete {
        return Ok(None);
    }
    let mut files = Vec::new();
    let put = |name: &str, role: &str, bytes: &[u8], files: &mut Vec<FileJson>| -> Result<()> {
        destination
            .put(&format!("{bundle}/{name}"), bytes)
            .map_err(|e| Error::io(format!("archiving {name} to {}", destination.describe()), e))?;
        files.push(FileJson {
            name: name.to_string(),
            role: role.to_string(),
            size: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
        });
        Ok(())
    };
    for path in family_files(live.dir, header.first_seq)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let is_segment = crate::segment::name::parse_segment_file_name(&name).is_some();
        let is_cold = parse_cold_segment_file_name(&name).is_some();
        put(
            &name,
            file_role(&name, is_segment || is_cold),
            &bytes,
            &mut files,
        )?;
        if is_cold {
            let prefix = cold::format::ColdPrefix::decode(&bytes).map_err(|why| {
                Error::corrupt(&path, 0, None, CorruptionKind::BadColdSegment(why))
            })?;
            if prefix.dict_id != 0 {
                let dict_name = super::dictionary::dictionary_file_name(prefix.dict_id);
                let dict_path = live.dir.join(&dict_name);
                let dict = std::fs::read(&dict_path)
                    .map_err(|e| Error::io(format!("reading {}", dict_path.display()), e))?;
                put(&dict_name, "dictionary", &dict, &mut files)?;
            }
        }
    }
    Ok(Some(files))
}

/// Puts the manifest of bundle `bundle`, listing `files`: the bundle is then complete.
fn put_manifest(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    bundle: &str,
    header: &SegmentHeader,
    footer: &SegmentFooter,
    files: Vec<FileJson>,
    now: i64,
) -> Result<()> {
    let manifest_name = format!("{bundle}/{MANIFEST_NAME}");
    let manifest = Manifest {
        format: "auditlog-bundle".into(),
        version: 1,
        log_id: crate::meta::log_id_hex(&live.log_id),
        first_seq: header.first_seq,
        end_seq: footer.tree_head.size,
        start: header.frontier.tree_head().into(),
        start_frontier: header.frontier.nodes().iter().map(to_hex).collect(),
        prev_recorded_at: header.prev_recorded_at,
        end: footer.tree_head.into(),
        first_recorded_at: footer.first_recorded_at,
        last_recorded_at: footer.last_recorded_at,
        archived_at: now,
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::io("encoding a bundle manifest", io::Error::other(e)))?;
    destination
        .put(&manifest_name, &json)
        .map_err(|e| Error::io(format!("archiving the manifest of {bundle}"), e))
}

/// Reads bundle `bundle` back from `destination` and checks it before its segment leaves the
/// live log: the manifest describes the segment (its first record and the tree head at its
/// end), and every file it lists reads back with the size and BLAKE3 the manifest gives,
/// which are those of the local files (or, for a bundle an interrupted run completed, of
/// files checked the same way then).
fn confirm_bundle(
    destination: &dyn ArchiveDestination,
    bundle: &str,
    footer: &SegmentFooter,
) -> Result<()> {
    let where_ = destination.describe();
    let read = |name: &str| {
        destination
            .get(&format!("{bundle}/{name}"))
            .map_err(|e| Error::io(format!("reading {bundle}/{name} back from {where_}"), e))
    };
    let differs = |what: String| {
        Error::io(
            format!("checking {bundle} in {where_}"),
            io::Error::new(io::ErrorKind::InvalidData, what),
        )
    };
    let manifest: Manifest = serde_json::from_slice(&read(MANIFEST_NAME)?)
        .map_err(|e| differs(format!("its manifest reads back as invalid JSON: {e}")))?;
    if manifest.end_seq != footer.tree_head.size || manifest.end != HeadJson::from(footer.tree_head)
    {
        return Err(differs(
            "its manifest reads back with another tree head than the segment's".into(),
        ));
    }
    for f in &manifest.files {
        let bytes = read(&f.name)?;
        if bytes.len() as u64 != f.size || blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            return Err(differs(format!(
                "{} reads back with another size or BLAKE3 than the manifest's",
                f.name
            )));
        }
    }
    Ok(())
}

/// Checks the live log `log_id` in `dir`, whose committed state is `view`, together with
/// bundles archived from it ([`auditlog_verify::check_with_bundles`]; see
/// [`LogReader::check_with_bundles`](crate::LogReader::check_with_bundles)).
pub(crate) fn check_with_bundles(
    dir: &Path,
    log_id: &[u8; 16],
    view: &View,
    bundle_dirs: &[PathBuf],
) -> std::result::Result<Vec<BundleSummary>, Corruption> {
    let first_segment = view.segments.first().map(|s| FirstSegment {
        path: s.path.clone(),
        start: s.header.frontier.tree_head(),
        end: s.footer().map(|f| f.tree_head),
    });
    let live = auditlog_verify::bundle::LiveLog {
        dir,
        log_id: *log_id,
        first_segment,
    };
    auditlog_verify::check_with_bundles(&live, bundle_dirs)
}
