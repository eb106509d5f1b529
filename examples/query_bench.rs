//! Query latency on a large log (issue 3, point 9). Not a test: figures are printed.
//!
//! ```text
//! cargo run --release --example query_bench -- --events 10000000 [--dir PATH] [--samples 300]
//!     [--keep-indexes] [--only TEXT]
//! ```
//!
//! Builds a log of `--events` sample events (10,000 actors, 100,000 entities, ~340 bytes
//! per frame) in `--dir` (a fresh temporary directory by default; an existing log there is
//! reused), builds its indexes with `reindex` (skipped with `--keep-indexes`), then measures,
//! warm: opening the log with valid indexes; all events of one actor; one entity's history;
//! a time range of about 1,000 events; counts. Each query is measured twice: with `query`
//! (every matching record decoded into a `Record`) and with `query_lazy` reading what a
//! dashboard row shows of each record (time, action, outcome, severity, actor, entity).
//! Prints p50 / p99 of each and the mean number of records returned. `--only TEXT` runs
//! the measurements whose name contains TEXT (for profiling one of them).

use auditlog::query::Query;
use auditlog::{AuditLog, Durability, Timestamp};
use auditlog_format::sample::SampleEvents;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    events: u64,
    dir: Option<PathBuf>,
    samples: usize,
    /// Keep the index files already there (for profiling one measurement).
    keep_indexes: bool,
    /// Run only the measurements whose name contains this text.
    only: Option<String>,
}

fn args() -> Args {
    let mut out = Args {
        events: 1_000_000,
        dir: None,
        samples: 300,
        keep_indexes: false,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--keep-indexes" {
            out.keep_indexes = true;
            continue;
        }
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--only" => out.only = Some(value),
            "--events" => out.events = value.parse().expect("--events takes a number"),
            "--dir" => out.dir = Some(PathBuf::from(value)),
            "--samples" => out.samples = value.parse().expect("--samples takes a number"),
            other => panic!("unknown flag {other}"),
        }
    }
    out
}

/// A small deterministic generator for picking samples.
struct Pick(u64);

impl Pick {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn build(dir: &std::path::Path, events: u64) {
    let log = AuditLog::builder(dir)
        .durability(Durability::OsBuffered)
        .open()
        .expect("open");
    let have = log.end_seq();
    if have >= events {
        println!("reusing {have} events in {}", dir.display());
        return;
    }
    let events_gen = SampleEvents::new(42);
    let base = Timestamp::from_unix_secs(1_800_000_000);
    let started = Instant::now();
    // Batches of 100: the log gives each append request one recorded_at, so a 1,000-event
    // time range spans ten of them.
    let mut pending = std::collections::VecDeque::new();
    let mut i = have;
    while i < events {
        let n = (events - i).min(100);
        let batch: Vec<_> = (i..i + n).map(|k| events_gen.event(k, base)).collect();
        pending.push_back(log.append_batch(&batch).expect("append"));
        if pending.len() > 64 {
            pending.pop_front().expect("pending").wait().expect("ack");
        }
        i += n;
        if i.is_multiple_of(1_000_000) {
            println!("  {i} events appended ({:.0?})", started.elapsed());
        }
    }
    pending.into_iter().for_each(|h| {
        h.wait().expect("ack");
    });
    log.seal().expect("seal");
    log.close().expect("close");
    println!(
        "appended {} events in {:.1?}",
        events - have,
        started.elapsed()
    );
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    (at(0.50), at(0.99))
}

fn measure(name: &str, samples: usize, only: Option<&str>, mut run: impl FnMut(usize) -> usize) {
    if only.is_some_and(|o| !name.contains(o)) {
        return;
    }
    // One untimed pass over the same samples warms the page cache and the index maps.
    let returned: usize = (0..samples).map(&mut run).sum();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let t = Instant::now();
        std::hint::black_box(run(i));
        times.push(t.elapsed());
    }
    let (p50, p99) = percentiles(times);
    println!(
        "{name:<28} p50 {p50:>10.1?}  p99 {p99:>10.1?}  mean records {:.0}",
        returned as f64 / samples as f64
    );
}

fn main() {
    let args = args();
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().expect("tempdir");
            tmp.path().to_path_buf()
        }
    };
    build(&dir, args.events);

    if !args.keep_indexes {
        let log = AuditLog::open(&dir).expect("open");
        let t = Instant::now();
        let report = log.reindex().expect("reindex");
        println!(
            "reindex: {} segments, {} postings in {:.1?}",
            report.rebuilt,
            report.postings,
            t.elapsed()
        );
        drop(log);
    }

    let mut opens = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let log = AuditLog::open(&dir).expect("open");
        opens.push(t.elapsed());
        drop(log);
    }
    let (p50, p99) = percentiles(opens);
    println!(
        "{:<28} p50 {p50:>10.1?}  max {p99:>10.1?}",
        "open (valid indexes)"
    );

    let log = AuditLog::open(&dir).expect("open");
    let end = log.end_seq();
    let mut pick = Pick(7);
    let actors: Vec<String> = (0..args.samples)
        .map(|_| format!("user:{}", pick.below(10_000)))
        .collect();
    let entities: Vec<(String, String)> = (0..args.samples)
        .map(|_| {
            let r = log.get(pick.below(end)).expect("get");
            let e = r.event.entity.expect("sample events have entities");
            (e.kind, e.id)
        })
        .collect();
    let ranges: Vec<(Timestamp, Timestamp)> = (0..args.samples)
        .map(|_| {
            let s = pick.below(end.saturating_sub(2_000));
            let since = log.get(s).expect("get").recorded_at;
            let until = log.get(s + 1_000).expect("get").recorded_at;
            (since, until)
        })
        .collect();

    let only = args.only.as_deref();
    let n = args.samples;
    let actor = |i: usize| Query::new().actor(actors[i].as_str());
    let entity = |i: usize| {
        let (kind, id) = &entities[i];
        Query::new().entity(kind.as_str(), id.as_str())
    };
    let range = |i: usize| {
        let (since, until) = ranges[i];
        Query::new().recorded_since(since).recorded_until(until)
    };
    // Each query is measured twice: returning decoded `Record`s (`query`), and returning
    // `LazyRecord`s whose fields a dashboard row reads (`query_lazy` + `rows`).
    measure("actor, all, Record", n, only, |i| full(&log, &actor(i)));
    measure("actor, all, lazy rows", n, only, |i| rows(&log, &actor(i)));
    measure("entity, Record", n, only, |i| full(&log, &entity(i)));
    measure("entity, lazy rows", n, only, |i| rows(&log, &entity(i)));
    measure("time range, Record", n, only, |i| full(&log, &range(i)));
    measure("time range, lazy rows", n, only, |i| rows(&log, &range(i)));
    measure("actor newest 50, Record", n, only, |i| {
        let q = actor(i)
            .order(auditlog::query::Order::NewestFirst)
            .limit(50);
        full(&log, &q)
    });
    measure("count, actor", n, only, |i| {
        log.count(&actor(i)).expect("count") as usize
    });
    measure("count, time range", n, only, |i| {
        log.count(&range(i)).expect("count") as usize
    });
}

/// Runs `q` with `query`: every matching record fully decoded.
fn full(log: &AuditLog, q: &Query) -> usize {
    let page = log.query(q).expect("query");
    std::hint::black_box(&page.records);
    page.records.len()
}

/// Runs `q` with `query_lazy` and reads what a dashboard row shows of each record: time,
/// action, outcome, severity, actor and entity.
fn rows(log: &AuditLog, q: &Query) -> usize {
    let page = log.query_lazy(q).expect("query");
    for r in &page.records {
        let e = r.event();
        std::hint::black_box((
            r.seq(),
            r.recorded_at(),
            e.action(),
            e.outcome(),
            e.severity(),
            e.actor_id(),
            e.entity(),
        ));
    }
    page.records.len()
}
