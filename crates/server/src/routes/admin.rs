//! `POST /v1/admin/verify` (start a background verification) and `GET /v1/admin/verify`
//! (its state, progress and last report). Auditors and admins.

use crate::auth::Caller;
use crate::error::Problem;
use crate::state::AppState;
use auditlog::Event;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

/// Starts verifying the log in the background (read-only, beside the writer). 202 with the
/// job's state; 409 if a verification is running already. The start is audited: an
/// `audit.verify` event naming the token is durable before the run starts.
#[utoipa::path(post, path = "/v1/admin/verify", tag = "admin",
    responses(
        super::openapi::RequestProblems,
        (status = 202, description = "Started: the job's state, as GET answers it"),
        (status = 409, description = "A verification is running already", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn start_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.require_auditor()?;
    let job = state.verify_job();
    let Some(claim) = job.claim() else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "verify-running",
            "a verification is running already: follow it with GET /v1/admin/verify",
        ));
    };
    let mut event = Event::new(format!("token:{}", caller.id), "audit.verify")
        .actor_kind("token")
        .metadata("endpoint", "POST /v1/admin/verify")
        .metadata("role", caller.role.as_str())
        .metadata("tree_size", state.log().tree_head().size);
    if let Some(name) = &caller.name {
        event = event.actor_name(name.clone());
    }
    if let Err(problem) = state.audit_read(event).await {
        // Not recorded, so not run.
        job.release(claim);
        return Err(problem);
    }
    job.run(claim, state.log().dir().to_path_buf());
    Ok((StatusCode::ACCEPTED, Json(job.to_json())))
}

/// The verification's state (`idle`, `running`, `done`, `failed`), its progress (bytes and
/// segments done and to do) and the last finished run's report.
#[utoipa::path(get, path = "/v1/admin/verify", tag = "admin",
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "State, progress and the last report"),
    ),
    security(("bearer" = [])))]
pub async fn verify_status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    caller.require_auditor()?;
    Ok(Json(state.verify_job().to_json()))
}
