//! `POST /v1/events`: append one event, an array, or NDJSON; answer once durable.

use crate::auth::Caller;
use crate::error::Problem;
use crate::ingest::{Shape, ack_text, ingest};
use crate::state::AppState;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

/// Appends events. The 201 answer is sent only once every record is durable under the
/// server's `--durability`; it carries each record's receipt.
#[utoipa::path(post, path = "/v1/events", tag = "ingest",
    request_body(content = serde_json::Value, description = "One event, an array of events, or NDJSON (application/x-ndjson)",
        content_type = "application/json"),
    responses(
        (status = 201, description = "Durable: one receipt per event, in order", body = serde_json::Value),
        (status = 400, description = "Malformed JSON (with the NDJSON line)", content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", content_type = "application/problem+json"),
        (status = 403, description = "Not a writer, or another tenant", content_type = "application/problem+json"),
        (status = 413, description = "Body, batch or event over its limit", content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor NDJSON", content_type = "application/problem+json"),
        (status = 422, description = "An invalid event (which field, which limit)", content_type = "application/problem+json"),
        (status = 503, description = "Queue full or stopping; see Retry-After", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, Problem> {
    caller.require_writer()?;
    state.refuse_if_draining()?;
    let shape = shape_of(&headers)?;
    let limit = state.limits().max_body_bytes;
    let bytes = to_bytes(body, limit).await.map_err(|e| {
        Problem::too_large(
            "max_body_bytes",
            limit,
            format!("the body is over {limit} bytes (or could not be read: {e}): split it"),
        )
    })?;
    let receipts = ingest(&state, &caller, &bytes, shape).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        ack_text(&receipts, None),
    ))
}

fn shape_of(headers: &HeaderMap) -> Result<Shape, Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Shape::Json);
    };
    let media = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
    match media.trim().to_ascii_lowercase().as_str() {
        "application/json" | "" => Ok(Shape::Json),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Ok(Shape::Ndjson),
        other => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "Content-Type {other:?} is not accepted: send application/json (an event or an \
                 array) or application/x-ndjson (one event per line)"
            ),
        )),
    }
}
