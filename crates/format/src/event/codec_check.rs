//! Checking that a payload decodes, without building the event: what verification needs.
//!
//! [`validate_payload`] accepts exactly the payloads [`decode_payload`](super::decode_payload)
//! accepts. The postcard layer is walked by hand with postcard's rules (wire_walk.rs, shared
//! with queries' `Layout::parse`; serde's per-field machinery and a `from_utf8` call per
//! string cost more than the rest), falling back to the decoder's own
//! [`take_wire`](super::take_wire) for whatever the walk refuses, so that errors are
//! postcard's; the enum checks are shared. The JSON texts are checked by the same checker
//! the decoder uses (json_scan.rs, through [`JsonText`](crate::event::JsonText)), on the
//! bytes and without keeping anything; a text it refuses is checked again through the
//! decoder's path, so the error is the decoder's.

use super::{PayloadError, check_enums, take_wire};
use crate::event::json_scan;
use crate::event::wire_walk::{self, Reader, field};

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

/// Checks one JSON text (UTF-8 bytes) with the decoder's checker.
fn check_json(field: &'static str, text: Option<&[u8]>, object: bool) -> Result<(), PayloadError> {
    let Some(text) = text else { return Ok(()) };
    if json_scan::accepted(text, object) {
        return Ok(());
    }
    // Refused: word the error as the decoder does. The walk checked the text is UTF-8.
    let text = std::str::from_utf8(text).unwrap_or_default();
    match super::parse_json(field, Some(text)) {
        Err(e) => Err(e),
        // The checker refused what it accepts now: cannot happen (it is deterministic).
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
#[path = "codec_check_tests.rs"]
mod tests;
