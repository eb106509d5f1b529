//! `auditlog serve` on a log with a privacy policy (docs/PRIVACY.md): without the master key an
//! event with a protected field is refused and nothing is written; with `--master-key-file` it
//! is stored encrypted, so what it keeps on disk is ciphertext. Reads show personal data in
//! clear only to tokens with the `pii` permission (admins by default), masked to the others,
//! `[protected]` to all without the master key, `[erased]` after `POST /v1/admin/erase`, on
//! every read path: events, one record, export, stream and the console.

mod server_support;

use serde_json::{Value, json};
use server_support::{BIN, Server, Sse, request, token};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("AUDITLOG_MASTER_KEY_FILE")
        .output()
        .expect("runs auditlog");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A master key and a log created with `protect` as its protected fields, in `tmp`:
/// (log directory, master key file).
fn protected_log(tmp: &Path, protect: &str) -> (PathBuf, PathBuf) {
    let dir = tmp.join("log");
    let key = tmp.join("master.key");
    run(&["keygen", "--master", "--out", key.to_str().expect("utf-8")]);
    run(&[
        "init",
        "--protect",
        protect,
        "--dir",
        dir.to_str().expect("utf-8"),
    ]);
    (dir, key)
}

#[test]
fn protected_fields_need_the_master_key_and_are_stored_encrypted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, key) = protected_log(tmp.path(), "actor.email");
    let writer = token(&dir, "writer", &[]);
    let auditor = token(&dir, "auditor", &[]);
    let event = json!({
        "actor": {"id": "user:42", "email": "alice@example.com"},
        "action": "login",
    })
    .to_string();

    let server = Server::start(&dir, &[]);
    let refused = server.post("/v1/events", &writer, "application/json", event.as_bytes());
    let doc = refused.problem(500, "internal");
    assert!(
        doc["detail"]
            .as_str()
            .is_some_and(|d| d.contains("master key")),
        "{doc}"
    );
    assert_eq!(server.tree_size(), 0, "a refused event is not written");
    let (log, ok) = server.stop();
    assert!(ok, "{log}");

    let server = Server::start(&dir, &["--master-key-file", key.to_str().expect("utf-8")]);
    let stored = server.post("/v1/events", &writer, "application/json", event.as_bytes());
    assert_eq!(stored.status, 201, "{}", stored.text());
    let record = server.get("/v1/events/0", &auditor);
    assert_eq!(record.status, 200, "{}", record.text());
    let email = record.json()["record"]["actor"]["email"].clone();
    assert_eq!(email, "a***@example.com", "an auditor reads it masked");
    assert!(!record.text().contains("alice@example.com"));
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    let segments: Vec<u8> = std::fs::read_dir(&dir)
        .expect("lists the log")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .flat_map(|e| std::fs::read(e.path()).expect("reads a segment"))
        .collect();
    assert!(!segments.is_empty(), "the scan found the segments");
    assert!(
        !segments.windows(EMAIL.len()).any(|w| w == EMAIL.as_bytes()),
        "the stored value is ciphertext"
    );
}

/// `auditlog token add --dir DIR --role ROLE EXTRA...`: the secret.
fn token_with(dir: &std::path::Path, role: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "token",
        "add",
        "--dir",
        dir.to_str().expect("utf-8"),
        "--role",
        role,
    ];
    args.extend_from_slice(extra);
    run(&args).lines().next().expect("a secret").to_string()
}

fn console_session(server: &Server, secret: &str) -> String {
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("Origin".to_string(), format!("http://{}", server.addr)),
    ];
    let body = format!("token={secret}");
    let r = request(
        server.addr,
        "POST",
        "/console/sign-in",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let set = r.header("set-cookie").expect("a session cookie");
    set.split(';').next().expect("name=value").to_string()
}

fn console_page(server: &Server, path: &str, cookie: &str) -> String {
    let r = request(
        server.addr,
        "GET",
        path,
        &[("Cookie".to_string(), cookie.to_string())],
        b"",
    );
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

/// The `audit.*` events of the log (read with an admin token), newest last.
fn audit_events(server: &Server, admin: &str, action: &str) -> Vec<Value> {
    let r = server.get(&format!("/v1/events?action={action}&limit=1000"), admin);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["records"].as_array().expect("records").clone()
}

const EMAIL: &str = "alice@example.com";
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>Alice";

#[test]
fn personal_data_reads_in_clear_only_for_the_pii_permission_on_every_read_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, key) = protected_log(tmp.path(), "actor.email,actor.name,ip");
    let writer = token(&dir, "writer", &[]);
    let admin = token(&dir, "admin", &[]);
    let auditor = token(&dir, "auditor", &[]);
    let reader = token(&dir, "reader", &["acme"]);
    let pii_auditor = token_with(&dir, "auditor", &["--pii"]);
    let masked_admin = token_with(&dir, "admin", &["--no-pii"]);
    let server = Server::start(&dir, &["--master-key-file", key.to_str().expect("utf-8")]);
    let events = json!([
        {"actor": {"id": "user:42", "email": EMAIL, "name": HOSTILE_NAME},
         "action": "login", "ip": "203.0.113.77", "tenant": "acme"},
        {"actor": {"id": "user:7", "email": "bob@example.org"}, "action": "login", "tenant": "acme"},
    ]);
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        events.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // GET /v1/events/{seq} and GET /v1/events, by role.
    for (who, secret, clear) in [
        ("admin", &admin, true),
        ("auditor --pii", &pii_auditor, true),
        ("auditor", &auditor, false),
        ("reader", &reader, false),
        ("admin --no-pii", &masked_admin, false),
    ] {
        let one = server.get("/v1/events/0", secret);
        assert_eq!(one.status, 200, "{who}: {}", one.text());
        let actor = &one.json()["record"]["actor"];
        let page = server.get("/v1/events?action=login", secret);
        assert_eq!(page.status, 200, "{who}: {}", page.text());
        let listed = &page.json()["records"][0];
        let (email, ip) = match clear {
            true => (EMAIL, "203.0.113.77"),
            false => ("a***@example.com", "203.0.113.0/24"),
        };
        assert_eq!(actor["email"], email, "{who}: {one:?}");
        assert_eq!(listed["actor"]["email"], email, "{who}");
        assert_eq!(listed["ip"], ip, "{who}");
        assert_eq!(one.json()["record"]["ip"], ip, "{who}");
        if !clear {
            assert!(!one.text().contains(EMAIL), "{who}");
            assert!(!page.text().contains("bob@example.org"), "{who}");
        }
    }

    // The proof still covers the record as stored.
    let proved = server.get("/v1/events/0?proof=inclusion", &auditor);
    assert_eq!(proved.status, 200, "{}", proved.text());
    assert!(proved.json()["proof"].is_object());

    // GET /v1/export, JSON Lines and CSV.
    let export = server.get("/v1/export?action=login", &admin);
    assert_eq!(export.status, 200);
    assert!(export.text().contains(EMAIL), "{}", export.text());
    for format in ["jsonl", "csv"] {
        let masked = server.get(
            &format!("/v1/export?action=login&format={format}"),
            &auditor,
        );
        assert_eq!(masked.status, 200);
        assert!(
            !masked.text().contains(EMAIL),
            "{format}: {}",
            masked.text()
        );
        assert!(!masked.text().contains("alenc1:"), "{format}");
        assert!(
            masked.text().contains("a***@example.com"),
            "{format}: {}",
            masked.text()
        );
    }

    // GET /v1/stream.
    for (secret, email) in [(&admin, EMAIL), (&auditor, "a***@example.com")] {
        let mut sse = Sse::open(
            server.addr,
            "/v1/stream?from_seq=0&action=login",
            secret,
            None,
        );
        let (id, data) = sse.next().expect("an event");
        assert_eq!(id, 0);
        assert_eq!(data["actor"]["email"], email);
    }

    // The console: what the role allows, escaped.
    let cookie = console_session(&server, &admin);
    let page = console_page(&server, "/console/events/0", &cookie);
    assert!(page.contains(EMAIL), "{page}");
    assert!(page.contains("203.0.113.77"));
    assert!(!page.contains("<img src=x"), "the name is escaped");
    assert!(page.contains("&lt;img src=x"), "{page}");
    let cookie = console_session(&server, &auditor);
    let page = console_page(&server, "/console/events/0", &cookie);
    assert!(!page.contains(EMAIL) && !page.contains("alenc1:"), "{page}");
    assert!(page.contains("a***@example.com"), "{page}");
    let list = console_page(&server, "/console/events", &cookie);
    assert!(!list.contains(EMAIL) && !list.contains("Alice"));

    // Every read saying how it saw personal data.
    let reads = audit_events(&server, &admin, "audit.read");
    let reveals: Vec<&str> = reads
        .iter()
        .filter_map(|r| r["metadata"]["reveal"].as_str())
        .collect();
    assert!(
        reveals.contains(&"plaintext") && reveals.contains(&"masked"),
        "{reveals:?}"
    );
    let (log, ok) = server.stop();
    assert!(ok, "{log}");

    // Without the master key nobody reads personal data, not even an admin.
    let server = Server::start(&dir, &[]);
    let one = server.get("/v1/events/0", &admin);
    assert_eq!(one.json()["record"]["actor"]["email"], "[protected]");
    assert_eq!(one.json()["record"]["ip"], "[protected]");
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
}

#[test]
fn an_admin_erases_a_subject_over_http_and_its_values_read_erased() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, key) = protected_log(tmp.path(), "actor.email");
    let writer = token(&dir, "writer", &[]);
    let admin = token(&dir, "admin", &[]);
    let auditor = token(&dir, "auditor", &[]);
    let server = Server::start(&dir, &["--master-key-file", key.to_str().expect("utf-8")]);
    let events = json!([
        {"actor": {"id": "user:42", "email": EMAIL}, "action": "login"},
        {"actor": {"id": "user:7", "email": "bob@example.org"}, "action": "login"},
    ]);
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        events.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let size = server.tree_size();
    let body = |subject: &str| json!({ "subject": subject }).to_string();
    let erase = |secret: &str, b: &str| {
        server.post("/v1/admin/erase", secret, "application/json", b.as_bytes())
    };

    // Refused: not an admin; a bad body; an unknown subject. Nothing changes.
    erase(&auditor, &body("user:42")).problem(403, "forbidden");
    erase(&writer, &body("user:42")).problem(403, "forbidden");
    erase(&admin, "{\"subject\":").problem(400, "bad-body");
    erase(&admin, "{\"who\":\"user:42\"}").problem(400, "bad-body");
    erase(&admin, &body("")).problem(400, "bad-body");
    erase(&admin, &body("user:nobody")).problem(404, "not-found");
    assert_eq!(
        server.get("/v1/events/0", &admin).json()["record"]["actor"]["email"],
        EMAIL
    );

    // A lookup by a protected value (keyed blind index): pii tokens only, bad input typed.
    let by_email = "/v1/events?protected=actor.email%3DALICE%40example.com";
    let found = server.get(by_email, &admin);
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(found.json()["records"][0]["seq"], 0);
    server.get(by_email, &auditor).problem(403, "forbidden");
    server
        .get("/v1/events?protected=ip%3D1.2.3.4", &admin)
        .problem(400, "bad-parameter");
    server
        .get("/v1/events?protected=actor.email", &admin)
        .problem(400, "bad-parameter");

    let done = erase(&admin, &body("user:42"));
    assert_eq!(done.status, 200, "{}", done.text());
    let report = done.json();
    assert_eq!(report["subject"], "user:42");
    assert_eq!(report["key_ids"].as_array().map(Vec::len), Some(1));
    let erasure_seq = report["event_seq"].as_u64().expect("a seq");
    let erasure = server
        .get(&format!("/v1/events/{erasure_seq}"), &admin)
        .json();
    assert_eq!(erasure["record"]["action"], "privacy.erasure");
    // A second erasure of the same subject finds no live key.
    erase(&admin, &body("user:42")).problem(404, "not-found");

    for secret in [&admin, &auditor] {
        let one = server.get("/v1/events/0", secret).json();
        assert_eq!(one["record"]["actor"]["email"], "[erased]");
    }
    assert_eq!(
        server.get("/v1/events/1", &admin).json()["record"]["actor"]["email"],
        "bob@example.org"
    );
    let export = server.get("/v1/export", &admin).text();
    assert!(!export.contains(EMAIL), "{export}");
    let after = server.get(by_email, &admin);
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(after.json()["records"].as_array().map(Vec::len), Some(0));
    // The lookups were audited by field, never by the value looked up.
    let reads = audit_events(&server, &admin, "audit.read");
    let lookups = reads
        .iter()
        .filter(|r| r["metadata"]["filters"]["protected"] == "actor.email=[protected]")
        .count();
    assert_eq!(lookups, 2, "{reads:?}");
    assert!(
        !Value::Array(reads)
            .to_string()
            .to_lowercase()
            .contains(EMAIL)
    );

    // The request itself is recorded, naming the token.
    let audited = audit_events(&server, &admin, "admin.erase");
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["metadata"]["filters"]["subject"], "user:42");
    assert_eq!(audited[0]["metadata"]["erasure_seq"], erasure_seq);
    assert!(
        audited[0]["actor"]["id"]
            .as_str()
            .is_some_and(|a| a.starts_with("token:"))
    );

    // The tree at the old size is a prefix of the new one; the document declares the endpoint.
    let consistency = server.get(&format!("/v1/proofs/consistency?from={size}"), &auditor);
    assert_eq!(consistency.status, 200, "{}", consistency.text());
    let doc = server.get("/openapi.json", "").json();
    assert!(
        doc["paths"]["/v1/admin/erase"]["post"].is_object(),
        "declared"
    );
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
    run(&["verify", "--dir", dir.to_str().expect("utf-8")]);
}

#[test]
fn erasure_on_a_log_without_a_policy_is_a_conflict() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let admin = token(tmp.path(), "admin", &[]);
    let server = Server::start(tmp.path(), &[]);
    let r = server.post(
        "/v1/admin/erase",
        &admin,
        "application/json",
        br#"{"subject":"user:1"}"#,
    );
    r.problem(409, "no-privacy-policy");
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
}
