//! `auditlog serve` on a log with a privacy policy (docs/PRIVACY.md): without the master key an
//! event with a protected field is refused and nothing is written; with `--master-key-file` it
//! is stored encrypted, so what the server answers and keeps on disk is ciphertext.

mod server_support;

use serde_json::json;
use server_support::{BIN, Server, token};
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

#[test]
fn protected_fields_need_the_master_key_and_are_stored_encrypted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = tmp.path().join("master.key");
    run(&["keygen", "--master", "--out", key.to_str().expect("utf-8")]);
    let dir_text = dir.to_str().expect("utf-8");
    run(&["init", "--protect", "actor.email", "--dir", dir_text]);
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
    assert!(
        email.as_str().is_some_and(|e| e.starts_with("alenc1:")),
        "the stored value is ciphertext: {email}"
    );
    assert!(!record.text().contains("alice@example.com"));
    let (log, ok) = server.stop();
    assert!(ok, "{log}");
}
