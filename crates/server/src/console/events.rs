//! `GET /console/events`: the filter bar and the results table, newest first, with cursor
//! pagination both ways; also an actor's activity (`?actor=`) and an entity's history
//! (`?entity_type=&entity_id=`). `GET /console/export`: the current filter as CSV or JSONL.
//!
//! The page calls the JSON API's own handler (`GET /v1/events`, [`routes::events::list`])
//! with the session's caller, so filter parsing, tenant scoping, cursors and the `audit.read`
//! event are the API's. The URL holds the filters (shareable) plus console-only parameters:
//! `range` (`1h`, `24h`, `7d`, `custom`; none: all time), `at` (the end of a relative range,
//! fixed on the first page so the cursors of later pages stay valid), `cursor`, and `prev`
//! (the cursors of the pages before, so "Newer" can go back).
//!
//! [`routes::events::list`]: crate::routes::events::list

use super::html::{Html, query_string};
use super::layout::{Nav, error_page, render};
use super::session::Viewer;
use crate::error::Problem;
use crate::filters::{FILTER_PARAMS, Params};
use crate::state::AppState;
use auditlog::{Outcome, Severity, Timestamp};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Records per page unless `limit` says otherwise (1 to 200).
const PAGE: usize = 50;
/// Action suggestions offered at most.
const MAX_SUGGESTIONS: usize = 500;
/// Most earlier cursors kept in `prev` (beyond, "Newer" returns to the first page).
const MAX_PREV: usize = 40;
/// The relative time ranges of the filter bar: (value, label, seconds).
const RANGES: [(&str, &str, i64); 3] = [
    ("1h", "Last hour", 3600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
];

/// The request's parameters, split into the API's filters and the console's own.
#[derive(Debug, Clone, Default)]
pub(super) struct View {
    /// Filters for the API (non-empty values; `since`/`until` resolved from `range`).
    pub filters: Vec<(String, String)>,
    /// What the filter bar shows (as given).
    pub shown: Vec<(String, String)>,
    pub range: String,
    pub at: Option<String>,
    pub cursor: Option<String>,
    pub prev: Vec<String>,
    pub limit: usize,
}

impl View {
    pub fn shown(&self, name: &str) -> &str {
        self.shown
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn filter(&self, name: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the request. An unknown parameter is an error, as in the API.
    pub fn read(params: &Params) -> Result<View, String> {
        let mut view = View {
            limit: PAGE,
            ..View::default()
        };
        for (k, v) in &params.0 {
            let v = v.trim();
            match k.as_str() {
                "range" => view.range = v.to_string(),
                "at" if !v.is_empty() => view.at = Some(v.to_string()),
                "cursor" if !v.is_empty() => view.cursor = Some(v.to_string()),
                "prev" if !v.is_empty() => {
                    view.prev = v.split(',').map(str::to_string).collect();
                }
                "limit" if !v.is_empty() => {
                    view.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=200).contains(n))
                        .ok_or_else(|| format!("`limit={v}`: give a number from 1 to 200"))?;
                }
                "at" | "cursor" | "prev" | "limit" => {}
                k if FILTER_PARAMS.contains(&k) => {
                    view.shown.push((k.to_string(), v.to_string()));
                    let relative = RANGES.iter().any(|r| r.0 == view_range(params));
                    if !v.is_empty() && !(relative && (k == "since" || k == "until")) {
                        view.filters.push((k.to_string(), v.to_string()));
                    }
                }
                other => return Err(format!("unknown parameter `{other}`")),
            }
        }
        if let Some((_, _, secs)) = RANGES.iter().find(|r| r.0 == view.range) {
            let at = match &view.at {
                Some(at) => Timestamp::parse_rfc3339(at)
                    .map_err(|e| format!("`at={at}`: {}", e.reason()))?,
                None => Timestamp::now(),
            };
            view.at = Some(at.to_rfc3339());
            let since = Timestamp::from_nanos(at.as_nanos() - secs * 1_000_000_000);
            view.filters.push(("since".into(), since.to_rfc3339()));
            view.filters.push(("until".into(), at.to_rfc3339()));
        }
        Ok(view)
    }

    /// The URL parameters of this view's filters (what a shared link needs).
    pub fn link_params(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        if !self.range.is_empty() {
            out.push(("range", &self.range));
        }
        if let Some(at) = &self.at {
            out.push(("at", at));
        }
        for (k, v) in &self.shown {
            if !v.is_empty() {
                out.push((k, v));
            }
        }
        out
    }

    /// The API parameters of one page of this view.
    fn api_params(&self) -> Params {
        let mut p = self.filters.clone();
        p.push(("order".into(), "newest".into()));
        p.push(("limit".into(), self.limit.to_string()));
        if let Some(c) = &self.cursor {
            p.push(("cursor".into(), c.clone()));
        }
        Params(p)
    }
}

/// The filters of `view` without its time range (a live feed has no end).
pub(super) fn live_params(view: &View) -> String {
    query_string(
        view.filters
            .iter()
            .filter(|(k, _)| k != "since" && k != "until")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

fn view_range(params: &Params) -> &str {
    params
        .0
        .iter()
        .find(|(k, _)| k == "range")
        .map_or("", |(_, v)| v.trim())
}

/// A string member of a JSON object (nested with `/`: `actor/id`).
pub(super) fn field<'v>(v: &'v Value, path: &str) -> &'v str {
    path.split('/')
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `<time>` of an RFC 3339 UTC time; `assets/console.js` shows it in the viewer's zone.
pub(super) fn time(h: &mut Html, rfc3339: &str) {
    h.raw("<time class=\"ts\"")
        .attr("datetime", rfc3339)
        .attr("title", &format!("UTC: {rfc3339}"))
        .raw(">")
        .text(&rfc3339.replace('T', " ").replace('Z', " UTC"))
        .raw("</time>");
}

/// The severity badge: the name is always written (colour is not the only sign).
pub(super) fn severity_badge(h: &mut Html, severity: &str) {
    let class = match severity {
        "info" | "low" | "medium" | "high" | "critical" => severity,
        _ => "info",
    };
    h.raw("<span class=\"badge sev-")
        .text(class)
        .raw("\">")
        .text(severity)
        .raw("</span>");
}

/// The outcome with a mark that does not rely on colour.
pub(super) fn outcome_mark(h: &mut Html, outcome: &str) {
    let (class, mark) = match outcome {
        "success" => ("ok", "✓"),
        "failure" => ("bad", "✗"),
        "denied" => ("bad", "⛔"),
        "error" => ("bad", "!"),
        _ => ("", "?"),
    };
    h.raw("<span class=\"outcome ")
        .text(class)
        .raw("\"><span aria-hidden=\"true\">")
        .text(mark)
        .raw("</span> ")
        .text(outcome)
        .raw("</span>");
}

fn events_href(params: &[(&str, &str)]) -> String {
    format!("/console/events?{}", query_string(params.iter().copied()))
}

/// Link to the actor's activity.
pub(super) fn actor_href(actor: &str) -> String {
    events_href(&[("actor", actor)])
}

/// Link to the entity's history.
pub(super) fn entity_href(kind: &str, id: &str) -> String {
    events_href(&[("entity_type", kind), ("entity_id", id)])
}

fn filter_bar(h: &mut Html, view: &View, viewer: &Viewer) {
    h.raw("<form class=\"filters\" method=\"get\" action=\"/console/events\" role=\"search\" aria-label=\"Filter events\">");
    h.raw("<div class=\"field\"><label for=\"f-range\">Time</label><select id=\"f-range\" name=\"range\">");
    let mut options = vec![("", "All time")];
    options.extend(RANGES.iter().map(|r| (r.0, r.1)));
    options.push(("custom", "Custom…"));
    for (value, label) in options {
        h.raw("<option").attr("value", value);
        if view.range == value {
            h.raw(" selected");
        }
        h.raw(">").text(label).raw("</option>");
    }
    h.raw("</select></div>");
    let custom = view.range == "custom";
    h.raw("<div class=\"field custom-range\"");
    if !custom {
        h.raw(" hidden");
    }
    h.raw("><label for=\"f-since\">From (RFC 3339)</label><input id=\"f-since\" name=\"since\" placeholder=\"2026-12-01T08:00:00Z\"")
        .attr("value", view.shown("since"))
        .raw("></div><div class=\"field custom-range\"");
    if !custom {
        h.raw(" hidden");
    }
    h.raw("><label for=\"f-until\">To</label><input id=\"f-until\" name=\"until\" placeholder=\"2026-12-02T08:00:00Z\"")
        .attr("value", view.shown("until"))
        .raw("></div>");
    for (name, label) in [
        ("actor", "Actor"),
        ("action", "Action"),
        ("entity_type", "Entity type"),
        ("entity_id", "Entity id"),
    ] {
        text_input(h, name, label, view.shown(name));
    }
    match viewer.caller.read_scope() {
        Some([one]) => {
            h.raw("<div class=\"field\"><span class=\"label\">Tenant</span><span class=\"fixed\">")
                .text(one)
                .raw("</span></div>");
        }
        _ => text_input(h, "tenant", "Tenant", view.shown("tenant")),
    }
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    select(
        h,
        "severity",
        "Severity",
        &severities,
        view.shown("severity"),
    );
    let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    select(h, "outcome", "Outcome", &outcomes, view.shown("outcome"));
    text_input(h, "label", "Label", view.shown("label"));
    text_input(h, "text", "Text", view.shown("text"));
    h.raw("<div class=\"actions\"><button type=\"submit\">Apply</button> <a class=\"button secondary\" href=\"/console/events\">Reset</a></div></form>");
}

fn text_input(h: &mut Html, name: &'static str, label: &'static str, value: &str) {
    h.raw("<div class=\"field\"><label")
        .attr("for", &format!("f-{name}"))
        .raw(">")
        .text(label)
        .raw("</label><input")
        .attr("id", &format!("f-{name}"))
        .attr("name", name)
        .attr("value", value);
    if name == "action" {
        // Suggestions: the <datalist> the page writes after its results (`action_list`).
        h.raw(" list=\"actions-list\" autocomplete=\"off\"");
    }
    h.raw("></div>");
}

/// The `<datalist>` of action suggestions: for an unscoped session the distinct actions the
/// log's segment summaries list (no records read); for a tenant-scoped one only the actions
/// of the records it was just shown, since summaries cover every tenant.
fn action_list(h: &mut Html, actions: &[String]) {
    h.raw("<datalist id=\"actions-list\" data-testid=\"action-suggestions\">");
    for a in actions {
        h.raw("<option").attr("value", a).raw("></option>");
    }
    h.raw("</datalist>");
}

fn select(h: &mut Html, name: &'static str, label: &'static str, values: &[&str], current: &str) {
    h.raw("<div class=\"field\"><label")
        .attr("for", &format!("f-{name}"))
        .raw(">")
        .text(label)
        .raw("</label><select")
        .attr("id", &format!("f-{name}"))
        .attr("name", name)
        .raw("><option value=\"\">Any</option>");
    for v in values {
        h.raw("<option").attr("value", v);
        if *v == current {
            h.raw(" selected");
        }
        h.raw(">").text(v).raw("</option>");
    }
    h.raw("</select></div>");
}

fn heading(view: &View) -> String {
    let actor = view.filter("actor");
    let entity = (view.filter("entity_type"), view.filter("entity_id"));
    match (actor, entity) {
        (Some(a), (None, None)) => format!("Activity of {a}"),
        (None, (Some(t), Some(i))) => format!("History of {t} {i}"),
        _ => "Events".to_string(),
    }
}

fn table(h: &mut Html, records: &[Value]) {
    if records.is_empty() {
        h.raw("<p class=\"empty\" data-testid=\"no-results\">No event matches these filters.</p>");
        return;
    }
    h.raw("<div class=\"table-wrap\"><table class=\"events\" data-testid=\"events\"><caption class=\"sr-only\">Matching events, newest first</caption><thead><tr>\
           <th scope=\"col\">#</th><th scope=\"col\">Time</th><th scope=\"col\">Actor</th>\
           <th scope=\"col\">Action</th><th scope=\"col\">Entity</th><th scope=\"col\">Tenant</th>\
           <th scope=\"col\">Outcome</th><th scope=\"col\">Severity</th></tr></thead><tbody>");
    for r in records {
        let seq = r.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let seq_text = seq.to_string();
        h.raw("<tr><td class=\"seq\">")
            .link(&format!("/console/events/{seq}"), &seq_text)
            .raw("</td><td>");
        time(h, field(r, "recorded_at"));
        let actor = field(r, "actor/id");
        h.raw("</td><td class=\"actor\">")
            .link(&actor_href(actor), actor);
        let name = field(r, "actor/name");
        if !name.is_empty() {
            h.raw(" <span class=\"muted\">").text(name).raw("</span>");
        }
        h.raw("</td><td class=\"action\">")
            .link(&format!("/console/events/{seq}"), field(r, "action"))
            .raw("</td><td class=\"entity\">");
        let (kind, id) = (field(r, "entity/type"), field(r, "entity/id"));
        if !kind.is_empty() {
            h.link(&entity_href(kind, id), &format!("{kind} {id}"));
        }
        h.raw("</td><td>").text(field(r, "tenant")).raw("</td><td>");
        outcome_mark(h, field(r, "outcome"));
        h.raw("</td><td>");
        severity_badge(h, field(r, "severity"));
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
}

fn pager(h: &mut Html, view: &View, cursor: &str, has_more: bool) {
    let base = view.link_params();
    let limit = view.limit.to_string();
    let with = |extra: Vec<(&str, &str)>| {
        let mut p = base.clone();
        if view.limit != PAGE {
            p.push(("limit", &limit));
        }
        p.extend(extra);
        events_href(&p)
    };
    h.raw("<nav class=\"pager\" aria-label=\"Pages\">");
    if view.cursor.is_some() {
        let mut prev = view.prev.clone();
        let back = prev.pop().filter(|c| c != "first");
        let prev_text = prev.join(",");
        let mut extra = Vec::new();
        if let Some(c) = &back {
            extra.push(("cursor", c.as_str()));
        }
        if !prev_text.is_empty() {
            extra.push(("prev", prev_text.as_str()));
        }
        h.raw("<a class=\"button secondary\" rel=\"prev\" data-testid=\"newer\"")
            .attr("href", &with(extra))
            .raw(">← Newer</a>");
    }
    if has_more {
        let mut prev = view.prev.clone();
        prev.push(view.cursor.clone().unwrap_or_else(|| "first".into()));
        if prev.len() > MAX_PREV {
            prev.drain(..prev.len() - MAX_PREV);
            prev[0] = "first".into();
        }
        let prev_text = prev.join(",");
        h.raw("<a class=\"button secondary\" rel=\"next\" data-testid=\"older\"")
            .attr(
                "href",
                &with(vec![("cursor", cursor), ("prev", &prev_text)]),
            )
            .raw(">Older →</a>");
    }
    h.raw("</nav>");
}

/// `GET /console/events`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, params: Params) -> Response {
    let view = match View::read(&params) {
        Ok(v) => v,
        Err(m) => {
            return error_page(
                axum::http::StatusCode::BAD_REQUEST,
                Some(&viewer.caller),
                &m,
            );
        }
    };
    let known = match viewer.caller.read_scope() {
        None => state
            .blocking(|log| Ok(log.known_actions(MAX_SUGGESTIONS)?))
            .await
            .unwrap_or_default(),
        Some(_) => Vec::new(),
    };
    let answer =
        crate::routes::events::list(State(state), viewer.caller.clone(), view.api_params()).await;
    let title = heading(&view);
    let mut b = Html::new();
    b.raw("<h1>").text(&title).raw("</h1>");
    filter_bar(&mut b, &view, &viewer);
    match answer {
        Err(p) => {
            b.raw("<p class=\"problem\" role=\"alert\" data-testid=\"problem\">")
                .text(&p.detail)
                .raw("</p>");
        }
        Ok(doc) => {
            let doc = doc.0;
            let records = doc
                .get("records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let export = query_string(view.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let sep = if export.is_empty() { "" } else { "&" };
            b.raw("<div class=\"toolbar\"><span class=\"count\" data-testid=\"count\">")
                .num(records.len() as f64)
                .raw(" shown</span><span class=\"export\">Export this filter: ")
                .link(&format!("/console/export?format=csv{sep}{export}"), "CSV")
                .raw(" · ")
                .link(
                    &format!("/console/export?format=jsonl{sep}{export}"),
                    "JSONL",
                )
                .raw(" · ")
                .link(
                    &format!("/console/live?{}", live_params(&view)),
                    "Live feed of this filter",
                )
                .raw("</span></div>");
            table(&mut b, &records);
            if viewer.caller.read_scope().is_some() {
                let shown: std::collections::BTreeSet<String> = records
                    .iter()
                    .map(|r| field(r, "action").to_string())
                    .filter(|a| !a.is_empty())
                    .collect();
                action_list(&mut b, &shown.into_iter().collect::<Vec<_>>());
            } else {
                action_list(&mut b, &known);
            }
            let cursor = field(&doc, "cursor").to_string();
            let has_more = doc
                .get("has_more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            pager(&mut b, &view, &cursor, has_more);
        }
    }
    render(&title, Nav::Events, Some(&viewer.caller), b, &[])
}

/// `GET /console/export?format=csv|jsonl&<filters>`: the API's export with the session's
/// caller, as a download.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Params,
) -> Result<Response, Problem> {
    let csv = params.get("format")? == Some("csv");
    let mut response = crate::routes::read::export(State(state), viewer.caller, params)
        .await?
        .into_response();
    let name = if csv { "events.csv" } else { "events.jsonl" };
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
