//! The lifecycle and checkpoint operations of a workload (compaction, archiving, retention,
//! maintenance, signed checkpoints) and what each one lets the model expect.
//!
//! Before an operation that removes a prefix, the model widens the range where the live log
//! may start after a crash (`cut_max`) to the furthest cut the operation sets out to make;
//! once it completes, the log must start exactly there (`cut_min`).

use super::{Model, Op, archive_dir};
use crate::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner};
use crate::clock::Clock;
use crate::fs::sim::SimFs;
use crate::lifecycle::cold::CompressOptions;
use crate::lifecycle::{
    ArchivePolicy, CompactOptions, LocalDirDestination, MaintenancePolicy, RetentionPolicy,
};
use crate::{AuditLog, Timestamp};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A clock that stands still until the workload advances it, shared by every handle.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `t`.
    pub fn at(t: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(t.as_nanos())))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ns))
            })
            .ok();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

const TEST_KEY_NAME: &str = "auditlog-model-test";
const TEST_KEY_SEED: [u8; 32] = [7; 32];

/// The fixed key every workload signs its checkpoints with.
pub(super) fn test_key() -> NoteSigner {
    // A constant, valid key name: this cannot fail.
    NoteSigner::from_seed(TEST_KEY_NAME, TEST_KEY_SEED).expect("the test key name is valid")
}

/// A signer with the fixed test key, and its verifier's view, for checks.
pub fn test_signer() -> CheckpointSigner {
    CheckpointSigner::new(test_key())
}

/// Compression options that keep workloads fast: a low level and small frames (many of them).
fn compact_options(dictionary: bool) -> CompactOptions {
    CompactOptions {
        min_age: None,
        compress: CompressOptions {
            level: 1,
            frame_bytes: 8 * 1024,
            dictionary,
            dictionary_max_bytes: 16 * 1024,
        },
    }
}

/// What one generation needs to run lifecycle operations.
pub(super) struct Lifecycle {
    /// The archive, on the simulated disk beside the log.
    archive: Arc<LocalDirDestination>,
    /// A signer of this boot (a restarted process starts with a fresh one).
    signer: CheckpointSigner,
}

/// The engine's answer (`Ok(Err(_))` is an engine error, expected after a power loss), or a
/// broken expectation (`Err`).
type Outcome = Result<crate::Result<()>, String>;

impl Lifecycle {
    pub(super) fn new(disk: &Path, sim: &SimFs) -> Self {
        Lifecycle {
            archive: Arc::new(LocalDirDestination::with_file_system(
                archive_dir(disk),
                Arc::new(sim.clone()),
            )),
            signer: test_signer(),
        }
    }

    /// Runs `op` (a lifecycle or checkpoint operation) and updates the model.
    pub(super) fn run(&self, log: &AuditLog, op: &Op, model: &mut Model) -> Outcome {
        match *op {
            Op::Compact { dictionary } => Ok(self.compact(log, dictionary)),
            Op::Archive(n) => self.archive(log, usize::from(n), model),
            Op::RetainAge(minutes) => {
                let policy = RetentionPolicy {
                    max_age: Some(Duration::from_secs(60 * u64::from(minutes))),
                    max_total_bytes: None,
                };
                retain(log, &policy, model)
            }
            Op::RetainSize(kib) => {
                let policy = RetentionPolicy {
                    max_age: None,
                    max_total_bytes: Some(1024 * u64::from(kib)),
                };
                retain(log, &policy, model)
            }
            Op::Checkpoint => self.checkpoint(log, model),
            Op::Maintain => self.maintain(log, model),
            _ => Err(format!("{op:?} is not a lifecycle operation")),
        }
    }

    fn compact(&self, log: &AuditLog, dictionary: bool) -> crate::Result<()> {
        log.compact(&compact_options(dictionary)).map(|_| ())
    }

    fn archive(&self, log: &AuditLog, n: usize, model: &mut Model) -> Outcome {
        let view = log.view();
        // Oldest first, never the newest segment.
        let count = n.min(view.segments.len().saturating_sub(1));
        let planned = match count {
            0 => view.first_seq,
            k => view.segments[k].first_seq(),
        };
        model.cut_max = model.cut_max.max(planned);
        let policy = ArchivePolicy {
            min_age: None,
            max_segments: Some(n),
        };
        let report = match log.archive(self.archive.as_ref(), &policy) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if report.bundles.len() != count || log.first_seq() != planned {
            return Err(format!(
                "archiving {n} of {} segments wrote {} bundles and left the log at {}, \
                 expected {count} and {planned}",
                view.segments.len(),
                report.bundles.len(),
                log.first_seq()
            ));
        }
        model.cut_min = planned;
        model.archived.extend(report.bundles);
        Ok(Ok(()))
    }

    fn checkpoint(&self, log: &AuditLog, model: &mut Model) -> Outcome {
        // With a key given to the builder, the log's own signer (which also signs at seals).
        let signed = if log.options().signer.is_some() {
            log.checkpoint()
        } else {
            log.sign_checkpoint(&self.signer)
        };
        let note = match signed {
            Ok(note) => note,
            Err(e) => return Ok(Err(e)),
        };
        let checkpoint = Checkpoint::open(&note, &test_key().verifier())
            .map_err(|e| format!("a checkpoint just signed does not open: {e}"))?;
        if checkpoint.tree_head.size != model.next {
            return Err(format!(
                "the checkpoint covers {} records, {} were acknowledged",
                checkpoint.tree_head.size, model.next
            ));
        }
        // Signing syncs first: everything acknowledged is now promised.
        model.durable = model.next;
        model.checkpoint = Some(checkpoint.tree_head);
        Ok(Ok(()))
    }

    fn maintain(&self, log: &AuditLog, model: &mut Model) -> Outcome {
        let policy = MaintenancePolicy {
            retention: Some(RetentionPolicy {
                max_age: Some(Duration::from_secs(3600)),
                max_total_bytes: None,
            }),
            archive: Some((
                self.archive.clone(),
                ArchivePolicy {
                    min_age: None,
                    max_segments: Some(1),
                },
            )),
            compact: Some(compact_options(false)),
            interval: None,
        };
        // Retention then archiving may remove anything but the newest segment.
        let view = log.view();
        if let Some(newest) = view.segments.last() {
            model.cut_max = model.cut_max.max(newest.first_seq());
        }
        let report = match log.maintain_with(&policy) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        model.cut_min = log.first_seq();
        if let Some(archive) = report.archive {
            model.archived.extend(archive.bundles);
        }
        Ok(Ok(()))
    }
}

fn retain(log: &AuditLog, policy: &RetentionPolicy, model: &mut Model) -> Outcome {
    let plan = match log.plan_retention(policy) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let planned = plan.segments.last().map_or(log.first_seq(), |s| s.end_seq);
    model.cut_max = model.cut_max.max(planned);
    let report = match log.apply_retention(policy) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if report.segments != plan.segments || log.first_seq() != planned {
        return Err(format!(
            "retention planned {:?} but removed {:?}, leaving the log at {} (planned {planned})",
            plan.segments,
            report.segments,
            log.first_seq()
        ));
    }
    if let Some(cut) = &report.cut
        && cut.cut_seq != planned
    {
        return Err(format!("retention recorded {cut}, planned {planned}"));
    }
    model.cut_min = planned;
    Ok(Ok(()))
}
