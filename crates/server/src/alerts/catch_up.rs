//! Where a run of the evaluator starts, and what the log says about the runs before it
//! (docs/SERVER.md, "Catching up after a restart").
//!
//! A run reads the records in three stretches, all in sequence order through one stream:
//!
//! 1. **warm-up**, `warm_from..from`: records an earlier run already evaluated, fed to the
//!    windows so that a burst that began before the stop is still counted after it, without
//!    firing anything. It starts the longest rule window before the last evaluated record
//!    (records older than that leave every window before the next record arrives), and at
//!    most [`CATCH_UP_MAX_RECORDS`] before the cursor;
//! 2. **catch-up**, `from..tail`: records committed while no server evaluated them;
//! 3. **live**, from `tail` on.
//!
//! The windows are rebuilt from the log, not saved: derived state never outranks the log.
//! The `alert.triggered` events logged by earlier runs ([`LoggedAlerts`]) make the rebuild
//! agree with what those runs did: a window is emptied where a logged alert fired (as it was
//! then), and a firing that names a record a logged alert of the same rule already named is
//! neither appended nor notified again. So no record is alerted twice by one rule, however
//! often the server restarts or where its cursor was.
//!
//! A damaged cursor (`cursor::Start::Damaged`) says nothing about how far an earlier run got.
//! The log wins, but the scan is bounded: the records within the longest rule window of the
//! newest one, at most [`CATCH_UP_MAX_RECORDS`], are evaluated (with the deduplication
//! above); older ones are not evaluated again. The caller reports it.

use super::cursor::{Saved, Start};
use super::eval::Firing;
use super::rules::Rules;
use super::{ALERT_ACTION, ALERT_ACTOR};
use auditlog::query::Query;
use auditlog::{AuditLog, LazyRecord, Timestamp};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The most records a start reads before the cursor (warm-up) or, with a damaged cursor,
/// before the tail: a 31-day window over a busy log would otherwise mean reading billions.
pub const CATCH_UP_MAX_RECORDS: u64 = 1_000_000;

/// Records per page when the logged alerts are read.
const ALERT_PAGE: usize = 1_000;

/// Where a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The first record fed to the windows (warm-up, no firing).
    pub warm_from: u64,
    /// The first record evaluated for alerts.
    pub from: u64,
    /// The tree's size at the start: records before it were committed before this run, and
    /// so were the `alert.triggered` events among them.
    pub tail: u64,
    /// The first `alert.triggered` record whose notification may still be owed.
    pub notify_from: u64,
}

/// The longest window of the rules that count (`at_least` above 1): a rule that fires on
/// every matching event keeps nothing between records.
pub fn longest_window(rules: &Rules) -> Duration {
    rules
        .rules
        .iter()
        .filter(|r| r.at_least > 1)
        .filter_map(|r| r.within)
        .max()
        .unwrap_or(Duration::ZERO)
}

/// The plan for a log whose cursor said `start` and which held `tail` records when the
/// server started (blocking: it reads the log). `tail` is taken by the caller before any
/// event could be posted: records appended since are live, evaluated like any other.
pub fn plan(log: &AuditLog, start: &Start, window: Duration, tail: u64) -> auditlog::Result<Plan> {
    Ok(match start {
        Start::NoCursor => Plan {
            warm_from: tail,
            from: tail,
            tail,
            notify_from: tail,
        },
        Start::Resume(Saved {
            next_seq,
            notify_from,
        }) => Plan {
            warm_from: window_start(log, *next_seq, window)?,
            from: *next_seq,
            tail,
            notify_from: *notify_from,
        },
        Start::Damaged(_) => {
            let from = window_start(log, tail, window)?;
            Plan {
                warm_from: from,
                from,
                tail,
                notify_from: from,
            }
        }
    })
}

/// The first record within `window` of record `end - 1`, and at most
/// [`CATCH_UP_MAX_RECORDS`] before `end` (`end` itself if there is none).
fn window_start(log: &AuditLog, end: u64, window: Duration) -> auditlog::Result<u64> {
    let lowest = end
        .saturating_sub(CATCH_UP_MAX_RECORDS)
        .max(log.first_seq());
    if end <= lowest {
        return Ok(end);
    }
    let newest = log.get(end - 1)?.recorded_at.as_nanos();
    let span = i64::try_from(window.as_nanos()).unwrap_or(i64::MAX);
    let since = Timestamp::from_nanos(newest.saturating_sub(span));
    // `recorded_at` never decreases, so the first record at or after `since` starts the
    // window; the scan begins at `lowest`, not at the log's first record.
    let query = Query::new().recorded_since(since).limit(1);
    let page = log.query_lazy(&query.clone().after(query.cursor_at(lowest)))?;
    Ok(page.records.first().map_or(end, |r| r.seq().min(end)))
}

/// One page of the server's `alert.triggered` records from seq `from` on, below `until`,
/// and where the next page starts (`until` when there is none).
pub fn alert_page(
    log: &AuditLog,
    from: u64,
    until: u64,
) -> auditlog::Result<(Vec<LazyRecord>, u64)> {
    if from >= until {
        return Ok((Vec::new(), until));
    }
    let query = Query::new()
        .action(ALERT_ACTION)
        .actor(ALERT_ACTOR)
        .limit(ALERT_PAGE);
    let page = log.query_lazy(&query.clone().after(query.cursor_at(from)))?;
    let next = if page.has_more {
        page.cursor.position().min(until)
    } else {
        until
    };
    let records = page
        .records
        .into_iter()
        .take_while(|r| r.seq() < until)
        .collect();
    Ok((records, next))
}

/// What a logged `alert.triggered` event says: its rule's name, key and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedAlert {
    pub rule: String,
    pub key: Option<String>,
    pub records: Vec<u64>,
}

impl LoggedAlert {
    /// Reads an `alert.triggered` record's metadata; `None` if it is not one the server wrote.
    pub fn parse(record: &LazyRecord) -> Option<Self> {
        let meta: serde_json::Value = serde_json::from_str(record.event().metadata_json()?).ok()?;
        Some(LoggedAlert {
            rule: meta["rule"].as_str()?.to_string(),
            key: meta["key"].as_str().map(str::to_string),
            records: serde_json::from_value(meta["records"].clone()).ok()?,
        })
    }
}

/// The alerts earlier runs logged, as the evaluator replays the records they named.
#[derive(Debug, Default)]
pub struct LoggedAlerts {
    /// (rule, record) for every record a logged alert of that rule named.
    named: HashSet<(usize, u64)>,
    /// The (rule, key) windows emptied when the replay passes each record: where a logged
    /// alert fired (its newest record).
    fired_at: HashMap<u64, Vec<(usize, Option<String>)>>,
}

impl LoggedAlerts {
    /// The `alert.triggered` events logged at seq `from..until` (blocking). Alerts of rules
    /// no longer in the file are ignored.
    pub fn read(log: &AuditLog, rules: &Rules, from: u64, until: u64) -> auditlog::Result<Self> {
        let index: HashMap<&str, usize> = rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.as_str(), i))
            .collect();
        let mut logged = LoggedAlerts::default();
        let mut next = from;
        while next < until {
            let (records, after) = alert_page(log, next, until)?;
            for alert in records.iter().filter_map(LoggedAlert::parse) {
                let (Some(&rule), Some(&newest)) =
                    (index.get(alert.rule.as_str()), alert.records.iter().max())
                else {
                    continue;
                };
                logged
                    .named
                    .extend(alert.records.iter().map(|&s| (rule, s)));
                logged
                    .fired_at
                    .entry(newest)
                    .or_default()
                    .push((rule, alert.key));
            }
            next = after;
        }
        Ok(logged)
    }

    /// Whether a logged alert of the same rule already named one of `firing`'s records.
    pub fn named_any(&self, firing: &Firing) -> bool {
        firing
            .records
            .iter()
            .any(|(seq, _)| self.named.contains(&(firing.rule, *seq)))
    }

    /// The (rule, key) windows a logged alert emptied at record `seq`.
    pub fn fired_at(&mut self, seq: u64) -> Vec<(usize, Option<String>)> {
        self.fired_at.remove(&seq).unwrap_or_default()
    }
}
