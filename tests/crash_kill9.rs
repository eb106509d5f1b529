//! Real process crashes: a child process (this test binary, re-run with an environment
//! variable) appends with `Durability::Immediate`, single events and small batches, into a log
//! with small segments, printing each acknowledged sequence number; the parent kills it with
//! SIGKILL at a random moment, many times over the same directory, and after each kill
//! reopens the log and checks that every acknowledged record is present, in a gapless
//! sequence, holding the event derived from its sequence number.
//!
//! `AUDITLOG_KILL_ITERS` sets the number of kills (default 25).

use auditlog::fs::sim::SimRng;
use auditlog::fuzzing::model::event_for;
use auditlog::{AuditLog, Durability};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CHILD_DIR: &str = "AUDITLOG_KILL_CHILD_DIR";

fn open(dir: &std::path::Path) -> AuditLog {
    AuditLog::builder(dir)
        .durability(Durability::Immediate)
        .segment_max_bytes(64 * 1024)
        .open()
        .expect("open")
}

/// The child's work: append until killed. Only runs when the parent asks for it.
#[test]
#[ignore = "entry point of the child process of appends_survive_sigkill"]
fn kill9_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let log = open(std::path::Path::new(&dir));
    let mut stdout = std::io::stdout().lock();
    let mut next = log.end_seq();
    loop {
        let n = 1 + next % 5; // batches of 1 to 5
        let events: Vec<_> = (next..next + n).map(event_for).collect();
        let receipts = log
            .append_batch(&events)
            .expect("append")
            .wait()
            .expect("ack");
        for r in receipts {
            writeln!(stdout, "ACK {}", r.seq).expect("stdout");
        }
        stdout.flush().expect("flush");
        next += n;
    }
}

#[test]
fn appends_survive_sigkill() {
    let iterations: u64 = std::env::var("AUDITLOG_KILL_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut rng = SimRng::new(0x6b11);
    let mut acked_total = 0u64;
    for round in 0..iterations {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "kill9_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(seq) = line
                    .strip_prefix("ACK ")
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    let _ = tx.send(seq);
                }
            }
        });
        // Let it acknowledge a random number of records, then kill it at a random moment
        // (between or during appends, rolls and fsyncs).
        let wait_for = 1 + rng.below(150);
        let mut max_acked = None;
        for seq in rx.iter() {
            max_acked = Some(seq);
            if seq >= wait_for + acked_total {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().unwrap();
        let max_acked = rx.try_iter().last().or(max_acked);
        let Some(max_acked) = max_acked else {
            panic!("round {round}: the child acknowledged nothing");
        };

        let log = open(&dir);
        assert!(
            log.end_seq() > max_acked,
            "round {round}: acknowledged {max_acked} but the log ends at {}",
            log.end_seq()
        );
        for (i, record) in log.iter(..).enumerate() {
            let record = record.unwrap_or_else(|e| panic!("round {round}: read {i}: {e}"));
            assert_eq!(record.seq, i as u64, "round {round}: gap");
            assert_eq!(
                record.event,
                event_for(record.seq),
                "round {round}: record {i}"
            );
        }
        acked_total = log.end_seq();
        drop(log);
    }
    assert!(
        acked_total >= iterations,
        "too few records to mean anything"
    );
}
