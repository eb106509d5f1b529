//! Entry points for the fuzz targets under `fuzz/` and their corpus replay in `cargo test`.
//!
//! Not part of the public API (hidden from the docs): thin wrappers that expose the crate's
//! decoders and recovery on arbitrary bytes while their internals stay `pub(crate)`. Each
//! function returns normally on any input and panics only when a property is broken (a
//! decoder that accepts bytes it cannot re-encode identically, a recovered log that does not
//! read back or accept appends): to a fuzzer, that panic is the finding.

pub mod formats;
pub mod model;
pub mod privacy;

pub use formats::{
    decode_cold_segment, decode_cut_log, decode_index, parse_checkpoint, parse_proof,
};
pub use privacy::{decode_key_store, decode_protected_value};

use crate::event::{EventLimits, decode_payload, encode_payload};
use crate::merkle::Frontier;
use crate::meta::LogMeta;
use crate::record::{self, Frame, FrameCrc, salt};
use crate::segment::footer::{FOOTER_LEN, SegmentFooter};
use crate::segment::header::SegmentHeader;
use crate::segment::name::segment_file_name;
use crate::segment::scan::{End, scan};
use crate::{AuditLog, Durability, ReadOnlyLog};
use std::path::Path;

/// The log id of every log the targets build.
const LOG_ID: [u8; 16] = *b"fuzzing-log-id!!";

fn frame_crc(first_seq: u64) -> FrameCrc {
    FrameCrc::new(&salt(&LOG_ID, first_seq))
}

/// Record frame decoding: never panics; a decoded record re-encodes to the same bytes.
pub fn decode_frame(bytes: &[u8]) {
    let crc = frame_crc(0);
    if let Frame::Record(r) = record::decode_frame(bytes, &crc) {
        let mut again = Vec::new();
        record::encode_frame(
            &mut again,
            &crc,
            r.seq,
            r.recorded_at,
            r.durable_size,
            r.payload,
        );
        assert_eq!(
            bytes.get(..again.len()),
            Some(&again[..]),
            "frame re-encodes differently"
        );
    }
}

/// Segment header decoding: never panics; a decoded header re-encodes to the same bytes.
pub fn decode_header(bytes: &[u8]) {
    if let Ok(header) = SegmentHeader::decode(bytes) {
        let again = header.encode();
        assert_eq!(
            bytes.get(..again.len()),
            Some(&again[..]),
            "header re-encodes differently"
        );
    }
}

/// Segment footer decoding: never panics; a decoded footer re-encodes to the same bytes.
pub fn decode_footer(bytes: &[u8]) {
    let crc = frame_crc(0);
    if let Ok(footer) = SegmentFooter::decode(bytes, &crc) {
        let again = footer.encode(&crc);
        assert_eq!(
            bytes.get(..FOOTER_LEN),
            Some(&again[..]),
            "footer re-encodes differently"
        );
    }
}

/// Event payload decoding: never panics; the in-place reader (`EventView`, which
/// `decode_payload` goes through) accepts and decodes what the reference serde decoder does
/// (JSON texts apart, which it leaves unparsed); a decoded event that passes validation
/// encodes to a payload that decodes to the same event.
pub fn decode_event_payload(bytes: &[u8]) {
    let reference = crate::event::codec::decode_with_serde(bytes);
    let view = crate::event::EventView::parse(bytes);
    match &reference {
        Ok(event) => assert_eq!(
            view.ok().and_then(|v| v.to_event().ok()).as_ref(),
            Some(event),
            "the in-place reader differs from the serde decoder"
        ),
        Err(e) if e.is_json() => assert!(view.is_ok(), "the in-place reader refused valid layout"),
        Err(_) => assert!(view.is_err(), "the in-place reader accepted a bad layout"),
    }
    let Ok(event) = decode_payload(bytes) else {
        return;
    };
    let limits = EventLimits::default();
    if let Ok(again) = encode_payload(&event, &limits) {
        let back = decode_payload(&again);
        assert_eq!(
            back.ok().as_ref(),
            Some(&event),
            "event does not round-trip"
        );
    }
}

/// Builds a segment file from fuzzer bytes. The first byte picks how much is left to chance:
/// 0: the whole file is the input; 1: a valid header, then the input; 2 and 3: a valid
/// header and frames built from the input (valid CRCs, chosen sequence numbers,
/// `durable_size`, payloads and sometimes a footer), then the rest of the input as raw bytes.
pub fn segment_bytes(input: &[u8]) -> Vec<u8> {
    let Some((&mode, data)) = input.split_first() else {
        return Vec::new();
    };
    if mode % 4 == 0 {
        return data.to_vec();
    }
    let header = SegmentHeader {
        log_id: LOG_ID,
        first_seq: 0,
        created_at: 0,
        prev_recorded_at: i64::MIN,
        frontier: Frontier::new(),
    };
    let mut out = header.encode();
    if mode % 4 == 1 {
        out.extend_from_slice(data);
        return out;
    }
    let crc = frame_crc(0);
    let mut frontier = Frontier::new();
    let mut rest = data;
    let mut seq = 0u64;
    let mut last_at = 0i64;
    let sample = model::event_for(0);
    let sample = encode_payload(&sample, &EventLimits::default()).unwrap_or_default();
    while let [op, arg, tail @ ..] = rest {
        rest = tail;
        match op % 8 {
            // A valid record, the common case.
            0..=4 => {
                let stored_seq = if op % 8 == 4 { u64::from(*arg) } else { seq };
                let payload: &[u8] = if arg % 2 == 0 {
                    &sample
                } else {
                    let n = usize::from(*arg).min(rest.len());
                    let (p, r) = rest.split_at(n);
                    rest = r;
                    p
                };
                last_at += i64::from(arg % 3);
                let durable = seq.saturating_sub(u64::from(arg % 4));
                record::encode_frame(&mut out, &crc, stored_seq, last_at, durable, payload);
                let digest = crate::merkle::payload_digest(payload);
                frontier.push(crate::merkle::leaf_hash(stored_seq, last_at, &digest));
                seq += 1;
            }
            // A footer (right or wrong, depending on the state so far).
            5 => {
                let footer = SegmentFooter {
                    record_count: seq,
                    first_seq: 0,
                    first_recorded_at: 0,
                    last_recorded_at: last_at,
                    tree_head: frontier.tree_head(),
                    records_end: out.len() as u64,
                };
                out.extend_from_slice(&footer.encode(&crc));
            }
            // Zeros (unwritten preallocated space).
            6 => out.resize(out.len() + usize::from(*arg) * 8, 0),
            // Cut the file.
            _ => {
                let cut = out.len().saturating_sub(usize::from(*arg));
                out.truncate(cut);
            }
        }
    }
    out.extend_from_slice(rest);
    out
}

/// Segment scanning and recovery on arbitrary bytes: the in-memory scan never panics and
/// stays inside the file; a log directory holding the segment opens read-only without
/// panicking and reads back; if it opens read-write, it agrees with the read-only open,
/// reads back entirely, accepts an append and reopens with one more record.
pub fn scan_segment(input: &[u8]) {
    let bytes = segment_bytes(input);
    let path = Path::new("fuzz.seg");
    if let Ok(outcome) = scan(path, &bytes, &mut |_, _| {}) {
        assert!(outcome.records_end as usize <= bytes.len().max(outcome.header.encoded_len()));
        if let End::Damaged { offset, .. } = outcome.end {
            assert!(offset as usize <= bytes.len(), "damage past the end");
        }
    }
    let Ok(scratch) = model::ScratchDir::new("auditlog-fuzz-segment") else {
        return;
    };
    let dir = scratch.path().join("log");
    if write_log_dir(&dir, &bytes).is_err() {
        return;
    }
    let ro = ReadOnlyLog::open(&dir);
    let ro_state = ro.as_ref().ok().map(|log| {
        let clean = log.open_report().problems.is_empty();
        for record in log.iter(..) {
            let _ = record;
        }
        (clean, log.end_seq())
    });
    drop(ro);
    // The simulator (never crashed) skips real fsyncs: the same code, many more runs.
    let Ok(fs) = crate::fs::sim::SimFs::new(scratch.path(), 0) else {
        return;
    };
    let rw = AuditLog::builder(&dir)
        .file_system(std::sync::Arc::new(fs))
        .preallocate(false)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::OsBuffered)
        .open();
    let Ok(log) = rw else { return };
    let end = log.end_seq();
    assert_eq!(
        ro_state,
        Some((true, end)),
        "read-write open recovered {end} records; read-only open disagrees"
    );
    for record in log.iter(..) {
        if let Err(e) = record {
            // Payloads inside valid frames are fuzzer bytes: an undecodable one is reported,
            // which is right; anything else in a log that opened is a bug.
            assert!(
                matches!(
                    e.corruption().map(|c| &c.kind),
                    Some(crate::CorruptionKind::BadPayload(_))
                ),
                "recovered log does not read back: {e}"
            );
        }
    }
    let appended = log.append(&model::event_for(end)).and_then(|h| h.wait());
    assert!(appended.is_ok(), "append after recovery: {appended:?}");
    assert!(log.close().is_ok(), "close after recovery");
    let again = ReadOnlyLog::open(&dir).map(|l| l.end_seq());
    assert_eq!(again.ok(), Some(end + 1), "reopen after one append");
}

/// Writes a log directory with a valid identity file and `segment` as its only segment.
fn write_log_dir(dir: &Path, segment: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta = LogMeta {
        log_id: LOG_ID,
        created_at: 0,
    };
    std::fs::write(dir.join(crate::meta::META_FILE), meta.encode())?;
    std::fs::write(dir.join(segment_file_name(0)), segment)
}

/// The model-based target: random operations and power losses, checked against the model.
pub fn model_ops(input: &[u8]) {
    let scenario = model::Scenario::from_bytes(input);
    let Ok(scratch) = model::ScratchDir::new("auditlog-fuzz-model") else {
        return;
    };
    if let Err(broken) = model::run(&scenario, scratch.path()) {
        panic!("{broken}\n{scenario:?}");
    }
}

/// A fuzz target: returns on any input, panics when a property breaks.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `cargo fuzz` and the corpus replay know them.
pub const TARGETS: [(&str, Target); 13] = [
    ("decode_frame", decode_frame),
    ("decode_header", decode_header),
    ("decode_footer", decode_footer),
    ("decode_event_payload", decode_event_payload),
    ("scan_segment", scan_segment),
    ("model_ops", model_ops),
    ("decode_index", formats::decode_index),
    ("decode_cold_segment", formats::decode_cold_segment),
    ("decode_cut_log", formats::decode_cut_log),
    ("parse_checkpoint", formats::parse_checkpoint),
    ("parse_proof", formats::parse_proof),
    ("decode_protected_value", privacy::decode_protected_value),
    ("decode_key_store", privacy::decode_key_store),
];

/// Valid inputs for `target`, built with the crate's encoders: the seed corpus under
/// `fuzz/corpus/` is written from them, and the corpus replay mutates them.
pub fn seed_inputs(target: &str) -> Vec<Vec<u8>> {
    let crc = frame_crc(0);
    let payload = encode_payload(&model::event_for(0), &EventLimits::default()).unwrap_or_default();
    let mut frontier = Frontier::new();
    for i in 0..5u8 {
        frontier.push(crate::merkle::leaf_hash(u64::from(i), 0, &[i; 32]));
    }
    let header = SegmentHeader {
        log_id: LOG_ID,
        first_seq: 5,
        created_at: 1,
        prev_recorded_at: 2,
        frontier: frontier.clone(),
    };
    match target {
        "decode_frame" => {
            let mut frame = Vec::new();
            record::encode_frame(&mut frame, &crc, 0, 7, 0, &payload);
            let mut small = Vec::new();
            record::encode_frame(&mut small, &crc, 3, -1, 2, b"x");
            vec![frame, small, vec![0; 16]]
        }
        "decode_header" => vec![
            header.encode(),
            SegmentHeader {
                frontier: Frontier::new(),
                first_seq: 0,
                ..header
            }
            .encode(),
        ],
        "decode_footer" => {
            let footer = SegmentFooter {
                record_count: 5,
                first_seq: 0,
                first_recorded_at: 1,
                last_recorded_at: 9,
                tree_head: frontier.tree_head(),
                records_end: 4096,
            };
            vec![footer.encode(&crc).to_vec()]
        }
        "decode_event_payload" => (0..3)
            .filter_map(|i| encode_payload(&model::event_for(i), &EventLimits::default()).ok())
            .collect(),
        "scan_segment" => vec![
            // Three sample records and a footer.
            vec![2, 0, 0, 0, 2, 0, 4, 5, 0],
            // Records, zeros, and a torn last record.
            vec![3, 0, 0, 0, 2, 6, 8, 0, 0, 7, 100],
            // A record with a wrong sequence number, then more.
            vec![2, 0, 0, 4, 9, 0, 0],
            // Raw bytes after a valid header.
            [&[1u8][..], &[0xA5; 64]].concat(),
            // A whole valid segment, taken as raw bytes.
            [&[0u8][..], &segment_bytes(&[2, 0, 0, 0, 2, 5, 0])].concat(),
        ],
        // Byte layout: `Scenario::from_bytes`. Op bytes: 164 and 244 are batch appends (of 21
        // and 31 events), 6 seal, 5 sync, 1 append, 9 compact (25 with a dictionary), 10
        // archive one segment, 13 checkpoint, 24 tick an hour, 11 retention by age (30 min),
        // 12 retention by size (64 KiB), 14 maintenance, 7 reopen, 0 ends a generation.
        "model_ops" => vec![
            vec![0, 1, 2, 20, 2, 1, 1, 164, 5, 1, 6, 1, 0],
            vec![2 | 0x80, 3, 4, 9, 3, 1, 1, 7, 1, 244, 6, 0, 40, 1, 1, 1, 0],
            vec![1, 0, 0, 60, 2, 244, 244, 244, 244, 5, 0],
            vec![
                0, 1, 2, 200, 2, 164, 164, 164, 164, 164, 164, 6, 164, 164, 164, 6, 9, 13, 10, 24,
                164, 11, 14, 0, 2, 30, 0, 1, 1, 164, 6, 10, 13, 12, 0, 1, 255, 3, 164, 25, 6, 14,
                13, 0,
            ],
            vec![
                0x40 | 2,
                5,
                6,
                250,
                1,
                244,
                244,
                244,
                244,
                244,
                7,
                13,
                244,
                244,
                24,
                11,
                244,
                244,
                6,
                10,
                10,
                13,
                12,
                9,
                0,
            ],
        ],
        "decode_protected_value" | "decode_key_store" => privacy::seed_inputs(target),
        other => formats::seed_inputs(other),
    }
}
