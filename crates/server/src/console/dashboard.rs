//! `GET /console/dashboard`: events over time, by severity, by outcome, top actions and
//! actors, failed logins over time and recent alerts, as SVG drawn here (no script needed).
//! Each chart has its numbers written beside the bars and a table-like text alternative, so
//! it reads without colour. The counts come from one pass of the engine's `aggregate_many`
//! (plus two index-assisted ones for failed logins) and the alerts from `GET /v1/events`'s
//! handler, all with the session's caller and its tenant scope.

use super::events::{field, severity_badge, time};
use super::html::Html;
use super::layout::{Nav, render};
use super::session::Viewer;
use crate::filters::{Params, to_query};
use crate::state::{AppState, read_event};
use auditlog::Timestamp;
use auditlog::query::{GroupBy, TimeField};
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

/// (value, label, seconds, time bucket) of the dashboard's periods.
const PERIODS: [(&str, &str, i64, &str); 3] = [
    ("24h", "Last 24 hours", 86_400, "hour"),
    ("7d", "Last 7 days", 7 * 86_400, "day"),
    ("30d", "Last 30 days", 30 * 86_400, "day"),
];

fn params(pairs: &[(&str, &str)]) -> Params {
    Params(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The counts of `rows` (keyed by bucket start, RFC 3339) on every bucket of
/// `[since, now]`, zeros included, so the time axis is even.
fn fill_buckets(
    rows: &[(String, u64)],
    since: Timestamp,
    now: Timestamp,
    step_secs: i64,
) -> Vec<(String, u64)> {
    let step = step_secs * 1_000_000_000;
    let counts: Vec<(i64, u64)> = rows
        .iter()
        .filter_map(|(k, c)| Timestamp::parse_rfc3339(k).ok().map(|t| (t.as_nanos(), *c)))
        .collect();
    let mut at = since.as_nanos().div_euclid(step) * step;
    let mut out = Vec::new();
    while at <= now.as_nanos() {
        let count = counts
            .iter()
            .filter(|(t, _)| *t == at)
            .map(|(_, c)| c)
            .sum();
        out.push((Timestamp::from_nanos(at).to_rfc3339(), count));
        at += step;
    }
    out
}

/// Adds the counts of `b` to those of `a` with the same key.
fn sum_rows(mut a: Vec<(String, u64)>, b: Vec<(String, u64)>) -> Vec<(String, u64)> {
    for (k, c) in b {
        match a.iter_mut().find(|(x, _)| *x == k) {
            Some(row) => row.1 += c,
            None => a.push((k, c)),
        }
    }
    a
}

/// A horizontal bar chart: one labelled bar per row, its count written at its end.
fn bars(h: &mut Html, title: &str, rows: &[(String, u64)], testid: &str) {
    h.raw("<figure class=\"chart\"")
        .attr("data-testid", testid)
        .raw("><figcaption>")
        .text(title)
        .raw("</figcaption>");
    if rows.is_empty() {
        h.raw("<p class=\"empty\">No events.</p></figure>");
        return;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let (row_h, label_w, bar_w) = (22.0, 150.0, 220.0);
    let height = row_h * rows.len() as f64 + 4.0;
    h.raw("<svg class=\"bars\" role=\"img\" viewBox=\"0 0 430 ")
        .num(height)
        .raw("\"><title>")
        .text(title)
        .raw("</title>");
    for (i, (key, count)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let w = (*count as f64 / max * bar_w).max(1.0);
        h.raw("<text class=\"label\" x=\"")
            .num(label_w - 6.0)
            .raw("\" y=\"")
            .num(y + 15.0)
            .raw("\" text-anchor=\"end\">")
            .text(&shorten(key, 22))
            .raw("</text><rect class=\"bar\" x=\"")
            .num(label_w)
            .raw("\" y=\"")
            .num(y + 3.0)
            .raw("\" height=\"16\" width=\"")
            .num(w)
            .raw("\"></rect><text class=\"value\" x=\"")
            .num(label_w + w + 5.0)
            .raw("\" y=\"")
            .num(y + 15.0)
            .raw("\">")
            .num(*count as f64)
            .raw("</text>");
    }
    h.raw("</svg></figure>");
}

/// Vertical bars over time buckets, with the first and last bucket named under the axis.
fn timeline(h: &mut Html, title: &str, rows: &[(String, u64)], testid: &str) {
    h.raw("<figure class=\"chart wide\"")
        .attr("data-testid", testid)
        .raw("><figcaption>")
        .text(title)
        .raw("</figcaption>");
    if rows.iter().all(|r| r.1 == 0) {
        h.raw("<p class=\"empty\">No events.</p></figure>");
        return;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let total: u64 = rows.iter().map(|r| r.1).sum();
    let (width, plot_h) = (860.0, 140.0);
    let step = width / rows.len() as f64;
    let bar = (step * 0.8).clamp(1.0, 48.0);
    h.raw("<svg class=\"timeline\" role=\"img\" viewBox=\"0 0 900 190\"><title>")
        .text(&format!(
            "{title}: {total} events, at most {max} in one bucket"
        ))
        .raw("</title><line class=\"axis\" x1=\"30\" y1=\"150\" x2=\"890\" y2=\"150\"></line>")
        .raw("<text class=\"value\" x=\"26\" y=\"16\" text-anchor=\"end\">")
        .num(max)
        .raw("</text><text class=\"value\" x=\"26\" y=\"150\" text-anchor=\"end\">0</text>");
    for (i, (key, count)) in rows.iter().enumerate() {
        let bh = *count as f64 / max * plot_h;
        h.raw("<rect class=\"bar\" x=\"")
            .num(30.0 + i as f64 * step + (step - bar) / 2.0)
            .raw("\" y=\"")
            .num(150.0 - bh)
            .raw("\" width=\"")
            .num(bar)
            .raw("\" height=\"")
            .num(bh)
            .raw("\"><title>")
            .text(&format!("{key}: {count}"))
            .raw("</title></rect>");
    }
    let first = &rows[0].0;
    let last = &rows[rows.len() - 1].0;
    h.raw("<text class=\"label\" x=\"30\" y=\"170\">")
        .text(first)
        .raw("</text><text class=\"label\" x=\"890\" y=\"170\" text-anchor=\"end\">")
        .text(last)
        .raw("</text></svg></figure>");
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The dashboard's numbers: the total, then the rows of the time bucket, severity, outcome,
/// action and actor groupings (the last two the largest 10), and failed logins per bucket.
struct Counts {
    total: u64,
    groups: Vec<Vec<(String, u64)>>,
    logins: Vec<(String, u64)>,
}

/// Every chart's counts from one pass over the period's records (the engine's
/// `aggregate_many`), plus one index-assisted pass per spelling of a failed login, instead
/// of a count and an aggregation per chart. The read is audited once, like `GET /v1/stats`.
async fn counts(
    state: &AppState,
    caller: &crate::auth::Caller,
    since: &str,
    bucket: &str,
) -> Result<Counts, crate::error::Problem> {
    caller.require_reader()?;
    let time = if bucket == "hour" {
        GroupBy::Hour(TimeField::Recorded)
    } else {
        GroupBy::Day(TimeField::Recorded)
    };
    let query = to_query(&params(&[("since", since)]), &[], caller)?;
    // Failed logins: applications name them either way.
    let failed: [&[(&str, &str)]; 2] = [
        &[
            ("since", since),
            ("action", "user.login"),
            ("outcome", "failure"),
        ],
        &[("since", since), ("action", "LOGIN_FAILED")],
    ];
    let failed = failed
        .iter()
        .map(|p| to_query(&params(p), &[], caller))
        .collect::<Result<Vec<_>, _>>()?;
    state.metrics().queries.inc();
    let by = [
        time,
        GroupBy::Severity,
        GroupBy::Outcome,
        GroupBy::Action,
        GroupBy::Actor,
    ];
    let counts = state
        .blocking(move |log| {
            let aggs = log.aggregate_many(&query, &by)?;
            let total = aggs.first().map_or(0, |a| a.total);
            let groups = aggs
                .into_iter()
                .zip(by)
                .map(|(agg, by)| {
                    let mut rows = agg.groups;
                    if !matches!(by, GroupBy::Hour(_) | GroupBy::Day(_)) {
                        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                        rows.truncate(10);
                    }
                    rows.into_iter().map(|(k, c)| (k.to_string(), c)).collect()
                })
                .collect();
            let mut logins = Vec::new();
            for q in &failed {
                let agg = log.aggregate(q, time)?;
                let rows = agg.groups.into_iter().map(|(k, c)| (k.to_string(), c));
                logins = sum_rows(logins, rows.collect());
            }
            Ok(Counts {
                total,
                groups,
                logins,
            })
        })
        .await?;
    state
        .audit_read(read_event(
            caller,
            "audit.read",
            "GET /console/dashboard",
            serde_json::json!({"since": since, "by": bucket}),
            counts.total,
        ))
        .await?;
    Ok(counts)
}

/// `GET /console/dashboard?period=24h|7d|30d`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, raw: Params) -> Response {
    let period = raw
        .get("period")
        .ok()
        .flatten()
        .unwrap_or("24h")
        .to_string();
    let (value, label, secs, bucket) = *PERIODS
        .iter()
        .find(|p| p.0 == period)
        .unwrap_or(&PERIODS[0]);
    let now = Timestamp::now();
    let since = Timestamp::from_nanos(now.as_nanos() - secs * 1_000_000_000).to_rfc3339();
    let caller = viewer.caller.clone();
    let all = counts(&state, &caller, &since, bucket).await;
    let alerts = crate::routes::events::list(
        State(state.clone()),
        caller,
        params(&[
            ("since", &since),
            ("min_severity", "high"),
            ("order", "newest"),
            ("limit", "10"),
        ]),
    )
    .await;

    let mut b = Html::new();
    b.raw("<h1>Dashboard</h1><form class=\"period\" method=\"get\" action=\"/console/dashboard\"><label for=\"period\">Period</label><select id=\"period\" name=\"period\">");
    for (v, l, _, _) in PERIODS {
        b.raw("<option").attr("value", v);
        if v == value {
            b.raw(" selected");
        }
        b.raw(">").text(l).raw("</option>");
    }
    b.raw("</select> <button type=\"submit\">Show</button></form>");
    match all {
        Err(p) => {
            b.raw("<p class=\"problem\" role=\"alert\">")
                .text(&p.detail)
                .raw("</p>");
        }
        Ok(Counts {
            total,
            groups,
            logins,
        }) => {
            b.raw("<p class=\"summary\" data-testid=\"total\"><strong>")
                .num(total as f64)
                .raw("</strong> events, ")
                .text(&label.to_lowercase())
                .raw(".</p><div class=\"charts\">");
            let step = if bucket == "hour" { 3600 } else { 86_400 };
            let since_t = Timestamp::from_nanos(now.as_nanos() - secs * 1_000_000_000);
            let series = fill_buckets(&groups[0], since_t, now, step);
            timeline(
                &mut b,
                &format!("Events per {bucket}"),
                &series,
                "chart-time",
            );
            bars(&mut b, "By severity", &groups[1], "chart-severity");
            bars(&mut b, "By outcome", &groups[2], "chart-outcome");
            bars(&mut b, "Top actions", &groups[3], "chart-action");
            bars(&mut b, "Top actors", &groups[4], "chart-actor");
            let series = fill_buckets(&logins, since_t, now, step);
            timeline(
                &mut b,
                &format!("Failed logins per {bucket}"),
                &series,
                "chart-logins",
            );
            b.raw("</div>");
        }
    }
    b.raw("<section aria-labelledby=\"alerts-h\"><h2 id=\"alerts-h\">Recent alerts (high and critical)</h2>");
    match alerts {
        Ok(doc) => {
            let records = doc
                .0
                .get("records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if records.is_empty() {
                b.raw("<p class=\"empty\">None in this period.</p>");
            } else {
                b.raw("<ul class=\"alerts\">");
                for r in &records {
                    let seq = r.get("seq").and_then(Value::as_u64).unwrap_or(0);
                    b.raw("<li>");
                    severity_badge(&mut b, field(r, "severity"));
                    b.raw(" ");
                    time(&mut b, field(r, "recorded_at"));
                    b.raw(" ")
                        .link(&format!("/console/events/{seq}"), field(r, "action"))
                        .raw(" by ")
                        .text(field(r, "actor/id"))
                        .raw("</li>");
                }
                b.raw("</ul>");
            }
        }
        Err(p) => {
            b.raw("<p class=\"problem\" role=\"alert\">")
                .text(&p.detail)
                .raw("</p>");
        }
    }
    b.raw("</section>");
    render("Dashboard", Nav::Dashboard, Some(&viewer.caller), b, &[])
}
