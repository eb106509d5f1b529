//! The reading endpoints against the real `auditlog serve`: filtered pages with cursors,
//! one record with its inclusion proof, stats, exports (JSON Lines and CSV), checkpoints and
//! consistency proofs; every role and tenant rule (a reader never sees nor counts another
//! tenant's records); unknown filters and bad cursors as problems; and the `audit.read` /
//! `audit.export` events every read leaves in the log.

mod server_support;

use serde_json::{Value, json};
use server_support::{Server, event, token};
use std::path::Path;

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    writer: String,
    acme: String,
    globex_and_initech: String,
    auditor: String,
    admin: String,
}

/// 30 events: actors u0..u2, tenants acme/globex/initech in turn, every third a failure
/// with severity high.
fn fixture(extra: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let acme = token(dir.path(), "reader", &["acme"]);
    let globex_and_initech = token(dir.path(), "reader", &["globex", "initech"]);
    let auditor = token(dir.path(), "auditor", &[]);
    let admin = token(dir.path(), "admin", &[]);
    let server = Server::start(dir.path(), extra);
    let tenants = ["acme", "globex", "initech"];
    let events: Vec<Value> = (0..30)
        .map(|i| {
            let mut e = event(
                &format!("u{}", i % 3),
                &format!("order.{}", ["create", "update", "delete"][i % 3]),
                Some(tenants[i % 3]),
            );
            if i % 3 == 2 {
                e["outcome"] = "failure".into();
                e["severity"] = "high".into();
            }
            e["entity"] = json!({"type": "order", "id": format!("o{}", i / 2)});
            e
        })
        .collect();
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        Value::Array(events).to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    Fixture {
        _dir: dir,
        server,
        writer,
        acme,
        globex_and_initech,
        auditor,
        admin,
    }
}

fn seqs(page: &Value) -> Vec<u64> {
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["seq"].as_u64().expect("seq"))
        .collect()
}

#[test]
fn pages_filter_order_and_continue_with_a_cursor() {
    let f = fixture(&[]);
    let s = &f.server;
    let page = s.get("/v1/events?actor=u1&limit=4", &f.auditor).json();
    assert_eq!(seqs(&page), [1, 4, 7, 10]);
    assert_eq!(page["has_more"], true);
    let next = s
        .get(
            &format!(
                "/v1/events?actor=u1&limit=4&cursor={}",
                page["cursor"].as_str().unwrap()
            ),
            &f.auditor,
        )
        .json();
    assert_eq!(seqs(&next), [13, 16, 19, 22]);
    let newest = s
        .get(
            "/v1/events?action=order.delete&order=newest&limit=2",
            &f.auditor,
        )
        .json();
    assert_eq!(seqs(&newest), [29, 26]);
    let failures = s
        .get(
            "/v1/events?outcome=failure&min_severity=medium&limit=100",
            &f.auditor,
        )
        .json();
    assert_eq!(seqs(&failures).len(), 10);
    let prefix = s
        .get(
            "/v1/events?action_prefix=order.up&entity_type=order&entity_id=o0",
            &f.auditor,
        )
        .json();
    assert_eq!(seqs(&prefix), [1]);
    let none = s
        .get(
            "/v1/events?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z",
            &f.auditor,
        )
        .json();
    assert_eq!(seqs(&none), Vec::<u64>::new());
    // A cursor of another query, garbage, an unknown filter, a bad value: 400s that say so.
    let cursor = page["cursor"].as_str().unwrap();
    let doc = s
        .get(&format!("/v1/events?actor=u2&cursor={cursor}"), &f.auditor)
        .problem(400, "bad-cursor");
    assert_eq!(doc["parameter"], "cursor");
    s.get("/v1/events?cursor=nonsense", &f.auditor)
        .problem(400, "bad-parameter");
    let doc = s
        .get("/v1/events?actr=u1", &f.auditor)
        .problem(400, "unknown-filter");
    assert_eq!(doc["parameter"], "actr");
    assert!(doc["detail"].as_str().unwrap().contains("actor"), "{doc}");
    for bad in [
        "/v1/events?severity=loud",
        "/v1/events?limit=0",
        "/v1/events?since=yesterday",
        "/v1/events?actor=a&actor=b",
        "/v1/events/abc",
    ] {
        s.get(bad, &f.auditor).problem(400, "bad-parameter");
    }
    s.get("/v1/events/100000", &f.auditor)
        .problem(404, "not-found");
}

#[test]
fn roles_and_tenants_decide_what_is_seen_and_counted() {
    let f = fixture(&[]);
    let s = &f.server;
    // A reader sees and counts only its tenants.
    let acme = s.get("/v1/events?limit=1000", &f.acme).json();
    assert_eq!(seqs(&acme), (0..30).step_by(3).collect::<Vec<_>>());
    assert!(
        acme["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["tenant"] == "acme")
    );
    let two = s.get("/v1/events?limit=1000", &f.globex_and_initech).json();
    assert_eq!(seqs(&two).len(), 20);
    let stats = s.get("/v1/stats?by=action,outcome", &f.acme).json();
    assert_eq!(stats["total"], 10, "{stats}");
    assert_eq!(
        stats["groups"]["action"],
        json!([{"key": "order.create", "count": 10}])
    );
    s.get("/v1/events?tenant=globex", &f.acme)
        .problem(403, "forbidden");
    // Another tenant's record reads exactly like a missing one.
    let hidden = s.get("/v1/events/1", &f.acme).problem(404, "not-found");
    let missing = s.get("/v1/events/99999", &f.acme).problem(404, "not-found");
    assert_eq!(
        hidden["detail"].as_str().unwrap().replace("#1 ", "#N "),
        missing["detail"]
            .as_str()
            .unwrap()
            .replace("#99999 ", "#N ")
    );
    assert_eq!(s.get("/v1/events/3", &f.acme).json()["record"]["seq"], 3);
    // The export of a reader holds only its tenant.
    let export = s.get("/v1/export", &f.acme);
    assert_eq!(export.status, 200);
    assert_eq!(export.text().lines().count(), 10);
    // Writers may not read; readers may not prove or write; auditors may not write.
    s.get("/v1/events", &f.writer).problem(403, "forbidden");
    s.get("/v1/stats", &f.writer).problem(403, "forbidden");
    s.get("/v1/events/0?proof=inclusion", &f.acme)
        .problem(403, "forbidden");
    s.get("/v1/proofs/consistency?from=1", &f.acme)
        .problem(403, "forbidden");
    s.get("/v1/checkpoint", &f.acme).problem(403, "forbidden");
    s.post(
        "/v1/events",
        &f.auditor,
        "application/json",
        event("a", "x", None).to_string().as_bytes(),
    )
    .problem(403, "forbidden");
    s.get("/v1/events", "").problem(401, "unauthorized");
    s.get("/v1/events", "not-a-token")
        .problem(401, "unauthorized");
    // The admin does everything.
    assert_eq!(
        s.post(
            "/v1/events",
            &f.admin,
            "application/json",
            event("a", "x", None).to_string().as_bytes()
        )
        .status,
        201
    );
    assert_eq!(s.get("/v1/events/0?proof=inclusion", &f.admin).status, 200);
}

#[test]
fn stats_exports_and_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("signer");
    let out = std::process::Command::new(server_support::BIN)
        .args(["keygen", "--name", "test/audit", "--out"])
        .arg(&key)
        .output()
        .expect("runs keygen");
    assert!(out.status.success());
    let f = fixture(&["--key", key.with_extension("key").to_str().unwrap()]);
    let s = &f.server;
    let stats = s
        .get("/v1/stats?by=actor,severity,day&top=2", &f.auditor)
        .json();
    assert_eq!(stats["total"], 30, "{stats}");
    assert_eq!(stats["groups"]["actor"].as_array().unwrap().len(), 2);
    assert_eq!(
        stats["groups"]["severity"][0],
        json!({"key": "info", "count": 20})
    );
    assert_eq!(stats["groups"]["day"][0]["count"], 30);
    s.get("/v1/stats?by=weekday", &f.auditor)
        .problem(400, "bad-parameter");
    // `top` beyond what /openapi.json declares is refused, not clamped (schemathesis found it).
    s.get("/v1/stats?top=2147483648", &f.auditor)
        .problem(400, "bad-parameter");
    let doc = s.get("/openapi.json", &f.auditor).json();
    let top = doc["paths"]["/v1/stats"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "top")
        .cloned()
        .unwrap();
    assert_eq!(top["schema"]["maximum"], 100_000, "{top}");
    // Exports: JSON Lines (re-importable records) and CSV with the CLI's columns.
    let jsonl = s.get("/v1/export?actor=u0", &f.auditor);
    assert_eq!(jsonl.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = jsonl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|r| r["actor"]["id"] == "u0"));
    let csv = s
        .get("/v1/export?format=csv&outcome=failure", &f.auditor)
        .text();
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        rows[0].starts_with("seq,recorded_at,occurred_at,actor_id"),
        "{}",
        rows[0]
    );
    assert_eq!(rows.len(), 11);
    s.get("/v1/export?format=xml", &f.auditor)
        .problem(400, "bad-parameter");
    // A checkpoint of the current tree, and proofs that check against it.
    let note = s.get("/v1/checkpoint", &f.auditor);
    assert_eq!(note.status, 200, "{}", note.text());
    assert!(note.text().contains("test/audit"), "{}", note.text());
    let one = s.get("/v1/events/5?proof=inclusion", &f.auditor).json();
    assert_eq!(one["record"]["seq"], 5);
    assert_eq!(one["proof"]["type"], "inclusion");
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, one["proof"].to_string()).expect("writes");
    let checked = std::process::Command::new(server_support::BIN)
        .arg("verify-proof")
        .arg(&proof_file)
        .arg("--public-key")
        .arg(key.with_extension("pub"))
        .output()
        .expect("runs verify-proof");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let consistency = s
        .get("/v1/proofs/consistency?from=10&to=30", &f.auditor)
        .json();
    assert_eq!(consistency["type"], "consistency");
    assert_eq!(consistency["old"]["size"], 10, "{consistency}");
    s.get("/v1/proofs/consistency", &f.auditor)
        .problem(400, "bad-parameter");
    s.get("/v1/proofs/consistency?from=5&to=2", &f.auditor)
        .problem(400, "bad-parameter");
    s.get("/v1/proofs/consistency?from=1&to=100000", &f.auditor)
        .problem(404, "not-found");
}

/// The audit.read / audit.export events in the log at `dir`, read with the CLI.
fn audit_events(dir: &Path) -> Vec<Value> {
    let out = std::process::Command::new(server_support::BIN)
        .args([
            "query", "--format", "jsonl", "--limit", "0", "--action", "audit.*", "--dir",
        ])
        .arg(dir)
        .output()
        .expect("runs query");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn every_read_is_appended_to_the_log() {
    let f = fixture(&[]);
    let s = &f.server;
    let dir = s.dir.clone();
    s.get("/v1/events?actor=u1&limit=5", &f.acme);
    // Counts what it sees: the 30 events and the first read's event.
    s.get("/v1/stats", &f.auditor);
    let export = s.get("/v1/export?format=csv", &f.auditor);
    assert_eq!(export.status, 200);
    s.get("/v1/events/3", &f.acme);
    // A refused read is not a read.
    s.get("/v1/events?bogus=1", &f.acme);
    let (log, ok) = f.server.stop();
    assert!(ok, "{log}");
    let events = audit_events(&dir);
    let summary: Vec<(String, String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["metadata"]["endpoint"].as_str().unwrap().to_string(),
                e["metadata"]["count"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("audit.read".into(), "GET /v1/events".into(), json!(0)),
            ("audit.read".into(), "GET /v1/stats".into(), json!(31)),
            ("audit.export".into(), "GET /v1/export".into(), json!(32)),
            ("audit.read".into(), "GET /v1/events/{seq}".into(), json!(1)),
        ]
    );
    // The actor names the token; the filters are kept.
    assert_eq!(events[0]["actor"]["kind"], "token");
    assert!(
        events[0]["actor"]["id"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );
    assert_eq!(
        events[0]["metadata"]["filters"],
        json!({"actor": "u1", "limit": "5"})
    );
}

#[test]
fn the_openapi_document_lists_every_route() {
    let f = fixture(&[]);
    let doc = server_support::request(f.server.addr, "GET", "/openapi.json", &[], b"").json();
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for route in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/events",
        "/v1/events/{seq}",
        "/v1/stats",
        "/v1/export",
        "/v1/stream",
        "/v1/checkpoint",
        "/v1/proofs/consistency",
        "/v1/viewer-links",
        "/v1/admin/verify",
        "/v1/admin/erase",
    ] {
        assert!(paths.contains(&route), "{route} missing from {paths:?}");
    }
    assert_eq!(paths.len(), 14, "{paths:?}");
    assert!(doc["paths"]["/v1/events"]["post"].is_object());
    assert!(doc["paths"]["/v1/events"]["get"].is_object());
    let metrics = server_support::request(f.server.addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("auditlog_events_appended_total 30"),
        "{metrics}"
    );
    assert!(
        metrics.contains("auditlog_ack_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(metrics.contains("auditlog_tree_size 30"), "{metrics}");
    let health = server_support::request(f.server.addr, "GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200);
    let _ = &f.writer;
}
