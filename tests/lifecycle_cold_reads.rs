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
    let head = log.tree_head();
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
    assert_eq!(log.tree_head(), head);

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

#[test]
fn a_damaged_cold_segment_is_reported_never_read_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    {
        let log = small_segments(&dir).open().unwrap();
        append_range(&log, 0, 300);
        log.seal().unwrap();
        log.compact(&CompactOptions::default()).unwrap();
    }
    let cold_path = files_with_ext(&dir, "zseg")[0].clone();
    let original = std::fs::read(&cold_path).unwrap();
    // A sample of positions across the whole file (every byte is slow in debug builds).
    let step = (original.len() / 97).max(1);
    // Where the zstd frames are: after the prefix and the hot header, before the frame table
    // (whose offset the trailer's first 8 bytes hold).
    let header_len = u32::from_le_bytes(original[16..20].try_into().unwrap()) as usize;
    let trailer = original.len() - 24;
    let table_offset = u64::from_le_bytes(original[trailer..trailer + 8].try_into().unwrap());
    let frames = 24 + header_len..table_offset as usize;
    for at in (0..original.len()).step_by(step) {
        let mut damaged = original.clone();
        damaged[at] ^= 0x10;
        std::fs::write(&cold_path, &damaged).unwrap();
        if cold::check(&cold_path).is_ok() {
            // libzstd decodes a few changed bits of a compressed stream to the same content
            // (seen: 1 run in 60 of this test). Such a change is possible only inside a frame,
            // and alters nothing the format protects: the full open rebuilds the very same hot
            // image and every record reads back exactly (docs/FORMAT.md §8.2).
            eprintln!("byte {at}: the changed frame decodes to the same content");
            assert!(
                frames.contains(&at),
                "byte {at} outside the zstd frames {frames:?}"
            );
            let log = small_segments(&dir)
                .open_check(OpenCheck::Full)
                .open()
                .unwrap_or_else(|e| panic!("byte {at}: the check passed, the open did not: {e}"));
            let read: Vec<_> = log.iter(..).map(|r| r.unwrap()).collect();
            assert_eq!(read.len(), 300, "byte {at}");
            for r in read {
                assert_eq!(r.event, event(r.seq), "byte {at}");
            }
            continue;
        }
        let err = small_segments(&dir)
            .open_check(OpenCheck::Full)
            .open()
            .expect_err(&format!("byte {at}"));
        assert!(err.corruption().is_some(), "byte {at}: {err}");
        // A quick open may succeed (frames are checked when read), but reads never return a
        // wrong record: they fail, or return exactly the original events.
        if let Ok(log) = small_segments(&dir).open() {
            for r in log.iter(..) {
                match r {
                    Ok(r) => assert_eq!(r.event, event(r.seq), "byte {at}"),
                    Err(e) => {
                        assert!(e.corruption().is_some(), "byte {at}: {e}");
                        break;
                    }
                }
            }
        }
    }
    std::fs::write(&cold_path, &original).unwrap();
    assert!(cold::check(&cold_path).is_ok());
}
