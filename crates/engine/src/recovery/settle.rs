//! Recovery's part of the lifecycle: which segment files count, finishing interrupted
//! conversions and removals, opening cold segments, and accepting a first segment that
//! starts after 0 because of a recorded cut. `recovery.rs` calls these; docs/DESIGN.md
//! ("Recovery rules") explains why each rule is safe.

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::options::{Access, Options};
use crate::segment::Segment;
use crate::segment::name::parse_segment_family_name;
use crate::segment::scan::{End, ScanOutcome, scan};
use auditlog_format::cold::{self, read::ColdFile};
use auditlog_format::cuts::{self, CutLog};
use std::path::{Path, PathBuf};

/// The settled listing (first sequence and path, one per segment) and the files removed.
pub(crate) type Settled = (Vec<(u64, PathBuf)>, Vec<PathBuf>);

/// Settles the listed segment files (sorted by first sequence, hot before cold for one
/// number) into one file per segment:
/// - both `NNN.seg` and `NNN.zseg`: a writer finishes or undoes the conversion
///   ([`cold::resolve_both`]); a read-only open uses the hot file;
/// - files of segments wholly below the newest durable cut: a removal the crash interrupted;
///   a writer removes them (and any index files named after them), a read-only open skips them.
///
/// Returns the settled listing and the files removed.
pub(crate) fn settle(
    dir: &Path,
    listed: Vec<(u64, PathBuf)>,
    cuts: &CutLog,
    log_id: &[u8; 16],
    options: &Options,
    access: Access,
) -> Result<Settled> {
    let read_only = access == Access::ReadOnly;
    let fs = options.fs.as_ref();
    let cut_seq = cuts.latest().map_or(0, |c| c.cut_seq);
    let mut settled: Vec<(u64, PathBuf)> = Vec::with_capacity(listed.len());
    let mut removed = Vec::new();
    let mut below_cut = false;
    for (seq, path) in listed {
        if seq < cut_seq {
            below_cut = true;
            continue;
        }
        match settled.last_mut() {
            Some((last, kept)) if *last == seq => {
                if !read_only {
                    *kept = resolve_both(fs, dir, seq)?;
                }
            }
            _ => settled.push((seq, path)),
        }
    }
    if below_cut && !read_only {
        if let Some(cut) = cuts.latest() {
            let signer = options.signer.as_ref().map(|s| s.key());
            cuts::authorize_removal(dir, cuts, cut, signer, log_id)?;
        }
        for entry in std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
        {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            let name = entry.file_name();
            let Some(seq) = name.to_str().and_then(parse_segment_family_name) else {
                continue;
            };
            if seq < cut_seq {
                fs.remove_file(&entry.path())
                    .map_err(|e| Error::io(format!("removing {}", entry.path().display()), e))?;
                removed.push(entry.path());
            }
        }
        fs.sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))?;
    }
    Ok((settled, removed))
}

/// Opens a cold segment quickly: structure, checksums of everything but the frames.
/// Only `Err(Error::Corrupt)` is damage; an I/O error is not.
pub(crate) fn open_cold(path: &Path) -> Result<Segment> {
    let file = ColdFile::open(path)?;
    Ok(Segment::cold(path.to_path_buf(), file))
}

/// The whole file at `path`; a file that cannot be read is an I/O error, not damage.
fn read_segment_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Opens a cold segment and scans all its records (decompressing every frame), as recovery
/// does for the newest segment and for every segment under `OpenCheck::Full`.
pub(crate) fn scan_cold(path: &Path) -> Result<(ScanOutcome, Segment)> {
    let segment = open_cold(path)?;
    let bytes = read_segment_file(path)?;
    let (_, image) = cold::read::decode_checked(path, &bytes)?;
    let outcome = scan(path, &image, &mut |_, _| {})?;
    debug_assert!(matches!(outcome.end, End::Footer(_)));
    Ok((outcome, segment))
}

/// Recovery's rule when both `NNN.seg` and `NNN.zseg` exist (a crash between the rename of
/// the cold file and the removal of the hot one): the hot file is authoritative. If the cold
/// file decodes to exactly the hot file's bytes, the conversion is finished by removing the
/// hot file; otherwise the cold file is removed (it is rebuilt by the next compaction). Either
/// way the directory is fsync'ed. Returns which file remains.
pub(crate) fn resolve_both(fs: &dyn FileSystem, dir: &Path, first_seq: u64) -> Result<PathBuf> {
    let hot_path = crate::segment::name::segment_path(dir, first_seq);
    let cold_path = crate::segment::name::cold_segment_path(dir, first_seq);
    let hot = std::fs::read(&hot_path)
        .map_err(|e| Error::io(format!("reading {}", hot_path.display()), e))?;
    let equal = std::fs::read(&cold_path).ok().is_some_and(|cold| {
        let dict = cold::read::dictionary_for(&cold_path, &cold).ok().flatten();
        let whole = cold::write::record_offsets(&hot_path, &hot).is_ok();
        whole && cold::write::check_equal(&cold_path, &cold, &hot, dict.as_deref()).is_ok()
    });
    let (remove, keep) = if equal {
        (hot_path, cold_path)
    } else {
        (cold_path, hot_path)
    };
    fs.remove_file(&remove)
        .map_err(|e| Error::io(format!("removing {}", remove.display()), e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))?;
    Ok(keep)
}
