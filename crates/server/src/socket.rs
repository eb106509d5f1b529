//! The Unix socket: the same JSON as `POST /v1/events`, in length-prefixed frames, for
//! high-rate local clients (docs/SERVER.md, "The Unix socket", is the contract).
//!
//! A frame is a 4-byte big-endian length `N` (1 to `max_body_bytes`) and then `N` bytes of
//! UTF-8 JSON. The first frame of a connection is `{"token": "<secret>"}`; every later one is
//! one event or an array of events. Each frame is answered by one frame, in order: the
//! acknowledgement `{"status": 201, "count", "records"}` (sent once the records are durable,
//! as over HTTP) or a problem document with its `status`. A bad length or a refused token
//! ends the connection after its answer.

use crate::auth::Caller;
use crate::error::Problem;
use crate::ingest::{Shape, ack_json, ingest};
use crate::serve::ServeError;
use crate::state::AppState;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

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
    let accept = tokio::spawn(accept_loop(listener, state));
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

async fn accept_loop(listener: UnixListener, state: AppState) {
    let mut connections = tokio::task::JoinSet::new();
    let mut stopping = state.stopping();
    loop {
        tokio::select! {
            _ = stopping.wait_for(|s| *s) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, state.clone()));
                }
                Err(e) => eprintln!("auditlog serve: accepting on the socket: {e}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Reads one frame; `Ok(None)` at a clean end of stream (or when the server stops while the
/// connection is idle).
async fn read_frame(
    stream: &mut UnixStream,
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

async fn write_frame(stream: &mut UnixStream, doc: &Value) -> std::io::Result<()> {
    let text = doc.to_string();
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

fn problem_doc(p: &Problem) -> Value {
    p.to_json()
}

async fn connection(mut stream: UnixStream, state: AppState) {
    let max = state.limits().max_body_bytes;
    let secret = match authenticate(&mut stream, &state, max).await {
        Ok(Some(secret)) => secret,
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
        let Some(caller) = caller_of(&state, &secret) else {
            let p = Problem::unauthorized("the token was revoked");
            let _ = write_frame(&mut stream, &problem_doc(&p)).await;
            return;
        };
        let answer = match ingest(&state, &caller, &body, Shape::Json).await {
            Ok(receipts) => {
                let mut ack = ack_json(&receipts);
                ack["status"] = json!(201);
                ack
            }
            Err(p) => problem_doc(&p),
        };
        if write_frame(&mut stream, &answer).await.is_err() {
            return;
        }
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
    stream: &mut UnixStream,
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
    caller.require_writer()?;
    let ok = json!({"status": 200, "token": caller.id, "role": caller.role.as_str()});
    write_frame(stream, &ok)
        .await
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(Some(secret.to_string()))
}
