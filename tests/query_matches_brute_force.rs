//! Property test: for random data spread over several small segments (the last one active)
//! and random combinations of filters, orders, limits and cursors, every query, count and
//! aggregation (and `query_lazy`) equals a brute-force filter over all records read with
//! `iter`. This is what
//! shows the indexes (time, actor, entity, summaries) only ever speed a query up.
//! `AUDITLOG_LONG_TESTS=1` runs many more cases.

mod common;

use auditlog::query::{GroupBy, Order, Query, TimeField};
use auditlog::{AuditLog, Durability, Event, Outcome, Record, Severity, Timestamp};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const BASE_SECS: i64 = 1_800_000_000;
const ACTIONS: &[&str] = &[
    "user.login",
    "user.logout",
    "order.create",
    "order.refund",
    "LOGIN_FAILED",
];
const LABELS: &[&str] = &["PCI", "SOX", "GDPR"];

/// Small cardinalities so random filters hit; a few fields sometimes absent.
fn random_event(seed: u64, i: u64) -> Event {
    let r = |k: u64| {
        let mut x =
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ k;
        x ^= x >> 31;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 29)
    };
    let mut e = Event::new(format!("user:{}", r(1) % 23), ACTIONS[(r(2) % 5) as usize])
        .severity(Severity::ALL[(r(3) % 5) as usize])
        .outcome(Outcome::ALL[(r(4) % 4) as usize]);
    if r(5) % 4 != 0 {
        e = e.entity(
            ["order", "user"][(r(6) % 2) as usize],
            format!("{}", r(7) % 31),
        );
    }
    if r(8) % 3 != 0 {
        e = e.tenant(["acme", "globex", "initech"][(r(9) % 3) as usize]);
    }
    if r(10) % 2 == 0 {
        e = e.label(LABELS[(r(11) % 3) as usize]);
    }
    if r(12) % 5 != 0 {
        e = e.occurred_at(Timestamp::from_unix_secs(BASE_SECS + (r(13) % 3600) as i64));
    }
    if r(14) % 9 == 0 {
        e = e.error_message("Card Declined");
    }
    e
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: AuditLog,
    all: Vec<Record>,
}

/// One log per data seed, built once and shared by the cases using that seed.
fn fixture(seed: u64) -> Arc<Fixture> {
    static FIXTURES: OnceLock<Mutex<HashMap<u64, Arc<Fixture>>>> = OnceLock::new();
    let mut map = FIXTURES.get_or_init(Default::default).lock().expect("lock");
    map.entry(seed)
        .or_insert_with(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let log = common::small_segments(dir.path())
                .durability(Durability::OsBuffered)
                .open()
                .expect("open");
            let n = 2500 + seed * 300;
            let events: Vec<Event> = (0..n).map(|i| random_event(seed, i)).collect();
            for chunk in events.chunks(97) {
                log.append_batch(chunk)
                    .expect("append")
                    .wait()
                    .expect("ack");
            }
            let all = common::read_all(&log);
            assert!(
                common::segment_files(dir.path()).len() >= 3,
                "needs several segments"
            );
            Arc::new(Fixture {
                _dir: dir,
                log,
                all,
            })
        })
        .clone()
}

/// A random query; `None` fields stay unset. Times are picked near the data's.
fn query_strategy() -> impl Strategy<Value = (Query, Option<(usize, usize)>, Option<usize>)> {
    let opt_idx = |n: usize| proptest::option::weighted(0.3, 0..n);
    (
        (
            opt_idx(23),
            opt_idx(31),
            opt_idx(5),
            any::<bool>(),
            opt_idx(3),
            opt_idx(4),
        ),
        (
            opt_idx(5),
            any::<bool>(),
            opt_idx(3),
            proptest::option::weighted(0.1, Just("declined")),
        ),
        (
            proptest::option::weighted(0.3, (0usize..1500, 1usize..800)),
            proptest::option::weighted(0.2, (0i64..3600, 1i64..1800)),
        ),
        (any::<bool>(), proptest::option::weighted(0.5, 1usize..50)),
    )
        .prop_map(
            |(
                (actor, entity, action, prefix, tenant, outcome),
                (sev, at_least, label, text),
                (rec, occ),
                (newest, limit),
            )| {
                let mut q = Query::new();
                if let Some(a) = actor {
                    q = q.actor(format!("user:{a}"));
                }
                if let Some(e) = entity {
                    q = q.entity(["order", "user"][e % 2], format!("{e}"));
                }
                if let Some(a) = action {
                    q = if prefix {
                        q.action_prefix(&ACTIONS[a][..3])
                    } else {
                        q.action(ACTIONS[a])
                    };
                }
                if let Some(t) = tenant {
                    q = q.tenant(["acme", "globex", "initech"][t]);
                }
                if let Some(o) = outcome {
                    q = q.outcome(Outcome::ALL[o]);
                }
                if let Some(s) = sev {
                    q = if at_least {
                        q.severity_at_least(Severity::ALL[s])
                    } else {
                        q.severity(Severity::ALL[s])
                    };
                }
                if let Some(l) = label {
                    q = q.label(LABELS[l]);
                }
                if let Some(t) = text {
                    q = q.text(t);
                }
                if let Some((from, len)) = occ {
                    q = q.time_range(
                        TimeField::Occurred,
                        Timestamp::from_unix_secs(BASE_SECS + from),
                        Timestamp::from_unix_secs(BASE_SECS + from + len),
                    );
                }
                if newest {
                    q = q.order(Order::NewestFirst);
                }
                (q, rec, limit)
            },
        )
}

/// A `recorded_at` range from record number `from` to `from + len` of the data, so that it
/// lands inside the data (recorded_at comes from the wall clock).
fn with_recorded_range(q: Query, range: Option<(usize, usize)>, all: &[Record]) -> Query {
    let Some((from, len)) = range else {
        return q;
    };
    let from = from % all.len();
    let to = (from + len).min(all.len() - 1);
    q.recorded_since(all[from].recorded_at)
        .recorded_until(all[to].recorded_at)
}

fn seqs(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

fn cases() -> u32 {
    if std::env::var_os("AUDITLOG_LONG_TESTS").is_some() {
        2000
    } else {
        96
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn queries_equal_brute_force(seed in 0u64..3, (query, rec, limit) in query_strategy()) {
        let fx = fixture(seed);
        let query = with_recorded_range(query, rec, &fx.all);
        let mut expected: Vec<u64> = fx.all.iter().filter(|r| query.matches(r)).map(|r| r.seq).collect();
        if query.get_order() == Order::NewestFirst {
            expected.reverse();
        }
        // Unlimited: one page with everything.
        let page = fx.log.query(&query).expect("query");
        prop_assert_eq!(seqs(&page.records), expected.clone());
        prop_assert!(!page.has_more);
        // Records read in place: the same records, page and cursor.
        let lazy = fx.log.query_lazy(&query).expect("query_lazy");
        prop_assert_eq!(lazy.records.iter().map(|r| r.seq()).collect::<Vec<_>>(), expected.clone());
        prop_assert_eq!((lazy.cursor, lazy.has_more), (page.cursor, page.has_more));
        prop_assert_eq!(fx.log.count(&query).expect("count"), expected.len() as u64);
        let by_actor = fx.log.aggregate(&query, GroupBy::Actor).expect("aggregate");
        prop_assert_eq!(by_actor.total, expected.len() as u64);
        // Paged: the pages concatenate to the same list.
        if let Some(limit) = limit {
            let mut got = Vec::new();
            let mut q = query.clone().limit(limit);
            loop {
                let page = fx.log.query(&q).expect("page");
                prop_assert!(page.records.len() <= limit);
                got.extend(seqs(&page.records));
                if !page.has_more {
                    break;
                }
                q = query.clone().limit(limit).after(page.cursor);
            }
            prop_assert_eq!(got, expected);
        }
    }
}
