//! The records posted while the alert evaluator is still being scheduled belong to this run.
//!
//! `auditlog serve` starts the alerts, prints its start line and accepts events at once; the
//! evaluator plans its run in a background task. On a busy machine that task can run after
//! the first events were committed. It must not take them for records of an earlier run:
//! with no cursor (a log that never ran with rules), such records would never be evaluated
//! and a burst among them would never fire (CI saw exactly that, once, in
//! tests/server_alerts.rs).
//!
//! A single-threaded runtime makes the late scheduling certain: the evaluator's task cannot
//! run before the test first awaits, and by then three failed logins are in the log.

use auditlog::{AuditLog, Durability, Event};
use auditlog_server::AppState;
use auditlog_server::alerts::rules::Rules;
use auditlog_server::state::Limits;
use auditlog_server::tokens::TokenCache;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn events_committed_before_the_evaluator_is_scheduled_are_evaluated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::builder(dir.path())
        .durability(Durability::Immediate)
        .open()
        .expect("opens");
    let log = Arc::new(log);
    let rules = Rules::parse(
        r#"{"rules": [{"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                       "at_least": 3, "within_secs": 300}]}"#,
        Path::new("."),
    )
    .expect("rules");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let tokens = TokenCache::open(dir.path()).expect("token cache");
        let state = AppState::new(log.clone(), tokens, Limits::default(), None);
        state.start_alerts(rules);
        // No await yet: the evaluator's task has not run, as on a machine too busy to
        // schedule it before the first requests.
        for _ in 0..3 {
            log.append(&Event::new("alice", "LOGIN_FAILED"))
                .expect("appended")
                .wait()
                .expect("committed");
        }
        let metrics = state.alerts().expect("alerts run").clone();
        // Waits for the evaluator, not for a time: the bound only turns a hang into a failure.
        for _ in 0..6000 {
            if metrics.fired(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            metrics.fired(0),
            1,
            "the burst committed before the evaluator was scheduled fires once"
        );
        let page = log
            .query(&auditlog::query::Query::new().action("alert.triggered"))
            .expect("query");
        assert_eq!(page.records.len(), 1, "one alert.triggered event is logged");
    });
}
