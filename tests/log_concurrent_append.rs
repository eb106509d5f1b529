//! 8 threads append 50,000 events each: the sequence is gapless, every receipt matches the
//! stored record, and the tree head equals one recomputed from the receipts.

mod common;
use auditlog::{AuditLog, Event, Receipt};
use std::collections::HashMap;
use std::sync::Arc;

#[test]
fn eight_threads_fifty_thousand_each() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(
        common::small_segments(tmp.path())
            .segment_max_bytes(4 << 20)
            .open()
            .unwrap(),
    );
    let threads = 8u64;
    let per_thread = 50_000u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut receipts = Vec::with_capacity(per_thread as usize);
                let mut pending = std::collections::VecDeque::new();
                for i in 0..per_thread {
                    let e =
                        Event::new(format!("thread:{t}"), "test.append").entity("n", i.to_string());
                    pending.push_back((i, log.append(&e).unwrap()));
                    // Keep a window of outstanding appends so groups form.
                    if pending.len() >= 256 {
                        let (i, h) = pending.pop_front().unwrap();
                        receipts.push((t, i, h.wait().unwrap()));
                    }
                }
                for (i, h) in pending {
                    receipts.push((t, i, h.wait().unwrap()));
                }
                receipts
            })
        })
        .collect();
    let mut by_seq: HashMap<u64, (u64, u64, Receipt)> = HashMap::new();
    for h in handles {
        for (t, i, r) in h.join().unwrap() {
            assert!(
                by_seq.insert(r.seq, (t, i, r)).is_none(),
                "sequence {} assigned twice",
                r.seq
            );
        }
    }
    let total = threads * per_thread;
    assert_eq!(by_seq.len() as u64, total);
    assert_eq!(log.tree_head().unwrap().size, total);
    let mut frontier = auditlog::merkle::Frontier::new();
    let mut last_per_thread = HashMap::new();
    for (seq, record) in log.iter(..).enumerate() {
        let record = record.unwrap();
        let (t, i, receipt) = &by_seq[&(seq as u64)];
        assert_eq!(record.seq, seq as u64);
        assert_eq!(record.recorded_at, receipt.recorded_at);
        assert_eq!(record.event.actor.id, format!("thread:{t}"));
        assert_eq!(record.event.entity.as_ref().unwrap().id, i.to_string());
        // Each thread's own appends keep their order.
        if let Some(prev) = last_per_thread.insert(*t, *i) {
            assert!(prev < *i);
        }
        frontier.push(receipt.leaf_hash);
    }
    assert_eq!(frontier.tree_head(), log.tree_head().unwrap());
    drop(log);
    let reopened = AuditLog::open(tmp.path()).unwrap();
    assert_eq!(reopened.tree_head().unwrap(), frontier.tree_head());
}
