//! Archiving on the server's maintenance schedule, against the real `auditlog serve
//! --archive-to s3://...` and the real SeaweedFS that `.ci/test.d/30-s3` starts (through a
//! proxy on 127.0.0.1 that can hold or refuse requests): the server archives sealed segments
//! (compacted first) while it takes events, ingest goes on while an upload is held, the
//! bucket verifies alone and with the live log as one chain; a store that refuses every
//! request after the start is logged as a failed run and removes nothing; a wrong credential
//! stops the start with its cause.

mod common;
mod s3_common;
mod server_support;

use auditlog_objstore::{S3Options, S3Store, list_bundles};
use s3_common::*;
use server_support::{BIN, Server, event, metric, token};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Waits (bounded by a count of polls, not a deadline) for a stderr line of `server` that
/// `pred` accepts, and returns it.
fn wait_line(server: &Server, pred: impl Fn(&str) -> bool) -> String {
    for _ in 0..12_000 {
        let found = server
            .log
            .lock()
            .unwrap()
            .lines()
            .find(|l| pred(l))
            .map(str::to_string);
        if let Some(line) = found {
            return line;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "no such line in the server's log:\n{}",
        server.log.lock().unwrap()
    );
}

/// The number after `name=` in a maintenance line.
fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

fn is_run(line: &str) -> bool {
    line.contains("auditlog serve: maintenance run=")
}

/// Posts `n` events as NDJSON batches of 500.
fn post_events(server: &Server, writer: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let body: String = chunk
            .iter()
            .map(|i| format!("{}\n", event(&format!("user-{i}"), "doc.read", None)))
            .collect();
        let r = server.post(
            "/v1/events",
            writer,
            "application/x-ndjson",
            body.as_bytes(),
        );
        assert!((200..300).contains(&r.status), "{} {}", r.status, r.text());
    }
}

#[test]
fn the_schedule_archives_to_s3_while_ingest_goes_on_and_the_log_and_archive_are_one_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 2000);
    let writer = token(&dir, "writer", &[]);
    let url = fresh_url("serve");
    // Request 0 is the start's check of the bucket; every later one waits while `hold` is set.
    let hold = Arc::new(AtomicBool::new(true));
    let held = Arc::new(AtomicUsize::new(0));
    let (h, seen) = (Arc::clone(&hold), Arc::clone(&held));
    let p = proxy_with(move |n| {
        if n > 0 && h.load(Ordering::SeqCst) {
            seen.fetch_add(1, Ordering::SeqCst);
            while h.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        None
    });
    let server = Server::start(
        &dir,
        &[
            "--archive-to",
            &url,
            "--s3-endpoint",
            &p.addr,
            "--segment-max-bytes",
            "65536",
            "--maintenance-every",
            "1",
        ],
    );
    // The first run's requests to the store are held: an upload is in progress.
    for _ in 0..12_000 {
        if held.load(Ordering::SeqCst) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        held.load(Ordering::SeqCst) > 0,
        "the first run reached the store"
    );
    // Ingest does not wait for it: 3000 events acknowledged while the run cannot finish.
    post_events(&server, &writer, 3000);
    assert_eq!(server.tree_size(), 2010 + 3000);
    assert!(
        !server.log.lock().unwrap().lines().any(is_run),
        "the first run finished although its requests are held"
    );
    hold.store(false, Ordering::SeqCst);
    let first = wait_line(&server, |l| l.contains("maintenance run=1 "));
    assert!(first.ends_with(" ok"), "{first}");
    assert!(field(&first, "archived").unwrap() >= 3, "{first}");
    // The posted events sealed segments of their own: a later run archives them.
    let later = wait_line(&server, |l| {
        is_run(l) && !l.contains("run=1 ") && field(l, "archived").is_some_and(|n| n > 0)
    });
    assert!(later.ends_with(" ok"), "{later}");
    let metrics = server.get("/metrics", "").text();
    assert!(
        metric(&metrics, "auditlog_archive_bundles_total") >= 4,
        "{metrics}"
    );
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    assert!(
        ro.first_seq() > 2010,
        "posted events were archived: {}",
        ro.first_seq()
    );
    assert_eq!(ro.tree_head().unwrap().size, 5010);
    drop(ro);
    let out = auditlog(&["verify", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 log(s) verified"), "{}", text(&out));
    let d = dir.to_str().unwrap();
    let out = auditlog(&["verify", d, "--archive", &url], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("form one chain"), "{}", text(&out));
    // Cold segments with their leaf hashes went up, never a hot segment.
    let store = S3Store::connect(&fresh_parse(&url), &S3Options::default()).unwrap();
    let id = auditlog_objstore::head::log_id_hex(&common::log_id(&dir));
    let keys = store.list(&id).unwrap();
    assert!(keys.iter().any(|(k, _)| k.ends_with(".zseg")), "{keys:?}");
    assert!(keys.iter().any(|(k, _)| k.ends_with(".hashes")), "{keys:?}");
    assert!(!keys.iter().any(|(k, _)| k.ends_with(".seg")), "{keys:?}");
    // An event posted to the server reads back from the archive.
    let out = auditlog(&["get", "--dir", d, "--archive", &url, "2500"], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["seq"], 2500);
    assert_eq!(got["action"], "doc.read", "{got}");
}

fn fresh_parse(url: &str) -> auditlog_objstore::S3Url {
    match auditlog_objstore::parse_location(url).unwrap() {
        auditlog_objstore::Location::S3(u) => u,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_store_that_refuses_every_request_is_a_logged_failure_and_removes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 2000);
    let writer = token(&dir, "writer", &[]);
    let url = fresh_url("serve-denied");
    // The start's check passes; then the credentials stop working (a rotated key).
    let p = proxy_with(|n| (n > 0).then_some((403, "AccessDenied")));
    let server = Server::start(
        &dir,
        &[
            "--archive-to",
            &url,
            "--s3-endpoint",
            &p.addr,
            "--maintenance-every",
            "1",
        ],
    );
    let line = wait_line(&server, |l| l.contains("maintenance run=1 "));
    assert!(line.contains(" failed: "), "{line}");
    let lower = line.to_ascii_lowercase();
    assert!(
        lower.contains("denied") || lower.contains("403"),
        "the cause is named: {line}"
    );
    // Ingest goes on.
    post_events(&server, &writer, 10);
    let metrics = server.get("/metrics", "").text();
    assert!(
        metric(&metrics, "auditlog_maintenance_failures_total") >= 1,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "auditlog_archive_bundles_total"),
        0,
        "{metrics}"
    );
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    // Every record is still in the log, from record 0, and no cut was made.
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(ro.first_seq(), 0);
    assert_eq!(ro.tree_head().unwrap().size, 2020);
    drop(ro);
    let cuts = auditlog::lifecycle::cuts::read(&dir, &common::log_id(&dir)).unwrap();
    assert!(cuts.cuts.is_empty(), "{:?}", cuts.cuts);
    let out = auditlog(&["verify", dir.to_str().unwrap()], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    let store = S3Store::connect(&fresh_parse(&url), &S3Options::default()).unwrap();
    let id = auditlog_objstore::head::log_id_hex(&common::log_id(&dir));
    assert!(list_bundles(&store, &id).unwrap().bundles.is_empty());
}

#[test]
fn a_wrong_credential_stops_the_start_with_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_with_segments(&dir, 500);
    let before = common::all_bytes(&dir);
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, "not-the-secret\n").unwrap();
    let url = fresh_url("serve-badkey");
    let mut child = Command::new(BIN)
        .args(["serve", "--dir"])
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "--archive-to", &url])
        .arg("--s3-secret-key-file")
        .arg(&secret)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    for _ in 0..6000 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the server started with a wrong secret key");
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(!err.contains("auditlog serve: started"), "{err}");
    assert!(
        err.contains(&url) || err.contains("s3://"),
        "names the archive: {err}"
    );
    assert_eq!(common::all_bytes(&dir), before, "nothing local changed");
}
