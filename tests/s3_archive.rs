//! Archiving to a real S3-compatible server (SeaweedFS, started by `.ci/test.d/30-s3`, which
//! exports AWS_ENDPOINT_URL, the credentials and AUDITLOG_S3_BUCKET): a round trip that
//! verifies from the bucket and together with the live log, a fleet of logs under one
//! prefix, an upload cut off part-way and rerun, a duplicate upload, wrong credentials and a
//! missing bucket (an error, nothing local removed), a URL that is never a local path, an
//! object tampered with after upload, a server answering 503 for a while (retried), and
//! parallel uploads cut off at several points (nothing lost, a rerun completes them).
//! Each test works under a prefix of its own. Without the server every test fails.

mod common;
mod s3_common;
use auditlog::lifecycle::ArchivePolicy;
use auditlog_objstore::{
    BackoffConfig, RetryConfig, S3Destination, S3Options, S3Store, S3Url, list_bundles,
};
use common::*;
use s3_common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Every file in `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "LOCK"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn connect(url: &S3Url) -> S3Store {
    S3Store::connect(url, &S3Options::default()).unwrap()
}

#[test]
fn archive_round_trip_verifies_from_the_bucket_and_with_the_live_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 2000);
    let url = fresh_prefix("roundtrip").to_string();
    let d = dir.to_str().unwrap();
    let out = auditlog(&["archive", "--dir", d, "--to", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("archived s3://"), "{}", text(&out));

    let out = auditlog(&["verify", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 log(s) verified"), "{}", text(&out));

    let out = auditlog(&["verify", d, "--archive", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("form one chain"), "{}", text(&out));

    // Every record archived is still there: the live log starts where the archive ends.
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    let store = connect(&parse_s3(&url));
    let log_id = auditlog_objstore::head::log_id_hex(&ro.log_id());
    let listing = list_bundles(&store, &log_id).unwrap();
    assert!(listing.bundles.len() >= 3, "{listing:?}");
    assert!(listing.incomplete.is_empty());
    let head = auditlog_objstore::head::read_head(&store, &log_id)
        .unwrap()
        .expect("a head object");
    assert_eq!(head.end.size, ro.first_seq());
    assert_eq!(head.bundles.len(), listing.bundles.len());
    // Archived segments went in cold form.
    let keys = store.list(&log_id).unwrap();
    assert!(keys.iter().any(|(k, _)| k.ends_with(".zseg")), "{keys:?}");
    assert!(!keys.iter().any(|(k, _)| k.ends_with(".seg")), "{keys:?}");

    let seq = (ro.first_seq() / 2).to_string();
    let out = auditlog(
        &["get", "--dir", d, "--archive", &url, &seq, "--compact"],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["seq"].to_string(), seq);
    let out = auditlog(&["get", "--archive", &url, &seq], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn archived_records_are_read_by_range_reads_of_one_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = auditlog::AuditLog::builder(&dir)
        .segment_max_bytes(1 << 20)
        .open()
        .unwrap();
    append_range(&log, 0, 20_000);
    log.seal().unwrap();
    append_range(&log, 20_000, 20_010);
    log.close().unwrap();
    let url = fresh_prefix("ranges");
    let d = dir.to_str().unwrap();
    let out = auditlog(
        &["archive", "--dir", d, "--to", &url.to_string()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let store = connect(&url);
    let id = log_id(&dir);
    let keys = store
        .list(&auditlog_objstore::head::log_id_hex(&id))
        .unwrap();
    let smallest = keys
        .iter()
        .filter(|(k, _)| k.ends_with(".zseg"))
        .map(|(_, size)| *size)
        .min()
        .expect("cold segments");
    for seq in [0, 1, 777, 9_999, 19_998] {
        // A fresh reader: the manifest, both ends of the segment (layout) and one frame.
        let reader = auditlog_objstore::ArchiveReader::open(&store, &id).unwrap();
        let (record, stats) = reader.get(seq).unwrap().expect("an archived record");
        assert_eq!(record.seq, seq);
        assert_eq!(record.event, event(seq));
        assert!(
            stats.segment_bytes * 2 < smallest,
            "{stats:?}: half of the smallest segment ({smallest} bytes) at most"
        );
        // The same bundle again: its layout is kept, so one range read of one frame.
        let (record, again) = reader.get(seq + 1).unwrap().expect("an archived record");
        assert_eq!(record.event, event(seq + 1));
        assert_eq!(again.requests, 1, "{again:?}");
        assert!(again.segment_bytes * 4 < smallest, "{again:?}");
    }
    let reader = auditlog_objstore::ArchiveReader::open(&store, &id).unwrap();
    assert!(reader.get(20_000).unwrap().is_none(), "live, not archived");

    // export and query --archive: the archived records, then the live ones, in order.
    let out = auditlog(
        &["export", "--dir", d, "--archive", &url.to_string()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let seqs = seqs_of(&out);
    assert_eq!(seqs, (0..20_010).collect::<Vec<_>>());
    let out = auditlog(
        &[
            "query",
            "--dir",
            d,
            "--archive",
            &url.to_string(),
            "--actor",
            "user:5",
            "--count",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let expected = (0..20_010u64).filter(|i| i % 97 == 5).count();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected.to_string()
    );
    let out = auditlog(
        &[
            "query",
            "--dir",
            d,
            "--archive",
            &url.to_string(),
            "--actor",
            "user:5",
            "--limit",
            "3",
            "--format",
            "jsonl",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let firsts = seqs_of(&out);
    assert_eq!(firsts, vec![5, 102, 199]);
}

/// `text`, an `s3://` URL, parsed.
fn parse_s3(text: &str) -> S3Url {
    match auditlog_objstore::parse_location(text).unwrap() {
        auditlog_objstore::Location::S3(u) => u,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_signed_head_is_checked_with_the_public_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let key = tmp.path().join("log.key");
    let out = auditlog(
        &[
            "keygen",
            "--name",
            "test-log",
            "--out",
            tmp.path().join("log").with_extension("").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let public = tmp.path().join("log.pub");
    let url = fresh_prefix("signed").to_string();
    let d = dir.to_str().unwrap();
    let k = key.to_str().unwrap();
    let out = auditlog(
        &["archive", "--dir", d, "--to", &url, "--key", k],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let p = public.to_str().unwrap();
    let out = auditlog(&["verify", &url, "--public-key", p], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("not signed"), "{}", text(&out));

    // Unsigned head (archived without --key) is a failure when the key is demanded.
    let dir2 = tmp.path().join("log2");
    log_with_segments(&dir2, 3000);
    let url2 = fresh_prefix("unsigned").to_string();
    let out = auditlog(
        &["archive", "--dir", dir2.to_str().unwrap(), "--to", &url2],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = auditlog(&["verify", &url2, "--public-key", p], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not signed"), "{}", text(&out));
}

#[test]
fn a_fleet_of_three_logs_verifies_under_one_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let url = fresh_prefix("fleet").to_string();
    for i in 0..3 {
        let dir = tmp.path().join(format!("log{i}"));
        log_with_segments(&dir, 1000 + 300 * i);
        let out = auditlog(
            &["archive", "--dir", dir.to_str().unwrap(), "--to", &url],
            tmp.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = auditlog(&["verify", &url, "--json"], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["logs"].as_array().unwrap().len(), 3, "{report:#}");
}

fn store_via(proxy: &Proxy, url: &S3Url, retries: usize) -> S3Store {
    let options = S3Options {
        endpoint: Some(proxy.addr.clone()),
        retry: Some(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
                base: 2.0,
            },
            max_retries: retries,
            retry_timeout: Duration::from_secs(30),
        }),
        ..S3Options::default()
    };
    S3Store::connect(url, &options).unwrap()
}

#[test]
fn transient_503s_are_retried_and_the_archive_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let url = fresh_prefix("retry");
    // The first request (the preflight listing) passes; then every third fails once.
    let p = proxy(|n| n > 0 && n % 3 == 1);
    let store = store_via(&p, &url, 5);
    let log = small_segments(&dir).open().unwrap();
    let report = log
        .archive(&S3Destination::new(store), &ArchivePolicy::default())
        .unwrap();
    assert!(report.bundles.len() >= 3);
    assert!(
        p.requests.load(Ordering::SeqCst) > 6,
        "the proxy saw the requests"
    );
    drop(log);
    let out = auditlog(&["verify", &url.to_string()], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let out = auditlog(
        &[
            "verify",
            dir.to_str().unwrap(),
            "--archive",
            &url.to_string(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_interrupted_upload_is_no_bundle_and_a_rerun_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let url = fresh_prefix("interrupted");
    let before = snapshot(&dir);
    // The server "goes away" after the preflight listing, the look for a manifest and one
    // put: every later request fails,
    // and no retries are allowed. One bundle at a time, so that the count means that.
    let p = proxy(|n| n >= 3);
    let log = small_segments(&dir).open().unwrap();
    let err = log
        .archive(
            &S3Destination::new(store_via(&p, &url, 0)).with_parallel_bundles(1),
            &ArchivePolicy::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("archiving"), "{err}");
    let first = log.first_seq();
    drop(log);
    assert_eq!(first, 0, "nothing left the live log");
    assert_eq!(
        snapshot(&dir)
            .iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "seg" || e == "zseg"))
            .count(),
        before
            .iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "seg" || e == "zseg"))
            .count()
    );
    // What was uploaded is not taken for a bundle.
    let store = connect(&url);
    let id = auditlog_objstore::head::log_id_hex(&log_id(&dir));
    let listing = list_bundles(&store, &id).unwrap();
    assert!(listing.bundles.is_empty(), "{listing:?}");
    assert_eq!(listing.incomplete.len(), 1, "{listing:?}");
    let out = auditlog(&["verify", &url.to_string()], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no bundle with a manifest"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("interrupted upload"), "{}", text(&out));

    // The rerun finds the object already there with the same bytes and completes.
    let d = dir.to_str().unwrap();
    let out = auditlog(
        &["archive", "--dir", d, "--to", &url.to_string()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = auditlog(&["verify", &url.to_string()], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("interrupted upload"), "{}", text(&out));
    let out = auditlog(&["verify", d, "--archive", &url.to_string()], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn parallel_uploads_cut_off_anywhere_lose_nothing_and_a_rerun_completes_them() {
    for cut_after in [2, 5, 9, 14, 22] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        log_with_segments(&dir, 4000);
        let url = fresh_prefix("parallel-cut");
        let all = auditlog::ReadOnlyLog::open(&dir).unwrap().end_seq();
        let p = proxy(move |n| n >= cut_after);
        let log = small_segments(&dir).open().unwrap();
        let destination = S3Destination::new(store_via(&p, &url, 0)).with_parallel_bundles(4);
        assert!(
            log.archive(&destination, &ArchivePolicy::default())
                .is_err()
        );
        drop(log);
        // Every record is in the live log or in a bundle that verifies with it.
        let d = dir.to_str().unwrap();
        let u = url.to_string();
        let out = auditlog(&["archive", "--dir", d, "--to", &u], tmp.path());
        assert!(
            out.status.success(),
            "cut after {cut_after}: {}",
            text(&out)
        );
        let out = auditlog(&["verify", &u], tmp.path());
        assert!(
            out.status.success(),
            "cut after {cut_after}: {}",
            text(&out)
        );
        assert!(!text(&out).contains("interrupted upload"), "{}", text(&out));
        assert!(!text(&out).contains("does not list"), "{}", text(&out));
        let out = auditlog(&["verify", d, "--archive", &u], tmp.path());
        assert!(
            out.status.success(),
            "cut after {cut_after}: {}",
            text(&out)
        );
        let out = auditlog(&["export", "--dir", d, "--archive", &u], tmp.path());
        assert_eq!(
            seqs_of(&out),
            (0..all).collect::<Vec<_>>(),
            "cut after {cut_after}"
        );
    }
}

#[test]
fn a_duplicate_upload_is_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let (_copy_tmp, copy) = copy_log(&dir);
    let url = fresh_prefix("duplicate").to_string();
    for d in [&dir, &copy] {
        let out = auditlog(
            &["archive", "--dir", d.to_str().unwrap(), "--to", &url],
            tmp.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = auditlog(&["verify", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    for d in [&dir, &copy] {
        let out = auditlog(
            &["verify", d.to_str().unwrap(), "--archive", &url],
            tmp.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    // Putting an object again with the same bytes succeeds; with other bytes it fails.
    let store = connect(&parse_s3(&url));
    store.put_create("x/probe", b"one").unwrap();
    assert_eq!(
        store.put_create("x/probe", b"one").unwrap(),
        auditlog_objstore::PutOutcome::AlreadyThere
    );
    assert!(store.put_create("x/probe", b"two").is_err());
    assert_eq!(store.get("x/probe").unwrap().unwrap(), b"one");
}

#[test]
fn wrong_credentials_or_a_missing_bucket_fail_and_remove_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let before = snapshot(&dir);
    let url = fresh_prefix("denied").to_string();
    let d = dir.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["archive", "--dir", d, "--to", &url])
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("refused access"), "{}", text(&out));
    assert_eq!(snapshot(&dir), before);

    let missing = format!("s3://no-such-bucket-{}/p", std::process::id());
    let out = auditlog(&["archive", "--dir", d, "--to", &missing], tmp.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
    assert_eq!(snapshot(&dir), before);

    let out = auditlog(&["verify", &missing], tmp.path());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn an_s3_url_is_never_a_local_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let before = snapshot(&dir);
    let d = dir.to_str().unwrap();
    for to in ["gs://bucket/p", "https://example.com/x", "file:///tmp/x"] {
        let out = auditlog(&["archive", "--dir", d, "--to", to], tmp.path());
        assert_eq!(out.status.code(), Some(2), "{to}: {}", text(&out));
        assert!(text(&out).contains("unsupported scheme"), "{}", text(&out));
    }
    let out = auditlog(
        &["archive", "--dir", d, "--to", "s3://Bad_Bucket/p"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(snapshot(&dir), before);
    // A good URL goes to the server; the working directory gets no `s3:` folder either way.
    let url = fresh_prefix("nolocal").to_string();
    let out = auditlog(&["archive", "--dir", d, "--to", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["log".to_string()],
        "only the log is in the working directory"
    );
    // verify and --archive refuse other schemes the same way.
    let out = auditlog(&["verify", "gs://bucket/p"], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = auditlog(&["verify", d, "--archive", "archive-dir"], tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn an_object_tampered_with_after_upload_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let url = fresh_prefix("tamper");
    let d = dir.to_str().unwrap();
    let out = auditlog(
        &["archive", "--dir", d, "--to", &url.to_string()],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let store = connect(&url);
    let id = auditlog_objstore::head::log_id_hex(&log_id(&dir));
    let keys = store.list(&id).unwrap();
    let (segment, _) = keys
        .iter()
        .find(|(k, _)| k.ends_with(".zseg"))
        .expect("a cold segment")
        .clone();
    let mut bytes = store.get(&segment).unwrap().unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    store.put_overwrite(&segment, &bytes).unwrap();
    let out = auditlog(&["verify", &url.to_string()], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let name = segment.rsplit('/').next().unwrap();
    assert!(
        text(&out).contains(name),
        "names the object: {}",
        text(&out)
    );
    assert!(text(&out).contains("FAILED"), "{}", text(&out));
    let out = auditlog(&["verify", d, "--archive", &url.to_string()], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A bundle removed from the middle breaks the chain.
    let url2 = fresh_prefix("gap");
    let dir2 = tmp.path().join("log2");
    log_with_segments(&dir2, 3000);
    let out = auditlog(
        &[
            "archive",
            "--dir",
            dir2.to_str().unwrap(),
            "--to",
            &url2.to_string(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let store2 = connect(&url2);
    let id2 = auditlog_objstore::head::log_id_hex(&log_id(&dir2));
    let listing = list_bundles(&store2, &id2).unwrap();
    assert!(listing.bundles.len() >= 3);
    let victim = format!("{id2}/{}/manifest.json", listing.bundles[1]);
    store2.delete(&victim).unwrap();
    let out = auditlog(&["verify", &url2.to_string()], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn an_archive_that_starts_after_local_retention_verifies_from_the_bucket_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let d = dir.to_str().unwrap();
    // Retention drops the oldest segments before anything is archived.
    let bytes: u64 = segment_files(&dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let budget = (bytes * 2 / 3).to_string();
    let out = auditlog(
        &["retention", "--dir", d, "--max-bytes", &budget],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let cut = auditlog::ReadOnlyLog::open(&dir).unwrap().first_seq();
    assert!(cut > 0, "retention removed a prefix");
    let url = fresh_url("after-retention");
    let out = auditlog(&["archive", "--dir", d, "--to", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    // The bucket explains records 0..cut on its own: the first run copied the live cut log.
    let out = auditlog(&["verify", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("records 0..{cut} removed by retention")),
        "{}",
        text(&out)
    );
    let out = auditlog(&["verify", d, "--archive", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    // A second run does not add another copy, and still verifies.
    let log = small_segments(&dir).open().unwrap();
    append_range(&log, 3010, 4000);
    log.seal().unwrap();
    log.close().unwrap();
    let out = auditlog(&["archive", "--dir", d, "--to", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let store = connect(&parse_s3(&url));
    let id = auditlog_objstore::head::log_id_hex(&log_id(&dir));
    let cuts: Vec<String> = store
        .list(&format!("{id}/cuts"))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(cuts, vec![format!("{id}/cuts/{cut:020}.log")]);
    let out = auditlog(&["verify", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    // Without the cut object the missing range is damage, naming the bundle and the range.
    store.delete(&cuts[0]).unwrap();
    let out = auditlog(&["verify", &url], tmp.path());
    assert!(!out.status.success(), "{}", text(&out));
    let first_bundle = auditlog::lifecycle::archive::bundle_name(&log_id(&dir), cut);
    assert!(text(&out).contains(&first_bundle), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("records 0..{cut} are not in the archive")),
        "{}",
        text(&out)
    );
}

#[test]
fn get_proof_from_the_archive_passes_verify_proof_and_a_tampered_one_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 3000);
    let d = dir.to_str().unwrap();
    let out = auditlog(
        &[
            "keygen",
            "--name",
            "test-log",
            "--out",
            tmp.path().join("k").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let key = tmp.path().join("k.key");
    let public = tmp.path().join("k.pub");
    let url = fresh_url("proof");
    let out = auditlog(
        &[
            "archive",
            "--dir",
            d,
            "--to",
            &url,
            "--key",
            key.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = auditlog(&["get", "--archive", &url, "1234", "--proof"], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("requests"),
        "says what it read: {}",
        text(&out)
    );
    let proof = tmp.path().join("proof.json");
    std::fs::write(&proof, &out.stdout).unwrap();
    let p = proof.to_str().unwrap();
    let pk = public.to_str().unwrap();
    let out = auditlog(&["verify-proof", p, "--public-key", pk], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("record 1234 is included"),
        "{}",
        text(&out)
    );
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    doc["recorded_at_nanos"] = (doc["recorded_at_nanos"].as_i64().unwrap() + 1).into();
    std::fs::write(&proof, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = auditlog(&["verify-proof", p, "--public-key", pk], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A record still in the live log is proved from it.
    let live = auditlog::ReadOnlyLog::open(&dir)
        .unwrap()
        .first_seq()
        .to_string();
    let out = auditlog(
        &["get", "--dir", d, "--archive", &url, &live, "--proof"],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(&proof, &out.stdout).unwrap();
    let out = auditlog(&["verify-proof", p], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
}
