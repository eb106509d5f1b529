//! The alert tests' side of the wire: a webhook receiver on 127.0.0.1 (plain or TLS) that
//! records every request, and helpers to write rules, post events and wait for the
//! evaluator. Used by tests/server_alerts.rs and tests/server_alerts_restart.rs, which also
//! declare `mod server_support;`.

#![allow(dead_code, reason = "each test file uses part of the support")]

use crate::server_support::{BIN, Server, metric};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug)]
pub struct Hook {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Hook {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts that the request is signed with `secret`: `X-Auditlog-Signature` is
    /// `sha256=` and the hex HMAC-SHA256 of the body (docs/SERVER.md, "The notification").
    pub fn assert_signed_with(&self, secret: &str) {
        let hex: String =
            auditlog_server::alerts::webhook::hmac_sha256(secret.as_bytes(), &self.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        assert_eq!(
            self.header("X-Auditlog-Signature"),
            Some(format!("sha256={hex}").as_str())
        );
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on 127.0.0.1: answers each request with the next status of `statuses`
/// (then 200), or holds the connection open forever if `hold`. Requests go to the channel.
pub fn receiver(statuses: Vec<u16>, hold: bool) -> (String, mpsc::Receiver<Hook>) {
    let (url, hooks, _) = receiver_with(None, statuses, hold);
    (url, hooks)
}

/// A connection the receiver reads a request from and answers: plain TCP or TLS.
pub trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// [`receiver`], over TLS with `tls` (an `https://127.0.0.1:PORT` URL); the counter is the
/// connections accepted, handshakes that fail included.
pub fn receiver_with(
    tls: Option<Arc<rustls::ServerConfig>>,
    statuses: Vec<u16>,
    hold: bool,
) -> (String, mpsc::Receiver<Hook>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!(
        "{scheme}://{}/hooks/audit",
        listener.local_addr().expect("addr")
    );
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut conn: Box<dyn Conn> = match &tls {
                None => Box::new(stream),
                Some(config) => Box::new(rustls::StreamOwned::new(
                    rustls::ServerConnection::new(config.clone()).expect("a TLS session"),
                    stream,
                )),
            };
            // A client that refuses the certificate ends the handshake: no request.
            let Some(hook) = read_request(&mut conn) else {
                continue;
            };
            if tx.send(hook).is_err() {
                return;
            }
            if hold {
                held.push(conn);
                continue;
            }
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = conn.flush();
        }
    });
    (url, rx, accepted)
}

/// Reads one `POST /hooks/audit` request, or `None` if the connection fails first.
pub fn read_request(conn: &mut Box<dyn Conn>) -> Option<Hook> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if line.is_empty() {
        return None;
    }
    assert!(line.starts_with("POST /hooks/audit HTTP/1.1"), "{line}");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect("a header");
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().expect("a length"))
        .expect("content-length");
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Hook { headers, body })
}

pub fn next_hook(rx: &mpsc::Receiver<Hook>) -> Hook {
    rx.recv_timeout(Duration::from_secs(60))
        .expect("a webhook request")
}

/// Polls /metrics until `name` reaches `at_least`.
pub fn wait_metric(server: &Server, name: &str, at_least: u64) -> String {
    for _ in 0..6000 {
        let text = server.get("/metrics", "").text();
        if metric(&text, name) >= at_least {
            return text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{name} never reached {at_least}");
}

pub fn write_rules(dir: &Path, rules: Value) -> std::path::PathBuf {
    let path = dir.join("alerts.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&rules).unwrap()).unwrap();
    path
}

pub fn post_one(server: &Server, writer: &str, e: &Value) -> u64 {
    let r = server.post(
        "/v1/events",
        writer,
        "application/json",
        &serde_json::to_vec(e).unwrap(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["records"][0]["seq"].as_u64().expect("seq")
}

/// `auditlog append` with no server running: the seq of its receipt.
pub fn append_offline(dir: &Path, actor: &str, action: &str) -> u64 {
    let out = std::process::Command::new(BIN)
        .args(["append", "--dir"])
        .arg(dir)
        .args(["--actor", actor, "--action", action, "--tenant", "acme"])
        .output()
        .expect("runs auditlog append");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("a JSON receipt");
    receipt["seq"].as_u64().expect("seq")
}

/// Starts the server and waits until the alert evaluator has read every record committed
/// at its start.
pub fn start_and_catch_up(dir: &Path, rules: &Path) -> (Server, String) {
    let server = Server::start(dir, &["--alerts", rules.to_str().unwrap()]);
    let size = server.tree_size();
    let text = wait_metric(&server, "auditlog_alert_evaluated_seq", size);
    (server, text)
}

pub fn logged_alerts(server: &Server, auditor: &str) -> Vec<Value> {
    let page = server
        .get("/v1/events?action=alert.triggered", auditor)
        .json();
    page["records"].as_array().expect("records").clone()
}
