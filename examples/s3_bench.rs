//! Object-storage measurements against a real S3-compatible server: archive upload (puts
//! plus the read-back check) in MB/s, verify-from-the-bucket in MB/s, restore in MB/s, and
//! one-record `get` latency from the archive (range reads of one cold frame), and one record's
//! inclusion proof from the archive (latency, requests, bytes).
//!
//! `benches/s3/run.sh` starts a local SeaweedFS and runs this (results: docs/BENCHMARKS.md,
//! "Object storage"). By hand: `cargo run --release --example s3_bench` with AWS_ENDPOINT_URL,
//! credentials and AUDITLOG_S3_BUCKET set. Environment: `BENCH_EVENTS` (synthetic events,
//! default 2000000), `BENCH_GETS` (default 500), `BENCH_PARALLEL` (bundles uploaded at once,
//! default 4).

use auditlog::lifecycle::{ArchivePolicy, CompactOptions};
use auditlog::{AuditLog, Durability};
use auditlog_format::sample::SampleEvents;
use auditlog_objstore::{
    ArchiveReader, ArchiveVerifyOptions, S3Destination, S3Options, S3Store, S3Url, head,
    verify_archive,
};
use std::time::Instant;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let events = env_u64("BENCH_EVENTS", 2_000_000);
    let gets = env_u64("BENCH_GETS", 500);
    let bucket = std::env::var("AUDITLOG_S3_BUCKET").expect("AUDITLOG_S3_BUCKET");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let log = AuditLog::builder(&dir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(64 * 1024 * 1024)
        .open()
        .expect("open");
    let sample = SampleEvents::new(7);
    let base = auditlog::Timestamp::now();
    let mut written = 0;
    while written < events {
        let batch: Vec<_> = (written..events.min(written + 1000))
            .map(|i| sample.event(i, base))
            .collect();
        log.append_batch(&batch)
            .expect("append")
            .wait()
            .expect("ack");
        written += batch.len() as u64;
    }
    log.seal().expect("seal");
    let t = Instant::now();
    let compacted = log.compact(&CompactOptions::default()).expect("compact");
    println!(
        "{events} events: {} hot MB -> {} cold MB in {} segments (compact {:.1} s)",
        compacted.hot_bytes / 1_000_000,
        compacted.cold_bytes / 1_000_000,
        compacted.compressed.len(),
        t.elapsed().as_secs_f64()
    );

    let url = S3Url {
        bucket,
        prefix: format!("bench-{}", std::process::id()),
    };
    let store = S3Store::connect(&url, &S3Options::default()).expect("connect");
    let parallel = env_u64(
        "BENCH_PARALLEL",
        auditlog_objstore::DEFAULT_PARALLEL_BUNDLES as u64,
    );
    let t = Instant::now();
    let report = log
        .archive(
            &S3Destination::new(store.clone()).with_parallel_bundles(parallel as usize),
            &ArchivePolicy::default(),
        )
        .expect("archive");
    let archive_s = t.elapsed().as_secs_f64();
    let id = head::log_id_hex(&log.log_id());
    let stored: u64 = store.list(&id).expect("list").iter().map(|(_, n)| n).sum();
    println!(
        "archive ({parallel} bundles at once): {} bundles, {:.1} MB stored in {archive_s:.2} s: \
         {:.0} MB/s (upload, then every object read back and checked)",
        report.bundles.len(),
        stored as f64 / 1e6,
        stored as f64 / 1e6 / archive_s
    );

    let t = Instant::now();
    let verdict = verify_archive(&store, &ArchiveVerifyOptions::default()).expect("verify");
    let verify_s = t.elapsed().as_secs_f64();
    assert!(verdict.ok(), "{verdict}");
    let fetched: u64 = verdict.logs.iter().map(|l| l.bytes).sum();
    println!(
        "verify s3://: {:.1} MB fetched and checked in {verify_s:.2} s: {:.0} MB/s",
        fetched as f64 / 1e6,
        fetched as f64 / 1e6 / verify_s
    );

    // Where verify's time goes: fetching (to a scratch directory) and checking, apart.
    let scratch = tempfile::tempdir().expect("scratch");
    let t = Instant::now();
    let (dirs, _, bytes) =
        auditlog_objstore::fetch_log(&store, &id, scratch.path()).expect("fetch");
    let fetch_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    log.check_with_bundles(&dirs).expect("check");
    let check_s = t.elapsed().as_secs_f64();
    println!(
        "  of which: fetch {:.0} MB/s ({fetch_s:.2} s), check on one thread {:.0} MB/s ({check_s:.2} s)",
        bytes as f64 / 1e6 / fetch_s,
        bytes as f64 / 1e6 / check_s
    );
    drop(scratch);

    // Restore: fetch, check every bundle and the chain, move the files into a new log.
    let restored = tempfile::tempdir().expect("restore dir");
    let t = Instant::now();
    let r = auditlog_objstore::restore_log(
        &store,
        &id,
        &restored.path().join("log"),
        &auditlog::fs::StdFileSystem,
        &auditlog_objstore::RestoreOptions::default(),
    )
    .expect("restore");
    let restore_s = t.elapsed().as_secs_f64();
    println!(
        "restore: {:.1} MB fetched, checked and written (synced) in {restore_s:.2} s: {:.0} MB/s",
        r.bytes_fetched as f64 / 1e6,
        r.bytes_fetched as f64 / 1e6 / restore_s
    );
    drop(restored);

    // One record per fresh reader (what `auditlog get --archive` does: manifest, both ends
    // of the segment, one frame), then from one long-lived reader (its layouts kept).
    let end = log.first_seq();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % end
    };
    let shared = ArchiveReader::open(&store, &log.log_id()).expect("reader");
    for (what, fresh) in [("a fresh reader per record", true), ("one reader", false)] {
        let mut lat = Vec::new();
        for _ in 0..gets {
            let seq = next();
            let t = Instant::now();
            let reader = if fresh {
                ArchiveReader::open(&store, &log.log_id()).expect("reader")
            } else {
                shared.clone()
            };
            let (record, _) = reader.get(seq).expect("get").expect("archived");
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(record.seq, seq);
        }
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "get from the archive, {what} ({gets} random records): p50 {:.2} ms, p90 {:.2} ms, \
             p99 {:.2} ms",
            pct(0.5),
            pct(0.9),
            pct(0.99)
        );
    }

    // One record's inclusion proof against the archive head (`get --archive --proof`), with a
    // fresh reader each: latency, requests and bytes read.
    let proofs = (gets / 5).max(1);
    let (mut lat, mut requests, mut bytes) = (Vec::new(), 0u64, 0u64);
    for _ in 0..proofs {
        let seq = next();
        let t = Instant::now();
        let reader = ArchiveReader::open(&store, &log.log_id()).expect("reader");
        let (doc, stats) = reader.prove(seq).expect("prove").expect("archived");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(doc["seq"], seq);
        requests += u64::from(stats.requests);
        bytes += stats.bytes;
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "proof from the archive, a fresh reader per record ({proofs} random records): p50 {:.1} \
         ms, p90 {:.1} ms; {:.1} requests and {:.2} MB read per proof on average",
        pct(0.5),
        pct(0.9),
        requests as f64 / proofs as f64,
        bytes as f64 / 1e6 / proofs as f64
    );

    // The store's own speed here, for scale: one 16 MB object put and read back, 8 times.
    let blob: Vec<u8> = (0..16_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let t = Instant::now();
    for i in 0..8 {
        store.put_create(&format!("raw/{i}"), &blob).expect("put");
    }
    let put_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..8 {
        store.get(&format!("raw/{i}")).expect("get").expect("there");
    }
    let get_s = t.elapsed().as_secs_f64();
    println!(
        "raw store: 8 x 16 MB puts {:.0} MB/s, gets {:.0} MB/s (one request at a time)",
        128.0 / put_s,
        128.0 / get_s
    );
    let t = Instant::now();
    std::thread::scope(|scope| {
        for i in 0..4 {
            let (store, blob) = (&store, &blob);
            scope.spawn(move || {
                for j in 0..2 {
                    store
                        .put_create(&format!("raw-par/{i}-{j}"), blob)
                        .expect("put");
                }
            });
        }
    });
    println!(
        "raw store: 8 x 16 MB puts, 4 at a time: {:.0} MB/s",
        128.0 / t.elapsed().as_secs_f64()
    );
    log.close().expect("close");
}
