//! The events every engine stores: synthetic ones from `SampleEvents` and the real Windows
//! security events in ../shared/data, plus the column values a SQL table would index.

use auditlog::{Event, EventLimits, Severity, Timestamp};
use auditlog_format::event::JsonText;
use auditlog_format::event::codec::encode_payload;
use auditlog_format::sample::SampleEvents;
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// A named list of events.
pub struct Workload {
    pub name: String,
    pub events: Vec<Event>,
}

impl Workload {
    /// Average encoded payload size, in bytes.
    pub fn avg_payload(&self) -> f64 {
        let limits = EventLimits::default();
        let total: usize = self
            .events
            .iter()
            .map(|e| encode_payload(e, &limits).map_or(0, |p| p.len()))
            .sum();
        total as f64 / self.events.len().max(1) as f64
    }
}

/// Encoded size the synthetic events are padded to: the ~500-byte event of the targets.
pub const SYNTHETIC_BYTES: usize = 500;

/// `n` synthetic events from `SampleEvents` (about 300 bytes encoded), each padded to about
/// [`SYNTHETIC_BYTES`] with a `trace` metadata field of hex digits (distributed-tracing
/// context; incompressible like real ids, so no engine gains from compressing padding).
pub fn synthetic(n: usize) -> Workload {
    let generator = SampleEvents::new(7);
    let base = Timestamp::from_unix_secs(1_800_000_000);
    let limits = EventLimits::default();
    let events = (0..n as u64)
        .map(|i| {
            let event = generator.event(i, base);
            let len = encode_payload(&event, &limits).map_or(0, |p| p.len());
            let pad = SYNTHETIC_BYTES.saturating_sub(len + 12);
            let mut trace = String::with_capacity(pad + 64);
            let mut seed = blake3::hash(&i.to_le_bytes());
            while trace.len() < pad {
                trace.push_str(seed.to_hex().as_str());
                seed = blake3::hash(seed.as_bytes());
            }
            trace.truncate(pad);
            event.metadata("trace", trace)
        })
        .collect();
    Workload {
        name: format!("synthetic, {n} events"),
        events,
    }
}

/// The real Windows events, mapped to our event model: the account as actor, channel and event
/// id as action, host as source, and every field of the original record kept as metadata.
/// Records our validation refuses are skipped and counted.
pub fn windows_events(path: &Path) -> Result<(Workload, usize), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decoder = zstd::stream::Decoder::new(file).map_err(|e| e.to_string())?;
    let limits = EventLimits::default();
    let (mut events, mut skipped) = (Vec::new(), 0);
    for line in BufReader::new(decoder).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&line) else {
            skipped += 1;
            continue;
        };
        let event = map_windows_event(fields);
        if event.validate(&limits).is_ok() {
            events.push(event);
        } else {
            skipped += 1;
        }
    }
    let name = format!("real Windows events, {}", events.len());
    Ok((Workload { name, events }, skipped))
}

fn map_windows_event(fields: Map<String, Value>) -> Event {
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
    let actor = [
        text("SubjectUserName"),
        text("TargetUserName"),
        text("AccountName"),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty() && s != "-")
    .unwrap_or_else(|| "SYSTEM".into());
    let action = format!(
        "{}:{}",
        text("Channel").unwrap_or_default(),
        text("EventID").unwrap_or_default()
    );
    let severity = match text("Severity").as_deref() {
        Some("WARNING") => Severity::Medium,
        Some("ERROR") => Severity::High,
        Some("CRITICAL") => Severity::Critical,
        _ => Severity::Info,
    };
    let mut event = Event::new(actor, action).severity(severity);
    if let Some(at) = text("@timestamp").and_then(|t| Timestamp::parse_rfc3339(&t).ok()) {
        event = event.occurred_at(at);
    }
    if let Some(host) = text("Hostname") {
        event = event.source(host);
    }
    event.metadata = JsonText::serialize(&fields).ok();
    event
}

/// The columns of the seeds' audit table (sqlite.rs, postgres.rs), taken from an event.
pub struct Columns<'a> {
    /// `occurred_at` in nanoseconds since the Unix epoch (0 when the event has none).
    pub ts: i64,
    pub tenant: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity_type: Option<&'a str>,
    pub entity_id: Option<&'a str>,
    pub severity: &'static str,
}

pub fn columns(event: &Event) -> Columns<'_> {
    Columns {
        ts: event.occurred_at.map_or(0, |t| t.as_nanos()),
        tenant: event.tenant.as_deref(),
        actor: &event.actor.id,
        action: &event.action,
        entity_type: event.entity.as_ref().map(|e| e.kind.as_str()),
        entity_id: event.entity.as_ref().map(|e| e.id.as_str()),
        severity: event.severity.as_str(),
    }
}
