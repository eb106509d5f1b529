//! A sealed segment is never cut (issue 12 item 1, FORMAT.md §5.3).
//!
//! The crash this reproduces: a seal's footer is durable, then the power goes before the next
//! segment exists, so the newest segment of the log is a sealed one. A flipped bit in its
//! first record once read as a "torn tail" of an active segment: `verify` said "not damage"
//! and the next writer cut every record of the segment and reused their sequence numbers. A
//! valid footer at the end of the file proves that every record before it was fdatasync'ed
//! (the writer syncs the records before it writes the footer), so any bad frame in front of
//! it is damage: verify reports it, a read-write open refuses the log, nothing is cut.

mod common;
use auditlog::verify::{VerifyOptions, verify};
use auditlog::{AuditLog, CorruptionKind, ReadOnlyLog};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const RECORDS: u64 = 600;

/// Two sealed segments of 300 records, each written as one group, and no active segment.
/// Returns the newest sealed segment, whose first record is flipped, and its new bytes.
fn sealed_log_with_flipped_first_record(dir: &Path) -> (PathBuf, Vec<u8>) {
    {
        let log = small_segments(dir).open().unwrap();
        append_range(&log, 0, RECORDS / 2);
        log.seal().unwrap();
        append_range(&log, RECORDS / 2, RECORDS);
        log.seal().unwrap();
        log.close().unwrap();
    }
    let mut files = segment_files(dir);
    assert_eq!(
        files.len(),
        3,
        "two sealed segments and an empty active one"
    );
    // The crash point "after seal, before the next segment exists".
    std::fs::remove_file(files.pop().unwrap()).unwrap();
    let newest = files.pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let header_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    // Inside the first record's payload (frame header 8 bytes, fixed body 24).
    bytes[header_len + 40] ^= 0x04;
    std::fs::write(&newest, &bytes).unwrap();
    (newest, bytes)
}

fn first_frame_offset(bytes: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(bytes[12..16].try_into().unwrap()))
}

#[test]
fn a_bad_frame_in_the_newest_sealed_segment_is_damage_not_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (newest, damaged) = sealed_log_with_flipped_first_record(&dir);
    let at = first_frame_offset(&damaged);

    let report = verify(&dir, &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "verify passed a damaged sealed segment");
    let p = report
        .problems
        .iter()
        .find(|p| p.file == newest)
        .unwrap_or_else(|| panic!("no problem names {}: {report:?}", newest.display()));
    assert_eq!((p.offset, p.seq), (at, Some(RECORDS / 2)));
    assert!(matches!(p.kind, CorruptionKind::ChecksumMismatch { .. }));

    let err = AuditLog::open(&dir).expect_err("a read-write open cut a sealed segment");
    let c = err
        .corruption()
        .unwrap_or_else(|| panic!("not corruption: {err}"));
    assert_eq!((&c.file, c.offset, c.seq), (&newest, at, Some(RECORDS / 2)));
    assert_eq!(
        std::fs::read(&newest).unwrap(),
        damaged,
        "the segment changed"
    );

    // A reader still gets the intact records before the damage and is told about it.
    let ro = ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(ro.open_report().problems.len(), 1);
    assert!(ro.open_report().truncated.is_none());
    assert_eq!(ro.end_seq(), RECORDS / 2);
    drop(ro);
    assert_eq!(
        std::fs::read(&newest).unwrap(),
        damaged,
        "the segment changed"
    );
}

#[test]
fn the_cli_reports_the_damage_and_refuses_to_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (newest, damaged) = sealed_log_with_flipped_first_record(&dir);
    let d = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_auditlog"))
            .env_remove("AUDITLOG_DIR")
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&["verify", d]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "verify: {text}");
    assert!(!text.contains("not damage"), "verify: {text}");
    let name = newest.file_name().unwrap().to_str().unwrap();
    assert!(
        text.contains(name),
        "verify does not name the segment: {text}"
    );

    let out = run(&["append", "--dir", d, "--actor", "a", "--action", "b"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "append: {text}");
    assert!(
        text.contains(name),
        "append does not name the segment: {text}"
    );
    assert_eq!(
        std::fs::read(&newest).unwrap(),
        damaged,
        "append cut the segment"
    );
    assert_eq!(segment_files(&dir).len(), 2, "append created a segment");
}
