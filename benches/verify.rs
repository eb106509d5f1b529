//! Verifying a ~100 MB log (about 290,000 sample events in 16 MiB segments, so both cores get
//! work): the full check, and the check without decoding payloads as events (frames, CRCs and
//! the Merkle tree only). Throughput is in segment bytes. Run with `cargo bench --bench verify`.

mod common;

use auditlog::{VerifyOptions, verify};
use common::{bytes_of, sample_log, temp_dir};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const EVENTS: usize = 290_000;
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

fn verification(c: &mut Criterion) {
    let dir = temp_dir();
    sample_log(dir.path(), EVENTS, SEGMENT_BYTES)
        .close()
        .unwrap_or_else(|e| panic!("close: {e}"));
    let bytes = bytes_of(dir.path(), ".seg");
    let run = |options: &VerifyOptions| {
        let report = verify(dir.path(), options).unwrap_or_else(|e| panic!("verify: {e}"));
        assert!(report.ok, "verify found problems: {:?}", report.problems);
        report
    };
    let report = run(&VerifyOptions::default());
    println!(
        "verify setup: {} records, {} segments, {bytes} segment bytes",
        report.records, report.segments_checked
    );

    let mut group = c.benchmark_group("verify_100MB");
    group.throughput(Throughput::Bytes(bytes));
    let full = VerifyOptions::default();
    group.bench_function("default", |b| b.iter(|| run(&full)));
    let hashes_only = VerifyOptions {
        decode_payloads: false,
        ..VerifyOptions::default()
    };
    group.bench_function("no_decode", |b| b.iter(|| run(&hashes_only)));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = verification
}
criterion_main!(benches);
