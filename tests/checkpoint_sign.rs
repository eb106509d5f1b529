//! Checkpoints are signed at every seal and on request into the log's checkpoints file, every
//! one verifies and extends the previous one, and the engine refuses to sign after the log
//! was rewritten below its last checkpoint. The CLI round trip (keygen, checkpoint, verify
//! against it, prove, verify-proof) works end to end with the documented exit codes.

mod common;

use auditlog::AuditLog;
use auditlog::Error;
use auditlog::checkpoint::{Checkpoint, CheckpointSigner, NoteSigner, store::read_notes};
use auditlog::merkle::verify_consistency;
use common::{append_range, segment_files, small_segments};
use std::process::Command;

#[test]
fn seals_sign_consistent_checkpoints_and_rewrites_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let key = NoteSigner::from_seed("test.example/audit", [9; 32]).expect("key");
    let log = small_segments(&dir)
        .signing_key(key.clone())
        .open()
        .expect("open");
    append_range(&log, 0, 2000);
    log.checkpoint().expect("on request");
    log.close().expect("close");
    let notes = read_notes(&dir).expect("read");
    assert!(notes.len() >= 3, "one per seal plus the requested one");
    let cps: Vec<Checkpoint> = notes
        .iter()
        .map(|n| Checkpoint::open(n, &key.verifier()).expect("verifies"))
        .collect();
    for w in cps.windows(2) {
        assert!(w[0].tree_head.size <= w[1].tree_head.size);
    }
    let last = cps.last().expect("one").tree_head;
    assert_eq!(last.size, 2000);
    // Each earlier head is a prefix of the last (checked with an RFC 9162 proof).
    for cp in &cps {
        let proof =
            auditlog::proof::prove_consistency(&dir, cp.tree_head.size, None).expect("prove");
        let path: Vec<_> = proof["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|h| auditlog::merkle::from_hex(h.as_str().expect("str")).expect("hex"))
            .collect();
        verify_consistency(&cp.tree_head, &last, &path).expect("consistent");
    }
    // Rewrite: drop the newest segments and append other records: signing must be refused.
    let segs = segment_files(&dir);
    for s in &segs[segs.len() - 2..] {
        std::fs::remove_file(s).expect("rm");
    }
    let log = small_segments(&dir).open().expect("reopen");
    append_range(&log, 9000, 9100);
    let err = log
        .sign_checkpoint(&CheckpointSigner::new(key))
        .expect_err("must refuse");
    assert!(matches!(err, Error::InconsistentCheckpoint { .. }), "{err}");
    assert_eq!(
        read_notes(&dir).expect("read").len(),
        notes.len(),
        "nothing appended"
    );
}

#[test]
fn cli_round_trip_with_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_auditlog");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let log = AuditLog::open(&dir).expect("open");
    append_range(&log, 0, 50);
    log.seal().expect("seal");
    log.close().expect("close");
    let run = |args: &[&str]| Command::new(bin).args(args).output().expect("runs");
    let prefix = tmp.path().join("k");
    let p = |s: &str| tmp.path().join(s).display().to_string();
    let d = dir.display().to_string();
    assert_eq!(
        run(&["keygen", "--out", &prefix.display().to_string()])
            .status
            .code(),
        Some(0)
    );
    let cp = run(&["checkpoint", "--dir", &d, "--key", &p("k.key")]);
    assert_eq!(
        cp.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );
    std::fs::write(p("cp.txt"), &cp.stdout).expect("write");
    let ok = run(&[
        "verify",
        &d,
        "--checkpoint",
        &p("cp.txt"),
        "--public-key",
        &p("k.pub"),
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // The private key file given as the public key: a usage error that says so.
    let swapped = run(&[
        "verify",
        &d,
        "--checkpoint",
        &p("cp.txt"),
        "--public-key",
        &p("k.key"),
    ]);
    assert_eq!(swapped.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&swapped.stderr);
    assert!(stderr.contains("this is a private key"), "{stderr}");
    let json = run(&["verify", "--json", &d]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["records"], 50);
    let proof = run(&["prove", "--dir", &d, "7"]);
    assert_eq!(proof.status.code(), Some(0));
    std::fs::write(p("proof.json"), &proof.stdout).expect("write");
    let vp = run(&[
        "verify-proof",
        &p("proof.json"),
        "--public-key",
        &p("k.pub"),
    ]);
    assert_eq!(
        vp.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&vp.stderr)
    );
    let forged = String::from_utf8_lossy(&proof.stdout).replace("\"seq\": 7", "\"seq\": 8");
    std::fs::write(p("forged.json"), forged).expect("write");
    assert_eq!(
        run(&["verify-proof", &p("forged.json")]).status.code(),
        Some(1)
    );
    assert_eq!(run(&["verify", &p("missing")]).status.code(), Some(2));
    // Damage in a sealed segment: exit 1. (In the newest segment's last group a flipped bit
    // is indistinguishable from a torn tail and is a warning: see docs/VERIFYING.md.)
    let seg = segment_files(&dir)[0].clone();
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[300] ^= 1;
    std::fs::write(&seg, bytes).expect("write");
    let bad = run(&["verify", &d]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("offset"));
}
