//! A real full disk: in a private mount namespace (`unshare -m`), a child process (this test
//! binary, re-run) mounts a 2 MiB tmpfs, fills part of it with a ballast file and appends with
//! `Durability::Immediate` until the file system is full, once with segment preallocation and
//! once without. The append must fail with an error that says the disk is full, later appends
//! must be refused (poisoned), and after the ballast is deleted the log reopens with every
//! acknowledged record and accepts appends again.
//!
//! A second child fills the disk the same way, then fills what is left with another file
//! but for a few pages (far less than one segment's preallocation): `auditlog retention` and
//! `auditlog archive`, which free space, must still work there. Often nothing at all is left
//! (the log's index files took the last blocks, and the roll could not create the next
//! segment): the CLI's open then starts with the writer deferred (docs/DESIGN.md, "Opening on
//! a full disk").
//!
//! Needs root and mount namespaces; elsewhere it prints why it skipped.

use auditlog::fuzzing::model::event_for;
use auditlog::{AppendError, AuditLog, Durability};
use std::path::Path;
use std::process::Command;

const CHILD_DIR: &str = "AUDITLOG_DISKFULL_DIR";
const CHILD_PREALLOC: &str = "AUDITLOG_DISKFULL_PREALLOCATE";
const CHILD_ARCHIVE: &str = "AUDITLOG_DISKFULL_ARCHIVE";
const NO_SPACE: &str = "No space left on device";

fn open(dir: &Path, preallocate: bool) -> auditlog::Result<AuditLog> {
    AuditLog::builder(dir)
        .durability(Durability::Immediate)
        .segment_max_bytes(64 * 1024)
        .preallocate(preallocate)
        .open()
        .map_err(auditlog::Error::from)
}

#[test]
#[ignore = "entry point of the child process of appends_fail_cleanly_on_a_full_disk"]
fn diskfull_child() {
    let Some(mount) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let mount = Path::new(&mount);
    let preallocate = std::env::var(CHILD_PREALLOC).as_deref() == Ok("1");
    let ballast = mount.join("ballast");
    std::fs::write(&ballast, vec![0x42; 256 * 1024]).expect("ballast");
    let dir = mount.join("log");
    let log = open(&dir, preallocate).expect("open");
    let mut acked = 0u64;
    let err = loop {
        assert!(acked < 100_000, "2 MiB never filled up");
        match log.append(&event_for(acked)).and_then(|h| h.wait()) {
            Ok(r) => {
                assert_eq!(r.seq, acked);
                acked += 1;
            }
            Err(e) => break e,
        }
    };
    assert!(
        err.to_string().contains(NO_SPACE),
        "the error does not say the disk is full: {err}"
    );
    let later = log.append(&event_for(acked)).map(|_| ());
    assert!(
        matches!(&later, Err(AppendError::Poisoned { cause }) if cause.contains(NO_SPACE)),
        "a later append was not refused: {later:?}"
    );
    assert!(log.close().is_err(), "close of a poisoned log said Ok");

    std::fs::remove_file(&ballast).expect("free space");
    let log = open(&dir, preallocate).unwrap_or_else(|e| panic!("reopen after freeing: {e}"));
    assert!(log.end_seq() >= acked, "lost acknowledged records");
    for (i, record) in log.iter(..).enumerate() {
        let record = record.unwrap_or_else(|e| panic!("read {i}: {e}"));
        assert_eq!(
            (record.seq, &record.event),
            (i as u64, &event_for(i as u64))
        );
    }
    append_after_freeing_and_close(log);
    println!("DISKFULL-OK preallocate={preallocate} acked={acked} error=`{err}`");
}

/// Appends until the disk is full; returns how many were acknowledged.
fn fill_with_records(dir: &Path) -> u64 {
    let log = open(dir, true).expect("open");
    let mut acked = 0u64;
    loop {
        assert!(acked < 100_000, "2 MiB never filled up");
        match log.append(&event_for(acked)).and_then(|h| h.wait()) {
            Ok(_) => acked += 1,
            Err(e) => {
                assert!(e.to_string().contains(NO_SPACE), "{e}");
                break;
            }
        }
    }
    assert!(log.close().is_err(), "close of a poisoned log said Ok");
    acked
}

/// Fills the free space with `path` but for `keep` bytes.
fn fill_but(path: &Path, keep: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0x42; 4096];
    while file.write_all(&chunk).is_ok() {}
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(keep)).expect("trim filler");
}

fn cli(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("run auditlog");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
#[ignore = "entry point of the child process of maintenance_frees_a_full_disk"]
fn diskfull_maintenance_child() {
    let (Some(mount), Some(archive)) =
        (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_ARCHIVE))
    else {
        return;
    };
    let mount = Path::new(&mount);
    std::fs::write(mount.join("ballast"), vec![0x42; 256 * 1024]).expect("ballast");
    let dir = mount.join("log");
    let acked = fill_with_records(&dir);
    // Far less than one 64 KiB segment preallocation is left, but a cut record fits.
    fill_but(&mount.join("filler"), 16 * 1024);

    let (ok, out) = cli(&["retention", "--max-bytes", "600000"], &dir);
    assert!(ok, "retention on a full disk failed: {out}");
    assert!(
        out.contains("bytes reclaimed"),
        "retention freed nothing: {out}"
    );
    let (ok, out) = cli(
        &[
            "archive",
            "--max-segments",
            "2",
            "--to",
            archive.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(ok, "archive on a full disk failed: {out}");
    assert!(out.contains("2 bundle(s)"), "archive moved nothing: {out}");

    // Every acknowledged record that was not cut is still there, and appends work again.
    let log = open(&dir, true).unwrap_or_else(|e| panic!("reopen after maintenance: {e}"));
    assert!(
        log.first_seq() > 0 && log.end_seq() >= acked,
        "{}..{}",
        log.first_seq(),
        log.end_seq()
    );
    for record in log.iter(..) {
        let record = record.expect("read");
        assert_eq!(record.event, event_for(record.seq));
    }
    append_after_freeing_and_close(log);
    println!("DISKFULL-OK maintenance acked={acked}");
}

/// The log takes appends again once space was freed, and closes cleanly.
fn append_after_freeing_and_close(log: AuditLog) {
    let end = log.end_seq();
    for seq in end..end + 20 {
        log.append(&event_for(seq))
            .and_then(|h| h.wait())
            .expect("append after freeing");
    }
    log.close().expect("close");
}

fn is_root() -> bool {
    // No unsafe geteuid(): /proc/self/status names the effective uid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0")
}

/// Runs test `child` of this binary on a fresh 2 MiB tmpfs mounted at `mount` in a private
/// mount namespace. `None` (after saying why) where that is impossible.
fn run_on_tmpfs(test: &str, child: &str, mount: &Path, env: &[(&str, &str)]) -> Option<String> {
    if !is_root() {
        println!("SKIPPED {test}: needs root to mount a tmpfs");
        return None;
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=2m tmpfs \"$1\" || exit 97; \
             exec \"$2\" --ignored --exact \"$3\" --nocapture --test-threads=1",
        )
        .arg("sh")
        .arg(mount)
        .arg(&exe)
        .arg(child)
        .env(CHILD_DIR, mount);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            println!("SKIPPED {test}: no unshare ({e})");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(97) || stderr.contains("unshare failed") {
        println!("SKIPPED {test}: cannot mount a tmpfs: {stderr}");
        return None;
    }
    assert!(
        out.status.success() && stdout.contains("DISKFULL-OK"),
        "{child}: child failed ({:?})\n{stdout}\n{stderr}",
        out.status
    );
    for line in stdout.lines().filter_map(|l| l.split_once("DISKFULL-OK")) {
        println!("disk full:{}", line.1);
    }
    Some(stdout)
}

#[test]
fn appends_fail_cleanly_on_a_full_disk() {
    for preallocate in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let env = [(CHILD_PREALLOC, if preallocate { "1" } else { "0" })];
        let test = "appends_fail_cleanly_on_a_full_disk";
        if run_on_tmpfs(test, "diskfull_child", tmp.path(), &env).is_none() {
            return;
        }
    }
}

#[test]
fn maintenance_frees_a_full_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tempfile::tempdir().unwrap();
    let env = [(CHILD_ARCHIVE, archive.path().to_str().unwrap())];
    let test = "maintenance_frees_a_full_disk";
    run_on_tmpfs(test, "diskfull_maintenance_child", tmp.path(), &env);
}
