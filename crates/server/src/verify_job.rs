//! The background verification behind `POST /v1/admin/verify` and `GET /v1/admin/verify`.
//!
//! At most one runs at a time. It calls the engine's [`auditlog::verify_with`] on the log
//! directory beside the writer: verification only reads, and a log being written is verified
//! up to its committed prefix (crates/verify), so it needs no lock and never blocks ingest.
//! Index files are compared but never set aside here (that rename is left to the CLI's
//! `auditlog verify`, run by an operator).
//!
//! The last finished run survives a restart: it is kept in `server-verify.json` in the log
//! directory, written crash-safely through the engine's file-system interface
//! ([`auditlog::fs::write_file_durably`]: temporary file, fdatasync, rename, directory
//! fsync), so a crash leaves the previous report or the new one. The file is derived data:
//! a missing or unreadable one means "no run yet", and verification ignores it (an unknown
//! file in a log directory).

use auditlog::fs::{FileSystem, write_file_durably};
use auditlog::verify::{IndexCheck, Progress};
use auditlog::{Timestamp, VerifyOptions, verify_with};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file of the last finished run, in the log directory.
pub const LAST_VERIFY_FILE: &str = "server-verify.json";
/// Most problems kept in that file (the count is kept whole).
const MAX_KEPT_PROBLEMS: usize = 1_000;

/// A function a test runs on the verification's thread before it verifies (to hold a run
/// open without timing).
type Hook = Arc<dyn Fn() + Send + Sync>;

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
    /// Problems found (the list may be cut to the first 1,000 in the saved file).
    pub problem_count: u64,
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

impl LastRun {
    fn to_json(&self) -> Value {
        json!({
            "ok": self.ok,
            "records": self.records,
            "problem_count": self.problem_count,
            "problems": self.problems,
            "error": self.error,
            "finished_at": self.finished_at.to_rfc3339(),
        })
    }

    fn from_json(doc: &Value) -> Option<LastRun> {
        Some(LastRun {
            ok: doc["ok"].as_bool()?,
            records: doc["records"].as_u64()?,
            problem_count: doc["problem_count"].as_u64()?,
            problems: doc["problems"].as_array()?.clone(),
            error: doc["error"].as_str().map(str::to_string),
            finished_at: Timestamp::parse_rfc3339(doc["finished_at"].as_str()?).ok()?,
        })
    }
}

struct Store {
    path: PathBuf,
    fs: Arc<dyn FileSystem>,
    hook: Mutex<Option<Hook>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The one verification job of a server; cheap to clone.
#[derive(Debug, Clone)]
pub struct VerifyJob(Arc<Mutex<Inner>>, Arc<Store>);

/// The right to run the one verification, taken by [`VerifyJob::claim`].
#[derive(Debug)]
#[must_use = "run it or give it back"]
pub struct Claim {
    previous: (Phase, Option<Timestamp>),
}

impl VerifyJob {
    /// The job of the log in `dir`, with the last run saved there (if any) as its last run.
    /// `fs` writes the saved run.
    pub fn open(dir: &Path, fs: Arc<dyn FileSystem>) -> Self {
        let path = dir.join(LAST_VERIFY_FILE);
        let last = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|doc| LastRun::from_json(&doc["last"]));
        let phase = match &last {
            Some(l) if l.error.is_some() => Phase::Failed,
            Some(_) => Phase::Done,
            None => Phase::Idle,
        };
        VerifyJob(
            Arc::new(Mutex::new(Inner {
                phase,
                started_at: None,
                progress: None,
                last,
            })),
            Arc::new(Store {
                path,
                fs,
                hook: Mutex::new(None),
            }),
        )
    }

    /// Runs `hook` on the verification's thread before each later run verifies: tests hold a
    /// run open with it, to see the 409 of a second start without relying on timing.
    #[doc(hidden)]
    pub fn set_hook(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.1.hook.lock() = Some(Arc::new(hook));
    }

    /// Marks the job running; `None` if a run is running already.
    pub fn claim(&self) -> Option<Claim> {
        let mut inner = self.0.lock();
        if inner.phase == Phase::Running {
            return None;
        }
        let previous = (inner.phase, inner.started_at);
        inner.phase = Phase::Running;
        inner.started_at = Some(Timestamp::now());
        inner.progress = None;
        Some(Claim { previous })
    }

    /// Gives a claim back unused (the start could not be recorded).
    pub fn release(&self, claim: Claim) {
        let mut inner = self.0.lock();
        (inner.phase, inner.started_at) = claim.previous;
    }

    /// Starts verifying `dir` on a blocking thread; `false` if one is running already.
    pub fn start(&self, dir: PathBuf) -> bool {
        match self.claim() {
            Some(claim) => {
                self.run(claim, dir);
                true
            }
            None => false,
        }
    }

    /// Verifies `dir` on a blocking thread, under `claim`.
    pub fn run(&self, claim: Claim, dir: PathBuf) {
        let _ = claim;
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
            let hook = job.1.hook.lock().clone();
            if let Some(hook) = hook {
                hook();
            }
            let result = verify_with(&dir, &options, IndexCheck::Compare);
            let finished_at = Timestamp::now();
            let (phase, last) = match result {
                Ok(report) => {
                    let mut problems = report.to_json()["problems"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let problem_count = problems.len() as u64;
                    problems.truncate(MAX_KEPT_PROBLEMS);
                    let last = LastRun {
                        ok: report.ok,
                        problems,
                        records: report.records,
                        problem_count,
                        error: None,
                        finished_at,
                    };
                    (Phase::Done, last)
                }
                Err(e) => {
                    let last = LastRun {
                        ok: false,
                        problems: Vec::new(),
                        records: 0,
                        problem_count: 0,
                        error: Some(e.to_string()),
                        finished_at,
                    };
                    (Phase::Failed, last)
                }
            };
            // Saved before the state says done, so a client that saw "done" can rely on the
            // report surviving a restart.
            let bytes = serde_json::to_vec_pretty(&json!({"version": 1, "last": last.to_json()}))
                .unwrap_or_default();
            if let Err(e) = write_file_durably(job.1.fs.as_ref(), &job.1.path, &bytes) {
                eprintln!(
                    "auditlog serve: the verification report could not be saved to {}: {e}",
                    job.1.path.display()
                );
            }
            let mut inner = job.0.lock();
            inner.phase = phase;
            inner.last = Some(last);
        });
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
        let last = inner.last.as_ref().map(LastRun::to_json);
        json!({
            "state": inner.phase.as_str(),
            "started_at": inner.started_at.map(Timestamp::to_rfc3339),
            "progress": progress,
            "last": last,
        })
    }
}
