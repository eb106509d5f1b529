//! `EventView` agrees with the serde decoder: on valid payloads field by field, and on their
//! truncations, bit flips, random edits and varint edge cases accept for accept, error for
//! error (JSON texts apart, which a view leaves unparsed until asked).

use proptest::prelude::*;
use serde_json::json;

use super::super::codec::{decode_payload, decode_with_serde, encode_payload};
use super::*;
use crate::event::EventLimits;
use crate::event::damage::truncations_flips_and_extension;

fn sample_events() -> Vec<Event> {
    vec![
        Event::new("a", "b"),
        Event::new("alice", "order.update")
            .occurred_at(Timestamp::from_nanos(-3))
            .actor_kind("user")
            .actor_name("Alice Ångström")
            .actor_email("a@example.com")
            .outcome(Outcome::Failure)
            .error_message("boom\nline")
            .severity(Severity::Critical)
            .entity("order", "42")
            .entity_name("Order é")
            .tenant("t")
            .ip("10.0.0.1")
            .user_agent("curl")
            .session_id("s")
            .request_id("r")
            .source("svc")
            .before(json!({"n": 1.25, "big": 1e300, "s": "é\u{1F600}", "a": [1, -2, null]}))
            .after(serde_json::Value::Null)
            .changed_fields(["n", "a[2]", "x"])
            .labels(["L", "PCI"])
            .metadata("z", 18446744073709551615u64)
            .metadata("k", json!({"v": "w"})),
        Event::new("b", "c").entity("user", "7").labels(["x"]),
    ]
}

fn encode(event: &Event) -> Vec<u8> {
    encode_payload(event, &EventLimits::default()).expect("valid event")
}

/// The view, and `decode_payload` (which goes through it), say what the serde decoder says.
fn assert_agrees(bytes: &[u8]) {
    let reference = decode_with_serde(bytes);
    let decoded = decode_payload(bytes);
    assert_eq!(
        format!("{decoded:?}"),
        format!("{reference:?}"),
        "decode_payload differs from the serde decoder on {bytes:?}"
    );
    let view = EventView::parse(bytes);
    match &reference {
        Err(e) if e.to_string().contains("not valid JSON") => {
            let view = view.expect("a view does not parse JSON");
            assert_eq!(
                view.to_event().map_err(|e| e.to_string()).err(),
                Some(e.to_string())
            );
        }
        Err(e) => assert_eq!(
            view.map(|_| ()).map_err(|e| e.to_string()),
            Err(e.to_string()),
            "on {bytes:?}"
        ),
        Ok(event) => {
            let view = view.expect("the view accepts what serde accepts");
            assert_eq!(view.to_event().ok().as_ref(), Some(event));
        }
    }
}

#[test]
fn every_field_reads_as_decoded() {
    for event in sample_events() {
        let bytes = encode(&event);
        let v = EventView::parse(&bytes).expect("valid");
        assert_eq!(v.payload(), &bytes[..]);
        assert_eq!(v.occurred_at(), event.occurred_at);
        assert_eq!(v.actor_id(), event.actor.id);
        assert_eq!(v.actor_kind(), event.actor.kind.as_deref());
        assert_eq!(v.actor_name(), event.actor.name.as_deref());
        assert_eq!(v.actor_email(), event.actor.email.as_deref());
        assert_eq!(v.action(), event.action);
        assert_eq!(v.outcome(), event.outcome);
        assert_eq!(v.error_message(), event.error_message.as_deref());
        assert_eq!(v.severity(), event.severity);
        let entity = event.entity.as_ref().map(|e| EntityView {
            kind: &e.kind,
            id: &e.id,
            name: e.name.as_deref(),
        });
        assert_eq!(v.entity(), entity);
        assert_eq!(v.tenant(), event.tenant.as_deref());
        assert_eq!(v.ip(), event.ip.as_deref());
        assert_eq!(v.user_agent(), event.user_agent.as_deref());
        assert_eq!(v.session_id(), event.session_id.as_deref());
        assert_eq!(v.request_id(), event.request_id.as_deref());
        assert_eq!(v.source(), event.source.as_deref());
        assert_eq!(v.changed_fields().collect::<Vec<_>>(), event.changed_fields);
        assert_eq!(v.labels().len(), event.labels.len());
        assert_eq!(v.labels().collect::<Vec<_>>(), event.labels);
        let text = |j: &Option<JsonText>| j.as_ref().map(|j| j.as_str().to_owned());
        assert_eq!(v.before_json().map(str::to_owned), text(&event.before));
        assert_eq!(v.after_json().map(str::to_owned), text(&event.after));
        assert_eq!(v.before().ok(), Some(event.before.clone()));
        assert_eq!(v.after().ok(), Some(event.after.clone()));
        assert_eq!(v.metadata().ok(), Some(event.metadata.clone()));
        assert_eq!(v.to_event().ok(), Some(event.clone()));
        // A layout kept apart from its view gives the same fields.
        let again = EventView::with_layout(&bytes, v.layout);
        assert_eq!(again.to_event().ok(), Some(event));
    }
}

#[test]
fn every_truncation_and_bit_flip_agrees() {
    for event in sample_events() {
        let bytes = encode(&event);
        for damaged in truncations_flips_and_extension(&bytes) {
            assert_agrees(&damaged);
        }
    }
}

#[test]
fn bad_enum_codes_and_json_agree() {
    let bytes = encode(&sample_events()[0]);
    // The minimal payload: outcome at byte 7, severity at byte 11 (docs/FORMAT.md §3).
    for (at, code) in [(7, 4u8), (7, 0xff), (11, 5), (11, 0x80)] {
        let mut damaged = bytes.clone();
        damaged[at] = code;
        assert!(EventView::parse(&damaged).is_err());
        assert_agrees(&damaged);
    }
}

#[test]
fn varint_edge_cases_agree() {
    // The minimal payload of docs/FORMAT.md §3 with `occurred_at` and an `actor_id` length
    // spliced in.
    let minimal_with = |occurred_at: &[u8], actor_id: &[u8]| {
        let mut b = vec![0x01];
        b.extend_from_slice(occurred_at);
        b.extend_from_slice(actor_id);
        b.extend_from_slice(&[
            0, 0, 0, 0x01, b'b', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        b
    };
    let mut max = vec![0xff; 9];
    max.push(0x01);
    let mut over = vec![0xff; 9];
    over.push(0x02);
    for v in [
        vec![0x00],
        vec![0x7f],
        vec![0x80, 0x00],
        max,
        over,
        vec![0xff; 10],
        vec![0x80; 10],
        vec![],
    ] {
        let mut some = vec![0x01];
        some.extend_from_slice(&v);
        assert_agrees(&minimal_with(&some, &[0x01, b'a']));
        let mut len = v.clone();
        len.push(b'a');
        assert_agrees(&minimal_with(&[0], &len));
    }
    let i64_min = minimal_with(
        &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
        &[1, b'a'],
    );
    let view = EventView::parse(&i64_min).expect("valid");
    assert_eq!(view.occurred_at(), Some(Timestamp::from_nanos(i64::MIN)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_byte_edits_agree(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&sample_events()[which]);
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        assert_agrees(&bytes);
    }
}

#[test]
fn non_ascii_text_and_long_strings_are_read() {
    // Lengths of 128 and more have high-bit varint bytes; "é" has high-bit text bytes:
    // either makes the walk check strings one by one.
    let long = "x".repeat(200);
    for event in [
        Event::new(long.as_str(), "a"),
        Event::new("é", long.as_str()).label("ü"),
        Event::new(long.as_str(), "é"),
    ] {
        let bytes = encode(&event);
        let v = EventView::parse(&bytes).expect("valid");
        assert_eq!(v.to_event().ok(), Some(event));
        // A non-UTF-8 byte where the text was is still refused.
        let mut bad = bytes.clone();
        if let Some(i) = bad.iter().position(|&b| b == 0xc3) {
            bad[i] = 0xff;
            assert!(EventView::parse(&bad).is_err());
            assert_agrees(&bad);
        }
    }
}

/// `n` as a postcard varint.
fn varint_bytes(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The nine-byte fast path decodes what the general loop decodes, and declines (reading
    /// nothing) whatever is not a nine-byte varint.
    #[test]
    fn nine_byte_fast_path_agrees_with_the_loop(
        value in any::<u64>(),
        high in any::<u64>(),
        noise in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        // Values of every length, weighted towards nine bytes (2^56..2^63).
        for n in [value, (high >> 1) | (1 << 56), value >> (value % 64)] {
            let mut bytes = varint_bytes(n);
            bytes.push(0x55);
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.varint(), Some(n));
            prop_assert_eq!(r.pos, bytes.len() - 1);
        }
        // Arbitrary bytes, and nine continuation-led ones: fast path or loop, same answer.
        let mut led = noise.clone();
        for b in led.iter_mut().take(8) {
            *b |= 0x80;
        }
        for bytes in [noise, led] {
            let mut fast = Reader::new(&bytes);
            let mut slow = Reader::new(&bytes);
            let want = slow.any_long_varint();
            match fast.nine_byte_varint() {
                Some(n) => {
                    prop_assert_eq!(Some(n), want);
                    prop_assert_eq!(fast.pos, slow.pos);
                }
                None => prop_assert_eq!(fast.pos, 0),
            }
            let mut any = Reader::new(&bytes);
            let got = any.long_varint();
            prop_assert_eq!(got, want);
            if got.is_some() {
                prop_assert_eq!(any.pos, slow.pos);
            }
        }
    }
}

/// `actor_id_bytes` reads the actor id every full walk reads, from the payload's first fields
/// alone, and refuses what is not this version's start of a payload.
#[test]
fn the_actor_id_is_read_from_the_first_fields() {
    for event in sample_events() {
        let payload = encode_payload(&event, &EventLimits::default()).expect("encode");
        let view = EventView::parse(&payload).expect("parse");
        assert_eq!(
            crate::event::actor_id_bytes(&payload),
            Some(view.actor_id().as_bytes()),
            "{event:?}"
        );
    }
    // docs/FORMAT.md §3's smallest payload: actor.id "a".
    let minimal = [
        0x01, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00, 0x01, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ];
    assert_eq!(crate::event::actor_id_bytes(&minimal), Some(&b"a"[..]));
    let mut other_version = minimal;
    other_version[0] = 0x02;
    assert_eq!(crate::event::actor_id_bytes(&other_version), None);
    assert_eq!(
        crate::event::actor_id_bytes(&minimal[..3]),
        None,
        "cut in the id"
    );
    assert_eq!(
        crate::event::actor_id_bytes(&[0x01, 0x07]),
        None,
        "a bad option tag"
    );
}
