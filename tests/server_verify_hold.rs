//! The 409 `verify-running` of `POST /v1/admin/verify`, without timing: the server's router
//! runs in-process on 127.0.0.1 and the verification job's test hook holds the run on its
//! thread until the test opens a gate. While held, a second start (by anyone) is 409 and
//! writes no `audit.verify` event; once released the run ends ok and a new start is taken.

mod server_support;

use auditlog::AuditLog;
use auditlog_server::AppState;
use auditlog_server::state::Limits;
use auditlog_server::tokens::TokenCache;
use parking_lot::{Condvar, Mutex};
use server_support::{Response, request, token};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Default)]
struct Gate {
    /// (open, runs waiting at it)
    state: Mutex<(bool, usize)>,
    changed: Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut s = self.state.lock();
        s.1 += 1;
        self.changed.notify_all();
        while !s.0 {
            self.changed.wait(&mut s);
        }
    }
    fn wait_held(&self) {
        let mut s = self.state.lock();
        while s.1 == 0 {
            self.changed.wait(&mut s);
        }
    }
    fn open(&self) {
        self.state.lock().0 = true;
        self.changed.notify_all();
    }
}

async fn call(addr: SocketAddr, method: &'static str, path: &'static str, token: &str) -> Response {
    let headers = vec![("Authorization".to_string(), format!("Bearer {token}"))];
    tokio::task::spawn_blocking(move || request(addr, method, path, &headers, b""))
        .await
        .expect("the request ran")
}

fn audit_verify_count(log: &AuditLog) -> usize {
    log.iter(..)
        .map(|r| r.expect("reads"))
        .filter(|r| r.event.action == "audit.verify")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_while_one_runs_is_409_and_not_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auditor = token(dir.path(), "auditor", &[]);
    let admin = token(dir.path(), "admin", &[]);
    let log = Arc::new(AuditLog::open(dir.path()).expect("opens"));
    let tokens = TokenCache::open(dir.path()).expect("token cache");
    let state = AppState::new(log.clone(), tokens, Limits::default(), None);
    let gate = Arc::new(Gate::default());
    let hook_gate = gate.clone();
    state.verify_job().set_hook(move || hook_gate.pass());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(auditlog_server::serve::serve_http(listener, state.clone()));

    let first = call(addr, "POST", "/v1/admin/verify", &auditor).await;
    assert_eq!(first.status, 202, "{}", first.text());
    assert_eq!(first.json()["state"], "running");
    let held = gate.clone();
    tokio::task::spawn_blocking(move || held.wait_held())
        .await
        .expect("waits");
    for t in [&auditor, &admin] {
        let doc = call(addr, "POST", "/v1/admin/verify", t)
            .await
            .problem(409, "verify-running");
        assert!(
            doc["detail"]
                .as_str()
                .unwrap()
                .contains("GET /v1/admin/verify")
        );
    }
    let status = call(addr, "GET", "/v1/admin/verify", &auditor).await.json();
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(
        audit_verify_count(&log),
        1,
        "only the accepted start is recorded"
    );

    gate.open();
    let done = loop {
        let doc = call(addr, "GET", "/v1/admin/verify", &auditor).await.json();
        if doc["state"] != "running" {
            break doc;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["last"]["ok"], true, "{done}");
    let again = call(addr, "POST", "/v1/admin/verify", &admin).await;
    assert_eq!(again.status, 202, "{}", again.text());
    assert_eq!(audit_verify_count(&log), 2);
    state.begin_drain();
}
