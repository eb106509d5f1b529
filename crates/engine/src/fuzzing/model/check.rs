//! Checking a crash image against the model: the live log, its cut log, its checkpoints and
//! the archive bundles beside it.

use super::{Model, SEGMENT_BYTES, archive_dir, copy_dir, event_for, lifecycle, log_dir};
use crate::checkpoint::Checkpoint;
use crate::checkpoint::store::read_notes;
use crate::fs::sim::SimFs;
use crate::lifecycle::archive::MANIFEST_NAME;
use crate::lifecycle::{check_bundle, cuts};
use crate::merkle::TreeHead;
use crate::verify::{VerifyOptions, verify};
use crate::{AuditLog, LogReader, OpenCheck, ReadOnlyLog};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What checking a crash image found.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageReport {
    /// One past the last record recovered.
    pub recovered: u64,
    /// The first record the live log holds (where its newest cut left it).
    pub first_seq: u64,
    /// Whether recovery cut a torn tail.
    pub torn_tail_cut: bool,
    /// Complete archive bundles checked.
    pub bundles: u64,
    /// The newest checkpoint the image holds, signed with the test key.
    pub checkpoint: Option<TreeHead>,
    /// Whether the log was verified against that checkpoint (it must be, unless a cut removed
    /// the records it covers).
    pub checkpoint_checked: bool,
    /// Cold segments in the image.
    pub cold_segments: u64,
}

/// Checks the crash image of the disk `image` on a copy of its log at `scratch`, with the
/// real file system:
/// - a read-only open reports no damage; the log starts exactly at its newest recorded cut,
///   between where completed removals left it and the furthest one attempted, and the cuts
///   chain without gaps;
/// - `verify()` passes on the raw image and after recovery, counting exactly the records
///   held, and against the newest signed checkpoint (which is no older than the last one
///   signed successfully) when the log still holds its records;
/// - a read-write open with a full check succeeds and agrees with the read-only one; records
///   form a gapless sequence holding the expected events (and the acknowledged
///   `recorded_at`); every promised record is there; a new append is accepted and survives
///   a reopen;
/// - every completed bundle is in the archive; every complete bundle verifies alone; the
///   bundles and the live log form one chain with the cut log (`check_with_bundles`).
pub fn check_image(image: &Path, scratch: &Path, model: &Model) -> Result<ImageReport, String> {
    let log_dir = log_dir(image);
    if !log_dir.join(crate::meta::META_FILE).exists() {
        // The log's creation never became durable: only acceptable if nothing was promised.
        if model.durable > 0 || !model.archived.is_empty() {
            return Err(format!(
                "the log directory is gone but {} records were promised",
                model.durable
            ));
        }
        return Ok(ImageReport::default());
    }
    let copy = scratch.join("log");
    copy_dir(&log_dir, &copy).map_err(|e| format!("copying: {e}"))?;
    let ro = ReadOnlyLog::open(&copy).map_err(|e| format!("read-only open: {e}"))?;
    if let Some(p) = ro.open_report().problems.first() {
        return Err(format!("read-only open found damage: {p}"));
    }
    let (first, ro_end) = (ro.first_seq(), ro.end_seq());
    check_cuts(&copy, &ro.log_id(), first, model)?;
    let checkpoint = newest_checkpoint(&copy, model, first, ro_end)?;
    let checked_against = checkpoint.as_ref().filter(|c| c.tree_head.size >= first);
    // The auditor's view of the raw crash image: a torn tail is a warning, never damage.
    let cut_key = model
        .signed_cuts
        .then(|| super::lifecycle::test_key().verifier());
    let cut_key = cut_key.as_ref();
    check_verify(
        &copy,
        first,
        ro_end,
        checked_against,
        cut_key,
        "the crash image",
    )?;
    let bundles = check_bundles(image, &ro, model)?;
    drop(ro);
    // A simulator that never crashes skips the real fsyncs: same code paths, much faster.
    let fs = SimFs::new(scratch, 0).map_err(|e| format!("simulator: {e}"))?;
    let log = AuditLog::builder(&copy)
        .file_system(Arc::new(fs))
        .open_check(OpenCheck::Full)
        .segment_max_bytes(SEGMENT_BYTES)
        .preallocate(false)
        .open()
        .map_err(|e| format!("open with a full check: {e}"))?;
    let recovered = log.end_seq();
    if recovered != ro_end || log.first_seq() != first {
        return Err(format!(
            "read-only open saw {first}..{ro_end}, read-write {}..{recovered}",
            log.first_seq()
        ));
    }
    if recovered < model.durable {
        return Err(format!(
            "lost promised records: {recovered} recovered, {} promised durable",
            model.durable
        ));
    }
    if recovered > model.attempted.max(model.next) {
        return Err(format!(
            "{recovered} records recovered but only {} were ever appended",
            model.attempted.max(model.next)
        ));
    }
    check_records(&log, first, model)?;
    let torn_tail_cut = log.open_report().truncated.is_some();
    log.append(&event_for(recovered))
        .and_then(|h| h.wait())
        .map_err(|e| format!("append after recovery: {e}"))?;
    log.close()
        .map_err(|e| format!("close after recovery: {e}"))?;
    let again = ReadOnlyLog::open(&copy).map_err(|e| format!("reopen: {e}"))?;
    if again.end_seq() != recovered + 1
        || again.first_seq() != first
        || !again.open_report().problems.is_empty()
    {
        return Err(format!(
            "after one more append the log holds {}..{}, problems {:?}",
            again.first_seq(),
            again.end_seq(),
            again.open_report().problems
        ));
    }
    drop(again);
    check_verify(
        &copy,
        first,
        recovered + 1,
        checked_against,
        cut_key,
        "the recovered log",
    )?;
    let cold_segments = std::fs::read_dir(&copy)
        .map_err(|e| format!("listing {}: {e}", copy.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zseg"))
        .count() as u64;
    Ok(ImageReport {
        recovered,
        first_seq: first,
        torn_tail_cut,
        bundles,
        checkpoint_checked: checked_against.is_some(),
        checkpoint: checkpoint.map(|c| c.tree_head),
        cold_segments,
    })
}

/// The cut log: a chain of cuts from 0, the newest where the live log starts; and that start
/// lies between the cuts that completed and the furthest one attempted.
fn check_cuts(dir: &Path, log_id: &[u8; 16], first: u64, model: &Model) -> Result<(), String> {
    let cut_log = cuts::read(dir, log_id).map_err(|e| format!("reading the cut log: {e}"))?;
    let mut expected_from = 0;
    for cut in &cut_log.cuts {
        if cut.removed_from != expected_from || cut.cut_seq <= cut.removed_from {
            return Err(format!(
                "the cut log does not chain: {cut} after a cut at {expected_from}"
            ));
        }
        expected_from = cut.cut_seq;
    }
    if first != expected_from {
        return Err(format!(
            "the live log starts at {first} but the newest recorded cut is at {expected_from}: \
             records removed without a record"
        ));
    }
    if first < model.cut_min || first > model.cut_max {
        return Err(format!(
            "the live log starts at {first}; completed cuts put it at {} or later, the \
             furthest attempted at {} or earlier",
            model.cut_min, model.cut_max
        ));
    }
    Ok(())
}

/// The newest checkpoint in the image signed with the test key: no older than the last one
/// signed successfully, and never beyond the records the log holds.
fn newest_checkpoint(
    dir: &Path,
    model: &Model,
    first: u64,
    end: u64,
) -> Result<Option<Checkpoint>, String> {
    let verifier = lifecycle::test_signer().key().verifier();
    let notes = read_notes(dir).map_err(|e| format!("reading checkpoints: {e}"))?;
    let newest = notes
        .iter()
        .filter_map(|n| Checkpoint::open(n, &verifier).ok())
        .next_back();
    match (&newest, &model.checkpoint) {
        (None, Some(signed)) => {
            return Err(format!(
                "a checkpoint of {} records was signed but the image holds none",
                signed.size
            ));
        }
        (Some(found), Some(signed)) if found.tree_head.size < signed.size => {
            return Err(format!(
                "the newest checkpoint covers {} records, one of {} was signed",
                found.tree_head.size, signed.size
            ));
        }
        (Some(found), Some(signed))
            if found.tree_head.size == signed.size && found.tree_head != *signed =>
        {
            return Err(format!("two checkpoints of size {} disagree", signed.size));
        }
        _ => {}
    }
    if let Some(c) = &newest
        && c.tree_head.size > end
    {
        return Err(format!(
            "a checkpoint covers {} records but only {first}..{end} survived",
            c.tree_head.size
        ));
    }
    Ok(newest)
}

/// Runs the auditor's `verify()`: no problems, exactly records `first..end`, consistent
/// with `checkpoint` when one is given, and every cut signed by `cut_key` when given.
fn check_verify(
    dir: &Path,
    first: u64,
    end: u64,
    checkpoint: Option<&Checkpoint>,
    cut_key: Option<&crate::checkpoint::NoteVerifier>,
    what: &str,
) -> Result<(), String> {
    let options = VerifyOptions {
        checkpoint: checkpoint.cloned(),
        cut_key: cut_key.cloned(),
        ..VerifyOptions::default()
    };
    let report = verify(dir, &options).map_err(|e| format!("verify of {what}: {e}"))?;
    if !report.ok || !report.problems.is_empty() {
        return Err(format!(
            "verify of {what} found damage: {:?}",
            report.problems
        ));
    }
    if report.records != end - first || (end > first && report.first_seq != first) {
        return Err(format!(
            "verify of {what} counted {} records from {}, expected {first}..{end}",
            report.records, report.first_seq
        ));
    }
    if checkpoint.is_some() && !report.checkpoint.as_ref().is_some_and(|c| c.consistent) {
        return Err(format!(
            "verify of {what} against the checkpoint: {:?}",
            report.checkpoint
        ));
    }
    Ok(())
}

/// The archive beside the log: every completed bundle present; every complete bundle (one
/// with a manifest) verifies alone; together with the live log and its cut log they form
/// one chain. Returns how many bundles were checked.
fn check_bundles(image: &Path, log: &LogReader, model: &Model) -> Result<u64, String> {
    let root = archive_dir(image);
    let mut complete: Vec<PathBuf> = Vec::new();
    if root.exists() {
        for entry in std::fs::read_dir(&root).map_err(|e| format!("listing the archive: {e}"))? {
            let path = entry
                .map_err(|e| format!("listing the archive: {e}"))?
                .path();
            if path.join(MANIFEST_NAME).exists() {
                complete.push(path);
            }
        }
    }
    complete.sort();
    for name in &model.archived {
        if !complete.iter().any(|p| p.ends_with(name)) {
            return Err(format!(
                "bundle {name} was archived but is not in the archive"
            ));
        }
    }
    for dir in &complete {
        check_bundle(dir).map_err(|e| format!("bundle {}: {e}", dir.display()))?;
        let report = verify(dir, &VerifyOptions::default())
            .map_err(|e| format!("verify of bundle {}: {e}", dir.display()))?;
        if !report.ok {
            return Err(format!(
                "verify of bundle {} found damage: {:?}",
                dir.display(),
                report.problems
            ));
        }
    }
    log.check_with_bundles(&complete)
        .map_err(|e| format!("the log and its bundles do not chain: {e}"))?;
    Ok(complete.len() as u64)
}

fn check_records(log: &LogReader, first: u64, model: &Model) -> Result<(), String> {
    let mut expected_seq = first;
    for record in log.iter(..) {
        let record = record.map_err(|e| format!("reading record {expected_seq}: {e}"))?;
        if record.seq != expected_seq {
            return Err(format!("expected seq {expected_seq}, read {}", record.seq));
        }
        if record.event != event_for(record.seq) {
            return Err(format!("record {} holds the wrong event", record.seq));
        }
        if let Some(at) = model.acked_at.get(&record.seq)
            && *at != record.recorded_at
        {
            return Err(format!(
                "record {} has recorded_at {:?}, acknowledged with {:?}",
                record.seq, record.recorded_at, at
            ));
        }
        expected_seq += 1;
    }
    if expected_seq != log.end_seq() {
        return Err(format!(
            "read {expected_seq} records, log ends at {}",
            log.end_seq()
        ));
    }
    Ok(())
}
