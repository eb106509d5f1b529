//! `auditlog verify` takes the log as a positional PATH (as the binary always did) or as
//! `--dir DIR` (as the README and every other command write it), or from AUDITLOG_DIR; the
//! two flags together are a usage error, and a damaged log fails the same way with either.

use std::path::Path;
use std::process::{Command, Output};

fn verify(args: &[&str], env_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    cmd.arg("verify").args(args).env_remove("AUDITLOG_DIR");
    if let Some(dir) = env_dir {
        cmd.env("AUDITLOG_DIR", dir);
    }
    cmd.output().expect("runs")
}

#[test]
fn verify_takes_the_path_or_dir_alike() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("log");
    let d = log.to_str().expect("utf-8");
    // Two records: damage to the last one of the active segment could be a torn write.
    for actor in ["alice", "bob"] {
        let out = Command::new(env!("CARGO_BIN_EXE_auditlog"))
            .args(["append", "--dir", d, "--actor", actor, "--action", "login"])
            .env_remove("AUDITLOG_DIR")
            .output()
            .expect("runs");
        assert!(out.status.success());
    }

    let positional = verify(&[d], None);
    let flag = verify(&["--dir", d], None);
    let env = verify(&[], Some(&log));
    for out in [&positional, &flag, &env] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("OK: 2 records"), "{text}");
    }
    assert_eq!(positional.stdout, flag.stdout);
    // AUDITLOG_DIR set for other commands does not stand in the way of a PATH.
    let elsewhere = tmp.path().join("elsewhere");
    assert_eq!(verify(&[d], Some(&elsewhere)).status.code(), Some(0));

    assert_eq!(
        verify(&["--dir", d, d], None).status.code(),
        Some(2),
        "both"
    );
    let none = verify(&[], None);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--dir DIR"));
    let missing = tmp.path().join("missing");
    let m = missing.to_str().expect("utf-8");
    assert_eq!(verify(&["--dir", m], None).status.code(), Some(2));
    assert_eq!(verify(&[m], None).status.code(), Some(2));

    // Damage is found the same way through either spelling.
    let seg = std::fs::read_dir(&log)
        .expect("lists")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .expect("a segment");
    let mut bytes = std::fs::read(&seg).expect("reads");
    let at = bytes
        .windows(5)
        .position(|w| w == b"alice")
        .expect("the actor in the record");
    bytes[at] = b'A';
    std::fs::write(&seg, bytes).expect("writes");
    assert_eq!(verify(&[d], None).status.code(), Some(1));
    assert_eq!(verify(&["--dir", d], None).status.code(), Some(1));
}
