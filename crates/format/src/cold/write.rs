//! Building a cold segment from a sealed hot one.
//!
//! The hot file is scanned in full first (CRCs, sequence, time order, Merkle root against its
//! footer), so damage is never baked into a cold file. Its record frames are cut into runs of
//! at least `frame_bytes` uncompressed bytes (whole frames only: a record never spans two zstd
//! frames, so reading one record decompresses one frame), each run compressed as an
//! independent zstd frame. The result is decoded again and compared byte for byte with the hot
//! file before anyone writes it to disk.

use super::format::{
    COLD_FORMAT_VERSION, ColdPrefix, FrameEntry, PREFIX_LEN, Trailer, encode_table,
};
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::record::{FrameCrc, salt};
use crate::segment::footer::FOOTER_LEN;
use crate::segment::scan::{End, scan};
use std::path::Path;

/// How a segment is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressOptions {
    /// zstd level. Default 9: on audit records nearly the ratio of level 19 at several times
    /// its speed (see docs/BENCHMARKS.md, "Cold segments").
    pub level: i32,
    /// Target uncompressed bytes per zstd frame; a frame is closed once it reaches this size.
    /// Default 32 KiB: one random read decompresses ~32 KiB (tens of microseconds) while
    /// zstd still sees enough context for most of its ratio.
    pub frame_bytes: usize,
    /// Whether to compress with a trained dictionary (reusing the newest one in the directory,
    /// or training one from the first segment compressed). Default false: it pays off mainly
    /// for frames of 16 KiB or less.
    pub dictionary: bool,
    /// Largest dictionary to train, in bytes. Default 64 KiB.
    pub dictionary_max_bytes: usize,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            level: 9,
            frame_bytes: 32 * 1024,
            dictionary: false,
            dictionary_max_bytes: 64 * 1024,
        }
    }
}

/// A dictionary to compress with: its id and bytes.
pub type Dictionary<'a> = Option<(u32, &'a [u8])>;

/// Offsets (in the hot file) of every record frame, with its sequence number; checks the hot
/// segment completely on the way.
pub fn record_offsets(path: &Path, hot: &[u8]) -> Result<(Vec<(u64, u64)>, u64)> {
    let mut offsets = Vec::new();
    let outcome = scan(path, hot, &mut |offset, record| {
        offsets.push((offset, record.seq))
    })
    .map_err(|c| Error::Corrupt(Box::new(c)))?;
    match outcome.end {
        End::Footer(footer) => Ok((offsets, footer.records_end)),
        _ => Err(Error::corrupt(
            path,
            outcome.records_end,
            None,
            CorruptionKind::UnsealedSegment,
        )),
    }
}

/// Builds the bytes of the cold segment equivalent to the sealed hot segment `hot`.
pub fn build(
    path: &Path,
    hot: &[u8],
    options: &CompressOptions,
    dict: Dictionary<'_>,
) -> Result<Vec<u8>> {
    let (offsets, records_end) = record_offsets(path, hot)?;
    let header = crate::segment::SegmentHeader::decode(hot)
        .map_err(|e| Error::corrupt(path, e.offset(), None, e.into_kind()))?;
    let header_len = header.encoded_len();
    let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
    let mut compressor = match dict {
        Some((_, bytes)) => zstd::bulk::Compressor::with_dictionary(options.level, bytes),
        None => zstd::bulk::Compressor::new(options.level),
    }
    .map_err(|e| Error::io("creating a zstd compressor", e))?;

    let mut out = Vec::with_capacity(hot.len() / 4);
    out.extend_from_slice(
        &ColdPrefix {
            version: COLD_FORMAT_VERSION,
            dict_id: dict.map_or(0, |(id, _)| id),
            header_len: header_len as u32,
        }
        .encode(),
    );
    out.extend_from_slice(&hot[..header_len]);
    let mut entries = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let (start, first_seq) = offsets[i];
        let mut end = records_end;
        let mut j = i + 1;
        while j < offsets.len() {
            if offsets[j].0 - start >= options.frame_bytes as u64 {
                end = offsets[j].0;
                break;
            }
            j += 1;
        }
        let run = &hot[start as usize..end as usize];
        let compressed = compressor
            .compress(run)
            .map_err(|e| Error::io(format!("compressing {}", path.display()), e))?;
        entries.push(FrameEntry {
            first_seq,
            hot_offset: start,
            cold_offset: out.len() as u64,
            compressed_len: compressed.len() as u32,
            uncompressed_len: run.len() as u32,
            compressed_crc: Some(crc32fast::hash(&compressed)),
        });
        out.extend_from_slice(&compressed);
        i = j;
    }
    let table_offset = out.len() as u64;
    out.extend_from_slice(&encode_table(&entries, &crc));
    out.extend_from_slice(&hot[records_end as usize..records_end as usize + FOOTER_LEN]);
    out.extend_from_slice(
        &Trailer {
            table_offset,
            frame_count: entries.len() as u32,
        }
        .encode(&crc),
    );
    debug_assert!(out.len() > PREFIX_LEN);
    Ok(out)
}

/// Fails unless `cold` decodes to exactly `hot`.
pub fn check_equal(path: &Path, cold: &[u8], hot: &[u8], dict: Option<&[u8]>) -> Result<()> {
    let image =
        super::read::hot_image(path, cold, dict).map_err(|c| Error::Corrupt(Box::new(c)))?;
    if image != hot {
        return Err(Error::Corrupt(Box::new(Corruption {
            file: path.to_path_buf(),
            offset: 0,
            seq: None,
            kind: CorruptionKind::BadColdSegment(
                "the compressed segment does not decode to the original".into(),
            ),
        })));
    }
    Ok(())
}
