//! Skipping a segment unread: whether its summary (`index::summary`) rules a query out.
//! Here rather than in the index so that the index knows nothing of queries.

use super::{ActionFilter, Query, SeverityFilter};
use crate::index::summary::{Summary, mask};

impl Summary {
    /// False only if no record of the segment can match `query`.
    pub(crate) fn may_match(&self, query: &Query) -> bool {
        if self.records == 0
            || !query
                .recorded
                .overlaps(self.min_recorded, self.max_recorded)
            || (!query.occurred.is_unbounded()
                && !query
                    .occurred
                    .overlaps(self.min_occurred, self.max_occurred))
        {
            return false;
        }
        let severity_ok = match query.severity {
            None => true,
            Some(SeverityFilter::Exact(s)) => self.severities & mask(s.to_u8()) != 0,
            Some(SeverityFilter::AtLeast(s)) => {
                self.severities & !mask(s.to_u8()).wrapping_sub(1) != 0
            }
        };
        let outcome_ok = query
            .outcome
            .is_none_or(|o| self.outcomes & mask(o.to_u8()) != 0);
        let tenant_ok = query
            .tenant
            .as_ref()
            .is_none_or(|t| self.tenants.may_contain(|v| v == t));
        let action_ok = match &query.action {
            None => true,
            Some(ActionFilter::Exact(a)) => self.actions.may_contain(|v| v == a),
            Some(ActionFilter::Prefix(p)) => {
                self.actions.may_contain(|v| v.starts_with(p.as_str()))
            }
        };
        let label_ok = query
            .label
            .as_ref()
            .is_none_or(|l| self.labels.may_contain(|v| v == l));
        severity_ok && outcome_ok && tenant_ok && action_ok && label_ok
    }
}
