//! A log being appended to by a writer thread (small segments, so it also rolls) is verified
//! in a loop: verify must never report damage, only the committed prefix and at most a
//! warning about an in-flight tail.

mod common;

use auditlog::Durability;
use auditlog::verify::{VerifyOptions, verify};
use common::{event, small_segments};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn verifying_while_appending_never_reports_damage() {
    for durability in [Durability::Immediate, Durability::OsBuffered] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("log");
        let log = Arc::new(
            small_segments(&dir)
                .durability(durability)
                .open()
                .expect("open"),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 4_200 {
                    let batch: Vec<_> = (i..i + 7).map(event).collect();
                    log.append_batch(&batch)
                        .expect("append")
                        .wait()
                        .expect("ack");
                    i += 7;
                }
            })
        };
        let mut last_size = 0;
        let mut rounds = 0;
        // Verify for as long as the writer runs (and at least a few times).
        while !writer.is_finished() || rounds < 5 {
            let r = verify(&dir, &VerifyOptions::default()).expect("verify runs");
            assert!(r.ok, "false alarm on a live log: {r}");
            assert!(r.tree_head.size >= last_size, "the verified prefix shrank");
            last_size = r.tree_head.size;
            rounds += 1;
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer");
        let head = log.tree_head().unwrap();
        drop(log);
        let r = verify(&dir, &VerifyOptions::default()).expect("verify");
        assert!(r.ok && r.warnings.is_empty(), "{r}");
        assert_eq!(r.tree_head, head);
        assert!(r.segments_checked > 2, "the log rolled while verified");
        assert_eq!(r.records, 4_200);
    }
}
