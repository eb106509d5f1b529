//! The S3 fixture of the suites behind the `s3-tests` feature (tests/s3_archive.rs,
//! tests/s3_lifecycle.rs): the bucket that `.ci/test.d/30-s3` set up on its SeaweedFS, a fresh
//! prefix per test, and the CLI run with its output.
#![allow(dead_code)]

use crate::common::{append_range, small_segments};
use auditlog_objstore::S3Url;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bucket the suite's server created; panics (fails the test) when no server is set up.
pub fn bucket() -> String {
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(
            std::env::var(var).is_ok(),
            "{var} is not set: these tests need the S3 server that .ci/test.d/30-s3 starts"
        );
    }
    std::env::var("AUDITLOG_S3_BUCKET")
        .expect("AUDITLOG_S3_BUCKET is not set: run these tests through .ci/test.d/30-s3")
}

/// A prefix no other test (or earlier run) uses.
pub fn fresh_prefix(name: &str) -> S3Url {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    S3Url {
        bucket: bucket(),
        prefix: format!(
            "t/{name}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

/// [`fresh_prefix`] as an `s3://` URL.
pub fn fresh_url(name: &str) -> String {
    fresh_prefix(name).to_string()
}

/// The `auditlog` binary run in `cwd`.
pub fn auditlog(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A command's exit status and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `o`, after checking that it succeeded.
pub fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// The `seq` of each JSON line printed.
pub fn seqs(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// [`seqs`], after checking that the command succeeded.
pub fn seqs_of(out: &Output) -> Vec<u64> {
    assert!(out.status.success(), "{}", text(out));
    seqs(out)
}

/// A log with sealed segments of `n` records and 10 more in the active one.
pub fn log_with_segments(dir: &Path, n: u64) {
    let log = small_segments(dir).open().unwrap();
    append_range(&log, 0, n);
    log.seal().unwrap();
    append_range(&log, n, n + 10);
    log.close().unwrap();
}
