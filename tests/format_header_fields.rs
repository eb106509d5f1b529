//! Fields that docs/FORMAT.md fixes but a checksum cannot guard, because a forger (or a future
//! variant of the format) recomputes the checksum: the flags of `auditlog.meta`, of a segment
//! header and of `cuts.log` must be 0, and a segment starting at sequence 0 must have
//! `prev_recorded_at` = `i64::MIN`. Each is set here with its CRC recomputed, and verify (and
//! open) must report it, naming the file and the field's offset. Also pinned: what trailing
//! bytes fewer than a frame header mean at the end of an active segment (§2.2).

mod common;

use auditlog::lifecycle::retention::RetentionPolicy;
use auditlog::verify::{VerifyOptions, kind_name, verify};
use auditlog::{AuditLog, Error, VerifyReport};
use common::{append_range, copy_log, segment_files, small_segments};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A log of several sealed segments and an active one holding records.
fn build() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().expect("open");
    append_range(&log, 0, 2400);
    log.close().expect("close");
    assert!(segment_files(&dir).len() >= 3, "several segments needed");
    (tmp, dir)
}

fn check(dir: &Path) -> VerifyReport {
    verify(dir, &VerifyOptions::default()).expect("verify runs")
}

/// Rewrites `path` with `f` applied, then recomputes the CRC-32 of bytes `0..crc_at` stored
/// at `crc_at` (the layout of the meta file, a segment header and the cut log header).
fn forge(path: &Path, crc_at: impl Fn(&[u8]) -> usize, f: impl FnOnce(&mut [u8])) {
    let mut bytes = std::fs::read(path).expect("read");
    f(&mut bytes);
    let at = crc_at(&bytes);
    let crc = crc32fast::hash(&bytes[..at]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(path, bytes).expect("write");
}

fn segment_crc_at(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[12..16].try_into().expect("4")) as usize - 4
}

fn set_flags(bytes: &mut [u8]) {
    bytes[10..12].copy_from_slice(&0x0100u16.to_le_bytes());
}

/// The report's problems as (file name, offset, kind name).
fn problems(report: &VerifyReport) -> Vec<(String, u64, &'static str)> {
    report
        .problems
        .iter()
        .map(|p| {
            let name = p.file.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), p.offset, kind_name(&p.kind))
        })
        .collect()
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

fn is_unknown_flags_at(e: &Error, file: &str, offset: u64) -> bool {
    e.corruption().is_some_and(|c| {
        kind_name(&c.kind) == "unknown_flags" && c.offset == offset && name_of(&c.file) == file
    })
}

#[test]
fn flags_in_the_identity_file_are_reported() {
    let (_tmp, dir) = build();
    forge(&dir.join("auditlog.meta"), |_| 36, set_flags);
    let report = check(&dir);
    assert!(!report.ok, "{report}");
    assert!(
        problems(&report).contains(&("auditlog.meta".into(), 10, "unknown_flags")),
        "{report}"
    );
    let err = Error::from(AuditLog::open(&dir).expect_err("a writer must not open it"));
    assert!(is_unknown_flags_at(&err, "auditlog.meta", 10), "{err}");
}

#[test]
fn flags_in_a_segment_header_are_reported_sealed_or_active() {
    let (_tmp, dir) = build();
    let segments = segment_files(&dir);
    for target in [&segments[1], segments.last().expect("active")] {
        let (_copy, dir) = copy_log(&dir);
        let path = dir.join(target.file_name().expect("name"));
        forge(&path, segment_crc_at, set_flags);
        let report = check(&dir);
        assert!(!report.ok, "{report}");
        assert!(
            problems(&report).contains(&(name_of(&path), 10, "unknown_flags")),
            "{report}"
        );
    }
    // The active segment's header is damage, never a torn tail to cut.
    let (_copy, dir) = copy_log(&dir);
    let active = dir.join(segments.last().expect("active").file_name().expect("name"));
    forge(&active, segment_crc_at, set_flags);
    let len = std::fs::metadata(&active).expect("stat").len();
    let err = Error::from(AuditLog::open(&dir).expect_err("a writer must not open it"));
    assert!(is_unknown_flags_at(&err, &name_of(&active), 10), "{err}");
    assert_eq!(std::fs::metadata(&active).expect("stat").len(), len);
}

#[test]
fn flags_in_the_cut_log_are_reported() {
    let (_tmp, dir) = build();
    let log = small_segments(&dir).open().expect("open");
    let policy = RetentionPolicy {
        max_age: Some(Duration::ZERO),
        max_total_bytes: None,
    };
    assert!(
        !log.apply_retention(&policy)
            .expect("retention")
            .segments
            .is_empty()
    );
    drop(log);
    assert!(check(&dir).ok);
    forge(&dir.join("cuts.log"), |_| 28, set_flags);
    let err = verify(&dir, &VerifyOptions::default()).expect_err("the cut log is refused");
    assert!(is_unknown_flags_at(&err, "cuts.log", 10), "{err}");
    let err = Error::from(AuditLog::open(&dir).expect_err("a writer must not open it"));
    assert!(is_unknown_flags_at(&err, "cuts.log", 10), "{err}");
}

#[test]
fn a_first_segment_must_have_prev_recorded_at_min() {
    let (_tmp, dir) = build();
    let first = segment_files(&dir)[0].clone();
    // 0 is below every record's recorded_at, so only the rule itself can catch it.
    forge(&first, segment_crc_at, |b| {
        b[48..56].copy_from_slice(&0i64.to_le_bytes())
    });
    let report = check(&dir);
    assert!(!report.ok, "{report}");
    let p = report
        .problems
        .iter()
        .find(|p| p.file == first)
        .expect("the first segment is reported");
    assert_eq!(kind_name(&p.kind), "bad_header", "{report}");
    assert!(p.to_string().contains("prev_recorded_at"), "{p}");
}

/// Offset just past the last record frame of a segment without a footer.
fn records_end(bytes: &[u8]) -> usize {
    let mut pos = segment_crc_at(bytes) + 4;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4"));
        if len == 0 {
            break;
        }
        pos += 8 + len as usize;
    }
    pos
}

/// §2.2: where a frame would start, any run of zero bytes reaching the end of the file (one
/// to seven included, too short for a frame header) is the clean end of an active segment;
/// the same number of bytes not all zero is a torn frame (a warning in verify, cut on open).
#[test]
fn fewer_than_eight_trailing_bytes_end_an_active_segment() {
    let (_tmp, dir) = build();
    let active = segment_files(&dir).last().expect("active").clone();
    let bytes = std::fs::read(&active).expect("read");
    let end = records_end(&bytes);
    assert!(
        end > segment_crc_at(&bytes) + 4,
        "the active segment holds records"
    );
    let records = check(&dir).records;
    for k in 1..8 {
        let (_copy, dir) = copy_log(&dir);
        let path = dir.join(active.file_name().expect("name"));
        let mut tail = bytes[..end + k].to_vec();
        std::fs::write(&path, &tail).expect("write");
        let report = check(&dir);
        assert!(
            report.ok && report.warnings.is_empty(),
            "{k} zeros: {report}"
        );
        assert_eq!(report.records, records);

        *tail.last_mut().expect("byte") = 0x5a;
        std::fs::write(&path, &tail).expect("write");
        let report = check(&dir);
        assert!(report.ok, "{k} bytes, last nonzero: {report}");
        assert_eq!(report.records, records);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.message.contains("uncommitted tail")),
            "{k} bytes, last nonzero: {report}"
        );
        let log = AuditLog::open(&dir).expect("open cuts the torn frame");
        let cut = log.open_report().truncated.as_ref().expect("a cut");
        assert_eq!(log.open_report().end_seq, records, "{cut:?}");
    }
}
