//! `GET /console/events/{seq}`: one record, every field, its before/after side by side with
//! the changed fields marked, links to the actor's activity and the entity's history, and
//! its inclusion proof, which `assets/record.js` fetches from
//! `GET /console/events/{seq}/proof.json` and checks in the browser (`assets/proof.js`).
//!
//! Proofs: the JSON API gives them to auditors only; the console gives a session the proof
//! of a record it may see (a viewer link is a reader of one tenant), since the proof holds
//! only that record and hashes, and "can you prove it?" is the console's question.

use super::events::{actor_href, entity_href, field, outcome_mark, severity_badge, time};
use super::html::Html;
use super::layout::{Nav, error_page, render};
use super::session::Viewer;
use crate::error::Problem;
use crate::filters::Params;
use crate::routes::SeqPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The record through the API's handler (tenant rules, the `audit.read` event).
async fn fetch(state: &AppState, viewer: &Viewer, seq: u64) -> Result<Value, Problem> {
    let doc = crate::routes::events::one(
        State(state.clone()),
        viewer.caller.clone(),
        SeqPath(seq),
        Params::default(),
    )
    .await?;
    Ok(doc.0.get("record").cloned().unwrap_or(Value::Null))
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn row(h: &mut Html, label: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    h.raw("<tr><th scope=\"row\">")
        .text(label)
        .raw("</th><td><div class=\"v\">")
        .text(value)
        .raw("</div></td></tr>");
}

fn fields_table(h: &mut Html, r: &Value) {
    h.raw("<table class=\"fields\" data-testid=\"fields\"><tbody>");
    h.raw("<tr><th scope=\"row\">Recorded at</th><td>");
    time(h, field(r, "recorded_at"));
    h.raw("</td></tr>");
    if !field(r, "occurred_at").is_empty() {
        h.raw("<tr><th scope=\"row\">Occurred at</th><td>");
        time(h, field(r, "occurred_at"));
        h.raw("</td></tr>");
    }
    let actor = field(r, "actor/id");
    h.raw("<tr><th scope=\"row\">Actor</th><td>")
        .link(&actor_href(actor), actor)
        .raw(" <span class=\"muted\">(all activity)</span></td></tr>");
    row(h, "Actor kind", field(r, "actor/kind"));
    row(h, "Actor name", field(r, "actor/name"));
    row(h, "Actor e-mail", field(r, "actor/email"));
    row(h, "Action", field(r, "action"));
    h.raw("<tr><th scope=\"row\">Outcome</th><td>");
    outcome_mark(h, field(r, "outcome"));
    h.raw("</td></tr>");
    row(h, "Error message", field(r, "error_message"));
    h.raw("<tr><th scope=\"row\">Severity</th><td>");
    severity_badge(h, field(r, "severity"));
    h.raw("</td></tr>");
    let (kind, id) = (field(r, "entity/type"), field(r, "entity/id"));
    if !kind.is_empty() {
        h.raw("<tr><th scope=\"row\">Entity</th><td><div class=\"v\">")
            .link(&entity_href(kind, id), &format!("{kind} {id}"))
            .raw(" <span class=\"muted\">(full history)</span></div></td></tr>");
        row(h, "Entity name", field(r, "entity/name"));
    }
    for (label, key) in [
        ("Tenant", "tenant"),
        ("IP address", "ip"),
        ("User agent", "user_agent"),
        ("Session", "session_id"),
        ("Request", "request_id"),
        ("Source", "source"),
    ] {
        row(h, label, field(r, key));
    }
    for (label, key) in [("Changed fields", "changed_fields"), ("Labels", "labels")] {
        let items: Vec<&str> = r
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !items.is_empty() {
            h.raw("<tr><th scope=\"row\">").text(label).raw("</th><td>");
            for i in items {
                h.raw("<span class=\"chip\">").text(i).raw("</span> ");
            }
            h.raw("</td></tr>");
        }
    }
    if let Some(m) = r.get("metadata") {
        h.raw("<tr><th scope=\"row\">Metadata</th><td><pre>")
            .text(&json_text(m))
            .raw("</pre></td></tr>");
    }
    h.raw("</tbody></table>");
}

/// How one field changed between before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Same,
    Changed,
    Added,
    Removed,
}

/// The keys of `before`, then those only in `after` (each in the map's order), with their change.
fn diff_rows<'v>(
    before: &'v serde_json::Map<String, Value>,
    after: &'v serde_json::Map<String, Value>,
) -> Vec<(&'v str, Option<&'v Value>, Option<&'v Value>, Change)> {
    let mut keys: Vec<&str> = before.keys().map(String::as_str).collect();
    keys.extend(
        after
            .keys()
            .map(String::as_str)
            .filter(|k| !before.contains_key(*k)),
    );
    keys.into_iter()
        .map(|k| {
            let (b, a) = (before.get(k), after.get(k));
            let change = match (b, a) {
                (Some(b), Some(a)) if b == a => Change::Same,
                (Some(_), Some(_)) => Change::Changed,
                (None, _) => Change::Added,
                (_, None) => Change::Removed,
            };
            (k, b, a, change)
        })
        .collect()
}

fn diff(h: &mut Html, r: &Value) {
    let (before, after) = (r.get("before"), r.get("after"));
    if before.is_none() && after.is_none() {
        return;
    }
    h.raw("<section aria-labelledby=\"diff-h\"><h2 id=\"diff-h\">Before and after</h2>");
    match (
        before.and_then(Value::as_object),
        after.and_then(Value::as_object),
    ) {
        (Some(b), Some(a)) => {
            h.raw(
                "<table class=\"diff\" data-testid=\"diff\"><thead><tr><th scope=\"col\">Field</th>\
                   <th scope=\"col\">Before</th><th scope=\"col\">After</th></tr></thead><tbody>",
            );
            for (key, b, a, change) in diff_rows(b, a) {
                let (class, note) = match change {
                    Change::Same => ("same", ""),
                    Change::Changed => ("changed", "changed"),
                    Change::Added => ("added", "added"),
                    Change::Removed => ("removed", "removed"),
                };
                h.raw("<tr class=\"")
                    .text(class)
                    .raw("\"><th scope=\"row\">")
                    .text(key);
                if !note.is_empty() {
                    h.raw(" <span class=\"change-note\">")
                        .text(note)
                        .raw("</span>");
                }
                h.raw("</th><td class=\"before\"><pre>")
                    .text(&b.map(json_text).unwrap_or_default())
                    .raw("</pre></td><td class=\"after\"><pre>")
                    .text(&a.map(json_text).unwrap_or_default())
                    .raw("</pre></td></tr>");
            }
            h.raw("</tbody></table>");
        }
        _ => {
            h.raw("<div class=\"diff-whole\" data-testid=\"diff\"><div><h3>Before</h3><pre>")
                .text(&before.map(json_text).unwrap_or_else(|| "(none)".into()))
                .raw("</pre></div><div><h3>After</h3><pre>")
                .text(&after.map(json_text).unwrap_or_else(|| "(none)".into()))
                .raw("</pre></div></div>");
        }
    }
    h.raw("</section>");
}

/// `GET /console/events/{seq}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    SeqPath(seq): SeqPath,
) -> Response {
    let r = match fetch(&state, &viewer, seq).await {
        Ok(r) => r,
        Err(p) => return error_page(p.status, Some(&viewer.caller), &p.detail),
    };
    let title = format!("#{seq} {}", field(&r, "action"));
    let mut b = Html::new();
    b.raw("<p class=\"crumbs\"><a href=\"/console/events\">Events</a> › record</p><h1>")
        .text(&title)
        .raw("</h1><div class=\"record\"><section aria-labelledby=\"fields-h\"><h2 id=\"fields-h\">Every field</h2>");
    fields_table(&mut b, &r);
    b.raw("</section><section class=\"proof\" aria-labelledby=\"proof-h\"><h2 id=\"proof-h\">Proof of inclusion</h2>\
           <p id=\"proof-status\" class=\"proof-status\" data-state=\"checking\" role=\"status\" aria-live=\"polite\" data-testid=\"proof-status\"")
        .attr("data-proof-url", &format!("/console/events/{seq}/proof.json"));
    // The server's checkpoint key, whose signature record.js checks (ed25519.js); compare it
    // with the key your organisation publishes.
    if let Some(signer) = state.signer() {
        b.attr("data-vkey", &signer.key().verifier().to_text());
    }
    b.raw(">Checking the proof in your browser…</p><dl id=\"proof-details\" class=\"proof-details\"></dl><p>")
        .link(&format!("/console/events/{seq}/proof.json"), "Download the proof (JSON)")
        .raw(" for <code>auditlog verify-proof</code>.</p></section></div>");
    diff(&mut b, &r);
    render(&title, Nav::Record, Some(&viewer.caller), b, &["record.js"])
}

/// `GET /console/events/{seq}/proof.json`: the record's inclusion proof (the `auditlog
/// prove` document) against the newest signed checkpoint covering it, else the current tree.
pub async fn proof(
    State(state): State<AppState>,
    viewer: Viewer,
    SeqPath(seq): SeqPath,
) -> Result<Response, Problem> {
    fetch(&state, &viewer, seq).await?;
    state.metrics().proofs.inc();
    let doc = state
        .blocking(move |log| Ok(log.prove_inclusion(seq, None)?))
        .await?;
    let mut r = Json(doc).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"proof-{seq}.json\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_marks_changed_added_and_removed_fields() {
        let b = json!({"status": "open", "total": 10, "note": "x"});
        let a = json!({"status": "shipped", "total": 10, "carrier": "dhl"});
        let rows = diff_rows(
            b.as_object().expect("object"),
            a.as_object().expect("object"),
        );
        let changes: Vec<(&str, Change)> = rows.iter().map(|r| (r.0, r.3)).collect();
        // Keys of `before` in the map's order (serde_json sorts them), then new ones.
        assert_eq!(
            changes,
            [
                ("note", Change::Removed),
                ("status", Change::Changed),
                ("total", Change::Same),
                ("carrier", Change::Added)
            ]
        );
    }
}
