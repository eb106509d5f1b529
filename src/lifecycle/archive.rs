//! Archiving: move whole sealed segments, oldest first, out of the live directory into an
//! [`ArchiveDestination`] as self-contained bundles that an auditor can verify alone.
//!
//! A bundle is named `<log id hex>-<first_seq, 20 digits>` and holds the segment's files (hot
//! or cold segment and any index files), the dictionary a cold segment needs, and last a
//! `manifest.json` (docs/FORMAT.md §10) with the tree heads at both ends, the frontier at the
//! start and the BLAKE3 and size of every file. The manifest is written last, so a bundle
//! with a manifest is complete. Objects are written once and never renamed, so an object
//! store fits the same trait.

use super::LiveLog;
use super::cold;
use super::cuts::CutKind;
use super::prefix::{family_files, remove_prefix};
use super::retention::describe;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::fs::{FileSystem, StdFileSystem};
use crate::merkle::{Frontier, Hash, TreeHead, from_hex, to_hex};
use crate::segment::SegmentHeader;
use crate::segment::footer::SegmentFooter;
use crate::segment::name::parse_cold_segment_file_name;
use crate::segment::scan::{End, scan};
use crate::view::View;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Name of a bundle's manifest object.
pub const MANIFEST_NAME: &str = "manifest.json";

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

    /// The directory of bundle `bundle`, for [`check_bundle`].
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

/// A tree head in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadJson {
    /// Tree size.
    pub size: u64,
    /// Root, 64 hex digits.
    pub root: String,
}

impl From<TreeHead> for HeadJson {
    fn from(h: TreeHead) -> Self {
        HeadJson {
            size: h.size,
            root: to_hex(&h.root),
        }
    }
}

/// One file of a bundle in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileJson {
    /// Object name inside the bundle (a plain file name).
    pub name: String,
    /// `segment`, `index` (`.idx`), `hashes` (`.hashes` leaf-hash cache), `dictionary`, or
    /// `other` (any other file named after the segment). Only `segment` is acted on; bundles
    /// written before `hashes` existed list `.hashes` files as `index`, which is accepted.
    pub role: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3 of the content, 64 hex digits.
    pub blake3: String,
}

/// The manifest role of a file of the segment's family (FORMAT.md §10), from its name: the
/// derived files get roles of their own, so a reader of the manifest knows what each one is.
fn file_role(name: &str, is_segment: bool) -> &'static str {
    if is_segment {
        return "segment";
    }
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("idx") => "index",
        Some("hashes") => "hashes",
        _ => "other",
    }
}

/// A bundle's `manifest.json` (docs/FORMAT.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `auditlog-bundle`.
    pub format: String,
    /// Manifest version, 1.
    pub version: u32,
    /// The log's id, 32 hex digits.
    pub log_id: String,
    /// First sequence number in the bundle.
    pub first_seq: u64,
    /// One past the last.
    pub end_seq: u64,
    /// The tree head before the first record (size `first_seq`).
    pub start: HeadJson,
    /// The frontier of the tree of size `first_seq`, hex, left to right.
    pub start_frontier: Vec<String>,
    /// `recorded_at` of record `first_seq - 1` (ns; `i64::MIN` for none).
    pub prev_recorded_at: i64,
    /// The tree head after the last record.
    pub end: HeadJson,
    /// `recorded_at` of the first and last records (ns).
    pub first_recorded_at: i64,
    /// See `first_recorded_at`.
    pub last_recorded_at: i64,
    /// When the bundle was made (engine clock, ns).
    pub archived_at: i64,
    /// Every file of the bundle but the manifest.
    pub files: Vec<FileJson>,
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

/// The name of the bundle of segment `first_seq` of log `log_id`.
pub fn bundle_name(log_id: &[u8; 16], first_seq: u64) -> String {
    let hex: String = log_id.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{first_seq:020}")
}

pub(crate) fn archive(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    policy: &ArchivePolicy,
) -> Result<ArchiveReport> {
    let mut report = ArchiveReport::default();
    let now = live.clock.now().as_nanos();
    loop {
        if policy
            .max_segments
            .is_some_and(|m| report.bundles.len() >= m)
        {
            break;
        }
        let view = live.published.snapshot();
        if view.segments.len() < 2 {
            break;
        }
        let segment = view.segments[0].clone();
        let Some(footer) = segment.footer().cloned() else {
            break;
        };
        if policy
            .min_age
            .is_some_and(|age| !super::compact::is_older(footer.last_recorded_at, age, now))
        {
            break;
        }
        let bundle = bundle_name(&live.log_id, segment.first_seq());
        write_bundle(live, destination, &bundle, &segment.header, &footer, now)?;
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
        report.bundles.push(bundle);
    }
    Ok(report)
}

fn write_bundle(
    live: &LiveLog<'_>,
    destination: &dyn ArchiveDestination,
    bundle: &str,
    header: &SegmentHeader,
    footer: &SegmentFooter,
    now: i64,
) -> Result<()> {
    // The manifest is written last: if it exists, an earlier run (interrupted before its cut
    // was recorded) completed this bundle, and rewriting it would only change `archived_at`.
    let manifest_name = format!("{bundle}/{MANIFEST_NAME}");
    let complete = destination
        .exists(&manifest_name)
        .map_err(|e| Error::io(format!("looking for {manifest_name}"), e))?;
    if complete {
        return Ok(());
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
    let manifest = Manifest {
        format: "auditlog-bundle".into(),
        version: 1,
        log_id: live.log_id.iter().map(|b| format!("{b:02x}")).collect(),
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

/// What [`check_bundle`] proved about a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundleSummary {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// The tree head before its first record.
    pub start: TreeHead,
    /// The tree head after its last record, recomputed from the records.
    pub end: TreeHead,
}

fn bundle_error(dir: &Path, why: impl Into<String>) -> Corruption {
    Corruption {
        file: dir.join(MANIFEST_NAME),
        offset: 0,
        seq: None,
        kind: CorruptionKind::BadManifest(why.into()),
    }
}

fn head_from_json(dir: &Path, h: &HeadJson) -> Result<TreeHead, Corruption> {
    let root: Hash = from_hex(&h.root)
        .ok_or_else(|| bundle_error(dir, "a tree head root is not 64 hex digits"))?;
    Ok(TreeHead { size: h.size, root })
}

/// Checks a bundle directory alone: the manifest; every file's size and BLAKE3; the segment
/// completely (every record's CRC and order, the Merkle root recomputed from the header's
/// frontier); and that the segment's identity, start frontier and both tree heads equal the
/// manifest's.
pub fn check_bundle(dir: &Path) -> Result<BundleSummary, Corruption> {
    let text = std::fs::read(dir.join(MANIFEST_NAME))
        .map_err(|e| bundle_error(dir, format!("no readable manifest: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bundle_error(dir, format!("manifest is not valid JSON: {e}")))?;
    if manifest.format != "auditlog-bundle" || manifest.version != 1 {
        return Err(bundle_error(dir, "unknown manifest format or version"));
    }
    let mut segment = None;
    for f in &manifest.files {
        if f.name.contains('/') || f.name.starts_with('.') {
            return Err(bundle_error(dir, format!("bad file name {:?}", f.name)));
        }
        let path = dir.join(&f.name);
        let bytes = std::fs::read(&path)
            .map_err(|e| bundle_error(dir, format!("{} is unreadable: {e}", f.name)))?;
        if bytes.len() as u64 != f.size || blake3::hash(&bytes).to_hex().as_str() != f.blake3 {
            return Err(Corruption {
                file: path,
                offset: 0,
                seq: None,
                kind: CorruptionKind::DigestMismatch,
            });
        }
        if f.role == "segment" {
            segment = Some((path, bytes));
        }
    }
    let (path, bytes) =
        segment.ok_or_else(|| bundle_error(dir, "the manifest lists no segment"))?;
    let (header, footer) = if parse_cold_segment_file_name(
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default(),
    )
    .is_some()
    {
        // A bundle reports every failure as damage of the bundle (its files were read above).
        let s = cold::check(&path).map_err(|e| match e {
            Error::Corrupt(c) => *c,
            e => bundle_error(dir, e.to_string()),
        })?;
        (s.header, s.footer)
    } else {
        let outcome = scan(&path, &bytes, &mut |_, _| {})?;
        match outcome.end {
            End::Footer(f) => (outcome.header, f),
            _ => {
                return Err(Corruption {
                    file: path,
                    offset: outcome.records_end,
                    seq: None,
                    kind: CorruptionKind::UnsealedSegment,
                });
            }
        }
    };
    let start = head_from_json(dir, &manifest.start)?;
    let end = head_from_json(dir, &manifest.end)?;
    let frontier: Option<Vec<Hash>> = manifest
        .start_frontier
        .iter()
        .map(|h| from_hex(h))
        .collect();
    let frontier = frontier
        .and_then(|nodes| Frontier::from_parts(manifest.first_seq, nodes))
        .ok_or_else(|| bundle_error(dir, "start_frontier is malformed"))?;
    let log_id: String = header.log_id.iter().map(|b| format!("{b:02x}")).collect();
    let agrees = log_id == manifest.log_id
        && header.first_seq == manifest.first_seq
        && header.frontier == frontier
        && header.frontier.tree_head() == start
        && header.prev_recorded_at == manifest.prev_recorded_at
        && footer.tree_head == end
        && end.size == manifest.end_seq
        && footer.first_recorded_at == manifest.first_recorded_at
        && footer.last_recorded_at == manifest.last_recorded_at;
    if !agrees {
        return Err(bundle_error(dir, "the segment does not match the manifest"));
    }
    Ok(BundleSummary {
        manifest,
        start,
        end,
    })
}

/// Checks the live log `log_id` in `dir`, whose committed state is `view`, together with
/// bundles archived from it (see
/// [`LogReader::check_with_bundles`](crate::LogReader::check_with_bundles)).
pub(crate) fn check_with_bundles(
    dir: &Path,
    log_id: &[u8; 16],
    view: &View,
    bundle_dirs: &[PathBuf],
) -> Result<Vec<BundleSummary>, Corruption> {
    let mut summaries = bundle_dirs
        .iter()
        .map(|d| check_bundle(d))
        .collect::<Result<Vec<_>, _>>()?;
    summaries.sort_by_key(|s| s.start.size);
    let first = view
        .segments
        .first()
        .map(|s| (s.header.frontier.tree_head(), s.path.clone()));
    let cut_log = super::cuts::read(dir, log_id)
        .map_err(|e| bundle_error(dir, format!("unreadable cut log: {e}")))?;
    for pair in summaries.windows(2) {
        if pair[1].start != pair[0].end
            && !retention_bridges(&cut_log.cuts, pair[0].end, pair[1].start)
        {
            return Err(bundle_error(
                &bundle_dir_of(bundle_dirs, &pair[1]),
                format!(
                    "bundle does not continue the previous one ({})",
                    pair[0].end
                ),
            ));
        }
    }
    let log_id: String = log_id.iter().map(|b| format!("{b:02x}")).collect();
    for s in &summaries {
        if s.manifest.log_id != log_id {
            return Err(bundle_error(
                &bundle_dir_of(bundle_dirs, s),
                "bundle of another log",
            ));
        }
    }
    for cut in &cut_log.cuts {
        let archived = cut.kind == CutKind::Archive;
        if archived && !summaries.iter().any(|s| s.end == cut.tree_head()) {
            return Err(Corruption {
                file: dir.join(super::cuts::CUTS_FILE),
                offset: 0,
                seq: Some(cut.cut_seq),
                kind: CorruptionKind::MissingSegment {
                    first_seq: cut.removed_from,
                },
            });
        }
    }
    // A bundle of the live log's first segment itself is the leftover of an archive run
    // that a crash interrupted before its cut was recorded (the next run reuses it): a
    // copy, not a fork, when it ends where that segment ends.
    let copy_of_first = |start: TreeHead| {
        let first_end = view
            .segments
            .first()
            .and_then(|s| s.footer())
            .map(|f| f.tree_head);
        summaries
            .iter()
            .any(|s| s.start == start && Some(s.end) == first_end)
    };
    if let (Some(last), Some((start, path))) = (summaries.last(), first)
        && last.end.size >= start.size
        && !summaries.iter().any(|s| s.end == start)
        && !copy_of_first(start)
    {
        return Err(Corruption {
            file: path,
            offset: 0,
            seq: Some(start.size),
            kind: CorruptionKind::ChainBroken(
                "the live log does not continue the archived bundles".into(),
            ),
        });
    }
    Ok(summaries)
}

/// Whether retention cuts recorded one after another remove the records between two bundles,
/// from at or before the `end` of one to the `start` of the next: records deleted between two
/// archive runs, or the segment of a bundle that an interrupted archive run left behind and
/// retention deleted later.
fn retention_bridges(cuts: &[super::cuts::Cut], end: TreeHead, start: TreeHead) -> bool {
    let mut from = None;
    for cut in cuts.iter().skip_while(|c| c.cut_seq <= end.size) {
        let contiguous = from.map_or(cut.removed_from <= end.size, |f| cut.removed_from == f);
        if cut.kind != CutKind::Retention || !contiguous {
            return false;
        }
        if cut.tree_head() == start {
            return true;
        }
        from = Some(cut.cut_seq);
    }
    false
}

fn bundle_dir_of(dirs: &[PathBuf], s: &BundleSummary) -> PathBuf {
    dirs.iter()
        .find(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&format!("{:020}", s.start.size)))
        })
        .cloned()
        .unwrap_or_default()
}
