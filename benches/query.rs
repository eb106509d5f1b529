//! Indexed queries over 200,000 sample events in 8 MiB segments (several sealed, indexed by
//! `reindex`, plus the active one): one actor's newest page, one entity's history, a
//! `recorded_at` range of about 1,000 events, and counts. Run with `cargo bench --bench query`.
//!
//! `benches/read.rs` times the same questions answered by full scans, for comparison.

mod common;

use auditlog::query::Query;
use common::{sample_log, temp_dir};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const EVENTS: usize = 200_000;
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

fn queries(c: &mut Criterion) {
    let dir = temp_dir();
    let log = sample_log(dir.path(), EVENTS, SEGMENT_BYTES);
    log.reindex().unwrap_or_else(|e| panic!("reindex: {e}"));
    // Targets taken from records in the middle of the log, so they are found in a sealed
    // segment and the executor has segments to skip on both sides.
    let middle = log.get(EVENTS as u64 / 2).unwrap_or_else(|e| panic!("{e}"));
    let actor = middle.event.actor.id.clone();
    let entity = middle
        .event
        .entity
        .clone()
        .unwrap_or_else(|| panic!("sample event without an entity"));
    // Each batch of 1,000 shares one `recorded_at` and the range is half-open: from the
    // middle batch's time to the next batch's holds exactly that batch.
    let range_end = log
        .get(EVENTS as u64 / 2 + 1000)
        .unwrap_or_else(|e| panic!("{e}"));
    let by_actor = Query::new().actor(actor.clone()).limit(50);
    let by_entity = Query::new().entity(entity.kind.clone(), entity.id.clone());
    let by_time = Query::new()
        .recorded_since(middle.recorded_at)
        .recorded_until(range_end.recorded_at);
    let run = |q: &Query| log.query(q).unwrap_or_else(|e| panic!("query: {e}"));
    println!(
        "query setup: actor {actor} -> {} records, entity {}/{} -> {}, time range -> {}",
        run(&Query::new().actor(actor.clone())).records.len(),
        entity.kind,
        entity.id,
        run(&by_entity).records.len(),
        run(&by_time).records.len(),
    );

    let mut group = c.benchmark_group("query_200k");
    group.throughput(Throughput::Elements(1));
    group.bench_function("actor_limit_50", |b| b.iter(|| run(&by_actor)));
    group.bench_function("entity", |b| b.iter(|| run(&by_entity)));
    group.bench_function("recorded_at_1000", |b| b.iter(|| run(&by_time)));
    let count = |q: &Query| log.count(q).unwrap_or_else(|e| panic!("count: {e}"));
    group.bench_function("count_actor", |b| {
        b.iter(|| count(&Query::new().actor(actor.clone())))
    });
    group.bench_function("count_recorded_at_1000", |b| b.iter(|| count(&by_time)));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = queries
}
criterion_main!(benches);
