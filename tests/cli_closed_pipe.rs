//! The command line is a good Unix citizen: every command that prints, run with its standard
//! output a pipe whose reader has already gone (`auditlog verify DIR | head -0`), ends
//! quietly: killed by SIGPIPE (the shell's 141) or exit 0, with no panic, no backtrace and no
//! "Broken pipe" message. And `verify --threads` with an absurd count never panics.
//!
//! The pipe's read end is closed before the child starts, so its very first write fails:
//! deterministic, whatever the output's size (a pipe closed later would let output that fits
//! the pipe buffer through and prove nothing).

mod common;

use common::{append_range, copy_log, small_segments};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    c.env_remove("AUDITLOG_DIR").env("RUST_BACKTRACE", "1");
    c
}

/// Runs the binary with `args`, stdout a pipe with no reader, stdin empty.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child.wait_with_output().expect("runs")
}

fn run_ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What is wrong with how the command ended, if anything.
fn quiet_end(args: &[&str], out: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lower = stderr.to_lowercase();
    let status_ok = out.status.code() == Some(0) || out.status.signal() == Some(libc_sigpipe());
    if status_ok && !lower.contains("panicked") && !lower.contains("broken pipe") {
        return None;
    }
    Some(format!(
        "{args:?}: status {:?} (signal {:?}), stderr:\n{stderr}",
        out.status.code(),
        out.status.signal()
    ))
}

/// SIGPIPE's number on Linux (and every other Unix this runs on).
fn libc_sigpipe() -> i32 {
    13
}

/// A sealed multi-segment log of `n` records in a new temporary directory.
fn make_log(n: u64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().expect("open");
    append_range(&log, 0, n);
    log.seal().expect("seal");
    log.close().expect("close");
    (tmp, dir)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn every_printing_command_ends_quietly_on_a_closed_stdout() {
    let (tmp, dir) = make_log(3_000);
    let work = tmp.path();
    let d = s(&dir);
    // Inputs some commands need, made by normal runs.
    let key = work.join("signer");
    run_ok(&["keygen", "--out", s(&key), "--name", "example.com/test"]);
    let private = format!("{}.key", key.display());
    let public = format!("{}.pub", key.display());
    let signed = copy_log(&dir);
    run_ok(&["checkpoint", "--dir", s(&signed.1), "--key", &private]);
    let proof = work.join("proof.json");
    std::fs::write(&proof, run_ok(&["prove", "--dir", s(&signed.1), "7"])).expect("write proof");
    let export = work.join("all.jsonl");
    std::fs::write(&export, run_ok(&["export", "--dir", d])).expect("write export");
    let first_segment = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .min()
        .expect("a segment");

    let mut failures = Vec::new();
    let mut check = |args: &[&str]| {
        let out = run_into_closed_pipe(args);
        if let Some(f) = quiet_end(args, &out) {
            failures.push(f);
        }
    };
    // Read-only commands, on the shared log.
    check(&["verify", d]);
    check(&["verify", "--json", d]);
    check(&["verify", s(&first_segment)]);
    check(&["verify-proof", s(&proof)]);
    check(&["verify-proof", s(&proof), "--public-key", &public]);
    check(&["query", "--dir", d]);
    check(&["query", "--dir", d, "--format", "jsonl"]);
    check(&["query", "--dir", d, "--count"]);
    check(&["export", "--dir", d]);
    check(&["export", "--dir", d, "--format", "csv"]);
    check(&["stats", "--dir", d]);
    check(&["stats", "--dir", d, "--json"]);
    check(&["get", "--dir", d, "3"]);
    check(&["tail", "--dir", d]);
    check(&["prove", "--dir", d, "7"]);
    check(&["prove", "--dir", d, "--consistency", "10", "20"]);
    check(&["checkpoint", "--dir", s(&signed.1), "--latest"]);
    check(&["retention", "--dir", d, "--max-bytes", "1", "--dry-run"]);
    check(&["import", "--show-preset", "auditd"]);
    check(&["--help"]);
    check(&["--version"]);
    // Commands that write, each on its own copy.
    let fresh = work.join("imported");
    check(&["import", "--dir", s(&fresh), s(&export)]);
    let appended = copy_log(&dir);
    check(&[
        "append",
        "--dir",
        s(&appended.1),
        "--actor",
        "a",
        "--action",
        "b",
    ]);
    let signing = copy_log(&dir);
    check(&["checkpoint", "--dir", s(&signing.1), "--key", &private]);
    let sealing = copy_log(&dir);
    check(&["seal", "--dir", s(&sealing.1)]);
    let compacting = copy_log(&dir);
    check(&["compact", "--dir", s(&compacting.1)]);
    let archiving = copy_log(&dir);
    let archive = work.join("archive");
    check(&[
        "archive",
        "--dir",
        s(&archiving.1),
        "--to",
        s(&archive),
        "--max-segments",
        "1",
    ]);
    let retained = copy_log(&dir);
    check(&["retention", "--dir", s(&retained.1), "--max-bytes", "1"]);
    check(&["keygen", "--out", s(&work.join("k2")), "--name", "x/y"]);
    assert!(
        failures.is_empty(),
        "{} command(s) did not end quietly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn verify_with_an_absurd_thread_count_neither_panics_nor_aborts() {
    let (_tmp, dir) = make_log(500);
    let max = usize::MAX.to_string();
    for threads in ["100000000000", max.as_str(), "1000000"] {
        let out = bin()
            .args(["verify", s(&dir), "--threads", threads])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "--threads {threads}: status {:?} (signal {:?}): {stderr}",
            out.status.code(),
            out.status.signal()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("OK:"));
    }
}

#[test]
fn the_library_clamps_the_thread_count() {
    let (_tmp, dir) = make_log(500);
    let options = auditlog::verify::VerifyOptions {
        threads: usize::MAX,
        ..Default::default()
    };
    let report = auditlog::verify::verify(&dir, &options).expect("verifies");
    assert!(report.ok, "{report}");
    assert_eq!(report.records, 500);
}
