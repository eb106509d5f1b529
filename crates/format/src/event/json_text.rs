//! [`JsonText`]: the JSON values of an event (`before`, `after`, `metadata`), held as checked
//! JSON text rather than as a `serde_json::Value` tree.
//!
//! The text is what the payload stores (docs/FORMAT.md §3), so it round-trips byte for byte:
//! key order, duplicate keys, `1.10`, `1e400` and integers of any length come back as they
//! went in, without serde_json's `preserve_order` and `arbitrary_precision` features (cargo
//! features are global, so turning those on here changed `f64` parsing, `#[serde(flatten)]`
//! and untagged enums in every application that depends on this crate). Parsing is left to
//! the reader: [`JsonText::parse`] into any type, [`JsonText::to_value`] for a `Value`.
//!
//! Every text is checked once, when it is made, by the crate's one JSON checker
//! (json_scan.rs), the same that payload decoding and verification use; it also notes the
//! nesting depth and the longest top-level key, which [`Event::validate`](super::Event::validate)
//! checks against [`EventLimits`](super::EventLimits) without another pass.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::json_scan::{self, MAX_DEPTH, Reject, Scan};

/// One JSON value as compact text, checked to be JSON that serde_json reads (strings with
/// paired surrogate escapes, at most 127 levels of nesting).
///
/// Equal when the texts are equal (`{"a":1,"b":2}` and `{"b":2,"a":1}` differ, as do `1.1`
/// and `1.10`). Serializes as the raw JSON (through serde_json), and deserializes from any
/// JSON value, keeping its text.
///
/// ```
/// use auditlog_format::event::JsonText;
/// let text: JsonText = r#"{"total": 12345678901234567890123456789, "rate": 1.10}"#.parse()?;
/// assert_eq!(text.as_str(), r#"{"total":12345678901234567890123456789,"rate":1.10}"#);
/// let from_value = JsonText::from(serde_json::json!({"status": "open"}));
/// assert_eq!(from_value.as_str(), r#"{"status":"open"}"#);
/// let status: std::collections::HashMap<String, String> = from_value.parse()?;
/// assert_eq!(status["status"], "open");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct JsonText {
    raw: Box<RawValue>,
    /// Nesting of arrays and objects; `MAX_DEPTH + 1` for a text made from a value nested
    /// deeper than any payload may hold (validation refuses it).
    depth: u8,
    /// Bytes of the longest key of a top-level object (0 for other values).
    widest_key: usize,
    object: bool,
}

impl JsonText {
    /// Checks `text` as JSON and keeps it, without the whitespace outside strings.
    fn checked(text: &str) -> Result<JsonText, JsonTextError> {
        let scan =
            json_scan::scan(text.as_bytes()).map_err(|r| JsonTextError::rejected(r, text))?;
        JsonText::scanned(text, scan)
    }

    /// `text`, which `scan` came from (so it is valid), kept without the whitespace outside
    /// strings. Compacting changes neither the nesting nor the keys, so the scan still holds.
    fn scanned(text: &str, scan: Scan) -> Result<JsonText, JsonTextError> {
        let compact = if scan.spaced {
            json_scan::compact(text)
        } else {
            text.to_owned()
        };
        let raw = RawValue::from_string(compact).map_err(|e| JsonTextError::syntax(0, Some(e)))?;
        Ok(JsonText::with_scan(raw, scan))
    }

    fn with_scan(raw: Box<RawValue>, scan: Scan) -> JsonText {
        JsonText {
            raw,
            depth: u8::try_from(scan.depth).unwrap_or(u8::MAX),
            widest_key: scan.widest_key,
            object: scan.object,
        }
    }

    /// A text serde_json printed (valid but for the depth, which it does not limit, and
    /// compact but for raw values inside): kept as is (compacted if need be), too deep marked
    /// as such; anything else refused.
    fn printed(raw: Box<RawValue>) -> Result<JsonText, JsonTextError> {
        match json_scan::scan(raw.get().as_bytes()) {
            Ok(scan) if !scan.spaced => Ok(JsonText::with_scan(raw, scan)),
            // Whitespace from a raw value inside what was printed.
            Ok(scan) => JsonText::scanned(raw.get(), scan),
            Err(Reject::TooDeep(_)) => Ok(JsonText {
                object: raw.get().starts_with('{'),
                raw,
                depth: (MAX_DEPTH + 1) as u8,
                widest_key: 0,
            }),
            Err(reject) => Err(JsonTextError::rejected(reject, raw.get())),
        }
    }

    /// The JSON serde_json prints for `value` (compact).
    ///
    /// Errors: whatever serde_json refuses to print (a map with keys that are not strings, a
    /// failing `Serialize` impl), or a raw JSON value inside `value` that is not JSON this
    /// type holds (a lone surrogate escape).
    pub fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<JsonText, JsonTextError> {
        let raw = serde_json::value::to_raw_value(value).map_err(JsonTextError::unprintable)?;
        JsonText::printed(raw)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.raw.get()
    }

    /// The JSON text, as serde_json's raw value (to embed in other serialized data).
    pub fn as_raw(&self) -> &RawValue {
        &self.raw
    }

    /// Parses the text into `T`. Numbers are read as `T` reads them: into a `Value` (see
    /// [`JsonText::to_value`]) an integer beyond `u64`/`i64` becomes an `f64` and one beyond
    /// `f64` fails; into `&RawValue` or a `String` of raw JSON nothing is lost.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.as_str())
    }

    /// Parses the text into a `serde_json::Value`. Without serde_json's
    /// `arbitrary_precision` feature this rounds numbers that do not fit `u64`, `i64` or
    /// `f64` and fails on ones beyond `f64`'s range (`1e400`); use [`JsonText::as_str`] or
    /// [`JsonText::parse`] when exact numbers matter.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        self.parse()
    }

    /// Whether the value is a JSON object (what `metadata` must be).
    pub fn is_object(&self) -> bool {
        self.object
    }

    /// Nesting of arrays and objects (0 for a scalar); over 127 only for a text made from a
    /// `Value` or `Serialize` that deep, which validation refuses.
    pub(crate) fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// Bytes of the longest key of the top-level object (0 for other values).
    pub(crate) fn widest_key(&self) -> usize {
        self.widest_key
    }

    /// Checks `self` is an object, for `metadata`.
    pub(crate) fn into_object(self) -> Result<JsonText, JsonTextError> {
        match self.object {
            true => Ok(self),
            false => Err(JsonTextError::new(JsonTextErrorKind::NotAnObject)),
        }
    }

    /// Checks the text of a stored payload field (an object for `metadata`).
    pub(crate) fn from_stored(text: &str, object: bool) -> Result<JsonText, JsonTextError> {
        let text = JsonText::checked(text)?;
        if object { text.into_object() } else { Ok(text) }
    }

    /// This object with `key` set to `value`: an existing key keeps its position (later
    /// duplicates of it are dropped), a new key goes last. Not an object: a new object with
    /// only this entry. The other entries keep their text; their keys are printed again by
    /// serde_json (the same text unless they used unneeded escapes).
    pub(crate) fn with_entry(&self, key: &str, value: &JsonText) -> JsonText {
        let parsed = match self.object {
            true => self.parse::<Entries<'_>>().map(|e| e.0).unwrap_or_default(),
            false => Vec::new(),
        };
        let mut entries: Vec<(&str, &RawValue)> = Vec::with_capacity(parsed.len() + 1);
        let mut replaced = false;
        for (k, v) in &parsed {
            match (k.as_str() == key, replaced) {
                (false, _) => entries.push((k, v)),
                (true, false) => {
                    entries.push((k, value.as_raw()));
                    replaced = true;
                }
                (true, true) => {}
            }
        }
        if !replaced {
            entries.push((key, value.as_raw()));
        }
        // Printed by serde_json, the raw values copied as they are: valid JSON, not parsed
        // again.
        JsonText::serialize(&EntriesOut(&entries)).unwrap_or_else(|_| value.clone())
    }
}

/// Entries to print as one object.
struct EntriesOut<'a>(&'a [(&'a str, &'a RawValue)]);

impl Serialize for EntriesOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The entries of an object in text order, values as raw text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
}

impl Default for JsonText {
    /// JSON `null`.
    fn default() -> Self {
        JsonText {
            raw: Box::<RawValue>::default(),
            depth: 0,
            widest_key: 0,
            object: false,
        }
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        JsonText::from(&value)
    }
}

impl From<&Value> for JsonText {
    /// serde_json's compact printing of `value`. A `Value` always prints as valid JSON; one
    /// nested deeper than 127 levels gives a text that [`Event::validate`](super::Event::validate)
    /// refuses.
    fn from(value: &Value) -> Self {
        // Unreachable fallback: printing a `Value` cannot fail and its strings are Rust
        // strings; should it ever, a null marked too deep, which validation refuses.
        JsonText::serialize(value).unwrap_or_else(|_| JsonText {
            depth: (MAX_DEPTH + 1) as u8,
            ..JsonText::default()
        })
    }
}

impl FromStr for JsonText {
    type Err = JsonTextError;

    /// Checks `text` as one JSON value and keeps it without the whitespace outside strings.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JsonText::checked(text)
    }
}

impl TryFrom<&str> for JsonText {
    type Error = JsonTextError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        JsonText::checked(text)
    }
}

impl TryFrom<String> for JsonText {
    type Error = JsonTextError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        JsonText::checked(&text)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for JsonText {}

impl std::hash::Hash for JsonText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonText").field(&self.as_str()).finish()
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    /// Keeps the text of the value as read (serde_json's raw value), checked and compacted.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        match json_scan::scan(raw.get().as_bytes()) {
            // Already compact: keep the raw value as serde_json made it.
            Ok(scan) if !scan.spaced => Ok(JsonText::with_scan(raw, scan)),
            // Scanned once: a second scan of the same text was a tenth of server ingest.
            Ok(scan) => JsonText::scanned(raw.get(), scan).map_err(de::Error::custom),
            Err(reject) => Err(de::Error::custom(JsonTextError::rejected(
                reject,
                raw.get(),
            ))),
        }
    }
}

/// Why a text is not a [`JsonText`] (or not the object `metadata` must be).
#[derive(Debug)]
pub struct JsonTextError {
    kind: JsonTextErrorKind,
}

#[derive(Debug)]
enum JsonTextErrorKind {
    /// Not JSON; serde_json's own words when it has them.
    Syntax {
        offset: usize,
        source: Option<serde_json::Error>,
    },
    LoneSurrogate {
        offset: usize,
    },
    TooDeep {
        offset: usize,
    },
    NotAnObject,
    Unprintable(serde_json::Error),
}

impl JsonTextError {
    fn new(kind: JsonTextErrorKind) -> Self {
        JsonTextError { kind }
    }

    fn syntax(offset: usize, source: Option<serde_json::Error>) -> Self {
        JsonTextError::new(JsonTextErrorKind::Syntax { offset, source })
    }

    fn unprintable(e: serde_json::Error) -> Self {
        JsonTextError::new(JsonTextErrorKind::Unprintable(e))
    }

    fn rejected(reject: Reject, text: &str) -> Self {
        match reject {
            // serde_json reads the same grammar and says what it expected, with line and
            // column; `IgnoredAny` skips values as the grammar alone allows.
            Reject::Syntax(offset) => {
                JsonTextError::syntax(offset, serde_json::from_str::<de::IgnoredAny>(text).err())
            }
            Reject::LoneSurrogate(offset) => {
                JsonTextError::new(JsonTextErrorKind::LoneSurrogate { offset })
            }
            Reject::TooDeep(offset) => JsonTextError::new(JsonTextErrorKind::TooDeep { offset }),
        }
    }

    /// The byte offset in the text where the problem was found, if it is in the text.
    pub fn offset(&self) -> Option<usize> {
        match self.kind {
            JsonTextErrorKind::Syntax { offset, .. }
            | JsonTextErrorKind::LoneSurrogate { offset }
            | JsonTextErrorKind::TooDeep { offset } => Some(offset),
            JsonTextErrorKind::NotAnObject | JsonTextErrorKind::Unprintable(_) => None,
        }
    }

    /// Whether the text is valid JSON but not an object (for `metadata`).
    pub fn is_not_an_object(&self) -> bool {
        matches!(self.kind, JsonTextErrorKind::NotAnObject)
    }
}

impl fmt::Display for JsonTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JsonTextErrorKind::Syntax {
                source: Some(e), ..
            } => write!(f, "{e}"),
            JsonTextErrorKind::Syntax { offset, .. } => {
                write!(f, "invalid JSON at byte {offset}")
            }
            JsonTextErrorKind::LoneSurrogate { offset } => write!(
                f,
                "a \\u escape at byte {offset} is half of a surrogate pair without the other half"
            ),
            JsonTextErrorKind::TooDeep { offset } => write!(
                f,
                "arrays and objects nest more than {MAX_DEPTH} levels deep (at byte {offset})"
            ),
            JsonTextErrorKind::NotAnObject => f.write_str("expected a JSON object"),
            JsonTextErrorKind::Unprintable(e) => write!(f, "cannot be printed as JSON: {e}"),
        }
    }
}

impl std::error::Error for JsonTextError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            JsonTextErrorKind::Syntax {
                source: Some(e), ..
            }
            | JsonTextErrorKind::Unprintable(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "json_text_tests.rs"]
mod tests;
