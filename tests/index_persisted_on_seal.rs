//! Every writer persists a sealed segment's index file: the CLI's writing commands (`append`,
//! `import`, `seal`) leave one beside every sealed segment, equal to the index `reindex`
//! rebuilds and accepted by `verify`, while read-only commands write nothing; a library writer
//! whose segments roll by size writes them in the background without waiting for `seal()` or
//! `close()`; and an index write that fails neither fails nor loses an append.

mod common;

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::query::Query;
use auditlog::verify::{VerifyOptions, verify};
use auditlog::{AuditLog, ReadOnlyLog};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    c.env_remove("AUDITLOG_DIR");
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn run(args: &[&str]) -> String {
    ok(bin().args(args).output().expect("the binary runs"))
}

/// `auditlog import --dir DIR -` of events `from..to` (our own event JSON).
fn import(dir: &Path, from: u64, to: u64) {
    let lines: String = (from..to)
        .map(|i| serde_json::to_string(&common::event(i)).expect("json") + "\n")
        .collect();
    let mut child = bin()
        .args(["import", "--dir", &dir.display().to_string(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(lines.as_bytes())
        .expect("writes stdin");
    ok(child.wait_with_output().expect("runs"));
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// The index file each sealed segment of the log in `dir` should have.
fn expected_index_files(dir: &Path) -> Vec<PathBuf> {
    let log = ReadOnlyLog::open(dir).expect("opens read-only");
    let segments = files_with(dir, "seg");
    assert_eq!(log.open_report().segments, segments.len());
    // Every segment but the newest (the active one) is sealed.
    segments[..segments.len() - 1]
        .iter()
        .map(|s| s.with_extension("idx"))
        .collect()
}

/// Every file of `dir` with its length and modification time.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            let m = e.metadata().expect("metadata");
            (e.path(), (m.len(), m.modified().expect("mtime")))
        })
        .collect()
}

#[test]
fn cli_writers_leave_an_index_file_beside_every_sealed_segment_equal_to_the_rebuilt_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let d = dir.display().to_string();
    import(&dir, 0, 300);
    run(&["seal", "--dir", &d]);
    run(&[
        "append", "--dir", &d, "--actor", "user:5", "--action", "LOGIN",
    ]);
    run(&["seal", "--dir", &d]);
    import(&dir, 300, 700);
    run(&["seal", "--dir", &d]);
    import(&dir, 700, 750); // left in the active segment

    let expected = expected_index_files(&dir);
    assert_eq!(expected.len(), 3, "three seals, three sealed segments");
    assert_eq!(
        files_with(&dir, "idx"),
        expected,
        "one index per sealed segment"
    );
    let verified = bin()
        .args(["verify", &d])
        .output()
        .expect("the binary runs");
    ok(verified);

    // The files equal, byte for byte, what `reindex` rebuilds from the segments.
    let (copy, copy_dir) = common::copy_log(&dir);
    for file in files_with(&copy_dir, "idx") {
        std::fs::remove_file(file).expect("remove the copied index");
    }
    let rebuilt = run(&["reindex", "--dir", &copy_dir.display().to_string()]);
    assert!(rebuilt.starts_with("rebuilt 3 index file(s)"), "{rebuilt}");
    for file in &expected {
        let name = file.file_name().expect("name");
        assert_eq!(
            std::fs::read(file).expect("written by the writer"),
            std::fs::read(copy_dir.join(name)).expect("rebuilt"),
            "{}",
            file.display()
        );
    }
    drop(copy);

    // Read-only commands use the files and write nothing.
    let before = listing(&dir);
    let count = run(&["query", "--dir", &d, "--actor", "user:5", "--count"]);
    let brute = (0..750).filter(|i| i % 97 == 5).count() + 1;
    assert_eq!(count.trim(), brute.to_string());
    run(&["stats", "--dir", &d]);
    run(&["export", "--dir", &d, "--actor", "user:6"]);
    assert_eq!(
        listing(&dir),
        before,
        "a read-only command changed the directory"
    );
}

/// A service that appends and never seals nor closes still gets the index files of the
/// segments its writer rolled, so a read-only process beside it maps them.
#[test]
fn segments_rolled_by_size_get_their_index_file_without_seal_or_close() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let log = common::small_segments(dir).open().expect("open");
    common::append_range(&log, 0, 3000);
    let sealed = files_with(dir, "seg").len() - 1;
    assert!(sealed >= 3, "the appends rolled segments: {sealed}");
    // Written by background threads: wait for them (a deadline, not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(120);
    while files_with(dir, "idx").len() < sealed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        files_with(dir, "idx").len(),
        sealed,
        "an index per rolled segment"
    );
    let reader = ReadOnlyLog::open(dir).expect("read-only beside the writer");
    let q = Query::new().actor("user:5");
    let brute = (0..3000).filter(|i| i % 97 == 5).count() as u64;
    assert_eq!(reader.count(&q).expect("count"), brute);
    drop(reader);
    log.close().expect("close");
    let report = verify(dir, &VerifyOptions::default()).expect("verify runs");
    assert!(report.ok, "{report}");
    assert_eq!(files_with(dir, "idx").len(), sealed);
}

/// Fails every creation of an index file's temporary file, and counts them.
#[derive(Debug, Default)]
struct NoIndexFiles {
    refused: AtomicU64,
}

impl FileSystem for NoIndexFiles {
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> std::io::Result<Box<dyn WritableFile>> {
        if path.to_string_lossy().ends_with(".idx.tmp") {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(std::io::Error::other("injected: no space for index files"));
        }
        StdFileSystem.create_new(path)
    }
    fn open_writable(&self, path: &Path) -> std::io::Result<Box<dyn WritableFile>> {
        StdFileSystem.open_writable(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        StdFileSystem.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        StdFileSystem.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        StdFileSystem.sync_dir(dir)
    }
}

/// Index writes that fail (here, all of them, while segments roll under the appends) fail no
/// append, poison nothing and lose nothing; the indexes are rebuilt by the next reader.
#[test]
fn failing_index_writes_lose_and_fail_no_append() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let fs = Arc::new(NoIndexFiles::default());
    let log = common::small_segments(dir)
        .file_system(fs.clone())
        .open()
        .expect("open");
    for start in (0..3000).step_by(250) {
        common::append_range(&log, start, start + 250);
    }
    log.seal()
        .expect("the seal succeeds: its index is not its business");
    common::append_range(&log, 3000, 3100);
    let q = Query::new().actor("user:5");
    let brute = (0..3100).filter(|i| i % 97 == 5).count() as u64;
    assert_eq!(log.count(&q).expect("count from in-memory indexes"), brute);
    log.close().expect("close");
    let sealed = files_with(dir, "seg").len() - 1;
    assert!(sealed >= 3, "segments rolled: {sealed}");
    assert!(
        fs.refused.load(Ordering::SeqCst) >= sealed as u64,
        "each sealed segment's index write was attempted and failed"
    );
    assert!(files_with(dir, "idx").is_empty());
    assert!(files_with(dir, "tmp").is_empty(), "no temporary file left");

    let log = reopen_after_close(dir);
    common::assert_events(&common::read_all(&log), 3100);
    assert_eq!(log.count(&q).expect("count"), brute);
    log.close().expect("close");
    assert_eq!(
        files_with(dir, "idx").len(),
        sealed,
        "written once writes work"
    );
    let report = verify(dir, &VerifyOptions::default()).expect("verify runs");
    assert!(report.ok, "{report}");
}

/// Reopens a log this test just closed. Other tests in this binary start `auditlog`
/// processes; a child forked before its exec holds a copy of every descriptor, the lock's
/// included, until the exec closes it (O_CLOEXEC), so for that instant the closed log still
/// reads as locked. Only `Locked` is retried, a bounded number of times; any other error fails.
fn reopen_after_close(dir: &std::path::Path) -> AuditLog {
    for _ in 0..200 {
        match AuditLog::open(dir) {
            Err(auditlog::OpenError::Locked { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => return other.expect("reopen"),
        }
    }
    panic!("the log stayed locked after close")
}
