//! `auditlog serve`: the audit log as a service for applications that are not one Rust
//! process (web applications run as several workers under gunicorn or uvicorn, which cannot
//! each open the log: one writer holds its directory lock).
//!
//! One process owns the log ([`auditlog::AuditLog`]) and offers it over HTTP (axum) and, for
//! local high-rate clients, a Unix socket speaking length-prefixed JSON (docs/SERVER.md).
//! Every acknowledgement is the engine's own receipt, sent once the record is durable under
//! the log's [`auditlog::Durability`]. Bearer tokens ([`tokens`]) carry a role and tenants
//! ([`auth`]); every read is itself appended to the log as an `audit.read` or `audit.export`
//! event.
//!
//! Layout:
//! - [`serve`]: start (open the log, bind, log the start line), signals, graceful stop;
//! - [`state`]: [`AppState`], what every handler shares (the log, the token cache, limits,
//!   metrics, the draining flag);
//! - [`error`]: [`Problem`], the RFC 9457 `application/problem+json` error of every route;
//! - [`auth`]: roles and the [`Caller`] extractor (the bearer token checked against the store);
//! - [`tokens`]: the crash-safe token store in the log directory (`auditlog token ...`);
//! - [`routes`]: the router and one module per group of endpoints;
//! - [`console`]: the web console (server-rendered pages, embedded scripts, sessions);
//! - `ingest` (parsing JSON / arrays / NDJSON), `filters` (query parameters into an engine
//!   [`auditlog::query::Query`]), `socket` (the Unix socket), `metrics`;
//! - [`verify_job`]: the one background verification of `/v1/admin/verify`;
//! - [`alerts`]: the rules evaluated over committed records, `alert.triggered` events and
//!   their webhooks;
//! - [`maintenance`]: retention and compaction on the server's schedule.
//!
//! # Adding a route
//! 1. Write the handler in a module under `routes/` (a new one for a new group). Take
//!    `State<AppState>` and a [`Caller`] (which makes the route need a token), check the role
//!    with one of `Caller`'s `require_*` methods, and return `Result<_, Problem>`. Run engine
//!    calls that read files inside [`AppState::blocking`] (they block). Parse query strings
//!    with [`filters::Params`] and paths with [`routes::SeqPath`] so that bad input answers
//!    problem+json, never axum's plain-text rejections.
//! 2. Annotate it with `#[utoipa::path(...)]` and add it to the `paths(...)` list in
//!    `routes/openapi.rs`, so `/openapi.json` matches the server.
//! 3. Register it in [`routes::router`], the one place where routes are listed.
//! 4. If it reads records, append its `audit.read` event with [`AppState::audit_read`].
//! 5. Test it against the real process in the root package's `tests/server_*.rs`.

pub mod alerts;
pub mod auth;
pub mod console;
pub mod error;
pub(crate) mod filters;
mod ingest;
pub mod maintenance;
pub mod metrics;
pub mod routes;
pub mod serve;
mod socket;
pub mod state;
pub mod tokens;
pub mod verify_job;

pub use auth::{Caller, Role};
pub use error::Problem;
pub use serve::{ServerConfig, run};
pub use state::AppState;
