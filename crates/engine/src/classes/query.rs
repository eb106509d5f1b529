//! Queries across classes: each class's log answers the query, and the pages merge by
//! `recorded_at`.
//!
//! Within a class records are in sequence order, which is also `recorded_at` order (it never
//! decreases along a log). Across classes the merged order is `(recorded_at, class index,
//! seq)`, ascending for oldest first and descending for newest first: a total order that
//! agrees with every class's own, so a page of `limit` records is the first `limit` of the
//! union of each class's first `limit` matches, and the [`ClassifiedCursor`] (one position
//! per class) continues every class exactly where its records stopped being returned.

use super::ClassifiedLog;
use crate::error::{Error, Result};
use crate::event::Record;
use crate::query::{Cursor, Order, Query};
use std::fmt;
use std::str::FromStr;

/// One page of a query over every class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifiedPage {
    /// `(class, record)`, in the query's order by `recorded_at`, at most its limit.
    pub records: Vec<(String, Record)>,
    /// Where the next page starts: pass it to [`ClassifiedLog::query_after`].
    pub cursor: ClassifiedCursor,
    /// Whether more records may match (the page stopped at the limit).
    pub has_more: bool,
}

/// Where the next page of a query over every class starts: one [`Cursor`] per class (none
/// for a class not started). Its text form joins the classes' cursors with `.` (`-` for
/// none), in class order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassifiedCursor {
    positions: Vec<Option<Cursor>>,
}

impl fmt::Display for ClassifiedCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.positions.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match p {
                Some(c) => write!(f, "{c}")?,
                None => f.write_str("-")?,
            }
        }
        Ok(())
    }
}

impl FromStr for ClassifiedCursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let positions = s
            .split('.')
            .map(|p| match p {
                "-" => Ok(None),
                p => p.parse().map(Some),
            })
            .collect::<Result<_>>()?;
        Ok(ClassifiedCursor { positions })
    }
}

impl ClassifiedLog {
    /// Runs `query` over every class: one page of at most its limit, merged by
    /// `recorded_at` in its order. A single-log cursor set with [`Query::after`] is refused:
    /// continue with [`query_after`](Self::query_after).
    pub fn query(&self, query: &Query) -> Result<ClassifiedPage> {
        if query.after.is_some() {
            return Err(Error::InvalidCursor {
                reason: "a classified query continues with a ClassifiedCursor (query_after)".into(),
            });
        }
        self.query_after(query, &ClassifiedCursor::default())
    }

    /// The page of `query` after `cursor` (from the previous page of the same query).
    pub fn query_after(&self, query: &Query, cursor: &ClassifiedCursor) -> Result<ClassifiedPage> {
        let n = self.logs.len();
        let mut starts = cursor.positions.clone();
        if starts.is_empty() {
            starts = vec![None; n];
        }
        if starts.len() != n {
            return Err(Error::InvalidCursor {
                reason: format!(
                    "it has {} class positions; this root has {n} classes",
                    starts.len()
                ),
            });
        }
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut pages = Vec::with_capacity(n);
        for (log, start) in self.logs.iter().zip(&starts) {
            let mut q = query.clone();
            q.after = *start;
            pages.push(log.query(&q)?);
        }
        // Merge: every record with its class index, sorted by the order of the module docs.
        let mut merged: Vec<(usize, &Record)> = pages
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.records.iter().map(move |r| (i, r)))
            .collect();
        let key = |(i, r): &(usize, &Record)| (r.recorded_at, *i, r.seq);
        match query.order {
            Order::OldestFirst => merged.sort_by_key(key),
            Order::NewestFirst => merged.sort_by_key(|x| std::cmp::Reverse(key(x))),
        }
        let more_in_pool = merged.len() > limit;
        merged.truncate(limit);
        let taken_per_class = {
            let mut taken = vec![0usize; n];
            merged.iter().for_each(|(i, _)| taken[*i] += 1);
            taken
        };
        let fingerprint = query.fingerprint();
        let positions = (0..n)
            .map(|i| {
                let page = &pages[i];
                let taken = taken_per_class[i];
                if taken == page.records.len() {
                    // All of its page went out: its own cursor continues it exactly.
                    Some(page.cursor)
                } else if taken == 0 {
                    starts[i]
                } else {
                    let last = &page.records[taken - 1];
                    let position = match query.order {
                        Order::OldestFirst => last.seq + 1,
                        Order::NewestFirst => last.seq,
                    };
                    Some(Cursor {
                        position,
                        order: query.order,
                        fingerprint,
                    })
                }
            })
            .collect();
        let has_more = more_in_pool || (merged.len() >= limit && pages.iter().any(|p| p.has_more));
        let records = merged
            .into_iter()
            .map(|(i, r)| (self.classes[i].name.clone(), r.clone()))
            .collect();
        Ok(ClassifiedPage {
            records,
            cursor: ClassifiedCursor { positions },
            has_more,
        })
    }

    /// Counts the records of every class matching `query`'s filters.
    pub fn count(&self, query: &Query) -> Result<u64> {
        self.logs.iter().map(|log| log.count(query)).sum()
    }
}
