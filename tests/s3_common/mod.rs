//! The S3 fixture of the suites behind the `s3-tests` feature (tests/s3_archive.rs,
//! tests/s3_lifecycle.rs): the bucket that `.ci/test.d/30-s3` set up on its SeaweedFS, a fresh
//! prefix per test, the CLI run with its output, and a proxy that answers S3 errors.
#![allow(dead_code)]

use crate::common::{append_range, small_segments};
use auditlog_objstore::S3Url;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bucket the suite's server created; panics (fails the test) when no server is set up.
pub fn bucket() -> String {
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(
            std::env::var(var).is_ok(),
            "{var} is not set: these tests need the S3 server that .ci/test.d/30-s3 starts"
        );
    }
    std::env::var("AUDITLOG_S3_BUCKET")
        .expect("AUDITLOG_S3_BUCKET is not set: run these tests through .ci/test.d/30-s3")
}

/// A prefix no other test (or earlier run) uses.
pub fn fresh_prefix(name: &str) -> S3Url {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    S3Url {
        bucket: bucket(),
        prefix: format!(
            "t/{name}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

/// [`fresh_prefix`] as an `s3://` URL.
pub fn fresh_url(name: &str) -> String {
    fresh_prefix(name).to_string()
}

/// The `auditlog` binary run in `cwd`.
pub fn auditlog(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A command's exit status and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `o`, after checking that it succeeded.
pub fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// The `seq` of each JSON line printed.
pub fn seqs(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// [`seqs`], after checking that the command succeeded.
pub fn seqs_of(out: &Output) -> Vec<u64> {
    assert!(out.status.success(), "{}", text(out));
    seqs(out)
}

/// A log with sealed segments of `n` records and 10 more in the active one.
pub fn log_with_segments(dir: &Path, n: u64) {
    let log = small_segments(dir).open().unwrap();
    append_range(&log, 0, n);
    log.seal().unwrap();
    append_range(&log, n, n + 10);
    log.close().unwrap();
}

/// A TCP proxy on 127.0.0.1 in front of the S3 server. Each request is forwarded unless
/// `fail(n)` (n counts requests from 0) says to answer it with a 503 instead.
pub struct Proxy {
    pub addr: String,
    pub requests: Arc<AtomicUsize>,
}

pub fn proxy(fail: impl Fn(usize) -> bool + Send + Sync + 'static) -> Proxy {
    proxy_with(move |n| fail(n).then_some((503, "ServiceUnavailable")))
}

/// The same, answering request `n` with the S3 error `answer(n)` = (status, code) when it is
/// `Some`, else forwarding it. `answer` may block (a request held until the test lets it go).
pub fn proxy_with(
    answer: impl Fn(usize) -> Option<(u16, &'static str)> + Send + Sync + 'static,
) -> Proxy {
    let upstream = std::env::var("AWS_ENDPOINT_URL")
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let fail = Arc::new(answer);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let (upstream, counter, fail) =
                (upstream.clone(), Arc::clone(&counter), Arc::clone(&fail));
            std::thread::spawn(move || serve(client, &upstream, &counter, fail.as_ref()));
        }
    });
    Proxy { addr, requests }
}

/// Reads one HTTP/1.1 request (head and Content-Length body) from `s`.
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    Some(buf)
}

/// One request per connection: forwarded with `Connection: close`, or refused with a 503.
fn serve(
    mut client: TcpStream,
    upstream: &str,
    counter: &AtomicUsize,
    fail: &(dyn Fn(usize) -> Option<(u16, &'static str)> + Send + Sync),
) {
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    if let Some((status, code)) = fail(n) {
        let body = format!("<Error><Code>{code}</Code><Message>{code}</Message></Error>");
        let _ = write!(
            client,
            "HTTP/1.1 {status} {code}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    // Close after this request, so each connection carries one and the response ends at EOF.
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head: String = String::from_utf8_lossy(&request[..head_end])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let _ = up.write_all(head.as_bytes());
    let _ = up.write_all(b"Connection: close\r\n\r\n");
    let _ = up.write_all(&request[head_end + 4..]);
    let mut response = Vec::new();
    let _ = up.read_to_end(&mut response);
    let _ = client.write_all(&response);
}
