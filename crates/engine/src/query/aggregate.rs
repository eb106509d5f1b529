//! Aggregations for dashboards: counts of matching records grouped by one dimension.

use crate::event::{Outcome, Severity};
use crate::index::Fields;
use crate::query::filter::TimeField;
use crate::timestamp::Timestamp;
use std::collections::BTreeMap;
use std::fmt;

const HOUR_NANOS: i64 = 3_600_000_000_000;
const DAY_NANOS: i64 = 24 * HOUR_NANOS;

/// What to group matching records by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// The event's action.
    Action,
    /// The actor's id.
    Actor,
    /// The severity.
    Severity,
    /// The outcome.
    Outcome,
    /// The UTC hour of the given time field.
    Hour(TimeField),
    /// The UTC day of the given time field.
    Day(TimeField),
}

/// One group's key. Groups sort by key; time buckets by their start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    /// An action or an actor id.
    Text(String),
    /// A severity.
    Severity(Severity),
    /// An outcome.
    Outcome(Outcome),
    /// The start of an hour or day bucket (UTC).
    Bucket(Timestamp),
    /// Records without an `occurred_at`, when bucketing by it.
    NoTime,
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::Text(s) => f.write_str(s),
            GroupKey::Severity(s) => write!(f, "{s}"),
            GroupKey::Outcome(o) => write!(f, "{o}"),
            GroupKey::Bucket(t) => f.write_str(&t.to_rfc3339()),
            GroupKey::NoTime => f.write_str("(no time)"),
        }
    }
}

/// Counts of matching records per group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregation {
    /// Groups in ascending key order, each with its count (never zero).
    pub groups: Vec<(GroupKey, u64)>,
    /// Matching records in all groups.
    pub total: u64,
}

/// Accumulates counts for one [`GroupBy`].
#[derive(Debug)]
pub(crate) struct Counter {
    by: GroupBy,
    counts: BTreeMap<GroupKey, u64>,
    total: u64,
}

impl Counter {
    pub(crate) fn new(by: GroupBy) -> Self {
        Counter {
            by,
            counts: BTreeMap::new(),
            total: 0,
        }
    }

    pub(crate) fn add(&mut self, record: &impl Fields) {
        let bucket = |field: TimeField, width: i64| {
            let t = match field {
                TimeField::Recorded => Some(record.recorded_at()),
                TimeField::Occurred => record.occurred_at(),
            };
            t.map_or(GroupKey::NoTime, |n| {
                GroupKey::Bucket(Timestamp::from_nanos(n - n.rem_euclid(width)))
            })
        };
        let key = match self.by {
            GroupBy::Action => GroupKey::Text(record.action().to_owned()),
            GroupBy::Actor => GroupKey::Text(record.actor_id().to_owned()),
            GroupBy::Severity => GroupKey::Severity(record.severity()),
            GroupBy::Outcome => GroupKey::Outcome(record.outcome()),
            GroupBy::Hour(field) => bucket(field, HOUR_NANOS),
            GroupBy::Day(field) => bucket(field, DAY_NANOS),
        };
        *self.counts.entry(key).or_insert(0) += 1;
        self.total += 1;
    }

    pub(crate) fn finish(self) -> Aggregation {
        Aggregation {
            groups: self.counts.into_iter().collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Record};

    #[test]
    fn buckets_start_at_utc_hour_and_day_boundaries() {
        let at = Timestamp::from_unix_secs(1_800_000_000 + 3_725); // 01:02:05 past an hour
        let record = Record {
            seq: 0,
            recorded_at: at,
            event: Event::new("a", "x"),
        };
        let mut hours = Counter::new(GroupBy::Hour(TimeField::Recorded));
        hours.add(&record);
        let mut occurred = Counter::new(GroupBy::Day(TimeField::Occurred));
        occurred.add(&record);
        let hour_start = Timestamp::from_unix_secs((1_800_000_000 + 3_725) / 3600 * 3600);
        assert_eq!(
            hours.finish().groups,
            vec![(GroupKey::Bucket(hour_start), 1)]
        );
        assert_eq!(occurred.finish().groups, vec![(GroupKey::NoTime, 1)]);
    }
}
