//! Field-level rules for events: required fields, length limits, forbidden characters.
//!
//! The encoded size limit ([`EventLimits::max_event_bytes`]) is checked by the codec, which
//! is the only place that knows the size.

use super::{Event, JsonText};
use crate::error::Error;

/// The deepest JSON nesting the payload decoder accepts (serde_json's recursion limit is
/// 128 levels of arrays and objects, and the decoder does not raise it).
const JSON_DEPTH_CEILING: usize = 127;

/// Limits an event must respect to be appended. Lengths are in bytes of UTF-8.
///
/// | field (JSON path) | limit | default |
/// | --- | --- | --- |
/// | whole encoded payload | `max_event_bytes` | 1 MiB |
/// | `actor.id`, `action`, `entity.type`, `actor.kind`, `tenant`, `session_id`, `request_id`, `source` | `max_id_bytes` | 4 KiB |
/// | `entity.id`, `entity.name` | `max_entity_id_bytes` | 96 KiB |
/// | `actor.name`, `actor.email`, `ip`, each of `changed_fields` | `max_text_bytes` | 1024 |
/// | `user_agent`, `error_message` | `max_long_text_bytes` | 8 KiB |
/// | number of `labels` / bytes of each label | `max_labels` / `max_label_bytes` | 64 / 128 |
/// | number of `changed_fields` | `max_changed_fields` | 1024 |
/// | each key of `metadata` | `max_id_bytes` | 4 KiB |
/// | nesting of `before`, `after`, `metadata` | `max_json_depth` (capped at 127) | 64 |
///
/// Besides the limits: `actor.id`, `action`, `entity.type` and `entity.id` (when `entity` is
/// present), each label and each changed field must not be empty or only whitespace; and
/// `actor.id`, `actor.kind`, `action`, `entity.type`, `entity.id`, `tenant` and the labels must
/// not contain control characters (they are index keys and appear in terminal output).
///
/// The defaults fit what real systems produce: an entity is often a file path or a registry
/// key, and a Windows path may be 32,767 UTF-16 units long, at most 98,301 bytes of UTF-8
/// (hence 96 KiB); AWS ARNs and Kerberos principals, the longest actor and resource names in
/// common use, stay under 2 KiB (hence 4 KiB for the other identifiers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLimits {
    /// Most bytes of an encoded payload (all fields, JSON values as compact text). Default 1 MiB.
    pub max_event_bytes: usize,
    /// Most bytes of identifiers, the action and metadata keys. Default 4 KiB.
    pub max_id_bytes: usize,
    /// Most bytes of `entity.id` and `entity.name` (file paths, registry keys, URLs).
    /// Default 96 KiB: a Windows path of 32,767 UTF-16 units in UTF-8.
    pub max_entity_id_bytes: usize,
    /// Most bytes of names, e-mail, IP and each changed field. Default 1024.
    pub max_text_bytes: usize,
    /// Most bytes of `user_agent` and `error_message`. Default 8 KiB.
    pub max_long_text_bytes: usize,
    /// Most labels per event. Default 64.
    pub max_labels: usize,
    /// Most bytes per label. Default 128.
    pub max_label_bytes: usize,
    /// Most changed fields per event. Default 1024.
    pub max_changed_fields: usize,
    /// Deepest nesting of arrays and objects in `before`, `after` and `metadata` (the
    /// metadata object itself counts as one level). Default 64; values above 127 act as 127,
    /// the most the payload decoder reads back.
    pub max_json_depth: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        EventLimits {
            max_event_bytes: 1 << 20,
            max_id_bytes: 4 << 10,
            max_entity_id_bytes: 96 << 10,
            max_text_bytes: 1024,
            max_long_text_bytes: 8 << 10,
            max_labels: 64,
            max_label_bytes: 128,
            max_changed_fields: 1024,
            max_json_depth: 64,
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidEvent {
        field,
        reason: reason.into(),
    }
}

fn check_len(field: &'static str, value: &str, limit: usize) -> Result<(), Error> {
    if value.len() > limit {
        return Err(invalid(
            field,
            format!(
                "is {} bytes long, over the limit of {limit} bytes",
                value.len()
            ),
        ));
    }
    Ok(())
}

fn check_required(field: &'static str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

fn check_no_control(field: &'static str, value: &str) -> Result<(), Error> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(invalid(
            field,
            format!("must not contain control characters (found {c:?})"),
        ));
    }
    Ok(())
}

fn check_opt(field: &'static str, value: &Option<String>, limit: usize) -> Result<(), Error> {
    value
        .as_deref()
        .map_or(Ok(()), |v| check_len(field, v, limit))
}

/// Checks that `value` nests arrays and objects at most `limit` levels deep (measured when
/// the text was made).
fn check_depth(field: &'static str, value: &JsonText, limit: usize) -> Result<(), Error> {
    if value.depth() <= limit {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("nests arrays and objects more than {limit} levels deep"),
        ))
    }
}

impl Event {
    /// Checks the field rules of [`EventLimits`] (everything but the encoded size, which
    /// encoding checks). The first violation is returned as [`Error::InvalidEvent`], whose
    /// `field` is the field's JSON path, e.g. `actor.id` or `entity.type`.
    pub fn validate(&self, limits: &EventLimits) -> Result<(), Error> {
        let id = limits.max_id_bytes;
        let text = limits.max_text_bytes;
        let long = limits.max_long_text_bytes;

        let actor = &self.actor;
        check_required("actor.id", &actor.id)?;
        check_len("actor.id", &actor.id, id)?;
        check_no_control("actor.id", &actor.id)?;
        if let Some(kind) = &actor.kind {
            check_len("actor.kind", kind, id)?;
            check_no_control("actor.kind", kind)?;
        }
        check_opt("actor.name", &actor.name, text)?;
        check_opt("actor.email", &actor.email, text)?;

        check_required("action", &self.action)?;
        check_len("action", &self.action, id)?;
        check_no_control("action", &self.action)?;
        check_opt("error_message", &self.error_message, long)?;

        if let Some(entity) = &self.entity {
            check_required("entity.type", &entity.kind)?;
            check_len("entity.type", &entity.kind, id)?;
            check_no_control("entity.type", &entity.kind)?;
            check_required("entity.id", &entity.id)?;
            check_len("entity.id", &entity.id, limits.max_entity_id_bytes)?;
            check_no_control("entity.id", &entity.id)?;
            check_opt("entity.name", &entity.name, limits.max_entity_id_bytes)?;
        }

        if let Some(tenant) = &self.tenant {
            check_len("tenant", tenant, id)?;
            check_no_control("tenant", tenant)?;
        }
        check_opt("ip", &self.ip, text)?;
        check_opt("user_agent", &self.user_agent, long)?;
        check_opt("session_id", &self.session_id, id)?;
        check_opt("request_id", &self.request_id, id)?;
        check_opt("source", &self.source, id)?;

        let depth = limits.max_json_depth.min(JSON_DEPTH_CEILING);
        if let Some(before) = &self.before {
            check_depth("before", before, depth)?;
        }
        if let Some(after) = &self.after {
            check_depth("after", after, depth)?;
        }

        if self.changed_fields.len() > limits.max_changed_fields {
            return Err(invalid(
                "changed_fields",
                format!(
                    "has {} entries, over the limit of {}",
                    self.changed_fields.len(),
                    limits.max_changed_fields
                ),
            ));
        }
        for (i, field) in self.changed_fields.iter().enumerate() {
            if field.trim().is_empty() {
                return Err(invalid("changed_fields", format!("entry {i} is empty")));
            }
            if field.len() > text {
                return Err(invalid(
                    "changed_fields",
                    format!(
                        "entry {i} is {} bytes long, over the limit of {text} bytes",
                        field.len()
                    ),
                ));
            }
        }

        if self.labels.len() > limits.max_labels {
            return Err(invalid(
                "labels",
                format!(
                    "has {} entries, over the limit of {}",
                    self.labels.len(),
                    limits.max_labels
                ),
            ));
        }
        for (i, label) in self.labels.iter().enumerate() {
            if label.trim().is_empty() {
                return Err(invalid("labels", format!("entry {i} is empty")));
            }
            if label.len() > limits.max_label_bytes {
                return Err(invalid(
                    "labels",
                    format!(
                        "entry {i} is {} bytes long, over the limit of {} bytes",
                        label.len(),
                        limits.max_label_bytes
                    ),
                ));
            }
            if label.chars().any(char::is_control) {
                return Err(invalid(
                    "labels",
                    format!("entry {i} contains a control character"),
                ));
            }
        }

        if let Some(metadata) = &self.metadata {
            if !metadata.is_object() {
                return Err(invalid("metadata", "must be a JSON object"));
            }
            let key = metadata.widest_key();
            if key > id {
                return Err(invalid(
                    "metadata",
                    format!("key of {key} bytes is over the limit of {id} bytes"),
                ));
            }
            // The metadata object itself is one level.
            check_depth("metadata", metadata, depth)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::event::{Entity, Event};

    fn field_and_reason(e: &Event) -> (&'static str, String) {
        match e.validate(&EventLimits::default()) {
            Err(Error::InvalidEvent { field, reason }) => (field, reason),
            other => panic!("expected InvalidEvent, got {other:?}"),
        }
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn required_fields() {
        let ok = Event::new("system", "login");
        assert!(ok.validate(&EventLimits::default()).is_ok());
        for (event, field) in [
            (Event::new("", "login"), "actor.id"),
            (Event::new(" \t\n", "login"), "actor.id"),
            (Event::new("alice", ""), "action"),
            (Event::new("alice", "   "), "action"),
            (Event::new("alice", "x").entity("", "1"), "entity.type"),
            (Event::new("alice", "x").entity("order", " "), "entity.id"),
            (Event::new("alice", "x").label(""), "labels"),
            (
                Event::new("alice", "x").changed_field(" "),
                "changed_fields",
            ),
        ] {
            let (f, reason) = field_and_reason(&event);
            assert_eq!(f, field);
            assert!(reason.contains("empty"), "{reason}");
        }
        let (_, reason) = field_and_reason(&Event::new("", "login"));
        assert_eq!(reason, "must not be empty");
    }

    #[test]
    fn length_limits_at_the_boundary() {
        let limits = EventLimits::default();
        let s = |n: usize| "x".repeat(n);
        type Setter = fn(Event, String) -> Event;
        let cases: [(&str, usize, Setter); 17] = [
            ("actor.id", 4096, |e, v| Event {
                actor: crate::event::Actor::new(v),
                ..e
            }),
            ("actor.kind", 4096, |e, v| e.actor_kind(v)),
            ("actor.name", 1024, |e, v| e.actor_name(v)),
            ("actor.email", 1024, |e, v| e.actor_email(v)),
            ("action", 4096, |e, v| Event { action: v, ..e }),
            ("error_message", 8192, |e, v| e.error_message(v)),
            ("entity.type", 4096, |e, v| e.entity(v, "1")),
            ("entity.id", 98304, |e, v| e.entity("order", v)),
            ("entity.name", 98304, |e, v| {
                e.entity("order", "1").entity_name(v)
            }),
            ("tenant", 4096, |e, v| e.tenant(v)),
            ("ip", 1024, |e, v| e.ip(v)),
            ("user_agent", 8192, |e, v| e.user_agent(v)),
            ("session_id", 4096, |e, v| e.session_id(v)),
            ("request_id", 4096, |e, v| e.request_id(v)),
            ("source", 4096, |e, v| e.source(v)),
            ("labels", 128, |e, v| e.label(v)),
            ("changed_fields", 1024, |e, v| e.changed_field(v)),
        ];
        for (field, limit, set) in cases {
            let at_limit = set(Event::new("a", "b"), s(limit));
            assert!(at_limit.validate(&limits).is_ok(), "{field} at its limit");
            let over = set(Event::new("a", "b"), s(limit + 1));
            let (f, reason) = field_and_reason(&over);
            assert_eq!(f, field);
            assert!(
                reason.contains(&format!("over the limit of {limit} bytes")),
                "{reason}"
            );
        }
        let long_key = Event::new("a", "b").metadata(s(4097), 1);
        assert_eq!(field_and_reason(&long_key).0, "metadata");
    }

    #[test]
    fn entry_counts() {
        let limits = EventLimits::default();
        let labels = Event::new("a", "b").labels((0..64).map(|i| format!("l{i}")));
        assert!(labels.validate(&limits).is_ok());
        let (f, reason) = field_and_reason(&labels.label("one-more"));
        assert_eq!(
            (f, reason.as_str()),
            ("labels", "has 65 entries, over the limit of 64")
        );
        let fields = Event::new("a", "b").changed_fields((0..1025).map(|i| format!("f{i}")));
        assert_eq!(field_and_reason(&fields).0, "changed_fields");
    }

    #[test]
    fn control_characters() {
        for (event, field) in [
            (Event::new("al\u{0}ice", "login"), "actor.id"),
            (Event::new("alice", "log\nin"), "action"),
            (
                Event::new("alice", "login").actor_kind("u\u{7f}"),
                "actor.kind",
            ),
            (
                Event::new("alice", "x").entity("ord\ter", "1"),
                "entity.type",
            ),
            (Event::new("alice", "x").entity("order", "1\r"), "entity.id"),
            (Event::new("alice", "x").tenant("a\u{1b}[31m"), "tenant"),
            (Event::new("alice", "x").label("PCI\u{85}"), "labels"),
        ] {
            let (f, reason) = field_and_reason(&event);
            assert_eq!(f, field);
            assert!(reason.contains("control character"), "{reason}");
        }
        // Free text may hold newlines and tabs.
        let ok = Event::new("alice", "x")
            .error_message("line 1\nline 2\t!")
            .actor_name("A\tB");
        assert!(ok.validate(&EventLimits::default()).is_ok());
    }

    #[test]
    fn json_depth() {
        let limits = EventLimits::default();
        assert!(
            Event::new("a", "b")
                .before(nested(64))
                .validate(&limits)
                .is_ok()
        );
        let (f, _) = field_and_reason(&Event::new("a", "b").after(nested(65)));
        assert_eq!(f, "after");
        assert_eq!(
            field_and_reason(&Event::new("a", "b").before(nested(65))).0,
            "before"
        );
        assert!(
            Event::new("a", "b")
                .metadata("k", nested(63))
                .validate(&limits)
                .is_ok()
        );
        assert_eq!(
            field_and_reason(&Event::new("a", "b").metadata("k", nested(64))).0,
            "metadata"
        );
        // Limits above the decoder's ceiling act as the ceiling.
        let lax = EventLimits {
            max_json_depth: 10_000,
            ..EventLimits::default()
        };
        assert!(
            Event::new("a", "b")
                .before(nested(127))
                .validate(&lax)
                .is_ok()
        );
        assert!(
            Event::new("a", "b")
                .before(nested(128))
                .validate(&lax)
                .is_err()
        );
    }

    #[test]
    fn metadata_must_be_an_object() {
        let mut e = Event::new("a", "b");
        e.metadata = Some("[1]".parse().unwrap());
        assert_eq!(
            field_and_reason(&e),
            ("metadata", "must be a JSON object".to_owned())
        );
        e.metadata = Some(r#"{"k":[1]}"#.parse().unwrap());
        assert!(e.validate(&EventLimits::default()).is_ok());
    }

    #[test]
    fn entity_none_is_fine_but_partial_entity_is_not() {
        let mut e = Event::new("a", "b");
        e.entity = Some(Entity {
            kind: "order".into(),
            id: String::new(),
            name: None,
        });
        assert_eq!(field_and_reason(&e).0, "entity.id");
    }
}
