//! Checking that a payload decodes, without building the event: what verification needs.
//!
//! [`validate_payload`] accepts exactly the payloads [`decode_payload`](super::decode_payload)
//! accepts. The postcard layer is walked by hand with postcard's rules (wire_walk.rs, shared
//! with queries' `Layout::parse`; serde's per-field machinery and a `from_utf8` call per
//! string cost more than the rest), falling back
//! to the decoder's own [`take_wire`](super::take_wire) for whatever the walk refuses, so that
//! errors are postcard's; the enum checks are shared. The JSON texts are first scanned by
//! hand (json_scan.rs: serde_json's grammar, answering only "surely accepted" or "ask
//! serde_json"), which decides almost every real text at a fraction of serde's cost. What it
//! does not vouch for goes to serde_json: instead of `serde_json::Value`s (which, with
//! `preserve_order` and `arbitrary_precision`, allocate per key, per string and per number)
//! they are walked by visitors that keep nothing. The walk calls the same serde_json
//! deserializer entry points as `Value` does (`deserialize_any`, and `deserialize_map` for
//! `metadata`), so syntax, string escapes (lone surrogates are refused: `IgnoredAny` would
//! accept them), the recursion limit and trailing characters are judged by the same code.
//! `Value` treats one map key specially under `arbitrary_precision`: an object whose first key
//! is serde_json's private number token is read as a number (its value must be a string
//! holding one), and the rest of the object is left to the deserializer's end-of-map check.
//! [`AnyJson`] mirrors that. The equivalence is asserted by a mutation test in codec_tests.rs.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{PayloadError, PayloadErrorKind, check_enums, take_wire};
use crate::event::wire_walk::{self, Reader, field};

/// The map key by which serde_json (with `arbitrary_precision`) hands a number that does not
/// fit `u64`/`i64` to a visitor, as a one-entry map. `serde_json::Value` recognises it.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Checks that `bytes` is a payload [`decode_payload`](super::decode_payload) would decode,
/// without building the event. Returns the same error kind on failure; callers that need the
/// exact message decode the (rare) failing payload again.
pub fn validate_payload(bytes: &[u8]) -> Result<(), PayloadError> {
    let texts = match walk_wire(bytes) {
        Some(fields) => fields,
        None => {
            // The walker refuses what postcard refuses (and nothing else, tests say): let
            // postcard say why, or, should the walker be stricter, carry on with its answer.
            let wire = take_wire(bytes)?;
            WireTexts {
                outcome: wire.outcome,
                severity: wire.severity,
                before: wire.before.map(str::as_bytes),
                after: wire.after.map(str::as_bytes),
                metadata: wire.metadata.map(str::as_bytes),
            }
        }
    };
    check_enums(texts.outcome, texts.severity)?;
    check_json("before", texts.before, false)?;
    check_json("after", texts.after, false)?;
    check_json("metadata", texts.metadata, true)?;
    Ok(())
}

/// The fields of a payload that need checks beyond postcard's. The JSON texts are bytes
/// already known to be UTF-8 (checked, or ASCII), so that the fast JSON scan needs no `&str`.
struct WireTexts<'a> {
    outcome: u8,
    severity: u8,
    before: Option<&'a [u8]>,
    after: Option<&'a [u8]>,
    metadata: Option<&'a [u8]>,
}

/// Walks the wire layout ([`wire_walk`], shared with queries' `Layout::parse`), keeping only
/// what needs checks beyond postcard's. `None` where postcard (through `take_wire`) would
/// fail.
fn walk_wire(bytes: &[u8]) -> Option<WireTexts<'_>> {
    let mut texts = [0usize; 3];
    let walked = wire_walk::walk(bytes, |f, pos| match f {
        field::BEFORE => texts[0] = pos,
        field::AFTER => texts[1] = pos,
        field::METADATA => texts[2] = pos,
        _ => {}
    })?;
    let text = |pos| Reader::at(bytes, pos).opt_bytes();
    Some(WireTexts {
        outcome: walked.outcome,
        severity: walked.severity,
        before: text(texts[0])?,
        after: text(texts[1])?,
        metadata: text(texts[2])?,
    })
}

/// Checks one JSON text (UTF-8 bytes): the fast scan (json_scan.rs) answers the usual texts,
/// serde_json through the visitors below everything it does not vouch for.
fn check_json(field: &'static str, text: Option<&[u8]>, object: bool) -> Result<(), PayloadError> {
    let Some(text) = text else { return Ok(()) };
    if json_scan::surely_accepted(text, object) {
        return Ok(());
    }
    // The walk checked the text is UTF-8; were it not, `from_slice` refuses it as serde_json
    // refuses invalid UTF-8 anywhere.
    let result = match (std::str::from_utf8(text), object) {
        (Ok(text), true) => serde_json::from_str::<AnyObject>(text).map(drop),
        (Ok(text), false) => serde_json::from_str::<AnyJson>(text).map(drop),
        (Err(_), true) => serde_json::from_slice::<AnyObject>(text).map(drop),
        (Err(_), false) => serde_json::from_slice::<AnyJson>(text).map(drop),
    };
    result.map_err(|source| PayloadError::new(PayloadErrorKind::BadJson { field, source }))
}

/// Any JSON value `serde_json::Value` would accept; keeps nothing.
struct AnyJson;

impl<'de> de::Deserialize<'de> for AnyJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyJsonVisitor)
    }
}

struct AnyJsonVisitor;

impl<'de> Visitor<'de> for AnyJsonVisitor {
    type Value = AnyJson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<AnyJson, E> {
        // Only a `Number` that can hold it is accepted (serde_json never produces these).
        let number = serde_json::Number::deserialize(de::value::I128Deserializer::<E>::new(v));
        number.map(|_| AnyJson)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<AnyJson, E> {
        let number = serde_json::Number::deserialize(de::value::U128Deserializer::<E>::new(v));
        number.map(|_| AnyJson)
    }

    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        // `Value` turns a non-finite float into null rather than failing.
        Ok(AnyJson)
    }

    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_string<E>(self, _: String) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_none<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<AnyJson, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        // As `Value`'s visitor: the first key decides whether this "map" is a number.
        match map.next_key_seed(KeyIsNumberToken)? {
            None => return Ok(AnyJson),
            Some(true) => {
                map.next_value::<NumberText>()?;
                return Ok(AnyJson);
            }
            Some(false) => {
                map.next_value::<AnyJson>()?;
            }
        }
        while map.next_entry::<Key, AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
}

/// A JSON object, as `serde_json::Map<String, Value>` (the type of `metadata`) accepts it:
/// `deserialize_map`, string keys, any values; no number-token special case.
struct AnyObject;

impl<'de> de::Deserialize<'de> for AnyObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AnyObjectVisitor)
    }
}

struct AnyObjectVisitor;

impl<'de> Visitor<'de> for AnyObjectVisitor {
    type Value = AnyObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_unit<E>(self) -> Result<AnyObject, E> {
        // `Map`'s visitor accepts unit as an empty map (serde_json never offers it here).
        Ok(AnyObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
        while map.next_entry::<Key, AnyJson>()?.is_some() {}
        Ok(AnyObject)
    }
}

/// An object key, read as a string (as `String` would be), kept nowhere.
struct Key;

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(|_| Key)
    }
}

/// Reads a key as a string and tells whether it is [`NUMBER_TOKEN`].
struct KeyIsNumberToken;

impl<'de> DeserializeSeed<'de> for KeyIsNumberToken {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

/// Visits a string; the value is whether it is [`NUMBER_TOKEN`].
struct StrVisitor;

impl Visitor<'_> for StrVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, s: &str) -> Result<bool, E> {
        Ok(s == NUMBER_TOKEN)
    }
}

/// The value under [`NUMBER_TOKEN`]: a string holding a JSON number, as `Value` requires.
struct NumberText;

impl<'de> de::Deserialize<'de> for NumberText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NumberTextVisitor)
    }
}

struct NumberTextVisitor;

impl Visitor<'_> for NumberTextVisitor {
    type Value = NumberText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("string containing a number")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<NumberText, E> {
        s.parse::<serde_json::Number>()
            .map(|_| NumberText)
            .map_err(de::Error::custom)
    }
}

#[path = "json_scan.rs"]
mod json_scan;

#[cfg(test)]
#[path = "codec_check_tests.rs"]
mod tests;
