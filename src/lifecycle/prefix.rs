//! Removing a prefix of the log (whole segments, oldest first, never the newest): the shared
//! final steps of retention and archiving. Cut record first, then the view, then the files.

use super::cuts::{self, Cut, CutKind};
use crate::error::{Error, Result};
use crate::log::Shared;
use crate::segment::name::parse_segment_family_name;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files named after segment `first_seq` (`<20 digits>.<ext>`: hot or cold segment and
/// any index files), sorted.
pub(crate) fn family_files(dir: &Path, first_seq: u64) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name();
        if name.to_str().and_then(parse_segment_family_name) == Some(first_seq) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Total bytes of the given files (missing files count 0).
pub(crate) fn size_of(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Removes the `count` oldest segments of the published view (never the newest): appends
/// the cut record durably, publishes the shorter view, removes their files and fsyncs the
/// directory. Returns the cut and the bytes reclaimed. The caller holds the lifecycle lock.
pub(crate) fn remove_prefix(
    shared: &Arc<Shared>,
    kind: CutKind,
    count: usize,
    note: String,
) -> Result<(Cut, u64)> {
    let view = shared.published.snapshot();
    let kept = view.segments.get(count).filter(|_| count > 0);
    let Some(first_kept) = kept else {
        return Err(Error::InvalidOption {
            option: "retention",
            reason: "the newest segment is never removed".into(),
        });
    };
    let removed: Vec<u64> = view.segments[..count]
        .iter()
        .map(|s| s.first_seq())
        .collect();
    let now = shared.options.clock.now();
    let cut = Cut::at(kind, view.first_seq, &first_kept.header, now, note);
    let fs = shared.options.fs.as_ref();
    // With a signing key every cut is signed, so that a verifier holding the public key can
    // tell this removal from a deletion dressed up with a forged cut record.
    let signer = shared.options.signer.as_ref().map(|s| s.key());
    let cut = cuts::append(fs, &shared.dir, &shared.meta.log_id, &cut, signer)?;
    let cut_seq = cut.cut_seq;
    shared.published.update(|v| {
        let segments: Vec<_> = v
            .segments
            .iter()
            .filter(|s| s.first_seq() >= cut_seq)
            .cloned()
            .collect();
        v.segments = Arc::new(segments);
        v.first_seq = v.first_seq.max(cut_seq);
    });
    let mut reclaimed = 0;
    for first_seq in removed {
        for path in family_files(&shared.dir, first_seq)? {
            reclaimed += size_of(std::slice::from_ref(&path));
            fs.remove_file(&path)
                .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
    }
    fs.sync_dir(&shared.dir)
        .map_err(|e| Error::io(format!("syncing {}", shared.dir.display()), e))?;
    Ok((cut, reclaimed))
}
