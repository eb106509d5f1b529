//! `GET /console/integrity`: the log's tree head (size, root, the records still held) for
//! every session, and its newest signed checkpoints with who signed them for auditors and
//! admins (as `GET /v1/checkpoint` is theirs), with the segments (seq range, size, time
//! range, active/sealed/cold, and the prefixes archived or cut by retention) and a button
//! that runs a verification (`POST /console/verify`, the session's cookie plus the Origin
//! check; its progress polled from `GET /console/verify` by integrity.js).

use super::html::Html;
use super::layout::{Nav, error_page, render};
use super::session::Viewer;
use crate::state::{AppState, read_event};
use auditlog::checkpoint::store::read_notes;
use auditlog::lifecycle::CutKind;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

/// Checkpoints listed, newest first.
const SHOWN: usize = 10;

/// One signed note's lines: (origin, size, root, other body lines, signers).
fn note_parts(note: &str) -> (String, String, String, Vec<String>, Vec<String>) {
    let (body, sigs) = note.split_once("\n\n").unwrap_or((note, ""));
    let mut lines = body.lines().map(str::to_string);
    let origin = lines.next().unwrap_or_default();
    let size = lines.next().unwrap_or_default();
    let root = lines.next().unwrap_or_default();
    let rest: Vec<String> = lines.collect();
    let signers = sigs
        .lines()
        .filter_map(|l| l.strip_prefix("\u{2014} "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    (origin, size, root, rest, signers)
}

/// `GET /console/integrity`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let log = state.log();
    let head = log.tree_head();
    let (first, end) = (log.first_seq(), log.end_seq());
    let log_id: String = log.log_id().iter().map(|b| format!("{b:02x}")).collect();
    let mut b = Html::new();
    b.raw("<h1>Integrity</h1><table class=\"fields\" data-testid=\"tree-head\"><tbody><tr><th scope=\"row\">Log id</th><td><code>")
        .text(&log_id)
        .raw("</code></td></tr><tr><th scope=\"row\">Tree size</th><td>")
        .num(end as f64)
        .raw(" records</td></tr><tr><th scope=\"row\">Root</th><td><code>");
    // A writer's head is always known; a failure would be damage found computing it.
    match &head {
        Ok(head) => b.text(&auditlog_root_hex(&head.root)),
        Err(e) => b.text(&format!("not available: {e}")),
    };
    b.raw("</code></td></tr><tr><th scope=\"row\">Records held</th><td>");
    if end > first {
        b.text(&format!("#{first} to #{}", end - 1));
    } else {
        b.raw("none");
    }
    b.raw("</td></tr></tbody></table><section aria-labelledby=\"cp-h\"><h2 id=\"cp-h\">Signed checkpoints</h2>");
    if viewer.caller.require_auditor().is_err() {
        b.raw("<p class=\"help\">Checkpoints, segments and verification runs are shown to auditors and admins.</p></section>");
        return render("Integrity", Nav::Integrity, Some(&viewer.caller), b, &[]);
    }
    let notes = state
        .blocking(|log| Ok(read_notes(log.dir()).map_err(auditlog::Error::from)?))
        .await;
    match notes {
        Err(p) => {
            b.raw("<p class=\"problem\" role=\"alert\">")
                .text(&p.detail)
                .raw("</p>");
        }
        Ok(notes) if notes.is_empty() => {
            b.raw("<p class=\"empty\">None yet: start the server with <code>--key</code> or run <code>auditlog checkpoint</code>.</p>");
        }
        Ok(notes) => {
            let read = read_event(
                &viewer.caller,
                "audit.read",
                "GET /console/integrity",
                json!({}),
                notes.len().min(SHOWN) as u64,
            );
            if let Err(p) = state.audit_read(read).await {
                return error_page(p.status, Some(&viewer.caller), &p.detail);
            }
            b.raw("<div class=\"table-wrap\"><table class=\"events\" data-testid=\"checkpoints\"><thead><tr><th scope=\"col\">Size</th><th scope=\"col\">Root (base64)</th><th scope=\"col\">Signed by</th><th scope=\"col\">Other lines</th></tr></thead><tbody>");
            for note in notes.iter().rev().take(SHOWN) {
                let (origin, size, root, rest, signers) = note_parts(note);
                b.raw("<tr><td>")
                    .text(&size)
                    .raw("</td><td><code>")
                    .text(&root)
                    .raw("</code></td><td>")
                    .text(&signers.join(", "))
                    .raw("<br><span class=\"muted\">")
                    .text(&origin)
                    .raw("</span></td><td>")
                    .text(&rest.join(" · "))
                    .raw("</td></tr>");
            }
            b.raw("</tbody></table></div>");
        }
    }
    b.raw("</section>");
    verification(&mut b, &state.verify_job().to_json());
    let cuts = state
        .blocking(|log| {
            Ok(auditlog::lifecycle::cuts::read(log.dir(), &log.log_id())
                .map(|c| c.cuts)
                .unwrap_or_default())
        })
        .await
        .unwrap_or_default();
    segments(&mut b, &log.segments(), &cuts);
    render(
        "Integrity",
        Nav::Integrity,
        Some(&viewer.caller),
        b,
        &["integrity.js"],
    )
}

/// The last verification and the button that starts one (auditors and admins only reach
/// this). integrity.js takes the form over and polls the progress; without scripts the form
/// posts and the page comes back with the job's state.
fn verification(b: &mut Html, job: &Value) {
    b.raw("<section aria-labelledby=\"verify-h\"><h2 id=\"verify-h\">Verification</h2>")
        .raw("<form method=\"post\" action=\"/console/verify\" id=\"verify-form\">")
        .raw("<button type=\"submit\" id=\"verify-run\">Run verification</button></form>")
        .raw("<p id=\"verify-status\" role=\"status\" aria-live=\"polite\" data-testid=\"verify-status\">")
        .text(&verify_summary(job))
        .raw("</p><progress id=\"verify-progress\" max=\"1\" value=\"0\" hidden></progress></section>");
}

/// One sentence on a job's state (the same words integrity.js writes).
fn verify_summary(job: &Value) -> String {
    let state = job["state"].as_str().unwrap_or("idle");
    let last = &job["last"];
    let last_text = if last.is_null() {
        "No verification has run since the server started.".to_string()
    } else if last["ok"].as_bool() == Some(true) {
        format!(
            "Last run: verified, {} records, no problems ({}).",
            last["records"],
            last["finished_at"].as_str().unwrap_or("")
        )
    } else {
        format!(
            "Last run: FAILED ({}).",
            last["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!(
                    "{} problems",
                    last["problems"].as_array().map_or(0, Vec::len)
                ))
        )
    };
    match state {
        "running" => format!("Running… {last_text}"),
        _ => last_text,
    }
}

/// The segments held, newest first, then the prefixes archived or cut by retention.
fn segments(b: &mut Html, segments: &[auditlog::SegmentInfo], cuts: &[auditlog::lifecycle::Cut]) {
    b.raw("<section aria-labelledby=\"seg-h\"><h2 id=\"seg-h\">Segments</h2><div class=\"table-wrap\"><table class=\"events\" data-testid=\"segments\"><thead><tr><th scope=\"col\">Records</th><th scope=\"col\">Count</th><th scope=\"col\">Size</th><th scope=\"col\">State</th><th scope=\"col\">Recorded</th></tr></thead><tbody>");
    for s in segments.iter().rev() {
        b.raw("<tr><td>");
        if s.end_seq > s.first_seq {
            b.text(&format!("#{} – #{}", s.first_seq, s.end_seq - 1));
        } else {
            b.text(&format!("from #{} (empty)", s.first_seq));
        }
        b.raw("</td><td>")
            .num((s.end_seq - s.first_seq) as f64)
            .raw("</td><td>")
            .text(&size_text(s.size_bytes))
            .raw("</td><td><span class=\"badge\">")
            .text(s.state.as_str())
            .raw("</span></td><td>");
        match s.recorded {
            Some((a, z)) => {
                b.text(&format!("{} – {}", a.to_rfc3339(), z.to_rfc3339()));
            }
            None => {
                b.raw("<span class=\"muted\">still written</span>");
            }
        }
        b.raw("</td></tr>");
    }
    for c in cuts.iter().rev() {
        let state = match c.kind {
            CutKind::Archive => "archived",
            CutKind::Retention => "cut by retention",
        };
        b.raw("<tr><td>");
        if c.cut_seq > c.removed_from {
            b.text(&format!("#{} – #{}", c.removed_from, c.cut_seq - 1));
        }
        b.raw("</td><td>")
            .num((c.cut_seq - c.removed_from) as f64)
            .raw("</td><td>—</td><td><span class=\"badge\">")
            .text(state)
            .raw("</span></td><td>")
            .text(&format!(
                "cut {}: {}",
                c.cut_at.to_rfc3339(),
                c.note_as_stored()
            ))
            .raw("</td></tr>");
    }
    b.raw("</tbody></table></div></section>");
}

fn size_text(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// `POST /console/verify`: starts a verification for an auditor's or admin's session, from
/// a page of this server only (Origin check; the cookie is SameSite=Strict). Scripts get the
/// job's state as JSON (202, or 409 when one is running); a plain form post is sent back to
/// the integrity page.
pub async fn start_verify(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Response {
    if !super::session::same_origin(&headers) {
        return super::session::cross_site();
    }
    if let Err(p) = viewer.caller.require_auditor() {
        return error_page(p.status, Some(&viewer.caller), &p.detail);
    }
    let job = state.verify_job();
    let started = job.start(state.log().dir().to_path_buf());
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !wants_json {
        return Redirect::to("/console/integrity").into_response();
    }
    let status = if started {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CONFLICT
    };
    (status, axum::Json(job.to_json())).into_response()
}

/// `GET /console/verify`: the job's state, progress and last report (as `GET
/// /v1/admin/verify`), with the sentence the page shows.
pub async fn verify_status(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(p) = viewer.caller.require_auditor() {
        return (p.status, axum::Json(json!({"detail": p.detail}))).into_response();
    }
    let mut job = state.verify_job().to_json();
    job["summary"] = Value::String(verify_summary(&job));
    axum::Json(job).into_response()
}

fn auditlog_root_hex(root: &[u8; 32]) -> String {
    root.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_splits_into_head_and_signers() {
        let note = "auditlog/ab\n300\nroot=\ntime 2026\n\n\u{2014} example.com/audit c2ln\n";
        let (origin, size, root, rest, signers) = note_parts(note);
        assert_eq!(
            (origin.as_str(), size.as_str(), root.as_str()),
            ("auditlog/ab", "300", "root=")
        );
        assert_eq!(rest, ["time 2026"]);
        assert_eq!(signers, ["example.com/audit"]);
    }
}
