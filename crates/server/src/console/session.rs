//! Console sessions: an HttpOnly, SameSite=Strict cookie naming a session held in memory
//! (a restart signs everyone out; nothing about a session is written to disk).
//!
//! A session signed in with a token is checked against the token store on every request,
//! so revoking the token ends its sessions within a second. A session opened by a viewer
//! link is a reader of the link's one tenant. Either way the session becomes a [`Caller`],
//! and every page reads through the same role and tenant rules as the JSON API.
//!
//! CSRF: every state-changing request is a POST that must carry an `Origin` (or, failing
//! that, a `Referer`) of this server's own `Host`; with SameSite=Strict cookies a cross-site
//! form cannot send the session anyway, and the Origin check also stops login CSRF.

use crate::auth::{Caller, Role};
use crate::state::AppState;
use crate::tokens::{fill_random, to_hex};
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, ORIGIN, REFERER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE_NAME: &str = "auditlog_session";
/// How long a session signed in with a token lasts.
pub const TOKEN_SESSION: Duration = Duration::from_secs(8 * 3600);
/// How long a session opened by a viewer link lasts.
pub const LINK_SESSION: Duration = Duration::from_secs(3600);
/// Most sessions held at once; the oldest is dropped beyond it.
const MAX_SESSIONS: usize = 10_000;

/// What a session is.
#[derive(Debug, Clone)]
struct Session {
    caller: Caller,
    /// The token it signed in with (checked on every request), or `None` for a link.
    token_id: Option<String>,
    expires: Instant,
}

/// The sessions of this server, keyed by the BLAKE3 hash of the cookie value.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<[u8; 32], Session>>>);

impl Sessions {
    /// Opens a session for `caller` and returns the cookie value.
    pub fn open(&self, caller: Caller, token_id: Option<String>, ttl: Duration) -> String {
        let mut random = [0u8; 32];
        if fill_random(&mut random).is_err() {
            // Without randomness no session may be made: an empty value authenticates nothing.
            return String::new();
        }
        let value = to_hex(&random);
        let mut map = self.0.lock();
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            *blake3::hash(value.as_bytes()).as_bytes(),
            Session {
                caller,
                token_id,
                expires: now + ttl,
            },
        );
        value
    }

    /// Ends the session of this cookie value.
    pub fn close(&self, value: &str) {
        self.0
            .lock()
            .remove(blake3::hash(value.as_bytes()).as_bytes());
    }

    fn get(&self, value: &str) -> Option<Session> {
        let key = *blake3::hash(value.as_bytes()).as_bytes();
        let mut map = self.0.lock();
        match map.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }
}

/// The `Set-Cookie` value of a new session.
pub fn set_cookie(value: &str, ttl: Duration) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// Whether a POST comes from a page of this server: its `Origin` (or `Referer`) must be
/// `http(s)://<Host>`. A request with neither is refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let matches = |origin: &str| {
        let rest = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        rest.is_some_and(|r| r == host || r.strip_prefix(host).is_some_and(|p| p.starts_with('/')))
    };
    match headers.get(ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) => matches(origin),
        None => headers
            .get(REFERER)
            .and_then(|r| r.to_str().ok())
            .is_some_and(matches),
    }
}

/// The console's shared state, given to its routes as an extension.
#[derive(Debug, Clone, Default)]
pub struct ConsoleState {
    /// The open sessions.
    pub sessions: Sessions,
}

/// A signed-in console user: the session's [`Caller`]. Taking it as a handler argument makes
/// the page need a session; without one the browser is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who the session reads as.
    pub caller: Caller,
}

/// The answer to a page request without a valid session.
#[derive(Debug)]
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let mut r = Redirect::to("/console/sign-in").into_response();
        r.headers_mut().insert(
            axum::http::header::SET_COOKIE,
            clear_cookie().parse().expect("a valid header"),
        );
        r
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SignInFirst> {
        let console = parts
            .extensions
            .get::<ConsoleState>()
            .cloned()
            .ok_or(SignInFirst)?;
        let value = cookie_value(&parts.headers).ok_or(SignInFirst)?;
        let session = console.sessions.get(&value).ok_or(SignInFirst)?;
        if let Some(id) = &session.token_id {
            // A revoked token ends its sessions; a changed role or tenants take effect.
            let store = state.tokens().current();
            let entry = store
                .tokens
                .iter()
                .find(|t| &t.id == id && t.revoked_at.is_none());
            let Some(entry) = entry else {
                console.sessions.close(&value);
                return Err(SignInFirst);
            };
            return Ok(Viewer {
                caller: Caller::from_entry(entry),
            });
        }
        Ok(Viewer {
            caller: session.caller,
        })
    }
}

/// The caller of a viewer-link session of `tenant`.
pub fn link_caller(link_id: &str, tenant: &str) -> Caller {
    Caller {
        id: format!("viewer-{link_id}"),
        name: Some(format!("viewer link for {tenant}")),
        role: Role::Reader,
        tenants: vec![tenant.to_string()],
        pii: false,
    }
}

/// 403 page body for a POST that failed the origin check.
pub fn cross_site() -> Response {
    (
        StatusCode::FORBIDDEN,
        "refused: this form was not sent from a page of this server (Origin check)",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_same_origin_posts_pass() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:7600"));
        assert!(!same_origin(&h), "no Origin and no Referer");
        h.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:7600"));
        assert!(same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:76001"));
        assert!(!same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        h.remove(ORIGIN);
        h.insert(
            REFERER,
            HeaderValue::from_static("http://127.0.0.1:7600/console/sign-in"),
        );
        assert!(same_origin(&h));
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_closes() {
        let s = Sessions::default();
        let value = s.open(link_caller("abcd0123", "acme"), None, LINK_SESSION);
        assert_eq!(value.len(), 64);
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE_NAME}={value}")).expect("header"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some(value.as_str()));
        assert_eq!(
            s.get(&value).map(|x| x.caller.tenants),
            Some(vec!["acme".to_string()])
        );
        s.close(&value);
        assert!(s.get(&value).is_none());
        assert!(s.get("").is_none());
    }
}
