//! `/healthz`, `/readyz` and `/metrics`: no token needed.

use crate::error::Problem;
use crate::metrics::LogGauges;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The server accepts writes: it is not stopping, the log is not poisoned (a write failed)
/// and its writer is not waiting for disk space (a log opened on a full disk). Otherwise 503
/// problem+json: `shutting-down`, `writer-poisoned` or `storage-full`, the detail naming
/// the cause. A deferred writer is given one try to start first, so freeing space makes the
/// server ready again without a write.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready for writes"),
              (status = 503, description = "Stopping, poisoned by a failed write, or waiting for disk space", content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    state.refuse_if_draining()?;
    let log = state.log();
    if let Some(cause) = log.poisoned() {
        return Err(Problem::unavailable(
            "writer-poisoned",
            format!(
                "a write failed and the log takes no more appends until the server is                  restarted: {cause}"
            ),
            30,
        ));
    }
    if log.writer_deferred().is_some() {
        let cause = state
            .blocking(|log| {
                let _ = log.start_writer();
                Ok(log.writer_deferred())
            })
            .await?;
        if let Some(cause) = cause {
            return Err(Problem::unavailable(
                "storage-full",
                format!(
                    "the disk is full: the log cannot create the segment appends go to                      (free space, e.g. with retention): {cause}"
                ),
                30,
            ));
        }
    }
    Ok(Json(json!({
        "status": "ready",
        "tree_size": log.end_seq(),
        "uptime_secs": state.uptime_secs(),
    })))
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
        tree_size: log.end_seq(),
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
    let ready = u8::from(!state.draining() && log.poisoned().is_none());
    let deferred = u8::from(log.writer_deferred().is_some());
    text.push_str(&format!(
        "# HELP auditlog_writer_ok 1 unless the log is poisoned by a failed write or the server is stopping.\n\
         # TYPE auditlog_writer_ok gauge\n\
         auditlog_writer_ok {ready}\n\
         # HELP auditlog_writer_storage_full 1 while the writer waits for disk space to start.\n\
         # TYPE auditlog_writer_storage_full gauge\n\
         auditlog_writer_storage_full {deferred}\n"
    ));
    if let Some(alerts) = state.alerts() {
        text.push_str(&alerts.render());
    }
    if let Some(maintenance) = state.maintenance() {
        text.push_str(&maintenance.render());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
