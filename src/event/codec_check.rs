//! Checking that a payload decodes, without building the event: what verification needs.
//!
//! [`validate_payload`] accepts exactly the payloads [`decode_payload`](super::decode_payload)
//! accepts. The postcard layer is walked by hand with postcard's rules ([`walk_wire`]; serde's
//! per-field machinery and a `from_utf8` call per string cost more than the rest), falling back
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

/// Walks the wire layout (codec.rs `WireDecode`, docs/FORMAT.md §3) with postcard's rules,
/// without serde: the version byte; `Option` tags 0 or 1; varints of at most 10 bytes whose
/// 10th byte is at most 1; strings as a varint length, that many bytes, valid UTF-8 (checked
/// as ASCII first, which is most of them); sequences as a varint count of strings; no bytes
/// left over. `None` where postcard (through `take_wire`) would fail.
fn walk_wire(bytes: &[u8]) -> Option<WireTexts<'_>> {
    let mut r = Reader {
        bytes,
        pos: 0,
        rest_is_ascii: false,
    };
    if r.byte()? != super::PAYLOAD_VERSION {
        return None;
    }
    if r.option()? {
        r.varint()?; // occurred_at: zigzag i64, any value
    }
    // Usually every byte from here on is ASCII (short lengths and ASCII text): one check for
    // all strings instead of one per string.
    r.rest_is_ascii = is_ascii(bytes.get(r.pos..)?);
    r.str_ok()?; // actor_id
    for _ in 0..3 {
        r.opt_str_ok()?; // actor_kind, actor_name, actor_email
    }
    r.str_ok()?; // action
    let outcome = r.byte()?;
    r.opt_str_ok()?; // error_message
    let severity = r.byte()?;
    if r.option()? {
        r.str_ok()?; // entity.kind
        r.str_ok()?; // entity.id
        r.opt_str_ok()?; // entity.name
    }
    for _ in 0..6 {
        r.opt_str_ok()?; // tenant, ip, user_agent, session_id, request_id, source
    }
    let before = r.opt_str()?;
    let after = r.opt_str()?;
    for _ in 0..2 {
        // changed_fields, labels: each element takes at least one byte, so a bogus count
        // ends at the end of the input.
        let count = r.varint()?;
        for _ in 0..count {
            r.str_ok()?;
        }
    }
    let metadata = r.opt_str()?;
    (r.pos == bytes.len()).then_some(WireTexts {
        outcome,
        severity,
        before,
        after,
        metadata,
    })
}

/// Whether every byte is ASCII: eight bytes per step (std's `is_ascii` ends in a byte loop
/// that costs as much as the rest on a few hundred bytes).
fn is_ascii(bytes: &[u8]) -> bool {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let mut high = 0u64;
    for chunk in chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        high |= u64::from_le_bytes(word);
    }
    high & 0x8080_8080_8080_8080 == 0 && tail.is_ascii()
}

/// postcard's primitive reads over a byte slice (postcard 1.x `de::deserializer`).
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Whether every byte from `pos` on was found to be ASCII, so any string there is UTF-8.
    rest_is_ascii: bool,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn option(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// postcard's `try_take_varint_u64`: 7 bits per byte, at most 10 bytes, and the 10th may
    /// carry only the one remaining bit. Overlong encodings are accepted, as postcard does.
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        // Almost every length and count is below 128: one byte, no loop.
        if let Some(&b) = self.bytes.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Some(u64::from(b));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Option<u64> {
        const MAX_BYTES: usize = 10;
        let mut out = 0u64;
        for i in 0..MAX_BYTES {
            let b = self.byte()?;
            out |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return (i < MAX_BYTES - 1 || b <= 1).then_some(out);
            }
        }
        None
    }

    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(len).ok()?)?;
        let taken = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(taken)
    }

    #[inline]
    fn str_ok(&mut self) -> Option<()> {
        let len = self.varint()?;
        let b = self.take(len)?;
        (self.rest_is_ascii || b.is_ascii() || std::str::from_utf8(b).is_ok()).then_some(())
    }

    #[inline]
    fn opt_str_ok(&mut self) -> Option<()> {
        if self.option()? {
            self.str_ok()
        } else {
            Some(())
        }
    }

    /// An optional string, as bytes known to be UTF-8.
    fn opt_str(&mut self) -> Option<Option<&'a [u8]>> {
        if !self.option()? {
            return Some(None);
        }
        let len = self.varint()?;
        let b = self.take(len)?;
        (self.rest_is_ascii || std::str::from_utf8(b).is_ok()).then_some(Some(b))
    }
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
