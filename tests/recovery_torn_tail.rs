//! Cut the active segment at every byte offset over its last records (a torn write), with
//! zeros or garbage after the cut, and reopen: the log ends at a clean record boundary, every
//! record before the cut is intact, the cut is reported, and appends continue.

mod common;
use auditlog::{AuditLog, CorruptionKind, ReadOnlyLog};
use common::*;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

/// Offsets at which records start in the active (last) segment, found through the public
/// read API: frame offset = end offset of the previous frame.
fn frame_ends(dir: &std::path::Path, n: u64) -> Vec<u64> {
    // Re-derive from the file: each frame is len(4) crc(4) body(len).
    let seg = segment_files(dir).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let header_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as u64;
    let mut ends = vec![header_len];
    let mut pos = header_len as usize;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        pos += 8 + len;
        ends.push(pos as u64);
    }
    assert!(ends.len() as u64 <= n + 1);
    ends
}

#[test]
fn cut_at_every_byte_of_the_last_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let total = 40;
    {
        let log = small_segments(&dir).open().unwrap();
        append_range(&log, 0, total);
    }
    let ends = frame_ends(&dir, total);
    let in_segment = ends.len() as u64 - 1;
    let first_in_segment = total - in_segment;
    let last_start = ends[ends.len() - 4]; // the last three records
    let file_end = *ends.last().unwrap();
    for cut in last_start..file_end {
        for fill in [0u8, 0xA5] {
            let (_keep, copy) = copy_log(&dir);
            let seg = segment_files(&copy).pop().unwrap();
            let f = OpenOptions::new().write(true).open(&seg).unwrap();
            f.set_len(cut).unwrap();
            if fill != 0 {
                // Garbage after the cut, as a torn write can leave.
                f.write_all_at(&vec![fill; 300], cut).unwrap();
            }
            drop(f);
            let log = small_segments(&copy)
                .open()
                .unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            let survivors = ends.iter().filter(|&&e| e <= cut).count() as u64 - 1;
            let expect = first_in_segment + survivors;
            assert_eq!(log.tree_head().unwrap().size, expect, "cut at {cut}");
            let report = log.open_report();
            let at_boundary = ends.contains(&cut);
            if !at_boundary || fill != 0 {
                let t = report
                    .truncated
                    .as_ref()
                    .unwrap_or_else(|| panic!("cut {cut}: no report"));
                assert_eq!(t.seq, expect);
                assert_eq!(t.offset, ends[survivors as usize]);
            }
            assert_events(&read_all(&log), expect);
            log.append(&event(expect)).unwrap().wait().unwrap();
            drop(log);
            let log = AuditLog::open(&copy).unwrap();
            assert_events(&read_all(&log), expect + 1);
            assert!(
                log.open_report().truncated.is_none(),
                "second open must be clean"
            );
        }
    }
}

#[test]
fn damage_followed_by_durable_records_fails_the_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    {
        let log = small_segments(&dir).open().unwrap();
        for i in 0..20 {
            // One record per group, each synced: later frames prove earlier ones durable.
            log.append(&event(i)).unwrap().wait().unwrap();
        }
    }
    let ends = frame_ends(&dir, 20);
    let seg = segment_files(&dir).pop().unwrap();
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    let target = ends[5] + 20; // inside record 5's body
    let mut b = [0u8; 1];
    std::fs::File::open(&seg)
        .unwrap()
        .read_exact_at(&mut b, target)
        .unwrap();
    f.write_all_at(&[b[0] ^ 0x10], target).unwrap();
    drop(f);
    let err = AuditLog::open(&dir).unwrap_err();
    let c = err
        .corruption()
        .unwrap_or_else(|| panic!("not corruption: {err}"));
    assert_eq!(c.kind, CorruptionKind::DamageBeforeValidRecords);
    assert_eq!(c.seq, Some(5));
    assert_eq!(c.offset, ends[5]);
    assert_eq!(c.file, seg);
    // The file was not modified by the failed open.
    assert!(std::fs::metadata(&seg).unwrap().len() > ends[19]);
    // Read-only open still works and lists the problem.
    let ro = ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(ro.open_report().problems.len(), 1);
    assert_eq!(ro.tree_head().unwrap().size, 5);
    // Appending to it does not compile (the `compile_fail` example of `ReadOnlyLog`).
}
