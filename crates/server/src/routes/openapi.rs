//! `/openapi.json`: the OpenAPI 3.1 document, derived by utoipa from the handlers'
//! `#[utoipa::path]` attributes. Every route registered in [`super::router`] is listed here
//! (tests/server_openapi.rs checks the two agree).

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "auditlog serve", description = "A tamper-evident audit log as a service (docs/SERVER.md)."),
    paths(
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
        document,
        super::ingest::post_events,
        super::events::list,
        super::events::one,
        super::read::stats,
        super::read::export,
        super::stream::stream,
        super::proofs::checkpoint,
        super::proofs::consistency,
        super::admin::start_verify,
        super::admin::verify_status,
        super::admin::erase,
        crate::console::signin::mint_link,
    ),
    components(schemas(ProblemDoc, super::admin::EraseRequest)),
    modifiers(&Bearer),
)]
struct ApiDoc;

/// An RFC 9457 problem document, as every error is answered (docs/SERVER.md, "Errors").
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "described in the document, built as JSON by error.rs"
)]
pub struct ProblemDoc {
    /// `urn:auditlog:problem:<kind>`.
    r#type: String,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, for a person.
    detail: String,
}

/// The errors every endpoint with a token and parameters may answer.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code, reason = "only described")]
pub enum RequestProblems {
    #[response(
        status = 400,
        description = "A bad parameter value, an unknown filter or a bad cursor",
        content_type = "application/problem+json"
    )]
    BadRequest(ProblemDoc),
    #[response(
        status = 401,
        description = "No, unknown or revoked token",
        content_type = "application/problem+json"
    )]
    Unauthorized(ProblemDoc),
    #[response(
        status = 403,
        description = "The token's role or tenants do not allow this",
        content_type = "application/problem+json"
    )]
    Forbidden(ProblemDoc),
}

/// No such record, tree size or checkpoint.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code, reason = "only described")]
pub enum NotFound {
    #[response(
        status = 404,
        description = "No such record, tree size or checkpoint",
        content_type = "application/problem+json"
    )]
    NotFound(ProblemDoc),
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document.
pub fn api() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(api())
}
