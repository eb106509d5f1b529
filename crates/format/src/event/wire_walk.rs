//! The one hand-written walk of a payload's postcard layer (docs/FORMAT.md §3), shared by
//! [`Layout::parse`](super::event_view) (queries: where each field starts) and
//! [`validate_payload`](super::codec) (verify: are the bytes decodable, where are the JSON
//! texts). serde's per-field machinery and a `from_utf8` call per string cost more than the
//! rest, so both walk by hand, with postcard's rules: the same payloads are accepted and
//! refused as by the serde decoder (JSON texts apart, which the callers judge).
//!
//! [`walk`] reports each field's start to a `mark` callback; it is inlined into each caller,
//! so verify's callback, which keeps only the three JSON fields, costs nothing for the
//! other sixteen (callgrind: the same instruction count as verify's former own walk).

/// Field numbers passed to `mark`, one per field after `outcome`/`severity` are taken out,
/// in wire order.
pub(super) mod field {
    pub const ACTOR_ID: usize = 0;
    pub const ACTOR_KIND: usize = 1;
    pub const ACTOR_NAME: usize = 2;
    pub const ACTOR_EMAIL: usize = 3;
    pub const ACTION: usize = 4;
    pub const ERROR_MESSAGE: usize = 5;
    pub const ENTITY: usize = 6;
    pub const TENANT: usize = 7;
    pub const IP: usize = 8;
    pub const USER_AGENT: usize = 9;
    pub const SESSION_ID: usize = 10;
    pub const REQUEST_ID: usize = 11;
    pub const SOURCE: usize = 12;
    pub const BEFORE: usize = 13;
    pub const AFTER: usize = 14;
    pub const CHANGED_FIELDS: usize = 15;
    pub const LABELS: usize = 16;
    pub const METADATA: usize = 17;
    pub const COUNT: usize = 18;
}

/// What the walk reads besides field positions: the timestamp and the raw enum codes (the
/// caller checks the codes after the layout, as the serde decoder does).
pub(super) struct Walked {
    pub(super) occurred_at: Option<i64>,
    pub(super) outcome: u8,
    pub(super) severity: u8,
}

/// The bytes of `actor.id` in a payload, read from its first fields alone (docs/FORMAT.md §3:
/// `payload_version`, `occurred_at`, then `actor.id` as a length and its bytes), without
/// walking or checking the rest; `None` where those fields do not read as this version's
/// (the caller must then treat the payload as one that may hold any actor).
///
/// Why: a read-only open notes the records of the actor its first query names while it scans
/// the active segment (the engine's segment/candidates.rs); comparing these bytes costs a few
/// loads per record, where looking for the actor anywhere in the payload cost a search over
/// all of it.
pub fn actor_id_bytes(bytes: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(bytes);
    if r.byte()? != super::PAYLOAD_VERSION {
        return None;
    }
    if r.option()? {
        r.varint()?;
    }
    let len = usize::try_from(r.varint()?).ok()?;
    bytes.get(r.pos..r.pos.checked_add(len)?)
}

/// Walks `bytes` as a payload, calling `mark(field, position)` at the start of each field
/// (its `Option` tag, string length or list count). `None` where postcard would fail.
#[inline(always)]
pub(super) fn walk(bytes: &[u8], mut mark: impl FnMut(usize, usize)) -> Option<Walked> {
    let mut r = Reader::new(bytes);
    if r.byte()? != super::PAYLOAD_VERSION {
        return None;
    }
    let occurred_at = match r.option()? {
        true => Some(zigzag(r.varint()?)),
        false => None,
    };
    // Usually every byte from here on is ASCII (short lengths and ASCII text): one check for
    // all strings instead of one per string.
    r.rest_is_ascii = super::ascii_str::is_ascii_long(bytes.get(r.pos..)?);
    if r.rest_is_ascii {
        // Then no string needs a check: the walk steps over them by length alone.
        let (outcome, severity) = ascii::walk_ascii_fields(bytes, r.pos, mark)?;
        return Some(Walked {
            occurred_at,
            outcome,
            severity,
        });
    }
    mark(field::ACTOR_ID, r.pos);
    r.str_ok()?;
    for f in [field::ACTOR_KIND, field::ACTOR_NAME, field::ACTOR_EMAIL] {
        mark(f, r.pos);
        r.opt_str_ok()?;
    }
    mark(field::ACTION, r.pos);
    r.str_ok()?;
    let outcome = r.byte()?;
    mark(field::ERROR_MESSAGE, r.pos);
    r.opt_str_ok()?;
    let severity = r.byte()?;
    mark(field::ENTITY, r.pos);
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
        mark(f, r.pos);
        r.opt_str_ok()?;
    }
    for f in [field::CHANGED_FIELDS, field::LABELS] {
        mark(f, r.pos);
        // Each item takes at least one byte, so a bogus count ends at the end of the input.
        let count = r.varint()?;
        for _ in 0..count {
            r.str_ok()?;
        }
    }
    mark(field::METADATA, r.pos);
    r.opt_str_ok()?;
    (r.pos == bytes.len()).then_some(Walked {
        occurred_at,
        outcome,
        severity,
    })
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// postcard 1.x's primitive reads over a byte slice: `Option` tags 0 or 1; varints of at
/// most 10 bytes whose 10th byte is at most 1 (overlong encodings accepted, as postcard
/// does); strings as a varint length, that many bytes, valid UTF-8.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pub(super) pos: usize,
    /// Whether every byte from `pos` on was found to be ASCII, so any string there is UTF-8.
    rest_is_ascii: bool,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            rest_is_ascii: false,
        }
    }

    /// A reader at `pos`, for re-reading a field the walk has checked.
    pub(super) fn at(bytes: &'a [u8], pos: usize) -> Self {
        Reader {
            bytes,
            pos,
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
    pub(super) fn option(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    #[inline(always)]
    pub(super) fn varint(&mut self) -> Option<u64> {
        // Almost every length and count is below 128: one byte, no loop.
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
    pub(super) fn long_varint(&mut self) -> Option<u64> {
        if let Some(n) = self.nine_byte_varint() {
            return Some(n);
        }
        self.any_long_varint()
    }

    /// A varint of exactly nine bytes, decoded from two loads without a loop; `None` (and
    /// nothing read) for any other varint or fewer than nine bytes left.
    #[inline(always)]
    pub(super) fn nine_byte_varint(&mut self) -> Option<u64> {
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

    /// postcard's `try_take_varint_u64`: 7 bits per byte, at most 10 bytes, and the 10th may
    /// carry only the one remaining bit. Overlong encodings are accepted, as postcard does.
    #[cold]
    pub(super) fn any_long_varint(&mut self) -> Option<u64> {
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
        (self.rest_is_ascii || super::ascii_str::from_utf8(b).is_some()).then_some(())
    }

    #[inline(always)]
    fn opt_str_ok(&mut self) -> Option<()> {
        match self.option()? {
            true => self.str_ok(),
            false => Some(()),
        }
    }

    #[inline(always)]
    pub(super) fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(len).ok()?)?;
        let b = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    /// A string (checked UTF-8 again, as callers hold only positions; for ASCII text that
    /// is a short word-wise check, see `ascii_str`).
    #[inline(always)]
    pub(super) fn str(&mut self) -> Option<&'a str> {
        let len = self.varint()?;
        super::ascii_str::from_utf8(self.take(len)?)
    }

    /// An optional string's bytes, at a field the walk has checked (so UTF-8).
    pub(super) fn opt_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        if !self.option()? {
            return Some(None);
        }
        let len = self.varint()?;
        self.take(len).map(Some)
    }
}

#[path = "wire_walk_ascii.rs"]
mod ascii;
