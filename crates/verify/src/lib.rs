//! The auditor's verifier: checks a log directory, a segment file, an archive bundle, a
//! classified root, a signed checkpoint or a proof, and says exactly what is wrong and where.
//!
//! [`verify`] returns a structured [`VerifyReport`]. What is checked, per segment and in
//! parallel (segment.rs, parallel.rs; a segment holding a large share of the bytes has its
//! records split over several threads, split.rs): the header, every record frame's CRC,
//! sequence numbers, `recorded_at` order, that every payload decodes as an event, the Merkle
//! frontier recomputed from the header's starting state through every leaf, and the footer
//! against it. Then, in log order (chain.rs): that each segment belongs to this log, sits where
//! its name says, and starts exactly where the previous one ended (tree head and time), with no
//! segment missing except where a recorded (and, given the key, signed) cut removed it
//! (cuts.rs). Optionally, that the log extends a trusted signed checkpoint (the root of its
//! first `size` leaves equals the checkpoint's root). Bundles are checked alone and against
//! the live log (bundle.rs), inclusion and consistency proofs alone (proof.rs).
//!
//! A log being written is verified up to its committed prefix: the newest segment's tail may
//! be a group in flight, which is reported as a warning, never as damage (segment.rs re-reads
//! the newest segment when it looks damaged, to tell a race from damage).
//!
//! Built on `auditlog-format` alone (and its hashing, signature and compression crates): it
//! must never depend on the engine (`auditlog`: writer, indexes, lifecycle) or on clap, so that
//! an auditor can build and read it alone; CI (`.ci/layering`) fails if it does. The engine
//! adds the checks of its derived files (index files compared with their segments) on top.
//! Errors are the format's small [`Error`]: reading, parsing, a version this build does not
//! read; damage is never an `Err` but a problem in the report.

// The format's modules, under short paths.
use auditlog_format::{bundle as bundle_format, classes as classes_format, timestamp};
use auditlog_format::{checkpoint, cold, cuts, error, event, merkle, meta, record, segment, sys};

pub use auditlog_format::{Corruption, CorruptionKind, Error, HeaderFault, Result};

pub mod bundle;
pub mod chain;
pub mod classes;
mod cuts_check;
mod parallel;
pub mod proof;
mod report;
pub mod segment_check;
mod split;

pub use bundle::{BundleSummary, check_bundle, check_with_bundles};
pub use classes::{ClassifiedVerifyReport, verify_classified};
pub use parallel::Progress;
pub use proof::{ProofCheck, check_proof};
pub use report::problem_json;
pub use report::{CheckpointCheck, VerifyReport, Warning, kind_name};

use crate::checkpoint::NoteVerifier;
use crate::checkpoint::{Checkpoint, origin_of};
use crate::cuts::CutLog;
use crate::merkle::Hash;
use crate::meta::LogMeta;
use crate::segment::name::{parse_cold_segment_file_name, parse_segment_file_name};
use crate::timestamp::Timestamp;
use segment_check::SegmentCheck;
pub use segment_check::{SegmentJob, check_segment};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How [`verify`] runs.
#[derive(Clone)]
pub struct VerifyOptions {
    /// Worker threads; 0 means one per available core, and more than [`MAX_THREADS`] are
    /// clamped to it. Default 0.
    pub threads: usize,
    /// Whether every payload is decoded as an event (not just hashed). Default true.
    pub decode_payloads: bool,
    /// A checkpoint whose signature the caller has verified: the log must extend it.
    pub checkpoint: Option<Checkpoint>,
    /// The log's public key (the one its checkpoints are signed with): every cut record
    /// must carry its signature, so a deletion cannot pass for retention or archiving.
    /// Without it the report notes that recorded removals are unauthenticated. Default none.
    pub cut_key: Option<NoteVerifier>,
    /// Called after each segment with the progress so far (from worker threads).
    pub progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            threads: 0,
            decode_payloads: true,
            checkpoint: None,
            cut_key: None,
            progress: None,
        }
    }
}

impl fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("threads", &self.threads)
            .field("decode_payloads", &self.decode_payloads)
            .field("checkpoint", &self.checkpoint)
            .field("cut_key", &self.cut_key)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Verifies the log directory or the single segment file at `path`.
///
/// Damage is never an `Err`: it is listed in [`VerifyReport::problems`] with file, offset,
/// sequence number and kind, and `ok` is false. `Err` means the verification itself could not
/// run: the path does not exist or is neither a log directory nor a segment file.
pub fn verify(path: &Path, options: &VerifyOptions) -> Result<VerifyReport> {
    if path.is_dir() && bundle::is_bundle(path) {
        return bundle::verify_bundle(path, options);
    }
    Ok(examine(path, options, false)?.0)
}

/// Verifies and also returns the checks (with leaf hashes when `collect_leaves`).
pub fn examine(
    path: &Path,
    options: &VerifyOptions,
    collect_leaves: bool,
) -> Result<(VerifyReport, Vec<SegmentCheck>)> {
    let meta_problem;
    let mut notes = Vec::new();
    let mut cut_problems = Vec::new();
    let mut cuts = CutLog::default();
    let (jobs, log_id, lone) = if path.is_dir() {
        let (meta, problem) = match LogMeta::read(path) {
            Ok(m) => (Some(m), None),
            Err(Error::Corrupt(c)) => (None, Some(*c)),
            Err(e) => return Err(e),
        };
        meta_problem = problem;
        if let Some(meta) = &meta {
            cuts = cuts::read(path, &meta.log_id)?;
            (cut_problems, notes) =
                cuts_check::check_cuts(path, &cuts, &meta.log_id, options.cut_key.as_ref());
        }
        (
            list_log_dir(path, &cuts, &mut notes)?,
            meta.map(|m| m.log_id),
            false,
        )
    } else if path.is_file() {
        meta_problem = None;
        let name = path.file_name().and_then(|n| n.to_str());
        let name_seq = name.and_then(parse_segment_file_name);
        if name_seq.is_none() && name.and_then(parse_cold_segment_file_name).is_none() {
            refuse_foreign_file(path)?;
        }
        let job = SegmentJob {
            path: path.to_path_buf(),
            name_seq,
            newest: true,
        };
        (vec![job], None, true)
    } else {
        return Err(Error::NotALog {
            path: path.to_path_buf(),
            reason: "no such file or directory".into(),
        });
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n.min(MAX_THREADS),
    };
    let mut checks = parallel::check_all(
        jobs,
        threads,
        options.decode_payloads,
        collect_leaves,
        options.progress.as_deref(),
    );
    // A file that cannot be read (or is of a newer format) is not damage, and without it
    // the log is not verified: fail, naming it, rather than report on a part of the log.
    if let Some(e) = checks.iter_mut().find_map(|c| c.failed.take()) {
        return Err(e);
    }
    let log_id = log_id.or_else(|| {
        checks
            .iter()
            .find_map(|c| c.outcome.as_ref().ok().map(|o| o.header.log_id))
    });
    let summary = chain::summarize(&checks, log_id.filter(|_| !lone), lone, &cuts);
    let mut problems: Vec<Corruption> = meta_problem.into_iter().collect();
    problems.extend(cut_problems);
    problems.extend(summary.problems);
    if let Some(cut) = cuts.latest().filter(|_| checks.is_empty()) {
        // The cut log proves the log reached this size: its segments cannot all be gone.
        problems.push(Corruption {
            file: path.to_path_buf(),
            offset: 0,
            seq: Some(cut.cut_seq),
            kind: CorruptionKind::MissingSegment {
                first_seq: cut.cut_seq,
            },
        });
    }
    let mut report = VerifyReport {
        ok: false,
        path: path.to_path_buf(),
        log_id,
        first_seq: summary.first_seq,
        records: summary.records,
        tree_head: summary.tree_head,
        time_range: summary
            .first_recorded_at
            .zip(summary.last_recorded_at)
            .map(|(a, b)| (Timestamp::from_nanos(a), Timestamp::from_nanos(b))),
        segments_checked: checks.len(),
        bytes_checked: checks.iter().map(|c| c.bytes).sum(),
        problems,
        warnings: notes.into_iter().chain(summary.warnings).collect(),
        checkpoint: None,
    };
    if let Some(cp) = &options.checkpoint {
        let chained: Vec<&SegmentCheck> = summary.chained.iter().map(|&i| &checks[i]).collect();
        check_checkpoint(&mut report, cp, &chained)?;
    }
    report.ok = report.problems.is_empty();
    Ok((report, checks))
}

/// The most worker threads [`verify`] uses, whatever [`VerifyOptions::threads`] asks: verify
/// is CPU-bound, so more than the machine's cores only adds switching, and an absurd count
/// (`--threads 100000000000`) must not exhaust memory or the thread limit.
pub const MAX_THREADS: usize = 256;

/// Refuses a lone file that is not a segment: its name is not a segment file name and it
/// does not start with a segment's magic (hot or cold). That is "not a log" (a wrong path),
/// not damage; a segment named as such with a damaged magic is still reported as damage.
fn refuse_foreign_file(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut magic = [0u8; 8];
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let n = file
        .read(&mut magic)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let known: [&[u8; 8]; 2] = [
        crate::segment::header::SEGMENT_MAGIC,
        crate::cold::format::COLD_MAGIC,
    ];
    if n == 8 && known.contains(&&magic) {
        return Ok(());
    }
    Err(Error::NotALog {
        path: path.to_path_buf(),
        reason: "it is neither a log directory nor a segment file (no segment file name, \
                 no segment magic)"
            .into(),
    })
}

/// Segment files of a log directory in log order (one per segment: the hot `.seg` when both
/// a hot and a cold file exist, FORMAT.md §8.4), the last marked newest. Files wholly below
/// the newest cut (a removal a crash interrupted; the next writer removes them) are skipped
/// with a warning. Unknown files are ignored, as everywhere in the engine.
fn list_log_dir(dir: &Path, cuts: &CutLog, warnings: &mut Vec<Warning>) -> Result<Vec<SegmentJob>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut found: Vec<(u64, bool, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = parse_segment_file_name(name) {
            found.push((seq, false, entry.path()));
        } else if let Some(seq) = parse_cold_segment_file_name(name) {
            found.push((seq, true, entry.path()));
        }
    }
    found.sort();
    found.dedup_by_key(|(seq, _, _)| *seq); // hot sorts before cold: keep the hot file
    let cut_seq = cuts.latest().map_or(0, |c| c.cut_seq);
    let (below, kept): (Vec<_>, Vec<_>) = found.into_iter().partition(|(seq, _, _)| *seq < cut_seq);
    for (_, _, path) in below {
        warnings.push(Warning {
            file: path,
            offset: None,
            message: format!(
                "below the cut at sequence {cut_seq}: a removal that was interrupted; not checked"
            ),
        });
    }
    let count = kept.len();
    Ok(kept
        .into_iter()
        .enumerate()
        .map(|(i, (seq, _, path))| SegmentJob {
            path,
            name_seq: Some(seq),
            newest: i + 1 == count,
        })
        .collect())
}

/// Checks that the verified chain extends `cp`: its tree has at least `cp`'s size and the
/// root of its first `cp.size` leaves is `cp`'s root. Failure is damage (truncation or a
/// rewrite), reported as [`CorruptionKind::CheckpointMismatch`].
fn check_checkpoint(
    report: &mut VerifyReport,
    cp: &Checkpoint,
    chained: &[&SegmentCheck],
) -> Result<()> {
    let head = cp.tree_head;
    let file = chained
        .last()
        .map_or(report.path.clone(), |c| c.job.path.clone());
    let mut mismatch = |why: String, file: PathBuf| {
        report.problems.push(Corruption {
            file,
            offset: 0,
            seq: Some(head.size),
            kind: CorruptionKind::CheckpointMismatch(why),
        })
    };
    let mut consistent = false;
    if report.log_id.is_some_and(|id| origin_of(&id) != cp.origin) {
        mismatch(
            format!("the checkpoint is for {}, not this log", cp.origin),
            report.path.clone(),
        );
    } else if head.size > report.tree_head.size {
        mismatch(
            format!(
                "the checkpoint covers {} records but only {} verify: the log was truncated or damaged",
                head.size, report.tree_head.size
            ),
            file,
        );
    } else {
        match prefix_root(chained, head.size)? {
            Some((root, _)) if root == head.root => consistent = true,
            Some((_, file)) => mismatch(
                format!(
                    "the root of the first {} records differs from the checkpoint's: the log was rewritten",
                    head.size
                ),
                file,
            ),
            // Records removed by a recorded retention or archive cut are not damage (the
            // chain check above reports a cut that is not recorded), but the live log alone
            // cannot link the checkpoint's tree to its own: say so, and leave `consistent`
            // false so no caller mistakes it for a proof.
            None if head.size < report.first_seq => report.warnings.push(Warning {
                file,
                offset: None,
                message: format!(
                    "the checkpoint (tree size {}) cannot be checked here: records before {} \
                     were removed by retention or archiving; check it against the archive \
                     bundle holding record {}",
                    head.size,
                    report.first_seq,
                    head.size.saturating_sub(1)
                ),
            }),
            None => mismatch(
                format!(
                    "the records before {} are not all held, so the checkpoint cannot be checked",
                    head.size
                ),
                file,
            ),
        }
    }
    report.checkpoint = Some(CheckpointCheck {
        checkpoint: head,
        consistent,
    });
    Ok(())
}

/// The root of the tree of the first `size` leaves, from verified segments in log order, with
/// the segment it was computed in. `None` if no segment holds that prefix's end.
fn prefix_root(chained: &[&SegmentCheck], size: u64) -> Result<Option<(Hash, PathBuf)>> {
    for check in chained {
        let Ok(o) = &check.outcome else { continue };
        let (first, end) = (o.header.first_seq, o.end_seq());
        if size == first {
            return Ok(Some((o.header.start_root(), check.job.path.clone())));
        }
        if size == end {
            return Ok(Some((o.frontier.root(), check.job.path.clone())));
        }
        if first < size && size < end {
            let leaves = if check.leaves.is_empty() {
                // Re-read this one segment for its leaves: O(segment), not O(log).
                segment_check::check_segment(check.job.clone(), false, true).leaves
            } else {
                check.leaves.clone()
            };
            let root = o.header.frontier.prefix_root(size, leaves);
            return Ok(root.map(|root| (root, check.job.path.clone())));
        }
    }
    Ok((size == 0).then(|| (crate::merkle::empty_root(), PathBuf::new())))
}
