//! Tamper campaign: a small multi-segment log is damaged in every way an attacker or a disk
//! could (bit flips in header, frame, payload and footer; records deleted, duplicated,
//! reordered, forged; segments removed, swapped, replayed or taken from another log; the tail
//! cut and the log rewritten after a checkpoint), and `verify` must report each with the right
//! kind and place, and report an intact log as OK.

mod common;

use auditlog::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner};
use auditlog::verify::{VerifyOptions, verify};
use auditlog::{CorruptionKind, ReadOnlyLog, VerifyReport};
use common::{append_range, copy_log, segment_files, small_segments};
use std::path::{Path, PathBuf};

/// A sealed log of 2,400 events over several 64 KiB segments, plus a signed checkpoint of it.
fn build() -> (tempfile::TempDir, PathBuf, String, NoteSigner) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [3; 32]).expect("key");
    let log = small_segments(&dir).open().expect("open");
    append_range(&log, 0, 2400);
    log.seal().expect("seal");
    let note = log
        .sign_checkpoint(&CheckpointSigner::new(key.clone()))
        .expect("sign");
    log.close().expect("close");
    assert!(
        segment_files(&dir).len() >= 4,
        "the test needs several segments"
    );
    (tmp, dir, note, key)
}

fn check(dir: &Path) -> VerifyReport {
    verify(dir, &VerifyOptions::default()).expect("verify runs")
}

/// Offsets of the record frames of a segment file (and of its footer, if any).
fn frames(bytes: &[u8]) -> (Vec<usize>, Option<usize>) {
    let header_len = u32::from_le_bytes(bytes[12..16].try_into().expect("4")) as usize;
    let mut pos = header_len;
    let mut out = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4"));
        if len == u32::MAX {
            return (out, Some(pos));
        }
        if len == 0 {
            break;
        }
        out.push(pos);
        pos += 8 + len as usize;
    }
    (out, None)
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).expect("read");
    f(&mut bytes);
    std::fs::write(path, bytes).expect("write");
}

/// Asserts exactly the first problem's file, offset and kind.
fn assert_first(
    report: &VerifyReport,
    file: &Path,
    offset: u64,
    kind: impl Fn(&CorruptionKind) -> bool,
) {
    assert!(!report.ok, "damage went unnoticed");
    let p = &report.problems[0];
    assert_eq!(p.file, file, "{report}");
    assert_eq!(p.offset, offset, "{report}");
    assert!(kind(&p.kind), "unexpected kind: {report}");
}

#[test]
fn intact_log_is_ok_with_count_head_and_time_range() {
    let (_t, dir, note, key) = build();
    let r = check(&dir);
    assert!(r.ok, "{r}");
    assert_eq!(r.records, 2400);
    assert_eq!(r.tree_head.size, 2400);
    assert!(r.time_range.is_some());
    let log = ReadOnlyLog::open(&dir).expect("open");
    assert_eq!(r.tree_head, log.tree_head().unwrap());
    let cp = Checkpoint::open(&note, &key.verifier()).expect("signed");
    let with_cp = VerifyOptions {
        checkpoint: Some(cp),
        ..VerifyOptions::default()
    };
    let r = verify(&dir, &with_cp).expect("verify");
    assert!(
        r.ok && r.checkpoint.as_ref().is_some_and(|c| c.consistent),
        "{r}"
    );
}

#[test]
fn flipped_bits_are_found_where_they_are() {
    let (_t, dir, _, _) = build();
    let seg = segment_files(&dir)[1].clone();
    let bytes = std::fs::read(&seg).expect("read");
    let (offsets, footer) = frames(&bytes);
    let footer = footer.expect("sealed");
    // Header.
    let (_t2, d) = copy_log(&dir);
    let s = d.join(seg.file_name().expect("name"));
    edit(&s, |b| b[40] ^= 1);
    assert_first(&check(&d), &s, 0, |k| {
        matches!(k, CorruptionKind::BadHeader(_))
    });
    // Frame header (length field) and payload of the 5th record.
    for delta in [1usize, 8 + 24 + 3] {
        let (_t2, d) = copy_log(&dir);
        let s = d.join(seg.file_name().expect("name"));
        edit(&s, |b| b[offsets[4] + delta] ^= 0x10);
        let r = check(&d);
        assert_first(&r, &s, offsets[4] as u64, |k| {
            matches!(
                k,
                CorruptionKind::ChecksumMismatch { .. } | CorruptionKind::BadLength(_)
            )
        });
        let first_seq = r.problems[0].seq.expect("seq known");
        assert!(first_seq > 0);
    }
    // Footer.
    let (_t2, d) = copy_log(&dir);
    let s = d.join(seg.file_name().expect("name"));
    edit(&s, |b| b[footer + 30] ^= 1);
    assert_first(&check(&d), &s, footer as u64, |k| {
        matches!(k, CorruptionKind::BadFooter(_))
    });
}

#[test]
fn deleted_duplicated_reordered_and_forged_records_are_found() {
    let (_t, dir, _, _) = build();
    let seg = segment_files(&dir)[0].clone();
    let bytes = std::fs::read(&seg).expect("read");
    let (o, footer) = frames(&bytes);
    let footer = footer.expect("sealed");
    let frame = |i: usize| bytes[o[i]..o[i + 1]].to_vec();
    // (damaged file, offset of the first wrong frame, sequence number expected there)
    let cases: Vec<(Vec<u8>, usize, u64)> = vec![
        ([&bytes[..o[3]], &bytes[o[4]..]].concat(), o[3], 3), // deleted
        (
            [&bytes[..o[4]], &frame(3), &bytes[o[4]..]].concat(),
            o[4],
            4,
        ), // duplicated
        (
            [&bytes[..o[3]], &frame(4), &frame(3), &bytes[o[5]..]].concat(),
            o[3],
            3,
        ), // reordered
        (
            [&bytes[..o[3]], &frame(7), &bytes[o[3]..]].concat(),
            o[3],
            3,
        ), // inserted (a copy)
    ];
    for (damaged, at, seq) in cases {
        let (_t2, d) = copy_log(&dir);
        let s = d.join(seg.file_name().expect("name"));
        std::fs::write(&s, damaged).expect("write");
        let r = check(&d);
        assert_first(
            &r,
            &s,
            at as u64,
            |k| matches!(k, CorruptionKind::SequenceMismatch { expected, .. } if *expected == seq),
        );
        assert_eq!(r.problems.len(), 1, "no cascade of follow-up problems: {r}");
    }
    // A record rewritten with a valid CRC (the salt is public): only the Merkle root tells.
    let (_t2, d) = copy_log(&dir);
    let s = d.join(seg.file_name().expect("name"));
    let log_id = ReadOnlyLog::open(&dir).expect("open").log_id();
    edit(&s, |b| {
        let at = o[2];
        let len = u32::from_le_bytes(b[at..at + 4].try_into().expect("4")) as usize;
        b[at + 8 + 24 + 10] ^= 1; // a payload byte
        let mut h = crc32fast::Hasher::new();
        h.update(&log_id);
        h.update(&0u64.to_le_bytes());
        h.update(&(len as u32).to_le_bytes());
        h.update(&b[at + 8..at + 8 + len]);
        b[at + 4..at + 8].copy_from_slice(&h.finalize().to_le_bytes());
    });
    let r = check(&d);
    assert!(!r.ok);
    let root = r
        .problems
        .iter()
        .find(|p| p.kind == CorruptionKind::RootMismatch)
        .expect("the recomputed root differs");
    assert_eq!((&root.file, root.offset), (&s, footer as u64), "{r}");
}

#[test]
fn removed_swapped_replayed_and_foreign_segments_are_found() {
    let (_t, dir, _, _) = build();
    let segs = segment_files(&dir);
    let name = |i: usize| segs[i].file_name().expect("name").to_owned();
    // Removed from the middle: the next segment does not continue the chain.
    let (_t2, d) = copy_log(&dir);
    std::fs::remove_file(d.join(name(1))).expect("rm");
    assert_first(&check(&d), &d.join(name(2)), 0, |k| {
        matches!(k, CorruptionKind::MissingSegment { .. })
    });
    // Removed at the start.
    let (_t2, d) = copy_log(&dir);
    std::fs::remove_file(d.join(name(0))).expect("rm");
    assert_first(&check(&d), &d.join(name(1)), 0, |k| {
        matches!(k, CorruptionKind::MissingSegment { first_seq: 0 })
    });
    // Swapped, and replayed (an older segment copied over a newer one's name).
    let (_t2, d) = copy_log(&dir);
    std::fs::rename(d.join(name(1)), d.join("x")).expect("mv");
    std::fs::rename(d.join(name(2)), d.join(name(1))).expect("mv");
    std::fs::rename(d.join("x"), d.join(name(2))).expect("mv");
    assert_first(&check(&d), &d.join(name(1)), 0, |k| {
        matches!(k, CorruptionKind::BadHeader(_))
    });
    let (_t2, d) = copy_log(&dir);
    std::fs::copy(d.join(name(1)), d.join(name(2))).expect("cp");
    assert_first(&check(&d), &d.join(name(2)), 0, |k| {
        matches!(k, CorruptionKind::BadHeader(_))
    });
    // Taken from another log with the same shape.
    let (_t3, other, _, _) = build();
    let (_t2, d) = copy_log(&dir);
    std::fs::copy(other.join(name(1)), d.join(name(1))).expect("cp");
    assert_first(&check(&d), &d.join(name(1)), 0, |k| {
        matches!(k, CorruptionKind::ForeignLog)
    });
}

#[test]
fn truncation_and_rewrite_are_caught_only_against_a_checkpoint() {
    let (_t, dir, note, key) = build();
    let cp = Checkpoint::open(&note, &key.verifier()).expect("signed");
    let opts = VerifyOptions {
        checkpoint: Some(cp),
        ..VerifyOptions::default()
    };
    let segs = segment_files(&dir);
    // Cutting whole segments off the end leaves a valid-looking log.
    let (_t2, d) = copy_log(&dir);
    for s in &segs[segs.len() - 2..] {
        std::fs::remove_file(d.join(s.file_name().expect("name"))).expect("rm");
    }
    assert!(
        check(&d).ok,
        "without a checkpoint a cut tail is undetectable"
    );
    let r = verify(&d, &opts).expect("verify");
    assert!(!r.ok);
    assert!(
        matches!(r.problems[0].kind, CorruptionKind::CheckpointMismatch(_)),
        "{r}"
    );
    assert_eq!(r.problems[0].seq, Some(2400));
    // Rewritten: cut, then other records appended by the engine itself (all hashes valid).
    let (_t2, d) = copy_log(&dir);
    for s in &segs[segs.len() - 2..] {
        std::fs::remove_file(d.join(s.file_name().expect("name"))).expect("rm");
    }
    let log = small_segments(&d).open().expect("reopen");
    append_range(&log, 5000, 5600);
    log.close().expect("close");
    assert!(
        check(&d).ok,
        "a rewrite with recomputed hashes verifies on its own"
    );
    let r = verify(&d, &opts).expect("verify");
    assert!(!r.ok);
    assert!(
        matches!(r.problems[0].kind, CorruptionKind::CheckpointMismatch(_)),
        "{r}"
    );
    // A tampered checkpoint does not verify at all.
    let forged = note.replacen("\n2400\n", "\n2300\n", 1);
    assert!(Checkpoint::open(&forged, &key.verifier()).is_err());
}

#[test]
fn a_lone_segment_file_verifies_on_its_own() {
    let (_t, dir, _, _) = build();
    let seg = segment_files(&dir)[2].clone();
    let r = check(&seg);
    assert!(r.ok, "{r}");
    assert_eq!(r.segments_checked, 1);
    edit(&seg, |b| b[200] ^= 4);
    assert!(!check(&seg).ok);
}
