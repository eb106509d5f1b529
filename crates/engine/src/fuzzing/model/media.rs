//! Two things a power-loss image must also survive, beside the random crash point:
//!
//! - the crash point "after a seal, before the next segment exists" ([`crash_after_seal`]):
//!   the footer is durable, the next segment was never created, so the newest segment of the
//!   image is a sealed one (and recovery must not take it for an active one);
//! - media damage ([`check_bit_flip`]): one bit flipped in a sealed segment of the image must
//!   be reported as damage by `verify` and refused by a read-write open, and the file must be
//!   left as it is. Never cut: a sealed segment holds only durable records (FORMAT.md §5.3).

use super::{Model, Summary, copy_dir, event_for, log_dir};
use crate::fs::sim::{CrashMode, SimFs, SimRng};
use crate::lifecycle::cuts;
use crate::meta::LogMeta;
use crate::segment::footer::{FOOTER_LEN, FOOTER_MAGIC};
use crate::segment::name::parse_segment_file_name;
use crate::verify::{VerifyOptions, verify};
use crate::{AuditLog, OpenCheck};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File-system calls of a seal up to its footer being durable: the trim of the preallocated
/// space, an fdatasync of the records, the footer's write and its fdatasync (writer.rs
/// `roll`). The next call creates the next segment.
const SEAL_CALLS_TO_DURABLE_FOOTER: u64 = 4;

/// Appends one record, syncs, then seals with the power going right after the footer's
/// fdatasync: before the next segment (or a checkpoint of the seal) exists.
pub(super) fn crash_after_seal(
    sim: &SimFs,
    log: &AuditLog,
    model: &mut Model,
    mode: CrashMode,
    image: &Path,
) -> Result<(), String> {
    model.attempted = model.attempted.max(model.next + 1);
    let receipt = log
        .append(&event_for(model.next))
        .and_then(|h| h.wait())
        .map_err(|e| format!("append before the seal failed without a crash: {e}"))?;
    model.acked(receipt.seq, receipt.recorded_at, false);
    // Nothing left to write or sync, so the seal's first call is its trim.
    log.sync()
        .map_err(|e| format!("sync before the seal failed without a crash: {e}"))?;
    model.durable = model.next;
    sim.crash_at_op(
        sim.op_count() + SEAL_CALLS_TO_DURABLE_FOOTER,
        mode,
        image.to_path_buf(),
    );
    match log.seal() {
        Err(_) if sim.has_crashed() => Ok(()),
        Err(e) => Err(format!("seal failed without a crash: {e}")),
        Ok(()) => Err("the seal finished before the planned crash".into()),
    }
}

/// The media checks of one crash image: that a crash after a seal (`after_seal`) left a
/// sealed newest segment, and [`check_bit_flip`] (on the newest sealed segment after such a
/// crash, the case). The figures for the campaign's summary.
pub(super) fn check(
    image: &Path,
    scratch: &Path,
    seed: u64,
    after_seal: bool,
) -> Result<Summary, String> {
    let mut summary = Summary::default();
    if after_seal {
        if !newest_is_sealed(image)? {
            return Err("the crash after a seal left no sealed newest segment".into());
        }
        summary.after_seal_crashes = 1;
    }
    // A log whose creation never became durable has nothing to flip (check_image allows it).
    if !log_dir(image).join(crate::meta::META_FILE).exists() {
        return Ok(summary);
    }
    let flipped = check_bit_flip(image, scratch, seed ^ 0xf11b, after_seal)?;
    summary.sealed_flips_refused = u64::from(flipped);
    Ok(summary)
}

/// Whether the newest segment file of the crash image's log ends in a footer (tag and
/// magic): the image of a crash after a seal, before the next segment existed.
fn newest_is_sealed(image: &Path) -> Result<bool, String> {
    let Some(newest) = hot_segments(&log_dir(image))?.pop() else {
        return Ok(false);
    };
    Ok(ends_with_footer(&read(&newest)?))
}

/// Flips one bit (chosen by `seed`) in front of the footer of a sealed hot segment of the
/// image, on a copy at `scratch`: the newest sealed one when `newest`, else any. `verify`
/// must report damage in that file, a read-write open with a full check must refuse the log
/// naming it (so must the default open when it is the newest segment, which every open scans),
/// and the file must be unchanged afterwards. Returns whether there was a sealed segment.
fn check_bit_flip(image: &Path, scratch: &Path, seed: u64, newest: bool) -> Result<bool, String> {
    let copy = scratch.join("flipped");
    copy_dir(&log_dir(image), &copy).map_err(|e| format!("copying: {e}"))?;
    let all = hot_segments(&copy)?;
    // Segments below the newest cut are leftovers of an interrupted removal, which the next
    // open finishes and verify skips: not a place where damage must stay put.
    let meta = LogMeta::read(&copy).map_err(|e| format!("reading the meta file: {e}"))?;
    let cut_log = cuts::read(&copy, &meta.log_id).map_err(|e| format!("reading cuts: {e}"))?;
    let live_from = cut_log.latest().map_or(0, |c| c.cut_seq);
    let mut sealed = Vec::new();
    for path in &all {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let below_cut = parse_segment_file_name(name).is_none_or(|seq| seq < live_from);
        // A segment with a cold twin is an interrupted compaction whose settling may remove
        // either file: not a place where damage must stay put either.
        if !below_cut && ends_with_footer(&read(path)?) && !path.with_extension("zseg").exists() {
            sealed.push(path.clone());
        }
    }
    let mut rng = SimRng::new(seed);
    let target = match (newest, sealed.last()) {
        (_, None) => return Ok(false),
        (true, Some(last)) => last.clone(),
        (false, Some(_)) => sealed[rng.below(sealed.len() as u64) as usize].clone(),
    };
    let mut bytes = read(&target)?;
    let bit = rng.below(((bytes.len() - FOOTER_LEN) * 8) as u64) as usize;
    bytes[bit / 8] ^= 1 << (bit % 8);
    std::fs::write(&target, &bytes).map_err(|e| format!("writing the flip: {e}"))?;
    let at = format!("bit {bit} of {}", target.display());

    let report = verify(&copy, &VerifyOptions::default()).map_err(|e| format!("verify: {e}"))?;
    if report.ok || !report.problems.iter().any(|p| p.file == target) {
        return Err(format!(
            "{at} flipped, verify reported {:?}, warnings {:?}",
            report.problems, report.warnings
        ));
    }
    // A simulator that never crashes skips the real fsyncs (as check_image does).
    let fs = Arc::new(SimFs::new(scratch, 0).map_err(|e| format!("simulator: {e}"))?);
    let open = |check| {
        AuditLog::builder(&copy)
            .file_system(fs.clone())
            .open_check(check)
            .open()
    };
    let refused = |check: OpenCheck| match open(check) {
        Ok(_) => Err(format!(
            "{at} flipped, a {check:?} read-write open succeeded"
        )),
        Err(e) if e.corruption().is_some_and(|c| c.file == target) => Ok(()),
        Err(e) => Err(format!(
            "{at} flipped, the {check:?} open failed otherwise: {e}"
        )),
    };
    refused(OpenCheck::Full)?;
    if all.last() == Some(&target) {
        refused(OpenCheck::default())?;
    }
    if read(&target)? != bytes {
        return Err(format!("{at} flipped, and an open changed the file"));
    }
    Ok(true)
}

fn hot_segments(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("listing {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn ends_with_footer(bytes: &[u8]) -> bool {
    bytes.len() >= FOOTER_LEN && {
        let tail = &bytes[bytes.len() - FOOTER_LEN..];
        tail[..4] == [0xFF; 4] && tail[4..12] == FOOTER_MAGIC[..]
    }
}
