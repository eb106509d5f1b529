//! Random workloads with simulated power losses, checked against an in-memory model.
//!
//! A [`Scenario`] is a list of generations. Each generation opens the log through a
//! [`SimFs`], runs its operations, and loses power either at a chosen call of the file-system
//! interface (in the middle of a group, a roll, a recovery...) or at its end. The crash image
//! is checked with the real file system ([`check_image`]) and becomes the disk the next
//! generation boots from, so recovery itself runs under the simulator too.
//!
//! The model knows what the log promised: every record acknowledged under
//! `Durability::Immediate`, and every record acknowledged before a successful `sync`, `seal`
//! or `close`, must survive; other acknowledged records may be lost to a power loss. The
//! content of record `seq` is always `SampleEvents::new(SAMPLE_SEED).event(seq, ..)`, so any
//! record that is present can be checked, promised or not.

use crate::fs::sim::{CrashMode, SimFs, SimRng};
use crate::sample::SampleEvents;
use crate::{AuditLog, AuditLogBuilder, Durability, Event, OpenCheck, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SAMPLE_SEED: u64 = 0x5eed;
/// The smallest segment the log allows: about 120 sample events, so workloads roll often.
const SEGMENT_BYTES: u64 = 64 * 1024;

/// The event stored at `seq` by every workload.
pub fn event_for(seq: u64) -> Event {
    SampleEvents::new(SAMPLE_SEED).event(seq, Timestamp::from_unix_secs(1_800_000_000))
}

/// One step of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Append one event and wait for its acknowledgement.
    Append,
    /// Append this many events as one batch and wait.
    AppendBatch(u8),
    /// `sync()`.
    Sync,
    /// `seal()`.
    Seal,
    /// `close()` and open again through the same simulator.
    Reopen,
}

/// One boot of the machine: operations, then a power loss.
#[derive(Debug, Clone)]
pub struct Generation {
    /// What the workload does.
    pub ops: Vec<Op>,
    /// The file-system call after which the power goes (counting from 1); if the workload
    /// makes fewer calls, the power goes at its end.
    pub crash_at_op: u64,
    /// What the crash keeps of unsynced writes.
    pub crash_mode: CrashMode,
}

/// A whole randomised run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Seeds the simulator's choices at each crash.
    pub seed: u64,
    /// The durability mode of every generation.
    pub durability: Durability,
    /// Whether segments are preallocated.
    pub preallocate: bool,
    /// The boots, in order.
    pub generations: Vec<Generation>,
}

impl Scenario {
    /// A random scenario of 1 to 3 generations, derived from `seed`.
    pub fn random(seed: u64) -> Self {
        let mut rng = SimRng::new(seed);
        let durability = match rng.below(3) {
            0 => Durability::Immediate,
            1 => Durability::Periodic(Duration::from_millis(1 + rng.below(3))),
            _ => Durability::OsBuffered,
        };
        let preallocate = rng.one_in(2);
        let generations = (0..1 + rng.below(3))
            .map(|_| {
                let ops: Vec<Op> = (0..rng.below(60))
                    .map(|_| match rng.below(20) {
                        0..=9 => Op::Append,
                        10..=14 => Op::AppendBatch(1 + rng.below(40) as u8),
                        15 | 16 => Op::Sync,
                        17 | 18 => Op::Seal,
                        _ => Op::Reopen,
                    })
                    .collect();
                // Roughly two calls per operation plus the opening ones: most crashes fall
                // inside the workload, some after it.
                let crash_at_op = 1 + rng.below(ops.len() as u64 * 3 + 12);
                let crash_mode = CrashMode::ALL[rng.below(4) as usize];
                Generation {
                    ops,
                    crash_at_op,
                    crash_mode,
                }
            })
            .collect();
        Scenario {
            seed,
            durability,
            preallocate,
            generations,
        }
    }

    /// A scenario decoded from fuzzer bytes (any input is a valid scenario).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut it = bytes.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        let config = next();
        let durability = match config % 3 {
            0 => Durability::Immediate,
            1 => Durability::Periodic(Duration::from_millis(1)),
            _ => Durability::OsBuffered,
        };
        let preallocate = config & 0x80 != 0;
        let seed = u64::from(next()) << 8 | u64::from(next());
        let mut generations = Vec::new();
        for _ in 0..3 {
            let crash_at_op = 1 + u64::from(next());
            let crash_mode = CrashMode::ALL[usize::from(next() % 4)];
            let mut ops = Vec::new();
            loop {
                let b = next();
                if b == 0 || ops.len() >= 64 {
                    break;
                }
                ops.push(match b % 8 {
                    0..=3 => Op::Append,
                    4 => Op::AppendBatch(1 + (b >> 3)),
                    5 => Op::Sync,
                    6 => Op::Seal,
                    _ => Op::Reopen,
                });
            }
            generations.push(Generation {
                ops,
                crash_at_op,
                crash_mode,
            });
        }
        Scenario {
            seed,
            durability,
            preallocate,
            generations,
        }
    }
}

/// What the log promised so far.
#[derive(Debug, Default, Clone)]
pub struct Model {
    /// Records `0..durable` must survive any crash.
    pub durable: u64,
    /// The next sequence number the log will assign.
    pub next: u64,
    /// One past the last sequence number an append was attempted for (acknowledged or not:
    /// a record whose append failed in a crash may still be on disk).
    pub attempted: u64,
    /// `recorded_at` of acknowledged records that may still be on disk.
    pub acked_at: BTreeMap<u64, Timestamp>,
    /// Acknowledgements received in all generations.
    pub acks: u64,
}

/// Figures from a run, for the campaign's report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records acknowledged.
    pub acked: u64,
    /// Power losses that struck inside a workload (rather than after it).
    pub mid_workload_crashes: u64,
    /// Crash images whose recovery cut a torn tail.
    pub torn_tails_cut: u64,
    /// Acknowledged records lost to power loss (allowed: never promised durable).
    pub unpromised_lost: u64,
}

/// Runs `scenario` in `work` (an empty directory); `Err` describes a broken promise.
pub fn run(scenario: &Scenario, work: &Path) -> Result<Summary, String> {
    let mut model = Model::default();
    let mut summary = Summary::default();
    // Each boot's disk is `work/disk<g>`; the log lives in its `log` subdirectory.
    let mut disk = work.join("disk0");
    std::fs::create_dir_all(&disk).map_err(|e| format!("scratch: {e}"))?;
    for (g, generation) in scenario.generations.iter().enumerate() {
        let image = work.join(format!("disk{}", g + 1));
        let seed = scenario.seed.wrapping_add(g as u64);
        let crashed_mid = run_generation(scenario, generation, &disk, &image, seed, &mut model)
            .map_err(|e| format!("generation {g}: {e}"))?;
        summary.mid_workload_crashes += u64::from(crashed_mid);
        let check = work.join(format!("check{}", g + 1));
        let report = check_image(&image.join("log"), &check, &model)
            .map_err(|e| format!("generation {g}, crash image {}: {e}", image.display()))?;
        summary.torn_tails_cut += u64::from(report.torn_tail_cut);
        summary.unpromised_lost += model.next.saturating_sub(report.recovered);
        model.next = report.recovered;
        model.attempted = report.recovered;
        model.durable = report.recovered;
        model.acked_at.retain(|&seq, _| seq < report.recovered);
        disk = image;
    }
    summary.acked = model.acks;
    Ok(summary)
}

fn builder(scenario: &Scenario, dir: &Path, sim: &SimFs) -> AuditLogBuilder {
    AuditLog::builder(dir)
        .file_system(Arc::new(sim.clone()))
        .durability(scenario.durability)
        .preallocate(scenario.preallocate)
        .segment_max_bytes(SEGMENT_BYTES)
}

/// Runs one boot; returns whether the power went out before the workload ended.
fn run_generation(
    scenario: &Scenario,
    generation: &Generation,
    disk: &Path,
    image: &Path,
    seed: u64,
    model: &mut Model,
) -> Result<bool, String> {
    let sim = SimFs::new(disk, seed).map_err(|e| format!("simulator: {e}"))?;
    sim.crash_at_op(
        generation.crash_at_op,
        generation.crash_mode,
        image.to_path_buf(),
    );
    let dir = disk.join("log");
    // An error is expected once the power is off; before that it is a bug.
    let unexpected = |what: &str, e: crate::Error| {
        if sim.has_crashed() {
            Ok(())
        } else {
            Err(format!("{what} failed without a crash: {e}"))
        }
    };
    let mut log = match builder(scenario, &dir, &sim).open() {
        Ok(log) => Some(log),
        Err(e) => {
            unexpected("open", e)?;
            None
        }
    };
    if let Some(l) = &log
        && l.end_seq() != model.next
    {
        return Err(format!(
            "opened with {} records, the crash image held {}",
            l.end_seq(),
            model.next
        ));
    }
    for op in &generation.ops {
        let Some(l) = log.as_ref() else { break };
        let immediate = scenario.durability == Durability::Immediate;
        let result = match *op {
            Op::Append => {
                model.attempted = model.attempted.max(model.next + 1);
                l.append(&event_for(model.next))
                    .and_then(|h| h.wait())
                    .map(|r| {
                        model.acked(r.seq, r.recorded_at, immediate);
                    })
            }
            Op::AppendBatch(n) => {
                model.attempted = model.attempted.max(model.next + u64::from(n));
                let events: Vec<Event> = (model.next..model.next + u64::from(n))
                    .map(event_for)
                    .collect();
                l.append_batch(&events)
                    .and_then(|h| h.wait())
                    .map(|receipts| {
                        for r in receipts {
                            model.acked(r.seq, r.recorded_at, immediate);
                        }
                    })
            }
            Op::Sync => l.sync().map(|()| model.durable = model.next),
            Op::Seal => l.seal().map(|()| model.durable = model.next),
            Op::Reopen => match log.take().map(AuditLog::close) {
                Some(Ok(())) => {
                    model.durable = model.next;
                    builder(scenario, &dir, &sim).open().map(|l| log = Some(l))
                }
                Some(Err(e)) => Err(e),
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            unexpected(&format!("{op:?}"), e)?;
            break;
        }
        if let Some(l) = &log
            && l.end_seq() != model.next
        {
            return Err(format!(
                "log ends at {} after {op:?}, model at {}",
                l.end_seq(),
                model.next
            ));
        }
    }
    let crashed_mid = sim.has_crashed();
    sim.crash_now(generation.crash_mode, image)
        .map_err(|e| format!("writing the crash image: {e}"))?;
    drop(log);
    Ok(crashed_mid)
}

impl Model {
    fn acked(&mut self, seq: u64, at: Timestamp, durable: bool) {
        debug_assert_eq!(seq, self.next);
        self.acked_at.insert(seq, at);
        self.acks += 1;
        self.next = seq + 1;
        if durable {
            self.durable = self.next;
        }
    }
}

/// What checking a crash image found.
#[derive(Debug, Clone, Copy)]
pub struct ImageReport {
    /// Records recovered.
    pub recovered: u64,
    /// Whether recovery cut a torn tail.
    pub torn_tail_cut: bool,
}

/// Checks the crash image of the log in `log_dir` on a copy at `scratch`, with the real
/// file system: a read-only open reports no damage; a read-write open with a full check
/// succeeds; records form a gapless sequence from 0 holding the expected events (and the
/// acknowledged `recorded_at`); every promised record is there; a new append is accepted and
/// survives a reopen.
pub fn check_image(log_dir: &Path, scratch: &Path, model: &Model) -> Result<ImageReport, String> {
    if !log_dir.join(crate::meta::META_FILE).exists() {
        // The log's creation never became durable: only acceptable if nothing was promised.
        if model.durable > 0 {
            return Err(format!(
                "the log directory is gone but {} records were promised",
                model.durable
            ));
        }
        return Ok(ImageReport {
            recovered: 0,
            torn_tail_cut: false,
        });
    }
    let copy = scratch.join("log");
    copy_dir(log_dir, &copy).map_err(|e| format!("copying: {e}"))?;
    let ro = AuditLog::open_read_only(&copy).map_err(|e| format!("read-only open: {e}"))?;
    if let Some(p) = ro.open_report().problems.first() {
        return Err(format!("read-only open found damage: {p}"));
    }
    let ro_end = ro.end_seq();
    drop(ro);
    // The auditor's view of the raw crash image: a torn tail is a warning, never damage.
    check_verify(&copy, ro_end, "the crash image")?;
    // A simulator that never crashes skips the real fsyncs: same code paths, much faster.
    let fs = SimFs::new(scratch, 0).map_err(|e| format!("simulator: {e}"))?;
    let log = AuditLog::builder(&copy)
        .file_system(Arc::new(fs))
        .open_check(OpenCheck::Full)
        .segment_max_bytes(SEGMENT_BYTES)
        .preallocate(false)
        .open()
        .map_err(|e| format!("open with a full check: {e}"))?;
    let recovered = log.end_seq();
    if recovered != ro_end {
        return Err(format!(
            "read-only open saw {ro_end} records, read-write {recovered}"
        ));
    }
    if recovered < model.durable {
        return Err(format!(
            "lost promised records: {recovered} recovered, {} promised durable",
            model.durable
        ));
    }
    if recovered > model.attempted.max(model.next) {
        return Err(format!(
            "{recovered} records recovered but only {} were ever appended",
            model.attempted.max(model.next)
        ));
    }
    check_records(&log, model)?;
    let torn_tail_cut = log.open_report().truncated.is_some();
    log.append(&event_for(recovered))
        .and_then(|h| h.wait())
        .map_err(|e| format!("append after recovery: {e}"))?;
    log.close()
        .map_err(|e| format!("close after recovery: {e}"))?;
    let again = AuditLog::open_read_only(&copy).map_err(|e| format!("reopen: {e}"))?;
    if again.end_seq() != recovered + 1 || !again.open_report().problems.is_empty() {
        return Err(format!(
            "after one more append the log holds {} records, problems {:?}",
            again.end_seq(),
            again.open_report().problems
        ));
    }
    drop(again);
    check_verify(&copy, recovered + 1, "the recovered log")?;
    Ok(ImageReport {
        recovered,
        torn_tail_cut,
    })
}

/// Runs the auditor's `verify()`: no problems, and exactly `records` records.
fn check_verify(dir: &Path, records: u64, what: &str) -> Result<(), String> {
    let report = crate::verify::verify(dir, &crate::verify::VerifyOptions::default())
        .map_err(|e| format!("verify of {what}: {e}"))?;
    if !report.ok || !report.problems.is_empty() {
        return Err(format!(
            "verify of {what} found damage: {:?}",
            report.problems
        ));
    }
    if report.records != records {
        return Err(format!(
            "verify of {what} counted {} records, expected {records}",
            report.records
        ));
    }
    Ok(())
}

fn check_records(log: &AuditLog, model: &Model) -> Result<(), String> {
    let mut expected_seq = 0;
    for record in log.iter(..) {
        let record = record.map_err(|e| format!("reading record {expected_seq}: {e}"))?;
        if record.seq != expected_seq {
            return Err(format!("expected seq {expected_seq}, read {}", record.seq));
        }
        if record.event != event_for(record.seq) {
            return Err(format!("record {} holds the wrong event", record.seq));
        }
        if let Some(at) = model.acked_at.get(&record.seq)
            && *at != record.recorded_at
        {
            return Err(format!(
                "record {} has recorded_at {:?}, acknowledged with {:?}",
                record.seq, record.recorded_at, at
            ));
        }
        expected_seq += 1;
    }
    if expected_seq != log.end_seq() {
        return Err(format!(
            "read {expected_seq} records, log ends at {}",
            log.end_seq()
        ));
    }
    Ok(())
}

/// Copies the files of a log directory (not the lock) to `to`.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() != crate::meta::LOCK_FILE {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// A directory removed on drop (the library has no `tempfile` dependency).
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new, empty directory under the system's temporary directory.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
