//! The event payload codec: [`Event`] to and from the bytes stored in a record frame.
//!
//! The payload is a postcard encoding of a private mirror struct. Its field order *is* the
//! wire format, documented byte by byte in `docs/FORMAT.md §3`; change nothing here
//! without bumping [`PAYLOAD_VERSION`] and keeping a decoder for the old version.
//!
//! `before`, `after` and `metadata` travel as their JSON text (an event holds them as
//! [`JsonText`]), and the enums as their `u8` codes. Encoding borrows every string from the
//! event and allocates nothing but the output; decoding checks each JSON text with the
//! crate's JSON checker (json_scan.rs) and keeps it as text.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Actor, Entity, Event, EventLimits, JsonText, JsonTextError, Outcome, Severity};
use crate::error::Error;
use crate::timestamp::Timestamp;

/// The payload format version written by this build, the first byte of every payload.
pub const PAYLOAD_VERSION: u8 = 1;

/// The wire layout, borrowed for encoding. Keep in step with [`WireDecode`] and with the
/// hand-written encoder (wire_write.rs), which tests compare with postcard on this struct.
#[cfg(test)]
#[derive(Serialize)]
struct WireEncode<'a> {
    payload_version: u8,
    occurred_at: Option<i64>,
    actor_id: &'a str,
    actor_kind: Option<&'a str>,
    actor_name: Option<&'a str>,
    actor_email: Option<&'a str>,
    action: &'a str,
    outcome: u8,
    error_message: Option<&'a str>,
    severity: u8,
    entity: Option<WireEntity<'a>>,
    tenant: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    session_id: Option<&'a str>,
    request_id: Option<&'a str>,
    source: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    changed_fields: &'a [String],
    labels: &'a [String],
    metadata: Option<&'a str>,
}

/// The wire layout for decoding: the same fields, strings borrowed from the input.
#[derive(Deserialize)]
struct WireDecode<'a> {
    payload_version: u8,
    occurred_at: Option<i64>,
    actor_id: &'a str,
    #[serde(borrow)]
    actor_kind: Option<&'a str>,
    #[serde(borrow)]
    actor_name: Option<&'a str>,
    #[serde(borrow)]
    actor_email: Option<&'a str>,
    action: &'a str,
    outcome: u8,
    #[serde(borrow)]
    error_message: Option<&'a str>,
    severity: u8,
    #[serde(borrow)]
    entity: Option<WireEntity<'a>>,
    #[serde(borrow)]
    tenant: Option<&'a str>,
    #[serde(borrow)]
    ip: Option<&'a str>,
    #[serde(borrow)]
    user_agent: Option<&'a str>,
    #[serde(borrow)]
    session_id: Option<&'a str>,
    #[serde(borrow)]
    request_id: Option<&'a str>,
    #[serde(borrow)]
    source: Option<&'a str>,
    #[serde(borrow)]
    before: Option<&'a str>,
    #[serde(borrow)]
    after: Option<&'a str>,
    #[serde(borrow)]
    changed_fields: Vec<&'a str>,
    #[serde(borrow)]
    labels: Vec<&'a str>,
    #[serde(borrow)]
    metadata: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct WireEntity<'a> {
    kind: &'a str,
    id: &'a str,
    #[serde(borrow)]
    name: Option<&'a str>,
}

/// Validates `event` and encodes it as a new payload.
///
/// Errors: [`Error::InvalidEvent`] from [`Event::validate`], and [`Error::EventTooLarge`]
/// when the payload would exceed `limits.max_event_bytes`.
pub fn encode_payload(event: &Event, limits: &EventLimits) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_payload_into(event, limits, &mut out)?;
    Ok(out)
}

/// Validates `event` and appends its payload to `out`, so a writer can reuse one buffer.
/// On error `out` is left as it was. Errors as for [`encode_payload`].
pub fn encode_payload_into(
    event: &Event,
    limits: &EventLimits,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    event.validate(limits)?;
    let limit = limits.max_event_bytes;
    // Written by hand (wire_write.rs), byte for byte what postcard writes for `WireEncode`.
    let size = super::wire_write::size(event);
    if size > limit {
        return Err(Error::EventTooLarge { size, limit });
    }
    out.reserve(size);
    let start = out.len();
    super::wire_write::write(event, out);
    debug_assert_eq!(
        out.len() - start,
        size,
        "wire_write::size and write disagree"
    );
    Ok(())
}

/// The wire layout as serde sees it, encoded by postcard: the reference the hand-written
/// encoder (wire_write.rs) is tested against, and how tests craft payloads.
#[cfg(test)]
fn wire_of(event: &Event) -> WireEncode<'_> {
    let actor = &event.actor;
    fn text(json: &Option<JsonText>) -> Option<&str> {
        json.as_ref().map(JsonText::as_str)
    }
    WireEncode {
        payload_version: PAYLOAD_VERSION,
        occurred_at: event.occurred_at.map(Timestamp::as_nanos),
        actor_id: &actor.id,
        actor_kind: actor.kind.as_deref(),
        actor_name: actor.name.as_deref(),
        actor_email: actor.email.as_deref(),
        action: &event.action,
        outcome: event.outcome.to_u8(),
        error_message: event.error_message.as_deref(),
        severity: event.severity.to_u8(),
        entity: event.entity.as_ref().map(|e| WireEntity {
            kind: &e.kind,
            id: &e.id,
            name: e.name.as_deref(),
        }),
        tenant: event.tenant.as_deref(),
        ip: event.ip.as_deref(),
        user_agent: event.user_agent.as_deref(),
        session_id: event.session_id.as_deref(),
        request_id: event.request_id.as_deref(),
        source: event.source.as_deref(),
        before: text(&event.before),
        after: text(&event.after),
        changed_fields: &event.changed_fields,
        labels: &event.labels,
        metadata: text(&event.metadata),
    }
}

/// Why a payload could not be decoded. Stored payloads are checksummed, so this means a
/// bug, a payload from a newer build, or bytes that never were a payload.
#[derive(Debug)]
pub struct PayloadError {
    kind: PayloadErrorKind,
}

#[derive(Debug)]
enum PayloadErrorKind {
    Empty,
    UnsupportedVersion(u8),
    Malformed(postcard::Error),
    BadEnum {
        field: &'static str,
        code: u8,
    },
    BadJson {
        field: &'static str,
        source: JsonTextError,
    },
    TrailingBytes(usize),
}

impl PayloadError {
    fn new(kind: PayloadErrorKind) -> Self {
        PayloadError { kind }
    }

    /// Whether decoding failed on a JSON text (before, after or metadata), which
    /// [`EventView`](super::EventView) leaves unparsed until asked.
    pub fn is_json(&self) -> bool {
        matches!(self.kind, PayloadErrorKind::BadJson { .. })
    }

    /// The payload format version found, when decoding failed because this build does not
    /// read it.
    pub fn unsupported_version(&self) -> Option<u8> {
        match self.kind {
            PayloadErrorKind::UnsupportedVersion(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PayloadErrorKind::Empty => f.write_str("the event payload is empty"),
            PayloadErrorKind::UnsupportedVersion(v) => write!(
                f,
                "event payload version {v} is not supported (this build reads version {PAYLOAD_VERSION})"
            ),
            PayloadErrorKind::Malformed(e) => write!(f, "malformed event payload: {e}"),
            PayloadErrorKind::BadEnum { field, code } => {
                write!(f, "event payload has invalid {field} code {code}")
            }
            PayloadErrorKind::BadJson { field, source } => {
                write!(f, "event payload field {field} is not valid JSON: {source}")
            }
            PayloadErrorKind::TrailingBytes(n) => {
                write!(f, "event payload is followed by {n} unexpected bytes")
            }
        }
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            PayloadErrorKind::Malformed(e) => Some(e),
            PayloadErrorKind::BadJson { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Decodes a payload written by [`encode_payload`]. Never panics: every malformed input,
/// including truncation, trailing bytes, unknown versions, invalid enum codes and invalid
/// JSON, is a [`PayloadError`]. The event is not re-validated (limits may have changed since
/// it was written).
///
/// The layout is walked by hand ([`EventView`](super::EventView): no per-field serde
/// machinery, no intermediate lists) and the strings copied once into the event. A payload
/// the walk refuses goes through postcard itself, so the error (or, should the walk ever be
/// stricter than postcard, the event) is exactly postcard's.
pub fn decode_payload(bytes: &[u8]) -> Result<Event, PayloadError> {
    match super::EventView::parse(bytes) {
        Ok(view) => view.to_event(),
        Err(_) => decode_with_serde(bytes),
    }
}

/// The reference decoder: postcard through serde into the mirror struct.
pub fn decode_with_serde(bytes: &[u8]) -> Result<Event, PayloadError> {
    let wire = take_wire(bytes)?;
    let (outcome, severity) = check_enums(wire.outcome, wire.severity)?;
    let before = parse_json("before", wire.before)?;
    let after = parse_json("after", wire.after)?;
    let metadata = parse_json("metadata", wire.metadata)?;

    let owned = |s: Option<&str>| s.map(str::to_owned);
    let strings = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
    Ok(Event {
        occurred_at: wire.occurred_at.map(Timestamp::from_nanos),
        actor: Actor {
            id: wire.actor_id.to_owned(),
            kind: owned(wire.actor_kind),
            name: owned(wire.actor_name),
            email: owned(wire.actor_email),
        },
        action: wire.action.to_owned(),
        outcome,
        error_message: owned(wire.error_message),
        severity,
        entity: wire.entity.map(|e| Entity {
            kind: e.kind.to_owned(),
            id: e.id.to_owned(),
            name: owned(e.name),
        }),
        tenant: owned(wire.tenant),
        ip: owned(wire.ip),
        user_agent: owned(wire.user_agent),
        session_id: owned(wire.session_id),
        request_id: owned(wire.request_id),
        source: owned(wire.source),
        before,
        after,
        changed_fields: strings(wire.changed_fields),
        labels: strings(wire.labels),
        metadata,
    })
}

/// Postcard's error for a payload the hand walk refused. Should postcard accept it (the walk
/// being stricter, a bug the differential tests look for), a generic malformed error.
pub(super) fn postcard_error(bytes: &[u8]) -> PayloadError {
    match take_wire(bytes) {
        Err(e) => e,
        Ok(_) => PayloadError::new(PayloadErrorKind::Malformed(
            postcard::Error::DeserializeBadEncoding,
        )),
    }
}

/// The postcard part of decoding, shared with [`validate_payload`] so both apply the same
/// rules: version byte, field layout (strings borrowed and UTF-8 checked), no trailing bytes.
fn take_wire(bytes: &[u8]) -> Result<WireDecode<'_>, PayloadError> {
    use PayloadErrorKind as K;
    match bytes.first() {
        None => return Err(PayloadError::new(K::Empty)),
        Some(&PAYLOAD_VERSION) => {}
        Some(&v) => return Err(PayloadError::new(K::UnsupportedVersion(v))),
    }
    let (wire, rest): (WireDecode<'_>, _) =
        postcard::take_from_bytes(bytes).map_err(|e| PayloadError::new(K::Malformed(e)))?;
    if !rest.is_empty() {
        return Err(PayloadError::new(K::TrailingBytes(rest.len())));
    }
    debug_assert_eq!(wire.payload_version, PAYLOAD_VERSION);
    Ok(wire)
}

/// The enum codes of a payload, checked (shared with [`validate_payload`]).
pub(super) fn check_enums(outcome: u8, severity: u8) -> Result<(Outcome, Severity), PayloadError> {
    use PayloadErrorKind as K;
    let outcome = Outcome::from_u8(outcome).ok_or(PayloadError::new(K::BadEnum {
        field: "outcome",
        code: outcome,
    }))?;
    let severity = Severity::from_u8(severity).ok_or(PayloadError::new(K::BadEnum {
        field: "severity",
        code: severity,
    }))?;
    Ok((outcome, severity))
}

/// The JSON text of payload field `field` (an object for `metadata`), checked.
pub(super) fn parse_json(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<JsonText>, PayloadError> {
    text.map(|t| {
        JsonText::from_stored(t, field == "metadata")
            .map_err(|source| PayloadError::new(PayloadErrorKind::BadJson { field, source }))
    })
    .transpose()
}

#[path = "codec_check.rs"]
mod check;
pub use check::validate_payload;

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
