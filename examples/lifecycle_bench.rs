//! Cold-segment measurements: compression ratio and speed, and random single-record read
//! latency from cold segments, on synthetic events and on the real Windows security events.
//!
//! `cargo run --release --example lifecycle_bench` (results: docs/BENCHMARKS.md, "Cold segments").
//! Environment: `BENCH_EVENTS` (synthetic events, default 200000), `BENCH_READS` (default
//! 20000), `WINDOWS_EVENTS` (path of windows-security-events.jsonl.zst, default
//! ../shared/data/…).

use auditlog::lifecycle::CompactOptions;
use auditlog::lifecycle::cold::CompressOptions;
use auditlog::{AuditLog, Durability, Event, Timestamp};
use auditlog_format::sample::SampleEvents;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn builder(dir: &Path) -> auditlog::AuditLogBuilder {
    AuditLog::builder(dir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(64 * 1024 * 1024)
        .max_event_bytes(1024 * 1024)
}

fn write_log(dir: &Path, events: &[Event]) {
    let log = builder(dir).open().expect("open");
    for chunk in events.chunks(1000) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("ack");
    }
    log.seal().expect("seal");
    log.close().expect("close");
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir") {
        let e = e.expect("entry");
        if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), dst.join(e.file_name())).expect("copy");
        }
    }
}

fn windows_events(path: &Path) -> Option<(Vec<Event>, u64)> {
    let compressed = std::fs::read(path).ok()?;
    let text = zstd::stream::decode_all(&compressed[..]).ok()?;
    let mut events = Vec::new();
    let mut raw = 0u64;
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice(line) else {
            continue;
        };
        raw += line.len() as u64 + 1;
        let text_of = |k: &str| {
            obj.get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let actor = text_of("SubjectUserName")
            .or_else(|| text_of("TargetUserName"))
            .unwrap_or("unknown")
            .to_string();
        let action = obj
            .get("EventID")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut event = Event::new(actor, action);
        for (k, v) in obj {
            event = event.metadata(k, v);
        }
        events.push(event);
    }
    Some((events, raw))
}

struct Config {
    name: &'static str,
    options: CompressOptions,
}

fn configs() -> Vec<Config> {
    let base = CompressOptions::default();
    let with = |level, frame_bytes, dictionary| CompressOptions {
        level,
        frame_bytes,
        dictionary,
        ..base.clone()
    };
    vec![
        Config {
            name: "level 3, 32 KiB frames",
            options: with(3, 32 * 1024, false),
        },
        Config {
            name: "level 9, 32 KiB frames (default)",
            options: with(9, 32 * 1024, false),
        },
        Config {
            name: "level 9, 16 KiB frames + dictionary",
            options: with(9, 16 * 1024, true),
        },
        Config {
            name: "level 9, 64 KiB frames",
            options: with(9, 64 * 1024, false),
        },
        Config {
            name: "level 19, 64 KiB frames",
            options: with(19, 64 * 1024, false),
        },
    ]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

/// Random `get`s over the whole log: (p50, p99) in microseconds.
fn read_latency(dir: &Path, reads: u64) -> (f64, f64) {
    let log = auditlog::ReadOnlyLog::open(dir).expect("open");
    let n = log.end_seq();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..reads.min(2000) {
        log.get(next()).expect("warm-up get");
    }
    let mut samples = Vec::with_capacity(reads as usize);
    for _ in 0..reads {
        let seq = next();
        let t = Instant::now();
        let r = log.get(seq).expect("get");
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(r.seq, seq);
    }
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn files_size(dir: &Path, ext: &str) -> u64 {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn run(label: &str, hot_dir: &Path, work: &Path, raw_json: Option<u64>, reads: u64) {
    let hot = files_size(hot_dir, "seg");
    let (p50, p99) = read_latency(hot_dir, reads);
    println!("\n## {label}\n");
    println!(
        "hot .seg files (incl. the 64 MiB preallocated, empty active segment): {:.1} MB; random get from hot segments: p50 {p50:.1} µs, p99 {p99:.1} µs",
        hot as f64 / 1e6
    );
    if let Some(raw) = raw_json {
        println!("raw JSON: {:.1} MB", raw as f64 / 1e6);
    }
    println!(
        "\n| config | cold MB | ratio vs hot | ratio vs raw JSON | compress MB/s (hot) | get p50 µs | get p99 µs |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (i, c) in configs().iter().enumerate() {
        let dir = work.join(format!("{label}-{i}").replace(' ', "_"));
        copy_dir(hot_dir, &dir);
        let log = builder(&dir).open().expect("open");
        let t = Instant::now();
        let report = log
            .compact(&CompactOptions {
                compress: c.options.clone(),
                ..CompactOptions::default()
            })
            .expect("compact");
        let secs = t.elapsed().as_secs_f64();
        log.close().expect("close");
        let cold = files_size(&dir, "zseg");
        let (p50, p99) = read_latency(&dir, reads);
        let vs_raw = raw_json.map_or("-".to_string(), |r| {
            format!("{:.1}x", r as f64 / cold as f64)
        });
        println!(
            "| {} | {:.2} | {:.1}x | {vs_raw} | {:.0} | {p50:.1} | {p99:.1} |",
            c.name,
            cold as f64 / 1e6,
            report.hot_bytes as f64 / cold as f64,
            report.hot_bytes as f64 / 1e6 / secs,
        );
    }
}

fn main() {
    let events = env_u64("BENCH_EVENTS", 200_000);
    let reads = env_u64("BENCH_READS", 20_000);
    let work = tempfile_dir();
    let synthetic = work.join("synthetic");
    let generator = SampleEvents::new(42);
    let base = Timestamp::from_nanos(1_700_000_000_000_000_000);
    let evs: Vec<Event> = (0..events).map(|i| generator.event(i, base)).collect();
    write_log(&synthetic, &evs);
    run(
        &format!("synthetic ({events} SampleEvents)"),
        &synthetic,
        &work,
        None,
        reads,
    );

    let path = std::env::var("WINDOWS_EVENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/data/windows-security-events.jsonl.zst"));
    match windows_events(&path) {
        Some((evs, raw)) => {
            let dir = work.join("windows");
            write_log(&dir, &evs);
            run(
                &format!("Windows security events ({})", evs.len()),
                &dir,
                &work,
                Some(raw),
                reads,
            );
        }
        None => println!(
            "\n(skipped the Windows events: {} not readable)",
            path.display()
        ),
    }
    let _ = std::fs::remove_dir_all(&work);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lifecycle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}
