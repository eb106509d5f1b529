//! Verify throughput: builds (once) a log of realistic events and times `verify` over it.
//!
//! `cargo run --release --example verify_bench -- [DIR] [GIB]` (defaults: a directory under
//! the system temp dir, 1.5 GiB). Prints MB/s and events/s for 1 and 2 threads, with and
//! without payload decoding; the log is kept for reruns. `VERIFY_BENCH_RUNS` picks runs, for
//! example `2d,2n` (threads, then `d` to decode payloads or `n` not to); default all four.
//! Each run also prints the CPU time it used (MB per CPU-second is the figure least moved by
//! other load on a shared machine). `VERIFY_BENCH_SEGMENT_BYTES` sets the segment size when the log is built (default 64 MiB;
//! for example 4000000000 for a log that is one big segment).

use auditlog::verify::{VerifyOptions, verify};
use auditlog::{AuditLog, Durability, Timestamp};
use auditlog_format::sample::SampleEvents;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), auditlog::Error> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("auditlog-verify-bench"));
    let gib: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.5);
    let target = (gib * (1u64 << 30) as f64) as u64;
    if !dir.join("auditlog.meta").exists() {
        let segment_bytes = std::env::var("VERIFY_BENCH_SEGMENT_BYTES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(64 << 20);
        let log = AuditLog::builder(&dir)
            .durability(Durability::OsBuffered)
            .segment_max_bytes(segment_bytes)
            .preallocate(false) // so that the size check below counts records, not reservations
            .open()?;
        let sample = SampleEvents::new(1);
        let base = Timestamp::now();
        let started = Instant::now();
        let mut i = 0u64;
        let mut bytes = 0u64;
        while bytes < target {
            let batch: Vec<_> = (i..i + 1000).map(|j| sample.event(j, base)).collect();
            log.append_batch(&batch)?.wait()?;
            i += 1000;
            if i.is_multiple_of(100_000) {
                bytes = dir_bytes(&dir);
            }
        }
        log.seal()?;
        log.close()?;
        eprintln!(
            "built {i} events in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let bytes = dir_bytes(&dir);
    let runs = std::env::var("VERIFY_BENCH_RUNS").unwrap_or_else(|_| "1d,2d,1n,2n".into());
    let runs = runs.split(',').filter_map(|run| {
        let (threads, mode) = run.split_at(run.len().saturating_sub(1));
        Some((threads.parse::<usize>().ok()?, mode == "d"))
    });
    for (threads, decode) in runs {
        let options = VerifyOptions {
            threads,
            decode_payloads: decode,
            ..VerifyOptions::default()
        };
        let started = Instant::now();
        let cpu_before = cpu_seconds();
        let report = verify(&dir, &options)?;
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        assert!(report.ok, "{report}");
        println!(
            "threads={threads} decode={decode}: {} records, {:.0} MB in {secs:.2} s: {:.0} MB/s, {:.0} events/s; CPU {}",
            report.records,
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs,
            report.records as f64 / secs,
            cpu.map_or("unknown".into(), |c| format!(
                "{c:.2} s ({:.0} MB per CPU-second)",
                bytes as f64 / 1e6 / c
            )),
        );
    }
    Ok(())
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux; clock
/// ticks of 1/100 s). Under a shared machine's load, wall time measures the load as much as
/// the code; CPU time per byte much less so.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Bytes of segment files (sealed segments hold no preallocated space).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
