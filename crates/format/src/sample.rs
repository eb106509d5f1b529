//! Realistic synthetic audit events for the demo, tests and benchmarks.
//!
//! Deterministic for a given seed and index, so every run (and every engine in the comparison
//! harness) sees the same events. Shapes follow what audit services record: logins, order and
//! permission changes with before/after values, API calls, all with tenants, request ids and
//! compliance labels. Encoded events are about 400–600 bytes.

use crate::event::{Event, Outcome, Severity};
use crate::timestamp::Timestamp;
use serde_json::json;

/// A generator of synthetic events.
#[derive(Debug, Clone)]
pub struct SampleEvents {
    seed: u64,
    actors: u64,
    entities: u64,
}

/// SplitMix64: a tiny, good-enough mixer; avoids a `rand` dependency.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const ACTIONS: &[(&str, &str)] = &[
    ("user.login", "session"),
    ("user.logout", "session"),
    ("LOGIN_FAILED", "session"),
    ("order.create", "order"),
    ("order.status_change", "order"),
    ("order.refund", "order"),
    ("permission.grant", "role"),
    ("permission.revoke", "role"),
    ("document.read", "document"),
    ("document.export", "document"),
    ("api_key.rotate", "api_key"),
    ("user.update", "user"),
];
const TENANTS: &[&str] = &["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const SERVICES: &[&str] = &[
    "billing-api",
    "auth-service",
    "orders",
    "admin-console",
    "docs",
];
const STATUSES: &[&str] = &["pending", "paid", "shipped", "delivered", "cancelled"];
const LABELS: &[&str] = &["SOX", "PCI", "GDPR", "HIPAA", "confidential", "internal"];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
];

impl SampleEvents {
    /// Events with 10,000 actors and 100,000 entities, like a mid-sized service.
    pub fn new(seed: u64) -> Self {
        SampleEvents {
            seed,
            actors: 10_000,
            entities: 100_000,
        }
    }

    /// Sets how many distinct actors appear.
    pub fn actors(mut self, n: u64) -> Self {
        self.actors = n.max(1);
        self
    }

    /// Sets how many distinct entities appear.
    pub fn entities(mut self, n: u64) -> Self {
        self.entities = n.max(1);
        self
    }

    /// The actor id of event `i`.
    pub fn actor_of(&self, i: u64) -> String {
        format!("user:{}", mix(self.seed ^ i) % self.actors)
    }

    /// Event number `i`, occurring around `base` plus `i` milliseconds.
    pub fn event(&self, i: u64, base: Timestamp) -> Event {
        let r = mix(self.seed.wrapping_mul(31) ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let pick = |n: usize, shift: u32| ((r >> shift) as usize) % n;
        let (action, entity_type) = ACTIONS[pick(ACTIONS.len(), 0)];
        let entity_id = format!("{}", mix(r) % self.entities);
        let failed = action == "LOGIN_FAILED" || pick(50, 8) == 0;
        let severity = if failed {
            [Severity::Medium, Severity::High, Severity::Critical][pick(3, 12)]
        } else {
            [
                Severity::Info,
                Severity::Info,
                Severity::Low,
                Severity::Medium,
            ][pick(4, 12)]
        };
        let occurred = Timestamp::from_nanos(base.as_nanos().saturating_add(i as i64 * 1_000_000));
        let mut e = Event::new(self.actor_of(i), action)
            .occurred_at(occurred)
            .actor_kind(if pick(10, 16) == 0 { "service" } else { "user" })
            .actor_email(format!(
                "{}@example.com",
                self.actor_of(i).replace(':', ".")
            ))
            .severity(severity)
            .outcome(if failed {
                Outcome::Failure
            } else {
                Outcome::Success
            })
            .entity(entity_type, entity_id)
            .tenant(TENANTS[pick(TENANTS.len(), 20)])
            .ip(format!(
                "10.{}.{}.{}",
                (r >> 24) & 0xff,
                (r >> 32) & 0xff,
                (r >> 40) & 0xff
            ))
            .user_agent(AGENTS[pick(AGENTS.len(), 28)])
            .session_id(format!("sess-{:016x}", mix(r ^ 1)))
            .request_id(format!("req-{:016x}", mix(r ^ 2)))
            .source(SERVICES[pick(SERVICES.len(), 36)])
            .label(LABELS[pick(LABELS.len(), 44)]);
        if failed {
            e = e.error_message("invalid credentials or insufficient permissions");
        }
        if entity_type == "order" {
            let from = STATUSES[pick(STATUSES.len(), 48)];
            let to = STATUSES[pick(STATUSES.len(), 52)];
            e = e
                .before(json!({"status": from, "total": (r % 100_000) as f64 / 100.0}))
                .after(json!({"status": to, "total": (r % 100_000) as f64 / 100.0}))
                .changed_field("status");
        }
        e.metadata(
            "region",
            ["eu-west-1", "us-east-1", "ap-south-1"][pick(3, 56)],
        )
        .metadata(
            "client_version",
            format!("4.{}.{}", pick(20, 58), pick(10, 60)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_valid_deterministic_and_realistically_sized() {
        let g = SampleEvents::new(7);
        let base = Timestamp::from_unix_secs(1_800_000_000);
        let limits = crate::event::EventLimits::default();
        let mut total = 0;
        for i in 0..1000 {
            let e = g.event(i, base);
            assert_eq!(e, g.event(i, base));
            let bytes = crate::event::encode_payload(&e, &limits).expect("valid");
            total += bytes.len();
        }
        let avg = total / 1000;
        assert!((300..700).contains(&avg), "average encoded size {avg}");
    }
}
