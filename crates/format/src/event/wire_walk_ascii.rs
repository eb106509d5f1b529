//! The payload walk for the usual case: every byte after `occurred_at` is ASCII.
//!
//! Then every string is UTF-8 whatever its bounds, so a string is stepped over by its length
//! alone: no slice is taken and nothing is checked per string. A string that runs past the
//! end is still refused: positions only grow, so the next read fails, or the final check
//! that the walk ends exactly at the end of the payload does. The result is the general
//! walk's (the rest of [`walk`](super::walk)) for every input, which the differential tests
//! of `event_view` and `codec_check` check on truncations, bit flips and random edits. This
//! walk runs once for every record a query reads (about a quarter of a time-range query's
//! time before it was written out this way) and for every record verify decodes.

use super::{Reader, field};

/// The fields from `actor.id` on, starting at `pos` of `bytes` (all ASCII from `pos` on):
/// `mark(field, position)` at the start of each field, the raw outcome and severity codes,
/// and `None` where postcard would fail.
#[inline(always)]
pub(super) fn walk_ascii_fields(
    bytes: &[u8],
    pos: usize,
    mut mark: impl FnMut(usize, usize),
) -> Option<(u8, u8)> {
    let mut w = Walker { bytes, pos };
    // Field by field, so every field number is a constant.
    macro_rules! field {
        ($f:expr, $step:ident) => {
            mark($f, w.pos);
            w.$step()?;
        };
    }
    field!(field::ACTOR_ID, str);
    field!(field::ACTOR_KIND, opt_str);
    field!(field::ACTOR_NAME, opt_str);
    field!(field::ACTOR_EMAIL, opt_str);
    field!(field::ACTION, str);
    let outcome = w.byte()?;
    field!(field::ERROR_MESSAGE, opt_str);
    let severity = w.byte()?;
    mark(field::ENTITY, w.pos);
    if w.option()? {
        w.str()?; // kind
        w.str()?; // id
        w.opt_str()?; // name
    }
    field!(field::TENANT, opt_str);
    field!(field::IP, opt_str);
    field!(field::USER_AGENT, opt_str);
    field!(field::SESSION_ID, opt_str);
    field!(field::REQUEST_ID, opt_str);
    field!(field::SOURCE, opt_str);
    field!(field::BEFORE, opt_str);
    field!(field::AFTER, opt_str);
    field!(field::CHANGED_FIELDS, str_list);
    field!(field::LABELS, str_list);
    field!(field::METADATA, opt_str);
    (w.pos == bytes.len()).then_some((outcome, severity))
}

/// A position in the payload; it may pass the end, after which every read fails.
struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Walker<'_> {
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    #[inline(always)]
    fn option(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// A varint (postcard's rules, as [`Reader::varint`]).
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        let b = *self.bytes.get(self.pos)?;
        if b < 0x80 {
            self.pos += 1;
            return Some(u64::from(b));
        }
        let mut r = Reader::new(self.bytes);
        r.pos = self.pos;
        let n = r.long_varint()?;
        self.pos = r.pos;
        Some(n)
    }

    /// Steps over a string: its length, then that many bytes (ASCII, so UTF-8).
    #[inline(always)]
    fn str(&mut self) -> Option<()> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.pos = self.pos.checked_add(len)?;
        Some(())
    }

    #[inline(always)]
    fn opt_str(&mut self) -> Option<()> {
        match self.option()? {
            true => self.str(),
            false => Some(()),
        }
    }

    /// A count, then that many strings. Each takes at least one byte, so a bogus count
    /// fails at the end of the input.
    #[inline(always)]
    fn str_list(&mut self) -> Option<()> {
        let count = self.varint()?;
        for _ in 0..count {
            self.str()?;
        }
        Some(())
    }
}
