//! Reading a payload without decoding it: [`EventView`], every field borrowed from the bytes.
//!
//! Decoding a payload into an [`Event`] allocates a `String` per text field and a tree of
//! `serde_json::Value`s per JSON field (with `preserve_order` and `arbitrary_precision`: one
//! allocation per key, string and number). Filtering a query's candidates or showing a list
//! of records needs none of that. [`EventView::parse`] walks the payload once
//! (docs/FORMAT.md §3, with postcard's rules: the same payloads are accepted and refused,
//! JSON apart) and keeps only the positions of the fields in a [`Layout`]; accessors slice
//! the bytes. The JSON texts stay text: [`EventView::before_json`] gives the raw compact
//! JSON, [`EventView::before`] parses it on demand.
//!
//! A view checks everything [`decode_payload`](super::codec::decode_payload) checks except
//! that the JSON texts parse: [`EventView::to_event`] and the JSON accessors report that.
//! Stored payloads are checksummed and were decoded-checked when written, so for them this
//! only ever matters for damage the checksum missed.

use serde_json::{Map, Value};

use super::codec::{PayloadError, check_enums, parse_json, postcard_error};
use super::{Actor, Entity, Event, Outcome, Severity};
use crate::timestamp::Timestamp;

/// Indexes into [`Layout::at`], one per field after `outcome`/`severity` are taken out, in
/// wire order.
mod field {
    pub(super) const ACTOR_ID: usize = 0;
    pub(super) const ACTOR_KIND: usize = 1;
    pub(super) const ACTOR_NAME: usize = 2;
    pub(super) const ACTOR_EMAIL: usize = 3;
    pub(super) const ACTION: usize = 4;
    pub(super) const ERROR_MESSAGE: usize = 5;
    pub(super) const ENTITY: usize = 6;
    pub(super) const TENANT: usize = 7;
    pub(super) const IP: usize = 8;
    pub(super) const USER_AGENT: usize = 9;
    pub(super) const SESSION_ID: usize = 10;
    pub(super) const REQUEST_ID: usize = 11;
    pub(super) const SOURCE: usize = 12;
    pub(super) const BEFORE: usize = 13;
    pub(super) const AFTER: usize = 14;
    pub(super) const CHANGED_FIELDS: usize = 15;
    pub(super) const LABELS: usize = 16;
    pub(super) const METADATA: usize = 17;
    pub(super) const COUNT: usize = 18;
}

/// Where each field of one payload starts (its `Option` tag, string length or list count),
/// found by one walk that also checked every field. Small (96 bytes) and `Copy`, so a record
/// can keep it beside its bytes and read any field with a couple of byte reads, without
/// walking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    at: [u32; field::COUNT],
    occurred_at: Option<i64>,
    outcome: Outcome,
    severity: Severity,
}

impl Layout {
    /// Walks `bytes` as a payload. Errors are the ones `decode_payload` gives for the same
    /// bytes (postcard's own message for a malformed layout), JSON checks apart.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Layout, PayloadError> {
        let Some((at, occurred_at, outcome, severity)) = walk(bytes) else {
            return Err(postcard_error(bytes));
        };
        let (outcome, severity) = check_enums(outcome, severity)?;
        Ok(Layout {
            at,
            occurred_at,
            outcome,
            severity,
        })
    }
}

/// A payload's fields, borrowed from its bytes. Cheap to make and to copy.
///
/// ```
/// use auditlog::event::EventView;
/// use auditlog::{Event, EventLimits};
/// let payload = auditlog::event::codec::encode_payload(
///     &Event::new("alice", "login").label("PCI"),
///     &EventLimits::default(),
/// )?;
/// let view = EventView::parse(&payload)?;
/// assert_eq!((view.actor_id(), view.action()), ("alice", "login"));
/// assert_eq!(view.labels().collect::<Vec<_>>(), ["PCI"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct EventView<'a> {
    bytes: &'a [u8],
    layout: Layout,
}

/// The entity of an [`EventView`], borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityView<'a> {
    /// The entity's type (JSON `type`).
    pub kind: &'a str,
    /// The entity's id.
    pub id: &'a str,
    /// Its display name.
    pub name: Option<&'a str>,
}

impl<'a> EventView<'a> {
    /// Reads a payload without copying anything. Fails on everything
    /// [`decode_payload`](super::codec::decode_payload) fails on, except invalid JSON texts
    /// (reported by the JSON accessors and [`EventView::to_event`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PayloadError> {
        Ok(EventView {
            bytes,
            layout: Layout::parse(bytes)?,
        })
    }

    /// A view of `bytes` whose layout was found by [`Layout::parse`] on these same bytes.
    pub(crate) fn with_layout(bytes: &'a [u8], layout: Layout) -> Self {
        EventView { bytes, layout }
    }

    /// Where the fields lie, to keep beside a copy of the payload.
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// The encoded payload.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes
    }

    /// A reader at the start of field `f`.
    fn reader(&self, f: usize) -> Reader<'a> {
        let mut r = Reader::new(self.bytes);
        r.pos = self.layout.at[f] as usize;
        r
    }

    // The layout was found on these bytes, which are immutable, so every read below
    // succeeds; the empty fallbacks (never a panic) cannot be reached.

    /// Required string field `f`.
    fn str(&self, f: usize) -> &'a str {
        self.reader(f).str().unwrap_or_default()
    }

    /// Optional string field `f`.
    fn opt(&self, f: usize) -> Option<&'a str> {
        let mut r = self.reader(f);
        match r.option()? {
            true => r.str(),
            false => None,
        }
    }

    /// When the action happened, by the producer's clock.
    pub fn occurred_at(&self) -> Option<Timestamp> {
        self.layout.occurred_at.map(Timestamp::from_nanos)
    }
    /// The actor's id.
    pub fn actor_id(&self) -> &'a str {
        self.str(field::ACTOR_ID)
    }
    /// The actor's kind.
    pub fn actor_kind(&self) -> Option<&'a str> {
        self.opt(field::ACTOR_KIND)
    }
    /// The actor's display name.
    pub fn actor_name(&self) -> Option<&'a str> {
        self.opt(field::ACTOR_NAME)
    }
    /// The actor's e-mail address.
    pub fn actor_email(&self) -> Option<&'a str> {
        self.opt(field::ACTOR_EMAIL)
    }
    /// What was done.
    pub fn action(&self) -> &'a str {
        self.str(field::ACTION)
    }
    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.layout.outcome
    }
    /// Why it failed.
    pub fn error_message(&self) -> Option<&'a str> {
        self.opt(field::ERROR_MESSAGE)
    }
    /// How important it is.
    pub fn severity(&self) -> Severity {
        self.layout.severity
    }
    /// What it was done to.
    pub fn entity(&self) -> Option<EntityView<'a>> {
        let mut r = self.reader(field::ENTITY);
        if !r.option()? {
            return None;
        }
        let kind = r.str()?;
        let id = r.str()?;
        let name = match r.option()? {
            true => Some(r.str()?),
            false => None,
        };
        Some(EntityView { kind, id, name })
    }
    /// The tenant.
    pub fn tenant(&self) -> Option<&'a str> {
        self.opt(field::TENANT)
    }
    /// The client's IP address.
    pub fn ip(&self) -> Option<&'a str> {
        self.opt(field::IP)
    }
    /// The client's user agent.
    pub fn user_agent(&self) -> Option<&'a str> {
        self.opt(field::USER_AGENT)
    }
    /// The session id.
    pub fn session_id(&self) -> Option<&'a str> {
        self.opt(field::SESSION_ID)
    }
    /// The request id.
    pub fn request_id(&self) -> Option<&'a str> {
        self.opt(field::REQUEST_ID)
    }
    /// The service that emitted the event.
    pub fn source(&self) -> Option<&'a str> {
        self.opt(field::SOURCE)
    }
    /// The names of the fields the action changed.
    pub fn changed_fields(&self) -> StrList<'a> {
        self.list(field::CHANGED_FIELDS)
    }
    /// The labels.
    pub fn labels(&self) -> StrList<'a> {
        self.list(field::LABELS)
    }
    /// `before` as stored: compact JSON text, not parsed.
    pub fn before_json(&self) -> Option<&'a str> {
        self.opt(field::BEFORE)
    }
    /// `after` as stored: compact JSON text, not parsed.
    pub fn after_json(&self) -> Option<&'a str> {
        self.opt(field::AFTER)
    }
    /// `metadata` as stored: compact JSON text of an object, not parsed.
    pub fn metadata_json(&self) -> Option<&'a str> {
        self.opt(field::METADATA)
    }
    /// `before`, parsed.
    pub fn before(&self) -> Result<Option<Value>, PayloadError> {
        parse_json("before", self.before_json())
    }
    /// `after`, parsed.
    pub fn after(&self) -> Result<Option<Value>, PayloadError> {
        parse_json("after", self.after_json())
    }
    /// `metadata`, parsed.
    pub fn metadata(&self) -> Result<Option<Map<String, Value>>, PayloadError> {
        parse_json("metadata", self.metadata_json())
    }

    fn list(&self, f: usize) -> StrList<'a> {
        let mut r = self.reader(f);
        let left = r.varint().unwrap_or_default();
        StrList {
            items: self.bytes.get(r.pos..).unwrap_or_default(),
            left,
        }
    }

    /// The whole event, owned: what [`decode_payload`](super::codec::decode_payload)
    /// returns for these bytes. Fails if a JSON text does not parse.
    pub fn to_event(&self) -> Result<Event, PayloadError> {
        // JSON first and in field order, so the first bad text is the one reported, as by
        // the serde decoder.
        let before = self.before()?;
        let after = self.after()?;
        let metadata = self.metadata()?;
        let owned = |s: Option<&str>| s.map(str::to_owned);
        let strings = |list: StrList<'_>| {
            let mut out = Vec::with_capacity(list.len());
            out.extend(list.map(str::to_owned));
            out
        };
        Ok(Event {
            occurred_at: self.occurred_at(),
            actor: Actor {
                id: self.actor_id().to_owned(),
                kind: owned(self.actor_kind()),
                name: owned(self.actor_name()),
                email: owned(self.actor_email()),
            },
            action: self.action().to_owned(),
            outcome: self.outcome(),
            error_message: owned(self.error_message()),
            severity: self.severity(),
            entity: self.entity().map(|e| Entity {
                kind: e.kind.to_owned(),
                id: e.id.to_owned(),
                name: owned(e.name),
            }),
            tenant: owned(self.tenant()),
            ip: owned(self.ip()),
            user_agent: owned(self.user_agent()),
            session_id: owned(self.session_id()),
            request_id: owned(self.request_id()),
            source: owned(self.source()),
            before,
            after,
            changed_fields: strings(self.changed_fields()),
            labels: strings(self.labels()),
            metadata,
        })
    }
}

/// The strings of a list field of an [`EventView`], in order, borrowed.
#[derive(Clone, Debug)]
pub struct StrList<'a> {
    /// The items not yet yielded, as stored.
    items: &'a [u8],
    left: u64,
}

impl<'a> Iterator for StrList<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        let mut r = Reader::new(self.items);
        // The items were walked when the layout was made; a failure cannot happen, and
        // would end the list rather than panic.
        let item = r.str();
        self.items = self.items.get(r.pos..).unwrap_or_default();
        self.left = match item {
            Some(_) => self.left - 1,
            None => 0,
        };
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.left).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for StrList<'_> {}

/// What a walk finds: field starts, `occurred_at`, and the raw enum codes.
type Walked = ([u32; field::COUNT], Option<i64>, u8, u8);

/// Walks the layout of docs/FORMAT.md §3 with postcard's rules (see [`Reader`]), noting
/// where each field starts; the enum codes are returned raw for the caller to check after
/// the layout, as the serde decoder does. `None` where postcard would fail.
fn walk(bytes: &[u8]) -> Option<Walked> {
    // Payloads are at most 64 MiB, so every position fits a u32; refuse anything else
    // rather than truncate.
    u32::try_from(bytes.len()).ok()?;
    let mut r = Reader::new(bytes);
    if r.byte()? != super::PAYLOAD_VERSION {
        return None;
    }
    let occurred_at = match r.option()? {
        true => Some(zigzag(r.varint()?)),
        false => None,
    };
    // Usually every byte from here on is ASCII: one check for all strings, and a walk
    // that need not look at them.
    r.rest_is_ascii = super::ascii_str::is_ascii_long(bytes.get(r.pos..)?);
    if r.rest_is_ascii {
        let (at, outcome, severity) = ascii::walk_ascii_fields(bytes, r.pos)?;
        return Some((at, occurred_at, outcome, severity));
    }
    walk_fields(r, occurred_at)
}

/// The rest of [`walk`] from `actor.id` on, for any bytes (strings checked one by one).
fn walk_fields(mut r: Reader<'_>, occurred_at: Option<i64>) -> Option<Walked> {
    let bytes = r.bytes;
    let mut at = [0u32; field::COUNT];
    let mut mark = |r: &Reader<'_>, f: usize| at[f] = r.pos as u32;
    mark(&r, field::ACTOR_ID);
    r.str_ok()?;
    for f in [field::ACTOR_KIND, field::ACTOR_NAME, field::ACTOR_EMAIL] {
        mark(&r, f);
        r.opt_str_ok()?;
    }
    mark(&r, field::ACTION);
    r.str_ok()?;
    let outcome = r.byte()?;
    mark(&r, field::ERROR_MESSAGE);
    r.opt_str_ok()?;
    let severity = r.byte()?;
    mark(&r, field::ENTITY);
    if r.option()? {
        r.str_ok()?; // kind
        r.str_ok()?; // id
        r.opt_str_ok()?; // name
    }
    for f in [
        field::TENANT,
        field::IP,
        field::USER_AGENT,
        field::SESSION_ID,
        field::REQUEST_ID,
        field::SOURCE,
        field::BEFORE,
        field::AFTER,
    ] {
        mark(&r, f);
        r.opt_str_ok()?;
    }
    for f in [field::CHANGED_FIELDS, field::LABELS] {
        mark(&r, f);
        // Each item takes at least one byte, so a bogus count ends at the end of the input.
        let count = r.varint()?;
        for _ in 0..count {
            r.str_ok()?;
        }
    }
    mark(&r, field::METADATA);
    r.opt_str_ok()?;
    (r.pos == bytes.len()).then_some((at, occurred_at, outcome, severity))
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// postcard 1.x's primitive reads over a byte slice: `Option` tags 0 or 1; varints of at
/// most 10 bytes whose 10th byte is at most 1 (overlong encodings accepted, as postcard
/// does); strings as a varint length, that many bytes, valid UTF-8.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Whether every byte from `pos` on was found to be ASCII, so any string there is UTF-8.
    rest_is_ascii: bool,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            rest_is_ascii: false,
        }
    }

    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn option(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        // Most lengths and counts take one byte.
        match self.bytes.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Some(u64::from(b))
            }
            _ => self.long_varint(),
        }
    }

    /// A varint of two bytes or more. Nine-byte ones have a fast path: every payload has
    /// one (`occurred_at`: a present-day time in nanoseconds, zigzagged, takes 62 bits).
    fn long_varint(&mut self) -> Option<u64> {
        if let Some(n) = self.nine_byte_varint() {
            return Some(n);
        }
        self.any_long_varint()
    }

    /// A varint of exactly nine bytes, decoded from two loads without a loop; `None` (and
    /// nothing read) for any other varint or fewer than nine bytes left.
    #[inline(always)]
    fn nine_byte_varint(&mut self) -> Option<u64> {
        const CONTINUE: u64 = 0x8080_8080_8080_8080;
        let head = self.bytes.get(self.pos..self.pos.checked_add(8)?)?;
        let w = u64::from_le_bytes(head.try_into().ok()?);
        let last = *self.bytes.get(self.pos + 8)?;
        if w & CONTINUE != CONTINUE || last >= 0x80 {
            return None;
        }
        // Squeeze the eight 7-bit groups together: pairs, then quads, then all eight.
        let x = w & !CONTINUE;
        let x = (x & 0x007F_007F_007F_007F) | ((x & 0x7F00_7F00_7F00_7F00) >> 1);
        let x = (x & 0x0000_3FFF_0000_3FFF) | ((x & 0x3FFF_0000_3FFF_0000) >> 2);
        let x = (x & 0x0000_0000_0FFF_FFFF) | ((x & 0x0FFF_FFFF_0000_0000) >> 4);
        self.pos += 9;
        Some(x | (u64::from(last) << 56))
    }

    #[cold]
    fn any_long_varint(&mut self) -> Option<u64> {
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

    /// Steps over a string, checking it is UTF-8.
    #[inline(always)]
    fn str_ok(&mut self) -> Option<()> {
        let len = self.varint()?;
        let b = self.take(len)?;
        (self.rest_is_ascii || b.is_ascii() || std::str::from_utf8(b).is_ok()).then_some(())
    }

    #[inline(always)]
    fn opt_str_ok(&mut self) -> Option<()> {
        match self.option()? {
            true => self.str_ok(),
            false => Some(()),
        }
    }

    #[inline(always)]
    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(len).ok()?)?;
        let b = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    /// Reads a string (checked again: a field read after the walk costs a short ASCII
    /// check, see `ascii_str`).
    #[inline(always)]
    fn str(&mut self) -> Option<&'a str> {
        let len = self.varint()?;
        super::ascii_str::from_utf8(self.take(len)?)
    }
}

#[path = "event_view_ascii.rs"]
mod ascii;

#[cfg(test)]
#[path = "event_view_tests.rs"]
mod tests;
