//! The `linux-audit` preset: Linux audit records (raw `audit.log` / `ausearch --raw` lines,
//! go-audit's JSON, or raw records inside a JSON shipper's `SyslogMessage`/`message`) made
//! into events.
//!
//! Consecutive records with the same serial (the `456` of `audit(1700000000.123:456)`) are
//! one event: a SYSCALL record with its CWD, PATH, PROCTITLE, ... records. An event ends at
//! a record with another serial, at `type=EOE`, at an `ausearch` separator (`----`) and at
//! the end of the input. Records of two events that interleave are two events each (the
//! kernel writes an event's records together; only a merged or reordered file interleaves).
//!
//! Each event becomes a JSON object, the *event object* (documented in README "Linux audit"),
//! which the preset's `--map` rules read like any other source: `actor`, `action`,
//! `outcome`, `severity`, `entity`, `ip`, `node`, `session`, `labels`, and `records` (every
//! record's type and decoded fields, so nothing the rules do not place is lost) and `raw`
//! (the lines as they were). `--map` rules can read any of them, e.g.
//! `--map 'actor=records.0.uid'`.

mod record;
#[cfg(test)]
mod tests;
mod types;

pub use record::AuditRecord;
use record::{parse_json, parse_raw};
use serde_json::{Map, Value, json};

/// The preset's rules, over the event object.
pub const RULES: &[&str] = &[
    "occurred_at=time",
    "actor=actor|\"unknown\"",
    "actor.kind=actor_kind",
    "actor.name=actor_name",
    "action=action",
    "outcome=outcome|\"success\"",
    "severity=severity|\"info\"",
    "entity=entity",
    "ip=ip",
    "source=node",
    "session_id=session",
    "labels=labels",
];

/// Records beyond which an event is cut (an input in which every line has one serial would
/// otherwise be held in memory whole); the next records start a new event.
const MAX_RECORDS: usize = 10_000;

/// An event's records as they are collected.
#[derive(Debug, Default)]
struct Pending {
    first_line: u64,
    last_line: u64,
    records: Vec<AuditRecord>,
    raw: Vec<String>,
    uid_map: Map<String, Value>,
}

/// A finished event: its first and last input lines, and its event object (serialized) or
/// why its lines are bad.
pub type Item = (u64, u64, Result<Vec<u8>, String>);

/// Collects records into events, line by line.
#[derive(Debug, Default)]
pub struct Grouper {
    pending: Option<Pending>,
}

impl Grouper {
    /// Reads input line `number`; returns the events it finished (usually none or one).
    pub fn push(&mut self, number: u64, line: &[u8]) -> Vec<Item> {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        let mut done = Vec::new();
        let parsed = if text.starts_with('{') {
            match serde_json::from_str::<Map<String, Value>>(text) {
                Ok(obj) => parse_json(&obj).map(Some),
                Err(e) => Err(format!("not a JSON object: {e}")),
            }
        } else {
            parse_raw(text).map(|r| r.map(|r| (vec![r], Map::new())))
        };
        let (records, uid_map) = match parsed {
            Ok(Some(parsed)) => parsed,
            // An ausearch separator ends the event before it.
            Ok(None) => {
                done.extend(self.finish());
                return done;
            }
            Err(reason) => {
                done.extend(self.finish());
                done.push((number, number, Err(reason)));
                return done;
            }
        };
        let whole_event = records.len() > 1 || !uid_map.is_empty();
        let serial = records[0].serial;
        let same = self.pending.as_ref().is_some_and(|p| {
            let last = &p.records[p.records.len() - 1];
            last.serial == serial
                && last.time == records[0].time
                && last.node == records[0].node
                && p.records.len() < MAX_RECORDS
        });
        if !same || whole_event {
            done.extend(self.finish());
        }
        let ends = records.iter().any(|r| r.kind == "EOE");
        let p = self.pending.get_or_insert_with(|| Pending {
            first_line: number,
            ..Pending::default()
        });
        p.last_line = number;
        p.records
            .extend(records.into_iter().filter(|r| r.kind != "EOE"));
        p.raw.push(text.to_string());
        p.uid_map.extend(uid_map);
        if ends || whole_event {
            done.extend(self.finish());
        }
        done
    }

    /// The event being collected, if any (at the end of the input).
    pub fn finish(&mut self) -> Option<Item> {
        let p = self.pending.take()?;
        if p.records.is_empty() {
            // Only an EOE record: nothing happened.
            return None;
        }
        let object = event_object(&p);
        Some((
            p.first_line,
            p.last_line,
            serde_json::to_vec(&object).map_err(|e| e.to_string()),
        ))
    }
}

/// The first value of `key` in the records, the main record's first.
fn field<'a>(records: &'a [AuditRecord], key: &str) -> Option<&'a str> {
    records
        .iter()
        .flat_map(|r| r.fields.iter())
        .find(|(k, v)| k == key && !v.is_empty() && v != "?" && v != "(null)")
        .map(|(_, v)| v.as_str())
}

/// An id that stands for "not set" (`auid=4294967295` before login, `ses=-1`).
fn unset(id: &str) -> bool {
    matches!(id, "4294967295" | "-1" | "unset" | "?")
}

/// The record the event is about: SYSCALL if there is one, else the first that is not
/// auxiliary (PATH, CWD, PROCTITLE, ... describe the main one).
fn main_record(records: &[AuditRecord]) -> usize {
    records
        .iter()
        .position(|r| r.kind == "SYSCALL")
        .or_else(|| records.iter().position(|r| !types::auxiliary(&r.kind)))
        .unwrap_or(0)
}

fn event_object(p: &Pending) -> Value {
    let main = main_record(&p.records);
    // The main record's fields first, then the others in order.
    let mut ordered: Vec<AuditRecord> = vec![p.records[main].clone()];
    ordered.extend(
        p.records
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != main)
            .map(|(_, r)| r.clone()),
    );
    let r = &ordered;
    let kind = ordered[0].kind.as_str();
    let name_of = |id: &str, upper: &str| -> Option<String> {
        field(r, upper)
            .filter(|n| !unset(n))
            .map(str::to_string)
            .or_else(|| {
                p.uid_map
                    .get(id)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    };

    // Actor: the login uid, which survives su and sudo; before login (sshd, cron) the
    // account a user-space record names, else the uid.
    let auid = field(r, "auid").filter(|a| !unset(a));
    let uid = field(r, "uid").filter(|u| !unset(u));
    let acct = field(r, "acct").filter(|a| !unset(a));
    let (actor, actor_kind, actor_name) = match (auid, acct, uid) {
        (Some(auid), _, _) => {
            let name = name_of(auid, "AUID").or_else(|| {
                field(r, "audit_user")
                    .filter(|n| !unset(n))
                    .map(str::to_string)
            });
            (name.clone().unwrap_or(auid.to_string()), "auid", name)
        }
        (None, Some(acct), _) if kind.starts_with("USER_") || kind.starts_with("CRED_") => {
            (acct.to_string(), "acct", Some(acct.to_string()))
        }
        (None, _, Some(uid)) => {
            let name = name_of(uid, "UID")
                .or_else(|| field(r, "user").filter(|n| !unset(n)).map(str::to_string));
            (name.clone().unwrap_or(uid.to_string()), "uid", name)
        }
        (None, _, None) => ("unknown".to_string(), "none", None),
    };

    // Action: the record type and what it did (the syscall's name, else `op=`).
    let syscall = field(r, "SYSCALL")
        .map(str::to_string)
        .or_else(|| field(r, "syscall").map(|s| types::syscall_name(field(r, "arch"), s)));
    let detail = match kind {
        "SYSCALL" => syscall.clone(),
        _ => field(r, "op")
            .or_else(|| field(r, "operation"))
            .map(str::to_string)
            .or_else(|| syscall.clone()),
    };
    let action = match &detail {
        Some(d) => format!("linux.{kind}.{d}"),
        None => format!("linux.{kind}"),
    };

    let outcome = outcome(r, kind, &p.raw);
    let severity = types::severity(kind, outcome.as_deref().unwrap_or("success"));

    // Entity: the file the syscall touched (the PATH that is not the parent directory),
    // else the account a user-space record is about, else the executable.
    let path = r
        .iter()
        .filter(|rec| rec.kind == "PATH")
        .filter(|rec| {
            rec.fields
                .iter()
                .all(|(k, v)| k != "nametype" || v != "PARENT")
        })
        .find_map(|rec| field(std::slice::from_ref(rec), "name"))
        .or_else(|| field(r, "path"))
        .or_else(|| field(r, "name"));
    let entity = match (path, acct, field(r, "exe")) {
        (Some(path), _, _) => Some(format!("file:{path}")),
        (None, Some(acct), _) => Some(format!("user:{acct}")),
        (None, None, Some(exe)) => Some(format!("executable:{exe}")),
        _ => None,
    };

    let ip = ["addr", "hostname", "laddr", "saddr"]
        .iter()
        .filter_map(|k| field(r, k))
        .find(|v| v.parse::<std::net::IpAddr>().is_ok());
    // `node=` before `type=` (auditd's name_format), else inside the record (auoms).
    let node = ordered[0]
        .node
        .clone()
        .or_else(|| field(r, "node").map(str::to_string));
    let session = field(r, "ses").filter(|s| !unset(s));
    let mut labels: Vec<String> = Vec::new();
    if let Some(keys) = field(r, "key") {
        // Several rule keys are joined by 0x01 (hex-encoded in the record).
        labels.extend(
            keys.split('\u{1}')
                .filter(|k| !k.is_empty())
                .map(str::to_string),
        );
    }
    let records: Vec<Value> = p
        .records
        .iter()
        .map(|rec| {
            let mut m = Map::new();
            m.insert("type".into(), Value::String(rec.kind.clone()));
            for (k, v) in &rec.fields {
                // A key twice in one record (rare) keeps every value.
                let key = if m.contains_key(k) {
                    (2..)
                        .map(|n| format!("{k}#{n}"))
                        .find(|c| !m.contains_key(c))
                        .unwrap_or_default()
                } else {
                    k.clone()
                };
                m.insert(key, Value::String(v.clone()));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "time": ordered[0].time,
        "serial": ordered[0].serial,
        "node": node,
        "type": kind,
        "actor": actor,
        "actor_kind": actor_kind,
        "actor_name": actor_name,
        "action": action,
        "outcome": outcome,
        "severity": severity,
        "entity": entity,
        "ip": ip,
        "session": session,
        "labels": labels,
        "records": records,
        "raw": p.raw,
    })
}

/// `success=yes/no` (syscalls), `res=success/failed` (user space; `1`/`0` from the kernel);
/// a failed syscall refused with EACCES (-13) or EPERM (-1), an SELinux or AppArmor denial,
/// are `denied`. `None` when the records say nothing.
fn outcome(r: &[AuditRecord], kind: &str, raw: &[String]) -> Option<String> {
    let denied = (kind == "AVC" || kind == "USER_AVC") && raw.iter().any(|l| l.contains("denied"))
        || field(r, "apparmor").is_some_and(|a| a.eq_ignore_ascii_case("DENIED"));
    if denied {
        return Some("denied".into());
    }
    let value = field(r, "success").or_else(|| field(r, "res"))?;
    let outcome = match value.to_ascii_lowercase().as_str() {
        "yes" | "success" | "1" => "success",
        "no" | "failed" | "failure" | "0" => match field(r, "exit") {
            Some("-13" | "-1") => "denied",
            _ => "failure",
        },
        // An unknown word is passed on: the mapping refuses it, naming it.
        _ => return Some(value.to_string()),
    };
    Some(outcome.into())
}
