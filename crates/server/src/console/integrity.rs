//! `GET /console/integrity`: the log's tree head (size, root, the records still held) for
//! every session, and its newest signed checkpoints with who signed them for auditors and
//! admins (as `GET /v1/checkpoint` is theirs). Segments and a verification run from the
//! console are not here yet (`auditlog verify` does both).

use super::html::Html;
use super::layout::{Nav, error_page, render};
use super::session::Viewer;
use crate::state::{AppState, read_event};
use auditlog::checkpoint::store::read_notes;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

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
        .num(head.size as f64)
        .raw(" records</td></tr><tr><th scope=\"row\">Root</th><td><code>")
        .text(&auditlog_root_hex(&head.root))
        .raw("</code></td></tr><tr><th scope=\"row\">Records held</th><td>");
    if end > first {
        b.text(&format!("#{first} to #{}", end - 1));
    } else {
        b.raw("none");
    }
    b.raw("</td></tr></tbody></table><section aria-labelledby=\"cp-h\"><h2 id=\"cp-h\">Signed checkpoints</h2>");
    if viewer.caller.require_auditor().is_err() {
        b.raw("<p class=\"help\">Checkpoints are shown to auditors and admins.</p></section>");
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
    render("Integrity", Nav::Integrity, Some(&viewer.caller), b, &[])
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
