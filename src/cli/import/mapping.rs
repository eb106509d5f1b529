//! Field mappings: how an event is built from a JSON object of another system.
//!
//! A mapping is a list of `TARGET=SOURCE` rules (`--map` on the command line, or a preset).
//!
//! TARGET is an event field: `occurred_at`, `actor` (the actor's id; also `actor.id`),
//! `actor.kind`, `actor.name`, `actor.email`, `action`, `outcome`, `error_message`, `severity`,
//! `entity` (`TYPE:ID` text, split at the first colon), `entity.type`, `entity.id`,
//! `entity.name`, `tenant`, `ip`, `user_agent`, `session_id`, `request_id`, `source`,
//! `labels`, `changed_fields`, `before`, `after`.
//!
//! SOURCE is one or more alternatives separated by `|`; the first that gives a value wins:
//! - a dotted path `a.b.c` (a step that is a number indexes an array) or a JSON pointer `/a/b`;
//! - `PATH#KEY`: the value of `KEY=...` inside the `key=value` text at PATH (auditd-style
//!   messages; a value in double quotes may hold spaces);
//! - `PATH!FUNCTION` (also `PATH#KEY!FUNCTION` and inside templates): the value read through
//!   one of the functions of `windows.rs`: `account` (`DOMAIN\\user` and `user@REALM` as
//!   `user`), `audit` (the audit success/failure bits of `Keywords`), `level` (a numeric
//!   Windows level as a severity), `event_outcome`, `event_severity` and `category` (what a
//!   Security event id means), `aws_error` (a CloudTrail `errorCode` as `denied` or
//!   `failure`); no value when the function has none;
//! - a template with `{PATH}` placeholders, e.g. `windows.{EventID}` (no value if any
//!   placeholder has none);
//! - a literal in double quotes, e.g. `"unknown"`, as a last resort.
//!
//! JSON null, a missing key, an empty string and `-` (the "no value" of Windows events) give
//! no value. Numbers and booleans become their JSON text; objects and arrays their compact
//! JSON text, except for `before` and `after`, which take any JSON value as it is, and for
//! `labels` and `changed_fields`, which take a string or an array of strings (from every
//! alternative that gives a value, not only the first).
//!
//! `outcome` understands success/failure/denied/error, AUDIT_SUCCESS/AUDIT_FAILURE (Windows),
//! yes/no and true/false (auditd's `success=`); `severity` understands our five names and the
//! usual syslog and Windows levels (DEBUG/VERBOSE/INFORMATION/NOTICE → info or low,
//! WARNING → medium, ERROR → high, CRITICAL/ALERT/EMERGENCY → critical). For these two
//! targets an alternative whose value is not understood is passed over like a missing one;
//! when none is understood but some had a value, the line is bad and the error names the
//! value (never a silent `success`): end the rule with a literal, e.g.
//! `outcome=EventType|"success"`, to choose the default on purpose.
//!
//! An entity needs both a type and an id: a line that gives only one has no entity (the
//! value stays in `metadata.original`), rather than becoming a bad line.
//!
//! `occurred_at` takes RFC 3339 text or an epoch number (JSON number or decimal text), read by
//! its magnitude: below 10^11 seconds (fractions allowed), below 10^14 milliseconds, below
//! 10^17 microseconds, otherwise nanoseconds (each range starts in 1973 and ends in the year
//! 5138; a millisecond time before 1973-03-03 would read as seconds). A number outside the
//! nanosecond range (past 2262) or a fraction of a millisecond or smaller unit makes the line
//! bad, as does any other text.

use auditlog::{Entity, Event, Outcome, Severity, Timestamp};
use serde_json::{Map, Value};
use std::fmt;

/// An event field a rule can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    OccurredAt,
    ActorId,
    ActorKind,
    ActorName,
    ActorEmail,
    Action,
    Outcome,
    ErrorMessage,
    Severity,
    Entity,
    EntityType,
    EntityId,
    EntityName,
    Tenant,
    Ip,
    UserAgent,
    SessionId,
    RequestId,
    Source,
    Labels,
    ChangedFields,
    Before,
    After,
}

/// Every target with its names on the command line (the first is the canonical one).
const TARGETS: &[(Target, &[&str])] = &[
    (Target::OccurredAt, &["occurred_at"]),
    (Target::ActorId, &["actor", "actor.id"]),
    (Target::ActorKind, &["actor.kind"]),
    (Target::ActorName, &["actor.name"]),
    (Target::ActorEmail, &["actor.email"]),
    (Target::Action, &["action"]),
    (Target::Outcome, &["outcome"]),
    (Target::ErrorMessage, &["error_message"]),
    (Target::Severity, &["severity"]),
    (Target::Entity, &["entity"]),
    (Target::EntityType, &["entity.type"]),
    (Target::EntityId, &["entity.id"]),
    (Target::EntityName, &["entity.name"]),
    (Target::Tenant, &["tenant"]),
    (Target::Ip, &["ip"]),
    (Target::UserAgent, &["user_agent"]),
    (Target::SessionId, &["session_id"]),
    (Target::RequestId, &["request_id"]),
    (Target::Source, &["source"]),
    (Target::Labels, &["labels"]),
    (Target::ChangedFields, &["changed_fields"]),
    (Target::Before, &["before"]),
    (Target::After, &["after"]),
];

impl Target {
    fn parse(name: &str) -> Option<Target> {
        TARGETS
            .iter()
            .find(|(_, names)| names.contains(&name))
            .map(|(t, _)| *t)
    }

    fn name(self) -> &'static str {
        TARGETS
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("?", |(_, names)| names[0])
    }
}

/// Where a value is found in the source object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    steps: Vec<String>,
    /// `PATH#KEY`: look up `KEY=` inside the text found at the steps.
    kv_key: Option<String>,
    /// `PATH!FUNCTION`: the value is read through a function of `windows.rs`.
    function: Option<Function>,
}

/// A function that reads a value (see `windows.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Account,
    Audit,
    Level,
    EventOutcome,
    EventSeverity,
    Category,
    AwsError,
}

const FUNCTIONS: &[(&str, Function)] = &[
    ("account", Function::Account),
    ("audit", Function::Audit),
    ("level", Function::Level),
    ("event_outcome", Function::EventOutcome),
    ("event_severity", Function::EventSeverity),
    ("category", Function::Category),
    ("aws_error", Function::AwsError),
];

impl Function {
    fn apply(self, text: &str) -> Option<String> {
        use super::windows;
        match self {
            Function::Account => windows::account(text),
            Function::Audit => windows::audit(text),
            Function::Level => windows::level(text),
            Function::EventOutcome => windows::event_outcome(text),
            Function::EventSeverity => windows::event_severity(text),
            Function::Category => windows::category(text),
            Function::AwsError => super::presets::aws_error(text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Path),
}

/// One way of finding a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Alternative {
    Path(Path),
    Template(Vec<Piece>),
    Literal(String),
}

/// One `TARGET=SOURCE` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    target: Target,
    alternatives: Vec<Alternative>,
    /// The text the rule was parsed from, for `--show-preset` and error messages.
    text: String,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_path(text: &str) -> Result<Path, String> {
    let (text, function) = match text.rsplit_once('!') {
        Some((path, name)) => {
            let function = FUNCTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let names: Vec<_> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
                    format!(
                        "{text:?}: unknown function {name:?}; one of: {}",
                        names.join(", ")
                    )
                })?;
            (path, Some(function))
        }
        None => (text, None),
    };
    let (path, kv_key) = match text.split_once('#') {
        Some((p, k)) if !k.is_empty() => (p, Some(k.to_string())),
        Some(_) => return Err(format!("{text:?}: nothing after `#`")),
        None => (text, None),
    };
    if path.is_empty() {
        return Err("an empty path".into());
    }
    let steps = match path.strip_prefix('/') {
        // RFC 6901: `~1` is `/` and `~0` is `~`, decoded in that order.
        Some(pointer) => pointer
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect(),
        None => path.split('.').map(str::to_string).collect(),
    };
    Ok(Path {
        steps,
        kv_key,
        function,
    })
}

fn parse_alternative(text: &str) -> Result<Alternative, String> {
    if let Some(literal) = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return Ok(Alternative::Literal(literal.to_string()));
    }
    if !text.contains('{') {
        return parse_path(text).map(Alternative::Path);
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("{text:?}: a `{{` without its `}}`"))?;
        pieces.push(Piece::Value(parse_path(&rest[open + 1..open + close])?));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(Alternative::Template(pieces))
}

impl Rule {
    /// Parses `TARGET=SOURCE`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (target, source) = text
            .split_once('=')
            .ok_or_else(|| format!("--map {text:?}: expected TARGET=SOURCE, e.g. actor=user.id"))?;
        let target = Target::parse(target.trim()).ok_or_else(|| {
            let names: Vec<_> = TARGETS.iter().map(|(_, n)| n[0]).collect();
            format!(
                "--map {text:?}: unknown event field {target:?}; one of: {}",
                names.join(", ")
            )
        })?;
        let alternatives = source
            .split('|')
            .map(|alt| parse_alternative(alt.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--map {text:?}: {e}"))?;
        Ok(Rule {
            target,
            alternatives,
            text: text.to_string(),
        })
    }
}

/// Follows `path` in `obj`; `None` when absent or "no value" (null, empty, `-`).
fn lookup<'a>(obj: &'a Map<String, Value>, path: &Path) -> Option<std::borrow::Cow<'a, Value>> {
    let (first, rest) = path.steps.split_first()?;
    let mut v = obj.get(first)?;
    for step in rest {
        v = match v {
            Value::Object(m) => m.get(step)?,
            Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    let found = match &path.kv_key {
        Some(key) => std::borrow::Cow::Owned(Value::String(kv_lookup(v.as_str()?, key)?)),
        None => std::borrow::Cow::Borrowed(v),
    };
    let found = match path.function {
        Some(f) => std::borrow::Cow::Owned(Value::String(f.apply(&as_text(found.as_ref()))?)),
        None => found,
    };
    match found.as_ref() {
        Value::Null => None,
        Value::String(s) if s.is_empty() || s == "-" => None,
        _ => Some(found),
    }
}

/// The value of `key=value` in auditd-style text: pairs separated by spaces, values that may
/// be in double quotes.
fn kv_lookup(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let (name, after) = rest.split_once('=')?;
        // A word without `=` before the next space is not a pair: skip it.
        if let Some(space) = name.find(' ') {
            rest = &rest[space..];
            continue;
        }
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => after.split_at(after.find(' ').unwrap_or(after.len())),
        };
        if name == key {
            return Some(value.to_string());
        }
        rest = next;
    }
    None
}

/// A value as text for a string field.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Alternative {
    fn value(&self, obj: &Map<String, Value>) -> Option<Value> {
        match self {
            Alternative::Literal(s) => Some(Value::String(s.clone())),
            Alternative::Path(p) => lookup(obj, p).map(|v| v.into_owned()),
            Alternative::Template(pieces) => {
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Value(p) => out.push_str(&as_text(lookup(obj, p)?.as_ref())),
                    }
                }
                Some(Value::String(out))
            }
        }
    }
}

/// The synonyms of other systems for our outcomes; `None` for anything else.
fn outcome_of(text: &str) -> Option<Outcome> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "audit_success" | "yes" | "true" | "ok" | "succeeded" => Some(Outcome::Success),
        "audit_failure" | "no" | "false" | "failed" | "fail" => Some(Outcome::Failure),
        "deny" | "denied" | "refused" => Some(Outcome::Denied),
        _ => t.parse().ok(),
    }
}

/// Syslog and Windows levels as our severities; `None` for anything else.
fn severity_of(text: &str) -> Option<Severity> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "debug" | "verbose" | "trace" | "information" | "informational" => Some(Severity::Info),
        "notice" => Some(Severity::Low),
        "warning" | "warn" => Some(Severity::Medium),
        "error" | "err" => Some(Severity::High),
        "crit" | "alert" | "emerg" | "emergency" | "fatal" => Some(Severity::Critical),
        _ => t.parse().ok(),
    }
}

/// Epoch numbers below these magnitudes are seconds, milliseconds and microseconds; larger
/// ones nanoseconds.
const SECS_BELOW: f64 = 1e11;
const MILLIS_BELOW: f64 = 1e14;
const MICROS_BELOW: f64 = 1e17;

/// An epoch number (its decimal text) as a time, its unit chosen by magnitude.
fn epoch_of(text: &str) -> Result<Timestamp, String> {
    let bad = |why: &str| Err(format!("occurred_at: {text} {why}"));
    let Ok(x) = text.parse::<f64>() else {
        return bad("is not a number");
    };
    if !x.is_finite() {
        return bad("is not a finite number");
    }
    let whole = text.parse::<i64>().ok();
    let magnitude = x.abs();
    let (per_unit, unit) = if magnitude < SECS_BELOW {
        (1_000_000_000i64, "seconds")
    } else if magnitude < MILLIS_BELOW {
        (1_000_000, "milliseconds")
    } else if magnitude < MICROS_BELOW {
        (1_000, "microseconds")
    } else {
        (1, "nanoseconds")
    };
    match whole {
        Some(n) => n
            .checked_mul(per_unit)
            .map(Timestamp::from_nanos)
            .ok_or_else(|| format!("occurred_at: {text} {unit} is past the year 2262")),
        // Fractions only of seconds, where they are common (`1652292621.997`); they are kept
        // to the microsecond, the precision of an f64 at today's epoch.
        None if unit == "seconds" => Ok(Timestamp::from_nanos(
            ((x * 1e6).round() as i64).saturating_mul(1_000),
        )),
        None => bad(&format!(
            "is read as {unit} by its magnitude, and must then be a whole number that fits \
             a 64-bit integer of nanoseconds (before the year 2262)"
        )),
    }
}

fn timestamp_of(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::String(s)
            if s.trim()
                .starts_with(|c: char| c == '-' || c.is_ascii_digit())
                && s.trim().parse::<f64>().is_ok() =>
        {
            epoch_of(s.trim())
        }
        Value::String(s) => Timestamp::parse_rfc3339(s).map_err(|e| {
            format!(
                "occurred_at: {s:?} is neither RFC 3339 ({}) nor an epoch number",
                e.reason()
            )
        }),
        Value::Number(n) => epoch_of(&n.to_string()),
        other => Err(format!("occurred_at: {other} is not a time")),
    }
}

fn strings_of(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(as_text).collect(),
        other => vec![as_text(&other)],
    }
}

/// Fills the outcome or severity from the first alternative whose value is understood. None
/// understood but some value seen: an error naming the values, so that an unknown value is
/// never taken silently for the default.
fn understood(rule: &Rule, obj: &Map<String, Value>, e: &mut Event) -> Result<(), String> {
    let mut seen = Vec::new();
    for v in rule.alternatives.iter().filter_map(|a| a.value(obj)) {
        let text = as_text(&v);
        let placed = match rule.target {
            Target::Outcome => outcome_of(&text).map(|o| e.outcome = o),
            _ => severity_of(&text).map(|s| e.severity = s),
        };
        if placed.is_some() {
            return Ok(());
        }
        seen.push(text);
    }
    if seen.is_empty() {
        return Ok(());
    }
    let known = match rule.target {
        Target::Outcome => "success, failure, denied, error, AUDIT_SUCCESS, AUDIT_FAILURE, yes, no",
        _ => "info, low, medium, high, critical, or a syslog/Windows level such as WARNING",
    };
    Err(format!(
        "{}: {} not understood (expected {known}); to default on purpose end the rule with \
         a literal, e.g. --map '{}|\"{}\"'",
        rule.target.name(),
        seen.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        rule.text,
        if rule.target == Target::Outcome {
            "success"
        } else {
            "info"
        },
    ))
}

/// A complete mapping: at most one rule per target (a later rule replaces an earlier one).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    rules: Vec<Rule>,
}

impl Mapping {
    /// Adds `rule`, replacing a rule for the same target.
    pub fn set(&mut self, rule: Rule) {
        self.rules.retain(|r| r.target != rule.target);
        self.rules.push(rule);
    }

    /// The rules.
    #[cfg(test)]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the mapping fills the two required fields.
    pub fn missing_required(&self) -> Option<&'static str> {
        [Target::ActorId, Target::Action]
            .into_iter()
            .find(|t| !self.rules.iter().any(|r| r.target == *t))
            .map(Target::name)
    }

    /// Builds the event for `obj`; the whole object goes into `metadata.original`. An error
    /// names the field and why (e.g. a required field with no value).
    pub fn apply(&self, obj: Map<String, Value>) -> Result<Event, String> {
        let mut e = Event::default();
        let mut entity_type = None;
        let mut entity_id = None;
        let mut entity_name = None;
        for rule in &self.rules {
            if matches!(rule.target, Target::Outcome | Target::Severity) {
                understood(rule, &obj, &mut e)?;
                continue;
            }
            if matches!(rule.target, Target::Labels | Target::ChangedFields) {
                for v in rule.alternatives.iter().filter_map(|a| a.value(&obj)) {
                    match rule.target {
                        Target::Labels => e.labels.extend(strings_of(v)),
                        _ => e.changed_fields.extend(strings_of(v)),
                    }
                }
                continue;
            }
            let Some(v) = rule.alternatives.iter().find_map(|a| a.value(&obj)) else {
                continue;
            };
            let text = || as_text(&v);
            match rule.target {
                Target::OccurredAt => e.occurred_at = Some(timestamp_of(&v)?),
                Target::ActorId => e.actor.id = text(),
                Target::ActorKind => e.actor.kind = Some(text()),
                Target::ActorName => e.actor.name = Some(text()),
                Target::ActorEmail => e.actor.email = Some(text()),
                Target::Action => e.action = text(),
                Target::Outcome | Target::Severity => {}
                Target::ErrorMessage => e.error_message = Some(text()),
                Target::Entity => {
                    let t = text();
                    let (kind, id) = t.split_once(':').ok_or_else(|| {
                        format!("entity: {t:?} is not TYPE:ID (rule {})", rule.text)
                    })?;
                    entity_type = Some(kind.to_string());
                    entity_id = Some(id.to_string());
                }
                Target::EntityType => entity_type = Some(text()),
                Target::EntityId => entity_id = Some(text()),
                Target::EntityName => entity_name = Some(text()),
                Target::Tenant => e.tenant = Some(text()),
                Target::Ip => e.ip = Some(text()),
                Target::UserAgent => e.user_agent = Some(text()),
                Target::SessionId => e.session_id = Some(text()),
                Target::RequestId => e.request_id = Some(text()),
                Target::Source => e.source = Some(text()),
                Target::Labels | Target::ChangedFields => {}
                Target::Before => e.before = Some(v.into()),
                Target::After => e.after = Some(v.into()),
            }
        }
        if e.actor.id.is_empty() {
            return Err("no value for the actor: add a fallback such as \
                        --map 'actor=user|\"unknown\"'"
                .into());
        }
        if e.action.is_empty() {
            return Err("no value for the action: add a fallback to its --map rule".into());
        }
        // Half an entity is no entity; its value stays in `metadata.original`, and the event
        // is not lost for it.
        if let (Some(kind), Some(id)) = (entity_type, entity_id) {
            e.entity = Some(Entity {
                kind,
                id,
                name: entity_name,
            });
        }
        let mut metadata = Map::new();
        metadata.insert("original".into(), Value::Object(obj));
        e.metadata = Some(Value::Object(metadata).into());
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn mapping(rules: &[&str]) -> Mapping {
        let mut m = Mapping::default();
        for r in rules {
            m.set(Rule::parse(r).expect("a valid rule"));
        }
        m
    }

    #[test]
    fn alternatives_skip_missing_null_empty_and_dash() {
        let m = mapping(&["actor=a|b|/c/d|e|\"nobody\"", "action=x.y.1"]);
        let event = |v| m.apply(obj(v)).map(|e| e.actor.id);
        let x = json!({"y": [0, "act"]});
        assert_eq!(event(json!({"a": "alice", "x": x})), Ok("alice".into()));
        assert_eq!(
            event(json!({"a": "-", "b": "", "x": x})),
            Ok("nobody".into())
        );
        assert_eq!(
            event(json!({"a": null, "c": {"d": 5}, "x": x})),
            Ok("5".into())
        );
        assert_eq!(event(json!({"e": true, "x": x})), Ok("true".into()));
        assert!(event(json!({"a": "alice"})).is_err(), "no action");
    }

    #[test]
    fn templates_kv_text_and_pointers_escape() {
        let m = mapping(&[
            "actor=Msg#user",
            "action=win.{EventID}",
            "entity=file:{Msg#name}",
            "source=/a~1b/c~0d",
            "outcome=Msg#success",
            "severity=Level",
            "labels=tags",
            "occurred_at=ts",
        ]);
        let e = m
            .apply(obj(json!({
                "Msg": "type=X a0=1 user=tomcat success=no name=\"/usr/bin/my tool\" ses=-1",
                "EventID": 4625,
                "a/b": {"c~d": "host1"},
                "Level": "ERROR",
                "tags": ["t1", "t2"],
                "ts": "2020-10-22T08:29:48.785Z",
            })))
            .expect("maps");
        assert_eq!(e.actor.id, "tomcat");
        assert_eq!(e.action, "win.4625");
        assert_eq!(e.entity, Some(Entity::new("file", "/usr/bin/my tool")));
        assert_eq!(e.source.as_deref(), Some("host1"));
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.severity, Severity::High);
        assert_eq!(e.labels, ["t1", "t2"]);
        assert_eq!(
            e.occurred_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2020-10-22T08:29:48.785Z")
        );
        let metadata = e
            .metadata
            .as_ref()
            .expect("metadata")
            .to_value()
            .expect("a value");
        assert_eq!(metadata["original"]["EventID"], json!(4625));
    }

    #[test]
    fn a_template_with_a_missing_placeholder_gives_no_value() {
        let m = mapping(&["actor=\"a\"", "action=x", "entity=user:{T}|proc:{I}"]);
        let e = m
            .apply(obj(json!({"x": "go", "I": "cmd.exe"})))
            .expect("maps");
        assert_eq!(e.entity, Some(Entity::new("proc", "cmd.exe")));
    }

    #[test]
    fn bad_rules_and_bad_times_are_reported() {
        for bad in ["actor", "nosuch=a", "actor=", "actor={a", "actor=a#"] {
            assert!(Rule::parse(bad).is_err(), "{bad:?}");
        }
        let m = mapping(&["actor=\"a\"", "action=\"b\"", "occurred_at=t"]);
        assert!(m.apply(obj(json!({"t": "yesterday"}))).is_err());
        let ok = m.apply(obj(json!({"t": 1_600_000_000}))).expect("seconds");
        assert_eq!(
            ok.occurred_at,
            Some(Timestamp::from_unix_secs(1_600_000_000))
        );
    }

    #[test]
    fn outcome_and_severity_synonyms_and_unknown_values() {
        assert_eq!(outcome_of("AUDIT_FAILURE"), Some(Outcome::Failure));
        assert_eq!(outcome_of("denied"), Some(Outcome::Denied));
        assert_eq!(outcome_of("CreateKey"), None);
        assert_eq!(severity_of("WARNING"), Some(Severity::Medium));
        assert_eq!(severity_of("critical"), Some(Severity::Critical));
        assert_eq!(severity_of("loud"), None);
    }

    #[test]
    fn kv_lookup_reads_quoted_and_bare_values() {
        let text = "type=AUOMS_EXECVE audit(1.9:84): a=1 b=\"x y\" c= d=\"unterminated";
        assert_eq!(kv_lookup(text, "a").as_deref(), Some("1"));
        assert_eq!(kv_lookup(text, "b").as_deref(), Some("x y"));
        assert_eq!(kv_lookup(text, "c").as_deref(), Some(""));
        assert_eq!(kv_lookup(text, "d").as_deref(), Some("unterminated"));
        assert_eq!(kv_lookup(text, "type").as_deref(), Some("AUOMS_EXECVE"));
        assert_eq!(kv_lookup(text, "zz"), None);
    }
}
