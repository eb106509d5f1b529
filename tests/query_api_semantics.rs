//! Query API semantics on a small log spanning several segments: each filter, both orders,
//! limits and cursors, counts, aggregations and the live tail, each checked against a
//! brute-force filter over all records read with `iter`.

mod common;

use auditlog::query::{Field, GroupBy, GroupKey, Order, Pattern, Query, TimeField};
use auditlog::{AuditLog, Error, Event, Outcome, Record, Severity, Timestamp};
use std::time::Duration;

fn labelled(i: u64) -> Event {
    let mut e = common::event(i)
        .tenant(["acme", "globex"][(i % 2) as usize])
        .occurred_at(Timestamp::from_unix_secs(
            1_800_000_000 + (i as i64 % 50) * 60,
        ));
    if i.is_multiple_of(7) {
        e = e.label("PCI").outcome(Outcome::Denied);
    }
    if i.is_multiple_of(11) {
        e = e.error_message("Card DECLINED by issuer");
    }
    e
}

fn open_filled(dir: &std::path::Path, n: u64) -> AuditLog {
    let log = common::small_segments(dir).open().expect("open");
    let events: Vec<Event> = (0..n).map(labelled).collect();
    for chunk in events.chunks(300) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("ack");
    }
    log
}

fn brute(log: &auditlog::LogReader, q: &Query) -> Vec<Record> {
    common::read_all(log)
        .into_iter()
        .filter(|r| q.matches(r))
        .collect()
}

fn segment_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("list")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        })
        .count()
}

fn seqs(records: &[Record]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

#[test]
fn each_filter_agrees_with_brute_force_in_both_orders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open_filled(dir.path(), 1500);
    assert!(
        segment_files(dir.path()) > 2,
        "the test needs several segments"
    );
    let all = common::read_all(&log);
    let mid = all[700].recorded_at;
    let queries = [
        Query::new(),
        Query::new().actor("user:5"),
        Query::new().entity("order", "17"),
        Query::new().entity_kind("order").actor("user:3"),
        Query::new().action("LOGIN_FAILED"),
        Query::new().action_prefix("user."),
        Query::new().tenant("acme").severity(Severity::High),
        Query::new().severity_at_least(Severity::High),
        Query::new().outcome(Outcome::Denied),
        Query::new().label("PCI"),
        Query::new().text("declined"),
        Query::new().recorded_since(mid),
        Query::new().recorded_until(mid).actor("user:1"),
        // OR-lists of exact actors are served by merged postings lists; with a wildcard or
        // ignoring case, by a scan: both must give what the filter says.
        Query::new().any_of(
            Field::Actor,
            [
                Pattern::exact("user:2"),
                Pattern::exact("user:5"),
                Pattern::exact("nobody"),
            ],
        ),
        Query::new()
            .any_of(
                Field::Actor,
                [Pattern::exact("user:2"), Pattern::exact("user:5")],
            )
            .actor("user:5"),
        Query::new()
            .any_of(
                Field::Actor,
                [Pattern::exact("user:2"), Pattern::exact("user:3")],
            )
            .entity_kind("order")
            .recorded_since(mid),
        Query::new().any_of(
            Field::Actor,
            [Pattern::exact("user:2"), Pattern::wildcard("user:1*")],
        ),
        Query::new().any_of(
            Field::Actor,
            [Pattern::exact("USER:2"), Pattern::exact("user:4")].map(Pattern::ignore_case),
        ),
        Query::new().time_range(
            TimeField::Occurred,
            Timestamp::from_unix_secs(1_800_000_600),
            Timestamp::from_unix_secs(1_800_001_200),
        ),
    ];
    for q in queries {
        let expected = brute(&log, &q);
        let page = log.query(&q).expect("query");
        assert_eq!(seqs(&page.records), seqs(&expected), "{q:?}");
        assert!(!page.has_more);
        let mut rev = expected.clone();
        rev.reverse();
        let page = log
            .query(&q.clone().order(Order::NewestFirst))
            .expect("query");
        assert_eq!(seqs(&page.records), seqs(&rev), "newest first {q:?}");
        assert_eq!(log.count(&q).expect("count"), expected.len() as u64);
    }
}

#[test]
fn pages_cover_every_match_once_in_both_orders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open_filled(dir.path(), 900);
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let q = Query::new()
            .severity_at_least(Severity::Medium)
            .order(order);
        let mut expected = seqs(&brute(&log, &q));
        if order == Order::NewestFirst {
            expected.reverse();
        }
        let mut got = Vec::new();
        let mut page = log.query(&q.clone().limit(37)).expect("query");
        loop {
            got.extend(seqs(&page.records));
            if !page.has_more {
                break;
            }
            // The cursor survives a round trip through text.
            let cursor = page.cursor.to_string().parse().expect("cursor");
            page = log
                .query(&q.clone().limit(37).after(cursor))
                .expect("query");
        }
        assert_eq!(got, expected, "{order:?}");
    }
}

#[test]
fn a_cursor_of_another_query_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open_filled(dir.path(), 50);
    let page = log
        .query(&Query::new().actor("user:1").limit(1))
        .expect("query");
    let err = log
        .query(&Query::new().actor("user:2").after(page.cursor))
        .expect_err("foreign cursor");
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err}");
    assert!(matches!(
        "nonsense".parse::<auditlog::query::Cursor>(),
        Err(Error::InvalidCursor { .. })
    ));
}

#[test]
fn aggregations_count_each_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open_filled(dir.path(), 600);
    let q = Query::new().tenant("acme");
    let matching = brute(&log, &q);
    let by_action = log.aggregate(&q, GroupBy::Action).expect("aggregate");
    assert_eq!(by_action.total, matching.len() as u64);
    for (key, count) in &by_action.groups {
        let GroupKey::Text(action) = key else {
            panic!("action groups are text: {key:?}");
        };
        let n = matching
            .iter()
            .filter(|r| r.event.action == *action)
            .count();
        assert_eq!(*count, n as u64, "{action}");
    }
    let by_severity = log.aggregate(&q, GroupBy::Severity).expect("aggregate");
    let sum: u64 = by_severity.groups.iter().map(|(_, n)| n).sum();
    assert_eq!(sum, matching.len() as u64);
    let by_hour = log
        .aggregate(&q, GroupBy::Hour(TimeField::Occurred))
        .expect("aggregate");
    // occurred_at spans 50 minutes from a whole hour: at most two hour buckets.
    assert!(
        (1..=2).contains(&by_hour.groups.len()),
        "{:?}",
        by_hour.groups
    );
    assert_eq!(by_hour.total, matching.len() as u64);
}

#[test]
fn subscription_delivers_each_matching_record_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = std::sync::Arc::new(open_filled(dir.path(), 100));
    let q = Query::new().actor("user:3");
    let mut sub = log.subscribe(&q, 40);
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 100..400 {
                log.append(&labelled(i))
                    .expect("append")
                    .wait()
                    .expect("ack");
            }
        })
    };
    let expected: Vec<u64> = (40..400).filter(|i| i % 97 == 3).collect();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let record = sub
            .next_timeout(Duration::from_secs(30))
            .expect("read")
            .expect("a record within 30 s");
        got.push(record.seq);
    }
    writer.join().expect("writer");
    assert_eq!(got, expected);
    assert_eq!(
        sub.next_timeout(Duration::from_millis(50)).expect("read"),
        None
    );
}

/// A waker that unparks the polling thread: enough to drive a future without a runtime.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

#[test]
fn async_stream_is_woken_by_commits_and_ends_when_the_log_is_dropped() {
    use std::future::Future;
    use std::task::{Context, Poll};
    let dir = tempfile::tempdir().expect("tempdir");
    let log = std::sync::Arc::new(open_filled(dir.path(), 10));
    let mut stream = log.stream(&Query::new().action("LOGIN_FAILED"), log.end_seq());
    let waker = std::task::Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    assert!(stream.poll_next(&mut cx).is_pending(), "nothing new yet");
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 10..70 {
                log.append(&labelled(i))
                    .expect("append")
                    .wait()
                    .expect("ack");
            }
        })
    };
    let expected: Vec<u64> = (10..70).filter(|i| i % 3 == 1).collect();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let mut next = std::pin::pin!(stream.next_record());
        match next.as_mut().poll(&mut cx) {
            Poll::Ready(Some(record)) => got.push(record.expect("read").seq),
            Poll::Ready(None) => panic!("stream ended early"),
            // Woken by the writer's publish; the timeout only guards against a lost wake-up.
            Poll::Pending => std::thread::park_timeout(std::time::Duration::from_secs(10)),
        }
    }
    writer.join().expect("writer");
    assert_eq!(got, expected);
    drop(log);
    assert!(matches!(stream.poll_next(&mut cx), Poll::Ready(None)));
}
