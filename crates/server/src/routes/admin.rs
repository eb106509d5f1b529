//! `POST /v1/admin/verify` (start a background verification) and `GET /v1/admin/verify`
//! (its state, progress and last report). Auditors and admins. `POST /v1/admin/erase`
//! erases a data subject (admins).

use crate::auth::Caller;
use crate::error::Problem;
use crate::state::{AppState, read_event};
use auditlog::Event;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

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
        .metadata("tree_size", state.log().end_seq());
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

/// The body of `POST /v1/admin/erase`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The data subject to erase (its id as the policy names it: an actor id by default).
    #[schema(min_length = 1, max_length = 65535)]
    pub subject: String,
}

/// The longest subject id accepted, in characters (declared in /openapi.json).
const MAX_SUBJECT_CHARS: usize = 65_535;

/// Erases a data subject (GDPR art. 17, docs/PRIVACY.md): its keys are destroyed durably, a
/// `privacy.erasure` event is appended, and from then on its protected values read
/// `[erased]`; every record, root and proof stays as it was. Admins only; the request itself
/// is recorded as an `admin.erase` event naming the token. Needs no master key.
#[utoipa::path(post, path = "/v1/admin/erase", tag = "admin",
    request_body(content = EraseRequest, content_type = "application/json"),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "Erased: {subject, key_ids, event_seq}", body = Value),
        (status = 404, description = "The subject has no key in this log", content_type = "application/problem+json"),
        (status = 409, description = "The log has no privacy policy", content_type = "application/problem+json"),
        (status = 503, description = "The server is stopping", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Problem> {
    caller.require_admin()?;
    let request: EraseRequest = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "bad-body",
            format!("the body is not {{\"subject\": \"<id>\"}}: {e}"),
        )
    })?;
    let subject = request.subject;
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(Problem::bad_request(
            "bad-body",
            format!("a subject is 1 to {MAX_SUBJECT_CHARS} characters"),
        )
        .with("parameter", "subject"));
    }
    state.refuse_if_draining()?;
    if state.log().vault().is_none() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no-privacy-policy",
            "this log was created without a privacy policy: it holds no personal data to erase",
        ));
    }
    let who = subject.clone();
    let report = state
        .blocking(move |log| match log.erase(&who) {
            Ok(report) => Ok(report),
            Err(auditlog::Error::Privacy(auditlog::privacy::PrivacyError::UnknownSubject(s))) => {
                Err(Problem::not_found(format!(
                    "subject {s:?} has no live key in this log (never seen, or erased already)"
                )))
            }
            Err(e) => Err(Problem::from(e)),
        })
        .await?;
    let event = read_event(
        &caller,
        "admin.erase",
        "POST /v1/admin/erase",
        json!({ "subject": subject }),
        report.key_ids.len() as u64,
    )
    .metadata("erasure_seq", report.event_seq);
    state.audit_read(event).await?;
    Ok(Json(json!({
        "subject": report.subject,
        "key_ids": report.key_ids,
        "event_seq": report.event_seq,
    })))
}
