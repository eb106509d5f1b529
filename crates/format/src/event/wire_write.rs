//! The payload's postcard layer written by hand (docs/FORMAT.md §3): the same bytes as
//! postcard through serde on the mirror struct `WireEncode` (codec.rs; the tests compare
//! both on every event they make), at a fraction of the cost. serde's per-field calls, run
//! twice (once to size the output, once to write it), were most of an append's CPU on its
//! producer thread (docs/BENCHMARKS.md, "Writer: many producers and CPU per event").
//!
//! postcard's rules as this layout uses them: fields in order with no tags; a `u8` as its
//! byte; an `i64` zigzag-encoded, then as an unsigned LEB128 varint; a `usize` length as a
//! varint; a string as its length and its bytes; a sequence as its length and its items;
//! `Option` as `0x00`, or `0x01` and the value.

use super::{Event, JsonText, PAYLOAD_VERSION};
use crate::timestamp::Timestamp;

/// Bytes of `v` as a LEB128 varint.
fn varint_len(v: u64) -> usize {
    // 7 bits per byte; 0 still takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn str_len(s: &str) -> usize {
    varint_len(s.len() as u64) + s.len()
}

fn opt_str_len(s: Option<&str>) -> usize {
    1 + s.map_or(0, str_len)
}

fn seq_len(items: &[String]) -> usize {
    varint_len(items.len() as u64) + items.iter().map(|s| str_len(s)).sum::<usize>()
}

fn json(v: &Option<JsonText>) -> Option<&str> {
    v.as_ref().map(JsonText::as_str)
}

/// The encoded size of `event`'s payload.
pub(super) fn size(event: &Event) -> usize {
    let a = &event.actor;
    1 + 1
        + event
            .occurred_at
            .map_or(0, |t| varint_len(zigzag(t.as_nanos())))
        + str_len(&a.id)
        + opt_str_len(a.kind.as_deref())
        + opt_str_len(a.name.as_deref())
        + opt_str_len(a.email.as_deref())
        + str_len(&event.action)
        + 1 // outcome
        + opt_str_len(event.error_message.as_deref())
        + 1 // severity
        + 1
        + event.entity.as_ref().map_or(0, |e| {
            str_len(&e.kind) + str_len(&e.id) + opt_str_len(e.name.as_deref())
        })
        + opt_str_len(event.tenant.as_deref())
        + opt_str_len(event.ip.as_deref())
        + opt_str_len(event.user_agent.as_deref())
        + opt_str_len(event.session_id.as_deref())
        + opt_str_len(event.request_id.as_deref())
        + opt_str_len(event.source.as_deref())
        + opt_str_len(json(&event.before))
        + opt_str_len(json(&event.after))
        + seq_len(&event.changed_fields)
        + seq_len(&event.labels)
        + opt_str_len(json(&event.metadata))
}

/// Appends `event`'s payload, [`size`] bytes, to `out`.
pub(super) fn write(event: &Event, out: &mut Vec<u8>) {
    let a = &event.actor;
    out.push(PAYLOAD_VERSION);
    match event.occurred_at.map(Timestamp::as_nanos) {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            varint(out, zigzag(t));
        }
    }
    string(out, &a.id);
    opt(out, a.kind.as_deref());
    opt(out, a.name.as_deref());
    opt(out, a.email.as_deref());
    string(out, &event.action);
    out.push(event.outcome.to_u8());
    opt(out, event.error_message.as_deref());
    out.push(event.severity.to_u8());
    match &event.entity {
        None => out.push(0),
        Some(e) => {
            out.push(1);
            string(out, &e.kind);
            string(out, &e.id);
            opt(out, e.name.as_deref());
        }
    }
    opt(out, event.tenant.as_deref());
    opt(out, event.ip.as_deref());
    opt(out, event.user_agent.as_deref());
    opt(out, event.session_id.as_deref());
    opt(out, event.request_id.as_deref());
    opt(out, event.source.as_deref());
    opt(out, json(&event.before));
    opt(out, json(&event.after));
    seq(out, &event.changed_fields);
    seq(out, &event.labels);
    opt(out, json(&event.metadata));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            string(out, s);
        }
    }
}

fn seq(out: &mut Vec<u8>, items: &[String]) {
    varint(out, items.len() as u64);
    for s in items {
        string(out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_the_writer() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }
}
