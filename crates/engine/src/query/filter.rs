//! [`Query`]: what a caller asks for, and whether one record matches it.
//!
//! Every filter set on a query must hold (they are ANDed). Time ranges are half-open,
//! `[since, until)`. Matching here is the single definition of the semantics: index lookups
//! only choose which records to look at, and every candidate they return is checked again
//! with [`Query::matches`], which also resolves hash collisions in the indexes.

use crate::event::{Outcome, Record, RecordView, Severity};
use crate::index::Fields;
use crate::privacy::ProtectedMatch;
use crate::query::cursor::Cursor;
use crate::query::field::{Field, FieldFilter, FieldText, Pattern};
use crate::timestamp::Timestamp;

/// The order in which matching records are returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Ascending sequence numbers (the default).
    #[default]
    OldestFirst,
    /// Descending sequence numbers.
    NewestFirst,
}

/// Which of a record's two times a range or time bucket refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeField {
    /// When the log accepted the event (never decreasing along the log; indexed).
    #[default]
    Recorded,
    /// When the producer says the event happened (`Event::occurred_at`; a record without it
    /// never matches a range on this field).
    Occurred,
}

/// How the action filter compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ActionFilter {
    Exact(String),
    Prefix(String),
}

/// How the severity filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SeverityFilter {
    Exact(Severity),
    AtLeast(Severity),
}

/// A half-open time range `[since, until)` in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimeRange {
    pub since: i64,
    pub until: i64,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange {
            since: i64::MIN,
            until: i64::MAX,
        }
    }
}

impl TimeRange {
    pub(crate) fn contains(&self, t: i64) -> bool {
        self.since <= t && t < self.until
    }

    pub(crate) fn is_unbounded(&self) -> bool {
        *self == TimeRange::default()
    }

    /// Whether any time in `[min, max]` (inclusive) lies in the range.
    #[allow(
        dead_code,
        reason = "used by segment skipping, which lands with the indexes"
    )]
    pub(crate) fn overlaps(&self, min: i64, max: i64) -> bool {
        min < self.until && max >= self.since && min <= max
    }
}

/// A filtered, ordered and paginated question to the log.
///
/// ```no_run
/// use auditlog::{AuditLog, Severity, Timestamp};
/// use auditlog::query::{Order, Query};
/// let log = AuditLog::open("./audit")?;
/// let q = Query::new()
///     .actor("user:42")
///     .recorded_since(Timestamp::from_unix_secs(1_800_000_000))
///     .severity_at_least(Severity::High)
///     .order(Order::NewestFirst)
///     .limit(100);
/// let page = log.query(&q)?;
/// for record in &page.records {
///     println!("#{} {}", record.seq, record.event.action);
/// }
/// if page.has_more {
///     let next = log.query(&q.clone().after(page.cursor))?;
/// }
/// # Ok::<(), auditlog::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub(crate) recorded: TimeRange,
    pub(crate) occurred: TimeRange,
    pub(crate) actor: Option<String>,
    pub(crate) entity_kind: Option<String>,
    pub(crate) entity_id: Option<String>,
    pub(crate) action: Option<ActionFilter>,
    pub(crate) tenant: Option<String>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) severity: Option<SeverityFilter>,
    pub(crate) label: Option<String>,
    /// Lowercased search text.
    pub(crate) text: Option<String>,
    /// Pattern filters ([`Query::any_of`], [`Query::none_of`]), all of which must hold.
    pub(crate) fields: Vec<FieldFilter>,
    /// Lookups by a protected value ([`Query::protected`]), all of which must hold.
    pub(crate) protected: Vec<ProtectedMatch>,
    pub(crate) order: Order,
    pub(crate) limit: Option<usize>,
    pub(crate) after: Option<Cursor>,
}

impl Query {
    /// A query matching every record, oldest first, without a limit.
    pub fn new() -> Self {
        Query::default()
    }

    /// Only records with `recorded_at >= at`.
    #[must_use]
    pub fn recorded_since(mut self, at: Timestamp) -> Self {
        self.recorded.since = at.as_nanos();
        self
    }

    /// Only records with `recorded_at < at`.
    #[must_use]
    pub fn recorded_until(mut self, at: Timestamp) -> Self {
        self.recorded.until = at.as_nanos();
        self
    }

    /// Only records whose event has `occurred_at >= at` (events without it never match).
    #[must_use]
    pub fn occurred_since(mut self, at: Timestamp) -> Self {
        self.occurred.since = at.as_nanos();
        self
    }

    /// Only records whose event has `occurred_at < at` (events without it never match).
    #[must_use]
    pub fn occurred_until(mut self, at: Timestamp) -> Self {
        self.occurred.until = at.as_nanos();
        self
    }

    /// A range `[since, until)` on `field`: shorthand for the two setters above.
    #[must_use]
    pub fn time_range(self, field: TimeField, since: Timestamp, until: Timestamp) -> Self {
        match field {
            TimeField::Recorded => self.recorded_since(since).recorded_until(until),
            TimeField::Occurred => self.occurred_since(since).occurred_until(until),
        }
    }

    /// Only events of this actor id (exact).
    #[must_use]
    pub fn actor(mut self, id: impl Into<String>) -> Self {
        self.actor = Some(id.into());
        self
    }

    /// Only events on this entity (type and id, exact).
    #[must_use]
    pub fn entity(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.entity_kind = Some(kind.into());
        self.entity_id = Some(id.into());
        self
    }

    /// Only events on entities of this type (exact), whatever their id.
    #[must_use]
    pub fn entity_kind(mut self, kind: impl Into<String>) -> Self {
        self.entity_kind = Some(kind.into());
        self
    }

    /// Only events with exactly this action.
    #[must_use]
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(ActionFilter::Exact(action.into()));
        self
    }

    /// Only events whose action starts with `prefix` (e.g. `"order."`).
    #[must_use]
    pub fn action_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.action = Some(ActionFilter::Prefix(prefix.into()));
        self
    }

    /// Only events of this tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only events with this outcome.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Only events with exactly this severity.
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(SeverityFilter::Exact(severity));
        self
    }

    /// Only events with this severity or a higher one.
    #[must_use]
    pub fn severity_at_least(mut self, severity: Severity) -> Self {
        self.severity = Some(SeverityFilter::AtLeast(severity));
        self
    }

    /// Only events carrying this label (exact).
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Only events containing `text`, ignoring case, in one of their text fields: actor id,
    /// kind, name and email; action; error message; entity type, id and name; tenant; ip;
    /// user agent; session id; request id; source; changed fields; labels; and the JSON text
    /// of `before`, `after` and `metadata` (keys included). An empty text matches everything.
    #[must_use]
    pub fn text(mut self, text: impl AsRef<str>) -> Self {
        self.text = Some(text.as_ref().to_lowercase());
        self
    }

    /// Only events whose `field` matches one of `patterns` (OR within the field; calls add
    /// up with AND). An event without the field matches none. The actor index serves a list
    /// of exact actors (no wildcard, case kept) by merging their postings; no index serves
    /// other lists: for one exact value, prefer the exact filter ([`Query::actor`] and the
    /// like).
    ///
    /// ```
    /// use auditlog::query::{Field, Pattern, Query};
    /// let q = Query::new()
    ///     .any_of(Field::Actor, [Pattern::wildcard("*stevie*").ignore_case()])
    ///     .any_of(Field::Severity, [Pattern::exact("high"), Pattern::exact("critical")])
    ///     .none_of(Field::Action, [Pattern::exact("LOGIN")]);
    /// # let _ = q;
    /// ```
    #[must_use]
    pub fn any_of(mut self, field: Field, patterns: impl IntoIterator<Item = Pattern>) -> Self {
        self.fields.push(FieldFilter {
            field,
            any_of: patterns.into_iter().collect(),
            negated: false,
        });
        self
    }

    /// Only events whose `field` matches none of `patterns` (an event without the field
    /// passes).
    #[must_use]
    pub fn none_of(mut self, field: Field, patterns: impl IntoIterator<Item = Pattern>) -> Self {
        self.fields.push(FieldFilter {
            field,
            any_of: patterns.into_iter().collect(),
            negated: true,
        });
        self
    }

    /// Only events whose protected value matches `lookup`, made by
    /// [`Vault::lookup`](crate::privacy::Vault::lookup) (the keyed blind index of
    /// docs/PRIVACY.md): "events of alice@example.com". No index serves it: combine it with
    /// an actor, entity or time filter to read fewer records.
    ///
    /// ```no_run
    /// use auditlog::AuditLog;
    /// use auditlog::privacy::MasterKey;
    /// use auditlog::query::Query;
    /// let master = MasterKey::read_file("master.key".as_ref())?;
    /// let log = AuditLog::builder("./audit").master_key(master).open()?;
    /// let vault = log.vault().expect("a log with a privacy policy");
    /// let lookup = vault.lookup("actor.email", "alice@example.com", None)?;
    /// let page = log.query(&Query::new().protected(lookup))?;
    /// # let _ = page;
    /// # Ok::<(), auditlog::Error>(())
    /// ```
    #[must_use]
    pub fn protected(mut self, lookup: ProtectedMatch) -> Self {
        self.protected.push(lookup);
        self
    }

    /// The order of results. Default [`Order::OldestFirst`].
    #[must_use]
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// At most `n` records per page. Default: no limit.
    #[must_use]
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Continues after the last record of an earlier page of this same query (filters and
    /// order must be unchanged; the limit may differ).
    #[must_use]
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// A cursor of this query (its filters and order) at `position`: for oldest first the
    /// first sequence number still to examine, for newest first one past the last. For a
    /// caller that pages over records read elsewhere as well (an archive in object storage)
    /// and hands out one cursor for both.
    pub fn cursor_at(&self, position: u64) -> Cursor {
        Cursor {
            position,
            order: self.order,
            fingerprint: self.fingerprint(),
        }
    }

    /// The order of results.
    pub fn get_order(&self) -> Order {
        self.order
    }

    /// The page size, if limited.
    pub fn get_limit(&self) -> Option<usize> {
        self.limit
    }

    /// Whether `record` passes every filter (order, limit and cursor are not filters).
    pub fn matches(&self, record: &Record) -> bool {
        self.matches_fields(record)
    }

    /// Whether the query asks nothing of a record beyond what the executor's plan selects
    /// it by (sequence range, `recorded_at` range, actor, entity type and id), so nearly
    /// every record the plan reads is returned.
    pub(crate) fn indexes_select_all(&self) -> bool {
        self.occurred.is_unbounded()
            && (self.entity_kind.is_none() || self.entity_id.is_some())
            && self.action.is_none()
            && self.tenant.is_none()
            && self.outcome.is_none()
            && self.severity.is_none()
            && self.label.is_none()
            && self.text.is_none()
            && self.fields.is_empty()
            && self.protected.is_empty()
    }

    /// Whether `recorded_at` is the only field the query filters on (a record in its range
    /// matches).
    pub(crate) fn filters_only_recorded(&self) -> bool {
        self.indexes_select_all() && self.actor.is_none() && self.entity_kind.is_none()
    }

    /// Whether a record read in place passes every filter: the same answer as
    /// [`Query::matches`] gives for it decoded, without decoding it.
    pub fn matches_view(&self, record: &RecordView<'_>) -> bool {
        self.matches_fields(record)
    }

    pub(crate) fn matches_fields(&self, r: &(impl Fields + FieldText)) -> bool {
        if !self.recorded.contains(r.recorded_at()) {
            return false;
        }
        if !self.occurred.is_unbounded() {
            match r.occurred_at() {
                Some(t) if self.occurred.contains(t) => {}
                _ => return false,
            }
        }
        if self.actor.as_ref().is_some_and(|a| a != r.actor_id()) {
            return false;
        }
        if let Some(kind) = &self.entity_kind {
            let Some((entity_kind, entity_id)) = r.entity() else {
                return false;
            };
            if entity_kind != kind || self.entity_id.as_ref().is_some_and(|id| id != entity_id) {
                return false;
            }
        }
        match &self.action {
            Some(ActionFilter::Exact(a)) if a != r.action() => return false,
            Some(ActionFilter::Prefix(p)) if !r.action().starts_with(p.as_str()) => return false,
            _ => {}
        }
        if self.tenant.is_some() && self.tenant.as_deref() != r.tenant() {
            return false;
        }
        if self.outcome.is_some_and(|o| o != r.outcome()) {
            return false;
        }
        match self.severity {
            Some(SeverityFilter::Exact(s)) if s != r.severity() => return false,
            Some(SeverityFilter::AtLeast(s)) if r.severity() < s => return false,
            _ => {}
        }
        if let Some(label) = &self.label
            && !r.has_label(label)
        {
            return false;
        }
        if self
            .text
            .as_ref()
            .is_some_and(|text| !text_matches(r, text))
        {
            return false;
        }
        self.fields.iter().all(|f| f.holds(r)) && self.protected.iter().all(|p| p.holds(r))
    }

    /// A hash of everything that selects records (filters and order; not limit or cursor),
    /// so a cursor cannot be replayed against a different query.
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut h = blake3::Hasher::new();
        let text = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.recorded,
            self.occurred,
            self.actor,
            self.entity_kind,
            self.entity_id,
            self.action,
            self.tenant,
            self.outcome,
            self.severity,
            self.label,
            self.text,
            self.order,
            self.fields
        );
        h.update(text.as_bytes());
        // Only when set, so that the cursors of other queries keep their fingerprints.
        if !self.protected.is_empty() {
            h.update(format!("|{:?}", self.protected).as_bytes());
        }
        let mut out = [0u8; 8];
        out.copy_from_slice(&h.finalize().as_bytes()[..8]);
        u64::from_le_bytes(out)
    }
}

/// The case-insensitive substring search over the fields listed at [`Query::text`].
fn text_matches(record: &impl Fields, needle: &str) -> bool {
    needle.is_empty() || record.any_text(&mut |s| contains_folded(s, needle))
}

/// Whether `hay.to_lowercase()` contains `needle` (already lowercased), without building
/// the lowercase copy when `hay` is ASCII (then lowercasing is per byte).
fn contains_folded(hay: &str, needle: &str) -> bool {
    if !hay.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(h, n)| h.to_ascii_lowercase() == *n)
        })
}

#[cfg(test)]
mod tests {
    use super::contains_folded;

    #[test]
    fn folded_search_equals_lowercasing_the_text() {
        let texts = [
            "Mozilla/5.0",
            "ZOË Ångström",
            "",
            "abc",
            "K-\u{212A}",
            "İstanbul",
        ];
        let needles = [
            "", "moz", "ZIL", "zoë", "ë å", "k", "i̇", "abcd", "/5.0", "x",
        ];
        for text in texts {
            for needle in needles {
                let needle = needle.to_lowercase();
                assert_eq!(
                    contains_folded(text, &needle),
                    text.to_lowercase().contains(&needle),
                    "{text:?} / {needle:?}"
                );
            }
        }
        assert!(contains_folded("MOZILLA", "zill"));
        assert!(!contains_folded("MOZILLA", "zilla!"));
    }
}
