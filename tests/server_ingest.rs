//! `POST /v1/events` and the Unix socket against the real `auditlog serve` process: one
//! event, an array and NDJSON are acknowledged with durable receipts; malformed JSON (with
//! its NDJSON line), invalid events (with the field), oversized bodies, batches and events
//! are refused as problem+json and change nothing; the socket speaks the documented framing.

mod server_support;

use serde_json::{Value, json};
use server_support::{Server, event, token};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

fn receipts(doc: &Value) -> Vec<u64> {
    doc["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            assert_eq!(r["leaf_hash"].as_str().map(str::len), Some(64), "{r}");
            assert!(r["recorded_at"].is_string(), "{r}");
            assert!(r["tree_size"].as_u64() > r["seq"].as_u64(), "{r}");
            r["seq"].as_u64().expect("seq")
        })
        .collect()
}

#[test]
fn one_event_an_array_and_ndjson_are_acknowledged_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let server = Server::start(dir.path(), &[]);
    let one = server.post(
        "/v1/events",
        &writer,
        "application/json",
        event("alice", "login", None).to_string().as_bytes(),
    );
    assert_eq!(one.status, 201, "{}", one.text());
    assert_eq!(receipts(&one.json()), [0]);
    let array = json!([event("bob", "a", None), event("carol", "b", None)]).to_string();
    let r = server.post("/v1/events", &writer, "application/json", array.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(receipts(&r.json()), [1, 2]);
    let ndjson = format!("{}\n\n{}\n", event("d", "x", None), event("e", "y", None));
    let r = server.post(
        "/v1/events",
        &writer,
        "application/x-ndjson",
        ndjson.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(receipts(&r.json()), [3, 4]);
    assert_eq!(r.json()["count"], 2);
    assert_eq!(server.tree_size(), 5);
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    // The records are in the log, in order, as sent.
    let out = std::process::Command::new(server_support::BIN)
        .args(["query", "--format", "jsonl", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs query");
    let actors: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["actor"]["id"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(actors, ["alice", "bob", "carol", "d", "e"]);
}

#[test]
fn bad_input_is_a_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let reader = token(dir.path(), "reader", &["acme"]);
    let server = Server::start(
        dir.path(),
        &[
            "--max-body-bytes",
            "4000",
            "--max-batch",
            "3",
            "--max-event-bytes",
            "600",
        ],
    );
    let post = |ct: &str, body: &str| server.post("/v1/events", &writer, ct, body.as_bytes());
    // Malformed NDJSON names its line (the third non-empty one is line 4).
    let ndjson = format!(
        "{}\n{}\n\n{{\"actor\": \n",
        event("a", "x", None),
        event("b", "y", None)
    );
    let doc = post("application/x-ndjson", &ndjson).problem(400, "malformed-json");
    assert_eq!(doc["line"], 4, "{doc}");
    assert!(doc["detail"].as_str().unwrap().contains("line 4"), "{doc}");
    // Malformed JSON.
    post("application/json", "{\"actor\":").problem(400, "malformed-json");
    post("application/json", "").problem(400, "malformed-json");
    post("application/json", "[]").problem(400, "no-events");
    // An event that is JSON but not an event, and one over a field limit: 422 with where.
    let doc = post(
        "application/json",
        r#"[{"actor":{"id":"a"},"action":"x"},{"action":"y"}]"#,
    )
    .problem(422, "invalid-event");
    assert_eq!(doc["index"], 1, "{doc}");
    let empty_action = event("a", "", None).to_string();
    let doc = post("application/json", &empty_action).problem(422, "invalid-event");
    assert_eq!(doc["field"], "action", "{doc}");
    // Limits: batch, event, body.
    let four = json!([
        event("a", "1", None),
        event("a", "2", None),
        event("a", "3", None),
        event("a", "4", None)
    ]);
    let doc = post("application/json", &four.to_string()).problem(413, "too-large");
    assert_eq!(doc["limit"], "max_batch_events", "{doc}");
    let mut big = event("a", "x", None);
    big["metadata"] = json!({"blob": "x".repeat(1000)});
    let doc = post("application/json", &big.to_string()).problem(413, "too-large");
    assert_eq!(doc["limit"], "max_event_bytes", "{doc}");
    let doc = post("application/json", &"x".repeat(5000)).problem(413, "too-large");
    assert_eq!(doc["limit"], "max_body_bytes", "{doc}");
    // Media type, method, route, roles.
    post("text/plain", &event("a", "x", None).to_string()).problem(415, "unsupported-media-type");
    server.get("/v1/nothing", &writer).problem(404, "not-found");
    server_support::request(server.addr, "DELETE", "/v1/events", &[], b"")
        .problem(405, "method-not-allowed");
    server
        .post("/v1/events", "", "application/json", b"{}")
        .problem(401, "unauthorized");
    server
        .post("/v1/events", "alt_00000000_00", "application/json", b"{}")
        .problem(401, "unauthorized");
    server
        .post(
            "/v1/events",
            &reader,
            "application/json",
            event("a", "x", None).to_string().as_bytes(),
        )
        .problem(403, "forbidden");
    // Nothing of the above reached the log.
    assert_eq!(server.tree_size(), 0);
    let ok = post("application/json", &event("a", "x", None).to_string());
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(server.tree_size(), 1);
}

#[test]
fn a_tenant_writer_writes_only_its_tenants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acme = token(dir.path(), "writer", &["acme"]);
    let server = Server::start(dir.path(), &[]);
    // Its one tenant is filled in; another tenant is 403 and nothing of the batch is written.
    let r = server.post(
        "/v1/events",
        &acme,
        "application/json",
        event("a", "x", None).to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mixed = json!([
        event("a", "x", Some("acme")),
        event("a", "y", Some("globex"))
    ]);
    let doc = server
        .post(
            "/v1/events",
            &acme,
            "application/json",
            mixed.to_string().as_bytes(),
        )
        .problem(403, "forbidden");
    assert_eq!(doc["index"], 1);
    assert_eq!(server.tree_size(), 1);
    let auditor = token(dir.path(), "auditor", &[]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let page = server.get("/v1/events", &auditor).json();
    assert_eq!(page["records"][0]["tenant"], "acme", "{page}");
}

fn frame(stream: &mut UnixStream, doc: &Value) -> Value {
    let text = doc.to_string();
    stream
        .write_all(&(text.len() as u32).to_be_bytes())
        .expect("writes");
    stream.write_all(text.as_bytes()).expect("writes");
    read_frame(stream)
}

fn read_frame(stream: &mut UnixStream) -> Value {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).expect("reads a length");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).expect("reads a frame");
    serde_json::from_slice(&body).expect("a JSON frame")
}

/// A server on a new log under `dir` with a Unix socket, and a writer token for it: the
/// server, the socket's path, the log's directory and the token.
fn socket_server(
    dir: &std::path::Path,
) -> (Server, std::path::PathBuf, std::path::PathBuf, String) {
    let socket = dir.join("audit.sock");
    let log_dir = dir.join("log");
    let writer = token(&log_dir, "writer", &[]);
    let server = Server::start(&log_dir, &["--socket", socket.to_str().unwrap()]);
    (server, socket, log_dir, writer)
}

#[test]
fn the_unix_socket_acknowledges_frames_and_refuses_bad_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, socket, _, writer) = socket_server(dir.path());
    let mut s = UnixStream::connect(&socket).expect("connects");
    let hello = frame(&mut s, &json!({"token": writer}));
    assert_eq!(hello["status"], 200, "{hello}");
    let ack = frame(&mut s, &event("a", "x", None));
    assert_eq!(ack["status"], 201, "{ack}");
    assert_eq!(receipts(&ack), [0]);
    let ack = frame(
        &mut s,
        &json!([event("b", "y", None), event("c", "z", None)]),
    );
    assert_eq!(receipts(&ack), [1, 2]);
    // A bad event is a problem frame; the connection goes on.
    let bad = frame(&mut s, &json!({"action": "no actor"}));
    assert_eq!(bad["status"], 422, "{bad}");
    let ack = frame(&mut s, &event("d", "w", None));
    assert_eq!(receipts(&ack), [3]);
    // The server reads through a buffer: three frames in one write are answered one by one,
    // in order, and a frame arriving a byte at a time is read whole.
    let bytes = |doc: &Value| {
        let text = doc.to_string();
        let mut b = (text.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(text.as_bytes());
        b
    };
    let pipelined: Vec<u8> = ["e", "f", "g"]
        .iter()
        .flat_map(|actor| bytes(&event(actor, "p", None)))
        .collect();
    s.write_all(&pipelined).expect("writes");
    for seq in 4..7 {
        assert_eq!(receipts(&read_frame(&mut s)), [seq]);
    }
    for byte in bytes(&event("h", "q", None)) {
        s.write_all(&[byte]).expect("writes");
    }
    assert_eq!(receipts(&read_frame(&mut s)), [7]);
    // A wrong token is refused.
    let mut s2 = UnixStream::connect(&socket).expect("connects");
    let refused = frame(&mut s2, &json!({"token": "alt_1234abcd_00"}));
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(server.tree_size(), 8);
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    assert!(!socket.exists(), "the socket file is removed on stop");
}

/// A socket connection authenticates its token once, then again only when the token store
/// changes: a token revoked while the connection is open stops working at its next frame.
#[test]
fn a_token_revoked_under_an_open_socket_connection_is_refused_at_the_next_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, socket, log_dir, writer) = socket_server(dir.path());
    let mut s = UnixStream::connect(&socket).expect("connects");
    assert_eq!(frame(&mut s, &json!({"token": writer}))["status"], 200);
    assert_eq!(frame(&mut s, &event("a", "x", None))["status"], 201);
    let id = writer.split('_').nth(1).expect("a token id");
    let revoke = std::process::Command::new(server_support::BIN)
        .args(["token", "revoke", "--dir"])
        .arg(&log_dir)
        .arg(id)
        .output()
        .expect("revokes");
    assert!(revoke.status.success());
    // Once HTTP refuses the token, the server's token store has changed.
    let body = event("b", "y", None).to_string();
    let refused_over_http = (0..40).any(|_| {
        let status = server
            .post("/v1/events", &writer, "application/json", body.as_bytes())
            .status;
        if status != 401 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        status == 401
    });
    assert!(refused_over_http, "the revoke reached the server");
    let size = server.tree_size();
    let refused = frame(&mut s, &event("c", "z", None));
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(
        server.tree_size(),
        size,
        "the refused frame appended nothing"
    );
}
