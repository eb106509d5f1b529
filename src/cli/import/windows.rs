//! What Windows event fields mean, for the `windows-security` preset: the account in
//! `DOMAIN\user` or `user@REALM` form, the audit bits of `Keywords`, the numeric `Level`, and
//! the meaning of the common Security event ids (README "Windows event ids" shows the table).
//!
//! These are the functions a mapping path names after `!` (`User!account`, `Keywords!audit`,
//! ...; see `mapping.rs`).

/// `Keywords` bit of an audit success (`0x0020000000000000`).
const AUDIT_SUCCESS: u64 = 0x0020_0000_0000_0000;
/// `Keywords` bit of an audit failure (`0x0010000000000000`).
const AUDIT_FAILURE: u64 = 0x0010_0000_0000_0000;

/// The account name without its domain: `THESHIRE\pgustavo`, `pgustavo@THESHIRE.LOCAL` and
/// `pgustavo` are one account, `pgustavo` (the domain stays in `metadata.original`).
pub fn account(text: &str) -> Option<String> {
    let user = text.rsplit('\\').next().unwrap_or(text);
    let user = user.split_once('@').map_or(user, |(u, _)| u).trim();
    (!user.is_empty() && user != "-").then(|| user.to_string())
}

/// A number written in decimal (signed or not, as NXLog writes 64-bit `Keywords`) or as
/// `0x` hexadecimal.
fn number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t
            .parse::<u64>()
            .ok()
            .or_else(|| t.parse::<i64>().ok().map(|n| n as u64)),
    }
}

/// `success` or `failure` from the audit bits of `Keywords`; nothing for an event that is
/// not an audit (Sysmon, PowerShell).
pub fn audit(text: &str) -> Option<String> {
    let bits = number(text)?;
    if bits & AUDIT_FAILURE != 0 {
        Some("failure".into())
    } else if bits & AUDIT_SUCCESS != 0 {
        Some("success".into())
    } else {
        None
    }
}

/// The numeric Windows `Level` as a severity name: 1 critical, 2 error (high), 3 warning
/// (medium), 0 (log always), 4 (information) and 5 (verbose) info.
pub fn level(text: &str) -> Option<String> {
    let name = match number(text)? {
        1 => "critical",
        2 => "high",
        3 => "medium",
        0 | 4 | 5 => "info",
        _ => return None,
    };
    Some(name.into())
}

/// One row of the event-id table: id, category (a label), outcome when the id implies one,
/// severity when the event matters more than its level says.
type Meaning = (
    u32,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

/// The common Security (and System) event ids.
pub const EVENT_IDS: &[Meaning] = &[
    (1102, "audit-log-cleared", None, Some("critical")),
    (4624, "logon", Some("success"), None),
    (4625, "logon", Some("failure"), Some("medium")),
    (4634, "logoff", None, None),
    (4647, "logoff", None, None),
    (4648, "logon-explicit-credentials", None, Some("low")),
    (4672, "special-privileges", None, Some("low")),
    (4688, "process-created", None, None),
    (4697, "service-installed", None, Some("high")),
    (4698, "scheduled-task-created", None, Some("medium")),
    (4719, "audit-policy-changed", None, Some("high")),
    (4720, "account-created", None, Some("medium")),
    (4722, "account-enabled", None, Some("low")),
    (4723, "password-change", None, Some("low")),
    (4724, "password-reset", None, Some("medium")),
    (4725, "account-disabled", None, Some("medium")),
    (4726, "account-deleted", None, Some("medium")),
    (4728, "group-member-added", None, Some("high")),
    (4732, "group-member-added", None, Some("high")),
    (4738, "account-changed", None, Some("low")),
    (4740, "account-locked-out", Some("failure"), Some("medium")),
    (4756, "group-member-added", None, Some("high")),
    (4767, "account-unlocked", None, Some("low")),
    (4768, "kerberos-tgt", None, None),
    (4769, "kerberos-service-ticket", None, None),
    (
        4771,
        "kerberos-preauth-failed",
        Some("failure"),
        Some("medium"),
    ),
    (4776, "credential-validation", None, None),
    (5140, "share-accessed", None, None),
    (5145, "share-object-checked", None, None),
    (5152, "packet-blocked", Some("denied"), None),
    (5156, "connection-permitted", None, None),
    (5157, "connection-blocked", Some("denied"), None),
    (5158, "port-bind-permitted", None, None),
    (7045, "service-installed", None, Some("high")),
];

fn meaning(text: &str) -> Option<&'static Meaning> {
    let id: u32 = text.trim().parse().ok()?;
    EVENT_IDS.iter().find(|m| m.0 == id)
}

/// The category of a Security event id, as a label.
pub fn category(text: &str) -> Option<String> {
    meaning(text).map(|m| m.1.to_string())
}

/// The outcome a Security event id implies (4625 is a failure), if any.
pub fn event_outcome(text: &str) -> Option<String> {
    meaning(text).and_then(|m| m.2).map(str::to_string)
}

/// The severity a Security event id deserves (1102, the audit log cleared, is critical), if
/// its meaning sets one.
pub fn event_severity(text: &str) -> Option<String> {
    meaning(text).and_then(|m| m.3).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_is_one_name() {
        for a in ["THESHIRE\\pgustavo", "pgustavo@THESHIRE.LOCAL", "pgustavo"] {
            assert_eq!(account(a).as_deref(), Some("pgustavo"), "{a}");
        }
        assert_eq!(account("NT AUTHORITY\\SYSTEM").as_deref(), Some("SYSTEM"));
        assert_eq!(account("MORDORDC$").as_deref(), Some("MORDORDC$"));
        assert_eq!(account("DOMAIN\\"), None);
    }

    #[test]
    fn keywords_audit_bits_signed_unsigned_and_hex() {
        // As NXLog writes them: signed 64-bit decimal.
        assert_eq!(audit("-9214364837600034816").as_deref(), Some("success"));
        assert_eq!(audit("-9218868437227405312").as_deref(), Some("failure"));
        assert_eq!(audit("0x8010000000000000").as_deref(), Some("failure"));
        assert_eq!(audit("9232379236109516800").as_deref(), Some("success"));
        assert_eq!(
            audit("-9223372036854775808"),
            None,
            "Sysmon: classic bit only"
        );
        assert_eq!(audit("36028797018963968"), None);
        assert_eq!(audit("x"), None);
    }

    #[test]
    fn levels_and_event_ids() {
        assert_eq!(level("2").as_deref(), Some("high"));
        assert_eq!(level("4").as_deref(), Some("info"));
        assert_eq!(level("9"), None);
        assert_eq!(event_outcome("4625").as_deref(), Some("failure"));
        assert_eq!(event_outcome("4624").as_deref(), Some("success"));
        assert_eq!(event_outcome("13"), None);
        assert_eq!(category("4720").as_deref(), Some("account-created"));
        assert_eq!(event_severity("1102").as_deref(), Some("critical"));
        let mut ids: Vec<_> = EVENT_IDS.iter().map(|m| m.0).collect();
        ids.dedup();
        assert_eq!(ids.len(), EVENT_IDS.len(), "sorted, no id twice");
    }
}
