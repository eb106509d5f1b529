//! Filters on any field of an event by pattern: OR within a field, NOT, `*`/`?` wildcards,
//! case-insensitive matching, and JSON paths into `metadata`, `before` and `after`
//! ([`Query::any_of`](super::Query::any_of), [`Query::none_of`](super::Query::none_of)).
//!
//! None of these use an index: a query with one reads every record its other filters select
//! (the exact filters, [`Query::actor`](super::Query::actor) and the like, still choose the
//! records through the indexes), so callers should turn a single exact value into the exact
//! filter.

use crate::event::{Record, RecordView};
use std::borrow::Cow;

/// A field of an event that [`Pattern`]s compare, as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The actor's id.
    Actor,
    /// The actor's kind (`user`, `service`, ...).
    ActorKind,
    /// The action.
    Action,
    /// The entity as `TYPE:ID`.
    Entity,
    /// The entity's type.
    EntityKind,
    /// The entity's id.
    EntityId,
    /// The tenant.
    Tenant,
    /// The severity's name (`info` ... `critical`).
    Severity,
    /// The outcome's name (`success`, `failure`, `denied`, `error`).
    Outcome,
    /// The client's IP address.
    Ip,
    /// The service that emitted the event.
    Source,
    /// The request id.
    RequestId,
    /// The session id.
    SessionId,
    /// The user agent.
    UserAgent,
    /// The value at a path (object keys, or array indexes in decimal) in one of the JSON
    /// fields. A string compares as its text, any other value as its compact JSON text
    /// (`10`, `true`, `{"a":1}`), so `10` matches both the number 10 and the string "10".
    Json(JsonField, Vec<String>),
}

/// Which JSON field a [`Field::Json`] path starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonField {
    /// `Event::metadata`.
    Metadata,
    /// `Event::before`.
    Before,
    /// `Event::after`.
    After,
}

impl Field {
    /// Reads a field's name as the command line spells it: `actor`, `actor.kind`, `action`,
    /// `entity`, `entity.kind` (or `entity.type`), `entity.id`, `tenant`, `severity`,
    /// `outcome`, `ip`, `source`, `request_id`, `session_id`, `user_agent` (a `-` may stand
    /// for `_`), or `metadata.PATH`, `before.PATH`, `after.PATH` with `.` between the keys.
    /// `None` for anything else.
    pub fn parse(name: &str) -> Option<Field> {
        let name = name.trim();
        let json = |part, rest: &str| {
            let path: Vec<String> = rest.split('.').map(str::to_string).collect();
            (!path.iter().any(String::is_empty)).then_some(Field::Json(part, path))
        };
        if let Some((head, rest)) = name.split_once('.') {
            match head {
                "metadata" | "meta" => return json(JsonField::Metadata, rest),
                "before" => return json(JsonField::Before, rest),
                "after" => return json(JsonField::After, rest),
                _ => {}
            }
        }
        Some(match name.replace('-', "_").as_str() {
            "actor" | "actor.id" => Field::Actor,
            "actor.kind" => Field::ActorKind,
            "action" => Field::Action,
            "entity" => Field::Entity,
            "entity.kind" | "entity.type" => Field::EntityKind,
            "entity.id" => Field::EntityId,
            "tenant" => Field::Tenant,
            "severity" => Field::Severity,
            "outcome" => Field::Outcome,
            "ip" => Field::Ip,
            "source" => Field::Source,
            "request_id" => Field::RequestId,
            "session_id" => Field::SessionId,
            "user_agent" => Field::UserAgent,
            _ => return None,
        })
    }

    /// The field's value in `record` as text, `None` when the event does not have it.
    pub fn value_of<'r>(&self, record: &'r Record) -> Option<Cow<'r, str>> {
        record.text_of(self)
    }
}

/// One value a field is compared with: exact text, or a wildcard pattern in which `*` stands
/// for any run of characters and `?` for any one; either may ignore case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// Lowercased when `ignore_case`.
    text: String,
    wildcard: bool,
    ignore_case: bool,
}

impl Pattern {
    /// Matches exactly `text`.
    pub fn exact(text: impl Into<String>) -> Self {
        Pattern {
            text: text.into(),
            wildcard: false,
            ignore_case: false,
        }
    }

    /// Matches `text` with `*` and `?` as wildcards (there is no escape: a pattern without
    /// them is exact).
    pub fn wildcard(text: impl Into<String>) -> Self {
        let text = text.into();
        let wildcard = text.contains(['*', '?']);
        Pattern {
            text,
            wildcard,
            ignore_case: false,
        }
    }

    /// The same pattern, ignoring case (Unicode lowercase of both sides).
    #[must_use]
    pub fn ignore_case(mut self) -> Self {
        self.text = self.text.to_lowercase();
        self.ignore_case = true;
        self
    }

    /// The one value this pattern matches, when it has no wildcard and respects case (so an
    /// index lookup of that value finds every match).
    pub(crate) fn exact_value(&self) -> Option<&str> {
        (!self.wildcard && !self.ignore_case).then_some(self.text.as_str())
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let folded;
        let value = if self.ignore_case {
            folded = value.to_lowercase();
            folded.as_str()
        } else {
            value
        };
        match self.wildcard {
            false => self.text == value,
            true => glob(&self.text, value),
        }
    }
}

/// Whether `text` matches `pattern` (`*` any run, `?` any one character), in time linear in
/// their product at worst: the classic single-backtrack algorithm, since only the last `*`
/// ever needs to be retried.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A filter on one field: the field's value matches one of the patterns (or, negated, none
/// of them). A record without the field matches no pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FieldFilter {
    pub field: Field,
    pub any_of: Vec<Pattern>,
    pub negated: bool,
}

impl FieldFilter {
    pub(crate) fn holds(&self, record: &impl FieldText) -> bool {
        let hit = record
            .text_of(&self.field)
            .is_some_and(|v| self.any_of.iter().any(|p| p.matches(&v)));
        hit != self.negated
    }
}

/// A record's fields as text, decoded or read in place.
pub(crate) trait FieldText {
    fn text_of(&self, field: &Field) -> Option<Cow<'_, str>>;
}

impl FieldText for Record {
    fn text_of(&self, field: &Field) -> Option<Cow<'_, str>> {
        let e = &self.event;
        fn borrowed(s: Option<&String>) -> Option<Cow<'_, str>> {
            s.map(|s| Cow::Borrowed(s.as_str()))
        }
        match field {
            Field::Actor => Some(Cow::Borrowed(&e.actor.id)),
            Field::ActorKind => borrowed(e.actor.kind.as_ref()),
            Field::Action => Some(Cow::Borrowed(&e.action)),
            Field::Entity => e
                .entity
                .as_ref()
                .map(|x| Cow::Owned(format!("{}:{}", x.kind, x.id))),
            Field::EntityKind => e.entity.as_ref().map(|x| Cow::Borrowed(x.kind.as_str())),
            Field::EntityId => e.entity.as_ref().map(|x| Cow::Borrowed(x.id.as_str())),
            Field::Tenant => borrowed(e.tenant.as_ref()),
            Field::Severity => Some(Cow::Owned(e.severity.to_string())),
            Field::Outcome => Some(Cow::Owned(e.outcome.to_string())),
            Field::Ip => borrowed(e.ip.as_ref()),
            Field::Source => borrowed(e.source.as_ref()),
            Field::RequestId => borrowed(e.request_id.as_ref()),
            Field::SessionId => borrowed(e.session_id.as_ref()),
            Field::UserAgent => borrowed(e.user_agent.as_ref()),
            Field::Json(part, path) => {
                let json = match part {
                    JsonField::Metadata => e.metadata.as_ref(),
                    JsonField::Before => e.before.as_ref(),
                    JsonField::After => e.after.as_ref(),
                };
                json_at(json?.as_str(), path).map(Cow::Owned)
            }
        }
    }
}

impl FieldText for RecordView<'_> {
    fn text_of(&self, field: &Field) -> Option<Cow<'_, str>> {
        let e = &self.event;
        let text = match field {
            Field::Actor => Some(e.actor_id()),
            Field::ActorKind => e.actor_kind(),
            Field::Action => Some(e.action()),
            Field::Entity => {
                return e
                    .entity()
                    .map(|x| Cow::Owned(format!("{}:{}", x.kind, x.id)));
            }
            Field::EntityKind => e.entity().map(|x| x.kind),
            Field::EntityId => e.entity().map(|x| x.id),
            Field::Tenant => e.tenant(),
            Field::Severity => return Some(Cow::Owned(e.severity().to_string())),
            Field::Outcome => return Some(Cow::Owned(e.outcome().to_string())),
            Field::Ip => e.ip(),
            Field::Source => e.source(),
            Field::RequestId => e.request_id(),
            Field::SessionId => e.session_id(),
            Field::UserAgent => e.user_agent(),
            Field::Json(part, path) => {
                let json = match part {
                    JsonField::Metadata => e.metadata_json(),
                    JsonField::Before => e.before_json(),
                    JsonField::After => e.after_json(),
                };
                return json_at(json?, path).map(Cow::Owned);
            }
        };
        text.map(Cow::Borrowed)
    }
}

/// The value at `path` in the JSON `text`: a string's own text, any other value's compact
/// JSON. `None` if the text does not parse or the path leads nowhere.
fn json_at(text: &str, path: &[String]) -> Option<String> {
    let root: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut at = &root;
    for key in path {
        at = match at {
            serde_json::Value::Object(map) => map.get(key)?,
            serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(match at {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::event::{Event, Severity};

    #[test]
    fn wildcards_match_as_shells_do() {
        let cases = [
            ("*stevie*", "STEVIE.smith", false),
            ("*stevie*", "x.stevie", true),
            ("st?vie", "stevie", true),
            ("st?vie", "steevie", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcd", false),
            ("*.4625", "windows.4625", true),
            ("ü*", "über", true),
            ("**a", "a", true),
            ("", "", true),
            ("", "a", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(Pattern::wildcard(p).matches(t), want, "{p:?} / {t:?}");
        }
        assert!(
            Pattern::wildcard("*stevie*")
                .ignore_case()
                .matches("STEVIE.smith")
        );
        assert!(Pattern::exact("LOGIN").ignore_case().matches("login"));
        assert!(!Pattern::exact("LOGIN").matches("login"));
        assert!(!Pattern::exact("a*").matches("ab"), "exact is exact");
        // No exponential blow-up on a hostile pattern.
        let long = "a".repeat(2_000);
        assert!(!Pattern::wildcard(format!("{}b", "*a".repeat(50))).matches(&long));
    }

    #[test]
    fn field_names_read_and_json_paths_reach_values() {
        assert_eq!(Field::parse("request-id"), Some(Field::RequestId));
        assert_eq!(
            Field::parse("metadata.EventID"),
            Some(Field::Json(JsonField::Metadata, vec!["EventID".into()]))
        );
        assert_eq!(Field::parse("metadata."), None);
        assert_eq!(Field::parse("colour"), None);
        let record = Record {
            seq: 0,
            recorded_at: Timestamp::from_unix_secs(1),
            event: Event::new("alice", "login")
                .severity(Severity::High)
                .metadata("EventID", 10)
                .metadata("Name", "x")
                .metadata("List", serde_json::json!([{"k": true}])),
        };
        let get = |name: &str| {
            Field::parse(name).and_then(|f| f.value_of(&record).map(|v| v.into_owned()))
        };
        assert_eq!(get("metadata.EventID").as_deref(), Some("10"));
        assert_eq!(get("metadata.Name").as_deref(), Some("x"));
        assert_eq!(get("metadata.List.0.k").as_deref(), Some("true"));
        assert_eq!(get("metadata.List.1"), None);
        assert_eq!(get("metadata.Name.deeper"), None);
        assert_eq!(get("after.x"), None);
        assert_eq!(get("severity").as_deref(), Some("high"));
        assert_eq!(get("ip"), None);
    }
}
