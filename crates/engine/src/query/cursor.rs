//! [`Cursor`]: where the next page of a query starts.
//!
//! Sequence numbers never change once assigned, so "continue after sequence X" is exact: a
//! page never skips or repeats a record, however many records are appended between pages.
//! Records appended after an oldest-first query reached the committed end are found by the
//! next page; a newest-first query walks towards older records and never sees them.
//!
//! The text form is opaque to callers: 36 lowercase hex digits encoding a version byte (1),
//! the order (0 oldest first, 1 newest first), the position (u64) and the query's
//! fingerprint (u64), big-endian so the text sorts like the position.

use crate::error::{Error, Result};
use crate::query::filter::Order;
use std::fmt;
use std::str::FromStr;

const CURSOR_VERSION: u8 = 1;
const CURSOR_HEX_LEN: usize = 36;

/// Where the next page of a query starts. Get one from [`QueryPage::cursor`]; pass it back
/// with [`Query::after`]. Printable and parsable (`to_string` / `parse`) for HTTP APIs.
///
/// [`QueryPage::cursor`]: crate::query::QueryPage::cursor
/// [`Query::after`]: crate::query::Query::after
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// Oldest first: the first sequence number still to examine. Newest first: one past the
    /// last sequence number still to examine.
    pub(crate) position: u64,
    pub(crate) order: Order,
    pub(crate) fingerprint: u64,
}

impl Cursor {
    /// Oldest first: the first sequence number still to examine. Newest first: one past the
    /// last sequence number still to examine.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether this cursor came from `query` (its filters and order).
    pub fn belongs_to(&self, query: &crate::query::Query) -> bool {
        self.check(query.get_order(), query.fingerprint()).is_ok()
    }

    /// The sequence range `[lo, hi)` a page may still examine, given the committed range.
    pub(crate) fn remaining(&self, first: u64, end: u64) -> (u64, u64) {
        match self.order {
            Order::OldestFirst => (self.position.max(first), end),
            Order::NewestFirst => (first, self.position.min(end)),
        }
    }

    /// Checks that this cursor came from a query with these filters and this order.
    pub(crate) fn check(&self, order: Order, fingerprint: u64) -> Result<()> {
        if self.order != order || self.fingerprint != fingerprint {
            return Err(Error::InvalidCursor {
                reason: "it belongs to a query with other filters or another order".into(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match self.order {
            Order::OldestFirst => 0u8,
            Order::NewestFirst => 1u8,
        };
        write!(
            f,
            "{CURSOR_VERSION:02x}{order:02x}{:016x}{:016x}",
            self.position, self.fingerprint
        )
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidCursor {
            reason: reason.to_string(),
        };
        if s.len() != CURSOR_HEX_LEN || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("it is not 36 hexadecimal digits"));
        }
        let field = |range: std::ops::Range<usize>| {
            u64::from_str_radix(&s[range], 16).map_err(|_| bad("it is not hexadecimal"))
        };
        if field(0..2)? != u64::from(CURSOR_VERSION) {
            return Err(bad("its version is not one this build reads"));
        }
        let order = match field(2..4)? {
            0 => Order::OldestFirst,
            1 => Order::NewestFirst,
            _ => return Err(bad("its order byte is unknown")),
        };
        Ok(Cursor {
            order,
            position: field(4..20)?,
            fingerprint: field(20..36)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_garbage_is_rejected() {
        let c = Cursor {
            position: 123_456,
            order: Order::NewestFirst,
            fingerprint: u64::MAX - 7,
        };
        let text = c.to_string();
        assert_eq!(text.len(), CURSOR_HEX_LEN);
        assert_eq!(text.parse::<Cursor>().expect("parses"), c);
        for bad in ["", "zz", &text[1..], &format!("02{}", &text[2..]), "é"] {
            assert!(
                matches!(bad.parse::<Cursor>(), Err(Error::InvalidCursor { .. })),
                "{bad:?}"
            );
        }
    }
}
