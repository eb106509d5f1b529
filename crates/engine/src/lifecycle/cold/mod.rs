//! Cold segments: a sealed segment rewritten as independent zstd frames plus a frame table
//! (in the spirit of the zstd seekable format), so that one record is read by decompressing
//! one frame. The record frames inside are the hot file's bytes, so CRCs, leaf hashes and the
//! segment's Merkle root are unchanged. docs/FORMAT.md §8 has the layout; docs/DESIGN.md the
//! crash analysis of the conversion.

pub(crate) use auditlog_format::cold::{format, read, write};

pub use auditlog_format::cold::{ColdSummary, CompressOptions, check};

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::segment::name::{cold_segment_path, segment_path};
use std::path::{Path, PathBuf};

/// Writes the cold equivalent of the sealed hot segment `first_seq` of `dir`, durably, and
/// returns its path. The hot file is left in place: the caller publishes the cold segment to
/// readers and then calls [`remove_hot`].
///
/// Steps (each through `fs`): build and check the cold bytes in memory; create
/// `NNN.zseg.tmp`, write, fdatasync; rename to `NNN.zseg`; fsync the directory. A crash before
/// the rename leaves a `.tmp` that recovery removes; after it, both files exist and recovery
/// keeps the hot one unless the cold one decodes to exactly the same bytes (docs/DESIGN.md).
pub(crate) fn convert(
    fs: &dyn FileSystem,
    dir: &Path,
    first_seq: u64,
    options: &CompressOptions,
    dict: write::Dictionary<'_>,
) -> Result<PathBuf> {
    let hot_path = segment_path(dir, first_seq);
    let hot = std::fs::read(&hot_path)
        .map_err(|e| Error::io(format!("reading {}", hot_path.display()), e))?;
    let cold = write::build(&hot_path, &hot, options, dict)?;
    write::check_equal(&hot_path, &cold, &hot, dict.map(|(_, d)| d))?;
    let path = cold_segment_path(dir, first_seq);
    crate::fs::write_file_durably(fs, &path, &cold)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

/// Removes the hot file of a segment that now has a durable, checked cold file, durably.
pub(crate) fn remove_hot(fs: &dyn FileSystem, dir: &Path, first_seq: u64) -> Result<()> {
    let hot_path = segment_path(dir, first_seq);
    fs.remove_file(&hot_path)
        .map_err(|e| Error::io(format!("removing {}", hot_path.display()), e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
}
