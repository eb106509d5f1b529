//! Removing a prefix of the log (whole segments, oldest first, never the newest): the live
//! final steps of retention and archiving. Cut record first, then the view, then the files.

use super::LiveLog;
use super::cuts::{self, Cut, CutKind};
use crate::error::{Error, Result};
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
///
/// A cut that an earlier run wrote but whose append then reported an error (the trim or the
/// sync failed) is authoritative once it is in `cuts.log`: the next open would finish it. So
/// it is finished here first, and the new cut continues from it, rather than a second cut
/// starting where the first one did.
pub(crate) fn remove_prefix(
    live: &LiveLog<'_>,
    kind: CutKind,
    count: usize,
    note: String,
) -> Result<(Cut, u64)> {
    let view = live.published.snapshot();
    let kept = view.segments.get(count).filter(|_| count > 0);
    let Some(first_kept) = kept else {
        return Err(Error::InvalidOption {
            option: "retention",
            reason: "the newest segment is never removed".into(),
        });
    };
    let target = first_kept.first_seq();
    let mut reclaimed = 0;
    if let Some(pending) = cut_ahead_of_view(live, view.first_seq)? {
        reclaimed += drop_below(live, pending.cut_seq)?;
        if pending.cut_seq >= target {
            return Ok((pending, reclaimed));
        }
    }
    let view = live.published.snapshot();
    let first_kept = view
        .segments
        .iter()
        .find(|s| s.first_seq() == target)
        .expect("the segment to keep is newer than any cut, so it is still in the view");
    let now = live.clock.now();
    let cut = Cut::at(kind, view.first_seq, &first_kept.header, now, note);
    let fs = live.fs;
    // With a signing key every cut is signed, so that a verifier holding the public key can
    // tell this removal from a deletion dressed up with a forged cut record.
    let signer = live.signer;
    let cut = cuts::append(fs, live.dir, &live.log_id, &cut, signer)?;
    reclaimed += drop_below(live, cut.cut_seq)?;
    Ok((cut, reclaimed))
}

/// The newest cut in `cuts.log` when it reaches past the view's first record: written by a
/// run whose append then failed. Synced again before it is acted on, since its own sync may
/// never have run.
fn cut_ahead_of_view(live: &LiveLog<'_>, first_seq: u64) -> Result<Option<Cut>> {
    let path = cuts::cuts_path(live.dir);
    if !path.exists() {
        return Ok(None);
    }
    let log = cuts::read(live.dir, &live.log_id)?;
    let Some(pending) = log.latest().filter(|c| c.cut_seq > first_seq).cloned() else {
        return Ok(None);
    };
    let signer = live.signer;
    cuts::authorize_removal(live.dir, &log, &pending, signer, &live.log_id)?;
    let fs = live.fs;
    let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
    let mut file = fs.open_writable(&path).map_err(|e| io("opening", e))?;
    file.sync_data().map_err(|e| io("syncing", e))?;
    Ok(Some(pending))
}

/// Publishes the view without the segments below `cut_seq`, then removes their files and
/// fsyncs the directory. Returns the bytes reclaimed.
fn drop_below(live: &LiveLog<'_>, cut_seq: u64) -> Result<u64> {
    let removed: Vec<u64> = live
        .published
        .snapshot()
        .segments
        .iter()
        .map(|s| s.first_seq())
        .filter(|&first| first < cut_seq)
        .collect();
    live.published.update(|v| {
        let segments: Vec<_> = v
            .segments
            .iter()
            .filter(|s| s.first_seq() >= cut_seq)
            .cloned()
            .collect();
        v.segments = Arc::new(segments);
        v.first_seq = v.first_seq.max(cut_seq);
    });
    let fs = live.fs;
    let mut reclaimed = 0;
    for first_seq in removed {
        for path in family_files(live.dir, first_seq)? {
            reclaimed += size_of(std::slice::from_ref(&path));
            fs.remove_file(&path)
                .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
    }
    fs.sync_dir(live.dir)
        .map_err(|e| Error::io(format!("syncing {}", live.dir.display()), e))?;
    Ok(reclaimed)
}
