//! Unit tests of the payload codec: every field, golden bytes, and hostile input.

use serde_json::{Value, json};

use super::*;
use crate::error::Error;

fn full_event() -> Event {
    Event::new("alice", "order.status_change")
        .occurred_at(Timestamp::from_nanos(-1_500))
        .actor_kind("user")
        .actor_name("Alice Ångström")
        .actor_email("alice@example.com")
        .outcome(Outcome::Denied)
        .error_message("not allowed\nsecond line")
        .severity(Severity::Critical)
        .entity("order", "42")
        .entity_name("Order #42")
        .tenant("acme")
        .ip("2001:db8::1")
        .user_agent("Mozilla/5.0")
        .session_id("sess-1")
        .request_id("req-1")
        .source("orders-svc")
        .before(json!({"status": "open", "total": 12.50, "items": [1, 2]}))
        .after(Value::Null)
        .changed_fields(["status", "items[1]"])
        .labels(["SOX", "PCI"])
        .metadata("z", "last?")
        .metadata("a", json!({"nested": true}))
}

fn encode(event: &Event) -> Vec<u8> {
    encode_payload(event, &EventLimits::default()).unwrap()
}

fn json_text(v: &Option<JsonText>) -> String {
    serde_json::to_string(v).unwrap()
}

fn text(json: &str) -> JsonText {
    json.parse().unwrap()
}

#[test]
fn every_field_round_trips() {
    let event = full_event();
    let bytes = encode(&event);
    let back = decode_payload(&bytes).unwrap();
    assert_eq!(back, event);
    assert_eq!(back.after, Some(text("null")));
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        serde_json::to_string(&event).unwrap()
    );
}

#[test]
fn minimal_event_golden_bytes() {
    let bytes = encode(&Event::new("a", "b"));
    #[rustfmt::skip]
    let expected = [
        0x01,             // payload_version
        0x00,             // occurred_at: None
        0x01, b'a',       // actor_id
        0x00, 0x00, 0x00, // actor_kind, actor_name, actor_email: None
        0x01, b'b',       // action
        0x00,             // outcome: success
        0x00,             // error_message: None
        0x00,             // severity: info
        0x00,             // entity: None
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tenant .. source: None
        0x00, 0x00,       // before, after: None
        0x00, 0x00,       // changed_fields, labels: empty
        0x00,             // metadata: None
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn documented_example_golden_bytes() {
    // The example in docs/FORMAT.md §3.
    let event = Event::new("u1", "login")
        .occurred_at(Timestamp::from_nanos(-3))
        .outcome(Outcome::Failure)
        .severity(Severity::High)
        .entity("user", "7")
        .after(json!({"n": 1}))
        .label("PII");
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x01,                         // payload_version 1
        0x01, 0x05,                   // occurred_at Some(-3): zigzag 5
        0x02, b'u', b'1',             // actor_id "u1"
        0x00, 0x00, 0x00,             // actor_kind, actor_name, actor_email
        0x05, b'l', b'o', b'g', b'i', b'n', // action "login"
        0x01,                         // outcome failure
        0x00,                         // error_message
        0x03,                         // severity high
        0x01, 0x04, b'u', b's', b'e', b'r', 0x01, b'7', 0x00, // entity Some(user, 7, None)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tenant .. source
        0x00,                         // before
        0x01, 0x07, b'{', b'"', b'n', b'"', b':', b'1', b'}', // after Some("{\"n\":1}")
        0x00,                         // changed_fields: 0 items
        0x01, 0x03, b'P', b'I', b'I', // labels: ["PII"]
        0x00,                         // metadata
    ];
    assert_eq!(encode(&event), expected);
    assert_eq!(decode_payload(expected).unwrap(), event);
}

#[test]
fn occurred_at_extremes() {
    for nanos in [i64::MIN, -1, 0, 1, i64::MAX] {
        let event = Event::new("a", "b").occurred_at(Timestamp::from_nanos(nanos));
        assert_eq!(decode_payload(&encode(&event)).unwrap(), event);
    }
}

#[test]
fn json_values_round_trip_exactly() {
    let texts = [
        r#"{"z":1,"a":2,"m":{"y":[],"b":{}}}"#,
        "123456789012345678901234567890",
        "-98765432109876543210",
        "1.0",
        "1e400",
        "-0",
        "0.1000000000000000055511151231257827",
        r#""héllo \u0000 ☃ 😀 \"quoted\"""#,
        r#"[null,true,false,"",[],{}]"#,
        r#"{"":"empty key","\u00e9":"é"}"#,
    ];
    for json in texts {
        let mut event = Event::new("a", "b");
        event.before = Some(text(json));
        event.after = Some(text(&format!("[{json}]")));
        let back = decode_payload(&encode(&event)).unwrap();
        assert_eq!(back.before.as_ref().map(JsonText::as_str), Some(json));
        assert_eq!(json_text(&back.after), format!("[{json}]"));
        assert_eq!(back, event);
    }
    let event = Event {
        metadata: Some(text(
            r#"{"zeta":1.50,"alpha":18446744073709551616,"mid":"ü"}"#,
        )),
        ..Event::new("a", "b")
    };
    let back = decode_payload(&encode(&event)).unwrap();
    assert_eq!(
        serde_json::to_string(&back.metadata).unwrap(),
        r#"{"zeta":1.50,"alpha":18446744073709551616,"mid":"ü"}"#
    );
}

#[test]
fn empty_metadata_and_null_json_are_kept() {
    let event = Event {
        metadata: Some(text("{}")),
        ..Event::new("a", "b").before(Value::Null)
    };
    let back = decode_payload(&encode(&event)).unwrap();
    assert_eq!(back.metadata, Some(text("{}")));
    assert_eq!(back.before, Some(text("null")));
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = encode(&full_event());
    for len in 0..bytes.len() {
        assert!(
            decode_payload(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = encode(&full_event());
    bytes.push(0);
    let e = decode_payload(&bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "event payload is followed by 1 unexpected bytes"
    );
}

#[test]
fn unknown_versions_are_rejected() {
    let mut bytes = encode(&Event::new("a", "b"));
    for v in [0u8, 2, 0x80, 0xff] {
        bytes[0] = v;
        let e = decode_payload(&bytes).unwrap_err();
        assert_eq!(e.unsupported_version(), Some(v));
        assert!(e.to_string().contains("this build reads version 1"), "{e}");
    }
    assert_eq!(
        decode_payload(&[]).unwrap_err().to_string(),
        "the event payload is empty"
    );
}

#[test]
fn invalid_enum_codes_are_rejected() {
    let good = encode(&Event::new("a", "b"));
    let (outcome_at, severity_at) = (9, 11);
    for code in 4..=u8::MAX {
        let mut bytes = good.clone();
        bytes[outcome_at] = code;
        let e = decode_payload(&bytes).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("event payload has invalid outcome code {code}")
        );
    }
    for code in 5..=u8::MAX {
        let mut bytes = good.clone();
        bytes[severity_at] = code;
        assert!(decode_payload(&bytes).is_err());
    }
}

/// Encodes a hand-built mirror struct, to craft payloads the encoder would never write.
fn craft(before: Option<&str>, metadata: Option<&str>, actor_id: &str) -> Vec<u8> {
    let event = Event::new("a", "b");
    let mut wire = wire_of(&event);
    (wire.before, wire.metadata) = (before, metadata);
    wire.actor_id = actor_id;
    postcard::to_stdvec(&wire).unwrap()
}

#[test]
fn invalid_json_text_is_rejected() {
    assert!(decode_payload(&craft(Some("{}"), Some("{}"), "a")).is_ok());
    for text in ["{", "", "nul", "[1,]", "{\"a\":1} 2", "NaN"] {
        let e = decode_payload(&craft(Some(text), None, "a")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("event payload field before is not valid JSON"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }
    // metadata must be an object.
    for text in ["[1]", "1", "null", "\"s\""] {
        let e = decode_payload(&craft(None, Some(text), "a")).unwrap_err();
        assert!(e.to_string().contains("metadata"), "{e}");
    }
    // Nesting past serde_json's recursion limit is an error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(decode_payload(&craft(Some(&deep), None, "a")).is_err());
}

#[test]
fn invalid_utf8_and_huge_lengths_are_rejected() {
    let mut bytes = craft(None, None, "ab");
    bytes[3] = 0xff; // inside actor_id
    assert!(decode_payload(&bytes).is_err());
    // A string length of 2^35 with no data behind it.
    assert!(decode_payload(&[0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
    // An over-long varint.
    assert!(
        decode_payload(&[
            0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ])
        .is_err()
    );
    // A changed_fields count of ~4 billion with no items behind it must fail fast, not allocate.
    let mut bytes = encode(&Event::new("a", "b"));
    let changed_at = bytes.len() - 3;
    bytes.splice(changed_at..changed_at + 1, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(decode_payload(&bytes).is_err());
}

#[test]
fn garbage_and_bit_flips_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(first) = bytes.first_mut() {
            *first = PAYLOAD_VERSION; // get past the version check most of the time
        }
        let _ = decode_payload(&bytes);
    }
    let good = encode(&full_event());
    for bit in 0..good.len() * 8 {
        let mut bytes = good.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        if let Ok(event) = decode_payload(&bytes) {
            // Whatever decodes can be encoded again (the JSON may differ in whitespace).
            assert!(encode_payload(&event, &lax()).is_ok() || event.validate(&lax()).is_err());
        }
    }
}

fn lax() -> EventLimits {
    EventLimits {
        max_event_bytes: usize::MAX,
        max_id_bytes: usize::MAX,
        max_entity_id_bytes: usize::MAX,
        max_text_bytes: usize::MAX,
        max_long_text_bytes: usize::MAX,
        max_labels: usize::MAX,
        max_label_bytes: usize::MAX,
        max_changed_fields: usize::MAX,
        max_json_depth: usize::MAX,
    }
}

#[test]
fn encode_into_appends_and_leaves_out_alone_on_error() {
    let limits = EventLimits::default();
    let mut out = vec![0xaa, 0xbb];
    encode_payload_into(&Event::new("a", "b"), &limits, &mut out).unwrap();
    assert_eq!(out[..2], [0xaa, 0xbb]);
    assert_eq!(out[2..], encode(&Event::new("a", "b")));
    let before = out.clone();

    let err = encode_payload_into(&Event::new("", "b"), &limits, &mut out).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidEvent {
                field: "actor.id",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(out, before);

    let big = Event::new("a", "b").before("x".repeat(2 << 20));
    let err = encode_payload_into(&big, &limits, &mut out).unwrap_err();
    assert!(matches!(err, Error::EventTooLarge { .. }), "{err}");
    assert_eq!(out, before);
}

#[test]
fn too_large_reports_the_exact_size() {
    let limits = EventLimits {
        max_event_bytes: 1000,
        ..EventLimits::default()
    };
    let exact = |e: &Event| encode_payload(e, &lax()).unwrap().len();
    let cases = [
        // The JSON alone exceeds the limit (the scratch buffer stops early).
        Event::new("a", "b")
            .before("x".repeat(5000))
            .after(json!([1, 2]))
            .metadata("k", "v"),
        Event::new("a", "b").metadata("k", "y".repeat(1200)),
        // The JSON fits; the whole payload does not.
        Event::new("a", "b")
            .after("x".repeat(900))
            .user_agent("u".repeat(200)),
        // No JSON at all.
        Event::new("a", "b").changed_fields((0..300).map(|i| format!("f{i}"))),
    ];
    for event in cases {
        match encode_payload(&event, &limits) {
            Err(Error::EventTooLarge { size, limit: 1000 }) => assert_eq!(size, exact(&event)),
            other => panic!("expected EventTooLarge, got {other:?}"),
        }
    }
    // Exactly at the limit is accepted.
    let base = exact(&Event::new("a", "b").user_agent(""));
    let fits = Event::new("a", "b").user_agent("u".repeat(1000 - base - 1));
    assert_eq!(exact(&fits), 1000);
    assert_eq!(encode_payload(&fits, &limits).unwrap().len(), 1000);
}

/// The hand-written encoder (wire_write.rs) against postcard on the mirror struct, the
/// reference: the same bytes for every field, present or absent, and for lengths and
/// timestamps around each varint boundary.
#[test]
fn hand_encoder_writes_what_postcard_writes() {
    let limits = EventLimits {
        max_event_bytes: usize::MAX,
        max_labels: 1000,
        ..EventLimits::default()
    };
    let mut events = vec![full_event(), Event::new("a", "b")];
    let generator = crate::sample::SampleEvents::new(3);
    events.extend((0..500).map(|i| generator.event(i, Timestamp::from_unix_secs(1_800_000_000))));
    for len in [126, 127, 128, 129, 16_383, 16_384, 16_385] {
        events.push(Event::new("a".repeat(len.min(200)), "b").metadata("pad", "x".repeat(len)));
    }
    for nanos in [0, 1, -1, 63, 64, -64, -65, i64::MAX, i64::MIN] {
        events.push(Event::new("a", "b").occurred_at(Timestamp::from_nanos(nanos)));
    }
    events.push(Event::new("a", "b").labels((0..200).map(|i| format!("l{i}"))));
    for event in &events {
        let mut hand = vec![0xAA];
        encode_payload_into(event, &limits, &mut hand).unwrap();
        assert_eq!(hand[0], 0xAA, "appends after what the buffer held");
        let reference = postcard::to_stdvec(&wire_of(event)).unwrap();
        assert_eq!(&hand[1..], &reference[..], "{event:?}");
    }
}

#[test]
fn the_size_limit_counts_the_exact_encoded_size() {
    let event = full_event();
    let size = encode(&event).len();
    let at = |max_event_bytes| EventLimits {
        max_event_bytes,
        ..EventLimits::default()
    };
    let mut out = b"kept".to_vec();
    assert!(encode_payload_into(&event, &at(size), &mut out).is_ok());
    let mut out = b"kept".to_vec();
    match encode_payload_into(&event, &at(size - 1), &mut out) {
        Err(Error::EventTooLarge { size: s, limit }) => assert_eq!((s, limit), (size, size - 1)),
        other => panic!("expected EventTooLarge, got {other:?}"),
    }
    assert_eq!(out, b"kept", "a refused event leaves the buffer as it was");
}
