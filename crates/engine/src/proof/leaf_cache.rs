//! The leaf-hash cache of a sealed segment: `NNNNNNNNNNNNNNNNNNNN.hashes` beside
//! `NNNNNNNNNNNNNNNNNNNN.seg` (docs/FORMAT.md §11).
//!
//! Proofs need the leaf hashes of the segments their small subtrees lie in. Recomputing them
//! hashes every payload of the segment (~64 MiB); the cache holds the 32-byte leaf hashes
//! (~1/10 of that) and is checked by node hashes alone. It is derived data (docs/DESIGN.md):
//! written best-effort by proof generation (never by the writer thread), through the
//! [`FileSystem`] interface as temp file + fsync + rename + directory fsync; ignored and
//! rebuilt when missing, stale or damaged; and never trusted over the segment: its leaves are
//! accepted only if, pushed onto the segment header's frontier, they reproduce the root and
//! size in the segment's footer. Accepting them is then as safe as trusting that footer,
//! which the proof machinery does anyway.
//!
//! ```text
//! offset      size  field
//!      0         8  magic "AUDITLHC"
//!      8         4  version (u32 LE) = 1
//!     12        16  log id
//!     28         8  first_seq (u64 LE): the segment's first sequence number
//!     36         8  count (u64 LE): the segment's record count
//!     44        32  root: the footer's root (tree of first_seq + count leaves)
//!     76  32*count  leaf hashes of records first_seq .. first_seq + count, in order
//!    end        32  blake3 (unkeyed) of every byte before it
//! ```

use crate::fs::FileSystem;
use crate::merkle::Hash;
use crate::segment::{SegmentFooter, SegmentHeader};
use std::io;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"AUDITLHC";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 76;
const CHECKSUM_LEN: usize = 32;
/// Extension of a cache file; the stem is the segment's 20-digit first sequence number.
pub(crate) const EXT: &str = "hashes";

/// The cache file of the segment at `segment_path` (same stem, extension [`EXT`]).
pub(crate) fn cache_path(segment_path: &Path) -> PathBuf {
    segment_path.with_extension(EXT)
}

/// The cached leaves of the sealed segment described by `header` and `footer`, if the file at
/// `path` exists, is intact, and its leaves reproduce the footer's tree head from the header's
/// frontier. `None` means: read the segment instead.
pub(crate) fn read(
    path: &Path,
    header: &SegmentHeader,
    footer: &SegmentFooter,
) -> Option<Vec<Hash>> {
    let bytes = std::fs::read(path).ok()?;
    let leaves = decode(&bytes, header, footer)?;
    let mut frontier = header.frontier.clone();
    for leaf in &leaves {
        frontier.push(*leaf);
    }
    (frontier.tree_head() == footer.tree_head).then_some(leaves)
}

/// Parses a cache file for this segment; checks everything but the leaves' tree.
fn decode(bytes: &[u8], header: &SegmentHeader, footer: &SegmentFooter) -> Option<Vec<Hash>> {
    let count = usize::try_from(footer.record_count).ok()?;
    let body_len = count.checked_mul(32)?.checked_add(FIXED_LEN)?;
    if bytes.len() != body_len.checked_add(CHECKSUM_LEN)? {
        return None;
    }
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&body[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let fixed_ok = &body[..8] == MAGIC
        && body[8..12] == VERSION.to_le_bytes()
        && body[12..28] == header.log_id
        && u64_at(28) == header.first_seq
        && u64_at(36) == footer.record_count
        && body[44..76] == footer.tree_head.root;
    if !fixed_ok {
        return None;
    }
    let leaves = body[FIXED_LEN..]
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect();
    Some(leaves)
}

/// The bytes of a cache file for these leaves.
fn encode(header: &SegmentHeader, footer: &SegmentFooter, leaves: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_LEN + 32 * leaves.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&header.log_id);
    out.extend_from_slice(&header.first_seq.to_le_bytes());
    out.extend_from_slice(&footer.record_count.to_le_bytes());
    out.extend_from_slice(&footer.tree_head.root);
    for leaf in leaves {
        out.extend_from_slice(leaf);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// Writes the cache of a sealed segment whose leaves were just recomputed (and checked
/// against its footer) durably and atomically: temp file, fsync, rename, directory fsync.
/// Callers ignore failure (a read-only directory, a writer removing `.tmp` files on open):
/// the cache only saves time.
pub(crate) fn write(
    fs: &dyn FileSystem,
    path: &Path,
    header: &SegmentHeader,
    footer: &SegmentFooter,
    leaves: &[Hash],
) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a cache path has a directory"))?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(crate::segment::name::TMP_SUFFIX);
    let tmp = PathBuf::from(tmp_name);
    let _ = fs.remove_file(&tmp); // a leftover of an interrupted write
    let mut file = fs.create_new(&tmp)?;
    let written = file
        .write_all_at(&encode(header, footer, leaves), 0)
        .and_then(|()| file.sync_data());
    drop(file);
    if let Err(e) = written.and_then(|()| fs.rename(&tmp, path)) {
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    fs.sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Frontier, TreeHead, leaf_hash, payload_digest};

    fn segment(count: u64) -> (SegmentHeader, SegmentFooter, Vec<Hash>) {
        let mut frontier = Frontier::new();
        for i in 0..5u64 {
            frontier.push(leaf_hash(i, 0, &payload_digest(b"before")));
        }
        let header = SegmentHeader {
            log_id: [9; 16],
            first_seq: 5,
            created_at: 0,
            prev_recorded_at: 0,
            frontier: frontier.clone(),
        };
        let leaves: Vec<Hash> = (0..count)
            .map(|i| leaf_hash(5 + i, 0, &payload_digest(&i.to_le_bytes())))
            .collect();
        for leaf in &leaves {
            frontier.push(*leaf);
        }
        let footer = SegmentFooter {
            record_count: count,
            first_seq: 5,
            first_recorded_at: 0,
            last_recorded_at: 0,
            tree_head: TreeHead {
                size: frontier.size(),
                root: frontier.root(),
            },
            records_end: 0,
        };
        (header, footer, leaves)
    }

    #[test]
    fn round_trips_and_rejects_any_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000005.hashes");
        let (header, footer, leaves) = segment(7);
        write(&crate::fs::StdFileSystem, &path, &header, &footer, &leaves).expect("write");
        assert_eq!(read(&path, &header, &footer), Some(leaves.clone()));
        let good = std::fs::read(&path).expect("read");
        assert_eq!(good.len(), FIXED_LEN + 7 * 32 + CHECKSUM_LEN);
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).expect("write");
            assert_eq!(read(&path, &header, &footer), None, "flip at {at}");
        }
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).expect("write");
            assert_eq!(read(&path, &header, &footer), None, "cut at {cut}");
        }
    }

    #[test]
    fn leaves_must_reproduce_the_footer_even_with_a_valid_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000005.hashes");
        let (header, footer, mut leaves) = segment(4);
        leaves.swap(0, 1);
        // A well-formed file (right fields, matching checksum) whose leaves are wrong.
        std::fs::write(&path, encode(&header, &footer, &leaves)).expect("write");
        assert_eq!(read(&path, &header, &footer), None);
        // A cache of another segment (other first_seq) is not used.
        let (mut other, _, good) = segment(4);
        other.first_seq = 6;
        std::fs::write(&path, encode(&other, &footer, &good)).expect("write");
        assert_eq!(read(&path, &header, &footer), None);
    }
}
