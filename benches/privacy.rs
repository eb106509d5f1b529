//! The cost of privacy (docs/PRIVACY.md): append throughput of events whose actor e-mail,
//! actor name and IP address are protected (encrypted per subject) against the same events in
//! a log without a policy, the latency of a new subject's first event (its key made
//! durable) as the key store grows, and the latency of erasing a subject. Run with
//! `cargo bench --bench privacy`.

mod common;

use auditlog::privacy::{MasterKey, PrivacyPolicy};
use auditlog::{AuditLog, Durability, Event};
use common::temp_dir;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const BATCH: usize = 1000;
/// Distinct subjects in the append workload (each one's first event makes its key).
const SUBJECTS: usize = 200;

fn event(i: usize) -> Event {
    let mut e = Event::new(format!("user:{}", i % SUBJECTS), "order.status_change")
        .actor_email(format!("person{}@example.com", i % SUBJECTS))
        .actor_name(format!("Person Number {}", i % SUBJECTS))
        .entity("order", format!("{}", i % 1013));
    e.ip = Some(format!("203.0.113.{}", i % 250));
    e.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into());
    e.request_id = Some(format!("req-{i:08}"));
    e
}

fn open(dir: &std::path::Path, protect: bool) -> AuditLog {
    let builder = AuditLog::builder(dir).durability(Durability::Immediate);
    let builder = if protect {
        builder
            .privacy_policy(PrivacyPolicy::parse_spec("actor.email,actor.name,ip", None).unwrap())
            .master_key(MasterKey::from_bytes([7; 32]))
    } else {
        builder
    };
    builder.open().unwrap()
}

/// Batches of 1,000 events, each batch waited for: per-event cost with one fsync per batch.
fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("privacy_append_batch_1000");
    group.throughput(Throughput::Elements(BATCH as u64));
    let events: Vec<Event> = (0..BATCH * 4).map(event).collect();
    for (label, protect) in [("none", false), ("three_protected", true)] {
        let dir = temp_dir();
        let log = open(dir.path(), protect);
        // Every subject's key exists before the timing starts.
        log.append_batch(&events[..BATCH]).unwrap().wait().unwrap();
        let mut i = 0;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                i = (i + 1) % 4;
                log.append_batch(&events[i * BATCH..(i + 1) * BATCH])
                    .and_then(|h| h.wait())
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// Erasing one subject of a log with 1,000 subjects: two key-store rewrites (each a fresh
/// file, fdatasync, rename, directory fsync) and a durable erasure event.
fn erase(c: &mut Criterion) {
    let mut group = c.benchmark_group("privacy_erase");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let dir = temp_dir();
    let log = open(dir.path(), true);
    let mut next = 0usize;
    let mut made = 0usize;
    group.bench_function("one_subject_of_1000", |b| {
        b.iter_custom(|iters| {
            // Subjects to erase, made outside the timing; the store keeps ~1,000 live keys.
            let want = next + iters as usize + 1000;
            while made < want {
                let e = Event::new(format!("subject:{made}"), "signup")
                    .actor_email(format!("s{made}@example.com"));
                log.append(&e).unwrap().wait().unwrap();
                made += 1;
            }
            let start = Instant::now();
            for _ in 0..iters {
                log.erase(&format!("subject:{next}")).unwrap();
                next += 1;
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// One event appended and waited for (`Durability::Immediate`: its own fdatasync), by a
/// subject whose key exists, and by a new subject, whose key is made and made durable
/// first, in a store already holding about `keys` keys.
fn first_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("privacy_first_event");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    for keys in [1_000usize, 10_000] {
        let dir = temp_dir();
        let log = open(dir.path(), true);
        let signup = |n: usize| {
            Event::new(format!("subject:{n}"), "signup").actor_email(format!("s{n}@example.com"))
        };
        for start in (0..keys).step_by(BATCH) {
            let batch: Vec<Event> = (start..start + BATCH).map(signup).collect();
            log.append_batch(&batch).unwrap().wait().unwrap();
        }
        group.bench_function(BenchmarkId::new("known_subject", keys), |b| {
            b.iter(|| log.append(&signup(7)).unwrap().wait().unwrap())
        });
        let mut next = keys;
        group.bench_function(BenchmarkId::new("new_subject", keys), |b| {
            b.iter(|| {
                next += 1;
                log.append(&signup(next)).unwrap().wait().unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, append, first_event, erase);
criterion_main!(benches);
