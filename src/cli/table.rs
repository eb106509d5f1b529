//! The text table of `query` and `tail`: the columns to show (`--columns`), laid out to fit
//! the terminal's width before the first row (so rows stream, and `tail -f` lines up), with
//! every cell escaped and cut with an ellipsis (`terminal.rs`), and times in the local zone
//! unless `--utc`.
//!
//! Layout: each column has a preferred and a least width. When the preferred widths do not
//! fit, the flexible columns (actor, action, entity, ...) give up width in proportion to what
//! they can spare; when they fit with room to spare, the last flexible column takes the rest.
//! Without a known width (output piped to a file), the preferred widths are used.

use super::terminal::{fit, pad};
use super::when::Zone;
use auditlog::{Record, Timestamp};

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Seq,
    Time,
    Recorded,
    Occurred,
    Actor,
    ActorName,
    Action,
    Outcome,
    Severity,
    Entity,
    Ip,
    Source,
    Session,
    Request,
    Tenant,
    UserAgent,
    Labels,
    Error,
}

/// A column's names on the command line (the first is shown in help), its header, and its
/// least and preferred widths; `flexible` columns shrink and grow, the others keep their
/// width.
struct Spec {
    column: Column,
    names: &'static [&'static str],
    header: &'static str,
    least: usize,
    preferred: usize,
    flexible: bool,
}

const fn spec(
    column: Column,
    names: &'static [&'static str],
    header: &'static str,
    least: usize,
    preferred: usize,
    flexible: bool,
) -> Spec {
    Spec {
        column,
        names,
        header,
        least,
        preferred,
        flexible,
    }
}

const SPECS: &[Spec] = &[
    spec(Column::Seq, &["seq"], "SEQ", 8, 8, false),
    spec(Column::Time, &["time"], "TIME", 19, 19, false),
    spec(
        Column::Recorded,
        &["recorded", "recorded_at"],
        "RECORDED",
        19,
        19,
        false,
    ),
    spec(
        Column::Occurred,
        &["occurred", "occurred_at"],
        "OCCURRED",
        19,
        19,
        false,
    ),
    spec(Column::Actor, &["actor", "actor_id"], "ACTOR", 6, 20, true),
    spec(
        Column::ActorName,
        &["actor_name"],
        "ACTOR NAME",
        6,
        16,
        true,
    ),
    spec(Column::Action, &["action"], "ACTION", 8, 26, true),
    spec(Column::Outcome, &["outcome"], "OUTCOME", 7, 7, false),
    spec(Column::Severity, &["severity"], "SEVERITY", 8, 8, false),
    spec(Column::Entity, &["entity"], "ENTITY", 8, 40, true),
    spec(Column::Ip, &["ip"], "IP", 7, 15, true),
    spec(Column::Source, &["source"], "SOURCE", 6, 16, true),
    spec(
        Column::Session,
        &["session", "session_id"],
        "SESSION",
        6,
        12,
        true,
    ),
    spec(
        Column::Request,
        &["request", "request_id"],
        "REQUEST",
        6,
        12,
        true,
    ),
    spec(Column::Tenant, &["tenant"], "TENANT", 6, 12, true),
    spec(
        Column::UserAgent,
        &["user_agent"],
        "USER AGENT",
        8,
        30,
        true,
    ),
    spec(Column::Labels, &["labels"], "LABELS", 6, 20, true),
    spec(
        Column::Error,
        &["error", "error_message"],
        "ERROR",
        8,
        30,
        true,
    ),
];

/// The columns without `--columns`.
pub const DEFAULT: &[Column] = &[
    Column::Seq,
    Column::Recorded,
    Column::Occurred,
    Column::Actor,
    Column::Action,
    Column::Outcome,
    Column::Severity,
    Column::Entity,
];

/// The columns without `--columns` on a terminal too narrow for [`DEFAULT`]: one time (when
/// the event occurred, else when it was recorded).
pub const NARROW: &[Column] = &[
    Column::Seq,
    Column::Time,
    Column::Actor,
    Column::Action,
    Column::Outcome,
    Column::Severity,
    Column::Entity,
];

/// The default columns for a terminal `width` columns wide.
pub fn default_for(width: Option<usize>) -> &'static [Column] {
    let least = |cols: &[Column]| {
        cols.iter().map(|c| spec_of(*c).least).sum::<usize>() + GAP * (cols.len() - 1)
    };
    match width {
        Some(w) if w < least(DEFAULT) => NARROW,
        _ => DEFAULT,
    }
}

/// The width of the last column when the terminal's width is unknown.
const LAST_UNKNOWN_WIDTH: usize = 60;
const GAP: usize = 2;

fn spec_of(c: Column) -> &'static Spec {
    SPECS.iter().find(|s| s.column == c).unwrap_or(&SPECS[0])
}

/// Every column name, for help and errors.
pub fn names() -> String {
    SPECS
        .iter()
        .map(|s| s.names[0])
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `--columns` names.
pub fn parse(given: &[String]) -> Result<Vec<Column>, String> {
    given
        .iter()
        .map(|n| {
            let n = n.trim().to_ascii_lowercase();
            SPECS
                .iter()
                .find(|s| s.names.contains(&n.as_str()))
                .map(|s| s.column)
                .ok_or_else(|| format!("--columns: unknown column {n:?}; one of: {}", names()))
        })
        .collect()
}

/// Widths for `columns` within `width` terminal columns (see the module docs).
pub fn layout(columns: &[Column], width: Option<usize>) -> Vec<usize> {
    let specs: Vec<&Spec> = columns.iter().map(|c| spec_of(*c)).collect();
    let mut widths: Vec<usize> = specs.iter().map(|s| s.preferred).collect();
    let Some(width) = width else {
        if let (Some(last), Some(spec)) = (widths.last_mut(), specs.last())
            && spec.flexible
        {
            *last = (*last).max(LAST_UNKNOWN_WIDTH);
        }
        return widths;
    };
    let gaps = GAP * columns.len().saturating_sub(1);
    let total: usize = widths.iter().sum::<usize>() + gaps;
    if total > width {
        let excess = total - width;
        let spare: usize = specs
            .iter()
            .filter(|s| s.flexible)
            .map(|s| s.preferred - s.least)
            .sum();
        let mut taken = 0;
        for (w, s) in widths.iter_mut().zip(&specs) {
            if s.flexible && spare > 0 {
                let cut = (excess * (s.preferred - s.least)).div_ceil(spare);
                let cut = cut.min(s.preferred - s.least).min(excess - taken);
                *w -= cut;
                taken += cut;
            }
        }
    } else if let Some(i) = specs.iter().rposition(|s| s.flexible) {
        widths[i] += width - total;
    }
    widths
}

/// How times are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Utc,
    Local,
}

impl Shown {
    /// `t` as RFC 3339: UTC with `Z`, or local time with its offset (`+02:00`).
    pub fn rfc3339(self, t: Timestamp) -> String {
        let offset = self.offset(t);
        if offset == 0 {
            return t.to_rfc3339();
        }
        let shifted = Timestamp::from_nanos(
            t.as_nanos()
                .saturating_add(i64::from(offset) * 1_000_000_000),
        )
        .to_rfc3339();
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.unsigned_abs();
        format!(
            "{}{sign}{:02}:{:02}",
            shifted.trim_end_matches('Z'),
            a / 3600,
            a / 60 % 60
        )
    }

    /// `2024-05-01 12:30:00`: for eyes, to the second.
    fn to_the_second(self, t: Option<Timestamp>) -> String {
        let Some(t) = t else {
            return String::new();
        };
        let text = self.rfc3339(t);
        text.get(..19).unwrap_or(&text).replacen('T', " ", 1)
    }

    fn offset(self, t: Timestamp) -> i32 {
        match self {
            Shown::Utc => 0,
            Shown::Local => Zone::Local.offset_at(t.as_nanos().div_euclid(1_000_000_000)),
        }
    }
}

/// A laid-out table.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(Column, usize)>,
    shown: Shown,
}

impl Table {
    pub fn new(columns: &[Column], width: Option<usize>, shown: Shown) -> Table {
        let widths = layout(columns, width);
        Table {
            columns: columns.iter().copied().zip(widths).collect(),
            shown,
        }
    }

    fn line(&self, cells: impl Iterator<Item = (Column, usize, String)>) -> String {
        let mut out = String::new();
        let n = self.columns.len();
        for (i, (column, width, text)) in cells.enumerate() {
            if i > 0 {
                out.push_str(&" ".repeat(GAP));
            }
            if column == Column::Seq {
                let text = fit(&text, width);
                out.push_str(&" ".repeat(width.saturating_sub(text.chars().count())));
                out.push_str(&text);
            } else if i + 1 == n {
                out.push_str(&fit(&text, width));
            } else {
                out.push_str(&pad(&text, width));
            }
        }
        out
    }

    pub fn header(&self) -> String {
        let zone = match self.shown {
            Shown::Utc => " (UTC)",
            Shown::Local => " (local)",
        };
        self.line(self.columns.iter().map(|(c, w)| {
            let mut h = spec_of(*c).header.to_string();
            if matches!(c, Column::Time | Column::Recorded | Column::Occurred) {
                h.push_str(zone);
            }
            (*c, *w, h)
        }))
    }

    pub fn row(&self, r: &Record) -> String {
        self.line(self.columns.iter().map(|(c, w)| (*c, *w, self.cell(*c, r))))
    }

    fn cell(&self, c: Column, r: &Record) -> String {
        let e = &r.event;
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        match c {
            Column::Seq => r.seq.to_string(),
            Column::Time => self
                .shown
                .to_the_second(Some(e.occurred_at.unwrap_or(r.recorded_at))),
            Column::Recorded => self.shown.to_the_second(Some(r.recorded_at)),
            Column::Occurred => self.shown.to_the_second(e.occurred_at),
            Column::Actor => e.actor.id.clone(),
            Column::ActorName => opt(&e.actor.name),
            Column::Action => e.action.clone(),
            Column::Outcome => e.outcome.as_str().to_string(),
            Column::Severity => e.severity.as_str().to_string(),
            Column::Entity => e
                .entity
                .as_ref()
                .map_or(String::new(), |x| format!("{}:{}", x.kind, x.id)),
            Column::Ip => opt(&e.ip),
            Column::Source => opt(&e.source),
            Column::Session => opt(&e.session_id),
            Column::Request => opt(&e.request_id),
            Column::Tenant => opt(&e.tenant),
            Column::UserAgent => opt(&e.user_agent),
            Column::Labels => e.labels.join(","),
            Column::Error => opt(&e.error_message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::Event;

    fn record(actor: &str, entity: &str) -> Record {
        Record {
            seq: 42,
            recorded_at: Timestamp::from_unix_secs(1_700_000_000),
            event: Event::new(actor, "login").entity("file", entity),
        }
    }

    #[test]
    fn rows_fit_the_width_and_cut_with_an_ellipsis() {
        for width in [76, 80, 100, 120, 200] {
            let t = Table::new(default_for(Some(width)), Some(width), Shown::Utc);
            let long = "x".repeat(500);
            assert!(t.header().chars().count() <= width, "{width}");
            let row = t.row(&record(&long, &long));
            assert_eq!(row.chars().count(), width, "{width}: {row}");
            assert!(row.ends_with('…'), "{row}");
            assert!(row.contains("  login"), "the action is whole: {row}");
        }
        assert_eq!(default_for(Some(80)), NARROW);
        assert_eq!(default_for(Some(200)), DEFAULT);
        assert_eq!(default_for(None), DEFAULT);
        let t = Table::new(DEFAULT, Some(200), Shown::Utc);
        let row = t.row(&record("alice", "/etc/shadow"));
        assert!(
            row.ends_with("file:/etc/shadow"),
            "short cells are not padded at the end"
        );
    }

    #[test]
    fn attacker_text_is_escaped_in_cells() {
        let t = Table::new(&[Column::Actor, Column::Entity], Some(80), Shown::Utc);
        let row = t.row(&record("eve\u{1b}[2J\r", "a\nb\u{202e}c"));
        assert!(!row.chars().any(|c| c.is_control()), "{row:?}");
        assert!(row.contains("eve\\u{1b}[2J\\r"), "{row}");
        assert!(row.contains("a\\nb\\u{202e}c"), "{row}");
    }

    #[test]
    fn chosen_columns_in_order_and_unknown_names_refused() {
        let cols = parse(&["time".into(), "ACTOR".into(), "ip".into()]).expect("parses");
        assert_eq!(cols, [Column::Time, Column::Actor, Column::Ip]);
        let err = parse(&["nope".into()]).unwrap_err();
        assert!(err.contains("one of: seq, time"), "{err}");
        let t = Table::new(&cols, None, Shown::Utc);
        assert_eq!(t.header().split_whitespace().next(), Some("TIME"));
        assert!(
            t.row(&record("bob", "f"))
                .starts_with("2023-11-14 22:13:20  bob")
        );
    }

    #[test]
    fn local_offsets_in_rfc3339() {
        let t = Timestamp::from_nanos(1_700_000_000_123_000_000);
        assert_eq!(Shown::Utc.rfc3339(t), "2023-11-14T22:13:20.123Z");
    }
}
