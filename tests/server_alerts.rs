//! Alerts against the real `auditlog serve --alerts FILE`, with a webhook receiver the test
//! runs on 127.0.0.1: a burst of failed logins by one actor fires once (other actors and
//! other actions do not count), any critical event fires; each firing is an
//! `alert.triggered` event in the log naming the records that caused it, with an inclusion
//! proof like any record; the notification is retried after a 500 with the same body and a
//! valid HMAC-SHA256 signature; `/metrics` counts it all. A receiver that never answers
//! fills the bounded queue, and the server drops notifications rather than ingest waiting;
//! the next start sends every one of them.
//! An https webhook behind a CA generated in the test is delivered when the rules file
//! names the CA, and refused (three failed attempts, given up, ingest unaffected) when not.
//! A bad rules file stops the start with exit code 2 naming the rule.

mod alerts_support;
mod server_support;

use alerts_support::{
    append_offline, logged_alerts, next_hook, post_one, receiver, receiver_with,
    start_and_catch_up, wait_metric, write_rules,
};
use serde_json::json;
use server_support::{BIN, Server, event, metric, token};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A certificate authority made for this test, and a TLS config for 127.0.0.1 whose
/// certificate it signed: the CA's PEM and the receiver's config.
fn private_ca() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().expect("a CA key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "auditlog test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("the CA certificate");
    let leaf_key = rcgen::KeyPair::generate().expect("a key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &rcgen::Issuer::from_params(&ca, &ca_key))
        .expect("the receiver's certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .expect("a TLS config");
    (ca_cert.pem(), Arc::new(config))
}

#[test]
fn bursts_and_critical_events_fire_alerts_that_are_logged_and_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let auditor = token(dir.path(), "auditor", &[]);
    // The first delivery is refused with a 500: the server must retry it.
    let (url, hooks) = receiver(vec![500], false);
    let secret = "a-shared-secret-of-some-length";
    std::fs::write(conf.path().join("hook.secret"), format!("{secret}\n")).unwrap();
    let rules = write_rules(
        conf.path(),
        json!({
            "delivery": {"attempts": 3, "first_backoff_ms": 1, "max_backoff_ms": 10},
            "rules": [
                {"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                 "at_least": 3, "within_secs": 300,
                 "webhook": {"url": url, "secret_file": "hook.secret"}},
                {"name": "critical", "severity_at_least": "critical", "severity": "critical",
                 "webhook": {"url": url, "secret_file": "hook.secret"}},
            ]
        }),
    );
    let server = Server::start(dir.path(), &["--alerts", rules.to_str().unwrap()]);
    assert!(
        server.log.lock().unwrap().contains("alert_rules=2"),
        "the start line names the rules"
    );

    let failed = |actor: &str| event(actor, "LOGIN_FAILED", Some("acme"));
    let a0 = post_one(&server, &writer, &failed("alice"));
    post_one(&server, &writer, &failed("bob"));
    post_one(&server, &writer, &event("alice", "LOGIN_OK", Some("acme")));
    let a1 = post_one(&server, &writer, &failed("alice"));
    post_one(&server, &writer, &failed("bob"));
    let a2 = post_one(&server, &writer, &failed("alice"));

    // Attempt 1 is refused, attempt 2 is the same body, signed the same way.
    let first = next_hook(&hooks);
    let second = next_hook(&hooks);
    assert_eq!(first.header("X-Auditlog-Delivery-Attempt"), Some("1"));
    assert_eq!(second.header("X-Auditlog-Delivery-Attempt"), Some("2"));
    assert_eq!(first.body, second.body);
    second.assert_signed_with(secret);
    let note = second.json();
    assert_eq!(note["alert"]["rule"], "failed-logins", "{note}");
    assert_eq!(note["alert"]["per"], "actor");
    assert_eq!(note["alert"]["key"], "alice");
    assert_eq!(note["alert"]["records"], json!([a0, a1, a2]), "{note}");
    assert_eq!(note["tenant"], "acme");
    let alert_seq = note["event"]["seq"].as_u64().expect("the alert's seq");
    assert!(alert_seq > a2, "{note}");
    assert_eq!(
        second.header("X-Auditlog-Alert"),
        Some(alert_seq.to_string().as_str())
    );

    // A critical event fires the other rule; the failed-logins window for alice restarted.
    let crit = post_one(
        &server,
        &writer,
        &json!({"actor": {"id": "ops"}, "action": "db.drop", "severity": "critical"}),
    );
    let third = next_hook(&hooks);
    assert_eq!(third.header("X-Auditlog-Delivery-Attempt"), Some("1"));
    let note = third.json();
    assert_eq!(note["alert"]["rule"], "critical", "{note}");
    assert_eq!(note["alert"]["records"], json!([crit]));
    assert!(note["alert"]["key"].is_null());

    // Both alerts are records of the log, provable like any other.
    let page = server
        .get("/v1/events?action=alert.triggered", &auditor)
        .json();
    let alerts = page["records"].as_array().expect("records");
    assert_eq!(alerts.len(), 2, "{page}");
    let logged = &alerts[0];
    assert_eq!(logged["seq"], alert_seq);
    assert_eq!(logged["actor"]["id"], "auditlog-serve:alerts", "{logged}");
    assert_eq!(logged["metadata"]["rule"], "failed-logins");
    assert_eq!(logged["metadata"]["records"], json!([a0, a1, a2]));
    assert_eq!(logged["severity"], "high");
    assert_eq!(alerts[1]["severity"], "critical");
    let proof = server.get(&format!("/v1/events/{alert_seq}?proof=inclusion"), &auditor);
    assert_eq!(proof.status, 200, "{}", proof.text());

    let text = wait_metric(&server, "auditlog_alert_webhook_delivered_total", 2);
    assert_eq!(metric(&text, "auditlog_alert_rules"), 2);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"failed-logins\"}"),
        1
    );
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"critical\"}"),
        1
    );
    assert_eq!(
        metric(&text, "auditlog_alert_webhook_failed_attempts_total"),
        1
    );
    assert_eq!(metric(&text, "auditlog_alert_webhook_dropped_total"), 0);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(log.contains("alert rule=failed-logins"), "{log}");
}

#[test]
fn a_webhook_that_never_answers_never_holds_up_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let (url, hooks) = receiver(vec![], true);
    let rules = write_rules(
        conf.path(),
        json!({
            "delivery": {"queue": 1, "timeout_ms": 600000},
            "rules": [{"name": "every-delete", "action": "*.delete", "webhook": {"url": url}}]
        }),
    );
    let server = Server::start(dir.path(), &["--alerts", rules.to_str().unwrap()]);
    post_one(&server, &writer, &event("u", "doc.delete", None));
    // The receiver holds the first delivery open from here on.
    let held = next_hook(&hooks);
    assert_eq!(held.json()["alert"]["rule"], "every-delete");
    // Five more alerts: one waits in the one-place queue, the rest are dropped; every
    // event is acknowledged all the same.
    for i in 0..5 {
        post_one(
            &server,
            &writer,
            &event(&format!("u{i}"), "doc.delete", None),
        );
    }
    let text = wait_metric(
        &server,
        "auditlog_alerts_fired_total{rule=\"every-delete\"}",
        6,
    );
    let text = match metric(&text, "auditlog_alert_webhook_dropped_total") {
        4 => text,
        _ => wait_metric(&server, "auditlog_alert_webhook_dropped_total", 4),
    };
    assert_eq!(metric(&text, "auditlog_alert_webhook_dropped_total"), 4);
    assert_eq!(metric(&text, "auditlog_alert_webhook_queue"), 1);
    assert_eq!(metric(&text, "auditlog_alert_webhook_delivered_total"), 0);
    // 6 deletes and their 6 alerts.
    assert_eq!(server.tree_size(), 12);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // None was delivered: the held one, the queued one and the four dropped are all owed,
    // and the next start, whose receiver answers, sends each of them once, in order.
    let (url, hooks) = receiver(vec![], false);
    let rules = write_rules(
        conf.path(),
        json!({"rules": [{"name": "every-delete", "action": "*.delete", "webhook": {"url": url}}]}),
    );
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    let sent: Vec<u64> = (0..6)
        .map(|_| next_hook(&hooks).json()["event"]["seq"].as_u64().unwrap())
        .collect();
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "{sent:?}");
    assert_eq!(sent[0], held.json()["event"]["seq"].as_u64().unwrap());
    let text = wait_metric(&server, "auditlog_alert_webhook_delivered_total", 6);
    assert_eq!(metric(&text, "auditlog_alert_webhook_resent_total"), 6);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(hooks.try_recv().is_err(), "each once: {log}");
}

#[test]
fn https_webhooks_are_delivered_to_a_private_ca_only_when_its_certificate_is_given() {
    let (ca_pem, tls) = private_ca();
    let secret = "a-shared-secret-of-some-length";
    let rules = |conf: &Path, url: &str, ca: bool| {
        std::fs::write(conf.join("hook.secret"), secret).unwrap();
        let mut delivery = json!({"attempts": 3, "first_backoff_ms": 1, "max_backoff_ms": 10});
        if ca {
            std::fs::write(conf.join("ca.pem"), &ca_pem).unwrap();
            delivery["ca_file"] = json!("ca.pem");
        }
        write_rules(
            conf,
            json!({
                "delivery": delivery,
                "rules": [{"name": "every-delete", "action": "*.delete",
                           "webhook": {"url": url, "secret_file": "hook.secret"}}]
            }),
        )
    };

    // With the CA file: delivered over TLS, signed like any delivery.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let (url, hooks, _) = receiver_with(Some(tls.clone()), vec![], false);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let path = rules(conf.path(), &url, true);
    let server = Server::start(dir.path(), &["--alerts", path.to_str().unwrap()]);
    let seq = post_one(&server, &writer, &event("u", "doc.delete", None));
    let hook = next_hook(&hooks);
    assert_eq!(hook.json()["alert"]["records"], json!([seq]));
    hook.assert_signed_with(secret);
    let text = wait_metric(&server, "auditlog_alert_webhook_delivered_total", 1);
    assert_eq!(
        metric(&text, "auditlog_alert_webhook_failed_attempts_total"),
        0
    );
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // Without it the same receiver's certificate is not trusted: every attempt reaches the
    // receiver and fails its handshake, the notification is given up after three, no
    // request is ever sent, and ingest goes on.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let writer = token(dir.path(), "writer", &[]);
    let (url, hooks, accepted) = receiver_with(Some(tls), vec![], false);
    let path = rules(conf.path(), &url, false);
    let server = Server::start(dir.path(), &["--alerts", path.to_str().unwrap()]);
    post_one(&server, &writer, &event("u", "doc.delete", None));
    let text = wait_metric(&server, "auditlog_alert_webhook_given_up_total", 1);
    assert_eq!(
        metric(&text, "auditlog_alert_webhook_failed_attempts_total"),
        3
    );
    assert_eq!(metric(&text, "auditlog_alert_webhook_delivered_total"), 0);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "three attempts reached it"
    );
    assert!(hooks.try_recv().is_err(), "no request got through");
    post_one(&server, &writer, &event("v", "doc.read", None));
    // The delete, its alert and the read.
    assert_eq!(server.tree_size(), 3);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(
        log.contains("not delivered") && log.contains("certificate"),
        "the log says why: {log}"
    );
}

#[test]
fn a_bad_rules_file_stops_the_start_naming_the_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = write_rules(
        dir.path(),
        json!({"rules": [
            {"name": "ok", "action": "LOGIN_FAILED"},
            {"name": "burst", "action": "LOGIN_FAILED", "at_least": 5},
        ]}),
    );
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--alerts"])
        .arg(&rules)
        .arg("--dir")
        .arg(dir.path().join("log"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule 2 (\"burst\"): at_least is 5 but within_secs is missing"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("log").exists(),
        "nothing was created: {stderr}"
    );
}

#[test]
fn records_written_while_no_server_ran_fire_once_and_never_again() {
    use auditlog_server::alerts::cursor;
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = tempfile::tempdir().expect("tempdir");
    let auditor = token(dir.path(), "auditor", &[]);
    let (url, hooks) = receiver(vec![], false);
    let rules = write_rules(
        conf.path(),
        json!({"rules": [{"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                          "at_least": 3, "within_secs": 300, "webhook": {"url": url}}]}),
    );
    let cursor_path = cursor::path(dir.path());

    // The first start with rules creates the cursor at the tree's end.
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    for _ in 0..6000 {
        if cursor_path.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    let before_burst = match cursor::load(&cursor_path, u64::MAX) {
        cursor::Start::Resume(saved) => saved.next_seq,
        other => panic!("the first start made no cursor: {other:?}"),
    };

    // A burst written by the CLI while no server runs, interleaved with bob.
    let a0 = append_offline(dir.path(), "alice", "LOGIN_FAILED");
    append_offline(dir.path(), "bob", "LOGIN_FAILED");
    let a1 = append_offline(dir.path(), "alice", "LOGIN_FAILED");
    let a2 = append_offline(dir.path(), "alice", "LOGIN_FAILED");
    assert!(a0 >= before_burst);

    // (a) The next start evaluates them: one alert, one notification.
    let (server, _) = start_and_catch_up(dir.path(), &rules);
    let first = next_hook(&hooks);
    let note = first.json();
    assert_eq!(note["alert"]["rule"], "failed-logins", "{note}");
    assert_eq!(note["alert"]["records"], json!([a0, a1, a2]), "{note}");
    let alerts = logged_alerts(&server, &auditor);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["metadata"]["records"], json!([a0, a1, a2]));
    let alert_seq = alerts[0]["seq"].as_u64().expect("seq");
    wait_metric(&server, "auditlog_alert_evaluated_seq", alert_seq + 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // (b) A restart fires nothing again.
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"failed-logins\"}"),
        0
    );
    assert_eq!(logged_alerts(&server, &auditor).len(), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // (c) A crash after the alert was appended (and notified) but before the evaluation
    // cursor moved: it is put back before the burst. The replay recognises the logged alert
    // and repeats nothing.
    let delivered = match cursor::load(&cursor_path, u64::MAX) {
        cursor::Start::Resume(saved) => saved.notify_from,
        other => panic!("no cursor: {other:?}"),
    };
    assert!(delivered > alert_seq, "the delivery was saved: {delivered}");
    let put_back = cursor::Saved {
        next_seq: before_burst,
        notify_from: delivered,
    };
    cursor::save(&auditlog::fs::StdFileSystem, &cursor_path, put_back).expect("saves");
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(metric(&text, "auditlog_alert_replay_skipped_total"), 1);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"failed-logins\"}"),
        0
    );
    assert_eq!(metric(&text, "auditlog_alert_cursor_damaged_total"), 0);
    assert_eq!(logged_alerts(&server, &auditor).len(), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");

    // (d) A cursor beyond the log is reported; the records within the window of the newest
    // (all of them here) are evaluated again, still without a duplicate alert. What was
    // delivered is unknown, so the alert's notification is sent again, the same bytes.
    let beyond = cursor::Saved {
        next_seq: 1_000_000,
        notify_from: 0,
    };
    cursor::save(&auditlog::fs::StdFileSystem, &cursor_path, beyond).expect("saves");
    let (server, text) = start_and_catch_up(dir.path(), &rules);
    assert_eq!(metric(&text, "auditlog_alert_cursor_damaged_total"), 1);
    assert_eq!(metric(&text, "auditlog_alert_replay_skipped_total"), 1);
    assert_eq!(
        metric(&text, "auditlog_alerts_fired_total{rule=\"failed-logins\"}"),
        0
    );
    assert_eq!(logged_alerts(&server, &auditor).len(), 1);
    let (log, clean) = server.stop();
    assert!(clean, "{log}");
    assert!(log.contains("the alert cursor is damaged"), "{log}");
    assert!(log.contains("holds"), "{log}");
    let again = next_hook(&hooks);
    assert_eq!(again.body, first.body);
    assert_eq!(
        again.header("X-Auditlog-Alert"),
        first.header("X-Auditlog-Alert")
    );
    assert!(hooks.try_recv().is_err(), "no third notification");
}
