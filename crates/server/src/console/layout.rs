//! The page shell (head, navigation, who is signed in) and the security headers of every
//! console answer.

use super::html::Html;
use crate::auth::Caller;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Scripts, styles and images only from this server; no inline script or style; no framing;
/// forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                       img-src 'self'; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Adds the Content-Security-Policy and its companions to every console answer.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A viewer link's secret is in its URL: never send a Referer to another site. (Not
    // `no-referrer`: Chromium then sends `Origin: null` on our own forms' POSTs, which the
    // CSRF check must refuse.)
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The events table.
    Events,
    /// The dashboard.
    Dashboard,
    /// The live feed.
    Live,
    /// The integrity page.
    Integrity,
    /// A record (under Events).
    Record,
    /// The sign-in page (no navigation).
    SignIn,
}

fn scope_text(caller: &Caller) -> String {
    let who = caller.name.clone().unwrap_or_else(|| caller.id.clone());
    match caller.read_scope() {
        None => format!("{who} · {} · all tenants", caller.role),
        Some(t) => format!("{who} · {} · tenant {}", caller.role, t.join(", ")),
    }
}

/// A whole page: `title` (escaped), the navigation for `viewer`, `body`, and the scripts
/// named in `scripts` (module names under /console/assets/).
pub fn render(
    title: &str,
    nav: Nav,
    viewer: Option<&Caller>,
    body: Html,
    scripts: &[&'static str],
) -> Response {
    let mut h = Html::new();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · auditlog</title>")
        .raw("<link rel=\"icon\" href=\"/console/assets/favicon.svg\">")
        .raw("<link rel=\"stylesheet\" href=\"/console/assets/console.css\">")
        .raw("<script type=\"module\" src=\"/console/assets/console.js\"></script>");
    for s in scripts {
        h.raw("<script type=\"module\"")
            .attr("src", &format!("/console/assets/{s}"))
            .raw("></script>");
    }
    h.raw("</head><body><a class=\"skip\" href=\"#main\">Skip to content</a>")
        .raw("<header class=\"top\"><span class=\"brand\">auditlog</span>");
    if let Some(caller) = viewer {
        h.raw("<nav aria-label=\"Console\"><ul>");
        for (target, href, label) in [
            (Nav::Events, "/console/events", "Events"),
            (Nav::Dashboard, "/console/dashboard", "Dashboard"),
            (Nav::Live, "/console/live", "Live"),
            (Nav::Integrity, "/console/integrity", "Integrity"),
        ] {
            h.raw("<li><a").attr("href", href);
            if nav == target || (nav == Nav::Record && target == Nav::Events) {
                h.raw(" aria-current=\"page\"");
            }
            h.raw(">").text(label).raw("</a></li>");
        }
        h.raw("</ul></nav><div class=\"who\"><span data-testid=\"who\">")
            .text(&scope_text(caller))
            .raw("</span><form method=\"post\" action=\"/console/sign-out\">")
            .raw("<button type=\"submit\" class=\"link\">Sign out</button></form></div>");
    }
    h.raw("</header><main id=\"main\">")
        .push(body)
        .raw("</main></body></html>");
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        h.into_string(),
    )
        .into_response()
}

/// A page saying what went wrong, with `status`.
pub fn error_page(status: StatusCode, viewer: Option<&Caller>, message: &str) -> Response {
    let mut body = Html::new();
    body.raw("<h1>")
        .text(status.canonical_reason().unwrap_or("Error"))
        .raw("</h1><p class=\"problem\" role=\"alert\">")
        .text(message)
        .raw("</p><p><a href=\"/console/events\">Back to the events</a></p>");
    let mut r = render("Error", Nav::Events, viewer, body, &[]);
    *r.status_mut() = status;
    r
}
