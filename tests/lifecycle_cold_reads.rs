//! Compressing sealed segments into cold segments changes nothing a reader can see: every
//! record forward and backward, `get` of each, the tree head, and each segment's root are the
//! same before compaction, after it, and after reopening with a full check, with and without
//! a trained dictionary. Each cold file also passes the stand-alone `cold::check`.

mod common;
use auditlog::lifecycle::cold::{self, CompressOptions};
use auditlog::lifecycle::{CompactOptions, CutLog};
use auditlog::{OpenCheck, Record};
use common::*;
use std::path::{Path, PathBuf};

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

fn reads(log: &auditlog::LogReader) -> (Vec<Record>, Vec<Record>, Vec<Record>) {
    let forward = read_all(log);
    let mut backward: Vec<Record> = log.iter(..).rev().collect::<Result<_, _>>().unwrap();
    backward.reverse();
    let gets = (0..log.end_seq()).map(|s| log.get(s).unwrap()).collect();
    (forward, backward, gets)
}

fn compact_and_compare(dictionary: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 0, 4000);
    let head = log.tree_head().unwrap();
    let before = reads(&log);
    assert_events(&before.0, 4000);
    let hot = segment_files(&dir);
    assert!(hot.len() >= 4, "want several segments, got {}", hot.len());

    let options = CompactOptions {
        compress: CompressOptions {
            frame_bytes: 4096,
            dictionary,
            dictionary_max_bytes: 8 * 1024,
            ..CompressOptions::default()
        },
        ..CompactOptions::default()
    };
    let report = log.compact(&options).unwrap();
    assert_eq!(
        report.compressed.len(),
        hot.len() - 1,
        "all but the active one"
    );
    assert!(report.cold_bytes < report.hot_bytes / 2, "{report:?}");
    assert_eq!(report.dict_id.is_some(), dictionary);
    assert_eq!(
        segment_files(&dir).len(),
        1,
        "only the active segment stays hot"
    );
    assert_eq!(reads(&log), before, "reads after compaction");
    assert_eq!(log.tree_head().unwrap(), head);

    // More appends and another compaction after a seal keep working.
    log.seal().unwrap();
    append_range(&log, 4000, 4100);
    log.compact(&options).unwrap();
    let after = reads(&log);
    assert_events(&after.0, 4100);
    drop(log);

    for path in files_with_ext(&dir, "zseg") {
        let summary = cold::check(&path).unwrap();
        assert!(summary.frames > 1, "{summary:?}");
        assert_eq!(summary.dict_id != 0, dictionary);
    }
    for check in [OpenCheck::Quick, OpenCheck::Full] {
        let log = small_segments(&dir).open_check(check).open().unwrap();
        assert_eq!(reads(&log), after, "{check:?}");
        assert_eq!(log.open_report().removed, CutLog::default().cuts);
    }
}

#[test]
fn reads_are_unchanged_by_compression() {
    compact_and_compare(false);
}

#[test]
fn reads_are_unchanged_by_compression_with_a_dictionary() {
    compact_and_compare(true);
}

/// A log of 300 records of which all are in one cold segment, compacted with `frame_bytes`
/// per zstd frame; returns the cold file's path.
fn one_cold_segment(dir: &Path, frame_bytes: usize) -> PathBuf {
    let log = small_segments(dir).open().unwrap();
    append_range(&log, 0, 300);
    log.seal().unwrap();
    let options = CompactOptions {
        compress: CompressOptions {
            frame_bytes,
            ..CompressOptions::default()
        },
        ..CompactOptions::default()
    };
    log.compact(&options).unwrap();
    let cold = files_with_ext(dir, "zseg");
    assert_eq!(cold.len(), 1, "{cold:?}");
    cold[0].clone()
}

/// One zstd frame as its frame-table entry of cold format version 2 (docs/FORMAT.md §8.2)
/// names it, parsed here from the bytes.
#[derive(Debug, Clone)]
struct Frame {
    first_seq: u64,
    cold: std::ops::Range<usize>,
}

/// The frames of a version 2 cold file, from its trailer and 36-byte frame-table entries.
fn frames_v2(cold: &[u8]) -> Vec<Frame> {
    assert_eq!(
        u16::from_le_bytes([cold[8], cold[9]]),
        2,
        "cold format version"
    );
    let u64_at = |at: usize| u64::from_le_bytes(cold[at..at + 8].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(cold[at..at + 4].try_into().unwrap());
    let trailer = cold.len() - 24;
    let (table, n) = (u64_at(trailer) as usize, u32_at(trailer + 8) as usize);
    assert_eq!(table + 36 * n + 4 + 96 + 24, cold.len(), "36-byte entries");
    (0..n)
        .map(|i| {
            let e = table + 36 * i;
            let start = u64_at(e + 16) as usize;
            let frame = Frame {
                first_seq: u64_at(e),
                cold: start..start + u32_at(e + 24) as usize,
            };
            assert_eq!(crc32fast::hash(&cold[frame.cold.clone()]), u32_at(e + 32));
            frame
        })
        .collect()
}

/// `c` is damage of the file `path` at the frame `frame`: its cold offset and first record,
/// of the cold segment's kind (`bad_cold_segment` in a verify report, not `bad_footer`).
fn assert_names_frame(c: &auditlog::Corruption, path: &Path, frame: &Frame, what: &str) {
    let found = (c.file.as_path(), c.offset, c.seq);
    let want = (path, frame.cold.start as u64, Some(frame.first_seq));
    assert_eq!(found, want, "{what}: {c}");
    let cold_kind = matches!(c.kind, auditlog::CorruptionKind::BadColdSegment(_));
    assert!(cold_kind, "{what}: {c}");
}

/// A cold segment of 300 records in frames of 4 KiB (several), its bytes and its frames.
fn several_frames() -> (tempfile::TempDir, PathBuf, PathBuf, Vec<u8>, Vec<Frame>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let cold_path = one_cold_segment(&dir, 4096);
    let original = std::fs::read(&cold_path).unwrap();
    let frames = frames_v2(&original);
    assert!(frames.len() > 3, "{frames:?}");
    (tmp, dir, cold_path, original, frames)
}

#[test]
fn a_damaged_cold_segment_is_reported_never_read_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let cold_path = one_cold_segment(&dir, 32 * 1024);
    let original = std::fs::read(&cold_path).unwrap();
    // A sample of positions across the whole file (every byte is slow in debug builds).
    let step = (original.len() / 97).max(1);
    for at in (0..original.len()).step_by(step) {
        let mut damaged = original.clone();
        damaged[at] ^= 0x10;
        std::fs::write(&cold_path, &damaged).unwrap();
        // Every byte is covered by a checksum in version 2, the zstd frames included: no
        // change can pass as the same content.
        let err = cold::check(&cold_path).expect_err(&format!("byte {at}"));
        assert!(err.corruption().is_some(), "byte {at}: {err}");
        let err = small_segments(&dir)
            .open_check(OpenCheck::Full)
            .open()
            .expect_err(&format!("byte {at}"));
        assert!(err.corruption().is_some(), "byte {at}: {err}");
        // A quick open may succeed (frames are checked when read), but then reading every
        // record meets the damage, and what comes before it is exactly the original events.
        if let Ok(log) = small_segments(&dir).open() {
            let mut reported = false;
            for r in log.iter(..) {
                match r {
                    Ok(r) => assert_eq!(r.event, event(r.seq), "byte {at}"),
                    Err(e) => {
                        assert!(e.corruption().is_some(), "byte {at}: {e}");
                        reported = true;
                        break;
                    }
                }
            }
            assert!(reported, "byte {at}: read every record of a damaged file");
        }
    }
    std::fs::write(&cold_path, &original).unwrap();
    assert!(cold::check(&cold_path).is_ok());
}

#[test]
fn every_flipped_bit_of_every_zstd_frame_is_reported_naming_its_frame() {
    let (_tmp, _dir, cold_path, original, frames) = several_frames();
    let check = |bytes: &[u8]| auditlog_format::cold::read::check_bytes(&cold_path, bytes, None);
    assert!(check(&original).is_ok());
    let mut flips = 0;
    for frame in &frames {
        for bit in frame.cold.start * 8..frame.cold.end * 8 {
            let mut damaged = original.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let c = check(&damaged).expect_err(&format!("bit {bit} of {frame:?}"));
            assert_names_frame(&c, &cold_path, frame, &format!("bit {bit}"));
            flips += 1;
        }
    }
    assert_eq!(
        flips,
        8 * (frames[frames.len() - 1].cold.end - frames[0].cold.start)
    );
}

#[test]
fn a_single_record_read_reports_a_flip_inside_its_frame() {
    let (_tmp, dir, cold_path, original, frames) = several_frames();
    let (start, end) = (frames[0].cold.start, frames[frames.len() - 1].cold.end);
    // 200 flipped bits spread over all the frames, each in a fresh open (no cached frame).
    let runs = 200;
    for run in 0..runs {
        let bit = start * 8 + run * (end - start) * 8 / runs + run % 8;
        let hit = frames
            .iter()
            .position(|f| f.cold.contains(&(bit / 8)))
            .unwrap();
        let frame = &frames[hit];
        let mut damaged = original.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&cold_path, &damaged).unwrap();
        let log = small_segments(&dir).open().unwrap();
        // A record of another frame still reads, exactly.
        let other = &frames[(hit + 1) % frames.len()];
        assert_eq!(
            log.get(other.first_seq).unwrap().event,
            event(other.first_seq)
        );
        // Any record of the damaged frame, here its first and its last: damage, never a record.
        let last = frames.get(hit + 1).map_or(299, |f| f.first_seq - 1);
        for seq in [frame.first_seq, last] {
            let err = log.get(seq).expect_err(&format!("bit {bit}: get({seq})"));
            let c = err
                .corruption()
                .unwrap_or_else(|| panic!("bit {bit}: not damage: {err}"));
            assert_names_frame(c, &cold_path, frame, &format!("bit {bit}: get({seq})"));
            let message = err.to_string();
            assert!(message.contains("checksum mismatch"), "{message}");
        }
    }
    std::fs::write(&cold_path, &original).unwrap();
    assert!(cold::check(&cold_path).is_ok());
}
