//! `validate_payload` accepts exactly what `decode_payload` accepts: over valid payloads, their
//! byte-level mutations and truncations, and payloads whose JSON texts are hostile (edge cases
//! of serde_json's grammar: numbers beyond `f64`, surrogate escapes, nesting at the limit,
//! its private number token, and random mutations).

use proptest::prelude::*;
use serde_json::json;

use super::super::take_wire;
use super::super::{WireEncode, decode_payload, encode_payload};
use super::{validate_payload, walk_wire};
use crate::event::damage::{edit, truncations_flips_and_extension};
use crate::event::{Event, EventLimits, Outcome, Severity};
use crate::timestamp::Timestamp;

fn assert_same(bytes: &[u8]) {
    assert_eq!(
        walk_wire(bytes).is_some(),
        take_wire(bytes).is_ok(),
        "the postcard walk and postcard disagree on {bytes:?}"
    );
    let decoded = decode_payload(bytes);
    let validated = validate_payload(bytes);
    assert_eq!(
        validated.is_ok(),
        decoded.is_ok(),
        "validate {validated:?} vs decode {:?} for {bytes:?}",
        decoded.as_ref().err()
    );
    if let (Err(v), Err(d)) = (&validated, &decoded) {
        // Same kind of failure (the messages of JSON errors may differ in wording only
        // where the visitor's `expecting` text differs).
        assert_eq!(
            std::mem::discriminant(&v.kind),
            std::mem::discriminant(&d.kind)
        );
    }
}

/// A payload with the given JSON texts, the other fields as a plain event.
fn with_json(before: Option<&str>, after: Option<&str>, metadata: Option<&str>) -> Vec<u8> {
    let wire = WireEncode {
        payload_version: super::super::PAYLOAD_VERSION,
        occurred_at: Some(7),
        actor_id: "a",
        actor_kind: None,
        actor_name: Some("n"),
        actor_email: None,
        action: "act",
        outcome: 1,
        error_message: None,
        severity: 2,
        entity: None,
        tenant: None,
        ip: None,
        user_agent: None,
        session_id: None,
        request_id: None,
        source: None,
        before,
        after,
        changed_fields: &[],
        labels: &[],
        metadata,
    };
    postcard::to_allocvec(&wire).expect("encodable")
}

fn assert_same_json(text: &str) {
    assert_same(&with_json(Some(text), None, None));
    assert_same(&with_json(None, Some(text), None));
    assert_same(&with_json(None, None, Some(text)));
}

const NUMBER_TOKEN: &str = "$serde_json::private::Number";

fn edge_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "null",
        "true",
        "false",
        "0",
        "-0",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "1E-7",
        "1.5e300",
        "1e400",
        "-1e-400",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "18446744073709551616",
        "18446744073709551615",
        "\"\"",
        "\"\\ud800\"",
        "\"\\ud83d\\ude00\"",
        "\"\\udc00\\ud800\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u00e9\"",
        "\"tab\there\"",
        "\"nl\\n\"",
        "[]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{}",
        "{,}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:2}",
        "{\"a\":1,\"a\":2}",
        "{\"\\ud800\":1}",
        " {} ",
        "{} x",
        "{}{}",
        "",
        " ",
        "nul",
        "truex",
        "[null,true,{\"k\":[1.5,\"s\"]}]",
        "\u{feff}{}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for value in [
        "\"1.5\"",
        "\"abc\"",
        "\"1\"",
        "1",
        "\"1e400\"",
        "null",
        "\"-0\"",
        "\"01\"",
    ] {
        texts.push(format!("{{\"{NUMBER_TOKEN}\":{value}}}"));
        texts.push(format!("{{\"{NUMBER_TOKEN}\":{value},\"x\":2}}"));
        texts.push(format!("{{\"x\":2,\"{NUMBER_TOKEN}\":{value}}}"));
        texts.push(format!("[{{\"{NUMBER_TOKEN}\":{value}}}]"));
    }
    for depth in [126, 127, 128, 129, 200] {
        texts.push("[".repeat(depth) + &"]".repeat(depth));
        texts.push("{\"a\":".repeat(depth) + "1" + &"}".repeat(depth));
        texts.push("{\"a\":".repeat(depth) + "[]" + &"}".repeat(depth));
    }
    texts
}

#[test]
fn json_edge_cases_agree() {
    for text in edge_texts() {
        assert_same_json(&text);
    }
}

#[test]
fn number_token_objects_are_plain_objects() {
    // serde_json's private number token meant a number only under `arbitrary_precision`,
    // which this crate no longer turns on: now it is a key like any other.
    let text = format!("{{\"{NUMBER_TOKEN}\":\"abc\"}}");
    assert!(validate_payload(&with_json(Some(&text), None, None)).is_ok());
    assert!(validate_payload(&with_json(None, None, Some(&text))).is_ok());
    assert!(validate_payload(&with_json(None, None, Some("[1]"))).is_err());
    assert!(validate_payload(&with_json(Some("\"\\ud800\""), None, None)).is_err());
}

fn sample_events() -> Vec<Event> {
    vec![
        Event::new("a", "b"),
        Event::new("alice", "order.update")
            .occurred_at(Timestamp::from_nanos(-3))
            .actor_kind("user")
            .outcome(Outcome::Failure)
            .error_message("boom")
            .severity(Severity::Critical)
            .entity("order", "42")
            .entity_name("Order")
            .tenant("t")
            .before(json!({"n": 1.25, "big": 1e300, "s": "é\u{1F600}", "a": [1, -2, null]}))
            .after(json!(["x", {"deep": {"deeper": [true, false]}}]))
            .changed_fields(["n", "a[2]"])
            .labels(["L"])
            .metadata("k", json!({"v": "w"}))
            .metadata("z", 18446744073709551615u64),
    ]
}

#[test]
fn every_truncation_and_bit_flip_of_valid_payloads_agrees() {
    for event in sample_events() {
        let bytes = encode_payload(&event, &EventLimits::default()).expect("valid event");
        assert!(validate_payload(&bytes).is_ok());
        assert!(
            walk_wire(&bytes).is_some(),
            "the fast walk must take valid payloads"
        );
        for damaged in truncations_flips_and_extension(&bytes) {
            assert_same(&damaged);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_json_texts_agree(text in "[\\[\\]{}\",:0-9a-z\\\\.eE+\\- $_]{0,24}") {
        assert_same_json(&text);
    }

    #[test]
    fn mutated_json_texts_agree(
        pick in 0usize..64,
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"[]{}\",:0.eE+-\\u d8\x7f ".to_vec()),
        how in 0u8..3,
    ) {
        let texts = edge_texts();
        let mut text = texts[pick % texts.len()].clone().into_bytes();
        let i = at.index(text.len() + 1);
        edit(&mut text, i, byte, how);
        if let Ok(text) = String::from_utf8(text) {
            assert_same_json(&text);
        }
    }

    #[test]
    fn random_byte_edits_of_payloads_agree(
        which in 0usize..2,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let event = &sample_events()[which];
        let mut bytes = encode_payload(event, &EventLimits::default()).expect("valid event");
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        assert_same(&bytes);
    }
}

/// The minimal payload of docs/FORMAT.md §3 with `occurred_at` and `actor_id` spliced in.
fn minimal_with(occurred_at: &[u8], actor_id: &[u8], changed_fields: &[u8]) -> Vec<u8> {
    let mut b = vec![0x01];
    b.extend_from_slice(occurred_at);
    b.extend_from_slice(actor_id);
    b.extend_from_slice(&[0, 0, 0, 0x01, b'b', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(changed_fields);
    b.extend_from_slice(&[0, 0]);
    b
}

#[test]
fn varint_edge_cases_agree_with_postcard() {
    let mut max = vec![0xff; 9];
    max.push(0x01);
    let mut over = vec![0xff; 9];
    over.push(0x02);
    let varints: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x7f],
        vec![0x80, 0x00],
        vec![0x80, 0x80, 0x80, 0x00],
        max.clone(),
        over.clone(),
        vec![0xff; 10],
        vec![0x80; 10],
        vec![0xff; 9],
        vec![],
    ];
    for v in &varints {
        let mut some = vec![0x01];
        some.extend_from_slice(v);
        assert_same(&minimal_with(&some, &[0x01, b'a'], &[0]));
        // As the length of actor_id (followed by one byte of text).
        let mut len = v.clone();
        len.push(b'a');
        assert_same(&minimal_with(&[0], &len, &[0]));
        // As the count of changed_fields (followed by some empty strings).
        let mut count = v.clone();
        count.extend_from_slice(&[0, 0, 0]);
        assert_same(&minimal_with(&[0], &[0x01, b'a'], &count));
    }
    assert!(validate_payload(&minimal_with(&[0], &[0x01, b'a'], &[0])).is_ok());
    assert!(validate_payload(&minimal_with(&[0], &[0x81, 0x00, b'a'], &[0])).is_ok());
    assert!(validate_payload(&minimal_with(&[0], &[0x01, 0xff], &[0])).is_err());
    assert!(validate_payload(&minimal_with(&[0], &[0x02, 0xc3, 0xa9], &[0])).is_ok());
    assert!(validate_payload(&minimal_with(&[0x02], &[0x01, b'a'], &[0])).is_err());
}
