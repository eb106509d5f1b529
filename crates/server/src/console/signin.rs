//! Signing in: the token form, one-time viewer links, signing out, and the admin endpoint
//! that mints links (`POST /v1/viewer-links`). Each sign-in is appended to the log as a
//! `console.sign_in` event.

use super::html::Html;
use super::layout::{Nav, error_page, render};
use super::links::{self, Refused};
use super::session::{
    ConsoleState, LINK_SESSION, TOKEN_SESSION, clear_cookie, cookie_value, cross_site, link_caller,
    same_origin, set_cookie,
};
use crate::auth::Caller;
use crate::error::Problem;
use crate::state::AppState;
use auditlog::{Event, Timestamp};
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Value, json};

fn form_page(message: Option<&str>) -> Response {
    let mut b = Html::new();
    b.raw("<section class=\"signin\"><h1>Sign in to the audit log</h1>");
    if let Some(m) = message {
        b.raw("<p class=\"problem\" role=\"alert\">")
            .text(m)
            .raw("</p>");
    }
    b.raw(
        "<form method=\"post\" action=\"/console/sign-in\">\
         <label for=\"token\">Access token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required \
         placeholder=\"alt_…\" aria-describedby=\"token-help\">\
         <p id=\"token-help\" class=\"help\">A reader, auditor or admin token from \
         <code>auditlog token add</code>. Viewer links sign you in without one.</p>\
         <button type=\"submit\">Sign in</button></form></section>",
    );
    render("Sign in", Nav::SignIn, None, b, &[])
}

/// `GET /console/sign-in`.
pub async fn form() -> Response {
    form_page(None)
}

/// The sign-in form's body.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
}

fn with_session(cookie: String, to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn record_sign_in(state: &AppState, caller: &Caller, method: &str) -> Result<(), Problem> {
    let mut event = Event::new(format!("token:{}", caller.id), "console.sign_in")
        .actor_kind("token")
        .metadata("method", method)
        .metadata("role", caller.role.as_str())
        .metadata("tenants", caller.tenants.clone());
    if let Some(name) = &caller.name {
        event = event.actor_name(name.clone());
    }
    state.append(&[event]).await.map(|_| ())
}

/// `POST /console/sign-in`: a token of a reading role opens a session.
pub async fn submit(
    State(state): State<AppState>,
    Extension(console): Extension<ConsoleState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let store = state.tokens().current();
    let Some(entry) = store.authenticate(form.token.trim()) else {
        state.metrics().auth_failures.inc();
        let mut r = form_page(Some("That token is unknown or revoked."));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    };
    let caller = Caller::from_entry(entry);
    if let Err(p) = caller.require_reader() {
        let mut r = form_page(Some(&p.detail));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    if let Err(p) = record_sign_in(&state, &caller, "token").await {
        return error_page(p.status, None, &p.detail);
    }
    let value = console
        .sessions
        .open(caller, Some(entry.id.clone()), TOKEN_SESSION);
    with_session(set_cookie(&value, TOKEN_SESSION), "/console/events")
}

/// `GET /console/link/{secret}`: a one-time viewer link. The link is marked used in the
/// store (durably) before the session cookie is sent.
pub async fn open_link(
    State(state): State<AppState>,
    Extension(console): Extension<ConsoleState>,
    Path(secret): Path<String>,
) -> Response {
    let dir = state.log().dir().to_path_buf();
    let now = Timestamp::now();
    let redeemed = state
        .blocking(move |_| Ok(links::redeem(&dir, &secret, now)))
        .await;
    let link = match redeemed {
        Ok(Ok(link)) => link,
        Ok(Err(Refused::Store(e))) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                &format!("the link could not be checked: {e}"),
            );
        }
        Ok(Err(_)) => {
            return error_page(
                StatusCode::GONE,
                None,
                "This viewer link has been used, has expired, or was never valid. \
                 Ask for a new one.",
            );
        }
        Err(p) => return error_page(p.status, None, &p.detail),
    };
    let caller = link_caller(&link.id, &link.tenant);
    if let Err(p) = record_sign_in(&state, &caller, "viewer_link").await {
        return error_page(p.status, None, &p.detail);
    }
    let value = console.sessions.open(caller, None, LINK_SESSION);
    with_session(set_cookie(&value, LINK_SESSION), "/console/events")
}

/// `POST /console/sign-out`.
pub async fn sign_out(Extension(console): Extension<ConsoleState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    if let Some(value) = cookie_value(&headers) {
        console.sessions.close(&value);
    }
    with_session(clear_cookie(), "/console/sign-in")
}

/// The body of `POST /v1/viewer-links`.
#[derive(Debug, Deserialize)]
struct MintRequest {
    tenant: String,
    /// `15m`, `900`, `2h`; default 15m.
    #[serde(default)]
    ttl: Option<String>,
    /// Default: `http://<Host of this request>`.
    #[serde(default)]
    base_url: Option<String>,
}

/// Mints a one-time viewer link to a reader session of one tenant, for an application's
/// backend to hand to one of its users. Admins only.
#[utoipa::path(post, path = "/v1/viewer-links", tag = "console",
    request_body(content = Value, description = "{tenant, ttl (default 15m, at most 24h), base_url (default http://<Host>)}",
        content_type = "application/json"),
    responses(
        (status = 201, description = "{url, id, tenant, expires_at}: the URL is shown only here", body = Value),
        (status = 400, description = "Malformed body, bad TTL or base URL", content_type = "application/problem+json"),
        (status = 401, description = "No or unknown token", content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn mint_link(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    if caller.role != crate::auth::Role::Admin {
        return Err(Problem::forbidden(format!(
            "token {} is a {} token: minting viewer links needs an admin token",
            caller.id, caller.role
        )));
    }
    let request: MintRequest = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "malformed-json",
            format!("the body is not {{\"tenant\": ..., \"ttl\": \"15m\"}}: {e}"),
        )
    })?;
    if !caller.may_write(Some(&request.tenant)) {
        return Err(Problem::forbidden(format!(
            "token {} may not mint links for tenant {:?}",
            caller.id, request.tenant
        )));
    }
    let ttl = links::parse_ttl(request.ttl.as_deref().unwrap_or("15m"))
        .map_err(|m| Problem::bad_request("bad-parameter", m).with("parameter", "ttl"))?;
    let base = match request.base_url {
        Some(b) => b,
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1:7600");
            format!("http://{host}")
        }
    };
    let dir = state.log().dir().to_path_buf();
    let tenant = request.tenant.clone();
    let minted = state
        .blocking(move |_| {
            links::mint(&dir, &tenant, ttl, &base, Timestamp::now()).map_err(|e| match e {
                crate::tokens::StoreError::Usage(m) => Problem::bad_request("bad-parameter", m),
                crate::tokens::StoreError::Io(m) => Problem::internal(m),
            })
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "url": minted.url,
            "id": minted.link.id,
            "tenant": minted.link.tenant,
            "expires_at": minted.link.expires_at,
        })),
    ))
}
