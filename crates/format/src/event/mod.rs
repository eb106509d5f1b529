//! The event model: what an audit event says, and the [`Record`] the log stores it as.
//!
//! An [`Event`] is built by the producer (`Event::new("alice", "login").outcome(...)`), checked
//! by [`Event::validate`] against [`EventLimits`], and encoded to a compact binary payload by the
//! codec (`docs/FORMAT.md §3` describes the bytes). The log assigns a sequence number and a
//! `recorded_at` time, which together with the event make a [`Record`].
//!
//! JSON (for import, export and query results) is produced and read by hand-written serde
//! implementations in `json.rs`: absent optional fields are omitted, unknown keys are errors.
//! The JSON values inside an event (`before`, `after`, `metadata`) are [`JsonText`]s: checked
//! JSON text, kept byte for byte, parsed only on demand.

// The only unsafe here: taking bytes checked to be ASCII as a `str` (see the module).
#[allow(unsafe_code)]
mod ascii_str;
#[doc(hidden)]
pub mod codec;
#[cfg(test)]
mod damage;
mod event_view;
mod json;
mod json_scan;
mod json_text;
mod kinds;
mod lazy_record;
mod validate;
mod wire_walk;
mod wire_write;

use serde_json::Value;

use crate::timestamp::Timestamp;

pub use codec::{PAYLOAD_VERSION, PayloadError};
#[allow(
    unused_imports,
    reason = "the crate's record and writer modules use these"
)]
pub use codec::{decode_payload, encode_payload, encode_payload_into};
pub use event_view::Layout;
pub use event_view::{EntityView, EventView, StrList};
pub use json::{EVENT_KEYS, json_error_hint};
pub use json_text::{JsonText, JsonTextError};
pub use kinds::{Outcome, ParseEnumError, Severity};
pub use lazy_record::{LazyRecord, RecordView};
pub use validate::EventLimits;
pub use wire_walk::actor_id_bytes;

/// Who performed the action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Actor {
    /// Stable identifier of the actor (user id, service account, `"system"`). Required.
    pub id: String,
    /// What kind of actor this is, e.g. `"user"`, `"service"`, `"api_key"`.
    pub kind: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
}

impl Actor {
    /// An actor with only an id.
    pub fn new(id: impl Into<String>) -> Self {
        Actor {
            id: id.into(),
            ..Actor::default()
        }
    }
}

/// What the action was performed on. In JSON `kind` is spelled `"type"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Entity {
    /// The entity's type, e.g. `"order"`, `"user"`, `"document"`. Required.
    pub kind: String,
    /// The entity's identifier within its type. Required.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
}

impl Entity {
    /// An entity with a type and an id.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Entity {
            kind: kind.into(),
            id: id.into(),
            name: None,
        }
    }
}

/// One audit event, as the producer describes it.
///
/// Only `actor.id` and `action` are required; [`Event::validate`] lists every rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// When the action happened, by the producer's clock. The log also records its own
    /// `recorded_at` time in the [`Record`].
    pub occurred_at: Option<Timestamp>,
    /// Who performed the action.
    pub actor: Actor,
    /// What was done, e.g. `"order.status_change"` or `"LOGIN_FAILED"`. Required.
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, for outcomes other than success.
    pub error_message: Option<String>,
    /// How important it is.
    pub severity: Severity,
    /// What it was done to.
    pub entity: Option<Entity>,
    /// The tenant (customer, organisation) in a multi-tenant system.
    pub tenant: Option<String>,
    /// The client's IP address, as text.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The session the action belongs to.
    pub session_id: Option<String>,
    /// The request that performed the action (for correlation with other logs).
    pub request_id: Option<String>,
    /// The service that emitted the event.
    pub source: Option<String>,
    /// The entity's state before the action, as JSON text. A JSON `null` is kept apart from
    /// `None`.
    pub before: Option<JsonText>,
    /// The entity's state after the action, as JSON text. A JSON `null` is kept apart from
    /// `None`.
    pub after: Option<JsonText>,
    /// Names (or JSON paths) of the fields the action changed.
    pub changed_fields: Vec<String>,
    /// Compliance tags (`"SOX"`, `"PCI"`, `"GDPR"`) and data classification.
    pub labels: Vec<String>,
    /// Anything else, as the text of a JSON object (key order and number spelling are kept);
    /// [`Event::validate`] refuses any other JSON value here.
    pub metadata: Option<JsonText>,
}

impl Event {
    /// An event with the two required fields; everything else is empty or default.
    pub fn new(actor_id: impl Into<String>, action: impl Into<String>) -> Self {
        Event {
            actor: Actor::new(actor_id),
            action: action.into(),
            ..Event::default()
        }
    }

    /// Sets when the action happened.
    #[must_use]
    pub fn occurred_at(mut self, at: Timestamp) -> Self {
        self.occurred_at = Some(at);
        self
    }

    /// Sets the actor's kind (`"user"`, `"service"`, ...).
    #[must_use]
    pub fn actor_kind(mut self, kind: impl Into<String>) -> Self {
        self.actor.kind = Some(kind.into());
        self
    }

    /// Sets the actor's display name.
    #[must_use]
    pub fn actor_name(mut self, name: impl Into<String>) -> Self {
        self.actor.name = Some(name.into());
        self
    }

    /// Sets the actor's e-mail address.
    #[must_use]
    pub fn actor_email(mut self, email: impl Into<String>) -> Self {
        self.actor.email = Some(email.into());
        self
    }

    /// Sets how the action ended.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Sets why the action failed.
    #[must_use]
    pub fn error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// Sets the severity.
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the entity's type and id, keeping a name set earlier by [`Event::entity_name`].
    #[must_use]
    pub fn entity(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        let name = self.entity.take().and_then(|e| e.name);
        self.entity = Some(Entity {
            kind: kind.into(),
            id: id.into(),
            name,
        });
        self
    }

    /// Sets the entity's display name. Call [`Event::entity`] too: an entity without a type
    /// and an id fails validation.
    #[must_use]
    pub fn entity_name(mut self, name: impl Into<String>) -> Self {
        self.entity.get_or_insert_with(Entity::default).name = Some(name.into());
        self
    }

    /// Sets the tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sets the client's IP address.
    #[must_use]
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets the client's user agent.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sets the session id.
    #[must_use]
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the service that emitted the event.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the entity's state before the action, printed as compact JSON. For numbers a
    /// `Value` cannot hold exactly, set the `before` field to a [`JsonText`] parsed from the
    /// text.
    #[must_use]
    pub fn before(mut self, before: impl Into<Value>) -> Self {
        self.before = Some(JsonText::from(before.into()));
        self
    }

    /// Sets the entity's state after the action, printed as compact JSON (see
    /// [`Event::before`]).
    #[must_use]
    pub fn after(mut self, after: impl Into<Value>) -> Self {
        self.after = Some(JsonText::from(after.into()));
        self
    }

    /// Appends one changed field.
    #[must_use]
    pub fn changed_field(mut self, field: impl Into<String>) -> Self {
        self.changed_fields.push(field.into());
        self
    }

    /// Appends several changed fields.
    #[must_use]
    pub fn changed_fields<I>(mut self, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.changed_fields
            .extend(fields.into_iter().map(Into::into));
        self
    }

    /// Appends one label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.labels.push(label.into());
        self
    }

    /// Appends several labels.
    #[must_use]
    pub fn labels<I>(mut self, labels: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.labels.extend(labels.into_iter().map(Into::into));
        self
    }

    /// Sets one metadata entry, replacing an earlier value under the same key (which keeps
    /// its position). The metadata is text, so each call prints the object again: for more
    /// than a few entries, build the object first and set
    /// the `metadata` field once.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let value = JsonText::from(value.into());
        let key = key.into();
        self.metadata = Some(match &self.metadata {
            Some(metadata) => metadata.with_entry(&key, &value),
            None => JsonText::default().with_entry(&key, &value),
        });
        self
    }
}

/// An event as stored: its sequence number, when the log recorded it, and the event.
///
/// In JSON a record is one flat object: `{"seq":..,"recorded_at":"..", <the event's fields>}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Position in the log, starting at 0 and without gaps.
    pub seq: u64,
    /// When the log accepted the event, by the log's clock (never decreasing).
    pub recorded_at: Timestamp,
    /// The event.
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builder_sets_every_field() {
        let at = Timestamp::from_unix_secs(1_700_000_000);
        let e = Event::new("alice", "order.status_change")
            .occurred_at(at)
            .actor_kind("user")
            .actor_name("Alice")
            .actor_email("alice@example.com")
            .outcome(Outcome::Failure)
            .error_message("conflict")
            .severity(Severity::High)
            .entity_name("Order 42")
            .entity("order", "42")
            .tenant("acme")
            .ip("192.0.2.1")
            .user_agent("curl/8")
            .session_id("s1")
            .request_id("r1")
            .source("orders-svc")
            .before(json!({"status": "open"}))
            .after(json!({"status": "shipped"}))
            .changed_field("status")
            .changed_fields(["updated_at"])
            .label("SOX")
            .labels(vec![String::from("PII")])
            .metadata("b", 1)
            .metadata("a", "x")
            .metadata("b", 2);
        assert_eq!(e.occurred_at, Some(at));
        assert_eq!(
            e.actor,
            Actor {
                id: "alice".into(),
                kind: Some("user".into()),
                name: Some("Alice".into()),
                email: Some("alice@example.com".into()),
            }
        );
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.error_message.as_deref(), Some("conflict"));
        assert_eq!(e.severity, Severity::High);
        assert_eq!(
            e.entity,
            Some(Entity {
                kind: "order".into(),
                id: "42".into(),
                name: Some("Order 42".into())
            })
        );
        assert_eq!(e.tenant.as_deref(), Some("acme"));
        assert_eq!(e.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(e.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(e.session_id.as_deref(), Some("s1"));
        assert_eq!(e.request_id.as_deref(), Some("r1"));
        assert_eq!(e.source.as_deref(), Some("orders-svc"));
        assert_eq!(e.before, Some(JsonText::from(json!({"status": "open"}))));
        assert_eq!(
            e.after.as_ref().map(JsonText::as_str),
            Some(r#"{"status":"shipped"}"#)
        );
        assert_eq!(e.changed_fields, ["status", "updated_at"]);
        assert_eq!(e.labels, ["SOX", "PII"]);
        // Replacing `b` kept its place.
        assert_eq!(e.metadata.as_ref().unwrap().as_str(), r#"{"b":2,"a":"x"}"#);
        assert!(e.validate(&EventLimits::default()).is_ok());
    }

    #[test]
    fn entity_name_alone_fails_validation() {
        let e = Event::new("alice", "view").entity_name("Order 42");
        let err = e.validate(&EventLimits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::InvalidEvent {
                    field: "entity.type",
                    ..
                }
            ),
            "{err}"
        );
    }
}
