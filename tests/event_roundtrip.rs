//! Round trips of the event model, as property tests: a valid event survives the payload
//! codec unchanged (JSON key order and number text included), a record survives its flat JSON
//! shape, timestamps survive RFC 3339, and broken input is an error, never a panic.

use auditlog::JsonText;
use auditlog::{Actor, Entity, Event, EventLimits, Outcome, Record, Severity, Timestamp};
use auditlog_format::Error;
use auditlog_format::event::codec::{decode_payload, encode_payload, encode_payload_into};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use serde_json::Number;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The top-level keys of a JSON object, values unparsed (numbers beyond `f64` included).
type RawObject<'a> = BTreeMap<String, &'a RawValue>;

/// A required identifier: no control characters, not blank.
fn ident() -> impl Strategy<Value = String> {
    "[^\\p{Cc}\\s]{1,12}( [^\\p{Cc}\\s]{1,6})?"
}

/// An optional identifier-like field (no control characters, may be empty).
fn short() -> impl Strategy<Value = Option<String>> {
    of("[^\\p{Cc}]{0,16}")
}

/// Free text: anything, including newlines, quotes and astral characters.
fn text() -> impl Strategy<Value = Option<String>> {
    of(any::<String>().prop_map(|s| s.chars().take(40).collect::<String>()))
}

/// JSON numbers as text, including those no `f64` or `u64` holds exactly (kept as written:
/// events hold JSON as text).
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(|n| n.to_string())),
        "-?(0|[1-9][0-9]{0,45})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,4})?",
        Just("1.0".to_owned()),
        Just("1.10".to_owned()),
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
        Just("12345678901234567890123456789".to_owned()),
    ]
}

/// A JSON string literal.
fn string_literal(s: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    s.prop_map(|s| serde_json::to_string(&s).unwrap())
}

/// Compact JSON text of arbitrary values.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        number(),
        string_literal(any::<String>()),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(|items| format!("[{}]", items.join(","))),
            json_object(inner),
        ]
    })
}

/// Objects with keys in generation order (not sorted, duplicates possible), to catch any
/// reordering.
fn json_object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    vec(
        (string_literal(".{0,8}".prop_map(String::from)), values),
        0..6,
    )
    .prop_map(|entries| {
        let entries: Vec<String> = entries
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!("{{{}}}", entries.join(","))
    })
}

fn json(text: String) -> JsonText {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn actor() -> impl Strategy<Value = Actor> {
    (ident(), short(), text(), short()).prop_map(|(id, kind, name, email)| Actor {
        id,
        kind,
        name,
        email,
    })
}

fn entity() -> impl Strategy<Value = Option<Entity>> {
    of((ident(), ident(), text()).prop_map(|(kind, id, name)| Entity { kind, id, name }))
}

fn outcome() -> impl Strategy<Value = Outcome> {
    proptest::sample::select(Outcome::ALL.to_vec())
}

fn severity() -> impl Strategy<Value = Severity> {
    proptest::sample::select(Severity::ALL.to_vec())
}

/// Events that pass validation with the default limits.
fn valid_event() -> impl Strategy<Value = Event> {
    let head = (
        of(any::<i64>()),
        actor(),
        ident(),
        outcome(),
        text(),
        severity(),
        entity(),
    );
    let context = (short(), short(), text(), short(), short(), short());
    let data = (
        of(json_value()),
        of(json_value()),
        vec(ident(), 0..5),
        vec(ident(), 0..5),
        of(json_object(json_value())),
    );
    (head, context, data).prop_map(
        |(
            (occurred_at, actor, action, outcome, error_message, severity, entity),
            (tenant, ip, user_agent, session_id, request_id, source),
            (before, after, changed_fields, labels, metadata),
        )| Event {
            occurred_at: occurred_at.map(Timestamp::from_nanos),
            actor,
            action,
            outcome,
            error_message,
            severity,
            entity,
            tenant,
            ip,
            user_agent,
            session_id,
            request_id,
            source,
            before: before.map(json),
            after: after.map(json),
            changed_fields,
            labels,
            metadata: metadata.map(json),
        },
    )
}

/// The JSON text of an event: unlike `==`, it notices reordered object keys.
fn json_text(event: &Event) -> String {
    serde_json::to_string(event).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn payload_round_trip(event in valid_event()) {
        let bytes = encode_payload(&event, &EventLimits::default()).unwrap();
        prop_assert_eq!(bytes[0], 1);
        let back = decode_payload(&bytes).unwrap();
        prop_assert_eq!(json_text(&back), json_text(&event));
        prop_assert_eq!(&back, &event);
        // Encoding is deterministic: the decoded event encodes to the same bytes.
        prop_assert_eq!(encode_payload(&back, &EventLimits::default()).unwrap(), bytes);
    }

    #[test]
    fn encode_into_appends(event in valid_event(), prefix in vec(any::<u8>(), 0..16)) {
        let mut out = prefix.clone();
        encode_payload_into(&event, &EventLimits::default(), &mut out).unwrap();
        prop_assert_eq!(&out[..prefix.len()], &prefix[..]);
        prop_assert_eq!(decode_payload(&out[prefix.len()..]).unwrap(), event);
    }

    #[test]
    fn record_json_round_trip(event in valid_event(), seq in any::<u64>(), at in any::<i64>()) {
        let record = Record { seq, recorded_at: Timestamp::from_nanos(at), event };
        let text = serde_json::to_string(&record).unwrap();
        let back: Record = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&serde_json::to_string(&back).unwrap(), &text);
        prop_assert_eq!(&back, &record);
        // The event alone round-trips too, and its JSON is the record's minus two keys.
        let event_text = json_text(&record.event);
        prop_assert_eq!(serde_json::from_str::<Event>(&event_text).unwrap(), record.event);
        let value: RawObject<'_> = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(value.len(), 2 + serde_json::from_str::<RawObject<'_>>(&event_text).unwrap().len());
    }

    #[test]
    fn truncated_payloads_are_rejected(event in valid_event()) {
        let bytes = encode_payload(&event, &EventLimits::default()).unwrap();
        for len in 0..bytes.len() {
            prop_assert!(decode_payload(&bytes[..len]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(decode_payload(&longer).is_err());
    }

    #[test]
    fn corrupted_payloads_never_panic(event in valid_event(), flips in vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut bytes = encode_payload(&event, &EventLimits::default()).unwrap();
        for (at, mask) in flips {
            let i = at % bytes.len();
            bytes[i] ^= mask;
        }
        let _ = decode_payload(&bytes);
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        let _ = decode_payload(&bytes);
        let mut versioned = bytes;
        versioned.insert(0, 1);
        let _ = decode_payload(&versioned);
    }

    #[test]
    fn timestamp_text_round_trip(nanos in any::<i64>(), offset_min in -(23 * 60 + 59)..=(23 * 60 + 59i64)) {
        let t = Timestamp::from_nanos(nanos);
        let text = t.to_rfc3339();
        prop_assert_eq!(Timestamp::parse_rfc3339(&text).unwrap(), t);
        prop_assert_eq!(text.parse::<Timestamp>().unwrap(), t);
        // The same instant written in another offset parses to the same value.
        if let Some(shifted) = nanos.checked_add(offset_min * 60_000_000_000) {
            let local = Timestamp::from_nanos(shifted).to_rfc3339();
            let sign = if offset_min < 0 { '-' } else { '+' };
            let (h, m) = (offset_min.abs() / 60, offset_min.abs() % 60);
            let with_offset = format!("{}{sign}{h:02}:{m:02}", local.trim_end_matches('Z'));
            prop_assert_eq!(Timestamp::parse_rfc3339(&with_offset).unwrap(), t, "{}", with_offset);
        }
    }

    #[test]
    fn blank_or_controlled_required_fields_are_rejected(
        event in valid_event(),
        which in 0..4usize,
        blank in "[ \t\n]{0,3}",
        control in "\\p{Cc}",
        at in any::<prop::sample::Index>(),
    ) {
        let mut event = event;
        let (field, expected) = match which {
            0 => { event.actor.id = blank; ("actor.id", "must not be empty") }
            1 => { event.action = blank; ("action", "must not be empty") }
            2 => {
                let i = at.index(event.actor.id.chars().count() + 1);
                let mut chars: Vec<char> = event.actor.id.chars().collect();
                chars.insert(i, control.chars().next().unwrap());
                event.actor.id = chars.into_iter().collect();
                ("actor.id", "must not contain control characters")
            }
            _ => {
                event.labels.push(format!("PCI{control}"));
                ("labels", "contains a control character")
            }
        };
        let mut out = vec![7u8];
        match encode_payload_into(&event, &EventLimits::default(), &mut out) {
            Err(Error::InvalidEvent { field: f, reason }) => {
                prop_assert_eq!(f, field);
                prop_assert!(reason.contains(expected), "{}", reason);
            }
            other => prop_assert!(false, "expected InvalidEvent for {}, got {:?}", field, other),
        }
        prop_assert_eq!(out, vec![7u8]);
    }

    #[test]
    fn oversized_fields_are_rejected(event in valid_event(), extra in 1..64usize) {
        let limits = EventLimits::default();
        let mut tenant = event.clone();
        tenant.tenant = Some("t".repeat(limits.max_id_bytes + extra));
        let mut labels = event.clone();
        labels.labels = (0..limits.max_labels + extra).map(|i| format!("L{i}")).collect();
        let mut ua = event;
        ua.user_agent = Some("u".repeat(limits.max_long_text_bytes + extra));
        for (e, field) in [(tenant, "tenant"), (labels, "labels"), (ua, "user_agent")] {
            let err = e.validate(&limits).unwrap_err();
            prop_assert!(matches!(err, Error::InvalidEvent { field: f, .. } if f == field), "{}", err);
        }
    }

    #[test]
    fn event_too_large_reports_its_size(event in valid_event(), limit in 24..400usize) {
        let size = encode_payload(&event, &EventLimits::default()).unwrap().len();
        let limits = EventLimits { max_event_bytes: limit, ..EventLimits::default() };
        match encode_payload(&event, &limits) {
            Ok(bytes) => prop_assert!(bytes.len() <= limit && bytes.len() == size),
            Err(Error::EventTooLarge { size: s, limit: l }) => {
                prop_assert_eq!((s, l), (size, limit));
                prop_assert!(size > limit);
            }
            Err(other) => prop_assert!(false, "unexpected {}", other),
        }
    }
}

#[test]
fn a_worked_example() {
    let event = Event::new("alice", "order.status_change")
        .occurred_at("2024-05-01T14:30:00+02:00".parse().unwrap())
        .entity("order", "42")
        .before(serde_json::json!({"status": "open"}))
        .after(serde_json::json!({"status": "shipped"}))
        .changed_field("status")
        .label("SOX");
    let bytes = encode_payload(&event, &EventLimits::default()).unwrap();
    let record = Record {
        seq: 0,
        recorded_at: Timestamp::from_unix_secs(1_714_566_601),
        event: decode_payload(&bytes).unwrap(),
    };
    assert_eq!(
        serde_json::to_string(&record).unwrap(),
        concat!(
            r#"{"seq":0,"recorded_at":"2024-05-01T12:30:01Z","occurred_at":"2024-05-01T12:30:00Z","#,
            r#""actor":{"id":"alice"},"action":"order.status_change","outcome":"success","#,
            r#""severity":"info","entity":{"type":"order","id":"42"},"before":{"status":"open"},"#,
            r#""after":{"status":"shipped"},"changed_fields":["status"],"labels":["SOX"]}"#
        )
    );
}

/// The exact text of JSON values (key order, duplicate keys, integers beyond `u64`, `1.10`,
/// `1e400`) survives append, a reopen, reads and the JSON output, byte for byte.
#[test]
fn json_text_survives_the_log_byte_for_byte() {
    let before = r#"{"z":12345678901234567890123456789,"a":1.10,"m":1e400,"a":-0}"#;
    let after = "[1.0,1E-7,\"\\u00e9\"]";
    let metadata = r#"{"b":{"x":[1e400]},"a":18446744073709551616}"#;
    let mut event = Event::new("alice", "order.update");
    event.before = Some(json(before.to_owned()));
    event.after = Some(json(after.to_owned()));
    event.metadata = Some(json(metadata.to_owned()));
    let tmp = tempfile::tempdir().unwrap();
    {
        let log = auditlog::AuditLog::open(tmp.path()).unwrap();
        log.append(&event).unwrap().wait().unwrap();
        log.close().unwrap();
    }
    let log = auditlog::AuditLog::open(tmp.path()).unwrap();
    let record = log.get(0).unwrap();
    assert_eq!(record.event, event);
    let text = serde_json::to_string(&record).unwrap();
    for (key, value) in [("before", before), ("after", after), ("metadata", metadata)] {
        assert!(
            text.contains(&format!("\"{key}\":{value}")),
            "{key} in {text}"
        );
    }
    let iterated: Vec<_> = log.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(serde_json::to_string(&iterated[0]).unwrap(), text);
    // And back from that JSON (as `auditlog import` of an export reads it).
    let back: Record = serde_json::from_str(&text).unwrap();
    assert_eq!(back, record);
}
