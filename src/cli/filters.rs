//! The filter flags shared by `query`, `tail`, `export` and `stats`. Times are read as
//! `journalctl --since` reads them (see [`when`](super::when)).

use super::CliError;
use super::when::{self, Clock};
use auditlog::query::{Query, TimeField};
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

/// Every filter of the query API, as flags. All given filters must hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Only events by this actor id (exact).
    #[arg(long, value_name = "ID")]
    pub actor: Option<String>,
    /// Only events on this entity: `TYPE:ID`, or `TYPE` for any entity of that type.
    #[arg(long, value_name = "TYPE[:ID]")]
    pub entity: Option<String>,
    /// Only this action (exact); end it with `*` for a prefix (`--action 'windows.46*'`).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only this tenant.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Only this severity (info, low, medium, high, critical); end it with `+` for "at
    /// least" (`--severity high+`).
    #[arg(long, value_name = "SEVERITY[+]")]
    pub severity: Option<String>,
    /// Only this outcome (success, failure, denied, error).
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<Outcome>,
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
        if let Some(actor) = &self.actor {
            q = q.actor(actor);
        }
        if let Some(entity) = &self.entity {
            q = match entity.split_once(':') {
                Some((kind, id)) => q.entity(kind, id),
                None => q.entity_kind(entity),
            };
        }
        if let Some(action) = &self.action {
            q = match action.strip_suffix('*') {
                Some(prefix) => q.action_prefix(prefix),
                None => q.action(action),
            };
        }
        if let Some(tenant) = &self.tenant {
            q = q.tenant(tenant);
        }
        if let Some(severity) = &self.severity {
            q = match severity.strip_suffix('+') {
                Some(s) => q.severity_at_least(parse_severity(s)?),
                None => q.severity(parse_severity(severity)?),
            };
        }
        if let Some(outcome) = self.outcome {
            q = q.outcome(outcome);
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

fn parse_severity(s: &str) -> Result<Severity, CliError> {
    s.parse()
        .map_err(|e| CliError::Usage(format!("--severity: {e}")))
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
            actor: Some("alice".into()),
            action: Some("windows.46*".into()),
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
