//! The web console: pages rendered by the server for people (compliance officers,
//! operators) who look rather than read JSON. One module per page; the pages read through
//! the JSON API's own handlers (`routes::events`, `routes::read`) with the session's
//! [`crate::Caller`], so filters, tenant scoping and the `audit.read` events are the API's.
//!
//! - [`signin`]: the token sign-in form, one-time viewer links, sign-out, and
//!   `POST /v1/viewer-links` (admins mint links for their applications);
//! - [`events`]: the filtered, paginated events table (also an actor's activity and an
//!   entity's history), with CSV/JSONL export of the current filter;
//! - [`record`]: one record, its before/after diff, and its inclusion proof, checked in the
//!   browser by `assets/proof.js`;
//! - [`dashboard`]: counts over time and by severity, outcome, action and actor as SVG;
//! - [`integrity`]: the tree head and the newest signed checkpoints;
//! - [`live`]: new records as they commit (the API's SSE stream), with pause and resume;
//! - [`session`]: cookies, sessions, the CSRF origin check; [`links`]: the viewer links;
//!   [`html`]: escaping; [`layout`]: the page shell and the security headers.
//!
//! Every page is sent with a strict Content-Security-Policy (scripts and styles only from
//! `/console/assets/`, embedded in the binary; no inline script), and event text reaches
//! the markup only through [`html::Html::text`] / [`html::Html::attr`].

mod assets;
mod dashboard;
mod events;
pub mod html;
mod integrity;
mod layout;
pub mod links;
mod live;
mod record;
pub mod session;
pub(crate) mod signin;

use crate::state::AppState;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

/// The console's routes (merged into the server's router by `routes::router`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/events") }))
        .route(
            "/console",
            get(|| async { Redirect::to("/console/events") }),
        )
        .route("/console/sign-in", get(signin::form).post(signin::submit))
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/link/{secret}", get(signin::open_link))
        .route("/console/events", get(events::page))
        .route("/console/export", get(events::export))
        .route("/console/events/{seq}", get(record::page))
        .route("/console/events/{seq}/proof.json", get(record::proof))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/integrity", get(integrity::page))
        .route(
            "/console/verify",
            get(integrity::verify_status).post(integrity::start_verify),
        )
        .route("/console/live", get(live::page))
        .route("/console/stream", get(live::stream))
        .route("/console/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn(layout::security_headers))
        .layer(axum::Extension(session::ConsoleState::default()))
        .route("/v1/viewer-links", post(signin::mint_link))
}
