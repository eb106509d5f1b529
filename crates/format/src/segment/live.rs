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

use crate::error::{Corruption, Error};
use crate::record::{FRAME_HEADER_LEN, MAX_BODY_LEN, RawRecord, all_zero, read_u32};
use crate::segment::header::{SegmentHeader, check_version};
use crate::segment::scan::{End, Leaves, ScanOutcome, Tree, decode_header, resume_with, start_of};
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

/// What [`scan_chunked`] found.
#[derive(Debug)]
// Returned once per open and matched at once: boxing the outcome would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Chunked<L = crate::merkle::Frontier> {
    /// The scan of the whole file, as [`scan`](crate::segment::scan::scan) of a copy of it
    /// would have returned it.
    Scanned(Result<ScanOutcome<L>, Corruption>),
    /// Zeros where the records ended, with other bytes after them. Telling a torn tail from
    /// damage there needs every byte after the zeros at once: copy the file ([`copy_from`])
    /// and scan the copy.
    NeedsCopy,
}

/// Scans the live segment at `path` (header, frames, end) reading it a chunk at a time into
/// one buffer that is reused, instead of copying it whole first as [`copy_from`] does. The
/// answer is the one a scan of a copy gives: the frames are checked in order across chunk
/// boundaries, and wherever the scan of a chunk ends in anything but records and zeros (a
/// frame cut by the chunk's end, damage, a footer) the buffer keeps the bytes from the end of
/// the valid records and grows by the next chunk, until the scan ends inside it or at the end
/// of the file, so damage is classified from all the bytes after it, as in a copy.
///
/// Why: a read-only open of a 64 MiB active segment spent more time having the kernel fault
/// in and zero the fresh pages of its copy than scanning it. A segment scanned this way is
/// read, once its records end is known, from a map of exactly that prefix
/// (`sys::ReadMap::prefix`), never from the copy.
///
/// The file's bytes can change under a concurrent writer while it is read: as with a copy,
/// the caller settles an apparent damage by reading again ([`settled`]). A header of a format
/// version this build does not read is [`Error::UnsupportedVersion`], checked on the first
/// chunk (`header::check_version`), not damage.
pub fn scan_chunked(path: &Path) -> Result<Chunked, Error> {
    let start = |header: SegmentHeader| {
        let frontier = header.frontier.clone();
        start_of(header, frontier)
    };
    scan_chunked_from(path, start, &mut |_, _| {})
}

/// [`scan_chunked`], except that the records' Merkle leaves are counted, not hashed
/// ([`Tree::Counted`]): for a read-only open that may never need the root. Everything else is
/// checked as by [`scan_chunked`]: every frame's CRC, the sequence numbers, the time order and
/// how the records end. A segment that ends in a footer is scanned again with its leaves
/// hashed ([`Tree::Hashed`]), so that the footer's root is checked against its records as on
/// every other open; only the root of records no footer commits to is left to be computed.
///
/// `visit` is called with each valid record and its offset, in order, while its bytes are in
/// hand (a read-only open notes there the records its first query may want, so that the query
/// need not read the segment again). It sees the records of this scan only, not those of the
/// second scan of a segment that ends in a footer; a record it saw before damage is still one
/// of the valid records the outcome counts. A scan that ends in [`Chunked::NeedsCopy`] has
/// visited some records: the caller scanning the copy must forget them.
pub fn scan_chunked_counted(
    path: &Path,
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<Chunked<Tree>, Error> {
    let counted = scan_chunked_from(path, ScanOutcome::counting, visit)?;
    if let Chunked::Scanned(Ok(o)) = &counted
        && matches!(o.end, End::Footer(_))
    {
        return Ok(match scan_chunked(path)? {
            Chunked::Scanned(scanned) => {
                Chunked::Scanned(scanned.map(|o| o.map_leaves(Tree::Hashed)))
            }
            Chunked::NeedsCopy => Chunked::NeedsCopy,
        });
    }
    Ok(counted)
}

/// The chunked scan, starting from `start` of the segment's header.
fn scan_chunked_from<L: Leaves>(
    path: &Path,
    start: impl FnOnce(SegmentHeader) -> ScanOutcome<L>,
    visit: &mut dyn FnMut(u64, &RawRecord<'_>),
) -> Result<Chunked<L>, Error> {
    let io = |e| Error::io(format!("reading {}", path.display()), e);
    let mut file = File::open(path).map_err(io)?;
    let mut buf = Window::default();
    // File offset of `buf`'s first byte, and whether the last read reached the end of the file.
    let mut base = 0u64;
    let mut at_eof = buf.fill(&mut file, CHUNK).map_err(io)?;
    check_version(path, buf.bytes())?;
    let scanned = decode_header(path, buf.bytes())
        .and_then(|header| resume_with(path, buf.bytes(), 0, start(header), visit));
    let mut outcome = match scanned {
        Ok(o) => o,
        Err(e) => return Ok(Chunked::Scanned(Err(e))),
    };
    let mut offsets = std::mem::take(&mut outcome.offsets);
    loop {
        let buf_end = base + buf.len as u64;
        let zeros_follow = outcome.end == End::Clean && outcome.records_end < buf_end;
        if at_eof || zeros_follow {
            if zeros_follow && !at_eof && !rest_is_zero(&mut file, &mut buf).map_err(io)? {
                return Ok(Chunked::NeedsCopy);
            }
            outcome.offsets = offsets;
            return Ok(Chunked::Scanned(Ok(outcome)));
        }
        // Keep the bytes from the end of the valid records (a frame the chunk cut, or
        // whatever the scan stopped at) and read on after them.
        buf.consume(usize::try_from(outcome.records_end - base).unwrap_or(usize::MAX));
        base = outcome.records_end;
        let want = more_needed(buf.bytes());
        at_eof = buf.fill(&mut file, want).map_err(io)?;
        outcome = match resume_with(path, buf.bytes(), base, outcome, visit) {
            Ok(o) => o,
            Err(e) => return Ok(Chunked::Scanned(Err(e))),
        };
        offsets.append(&mut outcome.offsets);
    }
}

/// The bytes read and not yet consumed, at the start of an allocation that is zeroed only
/// where it grows: refilling a `Vec` by `resize` zeroed every chunk before the read
/// overwrote it, a tenth of the instructions of a whole query over the active segment.
#[derive(Default)]
struct Window {
    storage: Vec<u8>,
    /// How many bytes at the start of `storage` were read and not consumed.
    len: usize,
}

impl Window {
    fn bytes(&self) -> &[u8] {
        &self.storage[..self.len]
    }

    /// Drops the first `n` bytes, moving the rest to the start.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.storage.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// Appends `want` bytes of `file` (fewer if the file ends first, all of the rest of it
    /// for `usize::MAX`), a chunk per `read` call; true if the file ended first.
    fn fill(&mut self, file: &mut File, want: usize) -> io::Result<bool> {
        let mut wanted = want;
        while wanted > 0 {
            let step = wanted.min(CHUNK);
            if self.storage.len() < self.len + step {
                self.storage.resize(self.len + step, 0);
            }
            let n = read_full(file, &mut self.storage[self.len..self.len + step])?;
            self.len += n;
            if n < step {
                return Ok(true);
            }
            wanted -= n;
        }
        Ok(false)
    }
}

/// How many more bytes the scan needs after `rest`, the bytes from where it stopped: the
/// rest of a frame that the chunk's end cut (at least a chunk), or, when the scan stopped at
/// damage or a footer inside the buffer, everything to the end of the file (`usize::MAX`),
/// which classifying it needs; read at once, rather than rescanning a chunk more each time.
fn more_needed(rest: &[u8]) -> usize {
    if rest.len() < FRAME_HEADER_LEN {
        return CHUNK;
    }
    let len = read_u32(rest, 0);
    let frame = FRAME_HEADER_LEN.saturating_add(len as usize);
    if (1..=MAX_BODY_LEN).contains(&len) && frame > rest.len() {
        return (frame - rest.len()).max(CHUNK);
    }
    usize::MAX
}

/// Whether everything left in `file` is zeros, read a chunk at a time through `buf`.
fn rest_is_zero(file: &mut File, buf: &mut Window) -> io::Result<bool> {
    loop {
        buf.len = 0;
        let at_eof = buf.fill(file, CHUNK)?;
        if !all_zero(buf.bytes()) {
            return Ok(false);
        }
        if at_eof {
            return Ok(true);
        }
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
    use crate::segment::scan::scan;
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

    /// A segment of records of mixed sizes (two of them longer than a chunk, so frames cross
    /// chunk boundaries anywhere) and the offset where each record starts.
    fn segment() -> (Vec<u8>, Vec<usize>, crate::record::FrameCrc) {
        use crate::merkle::Frontier;
        use crate::record::{FrameCrc, encode_frame, salt};
        use crate::segment::header::SegmentHeader;
        let header = SegmentHeader {
            log_id: [9; 16],
            first_seq: 0,
            created_at: 1,
            prev_recorded_at: i64::MIN,
            frontier: Frontier::new(),
        };
        let crc = FrameCrc::new(&salt(&header.log_id, 0));
        let mut bytes = header.encode();
        let mut starts = Vec::new();
        for seq in 0..5_000u64 {
            let len = match seq {
                1_000 => CHUNK + 4_321,
                3_500 => 3 * CHUNK / 2,
                _ => 40 + (seq as usize * 37) % 700,
            };
            starts.push(bytes.len());
            let payload = vec![(seq % 251) as u8; len];
            encode_frame(&mut bytes, &crc, seq, seq as i64 * 10, seq, &payload);
        }
        (bytes, starts, crc)
    }

    /// What a scan of a copy of `path` finds, and what the chunked scan finds, side by side;
    /// and that the counting chunked scan visits the records, at the offsets, that the scan
    /// of the copy visits.
    fn both(path: &Path, bytes: &[u8]) -> (String, String) {
        std::fs::write(path, bytes).expect("write");
        let mut visited = Vec::new();
        let copy = copy_from(path, 0).expect("copy");
        let copied = scan(path, &copy, &mut |offset, r| visited.push((offset, r.seq)));
        let chunked = match scan_chunked(path).expect("read") {
            Chunked::Scanned(scanned) => scanned,
            Chunked::NeedsCopy => panic!("zeros with data after them are not in these cases"),
        };
        let mut seen = Vec::new();
        scan_chunked_counted(path, &mut |offset, r| seen.push((offset, r.seq))).expect("read");
        if copied.is_ok() {
            assert_eq!(seen, visited, "the records visited");
        }
        (format!("{copied:?}"), format!("{chunked:?}"))
    }

    /// The chunked scan finds what a scan of a copy finds, frames crossing chunk boundaries
    /// anywhere, whatever the segment ends in: zeros, the file's end, a torn frame, a flipped
    /// bit before later valid frames, a footer.
    #[test]
    fn a_chunked_scan_finds_what_a_scan_of_a_copy_finds() {
        use crate::segment::footer::SegmentFooter;
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("0000000000000000000.seg");
        let (records, starts, crc) = segment();
        let mut cases: Vec<(&str, Vec<u8>)> = vec![("records only", records.clone())];
        let mut zeros = records.clone();
        zeros.resize(records.len() + 3 * CHUNK + 17, 0);
        cases.push(("a preallocated zero tail", zeros));
        for cut in [starts[1_000] + 5_000, starts[4_000] + 3, records.len() - 1] {
            cases.push(("a torn frame", records[..cut].to_vec()));
        }
        for at in [starts[2_000] + 30, starts[3_500] + CHUNK] {
            let mut flipped = records.clone();
            flipped[at] ^= 0x10;
            cases.push(("a flipped bit with valid frames after it", flipped));
        }
        let ok = scan(&path, &records, &mut |_, _| {}).expect("scan");
        let footer = SegmentFooter {
            record_count: 5_000,
            first_seq: 0,
            first_recorded_at: 0,
            last_recorded_at: ok.last_recorded_at,
            tree_head: ok.frontier.tree_head(),
            records_end: records.len() as u64,
        };
        let mut sealed = records.clone();
        sealed.extend_from_slice(&footer.encode(&crc));
        cases.push(("a footer", sealed));
        for (what, bytes) in cases {
            let (copied, chunked) = both(&path, &bytes);
            assert_eq!(chunked, copied, "{what}");
        }
    }

    /// Zeros with data after them are left to a scan of a copy.
    #[test]
    fn zeros_with_data_after_them_ask_for_a_copy() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("0000000000000000000.seg");
        let (mut bytes, _, _) = segment();
        bytes.resize(bytes.len() + 2 * CHUNK, 0);
        bytes.push(1);
        std::fs::write(&path, &bytes).expect("write");
        assert!(matches!(scan_chunked(&path), Ok(Chunked::NeedsCopy)));
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
