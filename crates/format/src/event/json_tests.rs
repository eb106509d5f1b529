//! Unit tests of the JSON shape of events and records.

use serde_json::{Value, json};

use super::*;

fn sample() -> Event {
    Event::new("alice", "order.status_change")
        .occurred_at(Timestamp::from_unix_millis(1_714_566_600_250))
        .actor_kind("user")
        .outcome(Outcome::Failure)
        .severity(Severity::Medium)
        .entity("order", "42")
        .entity_name("Order 42")
        .tenant("acme")
        .before(json!({"status": "open"}))
        .after(Value::Null)
        .changed_field("status")
        .label("SOX")
        .metadata("z", 1)
        .metadata("a", 2)
}

#[test]
fn event_shape() {
    let text = serde_json::to_string(&sample()).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"occurred_at":"2024-05-01T12:30:00.250Z","actor":{"id":"alice","kind":"user"},"#,
            r#""action":"order.status_change","outcome":"failure","severity":"medium","#,
            r#""entity":{"type":"order","id":"42","name":"Order 42"},"tenant":"acme","#,
            r#""before":{"status":"open"},"after":null,"changed_fields":["status"],"#,
            r#""labels":["SOX"],"metadata":{"z":1,"a":2}}"#
        )
    );
    let minimal = serde_json::to_string(&Event::new("system", "boot")).unwrap();
    assert_eq!(
        minimal,
        r#"{"actor":{"id":"system"},"action":"boot","outcome":"success","severity":"info"}"#
    );
}

#[test]
fn record_shape_is_flat() {
    let record = Record {
        seq: 7,
        recorded_at: Timestamp::from_unix_secs(1_714_566_601),
        event: Event::new("system", "boot"),
    };
    let text = serde_json::to_string(&record).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"seq":7,"recorded_at":"2024-05-01T12:30:01Z","actor":{"id":"system"},"#,
            r#""action":"boot","outcome":"success","severity":"info"}"#
        )
    );
    assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), record);
}

#[test]
fn round_trips_keep_key_order_and_numbers() {
    let mut event = sample();
    event.before = Some(
        r#"{"b":1e400,"a":123456789012345678901234567890,"c":1.0}"#
            .parse()
            .unwrap(),
    );
    let record = Record {
        seq: u64::MAX,
        recorded_at: Timestamp::MIN,
        event,
    };
    let text = serde_json::to_string(&record).unwrap();
    // The text is kept as written, `1e400` included.
    assert!(
        text.contains(r#""before":{"b":1e400,"a":123456789012345678901234567890,"c":1.0}"#),
        "{text}"
    );
    let back: Record = serde_json::from_str(&text).unwrap();
    assert_eq!(back, record);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    // Through serde_json::Value too, for values a `Value` holds (it cannot hold `1e400`).
    let record = Record {
        event: sample(),
        ..record
    };
    // A `Value` sorts object keys (no `preserve_order`), so compare as values.
    let value = serde_json::to_value(&record).unwrap();
    let back = serde_json::from_value::<Record>(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), value);
}

#[test]
fn key_count_matches_the_keys_written() {
    for event in [sample(), Event::new("a", "b"), Event::default()] {
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value.as_object().unwrap().len(), event.json_key_count());
    }
}

fn event_err(text: &str) -> String {
    serde_json::from_str::<Event>(text).unwrap_err().to_string()
}

fn record_err(text: &str) -> String {
    serde_json::from_str::<Record>(text)
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_and_duplicate_keys_are_rejected() {
    let err = event_err(r#"{"actor":{"id":"a"},"action":"x","severty":"high"}"#);
    assert!(
        err.starts_with("unknown field `severty`, expected one of `occurred_at`"),
        "{err}"
    );
    let err = event_err(r#"{"seq":1,"actor":{"id":"a"},"action":"x"}"#);
    assert!(err.starts_with("unknown field `seq`"), "{err}");
    let err = event_err(r#"{"actor":{"id":"a","role":"admin"},"action":"x"}"#);
    assert!(err.starts_with("unknown field `role`"), "{err}");
    let err = event_err(r#"{"actor":{"id":"a"},"action":"x","entity":{"kind":"order","id":"1"}}"#);
    assert!(
        err.starts_with("unknown field `kind`, expected one of `type`"),
        "{err}"
    );
    let err = event_err(r#"{"actor":{"id":"a"},"action":"x","action":"y"}"#);
    assert!(err.starts_with("duplicate field `action`"), "{err}");
    let err = record_err(
        r#"{"seq":1,"recorded_at":"2024-01-01T00:00:00Z","actor":{"id":"a"},"action":"x","sequence":2}"#,
    );
    assert!(
        err.starts_with("unknown field `sequence`, expected one of `seq`, `recorded_at`"),
        "{err}"
    );
}

#[test]
fn missing_required_keys_are_rejected() {
    assert!(event_err(r#"{"action":"x"}"#).starts_with("missing field `actor`"));
    assert!(event_err(r#"{"actor":{"id":"a"}}"#).starts_with("missing field `action`"));
    assert!(event_err(r#"{"actor":{},"action":"x"}"#).starts_with("missing field `id`"));
    let ok = r#""recorded_at":"2024-01-01T00:00:00Z","actor":{"id":"a"},"action":"x""#;
    assert!(record_err(&format!("{{{ok}}}")).starts_with("missing field `seq`"));
    assert!(
        record_err(r#"{"seq":1,"actor":{"id":"a"},"action":"x"}"#)
            .starts_with("missing field `recorded_at`")
    );
    assert!(record_err(&format!("{{\"seq\":-1,{ok}}}")).contains("invalid value"));
    assert_eq!(
        serde_json::from_str::<Record>(&format!("{{\"seq\":3,{ok}}}"))
            .unwrap()
            .seq,
        3
    );
}

#[test]
fn lenient_where_harmless() {
    // null for optional fields means absent; enum names ignore case; offsets become UTC.
    let text = r#"{"occurred_at":"2024-05-01T14:30:00+02:00","actor":{"id":"a","kind":null},
        "action":"x","outcome":"DENIED","severity":"High","tenant":null,"entity":null,
        "metadata":null,"before":null}"#;
    let event: Event = serde_json::from_str(text).unwrap();
    assert_eq!(
        event.occurred_at,
        Some(Timestamp::from_unix_secs(1_714_566_600))
    );
    assert_eq!(event.actor.kind, None);
    assert_eq!(event.outcome, Outcome::Denied);
    assert_eq!(event.severity, Severity::High);
    assert_eq!(
        (event.tenant, event.entity, event.metadata),
        (None, None, None)
    );
    // ...but a JSON null in before/after is a value, kept apart from absence.
    assert_eq!(event.before.as_ref().map(JsonText::as_str), Some("null"));
    assert_eq!(event.after, None);
}

#[test]
fn wrong_types_are_rejected() {
    assert!(event_err(r#"{"actor":"a","action":"x"}"#).contains("invalid type"));
    assert!(
        event_err(r#"{"actor":{"id":"a"},"action":"x","labels":"SOX"}"#).contains("invalid type")
    );
    assert!(
        event_err(r#"{"actor":{"id":"a"},"action":"x","metadata":[1]}"#).contains("invalid type")
    );
    let err = event_err(r#"{"actor":{"id":"a"},"action":"x","occurred_at":"yesterday"}"#);
    assert!(err.contains("invalid RFC 3339 timestamp"), "{err}");
    assert!(
        event_err(r#"{"actor":{"id":"a"},"action":"x","outcome":"ok"}"#)
            .contains("expected one of")
    );
    assert!(event_err("[]").contains("invalid type"));
}

#[test]
fn a_lone_surrogate_escape_gets_a_hint_and_other_errors_none() {
    for text in [
        r#"{"actor":{"id":"a\ud800"},"action":"x"}"#,
        r#"{"actor":{"id":"a\udcff"},"action":"x"}"#,
    ] {
        let e = serde_json::from_str::<Event>(text).unwrap_err();
        assert!(
            super::json_error_hint(&e).contains("lone surrogate"),
            "{text}: {e}"
        );
    }
    // Inside a JSON value (read by `JsonText`) the error says so itself: no hint twice.
    let text = r#"{"actor":{"id":"a"},"action":"x","metadata":{"k":"\ud800x"}}"#;
    let e = serde_json::from_str::<Event>(text).unwrap_err();
    assert!(e.to_string().contains("surrogate pair"), "{e}");
    assert_eq!(super::json_error_hint(&e), "");
    for text in [r#"{"actor":{"id":"a"}}"#, r#"{"actor":"#, r#"{"oops":1}"#] {
        let e = serde_json::from_str::<Event>(text).unwrap_err();
        assert_eq!(super::json_error_hint(&e), "", "{text}: {e}");
    }
    // A well-formed pair is no error at all.
    let ok = r#"{"actor":{"id":"a\ud83d\ude00"},"action":"x"}"#;
    assert_eq!(serde_json::from_str::<Event>(ok).unwrap().actor.id, "a😀");
}
