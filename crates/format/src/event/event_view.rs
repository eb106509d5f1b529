//! Reading a payload without decoding it: [`EventView`], every field borrowed from the bytes.
//!
//! Decoding a payload into an [`Event`] allocates a `String` per text field and checks and
//! copies each JSON text into a [`JsonText`](super::JsonText). Filtering a query's candidates or showing a list
//! of records needs none of that. [`EventView::parse`] walks the payload once
//! (docs/FORMAT.md §3, with postcard's rules: the same payloads are accepted and refused,
//! JSON apart) and keeps only the positions of the fields in a [`Layout`]; accessors slice
//! the bytes. The JSON texts stay text: [`EventView::before_json`] gives the raw compact
//! JSON, [`EventView::before`] checks it and gives an owned [`JsonText`](super::JsonText).
//!
//! A view checks everything [`decode_payload`](super::codec::decode_payload) checks except
//! that the JSON texts parse: [`EventView::to_event`] and the JSON accessors report that.
//! Stored payloads are checksummed and were decoded-checked when written, so for them this
//! only ever matters for damage the checksum missed.

use super::codec::{PayloadError, check_enums, parse_json, postcard_error};
use super::wire_walk::{Reader, field, walk};
use super::{Actor, Entity, Event, JsonText, Outcome, Severity};
use crate::timestamp::Timestamp;

/// Where each field of one payload starts (its `Option` tag, string length or list count),
/// found by one walk that also checked every field. Small (96 bytes) and `Copy`, so a record
/// can keep it beside its bytes and read any field with a couple of byte reads, without
/// walking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    at: [u32; field::COUNT],
    occurred_at: Option<i64>,
    outcome: Outcome,
    severity: Severity,
}

impl Layout {
    /// Walks `bytes` as a payload. Errors are the ones `decode_payload` gives for the same
    /// bytes (postcard's own message for a malformed layout), JSON checks apart.
    pub fn parse(bytes: &[u8]) -> Result<Layout, PayloadError> {
        // Payloads are at most 64 MiB, so every position fits a u32; refuse anything else
        // rather than truncate.
        let mut at = [0u32; field::COUNT];
        let walked = u32::try_from(bytes.len())
            .ok()
            .and_then(|_| walk(bytes, |f, pos| at[f] = pos as u32));
        let Some(walked) = walked else {
            return Err(postcard_error(bytes));
        };
        let (outcome, severity) = check_enums(walked.outcome, walked.severity)?;
        Ok(Layout {
            at,
            occurred_at: walked.occurred_at,
            outcome,
            severity,
        })
    }
}

/// A payload's fields, borrowed from its bytes. Cheap to make and to copy.
///
/// ```
/// use auditlog_format::event::{Event, EventLimits, EventView};
/// let payload = auditlog_format::event::codec::encode_payload(
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
    pub fn with_layout(bytes: &'a [u8], layout: Layout) -> Self {
        EventView { bytes, layout }
    }

    /// Where the fields lie, to keep beside a copy of the payload.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The encoded payload.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes
    }

    /// A reader at the start of field `f`.
    fn reader(&self, f: usize) -> Reader<'a> {
        Reader::at(self.bytes, self.layout.at[f] as usize)
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
    /// `before`, checked as JSON.
    pub fn before(&self) -> Result<Option<JsonText>, PayloadError> {
        parse_json("before", self.before_json())
    }
    /// `after`, checked as JSON.
    pub fn after(&self) -> Result<Option<JsonText>, PayloadError> {
        parse_json("after", self.after_json())
    }
    /// `metadata`, checked as a JSON object.
    pub fn metadata(&self) -> Result<Option<JsonText>, PayloadError> {
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
#[cfg(test)]
#[path = "event_view_tests.rs"]
mod tests;
