//! Retention and archiving through the library sign their cut records with the log's key
//! (FORMAT.md §9, "Signed cuts"), so `verify` with the public key authenticates every removal;
//! a removal made without the key, or a signed cut altered afterwards, fails that check.

mod common;
use auditlog::checkpoint::NoteSigner;
use auditlog::lifecycle::retention::RetentionPolicy;
use auditlog::lifecycle::{ArchivePolicy, LocalDirDestination, cuts};
use auditlog::{AuditLog, VerifyOptions, VerifyReport, verify};
use common::*;
use std::path::Path;
use std::time::Duration;

fn key() -> NoteSigner {
    NoteSigner::from_seed("auditlog-test-key", [42; 32]).unwrap()
}

fn with_key() -> VerifyOptions {
    VerifyOptions {
        cut_key: Some(key().verifier()),
        ..VerifyOptions::default()
    }
}

/// Five sealed segments of 300 records and an active one, opened with `signer`.
fn log_with_segments(dir: &Path, signer: Option<NoteSigner>) -> AuditLog {
    let mut builder = small_segments(dir);
    if let Some(key) = signer {
        builder = builder.signing_key(key);
    }
    let log = builder.open().unwrap();
    for i in 0..5 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    append_range(&log, 1500, 1510);
    log
}

fn retain_oldest(log: &AuditLog) {
    // Every sealed segment is older than zero seconds: all but the newest go, in one cut.
    let report = log
        .apply_retention(&RetentionPolicy {
            max_age: Some(Duration::ZERO),
            max_total_bytes: None,
        })
        .unwrap();
    assert!(report.cut.is_some_and(|c| c.cut_seq > 0));
}

fn note_with<'a>(report: &'a VerifyReport, needle: &str) -> Option<&'a str> {
    report
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .find(|m| m.contains(needle))
}

#[test]
fn retention_and_archive_with_a_signer_write_signed_cuts_that_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = log_with_segments(&dir, Some(key()));
    let destination = LocalDirDestination::new(tmp.path().join("archive"));
    let archived = log
        .archive(
            &destination,
            &ArchivePolicy {
                max_segments: Some(2),
                ..ArchivePolicy::default()
            },
        )
        .unwrap();
    assert_eq!(archived.bundles.len(), 2);
    retain_oldest(&log);
    let cut_log = cuts::read(&dir, &log.log_id()).unwrap();
    assert_eq!(
        cut_log.cuts.len(),
        3,
        "two archive cuts and one retention cut"
    );
    for cut in &cut_log.cuts {
        cut.check_signature(&key().verifier(), &log.log_id())
            .unwrap_or_else(|e| panic!("{cut}: {e}"));
    }
    drop(log);

    let report = verify(&dir, &with_key()).unwrap();
    assert!(report.ok, "{report}");
    assert!(note_with(&report, "authenticated").is_some(), "{report}");
    // Without the key the same log verifies, but says what it could not check.
    let report = verify(&dir, &VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report}");
    let note = note_with(&report, "unauthenticated").expect("the unauthenticated note");
    assert!(note.contains("3 of 3 cut(s) carry a signature"), "{note}");
    // And the log reopens and takes new cuts after its signed ones.
    let log = small_segments(&dir).signing_key(key()).open().unwrap();
    append_range(&log, 1510, 1520);
    drop(log);
    assert!(verify(&dir, &with_key()).unwrap().ok);
}

#[test]
fn a_cut_made_without_the_key_fails_verify_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_with_segments(tmp.path(), None);
    retain_oldest(&log);
    drop(log);
    assert!(verify(tmp.path(), &VerifyOptions::default()).unwrap().ok);
    let report = verify(tmp.path(), &with_key()).unwrap();
    assert!(!report.ok, "{report}");
    let p = &report.problems[0];
    assert!(p.file.ends_with("cuts.log"), "{report}");
    assert_eq!(auditlog::verify::kind_name(&p.kind), "bad_cut");
    assert!(p.kind.to_string().contains("not signed"), "{report}");
}

#[test]
fn a_signed_cut_altered_after_signing_is_reported_as_forged() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_with_segments(tmp.path(), Some(key()));
    retain_oldest(&log);
    let log_id = log.log_id();
    drop(log);
    // Rewrite the first record's `cut_at` (body offset 17, FORMAT.md §9) and fix its CRC, as
    // an attacker without the key would to move a deletion's date.
    let path = tmp.path().join("cuts.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let len = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let body = 40..40 + len;
    bytes[body.start + 17] ^= 0x01;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&log_id);
    crc.update(&(len as u32).to_le_bytes());
    crc.update(&bytes[body]);
    bytes[36..40].copy_from_slice(&crc.finalize().to_le_bytes());
    std::fs::write(&path, bytes).unwrap();

    let report = verify(tmp.path(), &with_key()).unwrap();
    assert!(!report.ok, "{report}");
    assert!(
        report.problems[0]
            .kind
            .to_string()
            .contains("forged or altered"),
        "{report}"
    );
}

#[test]
fn another_key_does_not_authenticate_the_cuts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_with_segments(tmp.path(), Some(key()));
    retain_oldest(&log);
    drop(log);
    let other = NoteSigner::from_seed("auditlog-test-key", [43; 32]).unwrap();
    let options = VerifyOptions {
        cut_key: Some(other.verifier()),
        ..VerifyOptions::default()
    };
    let report = verify(tmp.path(), &options).unwrap();
    assert!(!report.ok, "{report}");
}

/// The engine's own hands: a forged cut that reaches past segments still present would make
/// the next open finish "an interrupted removal" and delete them. A writer holding the log's
/// key refuses instead, naming the cut, and deletes nothing.
#[test]
fn a_writer_with_the_key_refuses_to_remove_segments_for_a_forged_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_with_segments(tmp.path(), Some(key()));
    drop(log);
    let segments = segment_files(tmp.path());
    append_forged_cut(
        tmp.path(),
        &segments[2],
        &Forgery {
            kind: 1,
            removed_from: 0,
            cut_at: 1_000,
        },
    );

    let err = small_segments(tmp.path())
        .signing_key(key())
        .open()
        .expect_err("a cut the key did not sign must not remove segments");
    let msg = err.to_string();
    assert!(msg.contains("cuts.log"), "{msg}");
    assert!(msg.contains("records 0..600"), "{msg}");
    assert!(msg.contains("not signed"), "{msg}");
    assert_eq!(segment_files(tmp.path()), segments, "nothing was deleted");
}
