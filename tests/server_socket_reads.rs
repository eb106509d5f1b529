//! Reads over the Unix socket (docs/SERVER.md, "The Unix socket"): a `{"get": ...}` frame is
//! answered by the HTTP endpoint itself, so its body, role checks, tenant scope and problem
//! documents are those of HTTP; streams and unknown paths are refused; a connection mixes
//! appends and reads. Also `?proof=inclusion&tree_size=N` over HTTP and the socket, with the
//! bounds /openapi.json declares.

mod server_support;

use serde_json::{Value, json};
use server_support::{Server, event, token};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

fn frame(stream: &mut UnixStream, doc: &Value) -> Value {
    let text = doc.to_string();
    stream
        .write_all(&(text.len() as u32).to_be_bytes())
        .expect("writes");
    stream.write_all(text.as_bytes()).expect("writes");
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).expect("reads a length");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).expect("reads a frame");
    serde_json::from_slice(&body).expect("a JSON frame")
}

fn connect(socket: &std::path::Path, secret: &str) -> UnixStream {
    let mut s = UnixStream::connect(socket).expect("connects");
    let hello = frame(&mut s, &json!({ "token": secret }));
    assert_eq!(hello["status"], 200, "{hello}");
    s
}

fn get(s: &mut UnixStream, path: &str) -> Value {
    frame(s, &json!({ "get": path }))
}

fn problem(doc: &Value, status: u16, kind: &str) {
    assert_eq!(doc["status"], status, "{doc}");
    assert_eq!(doc["type"], format!("urn:auditlog:problem:{kind}"), "{doc}");
    assert!(
        doc["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{doc}"
    );
}

#[test]
fn the_socket_answers_reads_as_http_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("audit.sock");
    let log_dir = dir.path().join("log");
    let writer = token(&log_dir, "writer", &[]);
    let auditor = token(&log_dir, "auditor", &[]);
    let acme = token(&log_dir, "reader", &["acme"]);
    let key = dir.path().join("signer");
    let made = std::process::Command::new(server_support::BIN)
        .args(["keygen", "--name", "test/audit", "--out"])
        .arg(&key)
        .output()
        .expect("runs keygen");
    assert!(made.status.success());
    let server = Server::start(
        &log_dir,
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--key",
            key.with_extension("key").to_str().unwrap(),
        ],
    );

    // A writer appends on the socket, and may not read there, as over HTTP.
    let mut w = connect(&socket, &writer);
    for i in 0..6 {
        let tenant = if i % 2 == 0 { "acme" } else { "other" };
        let ack = frame(&mut w, &event(&format!("user:{i}"), "login", Some(tenant)));
        assert_eq!(ack["status"], 201, "{ack}");
    }
    problem(&get(&mut w, "/v1/events"), 403, "forbidden");

    // The auditor's page over the socket is the HTTP page; an auditor may not append.
    let mut a = connect(&socket, &auditor);
    let page = get(&mut a, "/v1/events?action=login&limit=4");
    assert_eq!(page["status"], 200, "{page}");
    let over_http = server
        .get("/v1/events?action=login&limit=4", &auditor)
        .json();
    assert_eq!(page["body"]["records"], over_http["records"]);
    assert_eq!(page["body"]["has_more"], true);
    let seqs: Vec<u64> = page["body"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    let next = get(
        &mut a,
        &format!(
            "/v1/events?action=login&limit=4&cursor={}",
            page["body"]["cursor"].as_str().unwrap()
        ),
    );
    assert_eq!(
        next["body"]["records"].as_array().unwrap().len(),
        2,
        "{next}"
    );
    let one = get(&mut a, "/v1/events/4?proof=inclusion");
    assert_eq!(one["body"]["record"]["seq"], 4, "{one}");
    assert_eq!(one["body"]["proof"]["type"], "inclusion", "{one}");
    let consistency = get(&mut a, "/v1/proofs/consistency?from=2");
    assert_eq!(consistency["status"], 200, "{consistency}");
    // The checkpoint is text over HTTP: its signed note is the body, as a JSON string.
    let note = get(&mut a, "/v1/checkpoint");
    assert_eq!(note["status"], 200, "{note}");
    let note = note["body"].as_str().expect("the note as a string");
    assert!(note.contains("test/audit"), "{note}");
    let stats = get(&mut a, "/v1/stats?by=outcome&action=login");
    assert_eq!(stats["body"]["total"], 6, "{stats}");
    problem(&frame(&mut a, &event("x", "y", None)), 403, "forbidden");

    // The endpoint's own refusals, with the connection kept.
    problem(&get(&mut a, "/v1/events?limit=0"), 400, "bad-parameter");
    problem(&get(&mut a, "/v1/events/999"), 404, "not-found");
    problem(&get(&mut a, "/v1/stats?top=100001"), 400, "bad-parameter");
    // Streams, exports, other paths and what is not a path are refused.
    problem(&get(&mut a, "/v1/stream"), 404, "not-found");
    problem(&get(&mut a, "/v1/export"), 404, "not-found");
    problem(&get(&mut a, "/metrics"), 404, "not-found");
    problem(&get(&mut a, "/v1/events/1/2"), 404, "not-found");
    problem(&get(&mut a, "http://127.0.0.1/v1/events"), 400, "bad-read");
    problem(&get(&mut a, "v1/events"), 400, "bad-read");
    // A frame with `get` and anything else is an event, refused as one.
    let mixed = frame(&mut a, &json!({"get": "/v1/events", "action": "x"}));
    assert_eq!(mixed["status"], 403, "{mixed}"); // an auditor may not append at all
    let mixed = frame(&mut w, &json!({"get": "/v1/events", "action": "x"}));
    assert_eq!(mixed["status"], 422, "{mixed}");
    assert_eq!(get(&mut a, "/v1/stats")["status"], 200);

    // A reader of tenant acme sees acme's records only, as over HTTP.
    let mut r = connect(&socket, &acme);
    let page = get(&mut r, "/v1/events");
    let tenants: Vec<&str> = page["body"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme", "acme", "acme"], "{page}");
    problem(&get(&mut r, "/v1/events/1"), 404, "not-found");
    problem(
        &get(&mut r, "/v1/events/0?proof=inclusion"),
        403,
        "forbidden",
    );

    // Every read was audited as over HTTP (audit.read events after the six logins).
    assert!(server.tree_size() > 6);
    drop((w, a, r));
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
}

#[test]
fn an_inclusion_proof_at_a_chosen_tree_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auditor = token(dir.path(), "auditor", &[]);
    let writer = token(dir.path(), "writer", &[]);
    let server = Server::start(dir.path(), &[]);
    let batch: Vec<Value> = (0..10)
        .map(|i| event(&format!("u{i}"), "x", None))
        .collect();
    let ack = server.post(
        "/v1/events",
        &writer,
        "application/json",
        json!(batch).to_string().as_bytes(),
    );
    assert_eq!(ack.status, 201, "{}", ack.text());
    let at = |q: &str| server.get(&format!("/v1/events/3{q}"), &auditor);
    let proof = at("?proof=inclusion&tree_size=5").json();
    assert_eq!(proof["proof"]["tree_head"]["size"], 5, "{proof}");
    assert_eq!(proof["proof"]["seq"], 3);
    // Checked offline against that tree.
    let file = dir.path().join("proof.json");
    std::fs::write(&file, proof["proof"].to_string()).expect("writes");
    let checked = std::process::Command::new(server_support::BIN)
        .arg("verify-proof")
        .arg(&file)
        .output()
        .expect("runs verify-proof");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // The smallest tree holding record 3, and the whole log.
    assert_eq!(
        at("?proof=inclusion&tree_size=4").json()["proof"]["tree_head"]["size"],
        4
    );
    let whole = at("?proof=inclusion&tree_size=10").json();
    assert_eq!(whole["proof"]["tree_head"]["size"], 10);
    // Out of the declared bounds, too small for the record, without proof=, or given twice:
    // 400; beyond the log's size: 404.
    for q in [
        "?proof=inclusion&tree_size=0",
        "?proof=inclusion&tree_size=-1",
        "?proof=inclusion&tree_size=x",
        "?proof=inclusion&tree_size=9223372036854775808",
        "?proof=inclusion&tree_size=3",
        "?proof=inclusion&tree_size=5&tree_size=6",
        "?tree_size=5",
    ] {
        let doc = at(q).problem(400, "bad-parameter");
        assert_eq!(doc["parameter"], "tree_size", "{q}: {doc}");
    }
    // (Every read appends an audit.read event, so the log is past 10 by now.)
    at("?proof=inclusion&tree_size=1000000").problem(404, "not-found");
    at("?proof=inclusion&tree_size=9223372036854775807").problem(404, "not-found");
    // /openapi.json declares the bounds enforced.
    let api = server.get("/openapi.json", "").json();
    let params = api["paths"]["/v1/events/{seq}"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .clone();
    let size = params
        .iter()
        .find(|p| p["name"] == "tree_size")
        .expect("tree_size is declared");
    assert_eq!(size["schema"]["minimum"], 1, "{size}");
    assert_eq!(size["schema"]["maximum"], i64::MAX, "{size}");
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
}
