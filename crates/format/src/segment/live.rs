//! Reading a segment that a writer in another process may be appending to or sealing.
//!
//! Such a segment is never memory-mapped: the writer trims its preallocated end when it seals
//! it, and a mapped page past the new end raises SIGBUS in the reader. It is copied instead,
//! from a given offset to wherever the file ends at the time of the read (reading a file that
//! shrinks meanwhile just ends early, with no signal).
//!
//! A copy can still be torn: bytes read early may predate a group the writer wrote while the
//! later bytes were read, so a frame that a later group proves durable can look damaged. Such
//! a verdict is never believed from one read: [`settled`] reads again. A second read that
//! starts after the first ended sees every byte that the first read's later frames proved
//! durable (they were written before those frames), so real damage persists across re-reads
//! and a race does not.

use crate::record::all_zero;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Reads of a live segment before an apparent damage is believed (see the module docs: one
/// re-read settles a race; the others cover a writer that keeps racing us).
pub const LIVE_READS: usize = 3;

/// Bytes read per call; also the unit in which a zero tail is left out.
const CHUNK: usize = 1 << 20;

/// The bytes of the file at `path` from `offset` to its current end, copied, except that of a
/// run of all-zero chunks at the end (unwritten preallocated space: up to 64 MiB by default,
/// copied on every poll of a follower otherwise) only the first is kept.
///
/// What a scan of the result finds is what a scan of the whole file would: a scan ends cleanly
/// at zeros only if nothing but zeros follows (true either way), bytes after a footer are
/// still there to be reported (the kept zero chunk), and no frame is left out (only zeros
/// after the last non-zero chunk are).
pub fn copy_from(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    // Sized for the file as it is now, so the bytes are read once, straight into place (no
    // bounce buffer, no reallocation and copy as the vector grows); a file that grew
    // meanwhile just grows the vector.
    let expected = file.metadata()?.len().saturating_sub(offset);
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    // Whether `bytes` ends in an all-zero chunk (kept: the first of a run); the zero chunks
    // read after it are left out, counted, and put back only if something non-zero follows.
    let mut last_was_zero = false;
    let mut zeros_left_out = 0usize;
    // Bytes read from the file so far, left-out zeros included.
    let mut consumed = 0u64;
    loop {
        let start = bytes.len();
        // A chunk, or what is left of the file as it was sized (at least a page, in case it
        // grew): a small file is not given (and made to zero) a whole chunk.
        let room = usize::try_from(expected.saturating_sub(consumed))
            .unwrap_or(CHUNK)
            .clamp(4096, CHUNK);
        bytes.resize(start + room, 0);
        let n = read_full(&mut file, &mut bytes[start..])?;
        bytes.truncate(start + n);
        consumed += n as u64;
        if n == 0 {
            return Ok(bytes);
        }
        if !all_zero(&bytes[start..]) {
            if zeros_left_out > 0 {
                // Zeros with data after them are data: put the left-out ones back.
                let chunk = bytes.split_off(start);
                bytes.resize(start + zeros_left_out, 0);
                bytes.extend_from_slice(&chunk);
                zeros_left_out = 0;
            }
            last_was_zero = false;
            continue;
        }
        if last_was_zero {
            zeros_left_out += n;
            bytes.truncate(start);
        }
        last_was_zero = true;
    }
}

/// Fills `buf` from `file` unless its end comes first; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Runs `read` (a fresh read and check of a live segment) until `looks_damaged` says its
/// result is sound, at most [`LIVE_READS`] times, and returns the last result.
pub fn settled<T>(mut read: impl FnMut() -> T, looks_damaged: impl Fn(&T) -> bool) -> T {
    let mut result = read();
    for _ in 1..LIVE_READS {
        if !looks_damaged(&result) {
            break;
        }
        result = read();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Of a zero tail only the first chunk is copied; zeros with data after them are all kept.
    #[test]
    fn a_zero_tail_is_copied_once_and_inner_zeros_in_full() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("f");
        let mut data = vec![7u8; 10];
        data.resize(10 + 3 * CHUNK, 0);
        std::fs::write(&path, &data).expect("write");
        let copied = copy_from(&path, 0).expect("copy");
        assert_eq!(copied.len(), 2 * CHUNK, "the data chunk and one zero chunk");
        assert!(copied[..10] == data[..10] && all_zero(&copied[10..]));
        data.push(9);
        std::fs::write(&path, &data).expect("write");
        assert_eq!(copy_from(&path, 0).expect("copy"), data);
        assert_eq!(copy_from(&path, 5).expect("copy"), data[5..]);
    }

    #[test]
    fn a_result_that_looks_damaged_is_read_again_and_a_persistent_one_kept() {
        let reads = Cell::new(0);
        let raced = settled(|| reads.replace(reads.get() + 1), |&n| n == 0);
        assert_eq!((raced, reads.get()), (1, 2), "a race is read once more");
        reads.set(0);
        let damaged = settled(|| reads.replace(reads.get() + 1), |_| true);
        assert_eq!((damaged, reads.get()), (LIVE_READS - 1, LIVE_READS));
    }
}
