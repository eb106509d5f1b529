//! The console's scripts and style sheet, embedded in the binary (`include_bytes!`): the
//! console works without a network and without Node.js.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (name, media type, bytes) of every asset.
const ASSETS: [(&str, &str, &[u8]); 9] = [
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/console.js"),
    ),
    (
        "blake3.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/blake3.js"),
    ),
    (
        "proof.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/proof.js"),
    ),
    (
        "record.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/record.js"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/live.js"),
    ),
    (
        "integrity.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/integrity.js"),
    ),
    (
        "ed25519.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/ed25519.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/favicon.svg"),
    ),
];

/// `GET /console/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media, bytes)) => (
            [
                (header::CONTENT_TYPE, *media),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
