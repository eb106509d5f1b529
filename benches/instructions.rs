//! The cases of the instruction-count regression guard (issue 20, item 5), run by
//! `benches/callgrind.sh` under `valgrind --tool=callgrind`. Not a criterion bench, and not
//! meant to be timed: instruction counts barely move on a loaded machine, where wall time
//! moves by 2×.
//!
//! ```text
//! instructions CASE N
//! ```
//! Every case does the same set-up whatever `N`, then `N` operations, so the script's
//! count for `N` minus its count for 0 is the cost of the operations alone (every thread
//! included: callgrind counts the writer thread too):
//! - `append N`: `N` events of ~500 bytes, `append_batch` of 100 then `wait`, one producer,
//!   `OsBuffered` (the fdatasync is a system call, not instructions);
//! - `append1 N`: `N` single `append(..).wait()` calls, same events and log;
//! - `append_pii N` / `append_protected N`: as `append`, each event also given an e-mail, a
//!   name and an IP address, on a log without / with a privacy policy protecting those three
//!   fields (the cost of protection per event, docs/BENCHMARKS.md "Privacy");
//! - `query N`: on a sealed log of 5,000 events with its index files, `N` rounds of one
//!   actor query (records decoded), one count of that actor and one ~1,000-event time range
//!   (records decoded);
//! - `verify N`: `N` full verifications (one thread, payloads decoded) of that log.

use auditlog::query::Query;
use auditlog::{AuditLog, Durability, IndexCheck, VerifyOptions};

mod common;

/// Events in the query and verify log.
const LOG_EVENTS: usize = 5_000;

/// Distinct events the append cases cycle through. Fixed, whatever `N`: generating (and
/// sizing, which encodes) the events is set-up, and set-up must not grow with `N`, or it would
/// be counted as the cost of the appends (it was: 2,000 generated events added ~35,000
/// instructions to each, five times the batched append itself).
const APPEND_POOL: usize = 1_000;

/// Events per `append_batch` in the `append` case (divides [`APPEND_POOL`]).
const BATCH: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (case, n) = match (
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) {
        (Some(case), Some(n)) => (case.as_str(), n),
        _ => {
            eprintln!(
                "usage: instructions append|append1|append_pii|append_protected|query|verify N"
            );
            std::process::exit(2);
        }
    };
    let tmp = common::temp_dir();
    let dir = tmp.path().join("log");
    match case {
        "append" | "append1" | "append_pii" | "append_protected" => {
            let mut events = common::sized_events(APPEND_POOL, 500);
            let log = if case.starts_with("append_p") {
                personal_data(&mut events);
                protected_log(&dir, case == "append_protected")
            } else {
                common::open_log(&dir, Durability::OsBuffered)
            };
            if case != "append1" {
                for i in 0..n.div_ceil(BATCH) {
                    let start = i * BATCH % APPEND_POOL;
                    let len = BATCH.min(n - i * BATCH);
                    log.append_batch(&events[start..start + len])
                        .and_then(|h| h.wait())
                        .expect("append");
                }
            } else {
                for event in events.iter().cycle().take(n) {
                    log.append(event).and_then(|h| h.wait()).expect("append");
                }
            }
            log.close().expect("close");
        }
        "query" | "verify" => {
            let log = common::sample_log(&dir, LOG_EVENTS, 4 << 20);
            log.seal().expect("seal");
            log.close().expect("close");
            let log = AuditLog::open(&dir).expect("open");
            if case == "query" {
                let generator = auditlog_format::sample::SampleEvents::new(42);
                for i in 0..n {
                    let actor = generator.actor_of((i * 7919 % LOG_EVENTS) as u64);
                    let q = Query::new().actor(actor);
                    std::hint::black_box(log.query(&q).expect("query").records.len());
                    std::hint::black_box(log.count(&q).expect("count"));
                    let from = (i * 3001 % (LOG_EVENTS - 1001)) as u64;
                    let lo = log.get(from).expect("get").recorded_at;
                    let hi = log.get(from + 1000).expect("get").recorded_at;
                    let range = Query::new().recorded_since(lo).recorded_until(hi);
                    std::hint::black_box(log.query(&range).expect("range").records.len());
                }
                log.close().expect("close");
            } else {
                log.close().expect("close");
                let options = VerifyOptions {
                    threads: 1,
                    ..VerifyOptions::default()
                };
                for _ in 0..n {
                    let report =
                        auditlog::verify_with(&dir, &options, IndexCheck::Compare).expect("verify");
                    std::hint::black_box(report);
                }
            }
        }
        other => {
            eprintln!("unknown case {other}");
            std::process::exit(2);
        }
    }
}

/// Gives every event an e-mail, a name and an IP address of one of 100 subjects.
fn personal_data(events: &mut [auditlog::Event]) {
    for (i, e) in events.iter_mut().enumerate() {
        e.actor.id = format!("user:{}", i % 100);
        e.actor.email = Some(format!("person{}@example.com", i % 100));
        e.actor.name = Some(format!("Person Number {}", i % 100));
        e.ip = Some(format!("203.0.113.{}", i % 250));
    }
}

/// A log for `append_pii` / `append_protected`, as `common::open_log`, with a privacy
/// policy protecting those three fields if `protect`.
fn protected_log(dir: &std::path::Path, protect: bool) -> AuditLog {
    let builder = AuditLog::builder(dir).durability(Durability::OsBuffered);
    let builder = match protect {
        true => builder
            .privacy_policy(
                auditlog::privacy::PrivacyPolicy::parse_spec("actor.email,actor.name,ip", None)
                    .expect("policy"),
            )
            .master_key(auditlog::privacy::MasterKey::from_bytes([7; 32])),
        false => builder,
    };
    builder.open().expect("open")
}
