//! A deletion cannot be dressed up as retention (issue 12 item 4).
//!
//! The attack: delete the oldest live segment and append a cut record (FORMAT.md §9), forged
//! by hand from the next segment's header, to `cuts.log`. Structurally such a cut is perfect,
//! so only a signature by the log's key can tell it from a real one: with `--public-key`
//! verify must reject it naming the cut; without a key it must say the removal is
//! unauthenticated. The cut fields that need no key (`removed_from`, `cut_at`, `kind`) are
//! checked always. The cut records here are written from FORMAT.md alone, not with the
//! crate's encoder, so the tests also pin the documented layout.

mod common;
use auditlog::checkpoint::NoteSigner;
use auditlog::{VerifyOptions, verify};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KEY_NAME: &str = "auditlog-test-key";

fn key() -> NoteSigner {
    NoteSigner::from_seed(KEY_NAME, [42; 32]).unwrap()
}

/// A log signed by [`key`] with five sealed segments and an active one.
fn signed_log(dir: &Path) {
    let log = small_segments(dir).signing_key(key()).open().unwrap();
    for i in 0..5 {
        append_range(&log, i * 300, i * 300 + 300);
        log.seal().unwrap();
    }
    append_range(&log, 1500, 1510);
}

/// The attack: the oldest segment deleted, a forged retention cut appended.
fn delete_oldest_and_forge(dir: &Path, removed_from: u64, cut_at: i64, kind: u8) {
    let segments = segment_files(dir);
    std::fs::remove_file(&segments[0]).unwrap();
    append_forged_cut(
        dir,
        &segments[1],
        &Forgery {
            kind,
            removed_from,
            cut_at,
        },
    );
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .output()
        .unwrap()
}

fn write_public_key(dir: &Path) -> PathBuf {
    let path = dir.join("log.pub");
    std::fs::write(&path, format!("{}\n", key().verifier().to_text())).unwrap();
    path
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_forged_cut_fails_verify_with_the_public_key_and_is_unauthenticated_without() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    signed_log(&dir);
    let pubkey = write_public_key(tmp.path());
    let (dir_s, key_s) = (dir.to_str().unwrap(), pubkey.to_str().unwrap());
    let before = cli(&["verify", dir_s, "--public-key", key_s]);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before));

    delete_oldest_and_forge(&dir, 0, 1_000, 1);

    let with_key = cli(&["verify", dir_s, "--public-key", key_s]);
    let out = text(&with_key);
    assert_eq!(with_key.status.code(), Some(1), "{out}");
    assert!(out.contains("cuts.log"), "names the cut log: {out}");
    assert!(out.contains("records 0..300"), "names the cut: {out}");
    assert!(out.contains("not signed"), "{out}");

    let without = cli(&["verify", dir_s]);
    let out = text(&without);
    assert_eq!(
        without.status.code(),
        Some(0),
        "a key is needed to tell: {out}"
    );
    assert!(out.contains("unauthenticated"), "{out}");
}

#[test]
fn a_cut_that_does_not_start_where_the_log_started_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    signed_log(tmp.path());
    delete_oldest_and_forge(tmp.path(), 5, 1_000, 1);
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "{report}");
    let p = &report.problems[0];
    assert!(p.file.ends_with("cuts.log"), "{report}");
    assert!(p.kind.to_string().contains("removed_from"), "{report}");
}

#[test]
fn a_cut_older_than_the_cut_before_it_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    signed_log(dir);
    // A first cut at time 2 ms, then a second one claiming to be older.
    std::fs::remove_file(&segment_files(dir)[0]).unwrap();
    let segments = segment_files(dir);
    append_forged_cut(
        dir,
        &segments[0],
        &Forgery {
            kind: 1,
            removed_from: 0,
            cut_at: 2_000_000,
        },
    );
    assert!(verify(dir, &VerifyOptions::default()).unwrap().ok);
    std::fs::remove_file(&segments[0]).unwrap();
    append_forged_cut(
        dir,
        &segments[1],
        &Forgery {
            kind: 1,
            removed_from: 300,
            cut_at: 1_000_000,
        },
    );
    let report = verify(dir, &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "{report}");
    let p = &report.problems[0];
    assert!(p.file.ends_with("cuts.log"), "{report}");
    assert!(p.kind.to_string().contains("cut_at"), "{report}");
}

#[test]
fn a_cut_of_an_unknown_kind_is_damage_in_the_cut_log() {
    let tmp = tempfile::tempdir().unwrap();
    signed_log(tmp.path());
    delete_oldest_and_forge(tmp.path(), 0, 1_000, 9);
    let report = verify(tmp.path(), &VerifyOptions::default()).unwrap();
    assert!(!report.ok, "{report}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.file.ends_with("cuts.log") && p.kind.to_string().contains("kind 9")),
        "{report}"
    );
}

#[test]
fn cli_retention_and_archive_with_the_key_sign_their_cuts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    signed_log(&dir);
    let pubkey = write_public_key(tmp.path());
    let private = tmp.path().join("log.key");
    std::fs::write(&private, format!("{}\n", key().to_text())).unwrap();
    let archive = tmp.path().join("archive");
    let (d, p, k) = (
        dir.to_str().unwrap(),
        pubkey.to_str().unwrap(),
        private.to_str().unwrap(),
    );
    let a = archive.to_str().unwrap();
    let out = cli(&[
        "archive",
        "--dir",
        d,
        "--to",
        a,
        "--max-segments",
        "1",
        "--key",
        k,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["retention", "--dir", d, "--max-age-days", "0", "--key", k]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["verify", d, "--public-key", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("authenticated: all 2 cut(s)"),
        "{}",
        text(&out)
    );
    // A cut made without the key is then refused by the same check.
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 1510, 1900);
    log.seal().unwrap();
    append_range(&log, 1900, 1910);
    log.close().unwrap();
    let out = cli(&["retention", "--dir", d, "--max-age-days", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["verify", d, "--public-key", p]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("records 1500..1900"), "{}", text(&out));
}
