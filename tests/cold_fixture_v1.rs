//! A log with a cold segment of cold format version 1 (frame-table entries of 32 bytes, no
//! checksum of the compressed frames; docs/FORMAT.md §8), committed under
//! tests/fixtures/v1-cold. It was made by the release binary of commit 0201e7b (the last
//! writing version 1): `demo --dir D --events 300 --threads 1`, `seal --dir D`,
//! `compact --dir D --frame-bytes 4096`. Later builds must keep opening it, reading every
//! record (in full and one by one, each a single-frame read) and verifying it in full.

mod common;

use auditlog::AuditLog;
use auditlog::lifecycle::cold;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "tests/fixtures/v1-cold";
const COLD: &str = "00000000000000000000.zseg";
const TREE_HEAD: &str =
    "tree size 300 root 760936061e505777ba0c65b838950bcb38b27bef1bea2d07267b7c260a6989d7";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

/// A copy of the fixture, so that nothing a test does can touch the committed files.
fn copy() -> (tempfile::TempDir, PathBuf) {
    common::copy_log(&fixture())
}

#[test]
fn the_fixture_really_is_cold_format_version_1() {
    let bytes = std::fs::read(fixture().join(COLD)).unwrap();
    assert_eq!(&bytes[0..8], b"AUDITZSG");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 1);
    // Version 1's frame table: 32-byte entries between the frames and the footer.
    let trailer = &bytes[bytes.len() - 24..];
    let table_offset = u64::from_le_bytes(trailer[0..8].try_into().unwrap()) as usize;
    let frames = u32::from_le_bytes(trailer[8..12].try_into().unwrap()) as usize;
    assert!(frames > 1, "{frames} frames");
    assert_eq!(table_offset + 32 * frames + 4 + 96 + 24, bytes.len());
}

#[test]
fn a_version_1_cold_segment_opens_reads_and_verifies() {
    let (_tmp, dir) = copy();
    let summary = cold::check(&dir.join(COLD)).unwrap();
    assert!(summary.frames > 1, "{summary:?}");
    let log = common::open_checked_clean(&dir);
    assert_eq!(log.tree_head().unwrap().to_string(), TREE_HEAD);
    let records: Vec<_> = log.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 300);
    for (seq, record) in records.iter().enumerate() {
        assert_eq!(record.seq, seq as u64);
        assert_eq!(&log.get(seq as u64).unwrap(), record, "get({seq})");
    }
    let report = auditlog::verify(&dir, &Default::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.tree_head.to_string(), TREE_HEAD);
}

#[test]
fn a_version_1_cold_segment_is_kept_by_a_writer_that_appends() {
    let (_tmp, dir) = copy();
    let log = AuditLog::open(&dir).unwrap();
    let receipt = log
        .append(&auditlog::Event::new("auditor", "fixture.append"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(receipt.seq, 300);
    assert_eq!(log.get(7).unwrap().seq, 7, "a read of the version 1 frame");
    drop(log);
    let bytes = std::fs::read(dir.join(COLD)).unwrap();
    assert_eq!(
        u16::from_le_bytes([bytes[8], bytes[9]]),
        1,
        "left as it was"
    );
}

/// Version 1 as documented (docs/FORMAT.md §8.2): its compressed frames carry no checksum, so
/// a changed bit in a frame is reported when the frame no longer rebuilds the hot image, and
/// otherwise (libzstd decoding it to the same content) changes no record: never a wrong read.
#[test]
fn a_flip_in_a_version_1_frame_is_reported_or_changes_nothing() {
    use auditlog_format::cold::read::{check_bytes, hot_image};
    let path = fixture().join(COLD);
    let original = std::fs::read(&path).unwrap();
    let image = hot_image(&path, &original, None).unwrap();
    let header_len = u32::from_le_bytes(original[16..20].try_into().unwrap()) as usize;
    let trailer = original.len() - 24;
    let table_offset = u64::from_le_bytes(original[trailer..trailer + 8].try_into().unwrap());
    let frames = 24 + header_len..table_offset as usize;
    let (mut reported, mut same) = (0, 0);
    for bit in (frames.start * 8..frames.end * 8).step_by(7) {
        let mut damaged = original.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        match check_bytes(&path, &damaged, None) {
            Err(c) => {
                assert_eq!(c.file, path, "bit {bit}");
                reported += 1;
            }
            Ok(_) => {
                let rebuilt = hot_image(&path, &damaged, None).unwrap();
                assert!(
                    rebuilt == image,
                    "bit {bit}: passed the check, read differently"
                );
                same += 1;
            }
        }
    }
    assert!(reported > 0, "{reported} reported, {same} decoded the same");
}
