//! `GET /v1/stream`: matching records as Server-Sent Events, live.
//!
//! Each record is one event: `id` its sequence number, `event: record`, `data` the record as
//! JSON. From the tail by default; from `?from_seq=N`, or after `Last-Event-ID` (what a
//! reconnecting EventSource sends), every committed matching record is delivered once, in
//! order (the engine's `RecordStream` remembers the next sequence number). The stream ends
//! when the server stops.

use crate::auth::Caller;
use crate::error::Problem;
use crate::filters::{Params, to_query};
use crate::state::{AppState, read_event};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

/// Matching records as they commit (Server-Sent Events).
#[utoipa::path(get, path = "/v1/stream", tag = "read",
    params(
        ("from_seq" = Option<u64>, Query, description = "Start at this sequence number (default: the tail)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number"),
        ("since" = Option<String>, Query, description = "And every filter of GET /v1/events"),
    ),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "text/event-stream: id = seq, event = record, data = the record", content_type = "text/event-stream"),
    ),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    caller.require_reader()?;
    let query = to_query(&params, &["from_seq"], &caller)?;
    let number = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| "give a sequence number".to_string())
    };
    let from_param = params.parsed("from_seq", number)?;
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| number(v).ok())
                .ok_or_else(|| {
                    Problem::bad_request(
                "bad-parameter",
                "Last-Event-ID is not a sequence number (the id of the last event received)",
            )
            .with("parameter", "Last-Event-ID")
                })?,
        ),
    };
    let log = state.log();
    // Last-Event-ID (a reconnect) wins over the from_seq the original URL carried.
    let from = match (last_id, from_param) {
        (Some(id), _) => id.saturating_add(1),
        (None, Some(n)) => n,
        (None, None) => log.end_seq(),
    };
    state.metrics().streams.inc();
    let event = read_event(
        &caller,
        "audit.read",
        "GET /v1/stream",
        json!({"filters": params.to_json(), "from_seq": from}),
        0,
    );
    state.audit_read(state.mark_reveal(&caller, event)).await?;
    let mut records = log.stream(&query, from);
    let mut stopping = state.stopping();
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let viewer = state.clone();
    let events = futures_util::stream::poll_fn(move |cx| records.poll_next(cx))
        .take_while(|r| std::future::ready(r.is_ok()))
        .map(move |r| {
            let event = match r.map(|record| viewer.present(&caller, record)) {
                Ok(record) => SseEvent::default()
                    .id(record.seq.to_string())
                    .event("record")
                    .json_data(&record)
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable record")),
                Err(_) => SseEvent::default().comment("read error"),
            };
            Ok(event)
        })
        .take_until(Box::pin(stopped));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
