//! Helpers shared by the integration tests.
#![allow(dead_code)]

use auditlog::{AuditLog, AuditLogBuilder, Durability, Event, Record, Severity};
use std::path::{Path, PathBuf};

/// A deterministic, realistic event number `i`.
pub fn event(i: u64) -> Event {
    let severities = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    Event::new(
        format!("user:{}", i % 97),
        ["order.update", "LOGIN_FAILED", "user.create"][(i % 3) as usize],
    )
    .entity("order", format!("{}", i % 1013))
    .severity(severities[(i % 5) as usize])
}

/// A builder with small segments so tests cross segment boundaries.
pub fn small_segments(dir: &Path) -> AuditLogBuilder {
    AuditLog::builder(dir)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::Immediate)
}

/// Appends events `from..to` and waits for them.
pub fn append_range(log: &AuditLog, from: u64, to: u64) {
    let events: Vec<Event> = (from..to).map(event).collect();
    for chunk in events.chunks(500) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("ack");
    }
}

/// All records, read forward.
pub fn read_all(log: &AuditLog) -> Vec<Record> {
    log.iter(..)
        .collect::<Result<Vec<_>, _>>()
        .expect("read all")
}

/// Asserts that `records` are exactly events `0..n` in order.
pub fn assert_events(records: &[Record], n: u64) {
    assert_eq!(records.len() as u64, n, "record count");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.event, event(i as u64), "event {i}");
    }
}

/// Copies every file of a log directory (not the lock) into a new temporary directory.
pub fn copy_log(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dst = tmp.path().join("log");
    std::fs::create_dir(&dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dst.join(entry.file_name())).expect("copy");
    }
    (tmp, dst)
}

/// Segment files of a log directory, oldest first.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}
