//! Readers in other processes beside a writer process that appends and seals in a loop: every
//! read command of the binary (`stats`, `query`, `query --count`, `get`, `export`, `tail`,
//! `tail -f`) runs a fixed number of times while the writer works, and none may die of a
//! signal (a mapped page trimmed away by a seal raises SIGBUS), print a warning of damage
//! (the log verifies clean at the end), fail, or return fewer records than were acknowledged
//! before it started (or records that are not the log's prefix, in order).
//!
//! The writer is this test binary run again (`writer_process`, active only with
//! `AUDITLOG_STRESS_WRITER_DIR` set), so it uses the library with 1 MiB preallocated segments
//! and seals every 200 records (each seal trims most of the segment away). Bounded by count: `AUDITLOG_STRESS_ROUNDS` rounds of
//! all the commands (default 20); the figures are printed (run with `--nocapture`).

mod common;

use auditlog::verify::{VerifyOptions, verify};
use auditlog::{AuditLog, Durability};
use common::event;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const WRITER_DIR: &str = "AUDITLOG_STRESS_WRITER_DIR";
/// Events per appended batch, and batches between explicit seals.
const BATCH: u64 = 5;
const SEAL_EVERY: u64 = 40;
/// Records the writer may append per reader run: it works while each reader runs, and the log
/// grows with the number of runs, not with how fast the writer is next to the readers.
const PERMITS_PER_RUN: u64 = 150;

/// The writer process (a no-op when run as an ordinary test): appends batches of
/// `common::event`s as permits (numbers of records, one per line of its stdin) allow,
/// printing `acked N` after each acknowledgement, and seals every `SEAL_EVERY` batches, until
/// its stdin closes.
#[test]
fn writer_process() {
    let Some(dir) = std::env::var_os(WRITER_DIR) else {
        return;
    };
    let (tx, permits) = std::sync::mpsc::channel::<u64>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(n) = line.map(|l| l.trim().parse().expect("a number of records")) else {
                return;
            };
            if tx.send(n).is_err() {
                return;
            }
        }
    });
    let log = AuditLog::builder(&dir)
        .segment_max_bytes(1024 * 1024)
        .durability(Durability::Immediate)
        .open()
        .expect("writer opens the log");
    let mut next = log.end_seq();
    let mut left = 0u64;
    let mut batches = 0u64;
    loop {
        left += permits.try_iter().sum::<u64>();
        if left < BATCH {
            match permits.recv() {
                Ok(n) => left += n,
                Err(_) => break, // stdin closed: stop
            }
            continue;
        }
        let events: Vec<_> = (next..next + BATCH).map(event).collect();
        log.append_batch(&events)
            .expect("append")
            .wait()
            .expect("ack");
        next += BATCH;
        left -= BATCH;
        println!("acked {next}");
        batches += 1;
        if batches.is_multiple_of(SEAL_EVERY) {
            log.seal().expect("seal");
        }
        // Spreads the permits over the reader's run.
        std::thread::sleep(Duration::from_millis(2));
    }
    log.close().expect("close");
}

/// The writer child and the number of records it acknowledged so far (from its stdout).
struct Writer {
    child: Child,
    permits: ChildStdin,
    acked: Arc<AtomicU64>,
}

impl Writer {
    fn start(dir: &Path) -> Writer {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "writer_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_DIR, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("writer starts");
        let acked = Arc::new(AtomicU64::new(0));
        let out = child.stdout.take().expect("piped");
        let seen = acked.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if let Some(n) = line.strip_prefix("acked ") {
                    seen.store(n.trim().parse().expect("count"), Ordering::SeqCst);
                }
            }
        });
        let permits = child.stdin.take().expect("piped");
        Writer {
            child,
            permits,
            acked,
        }
    }

    fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Lets the writer append `n` more records.
    fn permit(&mut self, n: u64) {
        writeln!(self.permits, "{n}").expect("the writer is running");
    }

    /// Waits until at least `n` records are acknowledged (the writer is running).
    fn wait_for(&mut self, n: u64) {
        while self.acked() < n {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the writer stopped early: {status}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(self) {
        let Writer {
            mut child, permits, ..
        } = self;
        drop(permits);
        let status = child.wait().expect("writer exits");
        assert!(status.success(), "writer failed: {status}");
    }
}

/// What the reader runs found.
#[derive(Debug, Default)]
struct Figures {
    runs: u64,
    /// Readers killed by SIGBUS or SIGSEGV.
    signal_deaths: u64,
    /// Runs whose stderr spoke of damage or corruption.
    false_warnings: u64,
    /// Runs that failed otherwise: a non-zero exit, or output that is not a consistent,
    /// complete-enough prefix of the log.
    failed_reads: u64,
    /// The first problems (at most 16), for the assertion message.
    examples: Vec<String>,
}

impl Figures {
    fn note(&mut self, what: String) {
        if self.examples.len() < 16 {
            self.examples.push(what);
        }
    }

    /// Books one finished run: its exit status, its stderr, and the verdict on its stdout.
    fn record(&mut self, name: &str, status: ExitStatus, stderr: &str, check: Result<(), String>) {
        self.runs += 1;
        if let Some(sig) = status.signal() {
            self.signal_deaths += 1;
            self.note(format!("{name}: killed by signal {sig}"));
            return;
        }
        let lower = stderr.to_lowercase();
        if ["corrupt", "damage", "warning"]
            .iter()
            .any(|w| lower.contains(w))
        {
            self.false_warnings += 1;
            self.note(format!("{name}: warned on a healthy log: {stderr}"));
        }
        if !status.success() {
            self.failed_reads += 1;
            self.note(format!("{name}: failed ({status}): {stderr}"));
        } else if let Err(why) = check {
            self.failed_reads += 1;
            self.note(format!("{name}: {why}"));
        }
    }
}

fn bin(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    c.env_remove("AUDITLOG_DIR")
        .args(args)
        .arg("--dir")
        .arg(dir);
    c
}

/// Checks JSON Lines of records: consecutive sequence numbers from `first`, each the event
/// the writer appended there, at least `min_end` in all (when given). Returns the count.
fn check_lines(text: &str, first: u64, min_end: Option<u64>) -> Result<u64, String> {
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("bad line {line}: {e}"))?;
        let seq = v["seq"].as_u64().ok_or("no seq")?;
        if seq != first + n {
            return Err(format!("record {seq} where {} belongs", first + n));
        }
        let actor = v["actor"]["id"].as_str().or_else(|| v["actor"].as_str());
        if actor != Some(event(seq).actor.id.as_str()) {
            return Err(format!(
                "record {seq} is not the event appended there: {line}"
            ));
        }
        n += 1;
    }
    match min_end {
        Some(end) if first + n < end => Err(format!(
            "{} records shown, {end} were acknowledged before the read",
            first + n
        )),
        _ => Ok(n),
    }
}

/// Runs `cmd` to completion and books it, checking its stdout with `check`.
fn run_one(
    figures: &mut Figures,
    name: &str,
    mut cmd: Command,
    check: impl FnOnce(&str) -> Result<(), String>,
) {
    let out = cmd.output().expect("reader runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let verdict = if out.status.success() {
        check(&stdout)
    } else {
        Ok(())
    };
    figures.record(name, out.status, &stderr, verdict);
}

/// `tail -f -n 0`, read until it has printed `want` records, then stopped (SIGKILL, ours).
fn follow_run(figures: &mut Figures, dir: &Path, acked: u64, want: u64) {
    let mut child = bin(dir, &["tail", "-f", "-n", "0", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tail -f starts");
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut ended_early = None;
    while (lines.len() as u64) < want {
        // Only a guard against a hung follower: the writer appends every few milliseconds.
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => lines.push(line),
            Err(e) => {
                ended_early = Some(format!("tail -f stopped printing: {e:?}"));
                break;
            }
        }
    }
    let _ = child.kill();
    let status = child.wait().expect("tail -f exits");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    // Our own SIGKILL is not a death to count; anything else (SIGBUS) is.
    let status = match status.signal() {
        Some(9) if ended_early.is_none() => ExitStatus::from_raw(0),
        _ => status,
    };
    let check = match ended_early {
        Some(why) => Err(why),
        None => {
            let text = lines.join("\n");
            let first = lines
                .first()
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
                .and_then(|v| v["seq"].as_u64())
                .unwrap_or(0);
            if first < acked {
                Err(format!("tail -f -n 0 started at {first}, below {acked}"))
            } else {
                check_lines(&text, first, None).map(|_| ())
            }
        }
    };
    figures.record("tail -f", status, &stderr, check);
}

/// One round: every read command once, each checked against what was acknowledged before it
/// started.
fn round(figures: &mut Figures, dir: &Path, writer: &mut Writer) {
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    run_one(
        figures,
        "export",
        bin(dir, &["export", "--format", "jsonl"]),
        |out| check_lines(out, 0, Some(acked)).map(|_| ()),
    );
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    run_one(
        figures,
        "query",
        bin(dir, &["query", "--limit", "0", "--format", "jsonl"]),
        |out| check_lines(out, 0, Some(acked)).map(|_| ()),
    );
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    run_one(
        figures,
        "query --count",
        bin(dir, &["query", "--count"]),
        |out| match out.trim().parse::<u64>() {
            Ok(n) if n >= acked => Ok(()),
            Ok(n) => Err(format!("count {n} below the {acked} acknowledged")),
            Err(e) => Err(format!("count {out:?}: {e}")),
        },
    );
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    run_one(figures, "stats", bin(dir, &["stats", "--json"]), |out| {
        let v: Value = serde_json::from_str(out).map_err(|e| format!("stats json: {e}"))?;
        let n = v["matching_records"]
            .as_u64()
            .ok_or("no matching_records")?;
        let size = v["tree_head"]["size"].as_u64().ok_or("no tree size")?;
        match n >= acked && n == size {
            true => Ok(()),
            false => Err(format!("stats counted {n} of {size}, {acked} acknowledged")),
        }
    });
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    let seq = (acked - 1).to_string();
    run_one(
        figures,
        "get",
        bin(dir, &["get", "--compact", &seq]),
        |out| check_lines(out, acked - 1, None).map(|_| ()),
    );
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    run_one(
        figures,
        "tail",
        bin(dir, &["tail", "-n", "7", "--format", "jsonl"]),
        |out| {
            let first = out
                .lines()
                .next()
                .and_then(|l| serde_json::from_str::<Value>(l).ok())
                .and_then(|v| v["seq"].as_u64())
                .ok_or("tail printed nothing")?;
            let n = check_lines(out, first, Some(acked))?;
            match n {
                7 => Ok(()),
                n => Err(format!("tail -n 7 printed {n} records")),
            }
        },
    );
    writer.permit(PERMITS_PER_RUN);
    let acked = writer.acked();
    follow_run(figures, dir, acked, 3);
}

#[test]
fn readers_in_other_processes_never_crash_or_cry_wolf() {
    if std::env::var_os(WRITER_DIR).is_some() {
        return; // this process is the writer
    }
    let rounds: u64 = std::env::var("AUDITLOG_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let mut writer = Writer::start(&dir);
    writer.permit(BATCH * SEAL_EVERY * 2);
    writer.wait_for(BATCH * SEAL_EVERY * 2);
    let mut figures = Figures::default();
    for _ in 0..rounds {
        round(&mut figures, &dir, &mut writer);
    }
    let acked = writer.acked();
    writer.stop();
    let report = verify(&dir, &VerifyOptions::default()).expect("verify runs");
    println!(
        "readers beside a writer process: {} runs over {rounds} rounds, {} signal deaths, \
         {} false warnings, {} other failed reads; {acked} records acknowledged",
        figures.runs, figures.signal_deaths, figures.false_warnings, figures.failed_reads
    );
    assert!(
        report.ok && report.warnings.is_empty(),
        "the log must verify clean: {report}"
    );
    assert!(report.segments_checked > 2, "the writer sealed segments");
    assert_eq!(
        (
            figures.signal_deaths,
            figures.false_warnings,
            figures.failed_reads
        ),
        (0, 0, 0),
        "readers failed beside the writer: {:#?}",
        figures.examples
    );
}
