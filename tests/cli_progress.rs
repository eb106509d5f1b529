//! Progress lines: never in piped output (the tests' stderr is a pipe), whatever the
//! command; drawn when asked (`AUDITLOG_PROGRESS=always`, as on a terminal), on stderr only,
//! with stdout byte for byte the same as without them.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], progress: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auditlog"));
    cmd.args(args)
        .env_remove("AUDITLOG_DIR")
        .env_remove("AUDITLOG_PROGRESS");
    if let Some(p) = progress {
        cmd.env("AUDITLOG_PROGRESS", p);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "auditlog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn has_progress(out: &Output) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    err.contains('\r') || err.contains("elapsed") || err.contains("\u{1b}[2K")
}

#[test]
fn piped_runs_show_no_progress_and_forced_ones_change_no_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = tmp.path().join("demo");
    run(
        &[
            "demo",
            "--dir",
            s(&demo),
            "--events",
            "2000",
            "--threads",
            "1",
        ],
        None,
    );
    let events = tmp.path().join("events.jsonl");
    run(&["export", "--dir", s(&demo), "-o", s(&events)], None);
    let log = tmp.path().join("log");
    let archive = tmp.path().join("archive");
    let commands: Vec<Vec<&str>> = vec![
        vec!["import", "--dir", s(&log), s(&events)],
        vec!["export", "--dir", s(&log)],
        vec!["export", "--dir", s(&log), "--format", "csv"],
        vec!["seal", "--dir", s(&log)],
        vec!["verify", s(&log)],
        vec!["reindex", "--dir", s(&log)],
        vec!["compact", "--dir", s(&log)],
        vec!["archive", "--dir", s(&log), "--to", s(&archive)],
    ];
    for args in &commands {
        let out = run(args, None);
        assert!(!has_progress(&out), "{args:?}: {:?}", out.stderr);
    }

    // Forced on: a line is drawn (so the check above can fail), and stdout is unchanged.
    let log2 = tmp.path().join("log2");
    let forced = run(&["import", "--dir", s(&log2), s(&events)], Some("always"));
    assert!(has_progress(&forced), "{:?}", forced.stderr);
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(err.contains("import: "), "{err}");
    for args in [
        vec!["export", "--dir", s(&log2)],
        vec!["export", "--dir", s(&log2), "--format", "csv"],
        vec!["verify", s(&log2)],
    ] {
        let plain = run(&args, None);
        let with = run(&args, Some("always"));
        assert!(has_progress(&with), "{args:?}");
        assert_eq!(plain.stdout, with.stdout, "{args:?}");
        assert!(
            !with.stdout.contains(&0x1b),
            "{args:?}: stdout holds no progress"
        );
    }
    for args in [
        vec!["reindex", "--dir", s(&log2)],
        vec!["compact", "--dir", s(&log2)],
    ] {
        let with = run(&args, Some("always"));
        assert!(has_progress(&with), "{args:?}");
        assert!(!with.stdout.contains(&0x1b), "{args:?}");
    }
    // Turned off: nothing, even when asked for elsewhere.
    let off = run(&["verify", s(&log2)], Some("never"));
    assert!(!has_progress(&off));
}
