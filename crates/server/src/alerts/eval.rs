//! Evaluating the rules over committed records, in sequence order: one sliding window per
//! rule and key (the value of the rule's `per` field, or one window for the whole log).
//!
//! A rule fires when its window holds `at_least` matching records whose `recorded_at` (the
//! log's clock, so the result depends on the log alone, not on when the server read it) lie
//! within `within_secs` of the newest one. The window is then emptied: the next firing for
//! that key needs `at_least` new records. Memory is bounded: at most [`MAX_KEYS`] keys per
//! rule (keys whose records all left the window are dropped first; past that, new keys are
//! not tracked and counted in `untracked`), and at most `at_least` records per key.

use super::rules::{Rule, Rules};
use auditlog::Record;
use std::collections::{HashMap, VecDeque};

/// Most keys one rule tracks at once.
pub const MAX_KEYS: usize = 100_000;

/// One firing: the rule, the key and the records that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// Index of the rule in the file.
    pub rule: usize,
    /// The key's value (`None` for a rule without `per`).
    pub key: Option<String>,
    /// The records in the window, oldest first (seq, recorded_at in nanoseconds).
    pub records: Vec<(u64, i64)>,
    /// The tenant every one of them has, if they share one.
    pub tenant: Option<String>,
}

#[derive(Debug, Default)]
struct Window {
    records: VecDeque<(u64, i64, Option<String>)>,
}

#[derive(Debug)]
struct RuleState {
    windows: HashMap<Option<String>, Window>,
}

/// The evaluator's state; feed it every committed record once, in order.
#[derive(Debug)]
pub struct Evaluator {
    rules: Vec<Rule>,
    state: Vec<RuleState>,
    /// Records of a new key not tracked because a rule had [`MAX_KEYS`] live keys.
    pub untracked: u64,
}

impl Evaluator {
    pub fn new(rules: &Rules) -> Self {
        Evaluator {
            rules: rules.rules.clone(),
            state: rules
                .rules
                .iter()
                .map(|_| RuleState {
                    windows: HashMap::new(),
                })
                .collect(),
            untracked: 0,
        }
    }

    /// Empties rule `rule`'s window of `key`, as a firing does: the replay of a stretch an
    /// earlier run evaluated passes the record where that run's logged alert fired.
    pub fn forget(&mut self, rule: usize, key: &Option<String>) {
        if let Some(state) = self.state.get_mut(rule) {
            state.windows.remove(key);
        }
    }

    /// The firings `record` causes. The server's own `alert.triggered` events are never
    /// counted, so that no rule can fire on its own alerts in a loop.
    pub fn feed(&mut self, record: &Record) -> Vec<Firing> {
        let event = &record.event;
        if event.action == super::ALERT_ACTION && event.actor.id == super::ALERT_ACTOR {
            return Vec::new();
        }
        let now = record.recorded_at.as_nanos();
        let mut firings = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.matches(event) {
                continue;
            }
            let key = match rule.per {
                None => None,
                Some(per) => match per.key(event) {
                    Some(k) => Some(k),
                    None => continue,
                },
            };
            let span = rule.within.map_or(i64::MAX, |w| {
                i64::try_from(w.as_nanos()).unwrap_or(i64::MAX)
            });
            let state = &mut self.state[i];
            if !state.windows.contains_key(&key) && state.windows.len() >= MAX_KEYS {
                state.windows.retain(|_, w| {
                    w.records
                        .back()
                        .is_some_and(|(_, t, _)| now.saturating_sub(*t) <= span)
                });
                if state.windows.len() >= MAX_KEYS {
                    self.untracked += 1;
                    continue;
                }
            }
            let window = state.windows.entry(key.clone()).or_default();
            window
                .records
                .push_back((record.seq, now, event.tenant.clone()));
            while window
                .records
                .front()
                .is_some_and(|(_, t, _)| now.saturating_sub(*t) > span)
            {
                window.records.pop_front();
            }
            if window.records.len() >= rule.at_least as usize {
                let taken: Vec<_> = window.records.drain(..).collect();
                let first_tenant = taken[0].2.clone();
                let tenant = first_tenant.filter(|t| {
                    taken
                        .iter()
                        .all(|(_, _, other)| other.as_deref() == Some(t.as_str()))
                });
                state.windows.remove(&key);
                firings.push(Firing {
                    rule: i,
                    key,
                    records: taken.into_iter().map(|(s, t, _)| (s, t)).collect(),
                    tenant,
                });
            }
        }
        firings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::{Event, Severity, Timestamp};
    use std::path::Path;

    fn rules(text: &str) -> Rules {
        Rules::parse(text, Path::new(".")).expect("rules")
    }

    fn record(seq: u64, secs: i64, event: Event) -> Record {
        Record {
            seq,
            recorded_at: Timestamp::from_unix_secs(1_700_000_000 + secs),
            event,
        }
    }

    const BURST: &str = r#"{"rules": [{"name": "burst", "action": "LOGIN_FAILED",
        "per": "actor", "at_least": 3, "within_secs": 60}]}"#;

    #[test]
    fn a_burst_per_actor_fires_once_with_its_records() {
        let mut eval = Evaluator::new(&rules(BURST));
        let failed = |actor: &str| Event::new(actor, "LOGIN_FAILED").tenant("acme");
        let mut fired = Vec::new();
        // Two by alice, interleaved with bob and a success: no firing yet.
        for (seq, (secs, e)) in [
            (0, failed("alice")),
            (1, failed("bob")),
            (2, Event::new("alice", "LOGIN_OK")),
            (3, failed("alice")),
            (4, failed("bob")),
            (5, failed("alice")),
            (6, failed("alice")),
        ]
        .into_iter()
        .enumerate()
        {
            fired.extend(eval.feed(&record(seq as u64, secs, e)));
        }
        assert_eq!(
            fired,
            vec![Firing {
                rule: 0,
                key: Some("alice".into()),
                records: vec![
                    (0, 1_700_000_000_000_000_000),
                    (3, 1_700_000_003_000_000_000),
                    (5, 1_700_000_005_000_000_000)
                ],
                tenant: Some("acme".into()),
            }]
        );
        // Record 6 started a new window: two more make the next firing.
        assert!(eval.feed(&record(7, 10, failed("alice"))).is_empty());
        assert_eq!(eval.feed(&record(8, 11, failed("alice"))).len(), 1);
    }

    #[test]
    fn records_older_than_the_window_do_not_count() {
        let mut eval = Evaluator::new(&rules(BURST));
        let e = || Event::new("alice", "LOGIN_FAILED");
        assert!(eval.feed(&record(0, 0, e())).is_empty());
        assert!(eval.feed(&record(1, 30, e())).is_empty());
        // 61 s after the first: it left the window, so two remain.
        assert!(eval.feed(&record(2, 61, e())).is_empty());
        let fired = eval.feed(&record(3, 62, e()));
        assert_eq!(fired.len(), 1);
        assert_eq!(
            fired[0].records.iter().map(|r| r.0).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn any_critical_event_fires_and_alerts_never_feed_back() {
        let mut eval = Evaluator::new(&rules(
            r#"{"rules": [{"name": "critical", "severity_at_least": "critical"}]}"#,
        ));
        assert!(
            eval.feed(&record(0, 0, Event::new("a", "x").severity(Severity::High)))
                .is_empty()
        );
        let fired = eval.feed(&record(
            1,
            0,
            Event::new("a", "x").severity(Severity::Critical),
        ));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].key, None);
        let own = Event::new(crate::alerts::ALERT_ACTOR, crate::alerts::ALERT_ACTION)
            .severity(Severity::Critical);
        assert!(eval.feed(&record(2, 0, own)).is_empty());
    }

    #[test]
    fn events_without_the_key_are_not_counted_and_mixed_tenants_give_none() {
        let mut eval = Evaluator::new(&rules(
            r#"{"rules": [{"name": "ip", "action": "LOGIN_FAILED", "per": "ip",
                "at_least": 2, "within_secs": 60}]}"#,
        ));
        let mut e = Event::new("a", "LOGIN_FAILED").tenant("t1");
        assert!(eval.feed(&record(0, 0, e.clone())).is_empty());
        e.ip = Some("10.0.0.1".into());
        assert!(eval.feed(&record(1, 0, e.clone())).is_empty());
        let fired = eval.feed(&record(2, 0, e.clone().tenant("t2")));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].key.as_deref(), Some("10.0.0.1"));
        assert_eq!(fired[0].tenant, None);
    }
}
