//! Alerts across restarts of the real `auditlog serve --alerts FILE`, with webhook receivers
//! the test runs on 127.0.0.1:
//!
//! - a notification still being retried at a SIGTERM, and one held unanswered at a kill -9,
//!   are each delivered by the next start, byte for byte as first sent (same signature, same
//!   `X-Auditlog-Alert`), and not again by the start after;
//! - a damaged cursor is reported on stderr and in `/metrics`, and the catch-up is bounded:
//!   a burst recorded two hours before the tail (outside every rule window) is not evaluated
//!   again, one within the window is;
//! - a burst that spans a stop (3 failed logins before, 2 after, 5 in 10 minutes) fires once,
//!   and a cursor put back into the burst (a crash before it was saved) fires nothing again.

mod alerts_support;
mod server_support;

use alerts_support::{
    logged_alerts, next_hook, post_one, receiver, start_and_catch_up, wait_metric, write_rules,
};
use auditlog::{AuditLog, Clock, Event, Timestamp};
use auditlog_server::alerts::cursor;
use serde_json::json;
use server_support::{Server, event, metric, token};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "a-shared-secret-of-some-length";

/// Rules with one rule, `every-delete`, that fires on every `*.delete` and notifies `url`,
/// signed; retries every 20 ms for a long time, so a stop comes while it retries.
fn delete_rules(conf: &Path, url: &str) -> PathBuf {
    std::fs::write(conf.join("hook.secret"), SECRET).unwrap();
    write_rules(
        conf,
        json!({
            "delivery": {"attempts": 20, "first_backoff_ms": 20, "max_backoff_ms": 20,
                         "timeout_ms": 600000},
            "rules": [{"name": "every-delete", "action": "*.delete",
                       "webhook": {"url": url, "secret_file": "hook.secret"}}]
        }),
    )
}

fn saved_cursor(dir: &Path) -> cursor::Saved {
    match cursor::load(&cursor::path(dir), u64::MAX) {
        cursor::Start::Resume(saved) => saved,
        other => panic!("no usable cursor: {other:?}"),
    }
}

/// Waits until the saved cursor's `notify_from` passes `alert_seq` (it is saved every second).
fn wait_delivery_saved(dir: &Path, alert_seq: u64) {
    for _ in 0..6000 {
        if saved_cursor(dir).notify_from > alert_seq {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("notify_from never passed {alert_seq}");
}

#[test]
fn a_notification_pending_at_a_stop_or_a_crash_is_delivered_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);

    // (a) The receiver refuses every attempt; the server stops while it retries.
    let (refusing, refused) = receiver(vec![500; 1000], false);
    let rules = delete_rules(conf.path(), &refusing);
    let server = Server::start(dir.path(), &["--alerts", rules.to_str().unwrap()]);
    let deleted = post_one(&server, &writer, &event("u", "doc.delete", None));
    let first = next_hook(&refused);
    let again = next_hook(&refused);
    assert_eq!(again.header("X-Auditlog-Delivery-Attempt"), Some("2"));
    let alert_seq: u64 = first
        .header("X-Auditlog-Alert")
        .expect("the alert header")
        .parse()
        .expect("a seq");
    assert_eq!(first.json()["alert"]["records"], json!([deleted]));
    assert_eq!(first.json()["event"]["seq"], alert_seq);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(
        saved_cursor(dir.path()).notify_from <= alert_seq,
        "the undelivered alert is still owed"
    );

    // The next start, whose receiver answers, delivers it before anything else: the same
    // bytes, signature and alert id, as attempt 1 of a new delivery.
    let (answering, delivered) = receiver(vec![], false);
    let rules = delete_rules(conf.path(), &answering);
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    let resent = next_hook(&delivered);
    assert_eq!(resent.body, first.body, "byte for byte the first body");
    resent.assert_signed_with(SECRET);
    assert_eq!(
        resent.header("X-Auditlog-Signature"),
        first.header("X-Auditlog-Signature")
    );
    assert_eq!(
        resent.header("X-Auditlog-Alert"),
        first.header("X-Auditlog-Alert")
    );
    assert_eq!(resent.header("X-Auditlog-Delivery-Attempt"), Some("1"));
    let text = wait_metric(&server, "auditlog_alert_webhook_delivered_total", 1);
    assert_eq!(metric(&text, "auditlog_alert_webhook_resent_total"), 1);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"every-delete\"}"),
        0,
        "resending is not firing again"
    );
    wait_delivery_saved(dir.path(), alert_seq);

    // (b) A second alert whose delivery the receiver holds unanswered, then kill -9.
    let (holding, held) = receiver(vec![], true);
    let rules = delete_rules(conf.path(), &holding);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(
        metric(&text, "auditlog_alert_webhook_resent_total"),
        0,
        "the delivered alert is not sent again"
    );
    post_one(&server, &writer, &event("v", "doc.delete", None));
    let pending = next_hook(&held);
    let second_seq: u64 = pending.header("X-Auditlog-Alert").unwrap().parse().unwrap();
    assert!(second_seq > alert_seq);
    // Let a cursor save pass with the delivery in flight: it must not count as delivered.
    std::thread::sleep(Duration::from_millis(1100));
    server.kill9();
    assert!(saved_cursor(dir.path()).notify_from <= second_seq);

    // After the crash only the pending one is sent again.
    let (answering, delivered) = receiver(vec![], false);
    let rules = delete_rules(conf.path(), &answering);
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    let resent = next_hook(&delivered);
    assert_eq!(resent.body, pending.body);
    assert_eq!(
        resent.header("X-Auditlog-Alert"),
        Some(second_seq.to_string().as_str())
    );
    let text = wait_metric(&server, "auditlog_alert_webhook_delivered_total", 1);
    assert_eq!(metric(&text, "auditlog_alert_webhook_resent_total"), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(delivered.try_recv().is_err(), "{log}");
    // Two deletes and two alerts: nothing fired twice.
    let auditor = token(dir.path(), "auditor", &[]);
    let server = Server::start(dir.path(), &[]);
    assert_eq!(logged_alerts(&server, &auditor).len(), 2);
}

/// A clock stopped at one time: records appended two hours ago.
#[derive(Debug)]
struct At(Timestamp);

impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Appends `n` failed logins by `actor` to the log in `dir` (no server running), recorded
/// by `clock`.
fn failed_logins(dir: &Path, clock: Arc<dyn Clock>, actor: &str, n: usize) {
    let log = AuditLog::builder(dir).clock(clock).open().expect("opens");
    for _ in 0..n {
        log.append(&Event::new(actor, "LOGIN_FAILED"))
            .expect("queued")
            .wait()
            .expect("appended");
    }
    log.close().expect("closes");
}

#[test]
fn a_damaged_cursor_is_reported_and_catches_up_only_the_window_before_the_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let auditor = token(dir.path(), "auditor", &[]);
    let rules = write_rules(
        conf.path(),
        json!({"rules": [{"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                          "at_least": 3, "within_secs": 600}]}),
    );
    // A burst by alice two hours ago, one by bob now; neither was ever evaluated.
    let two_hours_ago = Timestamp::from_nanos(Timestamp::now().as_nanos() - 7_200_000_000_000);
    failed_logins(dir.path(), Arc::new(At(two_hours_ago)), "alice", 3);
    failed_logins(dir.path(), Arc::new(auditlog::SystemClock), "bob", 3);
    std::fs::write(cursor::path(dir.path()), b"{\"version\": 2, \"next_").unwrap();

    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(metric(&text, "auditlog_alert_cursor_damaged_total"), 1);
    let text = wait_metric(
        &server,
        "auditlog_alerts_fired_total{rule=\"failed-logins\"}",
        1,
    );
    let alerts = logged_alerts(&server, &auditor);
    assert_eq!(alerts.len(), 1, "only bob's burst: {alerts:?}");
    assert_eq!(alerts[0]["metadata"]["key"], "bob");
    assert_eq!(alerts[0]["metadata"]["records"], json!([3, 4, 5]));
    assert_eq!(
        metric(&text, "auditlog_alert_cursor_damaged_total"),
        1,
        "{text}"
    );
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(
        log.contains("the alert cursor is damaged")
            && log.contains("is not a cursor")
            && log.contains("evaluating the 3 records from seq 3")
            && log.contains("600 s"),
        "the damage and the bound are reported: {log}"
    );

    // The cursor is whole again: the next start reports nothing and fires nothing.
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(metric(&text, "auditlog_alert_cursor_damaged_total"), 0);
    assert_eq!(logged_alerts(&server, &auditor).len(), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(!log.contains("damaged"), "{log}");
}

fn failed(server: &Server, writer: &str) -> u64 {
    post_one(
        server,
        writer,
        &event("alice", "LOGIN_FAILED", Some("acme")),
    )
}

#[test]
fn a_burst_that_spans_a_restart_fires_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let auditor = token(dir.path(), "auditor", &[]);
    let (url, hooks) = receiver(vec![], false);
    let rules = write_rules(
        conf.path(),
        json!({"rules": [{"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                          "at_least": 5, "within_secs": 600, "webhook": {"url": url}}]}),
    );

    // Three failed logins, then a stop.
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    let mut burst: Vec<u64> = (0..3).map(|_| failed(&server, &writer)).collect();
    wait_metric(&server, "auditlog_alert_evaluated_seq", burst[2] + 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert_eq!(saved_cursor(dir.path()).next_seq, burst[2] + 1);

    // Two after the restart complete the burst: one alert naming all five.
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    burst.extend((0..2).map(|_| failed(&server, &writer)));
    let note = next_hook(&hooks).json();
    assert_eq!(note["alert"]["records"], json!(burst), "{note}");
    let alerts = logged_alerts(&server, &auditor);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert_seq = alerts[0]["seq"].as_u64().unwrap();
    wait_metric(&server, "auditlog_alert_evaluated_seq", alert_seq + 1);
    wait_delivery_saved(dir.path(), alert_seq);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(
        log.contains("windows rebuilt from 3 records before seq 3"),
        "{log}"
    );

    // A crash after the alert but before the cursor moved past the burst's fourth record:
    // the replay rebuilds the window from the first three, passes the logged alert, and
    // fires nothing again, not even with the next failed login.
    let delivered = saved_cursor(dir.path()).notify_from;
    let put_back = cursor::Saved {
        next_seq: burst[3],
        notify_from: delivered,
    };
    cursor::save(
        &auditlog::fs::StdFileSystem,
        &cursor::path(dir.path()),
        put_back,
    )
    .expect("saves");
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(metric(&text, "auditlog_alert_replay_skipped_total"), 1);
    let one_more = failed(&server, &writer);
    let text = wait_metric(&server, "auditlog_alert_evaluated_seq", one_more + 1);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"failed-logins\"}"),
        0,
        "{text}"
    );
    assert_eq!(logged_alerts(&server, &auditor).len(), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(hooks.try_recv().is_err(), "one notification in all: {log}");
}
