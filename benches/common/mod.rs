//! Helpers shared by the criterion benches: events of a chosen encoded size, and logs in
//! temporary directories on the real disk (never tmpfs: fdatasync must cost what it costs).

#![allow(dead_code, reason = "each bench target uses a different subset")]

use auditlog::{AuditLog, Durability, Event, EventLimits, Timestamp};
use auditlog_format::event::codec::encode_payload;
use auditlog_format::sample::SampleEvents;
use std::path::Path;
use std::time::Duration;

/// The base time of generated events (fixed, so runs are comparable).
pub fn base_time() -> Timestamp {
    Timestamp::from_unix_secs(1_800_000_000)
}

/// Encoded payload size of `event`.
pub fn encoded_len(event: &Event) -> usize {
    encode_payload(event, &EventLimits::default()).map_or(0, |p| p.len())
}

/// `n` events whose encoded payload is about `target` bytes: the synthetic events of
/// [`SampleEvents`], trimmed to their core fields for small targets and padded with a metadata
/// field for large ones.
pub fn sized_events(n: usize, target: usize) -> Vec<Event> {
    let generator = SampleEvents::new(42);
    (0..n as u64)
        .map(|i| {
            let full = generator.event(i, base_time());
            let mut event = if target < 400 {
                let mut small = Event::new(full.actor.id.clone(), full.action.clone());
                small.occurred_at = full.occurred_at;
                small.entity = full.entity.clone();
                small.severity = full.severity;
                small.tenant = full.tenant.clone();
                small.request_id = full.request_id.clone();
                small
            } else {
                full
            };
            let len = encoded_len(&event);
            if len + 16 < target {
                event = event.metadata("pad", "x".repeat(target - len - 12));
            }
            event
        })
        .collect()
}

/// The durability modes benchmarked, with the labels used in bench ids.
pub fn durabilities() -> [(&'static str, Durability); 3] {
    [
        ("immediate", Durability::Immediate),
        (
            "periodic_100ms",
            Durability::Periodic(Duration::from_millis(100)),
        ),
        ("os_buffered", Durability::OsBuffered),
    ]
}

/// Opens a fresh log in `dir` with `durability`, panicking with the cause on failure (a
/// bench cannot do anything useful without its log).
pub fn open_log(dir: &Path, durability: Durability) -> AuditLog {
    AuditLog::builder(dir)
        .durability(durability)
        .open()
        .unwrap_or_else(|e| panic!("opening a bench log in {}: {e}", dir.display()))
}

/// A temporary directory on the disk the project lives on.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("auditlog-bench-")
        .tempdir_in(std::env::temp_dir())
        .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"))
}

/// Copies every regular file of `src` into `dst` (created): a crash image when `src` belongs
/// to a live writer, since a copy taken mid-run holds exactly the bytes a `kill -9` would
/// leave (the page cache survives a process crash), with no clean shutdown.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("creating {}: {e}", dst.display()));
    let entries =
        std::fs::read_dir(src).unwrap_or_else(|e| panic!("listing {}: {e}", src.display()));
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let to = dst.join(entry.file_name());
            std::fs::copy(entry.path(), &to)
                .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

/// Opens a fresh `OsBuffered` log in `dir` whose segments seal at `segment_max_bytes`, appends
/// the first `n` events of [`SampleEvents`] (seed 42) in batches of 1,000, and returns it open.
pub fn sample_log(dir: &Path, n: usize, segment_max_bytes: u64) -> AuditLog {
    let log = AuditLog::builder(dir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(segment_max_bytes)
        .open()
        .unwrap_or_else(|e| panic!("opening a bench log in {}: {e}", dir.display()));
    let generator = SampleEvents::new(42);
    let events: Vec<Event> = (0..n as u64)
        .map(|i| generator.event(i, base_time()))
        .collect();
    for chunk in events.chunks(1000) {
        let h = log.append_batch(chunk).unwrap_or_else(|e| panic!("{e}"));
        h.wait().unwrap_or_else(|e| panic!("{e}"));
    }
    log
}

/// Total bytes of the regular files in `dir` whose name ends with `suffix`.
pub fn bytes_of(dir: &Path, suffix: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
