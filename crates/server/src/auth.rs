//! Who may do what: [`Role`]s, tenants, and the [`Caller`] extractor.
//!
//! | role | may |
//! | --- | --- |
//! | writer | append (only for its tenants, if it has any) |
//! | reader | query, stats, export and stream its tenants' records (it always has tenants) |
//! | auditor | read every tenant, and proofs and checkpoints |
//! | admin | everything above |
//!
//! Personal data of a log with a privacy policy reads in clear only for tokens with the `pii`
//! permission (admins by default; `auditlog token add --pii` / `--no-pii` sets it per token),
//! masked for the others (`state::AppState::present`).
//!
//! A missing, malformed, unknown or revoked token is 401; a role or tenant that does not
//! allow the request is 403. A reader never sees another tenant's records, not even counted:
//! its tenants become a filter of every query it makes (see `filters.rs`).

use crate::error::Problem;
use crate::state::AppState;
use crate::tokens::TokenEntry;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Appends events.
    Writer,
    /// Reads its tenants' records.
    Reader,
    /// Reads every tenant; proofs and checkpoints.
    Auditor,
    /// Everything.
    Admin,
}

impl Role {
    /// The role's name, as `--role` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Reader => "reader",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "writer" => Ok(Role::Writer),
            "reader" => Ok(Role::Reader),
            "auditor" => Ok(Role::Auditor),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role {s:?}: give writer, reader, auditor or admin"
            )),
        }
    }
}

/// The authenticated caller of a request. Taking it as a handler argument makes the route
/// need a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's public id.
    pub id: String,
    /// The token's name, if it has one.
    pub name: Option<String>,
    /// Its role.
    pub role: Role,
    /// Its tenants (empty: every tenant; readers always have some).
    pub tenants: Vec<String>,
    /// Whether it reads personal data in clear (the `pii` permission; see [`TokenEntry::pii`]).
    pub pii: bool,
}

impl Caller {
    /// The caller a store entry authenticates.
    pub fn from_entry(entry: &TokenEntry) -> Self {
        Caller {
            id: entry.id.clone(),
            name: entry.name.clone(),
            role: entry.role,
            tenants: entry.tenants.clone(),
            pii: entry.may_read_pii(),
        }
    }

    fn refuse(&self, what: &str, roles: &str) -> Problem {
        Problem::forbidden(format!(
            "token {} is a {} token: {what} needs {roles}",
            self.id, self.role
        ))
    }

    /// Appending events: writers and admins.
    pub fn require_writer(&self) -> Result<(), Problem> {
        match self.role {
            Role::Writer | Role::Admin => Ok(()),
            _ => Err(self.refuse("appending events", "a writer or admin token")),
        }
    }

    /// Reading records, stats, exports and streams: readers, auditors and admins.
    pub fn require_reader(&self) -> Result<(), Problem> {
        match self.role {
            Role::Reader | Role::Auditor | Role::Admin => Ok(()),
            _ => Err(self.refuse("reading records", "a reader, auditor or admin token")),
        }
    }

    /// Administration that changes the log (erasure): admins only.
    pub fn require_admin(&self) -> Result<(), Problem> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(self.refuse("this administration", "an admin token")),
        }
    }

    /// Proofs and checkpoints: auditors and admins.
    pub fn require_auditor(&self) -> Result<(), Problem> {
        match self.role {
            Role::Auditor | Role::Admin => Ok(()),
            _ => Err(self.refuse("proofs and checkpoints", "an auditor or admin token")),
        }
    }

    /// The tenants this caller's reads are limited to; `None`: every tenant.
    pub fn read_scope(&self) -> Option<&[String]> {
        match self.role {
            Role::Reader => Some(&self.tenants),
            Role::Auditor | Role::Admin if !self.tenants.is_empty() => Some(&self.tenants),
            _ => None,
        }
    }

    /// Whether this caller may see a record of `tenant` (`None`: a record without one).
    pub fn may_see(&self, tenant: Option<&str>) -> bool {
        match self.read_scope() {
            None => true,
            Some(scope) => tenant.is_some_and(|t| scope.iter().any(|s| s == t)),
        }
    }

    /// Whether this caller may append a record of `tenant`.
    pub fn may_write(&self, tenant: Option<&str>) -> bool {
        self.tenants.is_empty() || tenant.is_some_and(|t| self.tenants.iter().any(|s| s == t))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            return Err(Problem::unauthorized(
                "this endpoint needs a token: send `Authorization: Bearer <secret>` (make one \
                 with `auditlog token add`)",
            ));
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header is not `Bearer <secret>`")
            })?;
        let store = state.tokens().current();
        let entry = store.authenticate(secret).ok_or_else(|| {
            state.metrics().auth_failures.inc();
            Problem::unauthorized("the token is unknown or revoked")
        })?;
        Ok(Caller::from_entry(entry))
    }
}
