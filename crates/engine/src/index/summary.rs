//! Segment summaries: what a segment holds, in brief, so a query can skip it unread.
//!
//! Time bounds are exact. Tenants, actions and labels are kept as small sorted sets of the
//! distinct values; a set that would grow past [`MAX_SET_VALUES`] values or
//! [`MAX_SET_BYTES`] bytes is dropped and marked "overflowed" (it then rules nothing out), so
//! a summary stays a few KiB even for a segment of high-cardinality values. Severities and
//! outcomes are bit masks of their one-byte codes.

use crate::index::Fields;
use std::collections::BTreeSet;

pub(crate) const MAX_SET_VALUES: usize = 256;
pub(crate) const MAX_SET_BYTES: usize = 16 * 1024;

/// A set of distinct strings, or "too many to list".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ValueSet {
    /// `None` once overflowed.
    pub values: Option<BTreeSet<String>>,
    bytes: usize,
}

impl ValueSet {
    pub(crate) fn new() -> Self {
        ValueSet {
            values: Some(BTreeSet::new()),
            bytes: 0,
        }
    }

    pub(crate) fn overflowed() -> Self {
        ValueSet {
            values: None,
            bytes: 0,
        }
    }

    pub(crate) fn insert(&mut self, value: &str) {
        let Some(values) = &mut self.values else {
            return;
        };
        if values.contains(value) {
            return;
        }
        self.bytes += value.len();
        if values.len() >= MAX_SET_VALUES || self.bytes > MAX_SET_BYTES {
            self.values = None;
            return;
        }
        values.insert(value.to_string());
    }

    /// Whether a value satisfying `pred` may be present.
    pub(crate) fn may_contain(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.values
            .as_ref()
            .is_none_or(|values| values.iter().any(|v| pred(v)))
    }
}

/// What one segment holds, in brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub records: u64,
    pub min_recorded: i64,
    pub max_recorded: i64,
    /// Bounds of `occurred_at` over the records that have one (`min > max` if none has).
    pub min_occurred: i64,
    pub max_occurred: i64,
    /// Bit `code` set if a record has that severity / outcome code.
    pub severities: u8,
    pub outcomes: u8,
    pub tenants: ValueSet,
    pub actions: ValueSet,
    pub labels: ValueSet,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            records: 0,
            min_recorded: i64::MAX,
            max_recorded: i64::MIN,
            min_occurred: i64::MAX,
            max_occurred: i64::MIN,
            severities: 0,
            outcomes: 0,
            tenants: ValueSet::new(),
            actions: ValueSet::new(),
            labels: ValueSet::new(),
        }
    }
}

impl Summary {
    pub(crate) fn add(&mut self, record: &impl Fields) {
        let at = record.recorded_at();
        self.records += 1;
        self.min_recorded = self.min_recorded.min(at);
        self.max_recorded = self.max_recorded.max(at);
        if let Some(t) = record.occurred_at() {
            self.min_occurred = self.min_occurred.min(t);
            self.max_occurred = self.max_occurred.max(t);
        }
        self.severities |= mask(record.severity().to_u8());
        self.outcomes |= mask(record.outcome().to_u8());
        if let Some(t) = record.tenant() {
            self.tenants.insert(t);
        }
        self.actions.insert(record.action());
        record.for_each_label(&mut |label| self.labels.insert(label));
    }
}

/// The bit of a one-byte severity or outcome code in the summary's masks.
pub(crate) fn mask(code: u8) -> u8 {
    1u8.checked_shl(u32::from(code)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Record, Severity};
    use crate::query::Query;
    use crate::timestamp::Timestamp;

    #[test]
    fn summaries_rule_out_only_what_cannot_match() {
        let mut s = Summary::default();
        assert!(
            !s.may_match(&Query::new()),
            "an empty segment matches nothing"
        );
        for (i, action) in ["order.create", "user.login"].iter().enumerate() {
            let record = Record {
                seq: i as u64,
                recorded_at: Timestamp::from_nanos(100 + i as i64),
                event: Event::new("a", *action)
                    .severity(Severity::Medium)
                    .tenant("acme"),
            };
            s.add(&record);
        }
        assert!(s.may_match(&Query::new().severity_at_least(Severity::Low)));
        assert!(s.may_match(&Query::new().severity_at_least(Severity::Medium)));
        assert!(!s.may_match(&Query::new().severity_at_least(Severity::High)));
        assert!(!s.may_match(&Query::new().severity(Severity::Info)));
        assert!(s.may_match(&Query::new().action_prefix("user.")));
        assert!(!s.may_match(&Query::new().action_prefix("perm")));
        assert!(!s.may_match(&Query::new().tenant("globex")));
        assert!(!s.may_match(&Query::new().label("PCI")));
        let at = Timestamp::from_nanos;
        assert!(!s.may_match(&Query::new().recorded_since(at(102))));
        assert!(s.may_match(&Query::new().recorded_since(at(101))));
        assert!(!s.may_match(&Query::new().recorded_until(at(100))));
        assert!(
            !s.may_match(&Query::new().occurred_since(at(0))),
            "no occurred_at at all"
        );
    }

    #[test]
    fn a_set_past_its_limit_overflows_and_rules_nothing_out() {
        let mut set = ValueSet::new();
        for i in 0..=MAX_SET_VALUES {
            set.insert(&format!("tenant-{i}"));
        }
        assert_eq!(set.values, None);
        assert!(set.may_contain(|v| v == "anything"));
        let mut big = ValueSet::new();
        big.insert(&"x".repeat(MAX_SET_BYTES + 1));
        assert_eq!(big.values, None);
    }
}
