//! Reading: a forward scan, newest-first paging, point lookups, and the two queries an audit
//! UI runs most (one actor's events, a time range) done as full scans with `AuditLog::iter`
//! until the indexed query API lands. Run with `cargo bench --bench read`.

mod common;

use auditlog::{Durability, ReadOnlyLog};
use common::{open_log, sized_events, temp_dir};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const RECORDS: u64 = 20_000;

fn reads(c: &mut Criterion) {
    let dir = temp_dir();
    {
        let log = open_log(dir.path(), Durability::OsBuffered);
        for chunk in sized_events(RECORDS as usize, 500).chunks(1000) {
            let h = log.append_batch(chunk).unwrap_or_else(|e| panic!("{e}"));
            h.wait().unwrap_or_else(|e| panic!("{e}"));
        }
        // Half the records in a sealed (mmap'd) segment, half in the active one.
        log.seal().unwrap_or_else(|e| panic!("{e}"));
        log.close().unwrap_or_else(|e| panic!("{e}"));
    }
    let log = ReadOnlyLog::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let target_actor = sized_events(1, 500)[0].actor.id.clone();

    let mut group = c.benchmark_group("read_20k");
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("scan_forward", |b| {
        b.iter(|| log.iter(..).filter(Result::is_ok).count())
    });
    group.bench_function("query_actor_by_scan", |b| {
        b.iter(|| {
            log.iter(..)
                .filter_map(Result::ok)
                .filter(|r| r.event.actor.id == target_actor)
                .count()
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("newest_100", |b| {
        b.iter(|| log.iter(..).rev().take(100).count())
    });
    group.throughput(Throughput::Elements(1));
    let mut seq = 0u64;
    group.bench_function("get_random", |b| {
        b.iter(|| {
            seq = (seq + 7919) % RECORDS;
            log.get(seq).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = reads
}
criterion_main!(benches);
