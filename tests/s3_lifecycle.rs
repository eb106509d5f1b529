//! The archive's own life against a real S3-compatible server (SeaweedFS, started by
//! `.ci/test.d/30-s3`): `restore` rebuilds a lost log that verifies with the archive's tree
//! head and holds the same records; `query --archive` pages archive and live log as one
//! sequence, oldest or newest first, with one cursor; `retention --archive` lists by
//! default, deletes whole bundles with `--apply` after recording a signed cut, and what
//! remains still verifies (and restores) with the public key. Each test works under a prefix
//! of its own. Without the server every test fails.

mod common;
mod s3_common;
use s3_common::*;
use std::path::Path;
use std::process::Output;

/// The cursor a query printed on stderr, if any.
fn cursor_of(out: &Output) -> Option<String> {
    let err = String::from_utf8_lossy(&out.stderr);
    err.split("--cursor ")
        .nth(1)
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
}

fn keygen(tmp: &Path) -> (String, String) {
    ok(auditlog(
        &[
            "keygen",
            "--name",
            "test-log",
            "--out",
            tmp.join("log").to_str().unwrap(),
        ],
        tmp,
    ));
    let key = tmp.join("log.key").to_str().unwrap().to_string();
    let public = tmp.join("log.pub").to_str().unwrap().to_string();
    (key, public)
}

#[test]
fn archive_delete_the_log_restore_and_verify_equal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let d = dir.to_str().unwrap();
    let url = fresh_url("restore");
    let (key, public) = keygen(tmp.path());
    ok(auditlog(
        &["archive", "--dir", d, "--to", &url, "--key", &key],
        tmp.path(),
    ));
    let archived_end = auditlog::ReadOnlyLog::open(&dir).unwrap().first_seq();
    let all = ok(auditlog(
        &["export", "--dir", d, "--archive", &url],
        tmp.path(),
    ));
    let expected: Vec<String> = String::from_utf8_lossy(&all.stdout)
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
                < archived_end
        })
        .map(str::to_string)
        .collect();
    assert_eq!(expected.len() as u64, archived_end);
    std::fs::remove_dir_all(&dir).unwrap();

    let to = tmp.path().join("restored");
    let r = to.to_str().unwrap();
    let out = ok(auditlog(
        &[
            "restore",
            "--from",
            &url,
            "--to",
            r,
            "--public-key",
            &public,
        ],
        tmp.path(),
    ));
    assert!(
        text(&out).contains(&format!("records 0..{archived_end}")),
        "{}",
        text(&out)
    );

    // The same tree head as the archive's, the same records, and it verifies.
    let verified = ok(auditlog(&["verify", r, "--json"], tmp.path()));
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    let restored = auditlog::ReadOnlyLog::open(&to).unwrap();
    assert_eq!(restored.end_seq(), archived_end);
    let verdict = ok(auditlog(&["verify", &url, "--json"], tmp.path()));
    let archive: serde_json::Value = serde_json::from_slice(&verdict.stdout).unwrap();
    assert_eq!(
        archive["logs"][0]["end"]["root"],
        serde_json::Value::String(auditlog::merkle::to_hex(
            &restored.tree_head().unwrap().root
        )),
        "{report:#}"
    );
    let exported = ok(auditlog(&["export", "--dir", r], tmp.path()));
    let got: Vec<String> = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected);

    // A second restore into the now full directory changes nothing and says why (exit 2).
    let before = std::fs::read_dir(&to).unwrap().count();
    let out = auditlog(&["restore", "--from", &url, "--to", r], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not empty"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(&to).unwrap().count(), before);
}

#[test]
fn query_pages_archive_and_live_log_as_one_sequence_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 2000);
    let d = dir.to_str().unwrap();
    let url = fresh_url("query");
    ok(auditlog(&["archive", "--dir", d, "--to", &url], tmp.path()));
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    let (first, end) = (ro.first_seq(), ro.end_seq());
    assert!(first > 0);
    for reverse in [false, true] {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut args = vec![
                "query",
                "--dir",
                d,
                "--archive",
                &url,
                "--format",
                "jsonl",
                "--limit",
                "700",
            ];
            if reverse {
                args.push("--reverse");
            }
            if let Some(c) = &cursor {
                args.push("--cursor");
                args.push(c);
            }
            let out = ok(auditlog(&args, tmp.path()));
            all.extend(seqs(&out));
            pages += 1;
            cursor = cursor_of(&out);
            if cursor.is_none() {
                break;
            }
            assert!(pages < 20, "the pages never end");
        }
        let mut expected: Vec<u64> = (0..end).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(all, expected, "reverse: {reverse}");
        assert!(pages >= (end as usize).div_ceil(700), "{pages}");
    }
    // A cursor of another order is refused, exit 2.
    let out = ok(auditlog(
        &[
            "query",
            "--dir",
            d,
            "--archive",
            &url,
            "--format",
            "jsonl",
            "--limit",
            "5",
        ],
        tmp.path(),
    ));
    let c = cursor_of(&out).unwrap();
    let out = auditlog(
        &[
            "query",
            "--dir",
            d,
            "--archive",
            &url,
            "--reverse",
            "--cursor",
            &c,
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn retention_in_the_bucket_records_a_signed_cut_and_what_remains_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let d = dir.to_str().unwrap();
    let url = fresh_url("retention");
    let (key, public) = keygen(tmp.path());
    ok(auditlog(
        &["archive", "--dir", d, "--to", &url, "--key", &key],
        tmp.path(),
    ));
    let before = ok(auditlog(&["verify", &url, "--json"], tmp.path()));
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let bundles = before["logs"][0]["bundles"].as_u64().unwrap();
    assert!(bundles >= 3, "{before:#}");

    // A plan by default: nothing deleted.
    let budget = "1";
    let out = ok(auditlog(
        &[
            "retention",
            "--dir",
            d,
            "--archive",
            &url,
            "--max-bytes",
            budget,
        ],
        tmp.path(),
    ));
    assert!(text(&out).contains("would delete"), "{}", text(&out));
    let same = ok(auditlog(&["verify", &url, "--json"], tmp.path()));
    let same: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(same["logs"][0]["bundles"].as_u64(), Some(bundles));

    // --apply: every bundle but the newest goes, after a signed cut.
    let out = ok(auditlog(
        &[
            "retention",
            "--dir",
            d,
            "--archive",
            &url,
            "--max-bytes",
            budget,
            "--apply",
            "--key",
            &key,
        ],
        tmp.path(),
    ));
    assert!(text(&out).contains("deleted"), "{}", text(&out));
    let after = ok(auditlog(
        &["verify", &url, "--json", "--public-key", &public],
        tmp.path(),
    ));
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    let log = &after["logs"][0];
    assert_eq!(log["bundles"].as_u64(), Some(1), "{after:#}");
    assert_eq!(log["end"], before["logs"][0]["end"], "{after:#}");
    assert!(log["first_seq"].as_u64().unwrap() > 0);
    let warnings = log["warnings"].to_string();
    assert!(warnings.contains("removed by retention"), "{after:#}");

    // What remains restores to a log that starts at the cut and verifies with the key.
    let to = tmp.path().join("restored");
    let r = to.to_str().unwrap();
    ok(auditlog(
        &[
            "restore",
            "--from",
            &url,
            "--to",
            r,
            "--public-key",
            &public,
        ],
        tmp.path(),
    ));
    let out = ok(auditlog(
        &["verify", r, "--public-key", &public],
        tmp.path(),
    ));
    assert!(text(&out).contains("authenticated"), "{}", text(&out));
    assert_eq!(
        auditlog::ReadOnlyLog::open(&to).unwrap().first_seq(),
        log["first_seq"].as_u64().unwrap()
    );

    // The live log and the shortened archive still form one chain.
    ok(auditlog(&["verify", d, "--archive", &url], tmp.path()));
}
