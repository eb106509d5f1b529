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
use serde_json::Value;
use serde_json::value::RawValue;

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
                    format!(
                        "the body is not a JSON array of events: {e}{}",
                        auditlog::json_error_hint(&e)
                    ),
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
                format!(
                    "{} is not an event: {e}{}",
                    place.describe(),
                    auditlog::json_error_hint(&e)
                ),
            ),
            _ => Problem::bad_request(
                "malformed-json",
                format!(
                    "{} is not valid JSON: {e}{}",
                    place.describe(),
                    auditlog::json_error_hint(&e)
                ),
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

/// One receipt as a JSON value (see [`push_receipt`]), for documents built as values.
pub fn receipt_json(r: &Receipt) -> Value {
    let mut text = String::with_capacity(RECEIPT_TEXT);
    push_receipt(r, &mut text);
    // Only numbers, hex and a timestamp: always JSON.
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// About the length of one receipt's text, to size the acknowledgement once.
const RECEIPT_TEXT: usize = 140;

/// One receipt as JSON text: `leaf_hash` (hex), `recorded_at`, `seq` and `tree_size`, keys in
/// the order serde_json's maps print them. Written directly rather than through a `Value`: the
/// acknowledgement of an NDJSON batch built as values was a fifth of ingest's instructions.
fn push_receipt(r: &Receipt, out: &mut String) {
    out.push_str("{\"leaf_hash\":\"");
    auditlog::merkle::push_hex(&r.leaf_hash, out);
    out.push_str("\",\"recorded_at\":\"");
    r.recorded_at.push_rfc3339(out);
    out.push_str("\",\"seq\":");
    push_u64(r.seq, out);
    out.push_str(",\"tree_size\":");
    push_u64(r.tree_size, out);
    out.push('}');
}

fn push_u64(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// The acknowledgement of a batch as JSON text: `{"count": n, "records": [receipt, ...]}`,
/// plus `"status"` when given (the socket's answers carry it).
pub fn ack_text(receipts: &[Receipt], status: Option<u16>) -> String {
    let mut out = String::with_capacity(40 + receipts.len() * RECEIPT_TEXT);
    out.push_str("{\"count\":");
    push_u64(receipts.len() as u64, &mut out);
    out.push_str(",\"records\":[");
    for (i, r) in receipts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_receipt(r, &mut out);
    }
    out.push(']');
    if let Some(status) = status {
        out.push_str(",\"status\":");
        push_u64(u64::from(status), &mut out);
    }
    out.push('}');
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::Timestamp;
    use serde_json::json;

    /// What `json.dumps` writes for a Python str holding a lone surrogate: refused as
    /// malformed JSON (serde_json's category: it is not a string JSON can hold), with a
    /// detail that says what is wrong rather than serde_json's words alone.
    #[test]
    fn a_lone_surrogate_escape_is_refused_with_a_hint() {
        let one = br#"{"actor":{"id":"a\ud800"},"action":"x"}"#;
        let array = br#"[{"actor":{"id":"a\ud800"},"action":"x"}]"#;
        for (body, shape) in [
            (&one[..], Shape::Json),
            (&one[..], Shape::Ndjson),
            (&array[..], Shape::Json),
        ] {
            let p = parse_events(body, shape, &Limits::default()).expect_err("refused");
            assert_eq!(p.status, axum::http::StatusCode::BAD_REQUEST);
            assert_eq!(p.kind, "malformed-json");
            assert!(p.detail.contains("lone surrogate"), "{}", p.detail);
        }
    }

    /// The acknowledgement as the `json!` document it replaced: same keys, same values, same
    /// bytes (serde_json prints its maps' keys sorted).
    #[test]
    fn the_written_acknowledgement_is_the_value_it_replaced() {
        let receipts: Vec<Receipt> = [
            (0, 1, 0u8),
            (41, 1_700_000_000_123_456_789, 7),
            (u64::MAX - 1, i64::MAX, 255),
        ]
        .into_iter()
        .map(|(seq, nanos, byte)| Receipt {
            seq,
            recorded_at: Timestamp::from_nanos(nanos),
            leaf_hash: [byte; 32],
            tree_size: seq.wrapping_add(1),
        })
        .collect();
        let value = |r: &Receipt| {
            json!({
                "seq": r.seq,
                "recorded_at": r.recorded_at,
                "leaf_hash": auditlog::merkle::to_hex(&r.leaf_hash),
                "tree_size": r.tree_size,
            })
        };
        for n in 0..=receipts.len() {
            let batch = &receipts[..n];
            let expected =
                json!({"count": n, "records": batch.iter().map(value).collect::<Vec<_>>()});
            assert_eq!(ack_text(batch, None), expected.to_string());
            let mut with_status = expected.clone();
            with_status["status"] = json!(201);
            assert_eq!(ack_text(batch, Some(201)), with_status.to_string());
        }
        for r in &receipts {
            assert_eq!(receipt_json(r), value(r));
        }
    }
}
