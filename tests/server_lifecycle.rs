//! The server's life against the real process: SIGTERM with appends in flight (every one
//! acknowledged is in the log after the stop, later writes are refused), kill -9 during
//! ingest (a restart recovers every acknowledged record), tokens added and revoked while it
//! runs, and the SSE stream resumed with Last-Event-ID and from_seq.

mod server_support;

use serde_json::{Value, json};
use server_support::{Server, Sse, event, token};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every seq in the log at `dir`, read with the CLI after the server is gone.
fn seqs_in_log(dir: &Path) -> BTreeSet<u64> {
    let out = std::process::Command::new(server_support::BIN)
        .args(["query", "--format", "jsonl", "--limit", "0", "--dir"])
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
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["seq"]
                .as_u64()
                .expect("seq")
        })
        .collect()
}

/// Producers posting batches until refused; returns the acknowledged seqs.
fn producers(server: &Server, secret: &str, threads: usize) -> Producers {
    (0..threads)
        .map(|t| {
            let addr = server.addr;
            let secret = secret.to_string();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut refused = Vec::new();
                for i in 0..10_000 {
                    let batch = json!([
                        event(&format!("p{t}"), &format!("n{i}"), None),
                        event(&format!("p{t}"), "b", None)
                    ]);
                    let headers = vec![
                        ("Authorization".to_string(), format!("Bearer {secret}")),
                        ("Content-Type".to_string(), "application/json".to_string()),
                    ];
                    let stream = std::panic::catch_unwind(|| {
                        server_support::request(
                            addr,
                            "POST",
                            "/v1/events",
                            &headers,
                            batch.to_string().as_bytes(),
                        )
                    });
                    match stream {
                        Ok(r) if r.status == 201 => {
                            for rec in r.json()["records"].as_array().unwrap() {
                                acked.push(rec["seq"].as_u64().unwrap());
                            }
                        }
                        Ok(r) => {
                            refused.push(r.status);
                            if r.status == 503 {
                                assert!(r.header("retry-after").is_some(), "{}", r.text());
                                r.problem(503, "shutting-down");
                            }
                            break;
                        }
                        // Connection refused or reset: the server is gone.
                        Err(_) => break,
                    }
                }
                (acked, refused)
            })
        })
        .collect()
}

type Producers = Vec<std::thread::JoinHandle<(Vec<u64>, Vec<u16>)>>;

/// A server with four producers posting batches, once at least 200 records are in.
fn server_under_load() -> (tempfile::TempDir, String, Server, Producers) {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let server = Server::start(dir.path(), &[]);
    let threads = producers(&server, &writer, 4);
    while server.tree_size() < 200 {
        std::thread::sleep(Duration::from_millis(20));
    }
    (dir, writer, server, threads)
}

/// Every seq the producers got a 201 for.
fn acknowledged(threads: Producers) -> BTreeSet<u64> {
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("producer").0)
        .collect()
}

fn assert_verifies(dir: &Path) {
    let verify = std::process::Command::new(server_support::BIN)
        .arg("verify")
        .arg(dir)
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn sigterm_with_appends_in_flight_loses_nothing_acknowledged() {
    let (dir, _, server, threads) = server_under_load();
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    assert!(log.contains("stopped (SIGTERM)"), "{log}");
    let acked = acknowledged(threads);
    let stored = seqs_in_log(dir.path());
    assert!(acked.len() >= 200, "{}", acked.len());
    assert!(
        acked.is_subset(&stored),
        "acknowledged but missing: {:?}",
        acked.difference(&stored).take(5).collect::<Vec<_>>()
    );
    // Every record stored is contiguous from 0 and the log verifies.
    assert_eq!(
        stored.iter().copied().collect::<Vec<_>>(),
        (0..stored.len() as u64).collect::<Vec<_>>()
    );
    assert_verifies(dir.path());
}

#[test]
fn kill_9_during_ingest_then_restart_keeps_every_acknowledged_record() {
    let (dir, writer, server, threads) = server_under_load();
    server.kill9();
    let acked = acknowledged(threads);
    // The restart recovers the log (a torn tail is cut) and goes on from where it was.
    let server = Server::start(dir.path(), &[]);
    let size = server.tree_size();
    assert!(
        acked.iter().all(|s| *s < size),
        "an acknowledged record is past the recovered tree of {size}"
    );
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        event("after", "restart", None).to_string().as_bytes(),
    );
    assert_eq!(r.json()["records"][0]["seq"], size);
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    let stored = seqs_in_log(dir.path());
    assert!(acked.is_subset(&stored));
    assert_verifies(dir.path());
}

/// Retries `f` until it returns true, for at most about two seconds (a token change must
/// be seen within one).
fn within_two_seconds(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..40 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn tokens_added_and_revoked_while_running_take_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let added = token(dir.path(), "writer", &[]);
    let body = event("a", "x", None).to_string();
    assert!(within_two_seconds(|| server
        .post("/v1/events", &added, "application/json", body.as_bytes())
        .status
        == 201));
    let list = std::process::Command::new(server_support::BIN)
        .args(["token", "list", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .expect("lists");
    let entry: Value = serde_json::from_slice(&list.stdout).expect("one token as json");
    assert!(entry.get("hash").is_none(), "{entry}");
    let id = entry["id"].as_str().unwrap();
    let revoke = std::process::Command::new(server_support::BIN)
        .args(["token", "revoke", "--dir"])
        .arg(dir.path())
        .arg(id)
        .output()
        .expect("revokes");
    assert!(revoke.status.success());
    assert!(within_two_seconds(|| server
        .post("/v1/events", &added, "application/json", body.as_bytes())
        .status
        == 401));
    // The store holds no secret.
    let store = std::fs::read_to_string(dir.path().join("server-tokens.json")).expect("store");
    assert!(!store.contains(added.split('_').nth(2).unwrap()));
}

#[test]
fn token_add_creates_the_log_and_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_dir = dir.path().join("new");
    let secret = token(&log_dir, "admin", &[]);
    assert!(secret.starts_with("alt_"), "{secret}");
    assert!(log_dir.join("auditlog.meta").exists());
    let reader = std::process::Command::new(server_support::BIN)
        .args(["token", "add", "--role", "reader", "--dir"])
        .arg(&log_dir)
        .output()
        .expect("runs");
    assert_eq!(
        reader.status.code(),
        Some(2),
        "a reader without a tenant is a usage error"
    );
    let other = std::process::Command::new(server_support::BIN)
        .args(["token", "revoke", "nope", "--dir"])
        .arg(&log_dir)
        .output()
        .expect("runs");
    assert_eq!(other.status.code(), Some(2));
    let server = Server::start(&log_dir, &[]);
    assert_eq!(server.get("/v1/stats", &secret).status, 200);
}

#[test]
fn the_stream_delivers_every_record_once_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let reader = token(dir.path(), "reader", &["acme"]);
    let server = Server::start(dir.path(), &[]);
    let post = |actor: &str, tenant: &str| {
        let r = server.post(
            "/v1/events",
            &writer,
            "application/json",
            event(actor, "x", Some(tenant)).to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["records"][0]["seq"].as_u64().unwrap()
    };
    // Before the stream opens: not delivered from the tail.
    post("before", "acme");
    let mut sse = Sse::open(server.addr, "/v1/stream", &reader, None);
    let mut expected = Vec::new();
    for i in 0..6 {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        let seq = post(&format!("live{i}"), tenant);
        if tenant == "acme" {
            expected.push(seq);
        }
    }
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let (id, data) = sse.next().expect("an event");
        assert_eq!(data["seq"], id);
        assert_eq!(data["tenant"], "acme", "a reader streams only its tenant");
        got.push(id);
    }
    assert_eq!(got, expected);
    drop(sse);
    // Reconnect after the first one: the rest again, in order, once.
    let mut resumed = Sse::open(server.addr, "/v1/stream", &reader, Some(expected[0]));
    for want in &expected[1..] {
        assert_eq!(resumed.next().expect("an event").0, *want);
    }
    // from_seq=0 replays from the start, the pre-stream record included.
    let mut replay = Sse::open(
        server.addr,
        "/v1/stream?from_seq=0&actor=before",
        &reader,
        None,
    );
    assert_eq!(replay.next().expect("an event").0, 0);
    // Streams end when the server stops, and the stop is clean.
    let seen = Arc::new(Mutex::new(None));
    let seen2 = seen.clone();
    let waiter = std::thread::spawn(move || {
        *seen2.lock().unwrap() = Some(resumed.next().is_none());
    });
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    waiter.join().expect("joins");
    assert_eq!(*seen.lock().unwrap(), Some(true));
}
