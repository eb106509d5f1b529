//! The Unix socket: the same JSON as `POST /v1/events`, in length-prefixed frames, for
//! high-rate local clients, and the JSON reads, so that a local client needs no TCP at all
//! (docs/SERVER.md, "The Unix socket", is the contract).
//!
//! A frame is a 4-byte big-endian length `N` (1 to `max_body_bytes`) and then `N` bytes of
//! UTF-8 JSON. The first frame of a connection is `{"token": "<secret>"}`; every later one is
//! one event or an array of events, or a read `{"get": "/v1/...?query"}`. Each frame is
//! answered by one frame, in order: the acknowledgement `{"status": 201, "count", "records"}`
//! (sent once the records are durable, as over HTTP), a read's `{"status": 200, "body"}`, or
//! a problem document with its `status`. A bad length or a refused token ends the connection
//! after its answer.
//!
//! A read is served by the HTTP router itself (the same handler, role and tenant checks,
//! parameter bounds, problem documents and `audit.read` events as over TCP), as a `GET` with
//! the connection's token; only the bounded JSON endpoints in [`READ_PATHS`] are offered,
//! since an export or a stream does not fit in one answer frame.

use crate::auth::Caller;
use crate::error::Problem;
use crate::ingest::{Shape, ack_text, ingest};
use crate::serve::ServeError;
use crate::state::AppState;
use crate::tokens::TokenStore;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The running socket listener.
#[derive(Debug)]
pub struct Socket {
    path: PathBuf,
    accept: JoinHandle<()>,
}

/// Binds `path` (replacing a stale socket file no server answers on) and serves it.
pub fn bind(path: &Path, state: AppState) -> Result<Socket, ServeError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServeError::Usage(format!(
                "{} is in use by another server: stop it or give another --socket",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| {
            ServeError::Failed(format!("removing the stale socket {}: {e}", path.display()))
        })?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| ServeError::Failed(format!("listening on {}: {e}", path.display())))?;
    // Owner and group: the workers of the application, not every local user.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ServeError::Failed(format!("setting the mode of {}: {e}", path.display())))?;
    let router = crate::routes::router(state.clone());
    let accept = tokio::spawn(accept_loop(listener, state, router));
    Ok(Socket {
        path: path.to_path_buf(),
        accept,
    })
}

impl Socket {
    /// Waits (until `deadline`) for the connections to finish the frames they are handling,
    /// then removes the socket file. Returns whether they finished in time.
    pub async fn stop(self, deadline: Instant) -> bool {
        let finished = tokio::time::timeout_at(deadline.into(), self.accept)
            .await
            .is_ok();
        let _ = std::fs::remove_file(&self.path);
        finished
    }
}

async fn accept_loop(listener: UnixListener, state: AppState, router: axum::Router) {
    let mut connections = tokio::task::JoinSet::new();
    let mut stopping = state.stopping();
    loop {
        tokio::select! {
            _ = stopping.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, state.clone(), router.clone()));
                }
                Err(e) => eprintln!("auditlog serve: accepting on the socket: {e}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A connection, read through a buffer: a frame's length and its body (and often the next
/// frames of a pipelining client) arrive in one `read`, not one per `read_exact`. Writes go
/// straight through to the socket.
type Conn = BufReader<UnixStream>;

/// The read buffer of a connection: a few frames of ~500-byte events. A larger frame is read
/// into its own buffer, bypassing this one.
const READ_BUFFER: usize = 16 * 1024;

/// Reads one frame; `Ok(None)` at a clean end of stream (or when the server stops while the
/// connection is idle).
async fn read_frame(
    stream: &mut Conn,
    max: usize,
    state: &AppState,
) -> Result<Option<Vec<u8>>, Problem> {
    let mut stopping = state.stopping();
    let mut len = [0u8; 4];
    tokio::select! {
        _ = stopping.wait_for(|s| *s) => return Ok(None),
        read = stream.read_exact(&mut len) => match read {
            Ok(_) => {}
            Err(_) => return Ok(None),
        },
    }
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 || n > max {
        return Err(Problem::too_large(
            "max_body_bytes",
            max,
            format!("a frame of {n} bytes: frames hold 1 to {max} bytes"),
        ));
    }
    let mut body = vec![0u8; n];
    stream.read_exact(&mut body).await.map_err(|e| {
        Problem::bad_request("truncated-frame", format!("the frame ended early: {e}"))
    })?;
    Ok(Some(body))
}

async fn write_frame(stream: &mut Conn, doc: &Value) -> std::io::Result<()> {
    write_text(stream, &doc.to_string()).await
}

/// Writes one answer frame with a single `write`: a client blocked reading the length is
/// woken once, with the whole answer there, rather than once for the length and again for
/// the body.
async fn write_text(stream: &mut Conn, text: &str) -> std::io::Result<()> {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + text.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(text.as_bytes());
    stream.write_all(&frame).await?;
    stream.flush().await
}

fn problem_doc(p: &Problem) -> Value {
    p.to_json()
}

async fn connection(stream: UnixStream, state: AppState, router: axum::Router) {
    let mut stream = BufReader::with_capacity(READ_BUFFER, stream);
    let max = state.limits().max_body_bytes;
    let mut token = match authenticate(&mut stream, &state, max).await {
        Ok(Some(secret)) => ConnectionToken::new(secret),
        Ok(None) => return,
        Err(p) => {
            let _ = write_frame(&mut stream, &problem_doc(&p)).await;
            return;
        }
    };
    loop {
        let body = match read_frame(&mut stream, max, &state).await {
            Ok(Some(body)) => body,
            Ok(None) => return,
            Err(p) => {
                let _ = write_frame(&mut stream, &problem_doc(&p)).await;
                return;
            }
        };
        // Checked again for every frame: a revoked token stops working on open connections.
        let Some(caller) = token.caller(&state) else {
            let p = Problem::unauthorized("the token was revoked");
            let _ = write_frame(&mut stream, &problem_doc(&p)).await;
            return;
        };
        let answer = if let Some(target) = read_target(&body) {
            read(&router, &token.secret, target).await
        } else {
            match ingest(&state, caller, &body, Shape::Json).await {
                Ok(receipts) => ack_text(&receipts, Some(201)),
                Err(p) => problem_doc(&p).to_string(),
            }
        };
        if write_text(&mut stream, &answer).await.is_err() {
            return;
        }
    }
}

/// The endpoints a socket read may name: `GET` routes whose answer is one bounded document
/// (a page of at most 1,000 records, one record, a proof, the stats, the signed note).
pub const READ_PATHS: [&str; 4] = [
    "/v1/events",
    "/v1/checkpoint",
    "/v1/proofs/consistency",
    "/v1/stats",
];

/// The largest read answer accepted from the router (a frame's length is 4 bytes, and the
/// answer is wrapped in `{"status":200,"body":...}`).
const MAX_READ_ANSWER: usize = u32::MAX as usize - 64;

/// `Some(target)` when the frame is a read, `{"get": "<path and query>"}`. An event has no
/// `get` field (the engine refuses unknown keys), so the two cannot be confused; anything
/// else, including a malformed read, goes to ingest and is refused there as an event.
fn read_target(body: &[u8]) -> Option<String> {
    // Cheap test first: appends are the hot path and are never parsed twice unless they
    // mention "get".
    memchr::memmem::find(body, b"\"get\"")?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Read {
        get: String,
    }
    serde_json::from_slice::<Read>(body).ok().map(|r| r.get)
}

/// Whether `path` (without its query) is one of [`READ_PATHS`] or a record under
/// `/v1/events/`.
fn readable(path: &str) -> bool {
    READ_PATHS.contains(&path)
        || path
            .strip_prefix("/v1/events/")
            .is_some_and(|seq| !seq.is_empty() && !seq.contains('/'))
}

/// Serves a read through the HTTP router as `GET target` with the connection's token;
/// returns the answer frame's text.
async fn read(router: &axum::Router, secret: &str, target: String) -> String {
    let problem = |p: Problem| problem_doc(&p).to_string();
    let uri = match target.parse::<axum::http::Uri>() {
        Ok(uri) if uri.scheme().is_none() && target.starts_with('/') => uri,
        _ => {
            return problem(Problem::bad_request(
                "bad-read",
                format!(
                    "a read names a path and query such as \"/v1/events?limit=10\", not {:?}",
                    target.chars().take(200).collect::<String>()
                ),
            ));
        }
    };
    if !readable(uri.path()) {
        return problem(Problem::not_found(format!(
            "no socket read of {:?}: the socket serves GET {} and /v1/events/{{seq}}; \
             exports and streams are served over HTTP",
            uri.path().chars().take(200).collect::<String>(),
            READ_PATHS.join(", ")
        )));
    }
    let request = axum::http::Request::builder()
        .method(axum::http::Method::GET)
        .uri(uri)
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {secret}"),
        )
        .body(axum::body::Body::empty());
    let request = match request {
        Ok(r) => r,
        Err(e) => return problem(Problem::internal(format!("building the read: {e}"))),
    };
    let response = match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = match axum::body::to_bytes(response.into_body(), MAX_READ_ANSWER).await {
        Ok(b) => b,
        Err(e) => return problem(Problem::internal(format!("reading the answer: {e}"))),
    };
    if status >= 400 {
        // The route's problem document, which carries its status.
        return match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut doc)) => {
                doc.entry("status").or_insert(json!(status));
                Value::Object(doc).to_string()
            }
            _ => problem(Problem::internal(format!(
                "the answer of {status} is not a problem document"
            ))),
        };
    }
    // The handler's JSON (axum's `Json`, so valid) is spliced in as it is, not parsed and
    // printed again: a page of records is the large answer. A text answer (the checkpoint's
    // signed note) is a JSON string.
    match std::str::from_utf8(&body) {
        Ok(text) if json => format!("{{\"status\":{status},\"body\":{text}}}"),
        Ok(text) => json!({"status": status, "body": text}).to_string(),
        Err(_) => problem(Problem::internal(format!(
            "the answer of {status} is not UTF-8 text"
        ))),
    }
}

/// A connection's token and its caller, authenticated again only when the token store
/// changes: a revoke (or any change of the file) makes a new store, so a revoked token still
/// stops working at the next frame, without hashing the secret and copying its entry for
/// every frame.
struct ConnectionToken {
    secret: String,
    /// The store `caller` was authenticated against, and what it said.
    checked: Option<(Arc<TokenStore>, Option<Caller>)>,
}

impl ConnectionToken {
    fn new(secret: String) -> Self {
        ConnectionToken {
            secret,
            checked: None,
        }
    }

    fn caller(&mut self, state: &AppState) -> Option<&Caller> {
        let store = state.tokens().current();
        let stale = !matches!(&self.checked, Some((seen, _)) if Arc::ptr_eq(seen, &store));
        if stale {
            let caller = store.authenticate(&self.secret).map(Caller::from_entry);
            self.checked = Some((store, caller));
        }
        self.checked
            .as_ref()
            .and_then(|(_, caller)| caller.as_ref())
    }
}

fn caller_of(state: &AppState, secret: &str) -> Option<Caller> {
    state
        .tokens()
        .current()
        .authenticate(secret)
        .map(Caller::from_entry)
}

/// Reads the first frame and checks its token; returns the secret.
async fn authenticate(
    stream: &mut Conn,
    state: &AppState,
    max: usize,
) -> Result<Option<String>, Problem> {
    let Some(body) = read_frame(stream, max, state).await? else {
        return Ok(None);
    };
    let hello: Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "malformed-json",
            format!("the first frame is not JSON: {e}"),
        )
    })?;
    let Some(secret) = hello.get("token").and_then(Value::as_str) else {
        return Err(Problem::unauthorized(
            "the first frame of a connection must be {\"token\": \"<secret>\"}",
        ));
    };
    let Some(caller) = caller_of(state, secret) else {
        state.metrics().auth_failures.inc();
        return Err(Problem::unauthorized("the token is unknown or revoked"));
    };
    // Any role may connect: appends are checked as over HTTP (writers and admins), and each
    // read by its route.
    let ok = json!({"status": 200, "token": caller.id, "role": caller.role.as_str()});
    write_frame(stream, &ok)
        .await
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(Some(secret.to_string()))
}
