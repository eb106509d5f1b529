//! The alert rules file (`auditlog serve --alerts FILE`, docs/SERVER.md "Alerts"): JSON,
//! read and checked once at start. A mistake names the rule (its position and name) and the
//! field, and the server does not start.

use auditlog::{Event, Outcome, Severity};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most rules in one file.
pub const MAX_RULES: usize = 1_000;
/// The largest `at_least`: a window holds at most this many records per key.
pub const MAX_AT_LEAST: u32 = 10_000;
/// The longest window: 31 days.
pub const MAX_WITHIN_SECS: u64 = 31 * 86_400;

/// Which field of an event a rule counts separately (one window per value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// `actor.id`.
    Actor,
    /// `ip`.
    Ip,
    /// `tenant`.
    Tenant,
    /// `entity.type` and `entity.id`.
    Entity,
    /// `session_id`.
    Session,
}

impl Per {
    /// The field's name as the rules file and the alert event spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Per::Actor => "actor",
            Per::Ip => "ip",
            Per::Tenant => "tenant",
            Per::Entity => "entity",
            Per::Session => "session",
        }
    }

    /// The event's value of this field; `None` if it has none (the event is then not counted).
    pub fn key(self, event: &Event) -> Option<String> {
        match self {
            Per::Actor => Some(event.actor.id.clone()),
            Per::Ip => event.ip.clone(),
            Per::Tenant => event.tenant.clone(),
            Per::Entity => event
                .entity
                .as_ref()
                .map(|e| format!("{}:{}", e.kind, e.id)),
            Per::Session => event.session_id.clone(),
        }
    }
}

/// An action pattern: exact (`LOGIN_FAILED`), a prefix (`user.*`) or a suffix (`*.delete`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
}

impl ActionPattern {
    fn parse(text: &str) -> Result<Self, String> {
        let stars = text.matches('*').count();
        let pattern = match (stars, text.strip_prefix('*'), text.strip_suffix('*')) {
            (0, _, _) => ActionPattern::Exact(text.to_string()),
            (1, Some(rest), _) if !rest.is_empty() => ActionPattern::Suffix(rest.to_string()),
            (1, _, Some(rest)) if !rest.is_empty() => ActionPattern::Prefix(rest.to_string()),
            _ => {
                return Err(format!(
                    "action {text:?}: give an action (LOGIN_FAILED), a prefix (user.*) or a \
                     suffix (*.delete): one `*`, first or last, and something beside it"
                ));
            }
        };
        if text.is_empty() {
            return Err("action is empty".into());
        }
        Ok(pattern)
    }

    /// Whether `action` matches.
    pub fn matches(&self, action: &str) -> bool {
        match self {
            ActionPattern::Exact(a) => action == a,
            ActionPattern::Prefix(p) => action.starts_with(p.as_str()),
            ActionPattern::Suffix(s) => action.ends_with(s.as_str()),
        }
    }
}

/// Where a rule's notifications go.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The `http://` or `https://` URL, parsed.
    pub target: reqwest::Url,
    /// The URL as written.
    pub url: String,
    /// The HMAC-SHA256 key (the secret file's bytes, a trailing newline removed), if given.
    pub secret: Option<Vec<u8>>,
}

/// One checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub action: Option<ActionPattern>,
    pub outcome: Option<Outcome>,
    pub severity_at_least: Option<Severity>,
    pub tenant: Option<String>,
    pub per: Option<Per>,
    pub at_least: u32,
    pub within: Option<Duration>,
    /// The severity of the `alert.triggered` events it appends.
    pub severity: Severity,
    pub webhook: Option<Webhook>,
}

impl Rule {
    /// Whether `event` is one the rule counts (its key aside).
    pub fn matches(&self, event: &Event) -> bool {
        self.action
            .as_ref()
            .is_none_or(|a| a.matches(&event.action))
            && self.outcome.is_none_or(|o| event.outcome == o)
            && self.severity_at_least.is_none_or(|s| event.severity >= s)
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| event.tenant.as_ref() == Some(t))
    }
}

/// How notifications are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Attempts per notification, the first included (1..=20, default 6).
    pub attempts: u32,
    /// The wait before the second attempt, doubled for each later one (default 500 ms).
    pub first_backoff: Duration,
    /// The longest wait between attempts (default 60 s).
    pub max_backoff: Duration,
    /// How long one attempt may take, connecting included (default 5 s).
    pub timeout: Duration,
    /// Notifications waiting for delivery at most; more are dropped and counted (default 1,000).
    pub queue: usize,
    /// PEM certificates (`ca_file`) trusted for https webhooks besides the system's roots,
    /// for receivers behind a private certificate authority.
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            attempts: 6,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            queue: 1_000,
            ca_pem: None,
        }
    }
}

/// A checked rules file.
#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub delivery: Delivery,
    /// The webhooks' HTTP client, built here so that a CA file it cannot use stops the start.
    pub client: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    rules: Vec<Value>,
    #[serde(default)]
    delivery: Option<DeliveryDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryDoc {
    attempts: Option<u32>,
    first_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
    queue: Option<usize>,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    name: String,
    action: Option<String>,
    outcome: Option<Outcome>,
    severity_at_least: Option<Severity>,
    tenant: Option<String>,
    per: Option<Per>,
    at_least: Option<u32>,
    within_secs: Option<u64>,
    severity: Option<Severity>,
    webhook: Option<WebhookDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookDoc {
    url: String,
    secret_file: Option<PathBuf>,
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    what: &str,
    v: T,
    lo: T,
    hi: T,
) -> Result<T, String> {
    match v < lo || v > hi {
        true => Err(format!("{what} is {v}: give {lo} to {hi}")),
        false => Ok(v),
    }
}

impl Rules {
    /// Reads and checks the rules file at `path`.
    pub fn load(path: &Path) -> Result<Rules, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading the alert rules {}: {e}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| format!("the alert rules {}: {e}", path.display()))
    }

    /// Checks the text of a rules file; relative `secret_file`s are read from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Rules, String> {
        let doc: FileDoc = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let delivery = match doc.delivery {
            None => Delivery::default(),
            Some(d) => check_delivery(d, base).map_err(|e| format!("delivery: {e}"))?,
        };
        if doc.rules.is_empty() || doc.rules.len() > MAX_RULES {
            return Err(format!(
                "{} rules: give 1 to {MAX_RULES} in \"rules\"",
                doc.rules.len()
            ));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(doc.rules.len());
        for (i, value) in doc.rules.into_iter().enumerate() {
            let label = match value.get("name").and_then(Value::as_str) {
                Some(name) => format!("rule {} ({name:?})", i + 1),
                None => format!("rule {}", i + 1),
            };
            let rule = serde_json::from_value::<RuleDoc>(value)
                .map_err(|e| e.to_string())
                .and_then(|d| check_rule(d, base))
                .map_err(|e| format!("{label}: {e}"))?;
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(format!("{label}: another rule has this name"));
            }
            rules.push(rule);
        }
        let client = super::webhook::client(&delivery)?;
        Ok(Rules {
            rules,
            delivery,
            client,
        })
    }
}

fn check_delivery(d: DeliveryDoc, base: &Path) -> Result<Delivery, String> {
    let default = Delivery::default();
    let ms = Duration::from_millis;
    let delivery = Delivery {
        attempts: in_range("attempts", d.attempts.unwrap_or(default.attempts), 1, 20)?,
        first_backoff: ms(in_range(
            "first_backoff_ms",
            d.first_backoff_ms.unwrap_or(500),
            1,
            3_600_000,
        )?),
        max_backoff: ms(in_range(
            "max_backoff_ms",
            d.max_backoff_ms.unwrap_or(60_000),
            1,
            86_400_000,
        )?),
        timeout: ms(in_range(
            "timeout_ms",
            d.timeout_ms.unwrap_or(5_000),
            1,
            600_000,
        )?),
        queue: in_range("queue", d.queue.unwrap_or(default.queue), 1, 1_000_000)?,
        ca_pem: d.ca_file.map(|f| read_ca_file(&base.join(f))).transpose()?,
    };
    if delivery.max_backoff < delivery.first_backoff {
        return Err("max_backoff_ms is less than first_backoff_ms".into());
    }
    Ok(delivery)
}

/// Reads `ca_file` and checks it holds at least one PEM certificate, so a wrong file stops
/// the start rather than every https delivery failing later.
fn read_ca_file(file: &Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("ca_file {}: {e}", file.display()))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(format!(
            "ca_file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            file.display()
        )),
        Err(e) => Err(format!("ca_file {}: {e}", file.display())),
    }
}

fn check_rule(d: RuleDoc, base: &Path) -> Result<Rule, String> {
    let name_ok = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !name_ok {
        return Err(
            "name: give 1 to 64 letters, digits, '.', '_' or '-' (it is a metrics label)".into(),
        );
    }
    let action = d.action.as_deref().map(ActionPattern::parse).transpose()?;
    if action.is_none()
        && d.outcome.is_none()
        && d.severity_at_least.is_none()
        && d.tenant.is_none()
    {
        return Err(
            "it matches every event: give at least one of action, outcome, \
             severity_at_least or tenant"
                .into(),
        );
    }
    let at_least = in_range("at_least", d.at_least.unwrap_or(1), 1, MAX_AT_LEAST)?;
    let within = d
        .within_secs
        .map(|s| in_range("within_secs", s, 1, MAX_WITHIN_SECS))
        .transpose()?
        .map(Duration::from_secs);
    if at_least > 1 && within.is_none() {
        return Err(format!(
            "at_least is {at_least} but within_secs is missing: give the window to count in"
        ));
    }
    let webhook = d.webhook.map(|w| check_webhook(w, base)).transpose()?;
    Ok(Rule {
        name: d.name,
        action,
        outcome: d.outcome,
        severity_at_least: d.severity_at_least,
        tenant: d.tenant,
        per: d.per,
        at_least,
        within,
        severity: d.severity.unwrap_or(Severity::High),
        webhook,
    })
}

fn check_webhook(w: WebhookDoc, base: &Path) -> Result<Webhook, String> {
    let bad = |why: &str| format!("webhook.url {:?}: {why}", w.url);
    let target = reqwest::Url::parse(&w.url)
        .map_err(|e| bad(&format!("{e}: give http(s)://HOST[:PORT]/PATH")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(bad("give an http:// or https:// URL"));
    }
    if target.host_str().is_none_or(str::is_empty) {
        return Err(bad("give a host: http(s)://HOST[:PORT]/PATH"));
    }
    if !target.username().is_empty() || target.password().is_some() {
        return Err(bad(
            "put no credentials in the URL: sign with secret_file instead",
        ));
    }
    let secret = match &w.secret_file {
        None => None,
        Some(file) => {
            let file = base.join(file);
            let mut bytes = std::fs::read(&file)
                .map_err(|e| format!("webhook.secret_file {}: {e}", file.display()))?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            if bytes.len() < 16 {
                return Err(format!(
                    "webhook.secret_file {}: the secret is shorter than 16 bytes",
                    file.display()
                ));
            }
            Some(bytes)
        }
    };
    Ok(Webhook {
        target,
        url: w.url,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rules, String> {
        Rules::parse(text, Path::new("."))
    }

    #[test]
    fn the_documented_example_parses() {
        let rules = parse(
            r#"{"rules": [
                {"name": "failed-logins", "action": "LOGIN_FAILED", "per": "actor",
                 "at_least": 5, "within_secs": 300,
                 "webhook": {"url": "http://127.0.0.1:9000/hooks/audit"}},
                {"name": "critical", "severity_at_least": "critical"},
                {"name": "mass-delete", "action": "*.delete", "per": "actor",
                 "at_least": 100, "within_secs": 3600}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(rules.rules.len(), 3);
        let hook = rules.rules[0].webhook.as_ref().expect("a webhook");
        assert_eq!(
            (hook.target.authority(), hook.target.path()),
            ("127.0.0.1:9000", "/hooks/audit")
        );
        assert_eq!(
            rules.rules[2].action,
            Some(ActionPattern::Suffix(".delete".into()))
        );
        assert_eq!(rules.delivery, Delivery::default());
    }

    #[test]
    fn mistakes_name_the_rule_and_the_field() {
        let cases = [
            (
                r#"{"rules": [{"name": "a", "action": "x"}, {"name": "b", "action": "y", "treshold": 3}]}"#,
                "rule 2 (\"b\"): unknown field `treshold`",
            ),
            (
                r#"{"rules": [{"name": "burst", "action": "x", "at_least": 5}]}"#,
                "rule 1 (\"burst\"): at_least is 5 but within_secs is missing",
            ),
            (
                r#"{"rules": [{"name": "all"}]}"#,
                "rule 1 (\"all\"): it matches every event",
            ),
            (
                r#"{"rules": [{"name": "s", "severity_at_least": "fatal"}]}"#,
                "rule 1 (\"s\"): ",
            ),
            (
                r#"{"rules": [{"name": "w", "action": "x", "webhook": {"url": "ftp://example.org/h"}}]}"#,
                "rule 1 (\"w\"): webhook.url \"ftp://example.org/h\": give an http:// or https:// URL",
            ),
            (
                r#"{"rules": [{"name": "w", "action": "x", "webhook": {"url": "https://u:p@example.org/h"}}]}"#,
                "rule 1 (\"w\"): webhook.url",
            ),
            (
                r#"{"rules": [{"name": "a", "action": "x"}], "delivery": {"ca_file": "no-such-ca.pem"}}"#,
                "delivery: ca_file ",
            ),
            (
                r#"{"rules": [{"name": "a b", "action": "x"}]}"#,
                "rule 1 (\"a b\"): name",
            ),
            (
                r#"{"rules": [{"name": "d", "action": "x"}, {"name": "d", "action": "y"}]}"#,
                "rule 2 (\"d\"): another rule has this name",
            ),
            (
                r#"{"rules": [{"name": "m", "action": "a*b"}]}"#,
                "rule 1 (\"m\"): action \"a*b\"",
            ),
            (
                r#"{"rules": [{"name": "n", "action": "x", "at_least": 2, "within_secs": 0}]}"#,
                "rule 1 (\"n\"): within_secs is 0",
            ),
            (r#"{"rules": []}"#, "0 rules"),
            (
                r#"{"rules": [{"name": "a", "action": "x"}], "delivery": {"attempts": 0}}"#,
                "delivery: attempts is 0",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.starts_with(expected), "{text}\n  gave: {error}");
        }
    }

    #[test]
    fn patterns_and_conditions_match() {
        let rules = parse(
            r#"{"rules": [{"name": "r", "action": "user.*", "outcome": "failure",
                "severity_at_least": "high", "tenant": "acme"}]}"#,
        )
        .expect("parses");
        let rule = &rules.rules[0];
        let event = Event::new("u", "user.delete")
            .outcome(Outcome::Failure)
            .severity(Severity::Critical)
            .tenant("acme");
        assert!(rule.matches(&event));
        assert!(!rule.matches(&event.clone().tenant("other")));
        assert!(!rule.matches(&event.clone().severity(Severity::Medium)));
        assert!(!rule.matches(&event.clone().outcome(Outcome::Success)));
        let mut other = event.clone();
        other.action = "order.delete".into();
        assert!(!rule.matches(&other));
    }
}
