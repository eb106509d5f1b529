//! Maintenance by the engine's clock: with a test clock, `maintain()` deletes exactly the
//! segments whose newest record is older than the retention age (never the newest segment),
//! compresses the rest, and reports the cut on reopen; the background thread does the same
//! on its own once time has moved on. A dry run lists without deleting.

mod common;
use auditlog::lifecycle::{CompactOptions, MaintenancePolicy, RetentionPolicy};
use auditlog::{AuditLog, Clock, OpenCheck, Timestamp};
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

const HOUR: i64 = 3_600_000_000_000;

fn policy(interval: Option<Duration>) -> MaintenancePolicy {
    MaintenancePolicy {
        retention: Some(RetentionPolicy {
            max_age: Some(Duration::from_secs(24 * 3600)),
            max_total_bytes: None,
        }),
        compact: Some(CompactOptions::default()),
        interval,
        ..MaintenancePolicy::default()
    }
}

/// Day 0: events 0..1000 (several segments); day 2: events 1000..1200, sealed.
fn two_days(dir: &std::path::Path, clock: &Arc<TestClock>, interval: Option<Duration>) -> AuditLog {
    let log = small_segments(dir)
        .clock(clock.clone())
        .segment_max_age(Duration::from_secs(365 * 24 * 3600))
        .maintenance(policy(interval))
        .open()
        .unwrap();
    append_range(&log, 0, 1000);
    log.seal().unwrap();
    clock.0.store(48 * HOUR, Ordering::SeqCst);
    append_range(&log, 1000, 1200);
    log.seal().unwrap();
    log
}

#[test]
fn maintain_applies_retention_by_the_engine_clock_then_compresses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let clock = Arc::new(TestClock(AtomicI64::new(0)));
    let log = two_days(&dir, &clock, None);
    let plan = log
        .plan_retention(&RetentionPolicy {
            max_age: Some(Duration::from_secs(24 * 3600)),
            max_total_bytes: None,
        })
        .unwrap();
    assert_eq!(plan.segments.last().map(|s| s.end_seq), Some(1000));
    assert_eq!(log.first_seq(), 0, "a plan changes nothing");
    let report = log.maintain().unwrap();
    let retention = report.retention.unwrap();
    assert_eq!(retention.segments, plan.segments);
    assert_eq!(retention.cut.as_ref().map(|c| c.cut_seq), Some(1000));
    assert!(!report.compact.unwrap().compressed.is_empty());
    assert_eq!(log.first_seq(), 1000);
    drop(log);
    let log = small_segments(&dir)
        .clock(clock.clone())
        .open_check(OpenCheck::Full)
        .open()
        .unwrap();
    let removed = &log.open_report().removed;
    assert_eq!(removed.len(), 1);
    assert!(
        removed[0]
            .to_string()
            .starts_with("records 0..1000 removed by retention on 1970-01-03"),
        "{}",
        removed[0]
    );
    let records = read_all(&log);
    assert_eq!(records.first().map(|r| r.seq), Some(1000));
    assert_eq!(records.len(), 200);
}

#[test]
fn the_background_thread_maintains_on_its_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let clock = Arc::new(TestClock(AtomicI64::new(0)));
    let log = two_days(&dir, &clock, Some(Duration::from_millis(10)));
    // Wait (bounded) for the thread to run; what is asserted is the outcome, not the time.
    for _ in 0..1000 {
        if log.first_seq() == 1000 && segment_files(&dir).len() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(log.last_maintenance_error(), None);
    assert_eq!(log.first_seq(), 1000);
    assert_eq!(
        segment_files(&dir).len(),
        1,
        "all sealed segments compressed"
    );
    assert_eq!(read_all(&log).len(), 200);
}
