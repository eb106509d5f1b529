//! `POST /v1/admin/verify` and `GET /v1/admin/verify` against the real `auditlog serve`: a
//! background verification of the log while the server holds it, polled to its report, the
//! `/metrics` gauges of the last run, and who may start one; each start is an `audit.verify`
//! event naming the token, and the last report survives a restart of the server.
//!
//! The 409 of a second start while one runs is in tests/server_verify_hold.rs, where a test
//! hook holds the run open (here nothing but timing could).

mod server_support;

use serde_json::Value;
use server_support::{Server, event, token};
use std::time::Duration;

fn metric(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .to_string()
}

/// Polls GET /v1/admin/verify until the run is no longer running.
fn wait_done(server: &Server, token: &str) -> Value {
    for _ in 0..6000 {
        let r = server.get("/v1/admin/verify", token);
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = r.json();
        if doc["state"] != "running" {
            return doc;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the verification never finished");
}

#[test]
fn a_background_verification_reports_ok_and_updates_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let auditor = token(dir.path(), "auditor", &[]);
    let admin = token(dir.path(), "admin", &[]);
    let reader = token(dir.path(), "reader", &["acme"]);
    let server = Server::start(dir.path(), &[]);
    let batch: Vec<Value> = (0..200)
        .map(|i| event(&format!("u{}", i % 3), "user.login", None))
        .collect();
    let body = serde_json::to_vec(&batch).expect("json");
    let r = server.post("/v1/events", &writer, "application/json", &body);
    assert_eq!(r.status, 201, "{}", r.text());

    // Before any run: idle, and the gauges say none.
    let doc = server.get("/v1/admin/verify", &auditor).json();
    assert_eq!(doc["state"], "idle", "{doc}");
    assert!(doc["last"].is_null(), "{doc}");
    let metrics = server.get("/metrics", "").text();
    assert_eq!(metric(&metrics, "auditlog_last_verify_ok"), "0");
    assert_eq!(
        metric(&metrics, "auditlog_last_verify_timestamp_seconds"),
        "0"
    );

    // A reader and a writer may neither start nor watch one.
    for t in [&reader, &writer] {
        server
            .post("/v1/admin/verify", t, "application/json", b"")
            .problem(403, "forbidden");
        server.get("/v1/admin/verify", t).problem(403, "forbidden");
    }
    server
        .post("/v1/admin/verify", "", "application/json", b"")
        .problem(401, "unauthorized");

    // An auditor starts one while the server holds the log; it ends ok.
    let r = server.post("/v1/admin/verify", &auditor, "application/json", b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let doc = wait_done(&server, &auditor);
    assert_eq!(doc["state"], "done", "{doc}");
    assert_eq!(doc["last"]["ok"], true, "{doc}");
    assert_eq!(doc["last"]["problems"], serde_json::json!([]), "{doc}");
    assert!(doc["last"]["records"].as_u64().unwrap() >= 200, "{doc}");
    assert!(doc["last"]["finished_at"].is_string(), "{doc}");
    let p = &doc["progress"];
    assert!(p["segments_total"].as_u64().unwrap() >= 1, "{doc}");
    assert_eq!(p["segments_done"], p["segments_total"], "{doc}");
    assert_eq!(p["bytes_done"], p["bytes_total"], "{doc}");
    assert!(p["bytes_total"].as_u64().unwrap() > 0, "{doc}");

    let metrics = server.get("/metrics", "").text();
    assert_eq!(metric(&metrics, "auditlog_last_verify_ok"), "1");
    let at: u64 = metric(&metrics, "auditlog_last_verify_timestamp_seconds")
        .parse()
        .expect("a number");
    assert!(at > 1_600_000_000, "{at}");

    // Writes go on after it, and an admin may run the next one.
    let r = server.post("/v1/events", &writer, "application/json", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = server.post("/v1/admin/verify", &admin, "application/json", b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let doc = wait_done(&server, &admin);
    assert_eq!(doc["last"]["ok"], true, "{doc}");
    assert!(doc["last"]["records"].as_u64().unwrap() >= 400, "{doc}");
    let (_, clean) = server.stop();
    assert!(clean);

    // The last report survives the restart: same report, and the gauges say so at once.
    let server = Server::start(dir.path(), &[]);
    let again = server.get("/v1/admin/verify", &auditor).json();
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(again["last"], doc["last"], "{again}");
    let metrics = server.get("/metrics", "").text();
    assert_eq!(metric(&metrics, "auditlog_last_verify_ok"), "1");
    assert_eq!(
        metric(&metrics, "auditlog_last_verify_timestamp_seconds"),
        at_secs(&doc["last"]["finished_at"]).to_string()
    );
    let (_, clean) = server.stop();
    assert!(clean);

    // Each start is in the log, naming the token that asked; the refused ones are not.
    let starts = audit_verify_events(dir.path());
    let roles: Vec<&str> = starts
        .iter()
        .map(|e| e["metadata"]["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["auditor", "admin"], "{starts:?}");
    let auditor_id = auditor.split('_').nth(1).expect("the token id");
    assert_eq!(starts[0]["actor"]["id"], format!("token:{auditor_id}"));
    assert_eq!(starts[0]["metadata"]["endpoint"], "POST /v1/admin/verify");
}

/// Unix seconds of an RFC 3339 time.
fn at_secs(text: &Value) -> i64 {
    auditlog::Timestamp::parse_rfc3339(text.as_str().expect("a time"))
        .expect("RFC 3339")
        .as_nanos()
        .div_euclid(1_000_000_000)
}

/// The `audit.verify` events of the log at `dir`, read with the CLI.
fn audit_verify_events(dir: &std::path::Path) -> Vec<Value> {
    let out = std::process::Command::new(server_support::BIN)
        .args([
            "query",
            "--format",
            "jsonl",
            "--limit",
            "0",
            "--action",
            "audit.verify",
            "--dir",
        ])
        .arg(dir)
        .output()
        .expect("runs query");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}
