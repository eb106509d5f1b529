//! I/O fault injection at every call of the file-system interface: a fixed workload (single
//! appends, a batch that rolls the segment, sync, seal, close) runs once to count its calls,
//! then once per call index and fault kind (EIO, ENOSPC, a short write followed by ENOSPC),
//! in both an `Immediate` log with preallocation and an `OsBuffered` one without. Whatever
//! call fails: nothing panics; the failure surfaces as an error naming the OS error; every
//! later write is refused with `Error::Poisoned`; no record is acknowledged that the fault
//! made non-durable (checked on a power-loss image that keeps only synced data, from the
//! simulator under the fault layer); and reopening recovers every acknowledged record.
//! The one exception: ENOSPC while the open creates the first segment opens the log with the
//! writer deferred (writer/deferred.rs), which the open reports; nothing was written, so the
//! first append (the fault gone) starts the writer and nothing fails or is poisoned.

use auditlog::fs::faulty::{Call, Fault, FaultyFs};
use auditlog::fs::sim::{CrashMode, SimFs};
use auditlog::fuzzing::model::{Model, check_image, event_for};
use auditlog::{AuditLog, Durability, Error, Event};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
struct Config {
    durability: Durability,
    preallocate: bool,
}

const CONFIGS: [Config; 2] = [
    Config {
        durability: Durability::Immediate,
        preallocate: true,
    },
    Config {
        durability: Durability::OsBuffered,
        preallocate: false,
    },
];

/// What one run of the workload saw.
#[derive(Debug, Default)]
struct Run {
    model: Model,
    /// Errors, in order, with the operation that returned them.
    errors: Vec<(String, Error)>,
    /// Operations that succeeded after an error had been returned.
    succeeded_after_error: Vec<String>,
    /// Why the open deferred the writer (a full disk creating the first segment), if it did.
    deferred: Option<String>,
}

fn workload(config: Config, root: &Path, fs: Arc<FaultyFs>) -> Run {
    let mut run = Run::default();
    let immediate = config.durability == Durability::Immediate;
    let log = AuditLog::builder(root.join("log"))
        .file_system(fs)
        .durability(config.durability)
        .preallocate(config.preallocate)
        .segment_max_bytes(64 * 1024)
        // Index files are derived data whose write failures are dropped on purpose, so they
        // cannot satisfy "every fault surfaces"; tests/index_forged_is_damage.rs fails them.
        .index_on_seal(false)
        .open();
    let log = match log {
        Ok(log) => log,
        Err(e) => {
            run.errors.push(("open".into(), e.into()));
            return run;
        }
    };
    run.deferred = log.writer_deferred();
    let step = |run: &mut Run, name: &str, result: Result<(), Error>| match result {
        Ok(()) if !run.errors.is_empty() => run.succeeded_after_error.push(name.into()),
        Ok(()) => {}
        Err(e) => run.errors.push((name.into(), e)),
    };
    let append = |run: &mut Run, n: u64| -> Result<(), Error> {
        let events: Vec<Event> = (run.model.next..run.model.next + n)
            .map(event_for)
            .collect();
        run.model.attempted = run.model.attempted.max(run.model.next + n);
        let receipts = log.append_batch(&events)?.wait()?;
        for r in receipts {
            assert_eq!(r.seq, run.model.next, "receipts out of order");
            run.model.acked_at.insert(r.seq, r.recorded_at);
            run.model.next += 1;
        }
        if immediate {
            run.model.durable = run.model.next;
        }
        Ok(())
    };
    for _ in 0..4 {
        let r = append(&mut run, 1);
        step(&mut run, "append", r);
    }
    // About 150 sample events overflow a 64 KiB segment: the batch rolls it.
    let r = append(&mut run, 150);
    step(&mut run, "append_batch", r);
    let r = log.sync().map(|()| run.model.durable = run.model.next);
    step(&mut run, "sync", r);
    let r = append(&mut run, 1);
    step(&mut run, "append", r);
    let r = log.seal().map(|()| run.model.durable = run.model.next);
    step(&mut run, "seal", r);
    for _ in 0..2 {
        let r = append(&mut run, 1);
        step(&mut run, "append", r);
    }
    let r = log.close().map(|()| run.model.durable = run.model.next);
    step(&mut run, "close", r);
    run
}

fn io_text(fault: Fault) -> &'static str {
    match fault {
        Fault::Eio => "Input/output error",
        Fault::NoSpace | Fault::ShortWrite => "No space left on device",
    }
}

/// Runs the workload with `fault` at call `index`; returns `None` if the workload made fewer
/// calls (nothing injected), else whether the open deferred the writer.
fn run_with_fault(config: Config, index: usize, fault: Fault) -> Option<bool> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("disk");
    std::fs::create_dir(&root).unwrap();
    let sim = SimFs::new(&root, index as u64).unwrap();
    let faulty = FaultyFs::new(Arc::new(sim.clone()));
    faulty.inject(index, fault);
    let run = workload(config, &root, Arc::new(faulty.clone()));
    let (_, call, _) = faulty.injected()?;
    let what = format!("{config:?}, {fault:?} at call {index} ({call:?})");

    if let Some(cause) = &run.deferred {
        // Deferred, not failed: only for a full disk, reported by the open, and the first
        // append started the writer, so nothing failed.
        assert!(
            fault != Fault::Eio && cause.contains(io_text(fault)),
            "{what}: the open deferred the writer for `{cause}`"
        );
        assert!(
            run.errors.is_empty(),
            "{what}: after a deferred start: {:?}",
            run.errors
        );
    } else {
        assert_reported_and_poisoned(&what, fault, &run);
    }

    // Power loss now: only synced data survives. Every promised record must be there.
    let image = tmp.path().join("power-loss");
    sim.crash_now(CrashMode::DropUnsynced, &image).unwrap();
    check_image(&image, &tmp.path().join("check1"), &run.model)
        .unwrap_or_else(|e| panic!("{what}: after power loss: {e}"));

    // No power loss (the files as the OS holds them): every acknowledged record is there.
    let mut all_acked = run.model.clone();
    all_acked.durable = all_acked.next;
    check_image(&root, &tmp.path().join("check2"), &all_acked)
        .unwrap_or_else(|e| panic!("{what}: after reopening: {e}"));
    Some(run.deferred.is_some())
}

/// The failure surfaced, named the OS error, and every later operation was refused.
fn assert_reported_and_poisoned(what: &str, fault: Fault, run: &Run) {
    let Some((op, first)) = run.errors.first() else {
        panic!("{what}: the fault was swallowed (no operation failed)");
    };
    assert!(
        first.to_string().contains(io_text(fault)),
        "{what}: {op} failed with `{first}`, which does not name the OS error"
    );
    assert!(
        run.succeeded_after_error.is_empty(),
        "{what}: {:?} succeeded after `{first}`",
        run.succeeded_after_error
    );
    for (op, e) in &run.errors[1..] {
        assert!(
            matches!(e, Error::Poisoned { cause } if cause.contains(io_text(fault))),
            "{what}: {op} after the failure returned `{e}`, not Poisoned with its cause"
        );
    }
}

#[test]
fn every_fault_at_every_call_is_reported_and_loses_nothing_acknowledged() {
    for config in CONFIGS {
        // Count and classify the calls of a fault-free run.
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("disk");
        std::fs::create_dir(&root).unwrap();
        let counter = FaultyFs::new(Arc::new(SimFs::new(&root, 0).unwrap()));
        let clean = workload(config, &root, Arc::new(counter.clone()));
        assert!(
            clean.errors.is_empty(),
            "fault-free run failed: {:?}",
            clean.errors
        );
        let calls = counter.calls();
        assert!(calls.contains(&Call::Rename) && calls.contains(&Call::SyncDir));
        let (mut injected, mut deferred) = (0, 0);
        for (index, call) in calls.iter().enumerate() {
            for fault in Fault::ALL {
                if fault == Fault::ShortWrite && *call != Call::Write {
                    continue;
                }
                let outcome = run_with_fault(config, index, fault);
                injected += usize::from(outcome.is_some());
                deferred += usize::from(outcome == Some(true));
            }
        }
        println!(
            "{config:?}: {} calls, {injected} faulty runs, {deferred} opened deferred",
            calls.len()
        );
        assert!(
            deferred > 0,
            "no ENOSPC reached the first segment's creation"
        );
        assert!(
            injected >= calls.len() * 2,
            "faults did not reach the calls"
        );
    }
}
