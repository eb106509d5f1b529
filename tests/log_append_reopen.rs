//! Append, close, reopen and read back: records, order, tree heads and receipts survive.

mod common;
use auditlog::{AuditLog, Durability, Error};
use common::*;

#[test]
fn records_survive_reopen_across_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let head = {
        let log = small_segments(&dir).open().unwrap();
        assert!(log.open_report().created);
        append_range(&log, 0, 3000);
        let head = log.tree_head().unwrap();
        assert_eq!(head.size, 3000);
        log.close().unwrap();
        head
    };
    assert!(
        segment_files(&dir).len() > 3,
        "small segments should have rolled"
    );
    let log = small_segments(&dir).open().unwrap();
    assert!(!log.open_report().created);
    assert_eq!(log.tree_head().unwrap(), head);
    assert_events(&read_all(&log), 3000);
    // Appending continues the sequence and the tree.
    let r = log.append(&event(3000)).unwrap().wait().unwrap();
    assert_eq!(r.seq, 3000);
    assert_eq!(r.tree_size, 3001);
    assert_events(&read_all(&log), 3001);
}

#[test]
fn reverse_iteration_and_ranges_match_forward() {
    let tmp = tempfile::tempdir().unwrap();
    let log = small_segments(tmp.path()).open().unwrap();
    append_range(&log, 0, 1500);
    let forward = read_all(&log);
    let mut backward: Vec<_> = log.iter(..).rev().map(|r| r.unwrap()).collect();
    backward.reverse();
    assert_eq!(forward, backward);
    for (lo, hi) in [(0, 1), (15, 17), (100, 1400), (1499, 1500), (1490, 2000)] {
        let fwd: Vec<u64> = log.iter(lo..hi).map(|r| r.unwrap().seq).collect();
        let expected: Vec<u64> = (lo..hi.min(1500)).collect();
        assert_eq!(fwd, expected);
        let bwd: Vec<u64> = log.iter(lo..hi).rev().map(|r| r.unwrap().seq).collect();
        assert_eq!(bwd, expected.iter().rev().copied().collect::<Vec<_>>());
    }
    // Mixed ends meet without repeating or skipping.
    let mut it = log.iter(10..40);
    let mut seen = Vec::new();
    while let Some(a) = it.next() {
        seen.push(a.unwrap().seq);
        if let Some(b) = it.next_back() {
            seen.push(b.unwrap().seq);
        }
    }
    seen.sort();
    assert_eq!(seen, (10..40).collect::<Vec<_>>());
    assert_eq!(log.get(777).unwrap().event, event(777));
    assert!(matches!(
        log.get(1500),
        Err(Error::NotFound {
            seq: 1500,
            end: 1500,
            ..
        })
    ));
}

#[test]
fn every_durability_mode_keeps_records_after_close() {
    for durability in [
        Durability::Immediate,
        Durability::Periodic(std::time::Duration::from_millis(5)),
        Durability::OsBuffered,
    ] {
        let tmp = tempfile::tempdir().unwrap();
        {
            let log = small_segments(tmp.path())
                .durability(durability)
                .open()
                .unwrap();
            append_range(&log, 0, 700);
            // Dropping without close must lose nothing either.
        }
        let log = AuditLog::open(tmp.path()).unwrap();
        assert_events(&read_all(&log), 700);
    }
}

#[test]
fn receipts_match_stored_records_and_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let log = small_segments(tmp.path()).open().unwrap();
    let receipts = log
        .append_batch(&(0..100).map(event).collect::<Vec<_>>())
        .unwrap()
        .wait()
        .unwrap();
    let mut frontier = auditlog::merkle::Frontier::new();
    for (i, (receipt, record)) in receipts.iter().zip(read_all(&log)).enumerate() {
        assert_eq!(receipt.seq, i as u64);
        assert_eq!(receipt.recorded_at, record.recorded_at);
        assert_eq!(receipt.tree_size, 100);
        frontier.push(receipt.leaf_hash);
    }
    assert_eq!(frontier.tree_head(), log.tree_head().unwrap());
}

#[test]
fn recorded_at_never_decreases_when_the_clock_steps_back() {
    #[derive(Debug)]
    struct SteppingClock(std::sync::atomic::AtomicI64);
    impl auditlog::Clock for SteppingClock {
        fn now(&self) -> auditlog::Timestamp {
            // Each reading goes back one second.
            let t = self
                .0
                .fetch_sub(1_000_000_000, std::sync::atomic::Ordering::SeqCst);
            auditlog::Timestamp::from_nanos(t)
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(SteppingClock(std::sync::atomic::AtomicI64::new(
        1_800_000_000_000_000_000,
    )));
    let log = small_segments(tmp.path())
        .clock(clock.clone())
        .open()
        .unwrap();
    for i in 0..50 {
        log.append(&event(i)).unwrap().wait().unwrap();
    }
    log.seal().unwrap();
    drop(log);
    let log = small_segments(tmp.path()).clock(clock).open().unwrap();
    log.append(&event(50)).unwrap().wait().unwrap();
    let records = read_all(&log);
    assert!(
        records
            .windows(2)
            .all(|w| w[0].recorded_at <= w[1].recorded_at)
    );
}

#[test]
fn seal_on_request_and_empty_seal_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::open(tmp.path()).unwrap();
    log.seal().unwrap();
    assert_eq!(segment_files(tmp.path()).len(), 1);
    append_range(&log, 0, 10);
    log.seal().unwrap();
    assert_eq!(segment_files(tmp.path()).len(), 2);
    log.seal().unwrap();
    assert_eq!(segment_files(tmp.path()).len(), 2);
    append_range(&log, 10, 20);
    drop(log);
    let log = AuditLog::open(tmp.path()).unwrap();
    assert_events(&read_all(&log), 20);
}
