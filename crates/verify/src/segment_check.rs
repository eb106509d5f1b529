//! Verifying one segment file on its own: frames, payloads, hashes, footer.
//!
//! The chain between segments is checked afterwards (chain.rs), from what this returns.

use super::split::check_split;
use crate::cold::read::decode_checked;
use crate::error::{Corruption, CorruptionKind, Error, HeaderFault};
use crate::event::codec::{decode_payload, validate_payload};
use crate::merkle::Hash;
use crate::record::{BODY_FIXED_LEN, FOOTER_TAG, FRAME_HEADER_LEN, read_u32};
use crate::segment::footer::{FOOTER_LEN, FOOTER_MAGIC};
use crate::segment::header::check_version;
use crate::segment::name::is_cold;
use crate::segment::scan::{ScanOutcome, scan};
use crate::segment::verdict::Verdict;
use crate::sys::ReadMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// How often the newest segment of a live log is re-read when it looks damaged, so that a
/// group the writer was writing while we read (and which a later group already follows on
/// disk) is not mistaken for damage. Real damage persists across re-reads; a race does not.
const LIVE_REREADS: usize = 3;

/// The bytes of a segment: sealed segments are mapped; a newest segment that is not sealed
/// yet is copied, because the writer trims its preallocated end when sealing it and a mapped
/// page past the new end would fault (and recovery in a process opening the log may cut a
/// torn tail). A sealed newest segment (its last `FOOTER_LEN` bytes start with the footer tag
/// and magic, which the writer writes after the trim) only ever stays as it is, so it is
/// mapped like the others.
enum SegmentBytes {
    Mapped(ReadMap),
    Copied(Vec<u8>),
}

impl Deref for SegmentBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SegmentBytes::Mapped(m) => m,
            SegmentBytes::Copied(v) => v,
        }
    }
}

/// Reads a segment's bytes: a cold segment (FORMAT.md §8) is checked structurally (prefix,
/// frame table, trailer, every frame decompressed and starting at the record its table names)
/// and decoded to the hot image it replaced, which is then checked like any hot segment.
/// A file that cannot be read is `Err(Error::Io)`, never damage: the bytes may be intact.
fn segment_bytes(path: &Path, copy: bool) -> Result<SegmentBytes, Error> {
    let unreadable = |e| Error::io(format!("reading {}", path.display()), e);
    if !is_cold(path) {
        return read_bytes(path, copy).map_err(unreadable);
    }
    let cold = std::fs::read(path).map_err(unreadable)?;
    let (_, image) = decode_checked(path, &cold)?;
    Ok(SegmentBytes::Copied(image))
}

fn read_bytes(path: &Path, newest: bool) -> std::io::Result<SegmentBytes> {
    let mut file = File::open(path)?;
    if newest && !ends_with_footer(&mut file)? {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Ok(SegmentBytes::Copied(bytes));
    }
    ReadMap::new(&file).map(SegmentBytes::Mapped)
}

/// Whether the file's last `FOOTER_LEN` bytes start with the footer tag and magic: the
/// segment is sealed (a damaged footer is reported by the scan; no writer trims it either).
fn ends_with_footer(file: &mut File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    let Some(at) = len.checked_sub(FOOTER_LEN as u64) else {
        return Ok(false);
    };
    let mut start = [0u8; 12];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut start)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(start[..4] == FOOTER_TAG.to_le_bytes() && start[4..] == FOOTER_MAGIC[..])
}

/// One segment to check.
#[derive(Debug, Clone)]
pub struct SegmentJob {
    pub path: PathBuf,
    /// The first sequence number its file name promises (`None` for a lone segment file).
    pub name_seq: Option<u64>,
    /// Whether this is the newest segment, whose tail may still be written.
    pub newest: bool,
}

/// What checking one segment found.
#[derive(Debug)]
pub struct SegmentCheck {
    pub job: SegmentJob,
    pub bytes: u64,
    /// The scan, or the damage that stopped it before its end was known.
    pub outcome: Result<ScanOutcome, Corruption>,
    /// Why the segment could not be checked at all, when that is not damage: it cannot be
    /// read (I/O error), or it is of a format version this build does not read. The
    /// verification then fails with this error instead of reporting (`outcome` is moot).
    pub failed: Option<Error>,
    /// Records whose payload does not decode as an event.
    pub payload_problems: Vec<Corruption>,
    /// Leaf hashes of the valid records, when asked for.
    pub leaves: Vec<Hash>,
}

impl SegmentCheck {
    /// Whether the scan of the newest segment ended in damage (FORMAT.md §5.3) that a live
    /// writer could have caused by racing us.
    fn looks_damaged(&self) -> bool {
        if self.failed.is_some() {
            return true; // perhaps a file renamed or replaced under us: worth another look
        }
        match &self.outcome {
            Err(_) => true,
            Ok(o) => matches!(o.verdict(true), Verdict::Damage { .. }),
        }
    }
}

/// Checks one segment: every frame's CRC, sequence and time order, every payload's decoding,
/// the Merkle frontier from the header's state to the footer's tree head.
pub fn check_segment(job: SegmentJob, decode: bool, collect_leaves: bool) -> SegmentCheck {
    check_segment_on(job, decode, collect_leaves, 1)
}

/// [`check_segment`] with the per-record work of an intact segment done block by block
/// (split.rs) and, with `threads` > 1, spread over that many threads; the same result.
pub fn check_segment_on(
    job: SegmentJob,
    decode: bool,
    collect_leaves: bool,
    threads: usize,
) -> SegmentCheck {
    let mut check = check_once(&job, decode, collect_leaves, Some(threads));
    let mut rereads = 0;
    while job.newest && check.looks_damaged() && rereads < LIVE_REREADS {
        rereads += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
        check = check_once(&job, decode, collect_leaves, Some(threads));
    }
    check
}

/// [`check_segment`] by the record-by-record scan alone: the reference the block-wise fast
/// path is tested against.
#[cfg(test)]
pub fn check_segment_by_scan(job: SegmentJob, decode: bool, collect_leaves: bool) -> SegmentCheck {
    check_once(&job, decode, collect_leaves, None)
}

/// The problem reported for the payload of record `seq` at `offset`, if it does not decode.
/// Validation accepts exactly what decoding accepts, without building the event; the rare
/// failure is decoded again for decoding's own message.
fn payload_problem(path: &Path, offset: u64, seq: u64, payload: &[u8]) -> Option<Corruption> {
    if validate_payload(payload).is_ok() {
        return None;
    }
    let e = decode_payload(payload).err()?;
    Some(Corruption {
        file: path.to_path_buf(),
        offset,
        seq: Some(seq),
        kind: CorruptionKind::BadPayload(e.to_string()),
    })
}

/// One check of the segment: block-wise on `fast` threads when it is intact (else, and with
/// `fast` = `None`, by the record-by-record scan).
fn check_once(
    job: &SegmentJob,
    decode: bool,
    collect_leaves: bool,
    fast: Option<usize>,
) -> SegmentCheck {
    let path = &job.path;
    let mut check = SegmentCheck {
        job: job.clone(),
        bytes: 0,
        // Replaced below, or moot once `failed` is set.
        outcome: Err(Corruption {
            file: path.clone(),
            offset: 0,
            seq: None,
            kind: CorruptionKind::BadHeader(HeaderFault::Truncated),
        }),
        failed: None,
        payload_problems: Vec::new(),
        leaves: Vec::new(),
    };
    let bytes = match segment_bytes(path, job.newest) {
        Ok(b) => b,
        Err(Error::Corrupt(c)) => {
            check.outcome = Err(*c);
            return check;
        }
        Err(e) => {
            check.failed = Some(e);
            return check;
        }
    };
    if let Err(e) = check_version(path, &bytes) {
        check.failed = Some(e);
        return check;
    }
    check.bytes = bytes.len() as u64;
    // The block-wise fast path (split.rs, batched SIMD hashing) on any number of threads; the
    // record-by-record scan below only for segments it does not find intact.
    if let Some(threads) = fast
        && let Some(split) = check_split(&bytes, threads, decode, collect_leaves)
    {
        check.payload_problems = split
            .bad_payloads
            .iter()
            .filter_map(|&(offset, seq)| {
                let payload = payload_at(&bytes, offset)?;
                payload_problem(path, offset, seq, payload)
            })
            .collect();
        check.outcome = Ok(split.outcome);
        if collect_leaves {
            check.leaves = split.leaves;
        }
        return check;
    }
    let mut payload_problems = Vec::new();
    let mut leaves = Vec::new();
    let outcome = scan(path, &bytes, &mut |offset, record| {
        if decode && let Some(problem) = payload_problem(path, offset, record.seq, record.payload) {
            payload_problems.push(problem);
        }
        if collect_leaves {
            leaves.push(record.leaf_hash());
        }
    });
    check.outcome = outcome;
    check.payload_problems = payload_problems;
    check.leaves = leaves;
    check
}

/// The payload of the (already checked) record frame at `offset`.
fn payload_at(bytes: &[u8], offset: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = read_u32(bytes.get(start..)?, 0) as usize;
    bytes.get(start + FRAME_HEADER_LEN + BODY_FIXED_LEN..start + FRAME_HEADER_LEN + len)
}
