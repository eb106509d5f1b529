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
        crate::console::signin::mint_link,
    ),
    modifiers(&Bearer),
)]
struct ApiDoc;

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
