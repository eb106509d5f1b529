//! The checker judges texts exactly as serde_json reads them into a `Value` (or a `Map` for
//! `metadata`), over edge cases, random token soups and mutations of valid texts, with one
//! difference by design: numbers are kept as text, so one beyond `f64`'s range (`1e400`),
//! which a `Value` without `arbitrary_precision` refuses, is accepted. Texts where serde_json
//! fails on such a number are judged by the checker alone (and `1e400` is tested directly).

use super::{MAX_DEPTH, accepted as surely_accepted, compact, scan};
use crate::event::damage::edit;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// serde_json's verdict; `None` when it refused a number out of `f64`'s range (which the
/// checker accepts on purpose).
fn serde_verdict(text: &[u8], object: bool) -> Option<bool> {
    let t = std::str::from_utf8(text).ok()?;
    let result = match object {
        true => serde_json::from_str::<Map<String, Value>>(t).map(drop),
        false => serde_json::from_str::<Value>(t).map(drop),
    };
    match result {
        Ok(()) => Some(true),
        Err(e) if e.to_string().contains("number out of range") => None,
        Err(_) => Some(false),
    }
}

fn serde_accepts(text: &[u8], object: bool) -> bool {
    serde_verdict(text, object) == Some(true)
}

/// The checker agrees with serde_json, as a value and as an object.
fn assert_sound(text: &[u8]) {
    for object in [false, true] {
        if let Some(serde) = serde_verdict(text, object) {
            assert_eq!(
                surely_accepted(text, object),
                serde,
                "checker and serde_json differ on {:?} (object: {object})",
                String::from_utf8_lossy(text)
            );
        }
    }
}

#[test]
fn numbers_beyond_f64_are_accepted() {
    for text in [
        "1e400",
        "-1e400",
        "[1E+999999]",
        "{\"a\":12345678901234567890123456789e999}",
    ] {
        assert!(surely_accepted(text.as_bytes(), false), "{text}");
    }
}

#[test]
fn depth_is_measured_up_to_the_limit() {
    for depth in [0, 1, 5, MAX_DEPTH] {
        let text = "[".repeat(depth as usize) + "0" + &"]".repeat(depth as usize);
        assert_eq!(scan(text.as_bytes()).map(|s| s.depth), Ok(depth));
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
/// made of them, and so must the checker.
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

/// Pieces that make serde_json refuse the string, or that are unusual.
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
fn edge_cases_are_judged_exactly() {
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
    fn token_soups_are_judged_exactly(text in soup()) {
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
        // Whatever serde_json prints, the checker accepts.
        prop_assert!(surely_accepted(text.as_bytes(), false), "{}", text);
        prop_assert_eq!(surely_accepted(text.as_bytes(), true), value.is_object());
    }

    /// Compacting a pretty-printed value (or one spaced at random outside its strings) gives
    /// serde_json's compact printing of it: strings, escapes and non-ASCII text untouched.
    #[test]
    fn compacting_removes_exactly_the_whitespace_outside_strings(
        value in json_value(),
        spaces in prop::collection::vec(prop::sample::select(vec![" ", "\n", "\t", "\r\n"]), 1..8),
    ) {
        let tight = serde_json::to_string(&value).expect("printable");
        let pretty = serde_json::to_string_pretty(&value).expect("printable");
        prop_assert_eq!(compact(&pretty), tight.clone());
        // Whitespace after every comma and colon outside strings, as Python's json.dumps does.
        let mut spaced = String::new();
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in tight.chars().enumerate() {
            spaced.push(c);
            if in_string {
                if escaped { escaped = false } else if c == '\\' { escaped = true } else if c == '"' { in_string = false }
            } else if c == '"' {
                in_string = true;
            } else if matches!(c, ',' | ':' | '[' | '{') {
                spaced.push_str(spaces[i % spaces.len()]);
            }
        }
        prop_assert_eq!(compact(&spaced), tight);
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
    fn mutations_of_valid_texts_are_judged_exactly(
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
