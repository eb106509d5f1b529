//! Random workloads with simulated power losses, checked against an in-memory model.
//!
//! A [`Scenario`] is a list of generations. Each generation opens the log through a
//! [`SimFs`], runs its operations, and loses power either at a chosen call of the file-system
//! interface (in the middle of a group, a roll, a recovery, a compaction, an archive, a
//! retention, a checkpoint...) or at its end. The crash image is checked with the real file
//! system ([`check_image`]) and becomes the disk the next generation boots from, so recovery
//! itself runs under the simulator too.
//!
//! The simulated disk holds the log (`log/`) and its local archive destination (`archive/`),
//! so archiving writes through the simulator as well and a power loss can strike between a
//! bundle and its cut. A generation may instead lose power at a fixed point: right after a
//! final seal's footer is durable, before the next segment exists (media.rs). Every crash
//! image then also takes one flipped bit in a sealed segment, on a copy, which must be
//! reported as damage and refused, never cut. The engine's clock is a [`ManualClock`] the workload advances, so
//! retention by age and `recorded_at` are deterministic.
//!
//! The model knows what the log promised: every record acknowledged under
//! `Durability::Immediate`, and every record acknowledged before a successful `sync`, `seal`,
//! `close` or checkpoint, must survive unless a retention or an archive that *completed*
//! removed it; an interrupted one may or may not have removed its segments, but the log must
//! start exactly at its newest recorded cut either way. Other acknowledged records may be
//! lost to a power loss. The content of record `seq` is always
//! `SampleEvents::new(SAMPLE_SEED).event(seq, ..)`, so any record that is present can be
//! checked, promised or not.

mod check;
mod lifecycle;
mod media;

pub use check::{ImageReport, check_image};
pub use lifecycle::{ManualClock, test_signer};

use crate::fs::sim::{CrashMode, SimFs, SimRng};
use crate::merkle::TreeHead;
use crate::{AuditLog, AuditLogBuilder, Durability, Event, Timestamp};
use auditlog_format::sample::SampleEvents;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SAMPLE_SEED: u64 = 0x5eed;
/// The smallest segment the log allows: about 120 sample events, so workloads roll often.
const SEGMENT_BYTES: u64 = 64 * 1024;
/// Where the engine's clock starts (2027-01-15), in seconds since the epoch.
const CLOCK_START_SECS: i64 = 1_800_000_000;

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
    /// Advance the engine's clock by this many minutes.
    Tick(u16),
    /// `compact()` every sealed segment (with a trained dictionary or without).
    Compact {
        /// Whether to compress with a dictionary.
        dictionary: bool,
    },
    /// `archive()` at most this many of the oldest sealed segments to the local archive.
    Archive(u8),
    /// `apply_retention()` with a maximum age of this many minutes.
    RetainAge(u16),
    /// `apply_retention()` with a size budget of this many KiB.
    RetainSize(u16),
    /// `sign_checkpoint()` with the fixed test key.
    Checkpoint,
    /// `maintain_with()`: retention (1 hour), archiving (one segment) and compaction, in one run.
    Maintain,
}

/// One boot of the machine: operations, then a power loss.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The durability mode of this boot.
    pub durability: Durability,
    /// What the workload does.
    pub ops: Vec<Op>,
    /// The file-system call after which the power goes (counting from 1); if the workload
    /// makes fewer calls, the power goes at its end.
    pub crash_at_op: u64,
    /// What the crash keeps of unsynced writes.
    pub crash_mode: CrashMode,
    /// Whether the power goes instead right after a seal at the workload's end, once its
    /// footer is durable and before the next segment exists (`crash_at_op` is then unused).
    pub crash_after_seal: bool,
}

/// A whole randomised run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Seeds the simulator's choices at each crash.
    pub seed: u64,
    /// Whether segments are preallocated.
    pub preallocate: bool,
    /// Whether the log is opened with the test signing key, so it signs a checkpoint at
    /// every seal (including rolls).
    pub sign_at_seal: bool,
    /// The boots, in order.
    pub generations: Vec<Generation>,
}

impl Scenario {
    /// A random scenario of 1 to 3 generations, derived from `seed`.
    pub fn random(seed: u64) -> Self {
        let mut rng = SimRng::new(seed);
        let preallocate = rng.one_in(2);
        let sign_at_seal = rng.one_in(3);
        let generations = (0..1 + rng.below(3))
            .map(|_| {
                let durability = match rng.below(3) {
                    0 => Durability::Immediate,
                    1 => Durability::Periodic(Duration::from_millis(1 + rng.below(3))),
                    _ => Durability::OsBuffered,
                };
                let ops: Vec<Op> = (0..rng.below(60)).map(|_| random_op(&mut rng)).collect();
                // Appends take about two calls, lifecycle operations tens: most crashes fall
                // inside the workload, some after it.
                let lifecycle = ops.iter().filter(|op| op.is_lifecycle()).count() as u64;
                let crash_at_op = 1 + rng.below(ops.len() as u64 * 3 + lifecycle * 20 + 12);
                let crash_mode = CrashMode::ALL[rng.below(4) as usize];
                Generation {
                    durability,
                    ops,
                    crash_at_op,
                    crash_mode,
                    crash_after_seal: false,
                }
            })
            .collect::<Vec<_>>();
        // From a stream of its own, so the seeds of `crash_power_loss` keep their scenarios.
        let mut extra = SimRng::new(seed ^ 0xa17e_5ea1);
        let mut generations = generations;
        for g in &mut generations {
            g.crash_after_seal = extra.one_in(4);
        }
        Scenario {
            seed,
            preallocate,
            sign_at_seal,
            generations,
        }
    }

    /// A scenario decoded from fuzzer bytes (any input is a valid scenario).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut it = bytes.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        let config = next();
        let preallocate = config & 0x80 != 0;
        let sign_at_seal = config & 0x40 != 0;
        let seed = u64::from(next()) << 8 | u64::from(next());
        let mut generations = Vec::new();
        for g in 0..3u8 {
            // The first generation's durability comes from the config byte, as before
            // generations had their own.
            let mode = if g == 0 { config } else { next() };
            let durability = match mode % 3 {
                0 => Durability::Immediate,
                1 => Durability::Periodic(Duration::from_millis(1)),
                _ => Durability::OsBuffered,
            };
            let crash_at_op = 1 + 2 * u64::from(next());
            let crash = next();
            let crash_mode = CrashMode::ALL[usize::from(crash % 4)];
            let crash_after_seal = crash & 0x10 != 0;
            let mut ops = Vec::new();
            loop {
                let b = next();
                if b == 0 || ops.len() >= 64 {
                    break;
                }
                ops.push(op_from_byte(b));
            }
            generations.push(Generation {
                durability,
                ops,
                crash_at_op,
                crash_mode,
                crash_after_seal,
            });
        }
        Scenario {
            seed,
            preallocate,
            sign_at_seal,
            generations,
        }
    }
}

fn random_op(rng: &mut SimRng) -> Op {
    match rng.below(32) {
        0..=11 => Op::Append,
        12..=16 => Op::AppendBatch(1 + rng.below(40) as u8),
        17 => Op::Sync,
        18 | 19 => Op::Seal,
        20 => Op::Reopen,
        21 | 22 => Op::Tick(30 * (1 + rng.below(8)) as u16),
        23 | 24 => Op::Compact {
            dictionary: rng.one_in(3),
        },
        25 | 26 => Op::Archive(1 + rng.below(3) as u8),
        27 => Op::RetainAge(30 * (1 + rng.below(8)) as u16),
        28 => Op::RetainSize(64 * (1 + rng.below(6)) as u16),
        29 | 30 => Op::Checkpoint,
        _ => Op::Maintain,
    }
}

/// The operation a fuzzer byte (not 0, which ends a generation) stands for: the low four
/// bits choose the kind, the high four its parameter.
fn op_from_byte(b: u8) -> Op {
    let high = u16::from(b >> 4);
    match b % 16 {
        0..=3 | 15 => Op::Append,
        4 => Op::AppendBatch(1 + (b >> 3)),
        5 => Op::Sync,
        6 => Op::Seal,
        7 => Op::Reopen,
        8 => Op::Tick(30 * (1 + high)),
        9 => Op::Compact {
            dictionary: high & 1 != 0,
        },
        10 => Op::Archive(1 + (b >> 4) % 3),
        11 => Op::RetainAge(30 * (1 + high)),
        12 => Op::RetainSize(64 * (1 + high % 6)),
        13 => Op::Checkpoint,
        _ => Op::Maintain,
    }
}

impl Op {
    /// Whether this is one of the lifecycle or checkpoint operations.
    pub fn is_lifecycle(&self) -> bool {
        matches!(
            self,
            Op::Compact { .. }
                | Op::Archive(_)
                | Op::RetainAge(_)
                | Op::RetainSize(_)
                | Op::Checkpoint
                | Op::Maintain
        )
    }
}

/// What the log promised so far.
#[derive(Debug, Clone)]
pub struct Model {
    /// Records `0..durable` must survive any crash (those not removed by a recorded cut).
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
    /// The live log starts at least here: where the cuts of completed retentions and
    /// archives left it.
    pub cut_min: u64,
    /// The live log starts at most here: the furthest cut an operation set out to make
    /// (an interrupted one may or may not have made it).
    pub cut_max: u64,
    /// Bundles whose archiving completed: each must be in the archive and verify.
    pub archived: BTreeSet<String>,
    /// The newest checkpoint signed successfully: the log's checkpoints file must hold it
    /// (or a newer one) and the log must extend it.
    pub checkpoint: Option<TreeHead>,
    /// The engine's clock.
    pub clock: ManualClock,
    /// The log is opened with the test key in every generation, so every cut it records
    /// must be signed by it (checked by verify with the public key).
    pub signed_cuts: bool,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            durable: 0,
            next: 0,
            attempted: 0,
            acked_at: BTreeMap::new(),
            acks: 0,
            cut_min: 0,
            cut_max: 0,
            archived: BTreeSet::new(),
            checkpoint: None,
            clock: ManualClock::at(Timestamp::from_unix_secs(CLOCK_START_SECS)),
            signed_cuts: false,
        }
    }
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
    /// Lifecycle and checkpoint operations that completed.
    pub lifecycle_done: u64,
    /// Lifecycle and checkpoint operations a power loss interrupted.
    pub lifecycle_interrupted: u64,
    /// Crash images whose live log starts after 0 (a recorded cut).
    pub images_with_cuts: u64,
    /// Archive bundles checked in crash images.
    pub bundles_checked: u64,
    /// Crash images verified against a signed checkpoint.
    pub checkpoints_checked: u64,
    /// Crash images holding cold segments.
    pub images_with_cold: u64,
    /// Crash images whose power went after a seal, before the next segment existed.
    pub after_seal_crashes: u64,
    /// Crash images in which a flipped bit in a sealed segment was reported and refused.
    pub sealed_flips_refused: u64,
}

impl Summary {
    /// Adds `other`'s figures to these.
    pub fn add(&mut self, other: &Summary) {
        self.acked += other.acked;
        self.mid_workload_crashes += other.mid_workload_crashes;
        self.torn_tails_cut += other.torn_tails_cut;
        self.unpromised_lost += other.unpromised_lost;
        self.lifecycle_done += other.lifecycle_done;
        self.lifecycle_interrupted += other.lifecycle_interrupted;
        self.images_with_cuts += other.images_with_cuts;
        self.bundles_checked += other.bundles_checked;
        self.checkpoints_checked += other.checkpoints_checked;
        self.images_with_cold += other.images_with_cold;
        self.after_seal_crashes += other.after_seal_crashes;
        self.sealed_flips_refused += other.sealed_flips_refused;
    }
}

/// Runs `scenario` in `work` (an empty directory); `Err` describes a broken promise.
pub fn run(scenario: &Scenario, work: &Path) -> Result<Summary, String> {
    let mut model = Model {
        signed_cuts: scenario.sign_at_seal,
        ..Model::default()
    };
    let mut summary = Summary::default();
    // Each boot's disk is `work/disk<g>`; the log lives in its `log` subdirectory, the
    // archive in `archive`.
    let mut disk = work.join("disk0");
    std::fs::create_dir_all(&disk).map_err(|e| format!("scratch: {e}"))?;
    for (g, generation) in scenario.generations.iter().enumerate() {
        let image = work.join(format!("disk{}", g + 1));
        let seed = scenario.seed.wrapping_add(g as u64);
        let boot = Boot {
            scenario,
            generation,
            disk: &disk,
            image: &image,
            seed,
        };
        let sealed_at_end = boot
            .run(&mut model, &mut summary)
            .map_err(|e| format!("generation {g}: {e}"))?;
        let check = work.join(format!("check{}", g + 1));
        let report = check_image(&image, &check, &model)
            .map_err(|e| format!("generation {g}, crash image {}: {e}", image.display()))?;
        summary.torn_tails_cut += u64::from(report.torn_tail_cut);
        summary.unpromised_lost += model.next.saturating_sub(report.recovered);
        summary.images_with_cuts += u64::from(report.first_seq > 0);
        summary.bundles_checked += report.bundles;
        summary.checkpoints_checked += u64::from(report.checkpoint_checked);
        summary.images_with_cold += u64::from(report.cold_segments > 0);
        let flip = work.join(format!("flip{}", g + 1));
        media::check(
            &image,
            &flip,
            seed,
            generation.crash_after_seal && sealed_at_end,
        )
        .map(|m| summary.add(&m))
        .map_err(|e| format!("generation {g}, crash image {}: {e}", image.display()))?;
        model.next = report.recovered;
        model.attempted = report.recovered;
        model.durable = report.recovered;
        model.acked_at.retain(|&seq, _| seq < report.recovered);
        model.cut_min = report.first_seq;
        model.cut_max = report.first_seq;
        model.checkpoint = report.checkpoint;
        disk = image;
    }
    summary.acked = model.acks;
    Ok(summary)
}

/// The log directory on a simulated disk.
pub fn log_dir(disk: &Path) -> PathBuf {
    disk.join("log")
}

/// The archive destination's root on a simulated disk.
pub fn archive_dir(disk: &Path) -> PathBuf {
    disk.join("archive")
}

/// One generation's setting.
struct Boot<'a> {
    scenario: &'a Scenario,
    generation: &'a Generation,
    disk: &'a Path,
    image: &'a Path,
    seed: u64,
}

impl Boot<'_> {
    fn builder(&self, sim: &SimFs, model: &Model) -> AuditLogBuilder {
        let builder = AuditLog::builder(log_dir(self.disk))
            .file_system(Arc::new(sim.clone()))
            .clock(Arc::new(model.clock.clone()))
            .durability(self.generation.durability)
            .preallocate(self.scenario.preallocate)
            .segment_max_bytes(SEGMENT_BYTES);
        if self.scenario.sign_at_seal {
            builder.signing_key(lifecycle::test_key())
        } else {
            builder
        }
    }

    /// Runs the workload until its end or the power loss, then writes the crash image.
    /// Returns whether the power went after a final seal (`crash_after_seal`).
    fn run(&self, model: &mut Model, summary: &mut Summary) -> Result<bool, String> {
        let sim = SimFs::new(self.disk, self.seed).map_err(|e| format!("simulator: {e}"))?;
        let mode = self.generation.crash_mode;
        if !self.generation.crash_after_seal {
            sim.crash_at_op(self.generation.crash_at_op, mode, self.image.to_path_buf());
        }
        // An error is expected once the power is off; before that it is a bug.
        let unexpected = |what: &str, e: crate::Error| {
            if sim.has_crashed() {
                Ok(())
            } else {
                Err(format!("{what} failed without a crash: {e}"))
            }
        };
        let mut log = match self.builder(&sim, model).open() {
            Ok(log) => Some(log),
            Err(e) => {
                unexpected("open", e.into())?;
                None
            }
        };
        if let Some(l) = &log
            && (l.end_seq() != model.next || l.first_seq() != model.cut_min)
        {
            return Err(format!(
                "opened with records {}..{}, the crash image held {}..{}",
                l.first_seq(),
                l.end_seq(),
                model.cut_min,
                model.next
            ));
        }
        let lifecycle = lifecycle::Lifecycle::new(self.disk, &sim);
        for op in &self.generation.ops {
            let Some(l) = log.as_ref() else { break };
            let immediate = self.generation.durability == Durability::Immediate;
            let result = match *op {
                Op::Append => {
                    model.attempted = model.attempted.max(model.next + 1);
                    l.append(&event_for(model.next))
                        .and_then(|h| h.wait())
                        .map(|r| {
                            model.acked(r.seq, r.recorded_at, immediate);
                        })
                        .map_err(crate::Error::from)
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
                        .map_err(crate::Error::from)
                }
                Op::Sync => l.sync().map(|()| model.durable = model.next),
                Op::Seal => l.seal().map(|()| model.durable = model.next),
                Op::Reopen => match log.take().map(AuditLog::close) {
                    Some(Ok(())) => {
                        model.durable = model.next;
                        self.builder(&sim, model)
                            .open()
                            .map(|l| log = Some(l))
                            .map_err(crate::Error::from)
                    }
                    Some(Err(e)) => Err(e),
                    None => Ok(()),
                },
                Op::Tick(minutes) => {
                    model
                        .clock
                        .advance(Duration::from_secs(60 * u64::from(minutes)));
                    Ok(())
                }
                // The outer `?` is a broken expectation, the inner result the engine's.
                _ => lifecycle.run(l, op, model)?,
            };
            if let Err(e) = result {
                if op.is_lifecycle() && sim.has_crashed() {
                    summary.lifecycle_interrupted += 1;
                }
                unexpected(&format!("{op:?}"), e)?;
                break;
            }
            summary.lifecycle_done += u64::from(op.is_lifecycle());
            if let Some(l) = &log
                && (l.end_seq() != model.next || l.first_seq() != model.cut_min)
            {
                return Err(format!(
                    "log holds {}..{} after {op:?}, model {}..{}",
                    l.first_seq(),
                    l.end_seq(),
                    model.cut_min,
                    model.next
                ));
            }
        }
        summary.mid_workload_crashes += u64::from(sim.has_crashed());
        let sealed_at_end = match &log {
            Some(l) if self.generation.crash_after_seal && !sim.has_crashed() => {
                media::crash_after_seal(&sim, l, model, mode, self.image)?;
                true
            }
            _ => false,
        };
        sim.crash_now(mode, self.image)
            .map_err(|e| format!("writing the crash image: {e}"))?;
        drop(log);
        Ok(sealed_at_end)
    }
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
