//! [`Problem`]: every error the server answers, as RFC 9457 `application/problem+json`.
//!
//! The body is `{"type", "title", "status", "detail", ...}` where `type` is a stable URI
//! naming the kind of problem (`urn:auditlog:problem:<slug>`, listed in docs/SERVER.md) so
//! that clients can branch on it, `detail` is a sentence for a person, and extra members
//! (`line`, `field`, `limit`, `parameter`, ...) say where the problem is.

use auditlog::{AppendError, Error};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer: status, a stable kind, a human message and where the problem is.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable kind (`type` is `urn:auditlog:problem:<kind>`).
    pub kind: &'static str,
    /// What went wrong, for a person.
    pub detail: String,
    /// Extra members of the problem document (`line`, `field`, `limit`, ...).
    pub extra: Map<String, Value>,
    /// Seconds for `Retry-After` (503 answers).
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem of `kind` with `status` and a message.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            kind,
            detail: detail.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// Adds a member to the document.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// 400: the request cannot be read (malformed JSON, a bad parameter value).
    pub fn bad_request(kind: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    /// 401: no token, or one the store does not know (or has revoked).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: the token's role or tenants do not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404: no such route or record.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 413: over a size limit (`limit` names it, `max` is its value).
    pub fn too_large(limit: &'static str, max: usize, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
            .with("limit", limit)
            .with("max", max)
    }

    /// 422: a well-formed event the log refuses (which field, why).
    pub fn invalid_event(field: &str, reason: &str) -> Self {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-event",
            format!("invalid event: `{field}` {reason}"),
        )
        .with("field", field)
    }

    /// 503 with `Retry-After`: the writer's queue is full, or the server is stopping.
    pub fn unavailable(kind: &'static str, detail: impl Into<String>, retry_after: u32) -> Self {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, kind, detail);
        p.retry_after = Some(retry_after);
        p
    }

    /// 500: the engine failed; the message is the engine's.
    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// The problem document.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "type".into(),
            format!("urn:auditlog:problem:{}", self.kind).into(),
        );
        let title = self.status.canonical_reason().unwrap_or("Error");
        doc.insert("title".into(), title.into());
        doc.insert("status".into(), self.status.as_u16().into());
        doc.insert("detail".into(), self.detail.clone().into());
        for (k, v) in &self.extra {
            doc.insert(k.clone(), v.clone());
        }
        Value::Object(doc)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.to_json().to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"auditlog\""),
            );
        }
        response
    }
}

impl From<AppendError> for Problem {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::InvalidEvent { field, reason } => Problem::invalid_event(field, &reason),
            AppendError::EventTooLarge { size, limit } => Problem::too_large(
                "max_event_bytes",
                limit,
                format!("an event encodes to {size} bytes, over the limit of {limit} bytes"),
            )
            .with("size", size),
            AppendError::QueueFull => Problem::unavailable(
                "queue-full",
                "the writer's queue is full: retry after the time in Retry-After",
                1,
            ),
            AppendError::Closed => Problem::unavailable(
                "shutting-down",
                "the server is stopping and accepts no more writes",
                5,
            ),
            // The log opened on a full disk and cannot start its segment yet: nothing was
            // written, and an operator freeing space (retention, archive) makes it work again.
            e @ AppendError::StorageFull { .. } => {
                Problem::unavailable("storage-full", e.to_string(), 30)
            }
            e @ AppendError::Poisoned { .. } => Problem::internal(e.to_string()),
            // The log protects personal data and the server cannot encrypt it (no master key,
            // or a damaged key store): an operator's problem, named in the message.
            e @ AppendError::Privacy(_) => Problem::internal(e.to_string()),
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidCursor { reason } => Problem::bad_request(
                "bad-cursor",
                format!(
                    "the cursor cannot be used: {reason} (pass back the cursor of the previous \
                     page with the same filters and order)"
                ),
            )
            .with("parameter", "cursor"),
            Error::NotFound { seq, first, end } => {
                let held = if end > first {
                    format!("the log holds #{first} to #{}", end - 1)
                } else {
                    "the log holds no records".to_string()
                };
                Problem::not_found(format!("no record #{seq}: {held}"))
            }
            Error::InvalidEvent { field, reason } => Problem::invalid_event(field, &reason),
            Error::EventTooLarge { size, limit } => {
                Problem::from(AppendError::EventTooLarge { size, limit })
            }
            Error::QueueFull => Problem::from(AppendError::QueueFull),
            Error::Closed => Problem::from(AppendError::Closed),
            Error::StorageFull { cause } => Problem::from(AppendError::StorageFull { cause }),
            e => Problem::internal(e.to_string()),
        }
    }
}
