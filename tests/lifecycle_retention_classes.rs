//! Retention classes: a classified root routes each event to the class its severity maps to
//! (one ordinary log per class), applies each class's own retention by the engine's clock
//! (the short-lived class loses its old segments, the long-lived one keeps them), verifies
//! class by class afterwards (library and `auditlog verify ROOT`), merges queries across
//! classes by `recorded_at` page by page, reopens identically, and refuses a damaged
//! manifest, other classes, and a missing or replaced sub-log with typed errors.

mod common;
mod lifecycle_support;
use auditlog::classes::{CLASSES_FILE, verify_classified};
use auditlog::classes::{ClassifiedCursor, ClassifiedLog, RetentionClass};
use auditlog::query::{Order, Query};
use auditlog::{AuditLog, Clock, Error, Event, ReadOnlyLog, Severity, Timestamp};
use common::event;
use lifecycle_support::{Crashing, CrashingFs};
use std::path::Path;
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

const DAY: i64 = 86_400_000_000_000;

/// Info, low and medium kept one day; high and critical ten days.
fn classes() -> Vec<RetentionClass> {
    let days = |d: u64| Some(Duration::from_secs(d * 86_400));
    vec![
        RetentionClass::new(
            "short",
            [Severity::Info, Severity::Low, Severity::Medium],
            days(1),
        ),
        RetentionClass::new("long", [Severity::High, Severity::Critical], days(10)),
    ]
}

fn open(root: &Path, clock: &Arc<TestClock>) -> ClassifiedLog {
    let clock = clock.clone();
    ClassifiedLog::builder(root)
        .classes(classes())
        .sub_log(move |dir| {
            common::small_segments(dir)
                .clock(clock.clone())
                .segment_max_age(Duration::from_secs(365 * 86_400))
        })
        .open()
        .expect("open the classified root")
}

fn append(log: &ClassifiedLog, range: std::ops::Range<u64>) {
    let events: Vec<Event> = range.map(event).collect();
    for chunk in events.chunks(300) {
        let receipts = log.append_batch(chunk).unwrap().wait().unwrap();
        for ((class, _), e) in receipts.iter().zip(chunk) {
            assert_eq!(class, log.class_of(e.severity));
        }
    }
}

fn all_of(log: &auditlog::LogReader) -> Vec<auditlog::Record> {
    log.iter(..).collect::<Result<_, _>>().unwrap()
}

#[test]
fn events_route_by_severity_and_each_class_keeps_its_own_time() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let clock = Arc::new(TestClock(AtomicI64::new(0)));
    let log = open(&root, &clock);
    append(&log, 0..2000);
    log.seal().unwrap();
    clock.0.store(3 * DAY, Ordering::SeqCst);
    append(&log, 2000..2500);
    log.seal().unwrap();

    // Routing: each class holds exactly its severities, in append order.
    let short = all_of(log.class("short").unwrap());
    let long = all_of(log.class("long").unwrap());
    assert_eq!(short.len(), 1500);
    assert_eq!(long.len(), 1000);
    assert!(short.iter().all(|r| r.event.severity <= Severity::Medium));
    assert!(long.iter().all(|r| r.event.severity >= Severity::High));
    let single = log.append(&event(3)).unwrap();
    assert_eq!(single.class(), "long");
    let (class, receipt) = single.wait().unwrap();
    assert_eq!((class.as_str(), receipt.seq), ("long", 1000));

    // Retention: a dry run changes nothing; then the short class loses its day-0 segments,
    // the long class (ten days) keeps everything.
    let plan = log.plan_retention().unwrap();
    assert!(!plan[0].1.segments.is_empty() && plan[1].1.segments.is_empty());
    assert_eq!(log.class("short").unwrap().first_seq(), 0);
    // maintain() runs each class's recorded retention (through the sub-logs' maintenance).
    let maintained = log.maintain().unwrap();
    let applied: Vec<_> = maintained
        .iter()
        .map(|(c, r)| (c.clone(), r.retention.clone().expect("retention ran")))
        .collect();
    assert_eq!(applied[0].0, "short");
    assert_eq!(applied[0].1.segments, plan[0].1.segments);
    assert_eq!(applied[0].1.cut.as_ref().map(|c| c.cut_seq), Some(1200));
    assert!(applied[1].1.cut.is_none());
    let again = log.apply_retention().unwrap();
    assert!(
        again.iter().all(|(_, r)| r.cut.is_none()),
        "nothing more is due"
    );
    assert_eq!(log.class("short").unwrap().first_seq(), 1200);
    assert_eq!(log.class("long").unwrap().first_seq(), 0);
    let heads = log.tree_heads().unwrap();
    log.close().unwrap();

    // The CLI's dry run lists per class (by the system clock, to which day 3 of 1970 is old)
    // and deletes nothing; a single-log policy flag is refused on a root.
    let bin = env!("CARGO_BIN_EXE_auditlog");
    let dry = std::process::Command::new(bin)
        .args(["retention", "--dry-run", "--dir"])
        .arg(&root)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{out}");
    assert!(out.contains("class short (keep 1 days):"), "{out}");
    assert!(out.contains("class long (keep 10 days):"), "{out}");
    assert!(out.contains("would delete records 0.."), "{out}");
    let flags = std::process::Command::new(bin)
        .args(["retention", "--max-age-days", "1", "--dir"])
        .arg(&root)
        .status()
        .unwrap();
    assert_eq!(flags.code(), Some(2));

    let report = verify_classified(&root, &Default::default()).unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(report.classes.len(), 2);
    assert_eq!(report.classes[0].1.first_seq, 1200);
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .arg("verify")
        .arg(&root)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{out}");
    assert!(
        out.contains("class short: OK") && out.contains("class long: OK"),
        "{out}"
    );

    // Reopen with the recorded classes: same classes, same heads, same records.
    let log = ClassifiedLog::open(&root).unwrap();
    assert_eq!(log.classes(), classes().as_slice());
    assert_eq!(log.tree_heads().unwrap(), heads);
    assert_eq!(all_of(log.class("long").unwrap()).len(), 1001);
    log.close().unwrap();
}

#[test]
fn queries_merge_the_classes_by_recorded_at_page_by_page() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let clock = Arc::new(TestClock(AtomicI64::new(0)));
    let log = open(&root, &clock);
    // Interleave the classes in time: 50 appends, one tick apart (ties within a batch).
    for i in 0..50 {
        clock.0.store(i * 1_000, Ordering::SeqCst);
        append(&log, i as u64 * 7..(i as u64 + 1) * 7);
    }
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let q = Query::new().action("LOGIN_FAILED").order(order).limit(9);
        let mut got = Vec::new();
        let mut cursor = ClassifiedCursor::default();
        loop {
            let page = log.query_after(&q, &cursor).unwrap();
            got.extend(page.records.iter().cloned());
            // The text form round-trips, as an HTTP API would pass it.
            cursor = page.cursor.to_string().parse().unwrap();
            if !page.has_more {
                break;
            }
        }
        let mut expected: Vec<(String, auditlog::Record)> = ["short", "long"]
            .iter()
            .flat_map(|c| {
                all_of(log.class(c).unwrap())
                    .into_iter()
                    .filter(|r| r.event.action == "LOGIN_FAILED")
                    .map(|r| (c.to_string(), r))
            })
            .collect();
        let class_index = |c: &str| usize::from(c == "long");
        expected.sort_by_key(|(c, r)| (r.recorded_at, class_index(c), r.seq));
        if order == Order::NewestFirst {
            expected.reverse();
        }
        assert_eq!(got.len(), expected.len());
        assert_eq!(got, expected, "{order:?}");
        assert_eq!(log.count(&q).unwrap(), expected.len() as u64);
    }
    let with_single_cursor = Query::new().after(
        log.class("short")
            .unwrap()
            .query(&Query::new().limit(1))
            .unwrap()
            .cursor,
    );
    assert!(matches!(
        log.query(&with_single_cursor),
        Err(Error::InvalidCursor { .. })
    ));
    log.close().unwrap();
}

#[test]
fn the_manifest_refuses_damage_other_classes_and_replaced_sub_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let clock = Arc::new(TestClock(AtomicI64::new(0)));
    let log = open(&root, &clock);
    append(&log, 0..20);
    log.close().unwrap();
    let manifest = root.join(CLASSES_FILE);
    let good = std::fs::read(&manifest).unwrap();

    // Other classes than recorded.
    let err = ClassifiedLog::builder(&root)
        .classes(RetentionClass::defaults())
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::ClassMismatch { .. }), "{err}");

    // A flipped byte anywhere (here: a severity mask) is damage, typed.
    let mut bad = good.clone();
    bad[13 + 1 + 5] ^= 0b100;
    std::fs::write(&manifest, &bad).unwrap();
    let err = ClassifiedLog::open(&root).unwrap_err();
    assert!(err.corruption().is_some(), "{err}");
    let report = verify_classified(&root, &Default::default()).unwrap();
    assert!(!report.ok && report.problems.len() == 1, "{report}");
    assert_eq!(report.classes.len(), 2, "the sub-logs are still verified");
    std::fs::write(&manifest, &good).unwrap();

    // A sub-log replaced by another log.
    let other = tmp.path().join("other");
    AuditLog::open(&other).unwrap().close().unwrap();
    let long = root.join("long");
    std::fs::rename(&long, tmp.path().join("long-orig")).unwrap();
    std::fs::rename(&other, &long).unwrap();
    let err = ClassifiedLog::open(&root).unwrap_err();
    assert!(
        matches!(&err, Error::ClassMismatch { reason, .. } if reason.contains("replaced")),
        "{err}"
    );
    assert!(!verify_classified(&root, &Default::default()).unwrap().ok);

    // A missing sub-log is never recreated empty.
    std::fs::remove_dir_all(&long).unwrap();
    let err = ClassifiedLog::open(&root).unwrap_err();
    assert!(
        matches!(&err, Error::ClassMismatch { reason, .. } if reason.contains("missing")),
        "{err}"
    );
    assert!(!long.exists());
    std::fs::rename(tmp.path().join("long-orig"), &long).unwrap();

    // Opening the root as one log says to pass a class directory; a missing manifest is not
    // a classified root.
    let err = AuditLog::open(&root).unwrap_err();
    assert!(err.to_string().contains("classified root"), "{err}");
    assert!(!root.join("LOCK").exists(), "nothing written into the root");
    let err = ReadOnlyLog::open(&root).unwrap_err();
    assert!(err.to_string().contains("long"), "names the classes: {err}");
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["stats", "--dir"])
        .arg(&root)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&stats.stderr);
    assert!(
        !stats.status.success() && said.contains("class's sub-directory"),
        "{said}"
    );
    std::fs::remove_file(&manifest).unwrap();
    assert!(matches!(
        ClassifiedLog::open(&root),
        Err(Error::NotALog { .. })
    ));
    std::fs::write(&manifest, &good).unwrap();
    let log = ClassifiedLog::open(&root).unwrap();
    assert_eq!(log.count(&Query::new()).unwrap(), 20);
    log.close().unwrap();
}

#[test]
fn a_crash_at_any_step_of_creating_a_root_leaves_one_that_opens_with_the_same_classes() {
    for n in 0.. {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let fs = CrashingFs::new();
        fs.crash_after(n);
        let result = ClassifiedLog::builder(&root)
            .classes(RetentionClass::defaults())
            .sub_log(common::small_segments)
            .file_system(Arc::new(Crashing(fs.clone())))
            .open();
        let crashed = fs.crashed();
        assert_eq!(result.is_err(), crashed, "step {n}: {:?}", result.err());
        drop(result);
        let log = ClassifiedLog::builder(&root)
            .classes(RetentionClass::defaults())
            .sub_log(common::small_segments)
            .open()
            .unwrap_or_else(|e| panic!("step {n}: reopen: {e}"));
        log.append(&event(4)).unwrap().wait().unwrap();
        log.close().unwrap();
        let report = verify_classified(&root, &Default::default()).unwrap();
        assert!(report.ok, "step {n}: {report}");
        assert_eq!(report.classes.len(), 4);
        if !crashed {
            eprintln!("creation took {n} write-path steps");
            assert!(n > 10, "creation takes many steps, each tested");
            return;
        }
    }
}
