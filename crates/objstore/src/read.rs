//! Reading archived records straight from the bucket. One record: the bundle that holds it,
//! then, for a cold segment, the layout (prefix, header, tail and frame table: four range
//! reads) and the one zstd frame that holds the record, never the whole segment. Every
//! record (for export and query): the frames in order, by range reads of a few MiB of
//! consecutive frames at a time.
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
use auditlog_format::cold::format::FrameEntry;
use auditlog_format::cold::read::{ColdLayout, decode_layout, frame_content};
use auditlog_format::event::decode_payload;
use auditlog_format::record::{Frame, FrameCrc, decode_frame, salt};
use auditlog_format::segment::SegmentHeader;
use auditlog_format::timestamp::Timestamp;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Bytes of consecutive frames fetched in one range read by [`ArchiveReader::scan`].
const SCAN_READ_BYTES: u64 = 4 << 20;

/// Bytes read speculatively from each end of a cold segment when its layout is needed, in two
/// concurrent range reads instead of four in a row: the prefix and header (at most ~2.2 KiB)
/// at the start; at the end the footer and trailer, and the frame table, 32 bytes per frame
/// of ~32 KiB of records, which zstd shrinks to ~1/128 of the file (a guess: a larger table
/// costs one more range read).
const LAYOUT_HEAD_BYTES: u64 = 4 << 10;
fn layout_tail_bytes(len: u64) -> u64 {
    (16 << 10) + len / 128
}

/// Bundles whose manifest, layout and dictionary a reader keeps (a few hundred KiB each).
const CACHED_BUNDLES: usize = 64;

/// One log's archive, for reading records. Keeps the manifest, frame table and dictionary of
/// the cold segments it has read, so a later record of the same bundle costs one range read.
#[derive(Clone)]
pub struct ArchiveReader {
    store: S3Store,
    log_id: String,
    /// (first_seq, bundle name), by first_seq.
    bundles: Vec<(u64, String)>,
    cache: Arc<Mutex<HashMap<String, Arc<OpenedBundle>>>>,
}

impl std::fmt::Debug for ArchiveReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader")
            .field("store", &self.store)
            .field("log_id", &self.log_id)
            .field("bundles", &self.bundles.len())
            .finish_non_exhaustive()
    }
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

impl ReadStats {
    pub(crate) fn note(&mut self, bytes: usize, of_segment: bool) {
        self.requests += 1;
        self.bytes += bytes as u64;
        if of_segment {
            self.segment_bytes += bytes as u64;
        }
    }
}

fn bad(what: String) -> Error {
    Error::Io {
        context: "reading the archive".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    }
}

/// A bundle's manifest and segment, as a reader keeps them.
pub(crate) type OpenedBundle = (Manifest, Opened);

/// A bundle's segment, ready to read records from.
pub(crate) enum Opened {
    Cold {
        key: String,
        layout: Box<ColdLayout>,
        dict: Vec<u8>,
        crc: FrameCrc,
    },
    /// A hot segment (no frame table): its records' bytes, fetched whole.
    Hot { records: Vec<u8>, crc: FrameCrc },
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
            cache: Arc::default(),
        })
    }

    /// The log id, in hex.
    pub fn log_id(&self) -> &str {
        &self.log_id
    }

    pub(crate) fn manifest(&self, bundle: &str, stats: &mut ReadStats) -> Result<Option<Manifest>> {
        let key = format!("{}/{bundle}/{MANIFEST_NAME}", self.log_id);
        let Some(text) = self.store.get(&key)? else {
            return Ok(None);
        };
        stats.note(text.len(), false);
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| bad(format!("{key} is not valid JSON: {e}")))
    }

    /// Opens the segment of `bundle`: for a cold one its layout and dictionary only.
    fn open_segment(
        &self,
        bundle: &str,
        manifest: &Manifest,
        stats: &mut ReadStats,
    ) -> Result<Opened> {
        let base = format!("{}/{bundle}", self.log_id);
        let segment = manifest
            .files
            .iter()
            .find(|f| f.role == "segment")
            .ok_or_else(|| bad(format!("{base}: the manifest lists no segment")))?;
        let key = format!("{base}/{}", segment.name);
        if !segment.name.ends_with(".zseg") {
            let bytes = self
                .store
                .get(&key)?
                .ok_or_else(|| bad(format!("{key} is missing")))?;
            stats.note(bytes.len(), true);
            let header = SegmentHeader::decode(&bytes)
                .map_err(|e| bad(format!("{key}: bad header: {e:?}")))?;
            let crc = FrameCrc::new(&salt(&header.log_id, header.first_seq));
            let records = bytes
                .get(header.encoded_len()..)
                .unwrap_or_default()
                .to_vec();
            return Ok(Opened::Hot { records, crc });
        }
        let len = segment.size;
        let (head_len, tail_len) = (len.min(LAYOUT_HEAD_BYTES), len.min(layout_tail_bytes(len)));
        let tail_at = len - tail_len;
        let ends = self.store.get_ranges(&key, &[0..head_len, tail_at..len])?;
        for part in &ends {
            stats.note(part.len(), true);
        }
        let (head, tail) = (&ends[0], &ends[1]);
        let reads = std::cell::RefCell::new(ReadStats::default());
        let read_at = |offset: u64, n: usize| {
            let end = offset.saturating_add(n as u64);
            if end <= head.len() as u64 {
                return Ok(head[offset as usize..end as usize].to_vec());
            }
            if offset >= tail_at && end <= len && (tail.len() as u64) == tail_len {
                return Ok(tail[(offset - tail_at) as usize..(end - tail_at) as usize].to_vec());
            }
            reads.borrow_mut().note(n, true);
            self.store
                .get_range(&key, offset..end)
                .map_err(std::io::Error::other)
        };
        let layout = decode_layout(Path::new(&segment.name), len, &read_at)
            .map_err(|c| bad(format!("{key}: {c}")))?;
        let r = reads.into_inner();
        stats.requests += r.requests;
        stats.bytes += r.bytes;
        stats.segment_bytes += r.segment_bytes;
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
            stats.note(d.len(), false);
            d
        };
        let crc = FrameCrc::new(&salt(&layout.header.log_id, layout.header.first_seq));
        Ok(Opened::Cold {
            key,
            layout: Box::new(layout),
            dict,
            crc,
        })
    }

    /// Record `seq`, or `None` if no bundle holds it.
    pub fn get(&self, seq: u64) -> Result<Option<(Record, ReadStats)>> {
        let mut stats = ReadStats::default();
        let Some((_, raw)) = self.get_raw(seq, &mut stats)? else {
            return Ok(None);
        };
        let event = decode_payload(&raw.payload).map_err(|e| bad(format!("record #{seq}: {e}")))?;
        let record = Record {
            seq,
            recorded_at: Timestamp::from_nanos(raw.recorded_at),
            event,
        };
        Ok(Some((record, stats)))
    }

    /// The bundle that holds `seq` (its manifest and opened segment, kept for cold ones).
    pub(crate) fn bundle_of(
        &self,
        seq: u64,
        stats: &mut ReadStats,
    ) -> Result<Option<(String, Arc<OpenedBundle>)>> {
        let Some((_, bundle)) = self.bundles.iter().rev().find(|(first, _)| *first <= seq) else {
            return Ok(None);
        };
        let cached = self.cache.lock().get(bundle).cloned();
        let opened = match cached {
            Some(c) => c,
            None => {
                let Some(manifest) = self.manifest(bundle, stats)? else {
                    return Ok(None);
                };
                let opened = self.open_segment(bundle, &manifest, stats)?;
                let entry = Arc::new((manifest, opened));
                if matches!(entry.1, Opened::Cold { .. }) {
                    let mut cache = self.cache.lock();
                    if cache.len() >= CACHED_BUNDLES {
                        cache.clear();
                    }
                    cache.insert(bundle.clone(), Arc::clone(&entry));
                }
                entry
            }
        };
        if seq >= opened.0.end_seq {
            return Ok(None);
        }
        Ok(Some((bundle.clone(), opened)))
    }

    /// Record `seq` as stored (its `recorded_at` and encoded payload) and the bundle that holds
    /// it: the layout of a cold segment (kept) and the one frame, by range reads.
    pub(crate) fn get_raw(
        &self,
        seq: u64,
        stats: &mut ReadStats,
    ) -> Result<Option<(String, RawRecord)>> {
        let Some((bundle, opened)) = self.bundle_of(seq, stats)? else {
            return Ok(None);
        };
        let mut found = None;
        let mut take = |r: RawRecord| {
            if r.seq == seq {
                found = Some(r);
                Ok(false)
            } else {
                Ok(true)
            }
        };
        match &opened.1 {
            Opened::Hot { records, crc } => {
                raw_records_in(records, crc, "hot segment", &mut take)?;
            }
            Opened::Cold {
                key,
                layout,
                dict,
                crc,
            } => {
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
                stats.note(compressed.len(), true);
                let frame = decompress(key, entry, &compressed, dict)?;
                raw_records_in(&frame, crc, key, &mut take)?;
            }
        }
        match found {
            Some(r) => Ok(Some((bundle, r))),
            None => Err(bad(format!(
                "{}/{bundle}: record #{seq} is not where the frame table says",
                self.log_id
            ))),
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &S3Store {
        &self.store
    }

    /// The bundles, (first_seq, name) by first_seq.
    pub(crate) fn bundles(&self) -> &[(u64, String)] {
        &self.bundles
    }

    /// The leaf hashes of records `range` (inside one bundle), computed from the records:
    /// for a bundle without a leaf-hash file. Range reads of the frames that hold them.
    pub(crate) fn leaves_from_records(
        &self,
        range: std::ops::Range<u64>,
        stats: &mut ReadStats,
    ) -> Result<Vec<auditlog::merkle::Hash>> {
        let Some((bundle, opened)) = self.bundle_of(range.start, stats)? else {
            return Err(bad(format!("no bundle holds record #{}", range.start)));
        };
        let mut leaves = Vec::with_capacity((range.end - range.start) as usize);
        let mut take = |r: RawRecord| {
            if range.contains(&r.seq) {
                let digest = auditlog_format::merkle::payload_digest(&r.payload);
                leaves.push(auditlog_format::merkle::leaf_hash(
                    r.seq,
                    r.recorded_at,
                    &digest,
                ));
            }
            Ok(r.seq + 1 < range.end)
        };
        match &opened.1 {
            Opened::Hot { records, crc } => {
                raw_records_in(records, crc, "hot segment", &mut take)?;
            }
            Opened::Cold {
                key,
                layout,
                dict,
                crc,
            } => {
                let cold = (key.as_str(), &**layout, dict.as_slice());
                self.cold_frames(cold, &range, false, stats, &mut |frame| {
                    let mut more = true;
                    raw_records_in(frame, crc, key, &mut |r| {
                        more = take(r)?;
                        Ok(more)
                    })?;
                    Ok(more)
                })?;
            }
        }
        if leaves.len() as u64 != range.end - range.start {
            return Err(bad(format!(
                "{}/{bundle}: records {}..{} are not all there",
                self.log_id, range.start, range.end
            )));
        }
        Ok(leaves)
    }

    /// Hands `each` every frame of a cold segment (`key`, its layout and dictionary) that may
    /// hold records of `range`, decompressed, oldest first (newest first when
    /// `newest_first`), until it returns `false`. Consecutive frames are fetched by one range
    /// read (`frame_runs`).
    fn cold_frames(
        &self,
        (key, layout, dict): (&str, &ColdLayout, &[u8]),
        range: &std::ops::Range<u64>,
        newest_first: bool,
        stats: &mut ReadStats,
        each: &mut dyn FnMut(&[u8]) -> Result<bool>,
    ) -> Result<()> {
        let entries = &layout.entries;
        let lo = entries
            .partition_point(|e| e.first_seq <= range.start)
            .saturating_sub(1);
        let hi = entries.partition_point(|e| e.first_seq < range.end);
        let mut runs = frame_runs(entries, lo..hi);
        if newest_first {
            runs.reverse();
        }
        for run in runs {
            let (first, last) = (&entries[run.start], &entries[run.end - 1]);
            let start = first.cold_offset;
            let end = last.cold_offset + last.compressed_len as u64;
            let bytes = self.store.get_range(key, start..end)?;
            stats.note(bytes.len(), true);
            let mut frames: Vec<&FrameEntry> = entries[run].iter().collect();
            if newest_first {
                frames.reverse();
            }
            for entry in frames {
                let at = (entry.cold_offset - start) as usize;
                let compressed = bytes
                    .get(at..at + entry.compressed_len as usize)
                    .ok_or_else(|| bad(format!("{key}: a short range read")))?;
                if !each(&decompress(key, entry, compressed, dict)?)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with every archived record below `end_seq`, oldest first, until it returns
    /// `false`.
    pub fn scan(&self, end_seq: u64, f: &mut dyn FnMut(Record) -> Result<bool>) -> Result<()> {
        self.scan_range(0..end_seq, false, f)
    }

    /// Calls `f` with every archived record whose sequence number is in `range`, oldest
    /// first (or newest first when `newest_first`), until it returns `false`. Only the
    /// bundles and, in a cold segment, the frames that hold such records are fetched, by
    /// range reads of a few MiB of consecutive frames.
    pub fn scan_range(
        &self,
        range: std::ops::Range<u64>,
        newest_first: bool,
        f: &mut dyn FnMut(Record) -> Result<bool>,
    ) -> Result<()> {
        let mut stats = ReadStats::default();
        let go_on = std::cell::Cell::new(true);
        let mut take = |r: Record| {
            if !range.contains(&r.seq) {
                return Ok(true);
            }
            go_on.set(f(r)?);
            Ok(go_on.get())
        };
        // Bundles that may hold records of the range: each ends where the next begins.
        let mut chosen: Vec<&String> = Vec::new();
        for (i, (first, bundle)) in self.bundles.iter().enumerate() {
            let next = self.bundles.get(i + 1).map_or(u64::MAX, |(n, _)| *n);
            if *first < range.end && next > range.start {
                chosen.push(bundle);
            }
        }
        if newest_first {
            chosen.reverse();
        }
        for bundle in chosen {
            let Some(manifest) = self.manifest(bundle, &mut stats)? else {
                continue;
            };
            match self.open_segment(bundle, &manifest, &mut stats)? {
                Opened::Hot { records, crc } => {
                    let mut all = Vec::new();
                    records_in(&records, &crc, "hot segment", &mut |r| {
                        all.push(r);
                        Ok(true)
                    })?;
                    if newest_first {
                        all.reverse();
                    }
                    for r in all {
                        if !take(r)? {
                            break;
                        }
                    }
                }
                Opened::Cold {
                    key,
                    layout,
                    dict,
                    crc,
                } => {
                    let cold = (key.as_str(), &*layout, dict.as_slice());
                    self.cold_frames(cold, &range, newest_first, &mut stats, &mut |frame| {
                        let mut records = Vec::new();
                        records_in(frame, &crc, &key, &mut |r| {
                            records.push(r);
                            Ok(true)
                        })?;
                        if newest_first {
                            records.reverse();
                        }
                        for r in records {
                            if !take(r)? {
                                break;
                            }
                        }
                        Ok(go_on.get())
                    })?;
                }
            }
            if !go_on.get() {
                break;
            }
        }
        Ok(())
    }
}

/// The frames `frames` of a frame table cut into runs of consecutive frames of at most
/// [`SCAN_READ_BYTES`] (at least one frame each), oldest first.
fn frame_runs(
    entries: &[FrameEntry],
    frames: std::ops::Range<usize>,
) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut i = frames.start;
    while i < frames.end {
        let start = entries[i].cold_offset;
        let mut j = i + 1;
        while j < frames.end
            && entries[j].cold_offset + entries[j].compressed_len as u64 - start <= SCAN_READ_BYTES
        {
            j += 1;
        }
        runs.push(i..j);
        i = j;
    }
    runs
}

/// Decompresses one zstd frame of cold segment `key` as the local reader does
/// ([`frame_content`]: its CRC checked first, since a range read is not covered by the
/// manifest's BLAKE3).
fn decompress(key: &str, entry: &FrameEntry, compressed: &[u8], dict: &[u8]) -> Result<Vec<u8>> {
    let at = |why: String| {
        bad(format!(
            "{key}: the frame at byte {} (first record #{}): {why}",
            entry.cold_offset, entry.first_seq
        ))
    };
    let mut d = zstd::bulk::Decompressor::with_dictionary(dict)
        .map_err(|e| at(format!("zstd cannot take the dictionary: {e}")))?;
    frame_content(&mut d, entry, compressed).map_err(at)
}

/// A record as stored: its sequence number, `recorded_at` and encoded payload (§3).
#[derive(Debug, Clone)]
pub(crate) struct RawRecord {
    pub seq: u64,
    pub recorded_at: i64,
    pub payload: Vec<u8>,
}

/// Decodes the record frames of `bytes` (checking each CRC) and hands each record to `take`
/// until it returns `false`; stops at the footer.
fn records_in(
    bytes: &[u8],
    crc: &FrameCrc,
    what: &str,
    take: &mut dyn FnMut(Record) -> Result<bool>,
) -> Result<()> {
    raw_records_in(bytes, crc, what, &mut |r| {
        let event = decode_payload(&r.payload)
            .map_err(|e| bad(format!("{what}: record #{}: {e}", r.seq)))?;
        take(Record {
            seq: r.seq,
            recorded_at: Timestamp::from_nanos(r.recorded_at),
            event,
        })
    })
}

/// [`records_in`], with each record as stored.
fn raw_records_in(
    bytes: &[u8],
    crc: &FrameCrc,
    what: &str,
    take: &mut dyn FnMut(RawRecord) -> Result<bool>,
) -> Result<()> {
    let mut at = 0;
    while at < bytes.len() {
        match decode_frame(&bytes[at..], crc) {
            Frame::Record(r) => {
                at += r.frame_len();
                let record = RawRecord {
                    seq: r.seq,
                    recorded_at: r.recorded_at,
                    payload: r.payload.to_vec(),
                };
                if !take(record)? {
                    return Ok(());
                }
            }
            Frame::Footer => return Ok(()),
            other => return Err(bad(format!("{what}: at byte {at}: {other:?}"))),
        }
    }
    Ok(())
}
