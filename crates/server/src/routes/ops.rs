//! `/healthz`, `/readyz` and `/metrics`: no token needed.

use crate::metrics::LogGauges;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The server accepts writes: the log is open and not poisoned, and it is not stopping.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready for writes"),
              (status = 503, description = "Stopping, or the log refuses writes")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.log().tree_head();
    let (status, why) = match state.draining() {
        true => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
        false => (StatusCode::OK, "ready"),
    };
    (
        status,
        Json(json!({"status": why, "tree_size": head.size, "uptime_secs": state.uptime_secs()})),
    )
}

/// Counters and gauges in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let log = state.log();
    let (mut log_bytes, mut segment_files) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(log.dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".seg") || name.ends_with(".zseg") {
                segment_files += 1;
                log_bytes += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    let gauges = LogGauges {
        tree_size: log.tree_head().size,
        first_seq: log.first_seq(),
        log_bytes,
        segment_files,
    };
    let mut text = state.metrics().render(&gauges);
    // The last finished verification (`POST /v1/admin/verify`): 0 and 0 before the first.
    let last = state.verify_job().last();
    let finished = last
        .as_ref()
        .map_or(0, |l| l.finished_at.as_nanos().div_euclid(1_000_000_000));
    let ok = u8::from(last.as_ref().is_some_and(|l| l.ok));
    text.push_str(&format!(
        "# HELP auditlog_last_verify_timestamp_seconds When the last verification finished (Unix time; 0: none yet).\n\
         # TYPE auditlog_last_verify_timestamp_seconds gauge\n\
         auditlog_last_verify_timestamp_seconds {finished}\n\
         # HELP auditlog_last_verify_ok 1 if the last verification found no problem, else 0.\n\
         # TYPE auditlog_last_verify_ok gauge\n\
         auditlog_last_verify_ok {ok}\n"
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
