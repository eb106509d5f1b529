//! Records as CSV, the columns the CLI's `export --format csv` and the server's
//! `GET /v1/export?format=csv` both write (one definition, so the two never differ).
//!
//! Columns, in this order ([`CSV_COLUMNS`]): `seq, recorded_at, occurred_at, actor_id,
//! actor_kind, actor_name, actor_email, action, outcome, error_message, severity, entity_type,
//! entity_id, entity_name, tenant, ip, user_agent, session_id, request_id, source, before,
//! after, changed_fields, labels, metadata`. Absent values are empty cells; `before`, `after`
//! and `metadata` hold compact JSON text, `changed_fields` and `labels` a JSON array of
//! strings. Cells are quoted (RFC 4180: `"` doubled) when they hold a comma, a quote, CR, LF,
//! or start or end with a space; rows end with CRLF as RFC 4180 says.

use crate::event::Record;
use crate::timestamp::Timestamp;
use std::io::{self, Write};

/// The CSV header, one name per column.
pub const CSV_COLUMNS: [&str; 25] = [
    "seq",
    "recorded_at",
    "occurred_at",
    "actor_id",
    "actor_kind",
    "actor_name",
    "actor_email",
    "action",
    "outcome",
    "error_message",
    "severity",
    "entity_type",
    "entity_id",
    "entity_name",
    "tenant",
    "ip",
    "user_agent",
    "session_id",
    "request_id",
    "source",
    "before",
    "after",
    "changed_fields",
    "labels",
    "metadata",
];

/// Writes one CSV cell, quoted when needed.
pub fn write_csv_cell(out: &mut impl Write, cell: &str) -> io::Result<()> {
    let needs_quotes =
        cell.contains([',', '"', '\r', '\n']) || cell.starts_with(' ') || cell.ends_with(' ');
    if !needs_quotes {
        return out.write_all(cell.as_bytes());
    }
    out.write_all(b"\"")?;
    out.write_all(cell.replace('"', "\"\"").as_bytes())?;
    out.write_all(b"\"")
}

/// Writes one record as a CSV row (with its CRLF), its times in UTC (RFC 3339).
pub fn write_csv_row(out: &mut impl Write, r: &Record) -> io::Result<()> {
    write_csv_row_with(out, r, |t| t.to_rfc3339())
}

/// Writes one record as a CSV row, its two times written by `time` (the CLI shows local
/// times on request; every other cell is as [`write_csv_row`] writes it).
pub fn write_csv_row_with(
    out: &mut impl Write,
    r: &Record,
    time: impl Fn(Timestamp) -> String,
) -> io::Result<()> {
    let e = &r.event;
    let json = |v: Option<String>| v.unwrap_or_default();
    let list = |items: &[String]| {
        if items.is_empty() {
            String::new()
        } else {
            serde_json::to_string(items).unwrap_or_default()
        }
    };
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let entity = e.entity.as_ref();
    let cells: [String; 25] = [
        r.seq.to_string(),
        time(r.recorded_at),
        e.occurred_at.map(&time).unwrap_or_default(),
        e.actor.id.clone(),
        opt(&e.actor.kind),
        opt(&e.actor.name),
        opt(&e.actor.email),
        e.action.clone(),
        e.outcome.as_str().to_string(),
        opt(&e.error_message),
        e.severity.as_str().to_string(),
        entity.map(|x| x.kind.clone()).unwrap_or_default(),
        entity.map(|x| x.id.clone()).unwrap_or_default(),
        entity.and_then(|x| x.name.clone()).unwrap_or_default(),
        opt(&e.tenant),
        opt(&e.ip),
        opt(&e.user_agent),
        opt(&e.session_id),
        opt(&e.request_id),
        opt(&e.source),
        json(e.before.as_ref().map(|v| v.as_str().to_owned())),
        json(e.after.as_ref().map(|v| v.as_str().to_owned())),
        list(&e.changed_fields),
        list(&e.labels),
        json(e.metadata.as_ref().map(|m| m.as_str().to_owned())),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_csv_cell(out, cell)?;
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        write_csv_cell(&mut out, s).expect("writes to a Vec");
        String::from_utf8(out).expect("utf-8 in, utf-8 out")
    }

    #[test]
    fn csv_cells_are_quoted_only_when_needed() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\r"), "\"cr\r\"");
        assert_eq!(cell(" padded"), "\" padded\"");
        assert_eq!(cell("{\"a\":1}"), "\"{\"\"a\"\":1}\"");
    }
}
