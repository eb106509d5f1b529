//! Running a query over a snapshot: which records to examine, in which order.

use crate::error::Result;
use crate::event::Record;
use crate::log::AuditLog;
use crate::query::filter::{Order, Query};
use crate::view::View;
use std::ops::ControlFlow;

/// The sequence range `[lo, hi)` a query examines: the committed records, narrowed by its
/// cursor (which must belong to this query).
pub(crate) fn seq_range(query: &Query, fingerprint: u64, view: &View) -> Result<(u64, u64)> {
    match &query.after {
        Some(cursor) => {
            cursor.check(query.order, fingerprint)?;
            let (lo, hi) = cursor.remaining(view.first_seq, view.end_seq);
            Ok((lo, hi.max(lo)))
        }
        None => Ok((view.first_seq, view.end_seq)),
    }
}

/// Calls `f` with each record in `[lo, hi)` matching `query`, in the query's order, until `f`
/// breaks.
pub(crate) fn for_each_match(
    _log: &AuditLog,
    view: &View,
    query: &Query,
    lo: u64,
    hi: u64,
    mut f: impl FnMut(Record) -> ControlFlow<()>,
) -> Result<()> {
    let iter = crate::reader::RecordIter::new(view.clone(), lo..hi);
    let mut visit = |record: Result<Record>| -> Result<ControlFlow<()>> {
        let record = record?;
        if query.matches(&record) {
            return Ok(f(record));
        }
        Ok(ControlFlow::Continue(()))
    };
    match query.order {
        Order::OldestFirst => {
            for record in iter {
                if visit(record)?.is_break() {
                    break;
                }
            }
        }
        Order::NewestFirst => {
            for record in iter.rev() {
                if visit(record)?.is_break() {
                    break;
                }
            }
        }
    }
    Ok(())
}
