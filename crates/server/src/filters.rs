//! Query-string parameters: [`Params`] (an extractor whose rejection is problem+json) and
//! [`Filters`], the query API's filters read from them into an engine
//! [`Query`], with the caller's tenant scope added.
//!
//! Filter parameters (each at most once): `since`, `until` (RFC 3339, half-open
//! `[since, until)`), `time_field` (`recorded`, the default, or `occurred`), `actor`,
//! `entity_type`, `entity_id` (with `entity_type`), `action`, `action_prefix`, `tenant`,
//! `outcome`, `severity` (exact), `min_severity` (at least), `label`, `text`. An unknown
//! parameter is a 400 naming it, never ignored: a mistyped filter must not widen a query.

use crate::auth::Caller;
use crate::error::Problem;
use auditlog::query::{Field, Pattern, Query, TimeField};
use auditlog::{Outcome, Severity, Timestamp};
use axum::extract::{FromRequestParts, Query as UrlQuery};
use axum::http::request::Parts;
use serde_json::{Map, Value};

/// The filter parameters every reading endpoint takes.
pub const FILTER_PARAMS: [&str; 14] = [
    "since",
    "until",
    "time_field",
    "actor",
    "entity_type",
    "entity_id",
    "action",
    "action_prefix",
    "tenant",
    "outcome",
    "severity",
    "min_severity",
    "label",
    "text",
];

/// The decoded query string, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let UrlQuery(pairs) = UrlQuery::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                Problem::bad_request(
                    "bad-parameter",
                    format!("the query string cannot be read: {e}"),
                )
            })?;
        Ok(Params(pairs))
    }
}

impl Params {
    /// The value of `name`, if given (given twice is a 400).
    pub fn get(&self, name: &str) -> Result<Option<&str>, Problem> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(Problem::bad_request(
                "bad-parameter",
                format!("`{name}` is given more than once: give it at most once"),
            )
            .with("parameter", name));
        }
        Ok(first)
    }

    /// `name` read with `parse`, whose error text ends the message.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Problem> {
        self.get(name)?
            .map(|v| {
                parse(v).map_err(|why| {
                    Problem::bad_request("bad-parameter", format!("`{name}={v}`: {why}"))
                        .with("parameter", name)
                })
            })
            .transpose()
    }

    /// 400 for the first parameter that is neither a filter nor one of `extra`.
    pub fn refuse_unknown(&self, extra: &[&str]) -> Result<(), Problem> {
        let known = |k: &str| FILTER_PARAMS.contains(&k) || extra.contains(&k);
        match self.0.iter().find(|(k, _)| !known(k)) {
            None => Ok(()),
            Some((k, _)) => {
                let mut names: Vec<&str> = FILTER_PARAMS.to_vec();
                names.extend_from_slice(extra);
                Err(Problem::bad_request(
                    "unknown-filter",
                    format!(
                        "unknown parameter `{k}`: this endpoint takes {}",
                        names.join(", ")
                    ),
                )
                .with("parameter", k.as_str()))
            }
        }
    }

    /// The parameters as a JSON object, for the `audit.read` event.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.0 {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        Value::Object(m)
    }
}

fn rfc3339(v: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(v).map_err(|e| {
        format!(
            "{} (give an RFC 3339 time such as 2026-12-01T08:00:00Z)",
            e.reason()
        )
    })
}

/// The query the filter parameters describe, limited to what `caller` may see. Checks that
/// no parameter outside the filters and `extra` was given.
pub fn to_query(params: &Params, extra: &[&str], caller: &Caller) -> Result<Query, Problem> {
    params.refuse_unknown(extra)?;
    let mut q = Query::new();
    let field = match params.get("time_field")? {
        None | Some("recorded") => TimeField::Recorded,
        Some("occurred") => TimeField::Occurred,
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                format!("`time_field={other}`: give recorded or occurred"),
            )
            .with("parameter", "time_field"));
        }
    };
    let since = params.parsed("since", rfc3339)?;
    let until = params.parsed("until", rfc3339)?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(Problem::bad_request(
            "bad-parameter",
            format!("`since` ({s}) is not before `until` ({u}): nothing can match"),
        )
        .with("parameter", "since"));
    }
    if since.is_some() || until.is_some() {
        q = q.time_range(
            field,
            since.unwrap_or(Timestamp::MIN),
            until.unwrap_or(Timestamp::MAX),
        );
    }
    if let Some(actor) = params.get("actor")? {
        q = q.actor(actor);
    }
    match (params.get("entity_type")?, params.get("entity_id")?) {
        (Some(kind), Some(id)) => q = q.entity(kind, id),
        (Some(kind), None) => q = q.entity_kind(kind),
        (None, Some(_)) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "`entity_id` needs `entity_type` (an entity is named by both)",
            )
            .with("parameter", "entity_id"));
        }
        (None, None) => {}
    }
    match (params.get("action")?, params.get("action_prefix")?) {
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "give `action` or `action_prefix`, not both",
            )
            .with("parameter", "action_prefix"));
        }
        (Some(a), None) => q = q.action(a),
        (None, Some(p)) => q = q.action_prefix(p),
        (None, None) => {}
    }
    if let Some(o) = params.parsed("outcome", |v| {
        v.parse::<Outcome>().map_err(|e| e.to_string())
    })? {
        q = q.outcome(o);
    }
    let severity = |v: &str| v.parse::<Severity>().map_err(|e| e.to_string());
    match (
        params.parsed("severity", severity)?,
        params.parsed("min_severity", severity)?,
    ) {
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                "give `severity` or `min_severity`, not both",
            )
            .with("parameter", "min_severity"));
        }
        (Some(s), None) => q = q.severity(s),
        (None, Some(s)) => q = q.severity_at_least(s),
        (None, None) => {}
    }
    if let Some(label) = params.get("label")? {
        q = q.label(label);
    }
    if let Some(text) = params.get("text")? {
        q = q.text(text);
    }
    let tenant = params.get("tenant")?;
    match (caller.read_scope(), tenant) {
        (None, Some(t)) => q = q.tenant(t),
        (None, None) => {}
        (Some(scope), Some(t)) if scope.iter().any(|s| s == t) => q = q.tenant(t),
        (Some(_), Some(t)) => {
            return Err(Problem::forbidden(format!(
                "token {} may not read tenant {t:?}",
                caller.id
            ))
            .with("parameter", "tenant"));
        }
        (Some([one]), None) => q = q.tenant(one),
        (Some(scope), None) => {
            q = q.any_of(Field::Tenant, scope.iter().map(Pattern::exact));
        }
    }
    Ok(q)
}
