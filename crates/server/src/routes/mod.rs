//! The router: [`router`] is the one place where routes are registered. Handlers live in one
//! module per group of endpoints.

mod admin;
pub(crate) mod events;
mod ingest;
pub mod openapi;
mod ops;
mod proofs;
pub(crate) mod read;
pub(crate) mod stream;

use crate::error::Problem;
use crate::state::AppState;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        // Operations: no token (restrict them by listen address, docs/SERVER.md).
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::document))
        // Ingest.
        .route("/v1/events", post(ingest::post_events).get(events::list))
        // Reads.
        .route("/v1/events/{seq}", get(events::one))
        .route("/v1/stats", get(read::stats))
        .route("/v1/export", get(read::export))
        .route("/v1/stream", get(stream::stream))
        // Proofs.
        .route("/v1/checkpoint", get(proofs::checkpoint))
        .route("/v1/proofs/consistency", get(proofs::consistency))
        // Administration.
        .route(
            "/v1/admin/verify",
            post(admin::start_verify).get(admin::verify_status),
        )
        .route("/v1/admin/erase", post(admin::erase))
        // The web console (its pages, assets and POST /v1/viewer-links).
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), count_errors))
        .with_state(state)
}

async fn not_found(request: Request) -> Problem {
    Problem::not_found(format!(
        "no route {} {}: see /openapi.json for the routes",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> Problem {
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{} is not a method of {}: see /openapi.json",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Counts 4xx and 5xx answers for `/metrics`.
async fn count_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() {
        state.metrics().client_errors.inc();
    } else if status.is_server_error() {
        state.metrics().server_errors.inc();
    }
    response
}

/// A record's sequence number in the path; anything else is a 400 problem.
#[derive(Debug, Clone, Copy)]
pub struct SeqPath(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for SeqPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::bad_request("bad-parameter", e.body_text()))?;
        text.parse().map(SeqPath).map_err(|_| {
            Problem::bad_request(
                "bad-parameter",
                format!("{text:?} is not a sequence number (0 or more)"),
            )
            .with("parameter", "seq")
        })
    }
}
