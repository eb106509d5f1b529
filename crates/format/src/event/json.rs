//! Hand-written serde for [`Event`] and [`Record`].
//!
//! A record's JSON is flat (`{"seq":..,"recorded_at":"..", <the event's fields>}`). serde's
//! `#[serde(flatten)]` would give that shape, but it buffers values, and serde_json's raw
//! values (which `before`, `after` and `metadata` are read as, to keep their text) cannot be
//! buffered; instead both types share one field writer and one field reader here. Output omits absent fields (`None`, empty lists); input rejects unknown and
//! duplicate keys so that typos are caught.

use std::fmt;

use super::{Actor, Entity, Event, JsonText, Outcome, Record, Severity};
use crate::timestamp::Timestamp;
use serde::de::{self, DeserializeSeed, MapAccess, Unexpected, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares the JSON keys: an enum, its key text, and the key lists for error messages.
macro_rules! keys {
    ($($variant:ident = $name:literal,)+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Key { Seq, RecordedAt, $($variant,)+ }

        /// The keys of an event's JSON shape, in output order: every key an event may
        /// have, for converters from other languages' maps (the Python extension).
        pub const EVENT_KEYS: &[&str] = &[$($name,)+];
        /// The keys of a record, in output order.
        const RECORD_KEYS: &[&str] = &["seq", "recorded_at", $($name,)+];

        impl Key {
            fn from_name(name: &str) -> Option<Key> {
                match name {
                    "seq" => Some(Key::Seq),
                    "recorded_at" => Some(Key::RecordedAt),
                    $($name => Some(Key::$variant),)+
                    _ => None,
                }
            }

            fn name(self) -> &'static str {
                match self {
                    Key::Seq => "seq",
                    Key::RecordedAt => "recorded_at",
                    $(Key::$variant => $name,)+
                }
            }
        }
    };
}

keys! {
    OccurredAt = "occurred_at",
    Actor = "actor",
    Action = "action",
    Outcome = "outcome",
    ErrorMessage = "error_message",
    Severity = "severity",
    Entity = "entity",
    Tenant = "tenant",
    Ip = "ip",
    UserAgent = "user_agent",
    SessionId = "session_id",
    RequestId = "request_id",
    Source = "source",
    Before = "before",
    After = "after",
    ChangedFields = "changed_fields",
    Labels = "labels",
    Metadata = "metadata",
}

impl Event {
    /// How many keys [`Event::serialize_fields`] writes.
    fn json_key_count(&self) -> usize {
        let strings = [
            &self.error_message,
            &self.tenant,
            &self.ip,
            &self.user_agent,
            &self.session_id,
            &self.request_id,
            &self.source,
        ];
        // actor, action, outcome and severity are always written.
        4 + usize::from(self.occurred_at.is_some())
            + strings.iter().filter(|s| s.is_some()).count()
            + usize::from(self.entity.is_some())
            + usize::from(self.before.is_some())
            + usize::from(self.after.is_some())
            + usize::from(!self.changed_fields.is_empty())
            + usize::from(!self.labels.is_empty())
            + usize::from(self.metadata.is_some())
    }

    /// Writes the event's keys into an open map, in the order of [`EVENT_KEYS`].
    fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        fn opt<M: SerializeMap, T: Serialize>(
            map: &mut M,
            key: Key,
            value: &Option<T>,
        ) -> Result<(), M::Error> {
            match value {
                Some(v) => map.serialize_entry(key.name(), v),
                None => Ok(()),
            }
        }
        opt(map, Key::OccurredAt, &self.occurred_at)?;
        map.serialize_entry(Key::Actor.name(), &self.actor)?;
        map.serialize_entry(Key::Action.name(), &self.action)?;
        map.serialize_entry(Key::Outcome.name(), &self.outcome)?;
        opt(map, Key::ErrorMessage, &self.error_message)?;
        map.serialize_entry(Key::Severity.name(), &self.severity)?;
        opt(map, Key::Entity, &self.entity)?;
        opt(map, Key::Tenant, &self.tenant)?;
        opt(map, Key::Ip, &self.ip)?;
        opt(map, Key::UserAgent, &self.user_agent)?;
        opt(map, Key::SessionId, &self.session_id)?;
        opt(map, Key::RequestId, &self.request_id)?;
        opt(map, Key::Source, &self.source)?;
        opt(map, Key::Before, &self.before)?;
        opt(map, Key::After, &self.after)?;
        if !self.changed_fields.is_empty() {
            map.serialize_entry(Key::ChangedFields.name(), &self.changed_fields)?;
        }
        if !self.labels.is_empty() {
            map.serialize_entry(Key::Labels.name(), &self.labels)?;
        }
        opt(map, Key::Metadata, &self.metadata)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.json_key_count()))?;
        self.serialize_fields(&mut map)?;
        map.end()
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + self.event.json_key_count()))?;
        map.serialize_entry(Key::Seq.name(), &self.seq)?;
        map.serialize_entry(Key::RecordedAt.name(), &self.recorded_at)?;
        self.event.serialize_fields(&mut map)?;
        map.end()
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let present = [&self.kind, &self.name, &self.email]
            .iter()
            .filter(|v| v.is_some())
            .count();
        let mut map = serializer.serialize_map(Some(1 + present))?;
        map.serialize_entry("id", &self.id)?;
        for (key, value) in [
            ("kind", &self.kind),
            ("name", &self.name),
            ("email", &self.email),
        ] {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl Serialize for Entity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + usize::from(self.name.is_some())))?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("id", &self.id)?;
        if let Some(name) = &self.name {
            map.serialize_entry("name", name)?;
        }
        map.end()
    }
}

/// The JSON shape of [`Actor`], for deriving its strict deserializer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorJson {
    id: String,
    kind: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ActorJson {
            id,
            kind,
            name,
            email,
        } = ActorJson::deserialize(deserializer)?;
        Ok(Actor {
            id,
            kind,
            name,
            email,
        })
    }
}

/// The JSON shape of [`Entity`] (`kind` is spelled `type`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityJson {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: Option<String>,
}

impl<'de> Deserialize<'de> for Entity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let EntityJson { kind, id, name } = EntityJson::deserialize(deserializer)?;
        Ok(Entity { kind, id, name })
    }
}

/// Reads one key; `seq` and `recorded_at` are known only when reading a record.
struct KeySeed {
    record: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.record {
            "a record field name"
        } else {
            "an event field name"
        })
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        match Key::from_name(name) {
            Some(Key::Seq | Key::RecordedAt) if !self.record => {
                Err(E::unknown_field(name, EVENT_KEYS))
            }
            Some(key) => Ok(key),
            None => Err(E::unknown_field(
                name,
                if self.record { RECORD_KEYS } else { EVENT_KEYS },
            )),
        }
    }
}

/// Stores a value read for `key`, rejecting a second occurrence of the key.
fn put<T, E: de::Error>(slot: &mut Option<T>, key: Key, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key.name()));
    }
    *slot = Some(value);
    Ok(())
}

/// The shared field reader: returns `seq` and `recorded_at` (always `None` for an event)
/// and the event.
fn read_fields<'de, A: MapAccess<'de>>(
    mut map: A,
    record: bool,
) -> Result<(Option<u64>, Option<Timestamp>, Event), A::Error> {
    let mut seq = None;
    let mut recorded_at = None;
    let mut occurred_at = None;
    let mut actor = None;
    let mut action = None;
    let mut outcome = None;
    let mut error_message = None;
    let mut severity = None;
    let mut entity = None;
    let mut tenant = None;
    let mut ip = None;
    let mut user_agent = None;
    let mut session_id = None;
    let mut request_id = None;
    let mut source = None;
    let mut before = None;
    let mut after = None;
    let mut changed_fields = None;
    let mut labels = None;
    let mut metadata = None;

    while let Some(key) = map.next_key_seed(KeySeed { record })? {
        match key {
            Key::Seq => put(&mut seq, key, map.next_value::<u64>()?)?,
            Key::RecordedAt => put(&mut recorded_at, key, map.next_value::<Timestamp>()?)?,
            Key::OccurredAt => put(
                &mut occurred_at,
                key,
                map.next_value::<Option<Timestamp>>()?,
            )?,
            Key::Actor => put(&mut actor, key, map.next_value::<Actor>()?)?,
            Key::Action => put(&mut action, key, map.next_value::<String>()?)?,
            Key::Outcome => put(&mut outcome, key, map.next_value::<Outcome>()?)?,
            Key::ErrorMessage => put(&mut error_message, key, map.next_value()?)?,
            Key::Severity => put(&mut severity, key, map.next_value::<Severity>()?)?,
            Key::Entity => put(&mut entity, key, map.next_value::<Option<Entity>>()?)?,
            Key::Tenant => put(&mut tenant, key, map.next_value()?)?,
            Key::Ip => put(&mut ip, key, map.next_value()?)?,
            Key::UserAgent => put(&mut user_agent, key, map.next_value()?)?,
            Key::SessionId => put(&mut session_id, key, map.next_value()?)?,
            Key::RequestId => put(&mut request_id, key, map.next_value()?)?,
            Key::Source => put(&mut source, key, map.next_value()?)?,
            // A JSON null here is `Some("null")`, not `None`, so values round-trip.
            Key::Before => put(&mut before, key, map.next_value::<JsonText>()?)?,
            Key::After => put(&mut after, key, map.next_value::<JsonText>()?)?,
            Key::ChangedFields => put(&mut changed_fields, key, map.next_value::<Vec<String>>()?)?,
            Key::Labels => put(&mut labels, key, map.next_value::<Vec<String>>()?)?,
            Key::Metadata => {
                let value = map.next_value::<Option<JsonText>>()?;
                if value.as_ref().is_some_and(|v| !v.is_object()) {
                    return Err(de::Error::invalid_type(
                        Unexpected::Other("JSON that is not an object"),
                        &"a JSON object",
                    ));
                }
                put(&mut metadata, key, value)?
            }
        }
    }

    let event = Event {
        occurred_at: occurred_at.flatten(),
        actor: actor.ok_or_else(|| de::Error::missing_field("actor"))?,
        action: action.ok_or_else(|| de::Error::missing_field("action"))?,
        outcome: outcome.unwrap_or_default(),
        error_message: error_message.flatten(),
        severity: severity.unwrap_or_default(),
        entity: entity.flatten(),
        tenant: tenant.flatten(),
        ip: ip.flatten(),
        user_agent: user_agent.flatten(),
        session_id: session_id.flatten(),
        request_id: request_id.flatten(),
        source: source.flatten(),
        before,
        after,
        changed_fields: changed_fields.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        metadata: metadata.flatten(),
    };
    Ok((seq, recorded_at, event))
}

struct FieldsVisitor {
    record: bool,
}

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = (Option<u64>, Option<Timestamp>, Event);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.record {
            "an audit record object"
        } else {
            "an audit event object"
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_fields(map, self.record)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (_, _, event) = deserializer.deserialize_map(FieldsVisitor { record: false })?;
        Ok(event)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (seq, recorded_at, event) =
            deserializer.deserialize_map(FieldsVisitor { record: true })?;
        Ok(Record {
            seq: seq.ok_or_else(|| de::Error::missing_field("seq"))?,
            recorded_at: recorded_at.ok_or_else(|| de::Error::missing_field("recorded_at"))?,
            event,
        })
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;

/// What to add to a serde_json error about event JSON so its reader knows what to fix.
/// serde_json names a lone surrogate escape (`"\ud800"` without its trailing half, which
/// Python's `json.dumps` writes for a str that holds one) "unexpected end of hex escape" or
/// "lone leading surrogate in hex escape", which does not say that the text itself is bad.
pub fn json_error_hint(e: &serde_json::Error) -> &'static str {
    let message = e.to_string();
    if message.contains("hex escape") || message.contains("unicode code point") {
        " (a \\u escape of a surrogate, D800 to DFFF, must be half of a leading-trailing \
         pair: a lone surrogate is not Unicode text; in Python, decode such bytes with \
         errors='replace')"
    } else {
        ""
    }
}
