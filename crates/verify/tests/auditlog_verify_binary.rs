//! The `auditlog-verify` binary, built from this crate alone, on the committed version-1
//! fixture log (tests/fixtures/v1-small at the workspace root): intact, then with one byte of a
//! sealed segment flipped, then with a wrong path. The fixture's expected tree head is the one
//! tests/format_fixture_v1.rs pins for the engine, so both verifiers agree on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v1-small")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog-verify"))
        .args(args)
        .output()
        .expect("run auditlog-verify")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn the_fixture_verifies_and_the_report_names_its_tree_head() {
    let out = run(&["--json".as_ref(), fixture().as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 30);
    assert_eq!(report["segments_checked"], 3);
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_damage_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("auditlog-verify-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&fixture(), &dir);
    let segment = dir.join("00000000000000000010.seg");
    let mut bytes = std::fs::read(&segment).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&segment, &bytes).expect("write");
    let out = run(&[dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "damage exits 1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("00000000000000000010.seg"), "{stdout}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn usage_errors_exit_2_and_a_missing_path_is_not_damage() {
    let out = run(&["--threads".as_ref(), "many".as_ref()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
    let out = run(&[
        "--checkpoint".as_ref(),
        "cp".as_ref(),
        fixture().as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "a checkpoint needs a key");
    let missing = fixture().join("no-such-log");
    let out = run(&[missing.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing path is a usage error"
    );
    let not_a_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let out = run(&[not_a_log.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "not a log: cannot run, never damage"
    );
}
