//! Reading one archived record straight from the bucket: the bundle that holds it, then,
//! for a cold segment, the layout (prefix, header, tail and frame table: four range reads)
//! and the one zstd frame that holds the record, never the whole segment.
//!
//! A record read this way has its frame CRC checked (the CRC is keyed by the segment's salt,
//! so a frame copied from elsewhere fails too); it is not proved against the tree. Verify the
//! archive (`auditlog verify s3://...`) to prove the bundles.

use crate::error::{Error, Result};
use crate::head::{log_id_hex, read_head};
use crate::store::S3Store;
use crate::verify::list_bundles;
use auditlog::Record;
use auditlog::lifecycle::archive::{MANIFEST_NAME, Manifest};
use auditlog_format::cold::read::decode_layout;
use auditlog_format::event::decode_payload;
use auditlog_format::record::{Frame, FrameCrc, decode_frame, salt};
use auditlog_format::segment::SegmentHeader;
use auditlog_format::timestamp::Timestamp;
use std::path::Path;

/// One log's archive, for reading records.
#[derive(Debug, Clone)]
pub struct ArchiveReader {
    store: S3Store,
    log_id: String,
    /// (first_seq, bundle name), by first_seq.
    bundles: Vec<(u64, String)>,
}

/// How a record was fetched, for measurements and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Requests made.
    pub requests: u32,
    /// Bytes fetched.
    pub bytes: u64,
    /// Of those, bytes of the segment object (layout and frame, or the whole hot segment).
    pub segment_bytes: u64,
}

fn bad(what: String) -> Error {
    Error::Io {
        context: "reading the archive".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    }
}

impl ArchiveReader {
    /// The archive of log `log_id` in `store` (its bundles from the head object, or listed).
    pub fn open(store: &S3Store, log_id: &[u8; 16]) -> Result<Self> {
        let hex = log_id_hex(log_id);
        let mut bundles: Vec<(u64, String)> = match read_head(store, &hex).ok().flatten() {
            Some(h) => h
                .bundles
                .into_iter()
                .map(|b| (b.first_seq, b.name))
                .collect(),
            None => list_bundles(store, &hex)?
                .bundles
                .into_iter()
                .filter_map(|n| Some((n.rsplit('-').next()?.parse().ok()?, n)))
                .collect(),
        };
        bundles.sort();
        Ok(ArchiveReader {
            store: store.clone(),
            log_id: hex,
            bundles,
        })
    }

    /// The log id, in hex.
    pub fn log_id(&self) -> &str {
        &self.log_id
    }

    /// Record `seq`, or `None` if no bundle holds it.
    pub fn get(&self, seq: u64) -> Result<Option<(Record, ReadStats)>> {
        let Some((_, bundle)) = self.bundles.iter().rev().find(|(first, _)| *first <= seq) else {
            return Ok(None);
        };
        let mut stats = ReadStats::default();
        let base = format!("{}/{bundle}", self.log_id);
        let Some(text) = self.store.get(&format!("{base}/{MANIFEST_NAME}"))? else {
            return Ok(None);
        };
        stats.requests += 1;
        stats.bytes += text.len() as u64;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| bad(format!("{base}/{MANIFEST_NAME} is not valid JSON: {e}")))?;
        if seq >= manifest.end_seq {
            return Ok(None);
        }
        let segment = manifest
            .files
            .iter()
            .find(|f| f.role == "segment")
            .ok_or_else(|| bad(format!("{base}: the manifest lists no segment")))?;
        let key = format!("{base}/{}", segment.name);
        let path = Path::new(&segment.name);
        let (bytes, crc) = if segment.name.ends_with(".zseg") {
            self.cold_frame(&base, &key, path, segment.size, seq, &manifest, &mut stats)?
        } else {
            // A hot segment has no frame table: fetch it whole.
            let bytes = self
                .store
                .get(&key)?
                .ok_or_else(|| bad(format!("{key} is missing")))?;
            stats.requests += 1;
            stats.bytes += bytes.len() as u64;
            stats.segment_bytes += bytes.len() as u64;
            let header = SegmentHeader::decode(&bytes)
                .map_err(|e| bad(format!("{key}: bad header: {e:?}")))?;
            let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
            let records = bytes[header.encoded_len()..].to_vec();
            (records, crc)
        };
        let mut at = 0;
        while at < bytes.len() {
            match decode_frame(&bytes[at..], &crc) {
                Frame::Record(r) if r.seq == seq => {
                    let event = decode_payload(r.payload)
                        .map_err(|e| bad(format!("{key}: record #{seq}: {e}")))?;
                    let record = Record {
                        seq,
                        recorded_at: Timestamp::from_nanos(r.recorded_at),
                        event,
                    };
                    return Ok(Some((record, stats)));
                }
                Frame::Record(r) => at += r.frame_len(),
                other => return Err(bad(format!("{key}: record #{seq}: {other:?}"))),
            }
        }
        Err(bad(format!(
            "{key}: record #{seq} is not where the frame table says"
        )))
    }

    /// The decompressed zstd frame of cold segment `key` that holds `seq`, by range reads.
    #[expect(clippy::too_many_arguments, reason = "one private step of get")]
    fn cold_frame(
        &self,
        base: &str,
        key: &str,
        path: &Path,
        len: u64,
        seq: u64,
        manifest: &Manifest,
        stats: &mut ReadStats,
    ) -> Result<(Vec<u8>, FrameCrc)> {
        let requests = std::cell::Cell::new(0u32);
        let fetched = std::cell::Cell::new(0u64);
        let read_at = |offset: u64, n: usize| {
            requests.set(requests.get() + 1);
            fetched.set(fetched.get() + n as u64);
            self.store
                .get_range(key, offset..offset + n as u64)
                .map_err(std::io::Error::other)
        };
        let layout = decode_layout(path, len, &read_at).map_err(|c| bad(format!("{key}: {c}")))?;
        stats.requests += requests.get();
        stats.bytes += fetched.get();
        stats.segment_bytes += fetched.get();
        let idx = layout
            .entries
            .partition_point(|e| e.first_seq <= seq)
            .checked_sub(1)
            .ok_or_else(|| bad(format!("{key}: no frame holds record #{seq}")))?;
        let entry = &layout.entries[idx];
        let compressed = self.store.get_range(
            key,
            entry.cold_offset..entry.cold_offset + entry.compressed_len as u64,
        )?;
        stats.requests += 1;
        stats.bytes += compressed.len() as u64;
        stats.segment_bytes += compressed.len() as u64;
        let dict = if layout.prefix.dict_id == 0 {
            Vec::new()
        } else {
            let name = manifest
                .files
                .iter()
                .find(|f| f.role == "dictionary")
                .ok_or_else(|| bad(format!("{base}: the manifest lists no dictionary")))?;
            let d = self
                .store
                .get(&format!("{base}/{}", name.name))?
                .ok_or_else(|| bad(format!("{base}/{} is missing", name.name)))?;
            stats.requests += 1;
            stats.bytes += d.len() as u64;
            d
        };
        let mut out = Vec::with_capacity(entry.uncompressed_len as usize);
        zstd::bulk::Decompressor::with_dictionary(&dict)
            .and_then(|mut d| d.decompress_to_buffer(&compressed, &mut out))
            .map_err(|e| bad(format!("{key}: frame {idx} does not decompress: {e}")))?;
        if out.len() != entry.uncompressed_len as usize {
            return Err(bad(format!("{key}: frame {idx} has the wrong length")));
        }
        let crc = FrameCrc::new(&salt(&layout.header.log_id, layout.header.first_seq));
        Ok((out, crc))
    }
}
