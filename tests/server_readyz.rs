//! `/readyz` and `/metrics` when the log cannot take writes, driven in-process through a
//! fault-injecting file system (the server's own router on 127.0.0.1, real HTTP): a log
//! whose fdatasync failed is poisoned, and `/readyz` answers 503 `writer-poisoned`; a log
//! opened on a full disk has its writer deferred, and `/readyz` answers 503 `storage-full`
//! until space is back, then 200 without any write, and appends work again.

mod common;
mod server_support;

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::{AuditLog, Durability, Event};
use auditlog_server::AppState;
use auditlog_server::state::Limits;
use auditlog_server::tokens::TokenCache;
use common::{WrapFile, Wrapped};
use server_support::{Response, request};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Serves `log` as `auditlog serve` would, on an ephemeral 127.0.0.1 port.
async fn serve(log: Arc<AuditLog>) -> (AppState, SocketAddr) {
    let tokens = TokenCache::open(log.dir()).expect("token cache");
    let state = AppState::new(log, tokens, Limits::default(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(auditlog_server::serve::serve_http(listener, state.clone()));
    (state, addr)
}

async fn get(addr: SocketAddr, path: &'static str) -> Response {
    tokio::task::spawn_blocking(move || request(addr, "GET", path, &[], b""))
        .await
        .expect("the request ran")
}

fn gauge(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
        .to_string()
}

/// Every fdatasync fails with EIO once armed.
#[derive(Debug, Clone, Default)]
struct FailSyncs(Arc<AtomicBool>);

#[derive(Debug)]
struct FailingFile(Box<dyn WritableFile>, Arc<AtomicBool>);

impl WritableFile for FailingFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        match self.1.load(Ordering::SeqCst) {
            true => Err(io::Error::from_raw_os_error(libc::EIO)),
            false => self.0.sync_data(),
        }
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.0.preallocate(len)
    }
}

impl WrapFile for FailSyncs {
    fn wrap(&self, file: Box<dyn WritableFile>) -> Box<dyn WritableFile> {
        Box::new(FailingFile(file, self.0.clone()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_writer_makes_the_server_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let armed = FailSyncs::default();
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .file_system(Arc::new(Wrapped(armed.clone())))
        .open()
        .expect("opens");
    let (state, addr) = serve(Arc::new(log)).await;
    state
        .append(&[Event::new("a", "first")])
        .await
        .expect("acknowledged");
    let ready = get(addr, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["tree_size"], 1);
    assert_eq!(
        gauge(&get(addr, "/metrics").await.text(), "auditlog_writer_ok"),
        "1"
    );

    armed.0.store(true, Ordering::SeqCst);
    state
        .append(&[Event::new("a", "second")])
        .await
        .expect_err("the sync fails");
    let doc = get(addr, "/readyz").await.problem(503, "writer-poisoned");
    let detail = doc["detail"].as_str().expect("detail");
    assert!(detail.contains("Input/output error"), "{detail}");
    assert_eq!(
        gauge(&get(addr, "/metrics").await.text(), "auditlog_writer_ok"),
        "0"
    );
    // The health check itself wrote nothing and is still up.
    assert_eq!(get(addr, "/healthz").await.status, 200);
    state.begin_drain();
}

/// The real file system, except that creating a segment file fails with ENOSPC while full.
#[derive(Debug, Clone, Default)]
struct FullForSegments(Arc<AtomicBool>);

impl FileSystem for FullForSegments {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let segment = path.to_string_lossy().contains(".seg");
        match segment && self.0.load(Ordering::SeqCst) {
            true => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            false => StdFileSystem.create_new(path),
        }
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        StdFileSystem.open_writable(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFileSystem.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(dir)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_makes_the_server_not_ready_until_space_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = FullForSegments::default();
    full.0.store(true, Ordering::SeqCst);
    // A new log needs its first segment: on this disk the writer starts deferred.
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .file_system(Arc::new(full.clone()))
        .open()
        .expect("opens on a full disk");
    assert!(log.writer_deferred().is_some());
    let (state, addr) = serve(Arc::new(log)).await;
    for _ in 0..2 {
        let doc = get(addr, "/readyz").await.problem(503, "storage-full");
        let detail = doc["detail"].as_str().expect("detail");
        assert!(detail.contains("No space left on device"), "{detail}");
    }
    assert_eq!(
        gauge(
            &get(addr, "/metrics").await.text(),
            "auditlog_writer_storage_full"
        ),
        "1"
    );
    state
        .append(&[Event::new("a", "refused")])
        .await
        .expect_err("no room for the segment");

    // Space is back: the next health check starts the writer, with no write needed.
    full.0.store(false, Ordering::SeqCst);
    let ready = get(addr, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(state.log().writer_deferred().is_none());
    let receipts = state
        .append(&[Event::new("a", "accepted")])
        .await
        .expect("acknowledged");
    assert_eq!(receipts[0].seq, 0, "the refused append wrote nothing");
    state.begin_drain();
}
