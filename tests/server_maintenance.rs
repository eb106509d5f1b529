//! Retention and compaction on the server's schedule, against the real `auditlog serve
//! --retention-max-age-days 7 --compact-older-than-days 0`: a log whose first segments hold
//! only records 30 days old (written through a clock set back) and whose later segments are
//! recent. The run at start deletes exactly the expired whole segments (their records then
//! read as 404) and compresses the recent sealed ones, logs one line, and reports in
//! `/metrics`; the server takes writes meanwhile, and the log still verifies, both with the
//! server's background verification and with the CLI after the stop (the cut is recorded,
//! so the missing prefix is proven removed, not lost).

mod common;
mod server_support;

use auditlog::{AuditLog, Clock, Timestamp};
use common::{append_range, small_segments};
use server_support::{BIN, Server, event, metric, token};
use std::sync::Arc;
use std::time::Duration;

/// The system clock, 30 days back.
#[derive(Debug)]
struct MonthAgo;

impl Clock for MonthAgo {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(Timestamp::now().as_nanos() - 30 * 86_400 * 1_000_000_000)
    }
}

#[test]
fn the_schedule_drops_expired_segments_compacts_the_rest_and_the_log_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old_records = 2_000;
    {
        let log = small_segments(dir.path())
            .clock(Arc::new(MonthAgo))
            .open()
            .expect("opens");
        append_range(&log, 0, old_records);
        log.seal().expect("seals");
        log.close().expect("closes");
    }
    // Segments holding old records only (a segment is named by its first seq); the empty
    // active segment the seal left, if any, takes the recent records.
    let old_segments = common::segment_files(dir.path())
        .iter()
        .filter(|p| {
            let stem = p.file_stem().unwrap().to_str().unwrap();
            stem.parse::<u64>().expect("a segment name") < old_records
        })
        .count();
    assert!(old_segments >= 3, "{old_segments} segments");
    {
        let log: AuditLog = small_segments(dir.path()).open().expect("reopens");
        append_range(&log, old_records, old_records + 2_000);
        log.close().expect("closes");
    }
    let writer = token(dir.path(), "writer", &[]);
    let auditor = token(dir.path(), "auditor", &[]);
    let server = Server::start(
        dir.path(),
        &[
            "--retention-max-age-days",
            "7",
            "--compact-older-than-days",
            "0",
            "--maintenance-every",
            "3600",
        ],
    );
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .contains("maintenance=every:3600s"),
        "the start line names the schedule"
    );
    let mut line = None;
    for _ in 0..6000 {
        line = server
            .log
            .lock()
            .unwrap()
            .lines()
            .find(|l| l.contains("auditlog serve: maintenance run=1"))
            .map(str::to_string);
        if line.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let line = line.expect("one maintenance line at start");
    assert!(line.ends_with(" ok"), "{line}");
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing: {line}"))
            .parse()
            .expect("a number")
    };
    // Every segment of only old records went, the newest of them included (it was sealed).
    assert_eq!(field("retention_deleted") as usize, old_segments, "{line}");
    assert_eq!(field("first_seq"), old_records, "{line}");
    assert!(field("compacted") >= 1, "{line}");

    let text = server.get("/metrics", "").text();
    assert_eq!(metric(&text, "auditlog_maintenance_runs_total"), 1);
    assert_eq!(metric(&text, "auditlog_maintenance_last_ok"), 1);
    assert_eq!(
        metric(&text, "auditlog_retention_segments_deleted_total") as usize,
        old_segments
    );
    assert!(metric(&text, "auditlog_retention_bytes_reclaimed_total") > 0);
    assert!(metric(&text, "auditlog_compaction_segments_total") >= 1);

    server
        .get("/v1/events/0", &auditor)
        .problem(404, "not-found");
    let kept = server.get(&format!("/v1/events/{old_records}"), &auditor);
    assert_eq!(kept.status, 200, "{}", kept.text());
    let r = server.post(
        "/v1/events",
        &writer,
        "application/json",
        &serde_json::to_vec(&event("u", "after.retention", None)).unwrap(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // It verifies while served (the background verification, beside the writer)...
    let r = server.post("/v1/admin/verify", &auditor, "application/json", b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let report = loop {
        let doc = server.get("/v1/admin/verify", &auditor).json();
        if doc["state"] != "running" {
            break doc;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["last"]["ok"], true, "{report}");
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // ... and with the CLI after the stop.
    let out = std::process::Command::new(BIN)
        .args(["verify", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs verify");
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
