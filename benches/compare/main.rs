//! Comparison harness: the same events stored by this engine, SQLite, RocksDB and a raw file,
//! side by side in one run, printed as a markdown table.
//!
//! ```text
//! ROCKSDB_LIB_DIR=/usr/lib/x86_64-linux-gnu SNAPPY_LIB_DIR=/usr/lib/x86_64-linux-gnu \
//!     cargo bench --features compare --bench compare
//! ```
//! Needs `apt-get install librocksdb-dev libsnappy-dev clang libclang-dev`. Environment:
//! `COMPARE_EVENTS` (batched rows, default 200000), `COMPARE_SINGLE_EVENTS` (one event per
//! commit, default 3000), `COMPARE_RUNS` (repetitions, each figure is the median, default 3),
//! `COMPARE_ONLY` (run only rows whose label contains this text), `COMPARE_OUT` (also write
//! the table to this file), `COMPARE_DIR` (where the databases go; default the temp dir, which
//! must be on a real disk, not tmpfs). See docs/BENCHMARKS.md.

mod measure;
mod ours;
mod raw;
mod rocks;
mod spec;
mod sqlite;
mod workload;

use auditlog::{Durability, Event};
use measure::Outcome;
use spec::Spec;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use workload::Workload;

#[derive(Clone, Copy)]
enum Engine {
    Ours(Durability),
    Sqlite(&'static str),
    Rocks { sync: bool },
    Raw,
}

impl Engine {
    fn label(self) -> String {
        match self {
            Engine::Ours(Durability::Immediate) => "auditlog Immediate".into(),
            Engine::Ours(Durability::Periodic(d)) => {
                format!("auditlog Periodic({} ms)", d.as_millis())
            }
            Engine::Ours(Durability::OsBuffered) => "auditlog OsBuffered".into(),
            Engine::Sqlite(sync) => format!("SQLite WAL synchronous={sync}"),
            Engine::Rocks { sync: true } => "RocksDB WAL sync=true".into(),
            Engine::Rocks { sync: false } => "RocksDB WAL sync=false".into(),
            Engine::Raw => "raw file + fdatasync".into(),
        }
    }

    /// What an acknowledged write survives.
    fn promise(self) -> &'static str {
        match self {
            Engine::Ours(Durability::Immediate)
            | Engine::Sqlite("FULL")
            | Engine::Rocks { sync: true }
            | Engine::Raw => "power loss",
            Engine::Ours(Durability::Periodic(_)) => "process crash; power loss ≤ interval",
            _ => "process crash",
        }
    }

    fn run(self, dir: &Path, events: &[Event], spec: Spec) -> Result<Outcome, String> {
        match self {
            Engine::Ours(d) => ours::run(dir, d, events, spec),
            Engine::Sqlite(sync) => sqlite::run(dir, sync, events, spec),
            Engine::Rocks { sync } => rocks::run(dir, sync, events, spec),
            Engine::Raw => raw::run(dir, events, spec),
        }
    }
}

#[derive(Clone, Copy)]
struct Row {
    workload: usize,
    engine: Engine,
    spec: Spec,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rows() -> Vec<Row> {
    let periodic = Durability::Periodic(Duration::from_millis(100));
    let batched = Spec {
        batch: 1000,
        producers: 1,
        extras: false,
    };
    let two = Spec {
        producers: 2,
        ..batched
    };
    let with_extras = Spec {
        extras: true,
        ..batched
    };
    let single = Spec {
        batch: 1,
        producers: 1,
        extras: false,
    };
    let many = Spec {
        batch: 1,
        producers: 64,
        extras: false,
    };
    let row = |workload, engine, spec| Row {
        workload,
        engine,
        spec,
    };
    vec![
        // Synthetic events, 1,000 per commit.
        row(0, Engine::Ours(Durability::Immediate), with_extras),
        row(0, Engine::Sqlite("FULL"), with_extras),
        row(0, Engine::Rocks { sync: true }, with_extras),
        row(0, Engine::Raw, batched),
        row(0, Engine::Ours(periodic), batched),
        row(0, Engine::Ours(Durability::OsBuffered), batched),
        row(0, Engine::Sqlite("NORMAL"), batched),
        row(0, Engine::Rocks { sync: false }, batched),
        // Two producers: both cores encoding (the producer-side encode and digest bound one).
        row(0, Engine::Ours(Durability::Immediate), two),
        row(0, Engine::Ours(periodic), two),
        row(0, Engine::Ours(Durability::OsBuffered), two),
        row(0, Engine::Rocks { sync: true }, two),
        // One event per commit, one producer.
        row(1, Engine::Ours(Durability::Immediate), single),
        row(1, Engine::Sqlite("FULL"), single),
        row(1, Engine::Rocks { sync: true }, single),
        row(1, Engine::Raw, single),
        row(1, Engine::Sqlite("NORMAL"), single),
        // One event per commit, 64 producers.
        row(2, Engine::Ours(Durability::Immediate), many),
        row(2, Engine::Rocks { sync: true }, many),
        // Real events, 1,000 per commit.
        row(3, Engine::Ours(Durability::Immediate), with_extras),
        row(3, Engine::Sqlite("FULL"), with_extras),
        row(3, Engine::Rocks { sync: true }, with_extras),
        row(3, Engine::Raw, batched),
    ]
}

fn median_outcome(mut runs: Vec<Outcome>) -> Outcome {
    fn med<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[v.len() / 2]
    }
    let opt = |v: Vec<Option<Duration>>| -> Option<Duration> {
        let v: Vec<Duration> = v.into_iter().flatten().collect();
        (!v.is_empty()).then(|| med(v))
    };
    let p50 = med(runs
        .iter_mut()
        .map(|o| o.latencies.percentile(0.5).unwrap_or_default())
        .collect());
    let p99 = med(runs
        .iter_mut()
        .map(|o| o.latencies.percentile(0.99).unwrap_or_default())
        .collect());
    let mut out = Outcome {
        events: runs[0].events,
        elapsed: med(runs.iter().map(|o| o.elapsed).collect()),
        write_bytes: med(runs.iter().map(|o| o.write_bytes).collect()),
        device_write_bytes: med(runs.iter().map(|o| o.device_write_bytes).collect()),
        disk_bytes: med(runs.iter().map(|o| o.disk_bytes).collect()),
        actor_query: opt(runs.iter().map(|o| o.actor_query).collect()),
        range_query: opt(runs.iter().map(|o| o.range_query).collect()),
        open_after_crash: opt(runs.iter().map(|o| o.open_after_crash).collect()),
        syncs: runs[0]
            .syncs
            .map(|_| med(runs.iter().map(|o| o.syncs.unwrap_or(0)).collect())),
        ..Outcome::default()
    };
    out.latencies.0 = vec![p50.as_nanos() as u64, p99.as_nanos() as u64];
    out
}

fn fmt_duration(d: Option<Duration>) -> String {
    match d {
        None => "—".into(),
        Some(d) if d < Duration::from_millis(1) => format!("{} µs", d.as_micros()),
        Some(d) if d < Duration::from_secs(1) => format!("{:.1} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.2} s", d.as_secs_f64()),
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn label_of(row: &Row, w: &Workload) -> String {
    format!(
        "{} / {} / batch {} / {} producers",
        w.name,
        row.engine.label(),
        row.spec.batch,
        row.spec.producers
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let n = env_usize("COMPARE_EVENTS", 200_000);
    let n_single = env_usize("COMPARE_SINGLE_EVENTS", 3_000);
    let runs = env_usize("COMPARE_RUNS", 3).max(1);
    let only = std::env::var("COMPARE_ONLY").unwrap_or_default();
    let base: PathBuf =
        std::env::var_os("COMPARE_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/windows-security-events.jsonl.zst");
    let data = std::env::var_os("COMPARE_REAL_EVENTS").map_or(data, PathBuf::from);

    eprintln!("generating events…");
    let synthetic = workload::synthetic(n);
    let single = Workload {
        name: format!("synthetic, {n_single} events"),
        events: synthetic.events[..n_single.min(n)].to_vec(),
    };
    let many = Workload {
        name: format!("synthetic, {} events", (n_single * 4).min(n)),
        events: synthetic.events[..(n_single * 4).min(n)].to_vec(),
    };
    let real = match workload::windows_events(&data) {
        Ok((w, skipped)) => {
            if skipped > 0 {
                eprintln!("{skipped} real events skipped (not valid events)");
            }
            Some(w)
        }
        Err(e) => {
            eprintln!("real events not loaded ({e}): their rows are skipped");
            None
        }
    };
    let workloads: Vec<Option<&Workload>> =
        vec![Some(&synthetic), Some(&single), Some(&many), real.as_ref()];
    let payload_sizes: Vec<f64> = workloads
        .iter()
        .map(|w| w.map_or(0.0, |w| w.avg_payload()))
        .collect();

    let load_start = loadavg();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| workload | engine, setting | acknowledged write survives | events per commit | producers | events/s | commit latency p50 | p99 | disk bytes/event | bytes written/event: device (process) | actor query p50 | 1,000-row time range p50 | open after crash | events per fdatasync |"
    );
    let _ = writeln!(
        table,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut results: Vec<(usize, Engine, Spec, Outcome)> = Vec::new();
    // Rounds: every selected row once per round, so a noisy minute on the shared disk hits
    // every engine alike instead of all repetitions of one row.
    let selected: Vec<(Row, &Workload)> = rows()
        .into_iter()
        .filter_map(|row| workloads[row.workload].map(|w| (row, w)))
        .filter(|(row, w)| label_of(row, w).contains(&only))
        .collect();
    let mut all: Vec<Vec<Outcome>> = selected.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        for ((row, w), outcomes) in selected.iter().zip(all.iter_mut()) {
            eprintln!("round {round}: {} (load {})", label_of(row, w), loadavg());
            let dir = match tempfile::Builder::new()
                .prefix("auditlog-compare-")
                .tempdir_in(&base)
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("  cannot create a directory in {}: {e}", base.display());
                    return;
                }
            };
            // Start every run with no dirty pages: an ext4 fdatasync waits for the journal
            // commit, which also carries the previous row's unsynced writes.
            let _ = std::process::Command::new("sync").status();
            match row.engine.run(dir.path(), &w.events, row.spec) {
                Ok(o) => {
                    eprintln!("  {} events/s", fmt_rate(o.events_per_sec()));
                    outcomes.push(o);
                }
                Err(e) => eprintln!("  failed: {e}"),
            }
        }
    }
    for ((row, w), outcomes) in selected.iter().zip(all) {
        let row = *row;
        if outcomes.is_empty() {
            continue;
        }
        let mut o = median_outcome(outcomes);
        let per_event = |b: u64| format!("{:.0}", b as f64 / o.events.max(1) as f64);
        let (p50, p99) = (o.latencies.percentile(0.0), o.latencies.percentile(1.0));
        let _ = writeln!(
            table,
            "| {} ({:.0} B) | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
            w.name,
            payload_sizes[row.workload],
            row.engine.label(),
            row.engine.promise(),
            row.spec.batch,
            row.spec.producers,
            fmt_rate(o.events_per_sec()),
            fmt_duration(p50),
            fmt_duration(p99),
            per_event(o.disk_bytes),
            per_event(o.device_write_bytes),
            per_event(o.write_bytes),
            fmt_duration(o.actor_query),
            fmt_duration(o.range_query),
            fmt_duration(o.open_after_crash),
            o.syncs.filter(|&s| s > 0).map_or("—".into(), |s| format!(
                "{:.1}",
                o.events as f64 / s as f64
            )),
        );
        results.push((row.workload, row.engine, row.spec, o));
    }
    let rate = |workload: usize, label: &str, producers: usize| {
        results
            .iter()
            .find(|(w, e, s, _)| *w == workload && e.label() == label && s.producers == producers)
            .map(|(_, _, _, o)| o.events_per_sec())
    };
    let mut summary = String::new();
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}×", a / b),
        _ => "—".into(),
    };
    let ours = "auditlog Immediate";
    let full = "SQLite WAL synchronous=FULL";
    let _ = writeln!(
        summary,
        "- batched, durable: auditlog Immediate / SQLite FULL = {}",
        ratio(rate(0, ours, 1), rate(0, full, 1))
    );
    let _ = writeln!(
        summary,
        "- one event per durable commit, 1 producer: auditlog / SQLite FULL = {}",
        ratio(rate(1, ours, 1), rate(1, full, 1))
    );
    let _ = writeln!(
        summary,
        "- one event per durable commit: auditlog with 64 producers / SQLite FULL with 1 = {}",
        ratio(rate(2, ours, 64), rate(1, full, 1))
    );
    let _ = writeln!(
        summary,
        "- SQLite {} (bundled), RocksDB from the system library; payload sizes are our encoded payloads",
        rusqlite::version()
    );
    let _ = writeln!(
        summary,
        "- load average at start: {load_start}; at end: {}; {runs} runs per row, each figure the median",
        loadavg()
    );
    let report = format!("{table}\n{summary}");
    println!("{report}");
    if let Some(path) = std::env::var_os("COMPARE_OUT")
        && let Err(e) = std::fs::write(&path, &report)
    {
        eprintln!("cannot write {}: {e}", PathBuf::from(path).display());
    }
}
