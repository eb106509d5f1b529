//! The background verification behind `POST /v1/admin/verify` and `GET /v1/admin/verify`.
//!
//! At most one runs at a time. It calls the engine's [`auditlog::verify_with`] on the log
//! directory beside the writer: verification only reads, and a log being written is verified
//! up to its committed prefix (crates/verify), so it needs no lock and never blocks ingest.
//! Index files are compared but never set aside here (that rename is left to the CLI's
//! `auditlog verify`, run by an operator).

use auditlog::verify::{IndexCheck, Progress};
use auditlog::{Timestamp, VerifyOptions, verify_with};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// Worker threads of a server-side verification: fewer than the CLI's one per core, so the
/// writer and the readers keep theirs.
const THREADS: usize = 2;

/// Where the verification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Never started since the server started.
    Idle,
    /// Running now.
    Running,
    /// The last run finished (its report may list problems).
    Done,
    /// The last run could not run at all (the directory could not be read).
    Failed,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}

/// The last finished run.
#[derive(Debug, Clone)]
pub struct LastRun {
    /// No problem found (false for a run that failed to run).
    pub ok: bool,
    /// The report's problems, as JSON (file, offset, seq, kind, message).
    pub problems: Vec<Value>,
    /// Records verified.
    pub records: u64,
    /// Why the run could not run, for a failed one.
    pub error: Option<String>,
    /// When it finished.
    pub finished_at: Timestamp,
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    started_at: Option<Timestamp>,
    progress: Option<Progress>,
    last: Option<LastRun>,
}

/// The one verification job of a server; cheap to clone.
#[derive(Debug, Clone)]
pub struct VerifyJob(Arc<Mutex<Inner>>);

impl Default for VerifyJob {
    fn default() -> Self {
        VerifyJob(Arc::new(Mutex::new(Inner {
            phase: Phase::Idle,
            started_at: None,
            progress: None,
            last: None,
        })))
    }
}

impl VerifyJob {
    /// Starts verifying `dir` on a blocking thread; `false` if one is running already.
    pub fn start(&self, dir: PathBuf) -> bool {
        {
            let mut inner = self.0.lock();
            if inner.phase == Phase::Running {
                return false;
            }
            inner.phase = Phase::Running;
            inner.started_at = Some(Timestamp::now());
            inner.progress = None;
        }
        let job = self.clone();
        let progress_job = self.clone();
        let options = VerifyOptions {
            threads: THREADS,
            progress: Some(Arc::new(move |p: Progress| {
                progress_job.0.lock().progress = Some(p);
            })),
            ..VerifyOptions::default()
        };
        tokio::task::spawn_blocking(move || {
            let result = verify_with(&dir, &options, IndexCheck::Compare);
            let mut inner = job.0.lock();
            let finished_at = Timestamp::now();
            match result {
                Ok(report) => {
                    inner.phase = Phase::Done;
                    inner.last = Some(LastRun {
                        ok: report.ok,
                        problems: report.to_json()["problems"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default(),
                        records: report.records,
                        error: None,
                        finished_at,
                    });
                }
                Err(e) => {
                    inner.phase = Phase::Failed;
                    inner.last = Some(LastRun {
                        ok: false,
                        problems: Vec::new(),
                        records: 0,
                        error: Some(e.to_string()),
                        finished_at,
                    });
                }
            }
        });
        true
    }

    /// The last finished run, if any.
    pub fn last(&self) -> Option<LastRun> {
        self.0.lock().last.clone()
    }

    /// What `GET /v1/admin/verify` answers.
    pub fn to_json(&self) -> Value {
        let inner = self.0.lock();
        let progress = inner.progress.map(|p| {
            json!({
                "bytes_done": p.bytes_done,
                "bytes_total": p.bytes_total,
                "segments_done": p.segments_done,
                "segments_total": p.segments_total,
            })
        });
        let last = inner.last.as_ref().map(|l| {
            json!({
                "ok": l.ok,
                "records": l.records,
                "problems": l.problems,
                "error": l.error,
                "finished_at": l.finished_at.to_rfc3339(),
            })
        });
        json!({
            "state": inner.phase.as_str(),
            "started_at": inner.started_at.map(Timestamp::to_rfc3339),
            "progress": progress,
            "last": last,
        })
    }
}
