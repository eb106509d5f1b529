//! Resident memory of a writer under sustained overload (issue 20, item 4): producers append
//! faster than the disk takes the records, for a few seconds, and the process's resident set
//! is sampled. Not a criterion bench: it prints one table.
//!
//! ```text
//! cargo bench --bench memory                 # MEMORY_SECS=5 MEMORY_DISK_MBPS=20 by default
//! ```
//!
//! The disk is made slower than the producers on purpose: a file-system layer over the real
//! one sleeps in each fdatasync for as long as the bytes written since the previous one take at
//! `MEMORY_DISK_MBPS` MB/s (default 20 MB/s, ~40k events/s of ~500 bytes, against producers
//! that encode several hundred thousand a second). Each configuration runs in its own child
//! process (this binary, re-executed), so that one run's peak (`VmHWM`) is not another's:
//! the queue limit at its default (64 MiB) and at 8 MiB, each with 4 producers appending
//! batches of 100 and with 64 producers appending one event at a time, all with blocking
//! `append` (which waits for room in the queue) and `Durability::Immediate`.
//!
//! Per run: the resident set before the load (the log open, the events generated), its peak
//! during the load (`VmHWM`), the growth, and events/s actually written (the disk's rate).

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::{AuditLog, Durability, Event};
use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

/// Reads a `kB` field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// The real file system, with every fdatasync held for as long as the bytes written since
/// the previous one take at `bytes_per_sec`.
#[derive(Debug)]
struct SlowDisk {
    bytes_per_sec: f64,
}

#[derive(Debug)]
struct SlowFile {
    inner: Box<dyn WritableFile>,
    bytes_per_sec: f64,
    unsynced: u64,
}

impl FileSystem for SlowDisk {
    fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(p)
    }
    fn create_new(&self, p: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(SlowFile {
            inner: StdFileSystem.create_new(p)?,
            bytes_per_sec: self.bytes_per_sec,
            unsynced: 0,
        }))
    }
    fn open_writable(&self, p: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(SlowFile {
            inner: StdFileSystem.open_writable(p)?,
            bytes_per_sec: self.bytes_per_sec,
            unsynced: 0,
        }))
    }
    fn rename(&self, a: &Path, b: &Path) -> io::Result<()> {
        StdFileSystem.rename(a, b)
    }
    fn remove_file(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.remove_file(p)
    }
    fn sync_dir(&self, p: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(p)
    }
}

impl WritableFile for SlowFile {
    fn write_all_at(&mut self, b: &[u8], o: u64) -> io::Result<()> {
        self.unsynced += b.len() as u64;
        self.inner.write_all_at(b, o)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let hold = std::mem::take(&mut self.unsynced) as f64 / self.bytes_per_sec;
        std::thread::sleep(Duration::from_secs_f64(hold));
        self.inner.sync_data()
    }
    fn set_len(&mut self, l: u64) -> io::Result<()> {
        self.inner.set_len(l)
    }
    fn preallocate(&mut self, l: u64) -> io::Result<bool> {
        self.inner.preallocate(l)
    }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run, in this (child) process: prints one tab-separated line for the parent.
fn child(queue_mib: usize, producers: usize, batch: usize) {
    let secs = env_f64("MEMORY_SECS", 5.0);
    let mbps = env_f64("MEMORY_DISK_MBPS", 20.0);
    let events: Arc<Vec<Event>> = Arc::new(common::sized_events(20_000, 500));
    let tmp = common::temp_dir();
    let mut builder = AuditLog::builder(tmp.path().join("log"))
        .durability(Durability::Immediate)
        .file_system(Arc::new(SlowDisk {
            bytes_per_sec: mbps * 1e6,
        }));
    if queue_mib > 0 {
        builder = builder.queue_max_bytes(queue_mib << 20);
    }
    let log = Arc::new(builder.open().expect("open"));
    let before = status_bytes("VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let (log, events, stop, appended) =
                (log.clone(), events.clone(), stop.clone(), appended.clone());
            std::thread::spawn(move || {
                let mut i = p * batch;
                while !stop.load(Ordering::Relaxed) {
                    let at = i % (events.len() - batch);
                    if batch == 1 {
                        drop(log.append(&events[at]).expect("append"));
                    } else {
                        drop(log.append_batch(&events[at..at + batch]).expect("append"));
                    }
                    appended.fetch_add(batch as u64, Ordering::Relaxed);
                    i += batch * producers;
                }
            })
        })
        .collect();
    let mut peak_sampled = 0;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        std::thread::sleep(Duration::from_millis(20));
        peak_sampled = peak_sampled.max(status_bytes("VmRSS:"));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("producer");
    }
    let hwm = status_bytes("VmHWM:");
    let queued = appended.load(Ordering::Relaxed);
    let written = log.end_seq();
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{before}\t{hwm}\t{peak_sampled}\t{}\t{}",
        written as f64 / elapsed,
        queued.saturating_sub(written)
    );
    // Dropping the log would wait for the queue to drain at the slow disk's pace: remove the
    // directory and exit now (the records are of no use).
    let _ = std::fs::remove_dir_all(tmp.path());
    std::process::exit(0);
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / (1u64 << 20) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let n = |k: usize| args[at + k].parse::<usize>().expect("child argument");
        child(n(1), n(2), n(3));
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    println!(
        "| queue_max_bytes | producers × events per append | RSS before the load (MiB) | peak RSS, VmHWM (MiB) | growth (MiB) | growth − queue_max_bytes (MiB) | written events/s (the throttled disk) | appended, not yet written at the end |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for queue_mib in [64usize, 8] {
        for (producers, batch) in [(4usize, 100usize), (64, 1)] {
            let out = Command::new(&exe)
                .args(["--child", &queue_mib.to_string()])
                .args([producers.to_string(), batch.to_string()])
                .output()
                .expect("run the child");
            let line = String::from_utf8_lossy(&out.stdout);
            let f: Vec<f64> = line
                .trim()
                .split('\t')
                .filter_map(|v| v.parse().ok())
                .collect();
            if f.len() != 5 {
                println!(
                    "| {queue_mib} MiB | {producers} × {batch} | failed: {} |",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                continue;
            }
            let (before, hwm) = (f[0] as u64, f[1] as u64);
            let growth = hwm.saturating_sub(before);
            println!(
                "| {queue_mib} MiB{} | {producers} × {batch} | {} | {} | {} | {:+.1} | {:.0} | {:.0} |",
                if queue_mib == 64 { " (default)" } else { "" },
                mib(before),
                mib(hwm),
                mib(growth),
                growth as f64 / (1u64 << 20) as f64 - queue_mib as f64,
                f[3],
                f[4],
            );
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}
