//! Comparison harness: the same events stored by this engine, SQLite, PostgreSQL, RocksDB and a
//! raw file, side by side in one run, printed as markdown tables (writes, queries, ratios).
//!
//! ```text
//! benches/compare/run.sh        # installs the peers, starts PostgreSQL, runs this
//! ```
//! By hand: `ROCKSDB_LIB_DIR=/usr/lib/x86_64-linux-gnu SNAPPY_LIB_DIR=/usr/lib/x86_64-linux-gnu
//! COMPARE_PG='host=/socket/dir user=postgres dbname=postgres' cargo bench --features compare
//! --bench compare` (needs `apt-get install librocksdb-dev libsnappy-dev clang libclang-dev`
//! and a running PostgreSQL; without `COMPARE_PG` its rows are reported as not run).
//! Environment: `COMPARE_EVENTS` (batched rows, default 200000), `COMPARE_SINGLE_EVENTS` (one
//! event per commit, default 3000; the 64-producer rows use 4×), `COMPARE_RUNS` (repetitions,
//! each figure is the median, default 3), `COMPARE_ONLY` (run only rows whose label contains
//! this text), `COMPARE_OUT` (also write the tables to this file), `COMPARE_DIR` (where the
//! databases go; default the temp dir, which must be on a real disk, not tmpfs),
//! `COMPARE_REAL_EVENTS`, `COMPARE_IN_FLIGHT`, `COMPARE_PG`. See docs/BENCHMARKS.md.

mod measure;
mod ours;
mod postgres;
mod raw;
mod rocks;
mod spec;
mod sqlite;
mod workload;

use auditlog::{Durability, Event};
use measure::{Outcome, QueryTimes};
use spec::Spec;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use workload::Workload;

#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Ours(Durability),
    Sqlite(&'static str),
    Postgres(postgres::Mode),
    Rocks {
        sync: bool,
    },
    Raw,
    /// Encoding alone on one thread (with the payload digest or not): the CPU limit.
    Encode {
        digest: bool,
    },
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
            Engine::Postgres(postgres::Mode::Insert) => "PostgreSQL INSERT".into(),
            Engine::Postgres(postgres::Mode::Copy) => "PostgreSQL COPY".into(),
            Engine::Rocks { sync: true } => "RocksDB WAL sync=true".into(),
            Engine::Rocks { sync: false } => "RocksDB WAL sync=false".into(),
            Engine::Raw => "raw file + fdatasync, pre-encoded".into(),
            Engine::Encode { digest: false } => "encoding alone, 1 thread (CPU limit)".into(),
            Engine::Encode { digest: true } => "encoding + payload digest, 1 thread".into(),
        }
    }

    /// What an acknowledged write survives.
    fn promise(self) -> &'static str {
        match self {
            Engine::Ours(Durability::Immediate)
            | Engine::Sqlite("FULL")
            | Engine::Postgres(_)
            | Engine::Rocks { sync: true }
            | Engine::Raw => "power loss",
            Engine::Ours(Durability::Periodic(_)) => "process crash; power loss ≤ interval",
            Engine::Encode { .. } => "— (nothing written)",
            _ => "process crash",
        }
    }

    fn run(self, dir: &Path, events: &[Event], spec: Spec) -> Result<Outcome, String> {
        match self {
            Engine::Ours(d) => ours::run(dir, d, events, spec),
            Engine::Sqlite(sync) => sqlite::run(dir, sync, events, spec),
            Engine::Postgres(mode) => match postgres::conninfo() {
                Some(c) => postgres::run(&c, dir, mode, events, spec),
                None => Err("COMPARE_PG is not set".into()),
            },
            Engine::Rocks { sync } => rocks::run(dir, sync, events, spec),
            Engine::Raw => raw::run(dir, events, spec),
            Engine::Encode { digest } => raw::encode(events, digest),
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

/// Workloads: 0 synthetic batched, 1 synthetic one per commit, 2 synthetic one per commit
/// from 64 producers, 3 real events batched.
fn rows() -> Vec<Row> {
    use postgres::Mode::{Copy, Insert};
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
    let per_sync = |batch| Spec { batch, ..batched };
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
        row(0, Engine::Postgres(Insert), with_extras),
        row(0, Engine::Postgres(Copy), batched),
        row(0, Engine::Rocks { sync: true }, with_extras),
        row(0, Engine::Raw, per_sync(1024)),
        row(0, Engine::Raw, per_sync(64)),
        row(0, Engine::Encode { digest: false }, batched),
        row(0, Engine::Encode { digest: true }, batched),
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
        row(1, Engine::Postgres(Insert), single),
        row(1, Engine::Rocks { sync: true }, single),
        row(1, Engine::Raw, single),
        row(1, Engine::Sqlite("NORMAL"), single),
        // One event per commit, 64 producers (PostgreSQL: 64 connections).
        row(2, Engine::Ours(Durability::Immediate), many),
        row(2, Engine::Postgres(Insert), many),
        row(2, Engine::Rocks { sync: true }, many),
        // Real events, 1,000 per commit.
        row(3, Engine::Ours(Durability::Immediate), with_extras),
        row(3, Engine::Sqlite("FULL"), with_extras),
        row(3, Engine::Postgres(Insert), with_extras),
        row(3, Engine::Postgres(Copy), batched),
        row(3, Engine::Rocks { sync: true }, with_extras),
        row(3, Engine::Raw, per_sync(1024)),
        row(3, Engine::Encode { digest: false }, batched),
    ]
}

fn med<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn median_outcome(mut runs: Vec<Outcome>) -> Outcome {
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
    // Each query state's figures, the median over the runs that measured it.
    let queries = runs[0]
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let of = |f: &dyn Fn(&QueryTimes) -> Duration| {
                med(runs
                    .iter()
                    .filter_map(|o| o.queries.get(i))
                    .map(f)
                    .collect())
            };
            QueryTimes {
                state: q.state,
                actor: of(&|q| q.actor),
                actor_count: of(&|q| q.actor_count),
                range: of(&|q| q.range),
                actor_rows: q.actor_rows,
                range_rows: q.range_rows,
            }
        })
        .collect();
    let mut out = Outcome {
        events: runs[0].events,
        elapsed: med(runs.iter().map(|o| o.elapsed).collect()),
        write_bytes: med(runs.iter().map(|o| o.write_bytes).collect()),
        device_write_bytes: med(runs.iter().map(|o| o.device_write_bytes).collect()),
        disk_bytes: med(runs.iter().map(|o| o.disk_bytes).collect()),
        open_after_crash: opt(runs.iter().map(|o| o.open_after_crash).collect()),
        syncs: runs[0]
            .syncs
            .map(|_| med(runs.iter().map(|o| o.syncs.unwrap_or(0)).collect())),
        server_process: runs[0].server_process,
        load1: med(runs.iter().map(|o| o.load1).collect()),
        queries,
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
    let pg_version = postgres::conninfo().map(|c| postgres::version(&c));

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
    let mut notes = Vec::new();
    let real = match workload::windows_events(&data) {
        Ok((w, skipped)) => {
            if skipped > 0 {
                notes.push(format!("{skipped} real events skipped (not valid events)"));
            }
            Some(w)
        }
        Err(e) => {
            notes.push(format!(
                "real events not loaded ({e}): their rows were not run"
            ));
            None
        }
    };
    let workloads: Vec<Option<&Workload>> =
        vec![Some(&synthetic), Some(&single), Some(&many), real.as_ref()];
    let payload_sizes: Vec<f64> = workloads
        .iter()
        .map(|w| w.map_or(0.0, |w| w.avg_payload()))
        .collect();
    let pg_enabled = matches!(pg_version, Some(Some(_)));
    match &pg_version {
        None => notes.push(
            "PostgreSQL rows not run: COMPARE_PG is not set (benches/compare/run.sh starts a server and sets it)".into(),
        ),
        Some(None) => notes.push("PostgreSQL rows not run: cannot connect with COMPARE_PG".into()),
        Some(Some(_)) => {}
    }

    let load_start = loadavg();
    // Rounds: every selected row once per round, so a noisy minute on the shared disk hits
    // every engine alike instead of all repetitions of one row.
    let selected: Vec<(Row, &Workload)> = rows()
        .into_iter()
        .filter(|row| pg_enabled || !matches!(row.engine, Engine::Postgres(_)))
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
            let load1 = measure::load1();
            match row.engine.run(dir.path(), &w.events, row.spec) {
                Ok(mut o) => {
                    o.load1 = load1;
                    eprintln!("  {} events/s", fmt_rate(o.events_per_sec()));
                    outcomes.push(o);
                }
                Err(e) => {
                    eprintln!("  failed: {e}");
                    notes.push(format!("round {round}, {}: failed: {e}", label_of(row, w)));
                }
            }
        }
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| workload | engine, setting | acknowledged write survives | events per commit | producers | events/s | commit latency p50 | p99 | disk bytes/event | bytes written/event: device (process) | open after crash | events per fdatasync | load (1 min) |"
    );
    let _ = writeln!(
        table,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut queries = String::new();
    let _ = writeln!(
        queries,
        "| workload | engine | state | actor's events, decoded p50 (rows) | count of an actor p50 | ~1,000 events by time, decoded p50 (rows) |"
    );
    let _ = writeln!(queries, "|---|---|---|---|---|---|");
    let mut results: Vec<(Row, Outcome)> = Vec::new();
    for ((row, w), outcomes) in selected.iter().zip(all) {
        let row = *row;
        if outcomes.is_empty() {
            continue;
        }
        let mut o = median_outcome(outcomes);
        let cpu_only = matches!(row.engine, Engine::Encode { .. });
        let per_event = |b: u64| format!("{:.0}", b as f64 / o.events.max(1) as f64);
        // Encoding-only rows commit nothing: no latency (shown as "—", not "0 µs").
        let (p50, p99) = if cpu_only {
            (None, None)
        } else {
            (o.latencies.percentile(0.0), o.latencies.percentile(1.0))
        };
        let written = if cpu_only {
            "—".to_string()
        } else if o.server_process {
            format!("{} (server)", per_event(o.device_write_bytes))
        } else {
            format!(
                "{} ({})",
                per_event(o.device_write_bytes),
                per_event(o.write_bytes)
            )
        };
        let _ = writeln!(
            table,
            "| {} ({:.0} B) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            w.name,
            payload_sizes[row.workload],
            row.engine.label(),
            row.engine.promise(),
            if cpu_only {
                "—".to_string()
            } else {
                row.spec.batch.to_string()
            },
            row.spec.producers,
            fmt_rate(o.events_per_sec()),
            fmt_duration(p50),
            fmt_duration(p99),
            if cpu_only {
                "—".to_string()
            } else {
                per_event(o.disk_bytes)
            },
            written,
            fmt_duration(o.open_after_crash),
            o.syncs.filter(|&s| s > 0).map_or("—".into(), |s| format!(
                "{:.1}",
                o.events as f64 / s as f64
            )),
            o.load1,
        );
        for q in &o.queries {
            let _ = writeln!(
                queries,
                "| {} | {} | {} | {} ({:.0}) | {} | {} ({:.0}) |",
                w.name,
                row.engine.label(),
                q.state,
                fmt_duration(Some(q.actor)),
                q.actor_rows,
                fmt_duration(Some(q.actor_count)),
                fmt_duration(Some(q.range)),
                q.range_rows,
            );
        }
        results.push((row, o));
    }

    let rate = |workload: usize, engine: Engine, batch: usize, producers: usize| {
        results
            .iter()
            .find(|(r, _)| {
                r.workload == workload
                    && r.engine == engine
                    && r.spec.batch == batch
                    && r.spec.producers == producers
            })
            .map(|(_, o)| o.events_per_sec())
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    };
    use postgres::Mode::{Copy, Insert};
    let ours = Engine::Ours(Durability::Immediate);
    let full = Engine::Sqlite("FULL");
    let rocks = Engine::Rocks { sync: true };
    let encode = Engine::Encode { digest: false };
    let mut ratios = String::new();
    let _ = writeln!(
        ratios,
        "| auditlog `Immediate` … | events/s | ÷ SQLite FULL | ÷ PostgreSQL INSERT | ÷ PostgreSQL COPY | ÷ RocksDB sync | ÷ raw disk (pre-encoded) | ÷ encoding alone (1 thread) |"
    );
    let _ = writeln!(ratios, "|---|---|---|---|---|---|---|---|");
    let mut ratio_row = |name: &str, a: Option<f64>, peers: [Option<f64>; 6]| {
        let _ = writeln!(
            ratios,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            a.map_or("—".into(), fmt_rate),
            ratio(a, peers[0]),
            ratio(a, peers[1]),
            ratio(a, peers[2]),
            ratio(a, peers[3]),
            ratio(a, peers[4]),
            ratio(a, peers[5]),
        );
    };
    ratio_row(
        "synthetic, 1,000 per commit, 1 producer (raw: 1,024 per fdatasync)",
        rate(0, ours, 1000, 1),
        [
            rate(0, full, 1000, 1),
            rate(0, Engine::Postgres(Insert), 1000, 1),
            rate(0, Engine::Postgres(Copy), 1000, 1),
            rate(0, rocks, 1000, 1),
            rate(0, Engine::Raw, 1024, 1),
            rate(0, encode, 1000, 1),
        ],
    );
    ratio_row(
        "synthetic, 1,000 per commit, 2 producers (same peers)",
        rate(0, ours, 1000, 2),
        [
            rate(0, full, 1000, 1),
            rate(0, Engine::Postgres(Insert), 1000, 1),
            rate(0, Engine::Postgres(Copy), 1000, 1),
            rate(0, rocks, 1000, 2),
            rate(0, Engine::Raw, 1024, 1),
            rate(0, encode, 1000, 1),
        ],
    );
    ratio_row(
        "one event per commit, 1 producer (raw: 1 per fdatasync)",
        rate(1, ours, 1, 1),
        [
            rate(1, full, 1, 1),
            rate(1, Engine::Postgres(Insert), 1, 1),
            None,
            rate(1, rocks, 1, 1),
            rate(1, Engine::Raw, 1, 1),
            None,
        ],
    );
    ratio_row(
        "one event per commit, 64 producers (SQLite: 1 writer; PostgreSQL: 64 connections; raw: 64 per fdatasync)",
        rate(2, ours, 1, 64),
        [
            rate(1, full, 1, 1),
            rate(2, Engine::Postgres(Insert), 1, 64),
            None,
            rate(2, rocks, 1, 64),
            rate(0, Engine::Raw, 64, 1),
            None,
        ],
    );
    ratio_row(
        "real Windows events, 1,000 per commit (raw: 1,024 per fdatasync)",
        rate(3, ours, 1000, 1),
        [
            rate(3, full, 1000, 1),
            rate(3, Engine::Postgres(Insert), 1000, 1),
            rate(3, Engine::Postgres(Copy), 1000, 1),
            rate(3, rocks, 1000, 1),
            rate(3, Engine::Raw, 1024, 1),
            rate(3, encode, 1000, 1),
        ],
    );

    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "- load average (1, 5, 15 min) at start: {load_start}; at end: {}; {runs} runs per row (rows in rounds), each figure the median; the last column is the 1-minute load when the row's runs started (median)",
        loadavg()
    );
    let _ = writeln!(
        summary,
        "- SQLite {} (bundled); PostgreSQL {} (Debian, Unix socket, fsync on, synchronous_commit=on); RocksDB from the system library; payload sizes are our encoded payloads",
        rusqlite::version(),
        match &pg_version {
            Some(Some(v)) => v.as_str(),
            _ => "not run",
        }
    );
    for note in &notes {
        let _ = writeln!(summary, "- {note}");
    }
    let report = format!(
        "### Writes\n\n{table}\n### Queries\n\n{queries}\n### Ratios\n\n{ratios}\n{summary}"
    );
    println!("{report}");
    if let Some(path) = std::env::var_os("COMPARE_OUT")
        && let Err(e) = std::fs::write(&path, &report)
    {
        eprintln!("cannot write {}: {e}", PathBuf::from(path).display());
    }
}
