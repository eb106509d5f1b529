//! A read-only handle follows a writer (as another process would): `refresh` picks up new
//! records and segments across rolls, `wait_for_records` wakes when records arrive, and what it
//! reads is identical to what the writer wrote, with the same tree head.

mod common;
use auditlog::ReadOnlyLog;
use common::*;
use std::time::Duration;

#[test]
fn read_only_handle_follows_a_writer_across_rolls() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = small_segments(tmp.path()).open().unwrap();
    append_range(&writer, 0, 100);
    let reader = ReadOnlyLog::open(tmp.path()).unwrap();
    assert_eq!(reader.end_seq(), 100);
    let mut seen = 100;
    for round in 1..=8u64 {
        append_range(&writer, seen, seen + 250);
        if round % 3 == 0 {
            writer.seal().unwrap();
        }
        let end = reader.refresh().unwrap();
        assert_eq!(end, seen + 250, "round {round}");
        assert_eq!(
            reader.tree_head().unwrap(),
            writer.tree_head().unwrap(),
            "round {round}"
        );
        seen = end;
    }
    assert!(
        segment_files(tmp.path()).len() > 3,
        "the writer should have rolled"
    );
    assert_events(&read_all(&reader), seen);
    // Reading backwards and by seq works on followed segments too.
    assert_eq!(reader.get(seen - 1).unwrap().event, event(seen - 1));
    let last: Vec<u64> = reader
        .iter(..)
        .rev()
        .take(3)
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(last, vec![seen - 1, seen - 2, seen - 3]);

    // wait_for_records returns once a concurrent append lands.
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn({
        let reader_dir = tmp.path().to_path_buf();
        move || {
            let reader = ReadOnlyLog::open(&reader_dir).unwrap();
            let start = reader.end_seq();
            opened_tx.send(()).unwrap();
            let mut end = start;
            for _ in 0..200 {
                end = reader.wait_for_records(start, Duration::from_millis(100));
                if end > start {
                    break;
                }
            }
            (start, end)
        }
    });
    opened_rx.recv().unwrap();
    append_range(&writer, seen, seen + 5);
    let (start, end) = handle.join().unwrap();
    assert!(end > start, "the waiting reader never saw the new records");
}

#[test]
fn refresh_on_a_writer_handle_is_its_current_end() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = small_segments(tmp.path()).open().unwrap();
    append_range(&writer, 0, 10);
    assert_eq!(writer.refresh().unwrap(), 10);
}

#[test]
fn read_only_subscriptions_follow_a_writer() {
    use auditlog::query::Query;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    let tmp = tempfile::tempdir().unwrap();
    let writer = small_segments(tmp.path()).open().unwrap();
    append_range(&writer, 0, 10);
    let reader = ReadOnlyLog::open(tmp.path()).unwrap();
    let mut blocking = reader.subscribe(&Query::new(), 10);
    let mut stream = reader.stream(&Query::new(), 10);

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(stream.poll_next(&mut cx).is_pending());

    append_range(&writer, 10, 700); // crosses segment rolls
    for seq in 10..700 {
        let r = blocking
            .next_timeout(Duration::from_secs(20))
            .unwrap()
            .expect("record in time");
        assert_eq!(r.seq, seq);
    }
    // The async stream is woken by the follower thread, not by this test.
    let mut waited = 0;
    while !flag.0.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
        waited += 1;
        assert!(waited < 4000, "the async stream was never woken");
    }
    let mut next = 10;
    let mut idle = 0;
    while next < 700 {
        assert!(idle < 4000, "the async stream stalled at {next}");
        match stream.poll_next(&mut cx) {
            Poll::Ready(Some(r)) => {
                assert_eq!(r.unwrap().seq, next);
                next += 1;
            }
            Poll::Ready(None) => panic!("stream ended"),
            Poll::Pending => {
                idle += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
