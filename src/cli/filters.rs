//! The filter flags shared by `query`, `tail`, `export` and `stats`. Times are read as
//! `journalctl --since` reads them (see [`when`](super::when)).

use super::CliError;
use super::when::{self, Clock};
use auditlog::query::{Field, Pattern, Query, TimeField};
use auditlog::{Outcome, Severity, Timestamp};

/// Which time `--since` / `--until` compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeFieldArg {
    /// When the log accepted the event (the default; indexed).
    #[default]
    Recorded,
    /// When the event happened, by its producer (`occurred_at`; imported events keep theirs).
    Occurred,
}

/// Every filter of the query API, as flags. All given filters must hold; a flag given twice,
/// or a comma-separated list where noted, matches any of its values (OR); each `--not-*` flag
/// excludes what it names.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Only events by this actor id; `*` and `?` are wildcards (`--actor '*stevie*'`).
    /// Repeat for any of several.
    #[arg(long, value_name = "ID")]
    pub actor: Vec<String>,
    /// No events by this actor id (wildcards allowed; repeatable).
    #[arg(long, value_name = "ID")]
    pub not_actor: Vec<String>,
    /// Only events on this entity: `TYPE:ID`, or `TYPE` for any entity of that type;
    /// wildcards allowed (`file:/etc/*`). Repeat for any of several.
    #[arg(long, value_name = "TYPE[:ID]")]
    pub entity: Vec<String>,
    /// No events on this entity (same forms as --entity; repeatable).
    #[arg(long, value_name = "TYPE[:ID]")]
    pub not_entity: Vec<String>,
    /// Only this action; wildcards allowed (`--action 'windows.46*'`), a comma-separated list
    /// for any of several (`--action LOGIN,LOGOUT`).
    #[arg(long, value_name = "ACTION[,...]", value_delimiter = ',')]
    pub action: Vec<String>,
    /// No events with this action (wildcards and lists allowed: `--not-action LOGIN`).
    #[arg(long, value_name = "ACTION[,...]", value_delimiter = ',')]
    pub not_action: Vec<String>,
    /// Compare actor, entity, action and the text filters below ignoring case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Only this tenant.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Only this severity (info, low, medium, high, critical): end it with `+` for "at
    /// least" (`--severity high+`), or give a list (`--severity high,critical`).
    #[arg(long, value_name = "SEVERITY[+|,...]")]
    pub severity: Option<String>,
    /// No events of these severities (a comma-separated list).
    #[arg(long, value_name = "SEVERITY[,...]", value_delimiter = ',')]
    pub not_severity: Vec<String>,
    /// Only this outcome (success, failure, denied, error), or any of a list
    /// (`--outcome failure,denied`).
    #[arg(long, value_name = "OUTCOME[,...]", value_delimiter = ',')]
    pub outcome: Vec<String>,
    /// No events with these outcomes (a comma-separated list).
    #[arg(long, value_name = "OUTCOME[,...]", value_delimiter = ',')]
    pub not_outcome: Vec<String>,
    /// Only events from this client IP address (wildcards allowed: `'192.0.2.*'`;
    /// repeatable).
    #[arg(long, value_name = "IP")]
    pub ip: Vec<String>,
    /// Only events emitted by this service (wildcards allowed; repeatable).
    #[arg(long, value_name = "NAME")]
    pub source: Vec<String>,
    /// Only events of this request id (wildcards allowed; repeatable).
    #[arg(long, value_name = "ID")]
    pub request_id: Vec<String>,
    /// Only events of this session id (wildcards allowed; repeatable).
    #[arg(long, value_name = "ID")]
    pub session_id: Vec<String>,
    /// Only events whose FIELD is VALUE (`!=` for "is not"): FIELD is `metadata.PATH`,
    /// `before.PATH` or `after.PATH` (keys or array indexes joined by `.`), or a field name
    /// (`user_agent`, `tenant`, `actor.kind`, ...). A JSON string compares as its text,
    /// any other value as its JSON (`--where metadata.EventID=10` matches 10 and "10");
    /// wildcards allowed. Repeatable; all must hold.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub where_: Vec<String>,
    /// Only events carrying this label.
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Only events containing this text (case-insensitive, in any text field or JSON value).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Only events at or after this time, as journalctl takes it: `today`, `yesterday`, `now`,
    /// `-1h`, `1h30m` (before now), `'5min ago'`, `2023-09-06 07:20:00` (local time; end with
    /// `Z`, ` UTC` or `+02:00` for another zone), RFC 3339, or epoch seconds `@1700000000`.
    #[arg(
        long,
        visible_alias = "from",
        value_name = "TIME",
        allow_hyphen_values = true
    )]
    pub since: Option<String>,
    /// Only events before this time (same forms as --since).
    #[arg(
        long,
        visible_alias = "to",
        value_name = "TIME",
        allow_hyphen_values = true
    )]
    pub until: Option<String>,
    /// Which time --since and --until compare.
    #[arg(long, value_enum, default_value_t, value_name = "FIELD")]
    pub time_field: TimeFieldArg,
}

impl FilterArgs {
    /// The query these flags describe (oldest first, no limit).
    pub fn to_query(&self) -> Result<Query, CliError> {
        self.to_query_at(Clock::system())
    }

    /// Like [`to_query`](Self::to_query), with times read against `clock`.
    pub fn to_query_at(&self, now: Clock) -> Result<Query, CliError> {
        let mut q = Query::new();
        let pattern = |text: &str| {
            let p = Pattern::wildcard(text);
            if self.ignore_case { p.ignore_case() } else { p }
        };
        let patterns = |values: &[String]| values.iter().map(|v| pattern(v)).collect::<Vec<_>>();
        // One exact value keeps the indexed (or summary-skipped) filter.
        match self.actor.as_slice() {
            [] => {}
            [one] if is_exact(one, self.ignore_case) => q = q.actor(one),
            many => q = q.any_of(Field::Actor, patterns(many)),
        }
        if !self.not_actor.is_empty() {
            q = q.none_of(Field::Actor, patterns(&self.not_actor));
        }
        match self.entity.as_slice() {
            [] => {}
            [one] if is_exact(one, self.ignore_case) => {
                q = match one.split_once(':') {
                    Some((kind, id)) => q.entity(kind, id),
                    None => q.entity_kind(one),
                }
            }
            many => {
                q = q.any_of(
                    Field::Entity,
                    many.iter().map(|e| entity_pattern(e, pattern)),
                )
            }
        }
        if !self.not_entity.is_empty() {
            let ps = self.not_entity.iter().map(|e| entity_pattern(e, pattern));
            q = q.none_of(Field::Entity, ps);
        }
        match self.action.as_slice() {
            [] => {}
            [one] if is_exact(one, self.ignore_case) => q = q.action(one),
            [one]
                if !self.ignore_case
                    && one.strip_suffix('*').is_some_and(|p| is_exact(p, false)) =>
            {
                q = q.action_prefix(&one[..one.len() - 1])
            }
            many => q = q.any_of(Field::Action, patterns(many)),
        }
        if !self.not_action.is_empty() {
            q = q.none_of(Field::Action, patterns(&self.not_action));
        }
        if let Some(tenant) = &self.tenant {
            q = q.tenant(tenant);
        }
        if let Some(severity) = &self.severity {
            q = match (severity.strip_suffix('+'), severity.contains(',')) {
                (Some(s), false) => q.severity_at_least(parse_severity(s)?),
                (None, false) => q.severity(parse_severity(severity)?),
                (_, true) => {
                    let list: Vec<String> = severity.split(',').map(str::to_string).collect();
                    q.any_of(Field::Severity, severities(&list)?)
                }
            };
        }
        if !self.not_severity.is_empty() {
            q = q.none_of(Field::Severity, severities(&self.not_severity)?);
        }
        match self.outcome.as_slice() {
            [] => {}
            [one] => q = q.outcome(parse_outcome(one)?),
            many => q = q.any_of(Field::Outcome, outcomes(many)?),
        }
        if !self.not_outcome.is_empty() {
            q = q.none_of(Field::Outcome, outcomes(&self.not_outcome)?);
        }
        for (field, values) in [
            (Field::Ip, &self.ip),
            (Field::Source, &self.source),
            (Field::RequestId, &self.request_id),
            (Field::SessionId, &self.session_id),
        ] {
            if !values.is_empty() {
                q = q.any_of(field, patterns(values));
            }
        }
        for clause in &self.where_ {
            // The first `=` ends the field (a value may hold `=` or `!=` itself).
            let Some((name, value)) = clause.split_once('=') else {
                return Err(CliError::Usage(format!(
                    "--where {clause:?}: give FIELD=VALUE or FIELD!=VALUE \
                     (e.g. metadata.EventID=10)"
                )));
            };
            let (name, negated) = match name.strip_suffix('!') {
                Some(n) => (n, true),
                None => (name, false),
            };
            let field = Field::parse(name).ok_or_else(|| {
                CliError::Usage(format!(
                    "--where {clause:?}: unknown field {name:?}; give metadata.PATH, \
                     before.PATH, after.PATH or one of {FIELD_NAMES}"
                ))
            })?;
            let p = [pattern(value)];
            q = if negated {
                q.none_of(field, p)
            } else {
                q.any_of(field, p)
            };
        }
        if let Some(label) = &self.label {
            q = q.label(label);
        }
        if let Some(text) = &self.text {
            q = q.text(text);
        }
        let field = match self.time_field {
            TimeFieldArg::Recorded => TimeField::Recorded,
            TimeFieldArg::Occurred => TimeField::Occurred,
        };
        let since = self
            .since
            .as_deref()
            .map(|s| when::parse(s, now))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|s| when::parse(s, now))
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(CliError::Usage(format!(
                "--since ({s}) is not before --until ({u}): nothing can match"
            )));
        }
        q = q.time_range(
            field,
            since.unwrap_or(Timestamp::MIN),
            until.unwrap_or(Timestamp::MAX),
        );
        Ok(q)
    }
}

/// The field names `--where` and `stats --by` take besides JSON paths.
pub const FIELD_NAMES: &str = "actor, actor.kind, action, entity, entity.kind, entity.id, \
     tenant, severity, outcome, ip, source, request_id, session_id, user_agent";

/// Whether `value` has no wildcard and case matters: then the exact filter serves it.
fn is_exact(value: &str, ignore_case: bool) -> bool {
    !ignore_case && !value.contains(['*', '?'])
}

/// `TYPE:ID` compares with the entity as written; a bare `TYPE` means any id of that type.
fn entity_pattern(entity: &str, pattern: impl Fn(&str) -> Pattern) -> Pattern {
    match entity.contains(':') {
        true => pattern(entity),
        false => pattern(&format!("{entity}:*")),
    }
}

fn parse_severity(s: &str) -> Result<Severity, CliError> {
    s.trim()
        .parse()
        .map_err(|e| CliError::Usage(format!("--severity: {e}")))
}

fn parse_outcome(s: &str) -> Result<Outcome, CliError> {
    s.trim()
        .parse()
        .map_err(|e| CliError::Usage(format!("--outcome: {e}")))
}

/// Severity names as exact patterns, each checked to be one.
fn severities(list: &[String]) -> Result<Vec<Pattern>, CliError> {
    list.iter()
        .map(|s| parse_severity(s).map(|s| Pattern::exact(s.to_string())))
        .collect()
}

/// Outcome names as exact patterns, each checked to be one.
fn outcomes(list: &[String]) -> Result<Vec<Pattern>, CliError> {
    list.iter()
        .map(|s| parse_outcome(s).map(|o| Pattern::exact(o.to_string())))
        .collect()
}

/// Reads a time from the command line in the machine's zone (see [`when`]).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, CliError> {
    when::parse(text, Clock::local_at(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_query_they_name() {
        let now = Clock {
            now: Timestamp::from_unix_secs(1_000_000),
            zone: when::Zone::Fixed(0),
        };
        let args = FilterArgs {
            actor: vec!["alice".into()],
            action: vec!["windows.46*".into()],
            severity: Some("high+".into()),
            since: Some("1h".into()),
            ..FilterArgs::default()
        };
        let expected = Query::new()
            .actor("alice")
            .action_prefix("windows.46")
            .severity_at_least(Severity::High)
            .time_range(
                TimeField::Recorded,
                Timestamp::from_unix_secs(1_000_000 - 3_600),
                Timestamp::MAX,
            );
        assert_eq!(args.to_query_at(now).ok(), Some(expected));
        // A wildcard, a list or -i leaves the index for a pattern filter; one exact value
        // keeps it.
        let wild = FilterArgs {
            actor: vec!["*stevie*".into()],
            action: vec!["LOGIN".into(), "LOGOUT".into()],
            ignore_case: true,
            ..FilterArgs::default()
        };
        let expected = Query::new()
            .any_of(Field::Actor, [Pattern::wildcard("*stevie*").ignore_case()])
            .any_of(
                Field::Action,
                [
                    Pattern::exact("LOGIN").ignore_case(),
                    Pattern::exact("LOGOUT").ignore_case(),
                ],
            )
            .time_range(TimeField::Recorded, Timestamp::MIN, Timestamp::MAX);
        assert_eq!(wild.to_query_at(now).ok(), Some(expected));
        let backwards = FilterArgs {
            since: Some("1h".into()),
            until: Some("2h".into()),
            ..FilterArgs::default()
        };
        assert!(matches!(
            backwards.to_query_at(now),
            Err(CliError::Usage(_))
        ));
    }
}
