//! `GET /v1/stats` (counts for dashboards) and `GET /v1/export` (every matching record,
//! streamed as JSON Lines or CSV in constant memory).

use crate::auth::Caller;
use crate::error::Problem;
use crate::filters::{Params, to_query};
use crate::state::{AppState, read_event};
use auditlog::query::{GroupBy, Query, TimeField};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The groupings `by` takes, and the default set.
const GROUPINGS: [&str; 6] = ["action", "actor", "severity", "outcome", "hour", "day"];
/// The largest `top` accepted (and declared in /openapi.json).
const MAX_TOP: usize = 100_000;
const DEFAULT_BY: &str = "action,actor,severity,outcome";

/// Counts of matching records, grouped (`by`: a comma-separated list of action, actor,
/// severity, outcome, hour, day; default `action,actor,severity,outcome`). Hours and days
/// bucket `time_field`. `top` keeps the largest groups of each (default 20, 0: all).
#[utoipa::path(get, path = "/v1/stats", tag = "read",
    params(
        ("by" = Option<String>, Query, description = "Comma-separated: action, actor, severity, outcome, hour, day"),
        ("top" = Option<u32>, Query, minimum = 0, maximum = 100000, description = "Largest groups kept per grouping (default 20; 0: all; at most 100000)"),
        ("since" = Option<String>, Query, description = "And every filter of GET /v1/events"),
    ),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "{total, groups: {by: [{key, count}]}}", body = Value),
    ),
    security(("bearer" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, Problem> {
    caller.require_reader()?;
    let query = to_query(&params, &["by", "top"], &caller)?;
    let time = match params.get("time_field")? {
        Some("occurred") => TimeField::Occurred,
        _ => TimeField::Recorded,
    };
    let mut groupings = Vec::new();
    for name in params.get("by")?.unwrap_or(DEFAULT_BY).split(',') {
        let by = match name.trim() {
            "action" => GroupBy::Action,
            "actor" => GroupBy::Actor,
            "severity" => GroupBy::Severity,
            "outcome" => GroupBy::Outcome,
            "hour" => GroupBy::Hour(time),
            "day" => GroupBy::Day(time),
            other => {
                return Err(Problem::bad_request(
                    "bad-parameter",
                    format!("`by={other}`: group by {}", GROUPINGS.join(", ")),
                )
                .with("parameter", "by"));
            }
        };
        groupings.push((name.trim().to_string(), by));
    }
    let top = params
        .parsed("top", |v| match v.parse::<usize>() {
            // The bound is the one /openapi.json declares: a client that reads the document
            // and sends more learns it here rather than having it clamped.
            Ok(n) if n <= MAX_TOP => Ok(n),
            _ => Err(format!("give a number from 0 to {MAX_TOP}")),
        })?
        .unwrap_or(20);
    state.metrics().queries.inc();
    let q = query.clone();
    let (total, groups) = state
        .blocking(move |log| {
            let total = log.count(&q)?;
            let mut groups = Map::new();
            for (name, by) in groupings {
                let agg = log.aggregate(&q, by)?;
                let mut rows = agg.groups;
                // Time buckets keep their order; the others show the largest first.
                if !matches!(by, GroupBy::Hour(_) | GroupBy::Day(_)) {
                    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                }
                if top > 0 {
                    rows.truncate(top);
                }
                let rows: Vec<Value> = rows
                    .into_iter()
                    .map(|(key, count)| json!({"key": key.to_string(), "count": count}))
                    .collect();
                groups.insert(name, Value::Array(rows));
            }
            Ok((total, groups))
        })
        .await?;
    state
        .audit_read(read_event(
            &caller,
            "audit.read",
            "GET /v1/stats",
            params.to_json(),
            total,
        ))
        .await?;
    Ok(Json(json!({"total": total, "groups": groups})))
}

/// Records per page read by an export, and bytes per chunk sent.
const EXPORT_PAGE: usize = 1_000;
const EXPORT_CHUNK: usize = 64 << 10;

/// Every matching record (as of the request: records appended during the export are left
/// for the next one), streamed as JSON Lines (`format=jsonl`, the default; the shape
/// `auditlog import` reads) or CSV (`format=csv`, the columns of `auditlog export`). The
/// `audit.export` event naming the count is appended when the export ends.
#[utoipa::path(get, path = "/v1/export", tag = "read",
    params(
        ("format" = Option<String>, Query, description = "jsonl (default) or csv"),
        ("since" = Option<String>, Query, description = "And every filter of GET /v1/events"),
    ),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "The records, streamed", content_type = "application/x-ndjson"),
    ),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, Problem> {
    caller.require_reader()?;
    let query = to_query(&params, &["format"], &caller)?;
    let csv = match params.get("format")? {
        None | Some("jsonl") | Some("ndjson") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                format!("`format={other}`: give jsonl or csv"),
            )
            .with("parameter", "format"));
        }
    };
    state.metrics().exports.inc();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let writer_state = state.clone();
    let filters = params.to_json();
    tokio::task::spawn_blocking(move || {
        let sent = write_export(&writer_state, &caller, query, csv, &tx);
        // The audit event names what was actually sent (a client that hangs up early
        // has seen fewer records).
        let event = read_event(&caller, "audit.export", "GET /v1/export", filters, sent);
        let event = writer_state.mark_reveal(&caller, event);
        if let Ok(handle) = writer_state.log().append(&event) {
            let _ = handle.wait();
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let media = match csv {
        true => "text/csv; charset=utf-8",
        false => "application/x-ndjson",
    };
    Ok(([(header::CONTENT_TYPE, media)], body).into_response())
}

/// Pages through `query` as of now, sending chunks; returns how many records were sent.
fn write_export(
    state: &AppState,
    caller: &Caller,
    query: Query,
    csv: bool,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> u64 {
    let log = state.log();
    let end = log.end_seq();
    let mut buf = Vec::with_capacity(EXPORT_CHUNK * 2);
    if csv {
        buf.extend_from_slice(auditlog::csv::CSV_COLUMNS.join(",").as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    let mut sent = 0u64;
    let mut query = query.limit(EXPORT_PAGE);
    loop {
        let page = match log.query(&query) {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return sent;
            }
        };
        let mut done = !page.has_more;
        for record in page.records.iter() {
            if record.seq >= end {
                done = true;
                break;
            }
            let record = &state.present(caller, record.clone());
            let written = match csv {
                true => auditlog::csv::write_csv_row(&mut buf, record),
                false => serde_json::to_writer(&mut buf, record)
                    .map_err(std::io::Error::other)
                    .map(|()| buf.push(b'\n')),
            };
            if written.is_err() {
                return sent;
            }
            sent += 1;
            if buf.len() >= EXPORT_CHUNK {
                let chunk = Bytes::from(std::mem::take(&mut buf));
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return sent;
                }
            }
        }
        if done {
            break;
        }
        query = query.after(page.cursor);
    }
    if !buf.is_empty() {
        let _ = tx.blocking_send(Ok(Bytes::from(buf)));
    }
    sent
}
