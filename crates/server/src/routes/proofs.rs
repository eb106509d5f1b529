//! `GET /v1/checkpoint` (the newest signed checkpoint, C2SP signed-note text) and
//! `GET /v1/proofs/consistency` (RFC 9162 consistency proofs). Auditors and admins.

use crate::auth::Caller;
use crate::error::Problem;
use crate::filters::Params;
use crate::state::{AppState, read_event};
use auditlog::checkpoint::store::read_notes;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// The newest signed checkpoint of the log. A server started with `--key` first signs one of
/// the current tree if the tree has grown since the newest.
#[utoipa::path(get, path = "/v1/checkpoint", tag = "proofs",
    responses(
        super::openapi::RequestProblems,
        super::openapi::NotFound,
        (status = 200, description = "C2SP signed note", content_type = "text/plain"),
    ),
    security(("bearer" = [])))]
pub async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<impl IntoResponse, Problem> {
    caller.require_auditor()?;
    if let Some((k, _)) = params.0.first() {
        return Err(Problem::bad_request(
            "unknown-filter",
            format!("unknown parameter `{k}`: this endpoint takes none"),
        )
        .with("parameter", k.as_str()));
    }
    state.metrics().proofs.inc();
    let signs = state.signer().is_some();
    let note = state
        .blocking(move |log| {
            let notes = read_notes(log.dir()).map_err(auditlog::Error::from)?;
            let newest = notes.last().cloned();
            let size_of = |note: &str| {
                auditlog::checkpoint::Checkpoint::parse(
                    note.split_once("\n\n").map_or(note, |(body, _)| body),
                )
                .ok()
                .map(|c| c.tree_head.size)
            };
            let stale = newest.as_deref().and_then(size_of) != Some(log.end_seq());
            if signs && stale {
                return Ok(Some(log.checkpoint()?));
            }
            Ok(newest)
        })
        .await?;
    let Some(note) = note else {
        return Err(Problem::not_found(
            "the log has no signed checkpoint yet: start the server with --key FILE (from \
             `auditlog keygen`) or sign one with `auditlog checkpoint`",
        ));
    };
    state
        .audit_read(read_event(
            &caller,
            "audit.read",
            "GET /v1/checkpoint",
            json!({}),
            0,
        ))
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note))
}

/// A consistency proof from the tree of `from` records to the tree of `to` (default: the
/// current tree).
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "proofs",
    params(
        ("from" = u64, Query, description = "The older tree size"),
        ("to" = Option<u64>, Query, description = "The newer tree size (default: current)"),
    ),
    responses(
        super::openapi::RequestProblems,
        super::openapi::NotFound,
        (status = 200, description = "The proof, as `auditlog prove --consistency` prints it", body = Value),
    ),
    security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, Problem> {
    caller.require_auditor()?;
    if let Some((k, _)) = params.0.iter().find(|(k, _)| k != "from" && k != "to") {
        return Err(Problem::bad_request(
            "unknown-filter",
            format!("unknown parameter `{k}`: this endpoint takes from and to"),
        )
        .with("parameter", k.as_str()));
    }
    let size = |v: &str| {
        v.parse::<u64>()
            .map_err(|_| "give a tree size (0 or more)".to_string())
    };
    let from = params.parsed("from", size)?.ok_or_else(|| {
        Problem::bad_request("bad-parameter", "give `from`, the older tree size")
            .with("parameter", "from")
    })?;
    let to = params.parsed("to", size)?;
    if let Some(to) = to
        && from > to
    {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("`from` ({from}) is larger than `to` ({to})"),
        )
        .with("parameter", "from"));
    }
    state.metrics().proofs.inc();
    let proof = state
        .blocking(move |log| Ok(auditlog::proof::prove_consistency(log.dir(), from, to)?))
        .await?;
    state
        .audit_read(read_event(
            &caller,
            "audit.read",
            "GET /v1/proofs/consistency",
            json!({"from": from, "to": to}),
            0,
        ))
        .await?;
    Ok(Json(proof))
}
