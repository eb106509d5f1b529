//! `GET /console/live`: new matching records as they commit, with pause and resume.
//! `assets/live.js` reads `GET /console/stream`, which is the API's SSE stream
//! ([`crate::routes::stream::stream`]) with the session's caller, so the same filters and
//! tenant rules apply; resuming after a pause continues from the last record shown
//! (`from_seq`), so nothing committed in between is missed.

use super::events::{View, live_params};
use super::html::Html;
use super::layout::{Nav, error_page, render};
use super::session::Viewer;
use crate::error::Problem;
use crate::filters::Params;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// `GET /console/live?<filters>`.
pub async fn page(viewer: Viewer, params: Params) -> Response {
    let view = match View::read(&params) {
        Ok(v) => v,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, Some(&viewer.caller), &m),
    };
    let filters: Vec<(&str, &str)> = view
        .filters
        .iter()
        .filter(|(k, _)| k != "since" && k != "until")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut b = Html::new();
    b.raw("<h1>Live feed</h1><p class=\"help\">New records matching ");
    if filters.is_empty() {
        b.raw("any filter");
    } else {
        for (i, (k, v)) in filters.iter().enumerate() {
            if i > 0 {
                b.raw(", ");
            }
            b.text(k).raw(" = <code>").text(v).raw("</code>");
        }
    }
    b.raw(" appear at the top as they are committed. Filters come from the ")
        .link(
            &format!("/console/events?{}", live_params(&view)),
            "events page",
        )
        .raw(" URL.</p><div class=\"toolbar\"><span id=\"live-state\" role=\"status\" aria-live=\"polite\" data-testid=\"live-state\">Connecting…</span>\
             <button type=\"button\" id=\"live-toggle\" data-testid=\"live-toggle\">Pause</button></div>\
             <div class=\"table-wrap\"><table class=\"events\" id=\"live\" data-testid=\"live\"")
        .attr(
            "data-stream-url",
            &format!("/console/stream?{}", live_params(&view)),
        )
        .raw("><caption class=\"sr-only\">New events, newest first</caption><thead><tr>\
              <th scope=\"col\">#</th><th scope=\"col\">Time</th><th scope=\"col\">Actor</th>\
              <th scope=\"col\">Action</th><th scope=\"col\">Entity</th><th scope=\"col\">Tenant</th>\
              <th scope=\"col\">Outcome</th><th scope=\"col\">Severity</th></tr></thead><tbody></tbody></table></div>");
    render(
        "Live feed",
        Nav::Live,
        Some(&viewer.caller),
        b,
        &["live.js"],
    )
}

/// `GET /console/stream?<filters>[&from_seq=N]`: the API's SSE stream for the session.
pub async fn stream(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, Problem> {
    Ok(
        crate::routes::stream::stream(State(state), viewer.caller, headers, params)
            .await?
            .into_response(),
    )
}
