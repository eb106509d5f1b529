//! A real full disk: in a private mount namespace (`unshare -m`), a child process (this test
//! binary, re-run) mounts a 2 MiB tmpfs, fills part of it with a ballast file and appends with
//! `Durability::Immediate` until the file system is full, once with segment preallocation and
//! once without. The append must fail with an error that says the disk is full, later appends
//! must be refused (poisoned), and after the ballast is deleted the log reopens with every
//! acknowledged record and accepts appends again.
//!
//! Needs root and mount namespaces; elsewhere it prints why it skipped.

use auditlog::fuzzing::model::event_for;
use auditlog::{AuditLog, Durability, Error};
use std::path::Path;
use std::process::Command;

const CHILD_DIR: &str = "AUDITLOG_DISKFULL_DIR";
const CHILD_PREALLOC: &str = "AUDITLOG_DISKFULL_PREALLOCATE";
const NO_SPACE: &str = "No space left on device";

fn open(dir: &Path, preallocate: bool) -> auditlog::Result<AuditLog> {
    AuditLog::builder(dir)
        .durability(Durability::Immediate)
        .segment_max_bytes(64 * 1024)
        .preallocate(preallocate)
        .open()
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
        matches!(&later, Err(Error::Poisoned { cause }) if cause.contains(NO_SPACE)),
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
    let end = log.end_seq();
    for seq in end..end + 20 {
        log.append(&event_for(seq))
            .and_then(|h| h.wait())
            .expect("append after freeing");
    }
    log.close().expect("close");
    println!("DISKFULL-OK preallocate={preallocate} acked={acked} error=`{err}`");
}

#[test]
fn appends_fail_cleanly_on_a_full_disk() {
    // No unsafe geteuid(): /proc/self/status names the effective uid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !root {
        println!("SKIPPED appends_fail_cleanly_on_a_full_disk: needs root to mount a tmpfs");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for preallocate in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let out = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(
                "mount -t tmpfs -o size=2m tmpfs \"$1\" || exit 97; \
                 exec \"$2\" --ignored --exact diskfull_child --nocapture --test-threads=1",
            )
            .arg("sh")
            .arg(tmp.path())
            .arg(&exe)
            .env(CHILD_DIR, tmp.path())
            .env(CHILD_PREALLOC, if preallocate { "1" } else { "0" })
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                println!("SKIPPED appends_fail_cleanly_on_a_full_disk: no unshare ({e})");
                return;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(97) || stderr.contains("unshare failed") {
            println!("SKIPPED appends_fail_cleanly_on_a_full_disk: cannot mount a tmpfs: {stderr}");
            return;
        }
        assert!(
            out.status.success() && stdout.contains("DISKFULL-OK"),
            "preallocate={preallocate}: child failed ({:?})\n{stdout}\n{stderr}",
            out.status
        );
        for line in stdout.lines().filter_map(|l| l.split_once("DISKFULL-OK")) {
            println!("disk full:{}", line.1);
        }
    }
}
