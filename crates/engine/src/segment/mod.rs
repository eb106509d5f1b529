//! Segments: the files that hold the log's records.
//!
//! A log directory holds segments named by their first sequence number. All but the newest are
//! sealed (they end with a footer and are immutable); the newest is the active segment the
//! writer appends to, or sealed too when the log was sealed and not yet written to since.
//! A sealed segment is read from a memory map of its hot file, or, once compressed, from its
//! cold file one zstd frame at a time (`lifecycle::cold`); readers cannot tell the difference.

pub(crate) use auditlog_format::segment::{footer, header, live, name, scan, verdict};

pub(crate) use auditlog_format::segment::{SegmentFooter, SegmentHeader};

mod candidates;
#[cfg(test)]
mod live_tests;

pub(crate) use candidates::{ActorCandidates, CandidateNoter};

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::proof::ActiveTree;
use crate::record::{
    BODY_FIXED_LEN, FRAME_HEADER_LEN, Frame, FrameCrc, MAX_BODY_LEN, RawRecord, decode_frame,
    read_u32, read_u64, salt,
};
use crate::sys::ReadMap;
use auditlog_format::cold::read::ColdFile;
use parking_lot::RwLock;
use scan::OFFSET_STRIDE;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A record read from a segment, with its payload still encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredRecord {
    pub seq: u64,
    pub recorded_at: i64,
    pub payload: Vec<u8>,
    /// Offset of the frame in its segment file.
    pub offset: u64,
}

/// One segment as the reading side sees it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    pub header: SegmentHeader,
    crc: FrameCrc,
    data: SegmentData,
}

#[derive(Debug)]
enum SegmentData {
    Sealed {
        footer: SegmentFooter,
        /// Mapped on first read.
        map: OnceLock<std::result::Result<ReadMap, String>>,
        /// Offsets of every `OFFSET_STRIDE`-th record, found on first read.
        offsets: OnceLock<Vec<u64>>,
    },
    /// A compressed sealed segment (its footer is in the cold file).
    Cold(ColdFile),
    Active {
        file: File,
        /// Offsets of every `OFFSET_STRIDE`-th record; the writer appends to it.
        offsets: RwLock<Vec<u64>>,
        /// Leaf hashes and Merkle nodes for proofs (proof/active.rs); the writer notes leaves.
        tree: ActiveTree,
        /// For a read-only handle, a map of the file up to the end of the records its open
        /// scanned (and checked): frames in that range are read from here rather than from
        /// the file, one `pread` each (`with_checked_prefix`).
        checked: Option<ReadMap>,
        /// For a read-only handle opened for a query of one actor, the records of the checked
        /// prefix that may be that actor's, noted by the open's scan (candidates.rs).
        candidates: Option<ActorCandidates>,
    },
}

impl Segment {
    /// A sealed segment known by its header and footer.
    pub(crate) fn sealed(path: PathBuf, header: SegmentHeader, footer: SegmentFooter) -> Self {
        let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
        let data = SegmentData::Sealed {
            footer,
            map: OnceLock::new(),
            offsets: OnceLock::new(),
        };
        Segment {
            path,
            header,
            crc,
            data,
        }
    }

    /// A cold (compressed) segment, opened and structurally checked.
    pub(crate) fn cold(path: PathBuf, cold: ColdFile) -> Self {
        let header = cold.header().clone();
        let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
        Segment {
            path,
            header,
            crc,
            data: SegmentData::Cold(cold),
        }
    }

    /// Whether this segment is read from a cold (compressed) file.
    pub(crate) fn is_cold(&self) -> bool {
        matches!(self.data, SegmentData::Cold(_))
    }

    /// The active segment, with the offsets of the records already in it.
    pub(crate) fn active(path: PathBuf, header: SegmentHeader, offsets: Vec<u64>) -> Result<Self> {
        let file = File::open(&path)
            .map_err(|e| Error::io(format!("opening {} for reading", path.display()), e))?;
        let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
        let data = SegmentData::Active {
            file,
            offsets: RwLock::new(offsets),
            tree: ActiveTree::new(header.first_seq),
            checked: None,
            candidates: None,
        };
        Ok(Segment {
            path,
            header,
            crc,
            data,
        })
    }

    /// An active segment that reads the frames before `records_end`, the end of the records
    /// the read-only open scanned and checked, from a map of exactly that prefix of the file
    /// (every frame read is checked again). A read-only handle cannot map the whole of a
    /// segment that a writer may still trim, but the records it found valid are never cut
    /// (`sys::ReadMap::prefix`); reading them a `pread` per frame cost more than the rest of
    /// a query over them, and copying them into fresh memory more than scanning them.
    /// The map only saves reads: if it cannot be made (no address space, say), the frames
    /// are read from the file as later ones are, and the open does not fail for it.
    /// `noted` are the records of one actor its open noted in that prefix, if it noted any.
    pub(crate) fn with_checked_prefix(
        mut self,
        records_end: u64,
        noted: Option<ActorCandidates>,
    ) -> Self {
        if let SegmentData::Active {
            file,
            checked,
            candidates,
            ..
        } = &mut self.data
        {
            *checked = ReadMap::prefix(file, records_end).ok();
            *candidates = noted;
        }
        self
    }

    /// The records of one actor that a read-only open noted in this segment's checked prefix
    /// (candidates.rs), if it noted any.
    pub(crate) fn open_candidates(&self) -> Option<&ActorCandidates> {
        match &self.data {
            SegmentData::Active { candidates, .. } => candidates.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn first_seq(&self) -> u64 {
        self.header.first_seq
    }

    /// The footer, if sealed.
    pub(crate) fn footer(&self) -> Option<&SegmentFooter> {
        match &self.data {
            SegmentData::Sealed { footer, .. } => Some(footer),
            SegmentData::Cold(cold) => Some(cold.footer()),
            SegmentData::Active { .. } => None,
        }
    }

    /// Records the offset of a record the writer just wrote (every `OFFSET_STRIDE`-th).
    pub(crate) fn note_offset(&self, seq: u64, offset: u64) {
        if let SegmentData::Active { offsets, .. } = &self.data
            && (seq - self.header.first_seq).is_multiple_of(OFFSET_STRIDE)
        {
            offsets.write().push(offset);
        }
    }

    /// Records the leaf hashes of records `first..` the writer just committed, for proofs.
    pub(crate) fn note_leaves(&self, first: u64, leaves: &[crate::merkle::Hash]) {
        if let SegmentData::Active { tree, .. } = &self.data {
            tree.note_leaves(first, leaves);
        }
    }

    /// The in-memory Merkle nodes of an active segment (`None` once sealed).
    pub(crate) fn active_tree(&self) -> Option<&ActiveTree> {
        match &self.data {
            SegmentData::Active { tree, .. } => Some(tree),
            _ => None,
        }
    }

    /// Adds offsets found by following the segment from another process (read-only handles).
    pub(crate) fn push_offsets(&self, found: &[u64]) {
        if let SegmentData::Active { offsets, .. } = &self.data {
            offsets.write().extend_from_slice(found);
        }
    }

    /// The offsets recorded so far (used when the writer seals this segment).
    pub(crate) fn offsets_snapshot(&self) -> Vec<u64> {
        match &self.data {
            SegmentData::Active { offsets, .. } => offsets.read().clone(),
            SegmentData::Sealed { offsets, .. } => offsets.get().cloned().unwrap_or_default(),
            SegmentData::Cold(_) => Vec::new(),
        }
    }

    /// Hands over already-known offsets to a freshly sealed segment.
    pub(crate) fn with_offsets(self, known: Vec<u64>) -> Self {
        if let SegmentData::Sealed { offsets, .. } = &self.data {
            let _ = offsets.set(known);
        }
        self
    }

    /// The error for a record at `offset` whose payload does not decode (its frame's CRC
    /// matched, so the damage predates the write or the CRC missed it).
    pub(crate) fn bad_payload(&self, offset: u64, seq: u64, why: impl std::fmt::Display) -> Error {
        self.corrupt(
            offset,
            Some(seq),
            CorruptionKind::BadPayload(why.to_string()),
        )
    }

    fn corrupt(&self, offset: u64, seq: Option<u64>, kind: CorruptionKind) -> Error {
        Error::Corrupt(Box::new(Corruption {
            file: self.path.clone(),
            offset,
            seq,
            kind,
        }))
    }

    fn map(&self) -> Result<Option<&ReadMap>> {
        let SegmentData::Sealed { map, .. } = &self.data else {
            return Ok(None);
        };
        let mapped = map.get_or_init(|| {
            File::open(&self.path)
                .and_then(|f| ReadMap::new(&f))
                .map_err(|e| e.to_string())
        });
        match mapped {
            Ok(m) => Ok(Some(m)),
            Err(e) => Err(Error::io(
                format!("mapping {}", self.path.display()),
                std::io::Error::other(e.clone()),
            )),
        }
    }

    /// `len` bytes at `offset` (fewer at the end of the file): borrowed from the map of a
    /// sealed segment, otherwise read into `scratch` (whose allocation is reused).
    fn bytes_at<'a>(
        &'a self,
        offset: u64,
        len: usize,
        scratch: &'a mut Vec<u8>,
    ) -> Result<&'a [u8]> {
        if let SegmentData::Cold(cold) = &self.data {
            *scratch = cold.read_bytes(offset, len)?;
            return Ok(scratch);
        }
        if let Some(map) = self.map()? {
            let start = (offset as usize).min(map.len());
            let end = start.saturating_add(len).min(map.len());
            return Ok(&map[start..end]);
        }
        let SegmentData::Active { file, checked, .. } = &self.data else {
            return Ok(&[]);
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        if let Some(bytes) = checked.as_ref().and_then(|map| {
            let end = start.checked_add(len)?;
            map.get(start..end)
        }) {
            return Ok(bytes);
        }
        scratch.clear();
        scratch.resize(len, 0);
        let mut filled = 0;
        while filled < len {
            match file.read_at(&mut scratch[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::io(format!("reading {}", self.path.display()), e));
                }
            }
        }
        scratch.truncate(filled);
        Ok(scratch)
    }

    /// Touches the first and last bytes of a frame of `len` bytes at `offset` of a mapped
    /// segment, so that a later read of it does not wait for memory: a query calls this for
    /// several frames before reading the first, and the processor fetches them (page-table
    /// walks and cache lines) in parallel instead of one after another. Returns a value
    /// derived from the bytes, for the caller to hand to `black_box` so the loads stay.
    pub(crate) fn touch(&self, offset: u64, len: usize) -> u8 {
        let Ok(Some(map)) = self.map() else {
            return 0;
        };
        let at = |i: u64| usize::try_from(i).ok().and_then(|i| map.get(i).copied());
        let last = offset.saturating_add(len.saturating_sub(1) as u64);
        at(offset).unwrap_or(0) ^ at(last).unwrap_or(0)
    }

    /// Reads and checks the frame at `offset`, which must hold record `seq`.
    pub(crate) fn read_frame(&self, offset: u64, seq: u64) -> Result<StoredRecord> {
        let mut scratch = Vec::new();
        let r = self.frame(offset, seq, &mut scratch)?;
        Ok(StoredRecord {
            seq,
            recorded_at: r.recorded_at,
            payload: r.payload.to_vec(),
            offset,
        })
    }

    /// Reads and checks the frame at `offset`, which must hold record `seq`, without copying
    /// it where the segment is mapped: the query path's read. `scratch` holds the bytes
    /// of active and cold segments; pass the same one for every frame to reuse it.
    pub(crate) fn frame<'a>(
        &'a self,
        offset: u64,
        seq: u64,
        scratch: &'a mut Vec<u8>,
    ) -> Result<RawRecord<'a>> {
        let (bytes, len) = match self.map()? {
            // Mapped: header and frame sliced from one lookup of the map (a query reads a
            // thousand frames per call this way).
            Some(map) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(map.len());
                let rest = &map[start..];
                let len = self.checked_len(rest, offset, seq)?;
                let end = (FRAME_HEADER_LEN + len as usize).min(rest.len());
                (&rest[..end], len)
            }
            None => {
                let got = self.bytes_at(offset, FRAME_HEADER_LEN, &mut *scratch)?;
                let len = self.checked_len(got, offset, seq)?;
                let bytes = self.bytes_at(offset, FRAME_HEADER_LEN + len as usize, scratch)?;
                (bytes, len)
            }
        };
        match decode_frame(bytes, &self.crc) {
            Frame::Record(r) if r.seq == seq => Ok(r),
            Frame::Record(r) => {
                let kind = CorruptionKind::SequenceMismatch {
                    expected: seq,
                    found: r.seq,
                };
                Err(self.corrupt(offset, Some(seq), kind))
            }
            Frame::BadChecksum { stored, computed } => Err(self.corrupt(
                offset,
                Some(seq),
                CorruptionKind::ChecksumMismatch { stored, computed },
            )),
            _ => Err(self.corrupt(offset, Some(seq), CorruptionKind::BadLength(len))),
        }
    }

    /// The frame at `offset`, if it holds record `seq` and lies in the prefix a read-only
    /// open scanned (`with_checked_prefix`), whose every frame's CRC that scan checked: its
    /// CRC is not checked again. Only for passing over records a query cannot match
    /// (`query::exec`, `FrameReader::run`): a frame the query reads is read through
    /// [`frame`](Self::frame), checked. `None` anywhere else.
    pub(crate) fn checked_frame(&self, offset: u64, seq: u64) -> Option<RawRecord<'_>> {
        let SegmentData::Active {
            checked: Some(map), ..
        } = &self.data
        else {
            return None;
        };
        let rest = map.get(usize::try_from(offset).ok()?..)?;
        let len = read_u32(rest.get(..FRAME_HEADER_LEN)?, 0) as usize;
        let body = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN.checked_add(len)?)?;
        let record = RawRecord {
            seq: read_u64(body.get(..BODY_FIXED_LEN)?, 0),
            recorded_at: read_u64(body, 8) as i64,
            durable_size: read_u64(body, 16),
            payload: &body[BODY_FIXED_LEN..],
        };
        (record.seq == seq).then_some(record)
    }

    /// The body length in the frame header at the start of `bytes`, if it is one a frame
    /// can have.
    fn checked_len(&self, bytes: &[u8], offset: u64, seq: u64) -> Result<u32> {
        let len = match bytes.get(..FRAME_HEADER_LEN) {
            Some(head) => read_u32(head, 0),
            None => 0,
        };
        match (1..=MAX_BODY_LEN).contains(&len) {
            true => Ok(len),
            false => Err(self.corrupt(offset, Some(seq), CorruptionKind::BadLength(len))),
        }
    }

    /// The offset of the frame holding `seq`, which the caller knows is in this segment.
    pub(crate) fn offset_of(&self, seq: u64) -> Result<u64> {
        let rel = seq - self.header.first_seq;
        let slot = (rel / OFFSET_STRIDE) as usize;
        let mut at = self.header.first_seq + slot as u64 * OFFSET_STRIDE;
        let start = match &self.data {
            SegmentData::Cold(cold) => cold.frame_start(seq).map(|(first, offset)| {
                at = first;
                offset
            }),
            SegmentData::Active { offsets, .. } => offsets.read().get(slot).copied(),
            SegmentData::Sealed { offsets, .. } => {
                let offsets = match offsets.get() {
                    Some(o) => o,
                    None => {
                        let found = self.walk_offsets()?;
                        offsets.get_or_init(|| found)
                    }
                };
                offsets.get(slot).copied()
            }
        };
        let Some(mut offset) = start else {
            return Err(self.corrupt(
                0,
                Some(seq),
                CorruptionKind::BadFooter("record missing".into()),
            ));
        };
        let mut scratch = Vec::new();
        while at < seq {
            offset += self.frame_len_in(offset, at, &mut scratch)?;
            at += 1;
        }
        Ok(offset)
    }

    /// The length of the frame at `offset` (header included), from its header alone: for
    /// stepping over frames without reading or checking them.
    pub(crate) fn frame_len_at(&self, offset: u64) -> Result<u64> {
        self.frame_len_in(offset, u64::MAX, &mut Vec::new())
            .map_err(|e| match e {
                Error::Corrupt(mut c) => {
                    c.seq = None;
                    Error::Corrupt(c)
                }
                e => e,
            })
    }

    /// As [`Segment::frame_len_at`], for record `seq` (named in errors), reading through
    /// `scratch` where the segment is not mapped.
    fn frame_len_in(&self, offset: u64, seq: u64, scratch: &mut Vec<u8>) -> Result<u64> {
        let head = self.bytes_at(offset, FRAME_HEADER_LEN, scratch)?;
        if head.len() < FRAME_HEADER_LEN {
            return Err(self.corrupt(offset, Some(seq), CorruptionKind::BadLength(0)));
        }
        let len = read_u32(head, 0);
        if !(1..=MAX_BODY_LEN).contains(&len) {
            return Err(self.corrupt(offset, Some(seq), CorruptionKind::BadLength(len)));
        }
        Ok((FRAME_HEADER_LEN + len as usize) as u64)
    }

    /// Finds the offsets of a sealed segment by walking its frame lengths (CRCs are checked
    /// when records are read).
    fn walk_offsets(&self) -> Result<Vec<u64>> {
        let Some(footer) = self.footer() else {
            return Ok(Vec::new());
        };
        let Some(map) = self.map()? else {
            return Ok(Vec::new());
        };
        let mut offsets = Vec::with_capacity((footer.record_count / OFFSET_STRIDE + 1) as usize);
        let mut pos = self.header.encoded_len() as u64;
        for i in 0..footer.record_count {
            if i % OFFSET_STRIDE == 0 {
                offsets.push(pos);
            }
            let len = map
                .get(pos as usize..pos as usize + 4)
                .map(|b| read_u32(b, 0))
                .filter(|len| (1..=MAX_BODY_LEN).contains(len));
            let Some(len) = len else {
                let seq = self.header.first_seq + i;
                return Err(self.corrupt(pos, Some(seq), CorruptionKind::BadLength(0)));
            };
            pos += (FRAME_HEADER_LEN + len as usize) as u64;
        }
        if pos != footer.records_end {
            let kind =
                CorruptionKind::BadFooter("records do not end where the footer starts".into());
            return Err(self.corrupt(pos, None, kind));
        }
        Ok(offsets)
    }
}

/// The bytes of a segment file as a hot segment: a hot file as it is, a cold one decoded to
/// the hot image it replaced (for code that replays records, like checkpoint signing).
pub(crate) fn hot_bytes(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if !name::is_cold(path) {
        return Ok(bytes);
    }
    let dict = auditlog_format::cold::read::dictionary_for(path, &bytes)?;
    Ok(auditlog_format::cold::read::hot_image(
        path,
        &bytes,
        dict.as_deref(),
    )?)
}
