//! Opening a log directory: find the segments, check the chain, repair only a torn tail.
//!
//! Rules (docs/DESIGN.md explains why each is safe):
//! - leftover `*.tmp` files are unfinished creations and are removed;
//! - every segment but the newest must be sealed, and each segment's starting tree head must
//!   equal the previous segment's final one, with no sequence numbers missing;
//! - the newest segment is scanned record by record. If it ends in invalid bytes that nothing
//!   proves durable (no valid footer ends the file, no later valid frame's `durable_size`
//!   covers them: segment/verdict.rs, FORMAT.md §5.3), they are a torn tail: they are cut off
//!   and the cut is reported. Anything else is corruption and fails the open (read-write) or
//!   is reported and the readable prefix kept (read-only).

pub(crate) mod settle;

use crate::error::{Corruption, CorruptionKind, Error, HeaderFault, Result};
use crate::merkle::{Frontier, TreeHead};
use crate::meta::LogMeta;
use crate::options::{Access, OpenCheck, Options};
use crate::record::{FrameCrc, RawRecord, salt};
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::{MAX_HEADER_LEN, SegmentHeader, check_version};
use crate::segment::name::{TMP_SUFFIX, parse_cold_segment_file_name, parse_segment_file_name};
use crate::segment::scan::{Leaves, ScanOutcome, Tree, scan};
use crate::segment::verdict::Verdict;
use crate::segment::{ActorCandidates, CandidateNoter, Segment, live};
use crate::sys::ReadMap;
use auditlog_format::cuts::{self, Cut};
use auditlog_verify::chain::{check_chain, scanned_sound};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What `open()` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// Whether the directory was empty and a new log was created.
    pub created: bool,
    /// Number of segment files.
    pub segments: usize,
    /// The first sequence number held (0 unless older segments were removed by retention).
    pub first_seq: u64,
    /// The tree head after the last record; `None` where a read-only open left the active
    /// segment's root to be computed when asked ([`LogReader::tree_head`]).
    ///
    /// [`LogReader::tree_head`]: crate::LogReader::tree_head
    pub tree_head: Option<TreeHead>,
    /// One past the last record's sequence number (the tree head's size).
    pub end_seq: u64,
    /// A torn tail that was cut from the active segment, if any.
    pub truncated: Option<TruncatedTail>,
    /// Unfinished temporary files that were removed.
    pub removed_temp_files: Vec<PathBuf>,
    /// Damage found by a read-only open, which keeps the readable prefix instead of failing.
    pub problems: Vec<Corruption>,
    /// Prefixes of the log removed by retention or archiving, oldest first, from the cut log
    /// ("records 0..N removed by retention on DATE").
    pub removed: Vec<Cut>,
    /// Files an interrupted compaction or removal left behind, removed by this open.
    pub finished_lifecycle_files: Vec<PathBuf>,
    /// A torn append cut from the key store `privacy.keys`, if any (a writable open of a
    /// log with a privacy policy).
    pub key_store_cut: Option<crate::privacy::KeyStoreCut>,
}

/// A torn tail cut from the active segment during recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    /// The segment file.
    pub file: PathBuf,
    /// Offset the file was cut at (the end of the last valid record).
    pub offset: u64,
    /// Bytes that were removed (up to the end of written data or preallocation).
    pub bytes_removed: u64,
    /// The first sequence number that was not recovered.
    pub seq: u64,
    /// Valid-looking records found after the damage, dropped because they were never durable.
    pub unsynced_records_dropped: u64,
    /// What was found at `offset`.
    pub reason: CorruptionKind,
}

/// The state recovery hands to the log handle.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub sealed: Vec<Segment>,
    /// The newest segment if it is not sealed: its handle and scan.
    pub active: Option<(Segment, ScanOutcome<Tree>)>,
    /// Merkle state after the last record (counted, not hashed, where the newest segment's
    /// scan only counted its leaves).
    pub frontier: Tree,
    pub last_recorded_at: i64,
    pub report: OpenReport,
}

/// Segment files (first sequence number and path, sorted) and leftover temporary files.
type Listing = (Vec<(u64, PathBuf)>, Vec<PathBuf>);

fn list_dir(dir: &Path) -> Result<Listing> {
    let mut segments = Vec::new();
    let mut temps = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first_seq) =
            parse_segment_file_name(name).or_else(|| parse_cold_segment_file_name(name))
        {
            segments.push((first_seq, entry.path()));
        } else if name.ends_with(TMP_SUFFIX) {
            temps.push(entry.path());
        }
    }
    segments.sort();
    Ok((segments, temps))
}

fn read_head_and_tail(path: &Path) -> Result<(Vec<u8>, Vec<u8>, u64)> {
    let io = |e| Error::io(format!("reading {}", path.display()), e);
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut head = vec![0u8; MAX_HEADER_LEN.min(len as usize)];
    file.read_exact_at(&mut head, 0).map_err(io)?;
    let tail_len = FOOTER_LEN.min(len as usize);
    let mut tail = vec![0u8; tail_len];
    file.read_exact_at(&mut tail, len - tail_len as u64)
        .map_err(io)?;
    Ok((head, tail, len))
}

/// Checks a sealed segment's header and footer (not its records) and returns its handle.
/// `Err(Error::Corrupt)` is damage; any other error (the file cannot be read, or is of
/// another format version) is not, and fails the open even read-only.
fn open_sealed(path: &Path, first_seq: u64, meta: &LogMeta) -> Result<Segment> {
    let (head, tail, len) = read_head_and_tail(path)?;
    check_version(path, &head)?;
    open_sealed_parts(path, first_seq, meta, (&head, &tail, len)).map_err(Error::from)
}

fn open_sealed_parts(
    path: &Path,
    first_seq: u64,
    meta: &LogMeta,
    (head, tail, len): (&[u8], &[u8], u64),
) -> Result<Segment, Corruption> {
    let corrupt = |offset, kind| Corruption {
        file: path.to_path_buf(),
        offset,
        seq: None,
        kind,
    };
    let header = SegmentHeader::decode(head).map_err(|e| corrupt(e.offset(), e.into_kind()))?;
    check_identity(&header, first_seq, meta).map_err(|k| corrupt(0, k))?;
    let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
    let footer_at = len.saturating_sub(FOOTER_LEN as u64);
    let footer = SegmentFooter::decode(tail, &crc).map_err(|why| {
        let kind = if tail.first() == Some(&0xFF) {
            CorruptionKind::BadFooter(why)
        } else {
            CorruptionKind::UnsealedSegment
        };
        corrupt(footer_at, kind)
    })?;
    if footer.first_seq != header.first_seq || footer.records_end != footer_at {
        return Err(corrupt(
            footer_at,
            CorruptionKind::BadFooter("footer does not match the file".into()),
        ));
    }
    Ok(Segment::sealed(path.to_path_buf(), header, footer))
}

fn check_identity(
    header: &SegmentHeader,
    first_seq: u64,
    meta: &LogMeta,
) -> Result<(), CorruptionKind> {
    if header.log_id != meta.log_id {
        return Err(CorruptionKind::ForeignLog);
    }
    if header.first_seq != first_seq {
        return Err(CorruptionKind::BadHeader(HeaderFault::FirstSeqMismatch {
            header: header.first_seq,
            name: first_seq,
        }));
    }
    Ok(())
}

/// Scans a whole segment. As for [`open_sealed`], only `Err(Error::Corrupt)` is damage.
/// `beside_writer`: a writer in another process may be appending to this segment or sealing
/// it, so read it rather than map it whole (a chunk at a time, or copied where the chunks
/// cannot decide: segment/live.rs), and read it again before believing damage.
///
/// The leaves of a segment read beside a writer are only counted ([`Tree::Counted`]): that is
/// the newest segment of a read-only open, whose root is computed when something asks for it
/// (`view::Head`).
///
/// Beside a writer, the scan also notes the records of `actor` (the one the handle's first
/// query names, if its opener said) while it has their bytes in hand (segment/candidates.rs).
fn scan_file(
    path: &Path,
    name_seq: u64,
    beside_writer: bool,
    actor: Option<&str>,
) -> Result<Scanned> {
    let io = |e| Error::io(format!("reading {}", path.display()), e);
    if beside_writer {
        let mut noter = actor.map(|a| CandidateNoter::new(a, name_seq));
        let read = || -> Result<ScanOutcome<Tree>> {
            let chunked = live::scan_chunked_counted(path, &mut noting(&mut noter))?;
            match chunked {
                live::Chunked::Scanned(scanned) => Ok(scanned?),
                live::Chunked::NeedsCopy => {
                    let bytes = live::copy_from(path, 0).map_err(io)?;
                    let note = &mut noting(&mut noter);
                    Ok(scan(path, &bytes, note)?.map_leaves(Tree::Hashed))
                }
            }
        };
        let outcome = live::settled(read, |scanned| !scanned_sound(scanned))?;
        // Numbered from the file name, which `check_identity` holds the header to (the open
        // fails otherwise, notes and all).
        let candidates = noter.and_then(|n| n.finish(outcome.end_seq()));
        return Ok((outcome, candidates));
    }
    let map = File::open(path)
        .and_then(|f| ReadMap::new(&f))
        .map_err(io)?;
    check_version(path, &map)?;
    Ok((
        scan(path, &map, &mut |_, _| {})?.map_leaves(Tree::Hashed),
        None,
    ))
}

/// What a scan hands each valid record to: `noter`, if there is one, made to forget what an
/// earlier scan noted first (every read of a live segment, and the copy one may ask for, scans
/// from the first record).
fn noting(noter: &mut Option<CandidateNoter>) -> impl FnMut(u64, &RawRecord<'_>) + '_ {
    if let Some(noter) = noter.as_mut() {
        noter.restart();
    }
    move |offset, record| {
        if let Some(noter) = noter.as_mut() {
            noter.note(offset, record);
        }
    }
}

/// A scanned segment, with the records of one actor its scan noted, if it noted any.
type Scanned = (ScanOutcome<Tree>, Option<ActorCandidates>);

/// Opens (and for a writer, repairs the torn tail of) the log in `dir`.
pub(crate) fn recover(
    dir: &Path,
    meta: LogMeta,
    options: &Options,
    access: Access,
) -> Result<Recovered> {
    let read_only = access == Access::ReadOnly;
    let (listed, temps) = list_dir(dir)?;
    let mut report = OpenReport {
        created: false,
        segments: listed.len(),
        first_seq: 0,
        tree_head: Some(TreeHead::empty()),
        end_seq: 0,
        truncated: None,
        removed_temp_files: Vec::new(),
        problems: Vec::new(),
        removed: Vec::new(),
        finished_lifecycle_files: Vec::new(),
        key_store_cut: None,
    };
    if !read_only {
        for tmp in temps {
            options
                .fs
                .remove_file(&tmp)
                .map_err(|e| Error::io(format!("removing unfinished {}", tmp.display()), e))?;
            report.removed_temp_files.push(tmp);
        }
        if !report.removed_temp_files.is_empty() {
            options
                .fs
                .sync_dir(dir)
                .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))?;
        }
    }
    let cut_log = cuts::read(dir, &meta.log_id)?;
    let (listed, finished) = settle::settle(dir, listed, &cut_log, &meta.log_id, options, access)?;
    report.segments = listed.len();
    report.finished_lifecycle_files = finished;
    report.removed = cut_log.cuts.clone();
    // Fail (read-write) or record the problem and stop at the readable prefix (read-only).
    let mut problem = |c: Corruption| -> Result<()> {
        if read_only {
            report.problems.push(c);
            Ok(())
        } else {
            Err(Error::Corrupt(Box::new(c)))
        }
    };

    let mut sealed: Vec<Segment> = Vec::new();
    let mut active = None;
    // The tree head and last recorded_at where the previous segment ended.
    let mut prev_end: Option<(TreeHead, i64)> = None;
    let mut frontier = Tree::Hashed(Frontier::new());
    let mut last_recorded_at = i64::MIN;
    let first_seq = listed.first().map_or(0, |(s, _)| *s);
    if let (None, Some(cut)) = (listed.first(), cut_log.latest()) {
        // Every segment is gone, yet records were cut before: never restart the tree at 0.
        problem(Corruption {
            file: dir.to_path_buf(),
            offset: 0,
            seq: Some(cut.cut_seq),
            kind: CorruptionKind::MissingSegment {
                first_seq: cut.cut_seq,
            },
        })?;
    }
    let count = listed.len();
    for (i, (name_seq, path)) in listed.into_iter().enumerate() {
        let newest = i + 1 == count;
        let full = newest || options.open_check == OpenCheck::Full;
        let opened = if crate::segment::name::is_cold(&path) {
            if full {
                settle::scan_cold(&path).map(|(o, s)| {
                    Opened::Scanned(o.map_leaves(Tree::Hashed), Some(Box::new(s)), None)
                })
            } else {
                settle::open_cold(&path).map(Opened::Quick)
            }
            .and_then(|o| {
                let header = match &o {
                    Opened::Quick(s) => &s.header,
                    Opened::Scanned(_, Some(s), _) => &s.header,
                    Opened::Scanned(o, None, _) => &o.header,
                };
                check_identity(header, name_seq, &meta)
                    .map_err(|kind| Error::corrupt(&path, 0, None, kind))?;
                Ok(o)
            })
        } else if full {
            let actor = options.first_actor.as_deref().filter(|_| read_only);
            scan_file(&path, name_seq, read_only && newest, actor).and_then(|(o, candidates)| {
                check_identity(&o.header, name_seq, &meta)
                    .map_err(|kind| Error::corrupt(&path, 0, None, kind))?;
                Ok(Opened::Scanned(o, None, candidates))
            })
        } else {
            open_sealed(&path, name_seq, &meta).map(Opened::Quick)
        };
        let opened = match opened {
            Ok(o) => o,
            Err(Error::Corrupt(c)) => {
                problem(*c)?;
                break;
            }
            // Not damage (the file cannot be read, or is of a newer format): no prefix of the
            // log can be trusted to be all of it, so even a read-only open fails, naming it.
            Err(e) => return Err(e),
        };
        let header = match &opened {
            Opened::Quick(s) => &s.header,
            Opened::Scanned(o, _, _) => &o.header,
        };
        if i == 0
            && let Err(c) = auditlog_verify::chain::check_first(header, &path, &cut_log)
        {
            problem(c)?;
            break;
        }
        let start = prev_end.unwrap_or((header.frontier.tree_head(), header.prev_recorded_at));
        if let Err(c) = check_chain(header, &path, &start.0, start.1) {
            problem(c)?;
            break;
        }
        let o = match opened {
            Opened::Quick(segment) => {
                let footer = segment.footer().cloned();
                if let Some(f) = footer {
                    prev_end = Some((f.tree_head, f.last_recorded_at));
                }
                sealed.push(segment);
                continue;
            }
            Opened::Scanned(o, cold, candidates) => (o, cold, candidates),
        };
        let (o, cold, candidates) = o;
        frontier = o.frontier.clone();
        last_recorded_at = o.last_recorded_at;
        // Counted leaves are only those of the newest segment, which no segment follows.
        prev_end = tree_head_of(&frontier).map(|head| (head, last_recorded_at));
        let corruption = |offset: u64, kind| Corruption {
            file: path.clone(),
            offset,
            seq: Some(o.end_seq()),
            kind,
        };
        match o.verdict(newest) {
            Verdict::Sealed(footer) => {
                let segment = match cold {
                    Some(cold) => *cold,
                    None => Segment::sealed(path.clone(), o.header.clone(), footer.clone())
                        .with_offsets(o.offsets.clone()),
                };
                sealed.push(segment);
            }
            Verdict::Open => {
                let segment = active_segment(&path, &o, read_only, candidates)?;
                active = Some((segment, o));
            }
            Verdict::Damage { offset, kind } => {
                problem(corruption(offset, kind))?;
                if !newest {
                    break;
                }
                // Read-only: the readable prefix of the newest segment stays visible.
                let segment = active_segment(&path, &o, read_only, candidates)?;
                active = Some((segment, o));
            }
            Verdict::TornTail {
                offset,
                kind,
                later_frames,
            } => {
                if !read_only {
                    report.truncated = Some(cut_torn_tail(
                        options,
                        &path,
                        offset,
                        o.end_seq(),
                        later_frames,
                        kind,
                    )?);
                }
                let segment = active_segment(&path, &o, read_only, candidates)?;
                active = Some((segment, o));
            }
        }
    }
    report.first_seq = first_seq;
    report.tree_head = tree_head_of(&frontier);
    report.end_seq = frontier.size();
    Ok(Recovered {
        sealed,
        active,
        frontier,
        last_recorded_at,
        report,
    })
}

/// The handle of the newest, unsealed segment scanned as `o`. A read-only handle reads the
/// records that scan checked from a map of exactly them (`Segment::with_checked_prefix`).
/// The tree head after `tree`, if its leaves were hashed.
fn tree_head_of(tree: &Tree) -> Option<TreeHead> {
    match tree {
        Tree::Hashed(frontier) => Some(frontier.tree_head()),
        Tree::Counted(_) => None,
    }
}

fn active_segment(
    path: &Path,
    o: &ScanOutcome<Tree>,
    read_only: bool,
    candidates: Option<ActorCandidates>,
) -> Result<Segment> {
    let segment = Segment::active(path.to_path_buf(), o.header.clone(), o.offsets.clone())?;
    Ok(match read_only {
        true => segment.with_checked_prefix(o.records_end, candidates),
        false => segment,
    })
}

enum Opened {
    Quick(Segment),
    /// A scanned segment, with its handle when it is a cold one and the records of one actor
    /// its scan noted (only a read-only open's newest segment: segment/candidates.rs).
    Scanned(
        ScanOutcome<Tree>,
        Option<Box<Segment>>,
        Option<ActorCandidates>,
    ),
}

/// Cuts the active segment at `offset`, the end of its last valid record, durably.
fn cut_torn_tail(
    options: &Options,
    path: &Path,
    offset: u64,
    seq: u64,
    unsynced_records_dropped: u64,
    reason: &CorruptionKind,
) -> Result<TruncatedTail> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(offset);
    let io = |e| Error::io(format!("cutting the torn tail of {}", path.display()), e);
    let mut file = options.fs.open_writable(path).map_err(io)?;
    file.set_len(offset).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(TruncatedTail {
        file: path.to_path_buf(),
        offset,
        bytes_removed: len.saturating_sub(offset),
        seq,
        unsynced_records_dropped,
        reason: reason.clone(),
    })
}
