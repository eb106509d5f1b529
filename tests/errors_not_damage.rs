//! I/O errors are not corruption. A segment the process may not read is an I/O error naming
//! the file (CLI exit 3), never damage (exit 1) nor a bad header; a path that is not a log is
//! "not an auditlog directory" (exit 3) for every command, verify included; a segment of a
//! future format version (its header intact) is "unsupported version", not damage.
//!
//! How the read failures are made real, as root: "Permission denied" by running the binary as
//! user `nobody` (uid 65534, `Command::uid`, which also drops root's groups) on a segment of
//! mode 000; the in-process library checks use a directory in place of a segment file, which
//! the OS refuses to read (EISDIR, or ENODEV when mapped).

mod common;

use auditlog::{CorruptionKind, Error, OpenError, ReadOnlyLog};
use common::{append_range, copy_log, segment_files, small_segments};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOBODY: u32 = 65534;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    c.env_remove("AUDITLOG_DIR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A sealed log of three or more segments in a new temporary directory.
fn make_log() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("log");
    let log = small_segments(&dir).open().expect("open");
    append_range(&log, 0, 2_000);
    log.seal().expect("seal");
    log.close().expect("close");
    assert!(segment_files(&dir).len() >= 3);
    (tmp, dir)
}

/// Replaces `segment` by a directory of the same name: opening it works, reading it fails.
fn make_unreadable(segment: &Path) {
    std::fs::remove_file(segment).expect("remove");
    std::fs::create_dir(segment).expect("mkdir");
}

#[test]
fn an_unreadable_segment_fails_the_read_only_open_as_io_naming_it() {
    let (_tmp, dir) = make_log();
    let segment = segment_files(&dir)[1].clone();
    make_unreadable(&segment);
    match ReadOnlyLog::open(&dir) {
        Err(e @ OpenError::Io { .. }) => {
            assert!(e.to_string().contains(s(&segment)), "{e}")
        }
        Err(e) => panic!("expected an I/O error, got {e:?}"),
        Ok(log) => panic!(
            "opened, reporting {:?} as damage",
            log.open_report().problems
        ),
    }
}

#[test]
fn verify_of_an_unreadable_segment_is_an_io_error_not_a_report_of_damage() {
    let (_tmp, dir) = make_log();
    for victim in [0, 1] {
        let (_copy, dir) = copy_log(&dir);
        let segment = segment_files(&dir)[victim].clone();
        make_unreadable(&segment);
        match auditlog::verify(&dir, &Default::default()) {
            Err(e @ Error::Io { .. }) => {
                assert!(e.to_string().contains(s(&segment)), "{e}")
            }
            Err(e) => panic!("expected an I/O error, got {e:?}"),
            Ok(report) => panic!("reported instead of failing:\n{report}"),
        }
        let out = run(&["verify", s(&dir)]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains(s(&segment)), "{}", stderr(&out));
        assert!(!stderr(&out).contains("DAMAGE"), "{}", stderr(&out));
    }
}

#[test]
fn an_unreadable_cold_segment_is_an_io_error_too() {
    let (_tmp, dir) = make_log();
    let out = run(&["compact", "--dir", s(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cold: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "zseg"))
        .collect();
    cold.sort();
    let segment = cold.first().expect("a cold segment").clone();
    make_unreadable(&segment);
    match ReadOnlyLog::open(&dir) {
        Err(e @ OpenError::Io { .. }) => assert!(e.to_string().contains(s(&segment)), "{e}"),
        other => panic!("expected an I/O error, got {:?}", other.map(|_| ())),
    }
    match auditlog::verify(&dir, &Default::default()) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains(s(&segment)), "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// Whether this process runs as root (then `chmod 000` alone does not stop its reads).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").expect("/proc").uid() == 0
}

#[test]
fn permission_denied_on_a_segment_is_an_io_error_with_its_path_exit_3() {
    let (tmp, dir) = make_log();
    // Let `nobody` reach the log, then deny it one sealed segment.
    for p in [tmp.path(), dir.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for entry in std::fs::read_dir(&dir).expect("list") {
        let path = entry.expect("entry").path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let segment = segment_files(&dir)[1].clone();
    std::fs::set_permissions(&segment, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let d = s(&dir);
    for args in [
        vec!["verify", d],
        vec!["verify", "--json", d],
        vec!["stats", "--dir", d],
        vec!["query", "--dir", d],
        vec!["export", "--dir", d],
        vec!["get", "--dir", d, "0"],
    ] {
        let mut cmd = bin();
        cmd.args(&args);
        if is_root() {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        let out = cmd.output().expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(s(&segment)), "{args:?}: {err}");
        assert!(err.contains("Permission denied"), "{args:?}: {err}");
        assert!(
            !err.contains("DAMAGE") && !err.contains("bad header"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_path_that_is_not_a_log_is_refused_as_such_by_every_command() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let stray_dir = tmp.path().join("photos");
    std::fs::create_dir(&stray_dir).expect("mkdir");
    std::fs::write(stray_dir.join("cat.jpg"), b"not a log").expect("write");
    let stray_file = tmp.path().join("notes.txt");
    std::fs::write(&stray_file, b"hello, not a segment\n").expect("write");
    let key = tmp.path().join("signer");
    let out = run(&["keygen", "--out", s(&key), "--name", "example.com/test"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let private = format!("{}.key", key.display());
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, "{\"actor\":{\"id\":\"a\"},\"action\":\"b\"}\n").expect("write");
    let archive = tmp.path().join("archive");

    let mut failures = Vec::new();
    for path in [&stray_dir, &stray_file] {
        let d = s(path);
        let commands: Vec<Vec<&str>> = vec![
            vec!["verify", d],
            vec!["stats", "--dir", d],
            vec!["query", "--dir", d],
            vec!["export", "--dir", d],
            vec!["get", "--dir", d, "0"],
            vec!["tail", "--dir", d],
            vec!["prove", "--dir", d, "0"],
            vec!["checkpoint", "--dir", d, "--latest"],
            vec!["checkpoint", "--dir", d, "--key", &private],
            vec!["seal", "--dir", d],
            vec!["append", "--dir", d, "--actor", "a", "--action", "b"],
            vec!["import", "--dir", d, s(&input)],
            vec!["retention", "--dir", d, "--max-bytes", "1"],
            vec!["retention", "--dir", d, "--max-bytes", "1", "--dry-run"],
            vec!["compact", "--dir", d],
            vec!["archive", "--dir", d, "--to", s(&archive)],
        ];
        for args in commands {
            let out = run(&args);
            let err = stderr(&out);
            if out.status.code() != Some(3) || !err.contains("not an auditlog directory") {
                failures.push(format!("{args:?}: exit {:?}: {err}", out.status.code()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} command(s) did not say \"not an auditlog directory\" with exit 3:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing was created in the stray directory.
    let names: Vec<_> = std::fs::read_dir(&stray_dir).expect("list").collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn a_lone_segment_with_a_damaged_magic_is_still_damage() {
    // The not-a-log rule must not hide damage: a file named as a segment is one.
    let (_tmp, dir) = make_log();
    let segment = segment_files(&dir)[0].clone();
    let mut bytes = std::fs::read(&segment).expect("read");
    bytes[0] ^= 0x20;
    std::fs::write(&segment, &bytes).expect("write");
    let out = run(&["verify", s(&segment)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// Rewrites the header of `segment` to format version `version`, its checksum recomputed:
/// what a future build would write, not damage.
fn set_version(segment: &Path, version: u16) {
    set_header_version(segment, 0, version);
}

/// [`set_version`] for the segment header that starts at byte `at` of the file.
fn set_header_version(segment: &Path, at: usize, version: u16) {
    let mut bytes = std::fs::read(segment).expect("read");
    let h = &mut bytes[at..];
    h[8..10].copy_from_slice(&version.to_le_bytes());
    let header_len = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes")) as usize;
    let crc = crc32fast::hash(&h[..header_len - 4]);
    h[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(segment, &bytes).expect("write");
}

/// Rewrites a cold segment's own prefix (24 bytes, its CRC at 20) to version `version`.
fn set_cold_prefix_version(segment: &Path, version: u16) {
    let mut bytes = std::fs::read(segment).expect("read");
    bytes[8..10].copy_from_slice(&version.to_le_bytes());
    let crc = crc32fast::hash(&bytes[..20]);
    bytes[20..24].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(segment, &bytes).expect("write");
}

#[test]
fn a_cold_segment_of_a_future_format_version_is_unsupported_not_damage() {
    let (_tmp, dir) = make_log();
    let out = run(&["compact", "--dir", s(&dir)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first_cold = |dir: &Path| -> PathBuf {
        let mut cold: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "zseg"))
            .collect();
        cold.sort();
        cold.first().expect("a cold segment").clone()
    };
    // Its copied hot header (after the 24-byte prefix), then its own prefix.
    for prefix in [false, true] {
        let (_copy, dir) = copy_log(&dir);
        let segment = first_cold(&dir);
        // (found, supported): the hot header's version 1, the cold prefix's version 2.
        let versions = if prefix {
            set_cold_prefix_version(&segment, 3);
            (3, 2)
        } else {
            set_header_version(&segment, 24, 2);
            (2, 1)
        };
        expect_unsupported_version(
            ReadOnlyLog::open(&dir).map(|_| ()).map_err(Error::from),
            &segment,
            versions,
        );
        expect_unsupported_version(
            auditlog::verify(&dir, &Default::default()),
            &segment,
            versions,
        );
        let out = run(&["verify", s(&dir)]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "prefix {prefix}: {err}");
        let message = format!("unsupported format version {}", versions.0);
        assert!(err.contains(&message), "{err}");
    }
}

fn expect_unsupported(result: auditlog::Result<impl std::fmt::Debug>, segment: &Path) {
    expect_unsupported_version(result, segment, (2, 1));
}

/// `result` is `UnsupportedVersion` of `segment`, with these (found, supported) versions.
fn expect_unsupported_version(
    result: auditlog::Result<impl std::fmt::Debug>,
    segment: &Path,
    versions: (u16, u16),
) {
    match result {
        Err(Error::UnsupportedVersion {
            path,
            found,
            supported,
        }) => {
            assert_eq!(
                (path.as_path(), found, supported),
                (segment, versions.0, versions.1)
            );
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

#[test]
fn a_segment_of_a_future_format_version_is_unsupported_not_damage() {
    let (_tmp, dir) = make_log();
    let files = segment_files(&dir);
    // A sealed segment in the middle, and the newest (scanned record by record on open).
    for victim in [files[1].clone(), files[files.len() - 1].clone()] {
        let (_copy, dir) = copy_log(&dir);
        let segment = dir.join(victim.file_name().expect("name"));
        set_version(&segment, 2);
        expect_unsupported(
            ReadOnlyLog::open(&dir).map(|_| ()).map_err(Error::from),
            &segment,
        );
        expect_unsupported(auditlog::verify(&dir, &Default::default()), &segment);
        expect_unsupported(auditlog::verify(&segment, &Default::default()), &segment);
        for args in [
            vec!["verify", s(&dir)],
            vec!["verify", s(&segment)],
            vec!["stats", "--dir", s(&dir)],
        ] {
            let out = run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
            assert!(
                err.contains("unsupported format version 2"),
                "{args:?}: {err}"
            );
            assert!(err.contains(s(&segment)), "{args:?}: {err}");
        }
    }
}

#[test]
fn a_version_field_changed_without_its_checksum_is_damage() {
    // Torn or flipped, not a newer format: the header's checksum fails first.
    let (_tmp, dir) = make_log();
    let segment = segment_files(&dir)[1].clone();
    let mut bytes = std::fs::read(&segment).expect("read");
    bytes[8] = 2;
    std::fs::write(&segment, &bytes).expect("write");
    let report = auditlog::verify(&dir, &Default::default()).expect("runs");
    assert!(!report.ok);
    assert!(
        report.problems.iter().any(|p| p.file == segment
            && p.kind == CorruptionKind::BadHeader(auditlog::HeaderFault::Checksum)),
        "{report}"
    );
    let out = run(&["verify", s(&dir)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
