//! The fast scan never vouches for a text serde_json refuses (what `decode_payload` parses
//! into a `Value`, or a `Map` for `metadata`), over edge cases, random token soups and
//! mutations of valid texts; and it does vouch for ordinary JSON (otherwise it would be a
//! fast path in name only).

use super::surely_accepted;
use crate::event::damage::edit;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn serde_accepts(text: &[u8], object: bool) -> bool {
    match std::str::from_utf8(text) {
        Ok(t) if object => serde_json::from_str::<Map<String, Value>>(t).is_ok(),
        Ok(t) => serde_json::from_str::<Value>(t).is_ok(),
        Err(_) => false,
    }
}

/// The scan's `true` implies serde_json's acceptance, as a value and as an object.
fn assert_sound(text: &[u8]) {
    for object in [false, true] {
        if surely_accepted(text, object) {
            assert!(
                serde_accepts(text, object),
                "scan vouched for {:?} (object: {object}), serde_json refuses it",
                String::from_utf8_lossy(text)
            );
        }
    }
}

const TOKEN: &str = "\"$serde_json::private::Number\"";

/// Pieces of JSON, valid and not, glued at random by the soup strategy.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "\t",
    "\r",
    "\u{c}",
    "\"",
    "\\",
    "\"a\"",
    "\"\"",
    "\"é\"",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud83d\\ude00\"",
    "\"\\x\"",
    "\"\\u12g4\"",
    "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
    "\"\u{1}\"",
    "\"\u{7f}\"",
    "0",
    "-0",
    "01",
    "1",
    "-",
    "1.",
    ".5",
    "1.5",
    "1e",
    "1e+",
    "1E-7",
    "1e400",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "true",
    "false",
    "null",
    "nul",
    "truex",
    "NaN",
    "Infinity",
    TOKEN,
    "\"x\"",
    "{\"k\":1}",
    "[1,2]",
    "\u{feff}",
    "'",
    "//",
];

/// Pieces of string contents, mostly escapes as dense as in Windows `Message` texts
/// (`\r\n\t` every few bytes, doubled backslashes in paths); serde_json accepts any string
/// made of them, and the scan must vouch for it.
const USUAL_STRING_PIECES: &[&str] = &[
    "\\r",
    "\\n",
    "\\t",
    "\\\\",
    "\\\"",
    "\\/",
    "\\b",
    "\\f",
    "\\u00e9",
    "\\u0041",
    "\\uFFFD",
    "a",
    "Process ID:",
    "device",
    "é",
    "😀",
    " ",
];

/// Pieces that make serde_json refuse the string, or that the scan leaves to serde_json.
const UNUSUAL_STRING_PIECES: &[&str] = &["\\x", "\\", "\\u12", "\\ud800", "\u{1}", "\t", "\""];

/// String contents as pieces, each unusual with probability 1/20.
fn escape_dense_string() -> impl Strategy<Value = Vec<&'static str>> {
    let piece = prop_oneof![
        19 => prop::sample::select(USUAL_STRING_PIECES),
        1 => prop::sample::select(UNUSUAL_STRING_PIECES),
    ];
    prop::collection::vec(piece, 0..120)
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

/// Arbitrary JSON values (serde_json's own printing of them is valid JSON).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z$:_\\\\\"\\u{0}-\\u{1f}é😀]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(("[a-z$é:]{0,6}", inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn edge_cases_are_judged_soundly() {
    let mut texts: Vec<String> = PIECES.iter().map(|s| s.to_string()).collect();
    for depth in [99, 100, 101, 126, 127, 128, 200] {
        texts.push("[".repeat(depth) + &"]".repeat(depth));
        texts.push("{\"a\":".repeat(depth) + "1" + &"}".repeat(depth));
    }
    for value in ["\"1.5\"", "\"abc\"", "1", "null"] {
        texts.push(format!("{{{TOKEN}:{value}}}"));
        texts.push(format!("{{\"x\":{{{TOKEN}:{value}}}}}"));
        texts.push(format!(
            "{{\"\\u0024serde_json::private::Number\":{value}}}"
        ));
    }
    for text in &texts {
        assert_sound(text.as_bytes());
    }
}

#[test]
fn ordinary_json_is_vouched_for() {
    for text in [
        "null",
        " -0.5e-3 ",
        "\"a\\u00e9\\n\\\"b\"",
        "[1, 2.5, \"x\", true, false, null, {}, []]",
        "{\"user\": {\"id\": 42, \"roles\": [\"admin\"], \"note\": \"é😀\"}, \"$ref\": 1}",
        &("[".repeat(100) + &"]".repeat(100)),
    ] {
        assert!(surely_accepted(text.as_bytes(), false), "{text}");
        assert!(serde_accepts(text.as_bytes(), false), "{text}");
    }
    assert!(surely_accepted(b" {\"a\": [1]} ", true));
    assert!(!surely_accepted(b"[1]", true), "metadata must be an object");
    let events = crate::sample::SampleEvents::new(3);
    for i in 0..200 {
        let event = events.event(i, crate::timestamp::Timestamp::from_nanos(0));
        for v in [&event.before, &event.after].into_iter().flatten() {
            let text = serde_json::to_string(v).expect("printable");
            assert!(surely_accepted(text.as_bytes(), false), "{text}");
        }
        if let Some(metadata) = &event.metadata {
            let text = serde_json::to_string(metadata).expect("printable");
            assert!(surely_accepted(text.as_bytes(), true), "{text}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn token_soups_are_judged_soundly(text in soup()) {
        assert_sound(text.as_bytes());
    }

    #[test]
    fn printed_values_are_vouched_for_unless_unusual(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
        .expect("printable");
        assert_sound(text.as_bytes());
        // serde_json prints no surrogate escapes, these keys need no escapes (the scan
        // leaves an object with an escaped first key to serde_json), and these values nest 7
        // deep at most: the scan must vouch for every such text.
        prop_assert!(surely_accepted(text.as_bytes(), false), "{}", text);
        prop_assert_eq!(surely_accepted(text.as_bytes(), true), value.is_object());
    }

    #[test]
    fn escape_dense_strings_are_judged_exactly(pieces in escape_dense_string(), at in 0u8..3) {
        let contents = pieces.concat();
        // the string as a value, as an object's value, and as an object's second key
        let text = match at {
            0 => format!("\"{contents}\""),
            1 => format!("{{\"k\":\"{contents}\"}}"),
            _ => format!("{{\"k\":1,\"{contents}\":[\"{contents}\"]}}"),
        };
        assert_sound(text.as_bytes());
        if pieces.iter().all(|p| USUAL_STRING_PIECES.contains(p)) {
            prop_assert!(serde_accepts(text.as_bytes(), false), "{}", text);
            prop_assert!(surely_accepted(text.as_bytes(), false), "{}", text);
        }
    }

    #[test]
    fn mutations_of_valid_texts_are_judged_soundly(
        value in json_value(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(b"[]{}\",:0.eE+-\\u d8\x7f \x01".to_vec()), 0u8..3),
            1..4,
        ),
    ) {
        let mut text = serde_json::to_string(&value).expect("printable").into_bytes();
        for (at, byte, how) in edits {
            let i = at.index(text.len() + 1);
            edit(&mut text, i, byte, how);
        }
        // Non-UTF-8 bytes never reach the scan (the payload walk checks UTF-8 first).
        if std::str::from_utf8(&text).is_ok() {
            assert_sound(&text);
        }
    }
}
