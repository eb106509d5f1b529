//! Running the real `auditlog serve` for tests: start it on an ephemeral 127.0.0.1 port
//! (read from its start line), make tokens with the real CLI, and talk HTTP/1.1 to it with a
//! small client over `TcpStream` (one request per connection, chunked bodies decoded).

#![allow(dead_code, reason = "each test file uses part of the support")]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_auditlog");

/// A running server process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    /// Everything it wrote on stderr so far.
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `auditlog serve --dir DIR --listen 127.0.0.1:0 EXTRA...` and waits for its
    /// start line.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--dir"])
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts auditlog serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
        let log = Arc::new(Mutex::new(String::new()));
        let mut first = String::new();
        loop {
            first.clear();
            let n = lines.read_line(&mut first).expect("reads stderr");
            assert!(
                n > 0,
                "the server exited before its start line: {}",
                log.lock().unwrap()
            );
            log.lock().unwrap().push_str(&first);
            if first.contains("auditlog serve: started") {
                break;
            }
        }
        let addr = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix("listen=http://"))
            .expect("the start line names the address")
            .parse()
            .expect("an address");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Server {
            child,
            addr,
            dir: dir.to_path_buf(),
            log,
        }
    }

    /// Sends SIGTERM and waits for the process; returns its stderr and whether it exited 0.
    pub fn stop(mut self) -> (String, bool) {
        signal(self.child.id(), "TERM");
        let status = self.child.wait().expect("waits");
        // The stderr thread may still be copying the last line.
        for _ in 0..100 {
            if self.log.lock().unwrap().contains("auditlog serve: stopped") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = self.log.lock().unwrap().clone();
        (log, status.success())
    }

    pub fn kill9(mut self) {
        self.child.kill().expect("kills");
        self.child.wait().expect("waits");
    }

    pub fn get(&self, path: &str, token: &str) -> Response {
        request(self.addr, "GET", path, &auth(token), b"")
    }

    pub fn post(&self, path: &str, token: &str, content_type: &str, body: &[u8]) -> Response {
        let mut headers = auth(token);
        headers.push(("Content-Type".into(), content_type.into()));
        request(self.addr, "POST", path, &headers, body)
    }

    /// The tree size the server reports (no token needed).
    pub fn tree_size(&self) -> u64 {
        let r = request(self.addr, "GET", "/readyz", &[], b"");
        r.json()["tree_size"].as_u64().expect("tree_size")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("runs kill")
        .success();
    assert!(ok, "kill -{name} {pid}");
}

fn auth(token: &str) -> Vec<(String, String)> {
    match token {
        "" => vec![],
        t => vec![("Authorization".into(), format!("Bearer {t}"))],
    }
}

/// `auditlog token add --dir DIR --role ROLE [--tenant T]...`: the secret (first line).
pub fn token(dir: &Path, role: &str, tenants: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["token", "add", "--dir"])
        .arg(dir)
        .args(["--role", role]);
    for t in tenants {
        cmd.args(["--tenant", t]);
    }
    let out = cmd.output().expect("runs token add");
    assert!(
        out.status.success(),
        "token add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines().next().expect("a first line").to_string()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// Asserts a problem+json answer of this status and kind; returns the document.
    pub fn problem(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        let doc = self.json();
        assert_eq!(doc["type"], format!("urn:auditlog:problem:{kind}"), "{doc}");
        assert_eq!(doc["status"], status, "{doc}");
        assert!(
            doc["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{doc}"
        );
        doc
    }
}

/// Writes one request (Connection: close).
pub fn send_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connects");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("writes the head");
    stream.write_all(body).expect("writes the body");
    stream
}

/// One request, its whole answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Response {
    let mut stream = send_request(addr, method, path, headers, body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reads the answer");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = match chunked {
        true => Dechunker::default().feed(rest),
        false => rest.to_vec(),
    };
    Response {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body fed in pieces.
#[derive(Default)]
pub struct Dechunker {
    pending: Vec<u8>,
}

impl Dechunker {
    /// Feeds raw bytes; returns the body bytes they complete.
    pub fn feed(&mut self, raw: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(raw);
        let mut out = Vec::new();
        loop {
            let Some(eol) = self.pending.windows(2).position(|w| w == b"\r\n") else {
                return out;
            };
            let size_text = String::from_utf8_lossy(&self.pending[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or(0);
            if self.pending.len() < eol + 2 + size + 2 {
                return out;
            }
            out.extend_from_slice(&self.pending[eol + 2..eol + 2 + size]);
            self.pending.drain(..eol + 2 + size + 2);
            if size == 0 {
                return out;
            }
        }
    }
}

/// An open SSE stream: `next` returns (id, data) of each event.
pub struct Sse {
    stream: TcpStream,
    dechunk: Dechunker,
    text: String,
}

impl Sse {
    pub fn open(addr: SocketAddr, path: &str, token: &str, last_id: Option<u64>) -> Sse {
        let mut headers = auth(token);
        headers.push(("Accept".into(), "text/event-stream".into()));
        if let Some(id) = last_id {
            headers.push(("Last-Event-ID".into(), id.to_string()));
        }
        let mut stream = send_request(addr, "GET", path, &headers, b"");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("sets a timeout");
        // Read the head byte by byte, so nothing of the body is lost.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("reads the head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        Sse {
            stream,
            dechunk: Dechunker::default(),
            text: String::new(),
        }
    }

    /// The next event (id, parsed data), skipping comments; `None` if the stream ended.
    pub fn next(&mut self) -> Option<(u64, Value)> {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = serde_json::from_str(v.trim()).ok();
                    }
                }
                if let (Some(id), Some(data)) = (id, data) {
                    return Some((id, data));
                }
                continue;
            }
            let mut buf = [0u8; 8192];
            let n = self.stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let body = self.dechunk.feed(&buf[..n]);
            self.text.push_str(&String::from_utf8_lossy(&body));
        }
    }
}

/// A small valid event as JSON.
pub fn event(actor: &str, action: &str, tenant: Option<&str>) -> Value {
    let mut e = serde_json::json!({"actor": {"id": actor}, "action": action});
    if let Some(t) = tenant {
        e["tenant"] = t.into();
    }
    e
}

/// The value of the Prometheus line `NAME VALUE` in `text` (a `/metrics` answer).
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .parse()
        .expect("a number")
}
