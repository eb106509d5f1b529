//! The writer's two shapes of issue 20: many producers appending one durable event each (a web
//! server), and one producer appending batches (an importer), plus the CPU one event costs its
//! producer (encoding and payload digest). Plain `main`, no criterion: each figure is one timed
//! run over a fixed number of events, printed with the latency percentiles criterion lacks.
//!
//! ```text
//! cargo bench -p auditlog --bench writer                   # everything
//! cargo bench -p auditlog --bench writer -- producers      # only the many-producer run
//! WRITER_PRODUCERS=64 WRITER_EVENTS=200000 cargo bench -p auditlog --bench writer -- producers
//! WRITER_INDEX_ON_SEAL=0 cargo bench -p auditlog --bench writer -- os_buffered   # no index files
//! ```
//! Groups: `producers`, `batched` (or one durability of it: `os_buffered`, `immediate`), `cpu`.
//! Logs live in temporary directories on the real disk.

use auditlog::{AuditLog, Durability, Event, EventLimits, Timestamp};
use auditlog_format::event::codec::{encode_payload, encode_payload_into};
use auditlog_format::merkle::payload_digest;
use auditlog_format::sample::SampleEvents;
use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// Encoded size of the events, as in the comparison harness.
const EVENT_BYTES: usize = 500;
/// Distinct events cycled through.
const DISTINCT: usize = 4000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |g: &str| only.is_empty() || only.iter().any(|o| o == g);
    let events = sized_events(DISTINCT, EVENT_BYTES);
    if wanted("cpu") {
        cpu(&events);
    }
    if wanted("producers") {
        let producers = env("WRITER_PRODUCERS", 64);
        producers_run(&events, producers, env("WRITER_EVENTS", 200_000));
    }
    // `batched` runs both durabilities; `os_buffered` or `immediate` one of them (to profile
    // each on its own).
    let n = env("WRITER_EVENTS", 2_000_000);
    if wanted("batched") || wanted("os_buffered") {
        batched(&events, "os_buffered", Durability::OsBuffered, n);
    }
    if wanted("batched") || wanted("immediate") {
        batched(&events, "immediate", Durability::Immediate, n);
    }
}

/// `n` events of `SampleEvents` padded with a metadata field to about `target` encoded bytes
/// (as the root package's benches/common does).
fn sized_events(n: usize, target: usize) -> Vec<Event> {
    let generator = SampleEvents::new(42);
    let limits = EventLimits::default();
    (0..n as u64)
        .map(|i| {
            let event = generator.event(i, Timestamp::from_unix_secs(1_800_000_000));
            let len = encode_payload(&event, &limits).map_or(0, |p| p.len());
            if len + 16 < target {
                event.metadata("pad", "x".repeat(target - len - 12))
            } else {
                event
            }
        })
        .collect()
}

/// A temporary directory on the disk (never tmpfs: fdatasync must cost what it costs).
fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("auditlog-bench-")
        .tempdir_in(std::env::temp_dir())
        .unwrap_or_else(|e| panic!("creating a temporary directory: {e}"))
}

/// Producer-side CPU per event: validation + encoding, then the payload digest.
fn cpu(events: &[Event]) {
    let limits = EventLimits::default();
    let rounds = 100;
    let mut buf = Vec::with_capacity(1024);
    let mut total_len = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        for e in events {
            buf.clear();
            encode_payload_into(e, &limits, &mut buf).unwrap_or_else(|e| panic!("{e}"));
            total_len += buf.len();
        }
    }
    let encode = start.elapsed();
    let n = rounds * events.len();
    let payloads: Vec<Vec<u8>> = events
        .iter()
        .map(|e| {
            let mut b = Vec::new();
            encode_payload_into(e, &limits, &mut b).unwrap_or_else(|e| panic!("{e}"));
            b
        })
        .collect();
    let start = Instant::now();
    let mut x = 0u8;
    for _ in 0..rounds {
        for p in &payloads {
            x ^= payload_digest(p)[0];
        }
    }
    let digest = start.elapsed();
    std::hint::black_box(x);
    println!(
        "cpu: encode {:.0} ns/event, payload digest {:.0} ns/event (avg payload {} B, {n} events)",
        encode.as_nanos() as f64 / n as f64,
        digest.as_nanos() as f64 / n as f64,
        total_len / n,
    );
}

/// `producers` threads, each appending one event and waiting for its receipt, `Immediate`.
fn producers_run(events: &[Event], producers: usize, total: usize) {
    let dir = temp_dir();
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .open()
        .unwrap_or_else(|e| panic!("{e}"));
    // Warm up: the first write into a segment preallocates it.
    log.append(&events[0])
        .and_then(|h| h.wait())
        .unwrap_or_else(|e| panic!("{e}"));
    let per = total / producers;
    let start = Instant::now();
    let results: Vec<(Vec<u64>, Vec<u64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..producers)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(per);
                    let mut sizes = Vec::with_capacity(per);
                    for k in 0..per {
                        let e = &events[(t * 7919 + k) % events.len()];
                        let t0 = Instant::now();
                        let r = log
                            .append(e)
                            .and_then(|h| h.wait())
                            .unwrap_or_else(|e| panic!("append: {e}"));
                        lat.push(t0.elapsed().as_nanos() as u64);
                        sizes.push(r.tree_size);
                    }
                    (lat, sizes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("producer panicked")))
            .collect()
    });
    let elapsed = start.elapsed();
    let mut lat: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let groups: BTreeSet<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
    lat.sort_unstable();
    let n = lat.len();
    let pct = |p: f64| Duration::from_nanos(lat[((n as f64 * p) as usize).min(n - 1)]);
    println!(
        "producers: {producers} threads x 1 event, immediate: {:.0} events/s, p50 {:?}, p99 {:?}, \
         max {:?}, {:.1} events per group ({n} events in {elapsed:.2?})",
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        Duration::from_nanos(lat[n - 1]),
        n as f64 / groups.len() as f64,
    );
    log.close().unwrap_or_else(|e| panic!("{e}"));
}

/// One producer, batches of 1,000 events, 8 batches in flight.
fn batched(events: &[Event], label: &str, durability: Durability, total: usize) {
    const BATCH: usize = 1000;
    const IN_FLIGHT: usize = 8;
    let dir = temp_dir();
    // WRITER_INDEX_ON_SEAL=0: no index file built per sealed segment (a 64 MiB segment rolls
    // every ~120k events here), to see what that background work costs the appends.
    let log = AuditLog::builder(dir.path())
        .durability(durability)
        .index_on_seal(env("WRITER_INDEX_ON_SEAL", 1) != 0)
        .open()
        .unwrap_or_else(|e| panic!("{e}"));
    let batches: Vec<&[Event]> = events.chunks(BATCH).collect();
    let rounds = total / BATCH;
    let mut pending = VecDeque::new();
    let start = Instant::now();
    for i in 0..rounds {
        if pending.len() == IN_FLIGHT
            && let Some(h) = pending.pop_front()
        {
            let h: auditlog::BatchHandle = h;
            h.wait().unwrap_or_else(|e| panic!("batch: {e}"));
        }
        let batch = batches[i % batches.len()];
        pending.push_back(log.append_batch(batch).unwrap_or_else(|e| panic!("{e}")));
    }
    for h in pending {
        h.wait().unwrap_or_else(|e| panic!("batch: {e}"));
    }
    let elapsed = start.elapsed();
    let n = rounds * BATCH;
    println!(
        "batched: {label}, batches of {BATCH}, {IN_FLIGHT} in flight: {:.0} events/s ({n} events \
         in {elapsed:.2?})",
        n as f64 / elapsed.as_secs_f64()
    );
    log.close().unwrap_or_else(|e| panic!("{e}"));
}
