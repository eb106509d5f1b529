//! Reading cold segments: structural checks on open, one-frame random reads with a small
//! cache of decompressed frames, and the full check that rebuilds the hot image.

use super::format::{
    COLD_FORMAT_VERSION, COLD_MAGIC, ColdPrefix, FrameEntry, PREFIX_LEN, TRAILER_LEN, Trailer,
    decode_table, entry_len, readable_version,
};
use crate::error::{Corruption, CorruptionKind, Error, HeaderFault};
use crate::record::{FrameCrc, salt};
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::SegmentHeader;
use crate::segment::scan::{End, scan};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Decompressed frames kept per cold segment: enough for an iterator and a few random readers.
const CACHED_FRAMES: usize = 4;

/// The decoded structure of a cold segment (everything but the compressed frames).
#[derive(Debug, Clone)]
pub struct ColdLayout {
    pub prefix: ColdPrefix,
    pub header: SegmentHeader,
    pub footer: SegmentFooter,
    pub entries: Vec<FrameEntry>,
}

/// Decodes the prefix; one whose magic and CRC hold but whose version is not one we read is
/// [`HeaderFault::OtherVersion`] (no damage, see its conversion into `Error`).
fn decode_prefix(path: &Path, bytes: &[u8]) -> Result<ColdPrefix, Corruption> {
    ColdPrefix::decode(bytes).map_err(|why| {
        let intact = bytes.len() >= PREFIX_LEN
            && &bytes[..8] == COLD_MAGIC
            && crc32fast::hash(&bytes[..20]).to_le_bytes() == bytes[20..24];
        let found = u16::from_le_bytes([bytes[8], bytes[9]]);
        let kind = if intact && !readable_version(found) {
            CorruptionKind::BadHeader(HeaderFault::OtherVersion {
                found,
                supported: COLD_FORMAT_VERSION,
            })
        } else {
            CorruptionKind::BadColdSegment(why)
        };
        corruption(path, 0, kind)
    })
}

fn corruption(path: &Path, offset: u64, kind: CorruptionKind) -> Corruption {
    Corruption {
        file: path.to_path_buf(),
        offset,
        seq: None,
        kind,
    }
}

/// Decodes and cross-checks the layout of a cold file of `len` bytes, reading through
/// `read_at(offset, len)`. Checks every checksum but the compressed frames' own (checked as
/// each frame is read, [`decompress_frame`]).
pub fn decode_layout(
    path: &Path,
    len: u64,
    read_at: &dyn Fn(u64, usize) -> std::io::Result<Vec<u8>>,
) -> Result<ColdLayout, Corruption> {
    let bad = |offset, why: String| corruption(path, offset, CorruptionKind::BadColdSegment(why));
    let unreadable = |e: std::io::Error| bad(0, format!("unreadable: {e}"));
    let min_len = (PREFIX_LEN + FOOTER_LEN + TRAILER_LEN + 4) as u64;
    if len < min_len {
        return Err(bad(0, "file too short for a cold segment".into()));
    }
    let prefix = decode_prefix(path, &read_at(0, PREFIX_LEN).map_err(unreadable)?)?;
    let header_len = prefix.header_len as usize;
    let header_bytes = read_at(PREFIX_LEN as u64, header_len).map_err(unreadable)?;
    let header = SegmentHeader::decode(&header_bytes)
        .map_err(|e| corruption(path, PREFIX_LEN as u64 + e.offset(), e.into_kind()))?;
    if header.encoded_len() != header_len {
        return Err(bad(0, "prefix header_len differs from the header".into()));
    }
    let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
    let tail_at = len - (FOOTER_LEN + TRAILER_LEN) as u64;
    let tail = read_at(tail_at, FOOTER_LEN + TRAILER_LEN).map_err(unreadable)?;
    let trailer_at = len - TRAILER_LEN as u64;
    let trailer = Trailer::decode(&tail[FOOTER_LEN..], &crc).map_err(|why| bad(trailer_at, why))?;
    let footer = SegmentFooter::decode(&tail[..FOOTER_LEN], &crc)
        .map_err(|why| corruption(path, tail_at, CorruptionKind::BadFooter(why)))?;
    let bad_table = |why: &str| bad(trailer.table_offset, why.to_string());
    let table_len = (trailer.frame_count as u64) * entry_len(prefix.version) as u64 + 4;
    let frames_start = (PREFIX_LEN + header_len) as u64;
    if trailer.table_offset < frames_start
        || trailer.table_offset.checked_add(table_len) != Some(tail_at)
    {
        return Err(bad_table(
            "frame table does not fit between frames and footer",
        ));
    }
    let table = read_at(trailer.table_offset, table_len as usize).map_err(unreadable)?;
    let entries = decode_table(&table, trailer.frame_count, prefix.version, &crc)
        .map_err(|w| bad_table(&w))?;
    if footer.first_seq != header.first_seq {
        return Err(bad_table("footer first_seq differs from the header"));
    }
    // The frames must tile the hot records and the cold file exactly, in sequence order.
    let (mut hot, mut cold, mut seq) = (header_len as u64, frames_start, header.first_seq);
    for (i, e) in entries.iter().enumerate() {
        let starts_right = e.hot_offset == hot && e.cold_offset == cold;
        let seq_ok = if i == 0 {
            e.first_seq == seq
        } else {
            e.first_seq > seq
        };
        if !starts_right || !seq_ok || e.uncompressed_len == 0 || e.compressed_len == 0 {
            return Err(bad_table("frame table entries do not tile the segment"));
        }
        hot += e.uncompressed_len as u64;
        cold += e.compressed_len as u64;
        seq = e.first_seq;
    }
    let seq_in_range = entries.is_empty() || seq < footer.tree_head.size;
    if hot != footer.records_end || cold != trailer.table_offset || !seq_in_range {
        return Err(bad_table("frame table does not cover the records exactly"));
    }
    Ok(ColdLayout {
        prefix,
        header,
        footer,
        entries,
    })
}

/// Loads the dictionary a cold segment in `dir` refers to (none when `dict_id` is 0).
pub fn load_dictionary(path: &Path, dict_id: u32) -> Result<Option<Vec<u8>>, Corruption> {
    if dict_id == 0 {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::dictionary::load(dir, dict_id)
        .map(Some)
        .map_err(|why| corruption(path, 12, CorruptionKind::BadColdSegment(why)))
}

fn decompressor(dict: Option<&[u8]>) -> std::io::Result<zstd::bulk::Decompressor<'static>> {
    zstd::bulk::Decompressor::with_dictionary(dict.unwrap_or(&[]))
}

/// The content of the zstd frame of `entry`, from its `compressed` bytes as read (from a local
/// file or a range read of an archive bundle): checked against the entry's CRC first (version
/// 2), then decompressed to exactly `uncompressed_len` bytes. Every read of a frame goes
/// through here; the error says what failed, the caller says where.
pub fn frame_content(
    d: &mut zstd::bulk::Decompressor<'_>,
    entry: &FrameEntry,
    compressed: &[u8],
) -> Result<Vec<u8>, String> {
    entry.check_compressed(compressed)?;
    let mut out = Vec::with_capacity(entry.uncompressed_len as usize);
    d.decompress_to_buffer(compressed, &mut out)
        .map_err(|e| format!("zstd frame does not decompress: {e}"))?;
    if out.len() != entry.uncompressed_len as usize {
        return Err("zstd frame decompresses to the wrong length".into());
    }
    Ok(out)
}

/// [`frame_content`] of a frame of the local cold file `path`; damage names the frame's cold
/// offset and first record.
fn decompress_frame(
    path: &Path,
    d: &mut zstd::bulk::Decompressor<'static>,
    entry: &FrameEntry,
    compressed: &[u8],
) -> Result<Vec<u8>, Corruption> {
    frame_content(d, entry, compressed).map_err(|why| Corruption {
        seq: Some(entry.first_seq),
        ..corruption(path, entry.cold_offset, CorruptionKind::BadColdSegment(why))
    })
}

/// Rebuilds the hot segment file from the bytes of a cold one: `header ‖ frames ‖ footer`.
pub fn hot_image(path: &Path, cold: &[u8], dict: Option<&[u8]>) -> Result<Vec<u8>, Corruption> {
    let read_at = |offset: u64, len: usize| {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        cold.get(start..start.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
    };
    let layout = decode_layout(path, cold.len() as u64, &read_at)?;
    let header_end = PREFIX_LEN + layout.prefix.header_len as usize;
    let mut image = Vec::with_capacity(layout.footer.records_end as usize + FOOTER_LEN);
    image.extend_from_slice(&cold[PREFIX_LEN..header_end]);
    let mut d = decompressor(dict).map_err(|e| {
        corruption(
            path,
            12,
            CorruptionKind::BadColdSegment(format!("bad dictionary: {e}")),
        )
    })?;
    for e in &layout.entries {
        let start = e.cold_offset as usize;
        let compressed = &cold[start..start + e.compressed_len as usize];
        image.extend_from_slice(&decompress_frame(path, &mut d, e, compressed)?);
    }
    let footer_at = cold.len() - FOOTER_LEN - TRAILER_LEN;
    image.extend_from_slice(&cold[footer_at..footer_at + FOOTER_LEN]);
    Ok(image)
}

/// What a full check of a cold segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColdSummary {
    /// The segment's header (its starting tree head and frontier).
    pub header: SegmentHeader,
    /// The segment's footer (its final tree head), checked against the records.
    pub footer: SegmentFooter,
    /// Number of zstd frames.
    pub frames: usize,
    /// The dictionary used, 0 for none.
    pub dict_id: u32,
    /// Size of the cold file.
    pub compressed_bytes: u64,
    /// Size of the hot segment it decodes to.
    pub uncompressed_bytes: u64,
}

/// Checks a cold segment completely, alone: structure and checksums, every frame decompressed,
/// every record's CRC, order and time, the Merkle root recomputed from the header's frontier
/// against the footer, and that each frame starts at the record its table entry names.
/// The dictionary, if any, is loaded from the file's directory.
/// An unreadable file is `Err(Error::Io)`; damage is `Err(Error::Corrupt)`.
pub fn check(path: &Path) -> crate::Result<ColdSummary> {
    let cold =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    decode_prefix(path, &cold)?;
    Ok(decode_checked(path, &cold)?.0)
}

/// [`check`] on bytes already in memory, with the dictionary they need.
pub fn check_bytes(
    path: &Path,
    cold: &[u8],
    dict: Option<&[u8]>,
) -> Result<ColdSummary, Corruption> {
    checked_image(path, cold, dict).map(|(summary, _)| summary)
}

/// The one way from a cold file's bytes to the hot segment they encode: loads the dictionary
/// its prefix names from the file's directory, checks everything [`check`] checks, and
/// returns the summary with the hot image (decompressed once).
pub fn decode_checked(path: &Path, cold: &[u8]) -> Result<(ColdSummary, Vec<u8>), Corruption> {
    let dict = dictionary_for(path, cold)?;
    checked_image(path, cold, dict.as_deref())
}

/// The dictionary the prefix of the cold file `cold` names, loaded from the file's directory
/// (none for dictionary id 0, or for a prefix too damaged to name one, which decoding then
/// reports).
pub fn dictionary_for(path: &Path, cold: &[u8]) -> Result<Option<Vec<u8>>, Corruption> {
    let dict_id = ColdPrefix::decode(cold).map_or(0, |p| p.dict_id);
    load_dictionary(path, dict_id)
}

fn checked_image(
    path: &Path,
    cold: &[u8],
    dict: Option<&[u8]>,
) -> Result<(ColdSummary, Vec<u8>), Corruption> {
    let image = hot_image(path, cold, dict)?;
    let read_at = |offset: u64, len: usize| {
        let start = offset as usize;
        Ok(cold[start..start + len].to_vec())
    };
    let layout = decode_layout(path, cold.len() as u64, &read_at)?;
    let mut starts = Vec::new();
    let outcome = scan(path, &image, &mut |offset, r| starts.push((offset, r.seq)))?;
    let End::Footer(footer) = outcome.end else {
        return Err(corruption(
            path,
            outcome.records_end,
            CorruptionKind::UnsealedSegment,
        ));
    };
    for e in &layout.entries {
        if starts.binary_search(&(e.hot_offset, e.first_seq)).is_err() {
            return Err(corruption(
                path,
                e.cold_offset,
                CorruptionKind::BadColdSegment(
                    "a frame does not start at the record its table entry names".into(),
                ),
            ));
        }
    }
    let summary = ColdSummary {
        header: layout.header,
        footer,
        frames: layout.entries.len(),
        dict_id: layout.prefix.dict_id,
        compressed_bytes: cold.len() as u64,
        uncompressed_bytes: image.len() as u64,
    };
    Ok((summary, image))
}

/// An open cold segment: its layout, the file, and a few decompressed frames.
pub struct ColdFile {
    path: PathBuf,
    file: File,
    layout: ColdLayout,
    decompressor: Mutex<zstd::bulk::Decompressor<'static>>,
    /// Most recently used last.
    cache: Mutex<VecDeque<(usize, Arc<Vec<u8>>)>>,
}

impl std::fmt::Debug for ColdFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColdFile")
            .field("path", &self.path)
            .field("frames", &self.layout.entries.len())
            .finish_non_exhaustive()
    }
}

impl ColdFile {
    /// Opens a cold segment, checking its structure (prefix, header, table, footer, trailer,
    /// dictionary) but not its compressed content: cost independent of its size but for the
    /// frame table.
    /// An unreadable file is `Err(Error::Io)`, not damage.
    pub fn open(path: &Path) -> crate::Result<Self> {
        let unreadable = |e: std::io::Error| Error::io(format!("reading {}", path.display()), e);
        let file = File::open(path).map_err(unreadable)?;
        let len = file.metadata().map_err(unreadable)?.len();
        // A read the OS fails is an I/O error, not a bad layout: keep it to report it as such.
        // A short read stays damage (a table or offset pointing past the end of the file).
        let failed_read = std::cell::RefCell::new(None);
        let read_at = |offset: u64, n: usize| {
            let mut buf = vec![0u8; n];
            file.read_exact_at(&mut buf, offset).map_err(|e| {
                let kind = e.kind();
                if kind != std::io::ErrorKind::UnexpectedEof {
                    *failed_read.borrow_mut() = Some(e);
                }
                std::io::Error::from(kind)
            })?;
            Ok(buf)
        };
        let layout = decode_layout(path, len, &read_at);
        if let Some(e) = failed_read.take() {
            return Err(unreadable(e));
        }
        let layout = layout?;
        let dict = load_dictionary(path, layout.prefix.dict_id)?;
        let decompressor = decompressor(dict.as_deref()).map_err(|e| {
            corruption(
                path,
                12,
                CorruptionKind::BadColdSegment(format!("bad dictionary: {e}")),
            )
        })?;
        Ok(ColdFile {
            path: path.to_path_buf(),
            file,
            layout,
            decompressor: Mutex::new(decompressor),
            cache: Mutex::new(VecDeque::with_capacity(CACHED_FRAMES)),
        })
    }

    pub fn header(&self) -> &SegmentHeader {
        &self.layout.header
    }

    pub fn footer(&self) -> &SegmentFooter {
        &self.layout.footer
    }

    /// The frame holding the record `seq`: its first sequence number and hot offset.
    pub fn frame_start(&self, seq: u64) -> Option<(u64, u64)> {
        let entries = &self.layout.entries;
        let idx = entries
            .partition_point(|e| e.first_seq <= seq)
            .checked_sub(1)?;
        entries.get(idx).map(|e| (e.first_seq, e.hot_offset))
    }

    /// Reads up to `len` bytes at hot offset `offset`, never past the end of the frame that
    /// holds `offset` (record frames never span zstd frames).
    pub fn read_bytes(&self, offset: u64, len: usize) -> crate::Result<Vec<u8>> {
        let entries = &self.layout.entries;
        let Some(idx) = entries
            .partition_point(|e| e.hot_offset <= offset)
            .checked_sub(1)
        else {
            return Ok(Vec::new());
        };
        let frame = self.frame(idx)?;
        let start = (offset - entries[idx].hot_offset) as usize;
        let start = start.min(frame.len());
        let end = start.saturating_add(len).min(frame.len());
        Ok(frame[start..end].to_vec())
    }

    /// A frame that cannot be read is `Err(Error::Io)`; one that does not decompress is damage.
    fn frame(&self, idx: usize) -> crate::Result<Arc<Vec<u8>>> {
        {
            let mut cache = self.cache.lock();
            if let Some(pos) = cache.iter().position(|(i, _)| *i == idx) {
                let hit = cache.remove(pos);
                if let Some(hit) = hit {
                    let frame = hit.1.clone();
                    cache.push_back(hit);
                    return Ok(frame);
                }
            }
        }
        let entry = &self.layout.entries[idx];
        let mut compressed = vec![0u8; entry.compressed_len as usize];
        self.file
            .read_exact_at(&mut compressed, entry.cold_offset)
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        let frame = Arc::new(decompress_frame(
            &self.path,
            &mut self.decompressor.lock(),
            entry,
            &compressed,
        )?);
        let mut cache = self.cache.lock();
        if cache.len() >= CACHED_FRAMES {
            cache.pop_front();
        }
        cache.push_back((idx, frame.clone()));
        Ok(frame)
    }
}
