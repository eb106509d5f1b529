//! The CPU cost of one record, piece by piece: payload encoding and digest (on the producer's
//! thread), frame CRC, leaf hash and frontier push (on the writer's thread), and decoding
//! (on the reader's). Run with `cargo bench --bench codec`.

mod common;

use auditlog::merkle::{self, Frontier};
use auditlog::{EventLimits, Timestamp};
use auditlog_format::event::codec::{decode_payload, encode_payload};
use auditlog_format::sample::SampleEvents;
use common::sized_events;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn per_record(c: &mut Criterion) {
    let limits = EventLimits::default();
    let events = sized_events(256, 500);
    let payloads: Vec<Vec<u8>> = events
        .iter()
        .map(|e| encode_payload(e, &limits).unwrap_or_else(|err| panic!("encode: {err}")))
        .collect();
    let avg = payloads.iter().map(Vec::len).sum::<usize>() / payloads.len();
    let mut group = c.benchmark_group(format!("record_cpu_{avg}B"));
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % 256;
        i
    };

    group.bench_function("producer/encode_payload", |b| {
        b.iter(|| encode_payload(black_box(&events[next()]), &limits))
    });
    // Building an event from `serde_json::Value`s (before/after/metadata): since issue 13 the
    // JSON is printed here, when the event is made, rather than in encode_payload.
    let generator = SampleEvents::new(42);
    let base = Timestamp::from_unix_secs(1_700_000_000);
    group.bench_function("producer/build_sample_event", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            generator.event(black_box(n % 4096), base)
        })
    });
    group.bench_function("producer/payload_digest", |b| {
        b.iter(|| merkle::payload_digest(black_box(&payloads[next()])))
    });
    let digest = merkle::payload_digest(&payloads[0]);
    group.bench_function("writer/frame_crc", |b| {
        b.iter(|| crc32fast::hash(black_box(&payloads[next()])))
    });
    group.bench_function("writer/leaf_hash", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq += 1;
            merkle::leaf_hash(seq, black_box(1_800_000_000_000_000_000), &digest)
        })
    });
    group.bench_function("writer/frontier_push", |b| {
        let mut frontier = Frontier::new();
        b.iter(|| frontier.push(black_box(digest)))
    });
    group.bench_function("writer/tree_head", |b| {
        let mut frontier = Frontier::new();
        for _ in 0..1_000_003 {
            frontier.push(digest);
        }
        b.iter(|| black_box(&frontier).tree_head())
    });
    group.bench_function("reader/decode_payload", |b| {
        b.iter(|| decode_payload(black_box(&payloads[next()])))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_record
}
criterion_main!(benches);
