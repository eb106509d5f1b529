//! Reading events from a request body (one JSON event, a JSON array, or NDJSON), checking
//! them before anything is queued, and the acknowledgement document.
//!
//! A body is either accepted whole or refused whole: every event is parsed and validated
//! against the log's limits first, and the batch then goes to the engine as one request
//! (`try_append_batch`), which writes all of it or none. So an error never leaves part of a
//! body in the log.

use crate::auth::Caller;
use crate::error::Problem;
use crate::state::{AppState, Limits};
use auditlog::{Event, Receipt};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// How a body holds its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One JSON event or a JSON array of events (`application/json`).
    Json,
    /// One JSON event per line (`application/x-ndjson`); blank lines are skipped.
    Ndjson,
}

/// Where an event was in the body, for messages.
#[derive(Debug, Clone, Copy)]
enum Place {
    Only,
    Index(usize),
    Line(usize),
}

impl Place {
    fn describe(self) -> String {
        match self {
            Place::Only => "the event".into(),
            Place::Index(i) => format!("event [{i}] of the array"),
            Place::Line(n) => format!("line {n}"),
        }
    }

    fn mark(self, p: Problem) -> Problem {
        match self {
            Place::Only => p,
            Place::Index(i) => p.with("index", i),
            Place::Line(n) => p.with("line", n),
        }
    }
}

/// The events of `body`, parsed and validated; nothing is appended.
pub fn parse_events(body: &[u8], shape: Shape, limits: &Limits) -> Result<Vec<Event>, Problem> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Problem::bad_request(
            "malformed-json",
            format!("the body is not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let mut events = Vec::new();
    let mut add = |event: Event, place: Place| -> Result<(), Problem> {
        if events.len() == limits.max_batch_events {
            return Err(too_many(limits));
        }
        if let Err(e) = event.validate(&limits.event) {
            let p = match auditlog::Error::from(e) {
                auditlog::Error::InvalidEvent { field, reason } => {
                    Problem::invalid_event(field, &reason)
                }
                e => Problem::from(e),
            };
            let detail = format!("{}: {}", place.describe(), p.detail);
            return Err(place.mark(Problem { detail, ..p }));
        }
        events.push(event);
        Ok(())
    };
    match shape {
        Shape::Ndjson => {
            for (i, line) in text.split('\n').enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let place = Place::Line(i + 1);
                add(parse_one(line, place)?, place)?;
            }
        }
        Shape::Json if text.trim_start().starts_with('[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
                Problem::bad_request(
                    "malformed-json",
                    format!("the body is not a JSON array of events: {e}"),
                )
                .with("line", e.line())
                .with("column", e.column())
            })?;
            if items.len() > limits.max_batch_events {
                return Err(too_many(limits));
            }
            for (i, item) in items.into_iter().enumerate() {
                let place = Place::Index(i);
                add(parse_one(item.get(), place)?, place)?;
            }
        }
        Shape::Json => add(parse_one(text, Place::Only)?, Place::Only)?,
    }
    if events.is_empty() {
        return Err(Problem::bad_request(
            "no-events",
            "the body holds no events: send one JSON event, an array, or NDJSON lines",
        ));
    }
    Ok(events)
}

fn too_many(limits: &Limits) -> Problem {
    Problem::too_large(
        "max_batch_events",
        limits.max_batch_events,
        format!(
            "a request may carry at most {} events: split the batch",
            limits.max_batch_events
        ),
    )
}

/// One event from JSON text: malformed JSON is 400, JSON that is not an event is 422.
fn parse_one(text: &str, place: Place) -> Result<Event, Problem> {
    serde_json::from_str::<Event>(text).map_err(|e| {
        let p = match e.classify() {
            serde_json::error::Category::Data => Problem::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-event",
                format!("{} is not an event: {e}", place.describe()),
            ),
            _ => Problem::bad_request(
                "malformed-json",
                format!("{} is not valid JSON: {e}", place.describe()),
            ),
        };
        let p = place.mark(p);
        match place {
            // The column is within the line; a line number from serde would be 1.
            Place::Line(_) => p.with("column", e.column()),
            _ => p.with("column", e.column()).with("json_line", e.line()),
        }
    })
}

/// Applies the writer's tenant rule: an event must name one of its tenants; a writer with
/// exactly one tenant has it filled in when the event names none.
pub fn scope_to_writer(events: &mut [Event], caller: &Caller) -> Result<(), Problem> {
    if caller.tenants.is_empty() {
        return Ok(());
    }
    for (i, event) in events.iter_mut().enumerate() {
        if event.tenant.is_none()
            && let [only] = caller.tenants.as_slice()
        {
            event.tenant = Some(only.clone());
        }
        if !caller.may_write(event.tenant.as_deref()) {
            return Err(Problem::forbidden(format!(
                "event [{i}] is for tenant {:?}: token {} may write only for {}",
                event.tenant.as_deref().unwrap_or("(none)"),
                caller.id,
                caller.tenants.join(", ")
            ))
            .with("index", i));
        }
    }
    Ok(())
}

/// One receipt as JSON: `seq`, `recorded_at`, `leaf_hash` (hex) and `tree_size`.
pub fn receipt_json(r: &Receipt) -> Value {
    json!({
        "seq": r.seq,
        "recorded_at": r.recorded_at,
        // One table-driven pass: a format! per byte was a tenth of ingest's instructions.
        "leaf_hash": auditlog::merkle::to_hex(&r.leaf_hash),
        "tree_size": r.tree_size,
    })
}

/// The acknowledgement of a batch: `{"count": n, "records": [receipt, ...]}`.
pub fn ack_json(receipts: &[Receipt]) -> Value {
    json!({
        "count": receipts.len(),
        "records": receipts.iter().map(receipt_json).collect::<Vec<_>>(),
    })
}

/// Appends a request body from `caller` (HTTP or socket): checks the role and the server's
/// state, parses and validates every event, applies the tenant rule, then appends the batch
/// and waits for its durable receipts.
pub async fn ingest(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    shape: Shape,
) -> Result<Vec<Receipt>, Problem> {
    caller.require_writer()?;
    state.refuse_if_draining()?;
    let metrics = state.metrics();
    metrics.ingest_requests.inc();
    metrics.ingest_bytes.add(body.len() as u64);
    let mut events = parse_events(body, shape, state.limits())?;
    scope_to_writer(&mut events, caller)?;
    state.append(&events).await
}
