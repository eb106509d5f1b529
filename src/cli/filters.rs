//! The filter flags shared by `query`, `tail`, `export` and `stats`, and how times given on
//! the command line are read (RFC 3339, a date, or a duration before now such as `24h`).

use super::CliError;
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
    /// Only events at or after this time: RFC 3339, a date (`2024-05-01`, UTC midnight), or a
    /// duration before now (`30m`, `24h`, `7d`, `2w`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Which time --since and --until compare.
    #[arg(long, value_enum, default_value_t, value_name = "FIELD")]
    pub time_field: TimeFieldArg,
}

impl FilterArgs {
    /// The query these flags describe (oldest first, no limit).
    pub fn to_query(&self) -> Result<Query, CliError> {
        self.to_query_at(Timestamp::now())
    }

    /// Like [`to_query`](Self::to_query), with relative times counted back from `now`.
    pub fn to_query_at(&self, now: Timestamp) -> Result<Query, CliError> {
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
            .map(|s| parse_time(s, now))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|s| parse_time(s, now))
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

/// Reads a time from the command line: RFC 3339 (`2024-05-01T12:00:00Z`), a date
/// (`2024-05-01`, meaning UTC midnight), `now`, or a duration before `now`: a whole number
/// followed by `s`, `m`, `h`, `d` or `w` (`90s`, `30m`, `24h`, `7d`, `2w`).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, CliError> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(ago) = parse_duration_nanos(text) {
        return Ok(Timestamp::from_nanos(now.as_nanos().saturating_sub(ago)));
    }
    let full = if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    Timestamp::parse_rfc3339(&full).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the time {text:?} ({}): give RFC 3339 (2024-05-01T12:00:00Z), a date \
             (2024-05-01) or a duration before now (30m, 24h, 7d)",
            e.reason()
        ))
    })
}

/// `24h` and the like, in nanoseconds; `None` if `text` is not of that form.
fn parse_duration_nanos(text: &str) -> Option<i64> {
    let unit_at = text.len().checked_sub(1)?;
    let (number, unit) = text.split_at(unit_at);
    let secs: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    Some(n.saturating_mul(secs).saturating_mul(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_every_documented_form() {
        let now = Timestamp::parse_rfc3339("2024-05-10T12:00:00Z").expect("valid");
        let at = |s: &str| parse_time(s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("24h").ok().as_deref(), Some("2024-05-09T12:00:00Z"));
        assert_eq!(at("30m").ok().as_deref(), Some("2024-05-10T11:30:00Z"));
        assert_eq!(at("7d").ok().as_deref(), Some("2024-05-03T12:00:00Z"));
        assert_eq!(at("2w").ok().as_deref(), Some("2024-04-26T12:00:00Z"));
        assert_eq!(at("90s").ok().as_deref(), Some("2024-05-10T11:58:30Z"));
        assert_eq!(at("now").ok().as_deref(), Some("2024-05-10T12:00:00Z"));
        assert_eq!(
            at("2024-05-01").ok().as_deref(),
            Some("2024-05-01T00:00:00Z")
        );
        assert_eq!(
            at("2024-05-01T14:00:00+02:00").ok().as_deref(),
            Some("2024-05-01T12:00:00Z")
        );
        for bad in ["", "h", "-5h", "5y", "yesterday", "2024-13-01", "1.5h"] {
            assert!(
                matches!(parse_time(bad, now), Err(CliError::Usage(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn filters_become_the_query_they_name() {
        let now = Timestamp::from_unix_secs(1_000_000);
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
