//! Query filters as Python passes them (a dict of keyword arguments), into an engine
//! [`Query`].

use crate::errors::{IntoPy, raise};
use auditlog::query::{Cursor, Order, Query};
use auditlog::{Outcome, Severity, Timestamp};
use pyo3::conversion::FromPyObjectOwned;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The filters of `AuditLog.query` and `tail`. Times are nanoseconds since the Unix epoch
/// (the Python half converts `datetime`s and RFC 3339 text); `since` is inclusive, `until`
/// exclusive, both on `recorded_at`.
#[derive(Debug, Default)]
pub struct Filters {
    actor: Option<String>,
    action: Option<String>,
    action_prefix: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    severity: Option<String>,
    severity_at_least: Option<String>,
    outcome: Option<String>,
    tenant: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    label: Option<String>,
    text: Option<String>,
}

fn severity(name: &str, option: &str) -> PyResult<Severity> {
    name.parse().map_err(|_| {
        raise(
            "InvalidOption",
            format!(
                "invalid option `{option}`: {name:?} is not one of info, low, medium, high, critical"
            ),
        )
    })
}

/// The keys `Filters::from_dict` knows.
const KEYS: &[&str] = &[
    "actor",
    "action",
    "action_prefix",
    "since",
    "until",
    "severity",
    "severity_at_least",
    "outcome",
    "tenant",
    "entity_type",
    "entity_id",
    "label",
    "text",
];

impl Filters {
    /// Reads the filters from a dict; `None` values are absent filters, unknown keys are
    /// refused (a typo must not silently widen a query).
    pub(crate) fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        for key in d.keys() {
            let key: String = key.extract()?;
            if !KEYS.contains(&key.as_str()) {
                return Err(raise(
                    "InvalidOption",
                    format!(
                        "invalid option `{key}`: not a query filter (known: {})",
                        KEYS.join(", ")
                    ),
                ));
            }
        }
        fn item<T: for<'py> FromPyObjectOwned<'py>>(
            d: &Bound<'_, PyDict>,
            key: &str,
        ) -> PyResult<Option<T>> {
            match d.get_item(key)? {
                Some(v) if !v.is_none() => v.extract().map(Some).map_err(|_| {
                    raise(
                        "InvalidOption",
                        format!("invalid option `{key}`: wrong type"),
                    )
                }),
                _ => Ok(None),
            }
        }
        Ok(Filters {
            actor: item(d, "actor")?,
            action: item(d, "action")?,
            action_prefix: item(d, "action_prefix")?,
            since: item(d, "since")?,
            until: item(d, "until")?,
            severity: item(d, "severity")?,
            severity_at_least: item(d, "severity_at_least")?,
            outcome: item(d, "outcome")?,
            tenant: item(d, "tenant")?,
            entity_type: item(d, "entity_type")?,
            entity_id: item(d, "entity_id")?,
            label: item(d, "label")?,
            text: item(d, "text")?,
        })
    }

    pub(crate) fn query(
        self,
        limit: Option<usize>,
        cursor: Option<&str>,
        newest_first: bool,
    ) -> PyResult<Query> {
        let mut q = Query::new();
        if let Some(v) = self.actor {
            q = q.actor(v);
        }
        match (self.action, self.action_prefix) {
            (Some(_), Some(_)) => {
                return Err(raise(
                    "InvalidOption",
                    "invalid option `action_prefix`: give `action` or `action_prefix`, not both"
                        .into(),
                ));
            }
            (Some(v), None) => q = q.action(v),
            (None, Some(v)) => q = q.action_prefix(v),
            (None, None) => {}
        }
        if let Some(v) = self.since {
            q = q.recorded_since(Timestamp::from_nanos(v));
        }
        if let Some(v) = self.until {
            q = q.recorded_until(Timestamp::from_nanos(v));
        }
        match (self.severity, self.severity_at_least) {
            (Some(_), Some(_)) => {
                return Err(raise(
                    "InvalidOption",
                    "invalid option `severity_at_least`: give `severity` or `severity_at_least`, not both"
                        .into(),
                ));
            }
            (Some(v), None) => q = q.severity(severity(&v, "severity")?),
            (None, Some(v)) => q = q.severity_at_least(severity(&v, "severity_at_least")?),
            (None, None) => {}
        }
        if let Some(v) = self.outcome {
            let outcome: Outcome = v.parse().map_err(|_| {
                raise(
                    "InvalidOption",
                    format!(
                        "invalid option `outcome`: {v:?} is not one of success, failure, denied, error"
                    ),
                )
            })?;
            q = q.outcome(outcome);
        }
        if let Some(v) = self.tenant {
            q = q.tenant(v);
        }
        match (self.entity_type, self.entity_id) {
            (Some(kind), Some(id)) => q = q.entity(kind, id),
            (Some(kind), None) => q = q.entity_kind(kind),
            (None, Some(_)) => {
                return Err(raise(
                    "InvalidOption",
                    "invalid option `entity_id`: it needs `entity_type` too".into(),
                ));
            }
            (None, None) => {}
        }
        if let Some(v) = self.label {
            q = q.label(v);
        }
        if let Some(v) = self.text {
            q = q.text(v);
        }
        if newest_first {
            q = q.order(Order::NewestFirst);
        }
        if let Some(n) = limit {
            q = q.limit(n);
        }
        if let Some(text) = cursor {
            let cursor = text.parse::<Cursor>().py_err()?;
            q = q.after(cursor);
        }
        Ok(q)
    }
}
