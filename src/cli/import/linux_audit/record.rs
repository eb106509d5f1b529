//! One Linux audit record: the raw text of `audit.log` / `ausearch --raw`
//! (`node=h1 type=SYSCALL msg=audit(1700000000.123:456): key=value ...`), a record of
//! go-audit's JSON (`{"type": 1300, "data": "key=value ..."}`), or a raw record carried in
//! a JSON object's `SyslogMessage`/`message`/`MESSAGE` (OMS/auoms, Filebeat, journald).
//!
//! Values are read as auditd writes them: `"quoted"` text is literal; a field that auditd
//! hex-encodes when it holds a space, a quote or a control character (`proctitle`, `name`,
//! `exe`, `cwd`, `comm`, `acct`, `cmd`, `data`, `key`, the `aN` of EXECVE, ...) is decoded
//! when it is unquoted even-length hex (NUL bytes, which separate `proctitle` arguments,
//! become spaces); the `'...'` text of user-space records (`msg='op=PAM:authentication
//! acct="alice" res=failed'`) is read as fields of the same record. After the ENRICHED
//! format's separator (0x1D) come the names auditd resolved (`AUID="alice"`, `SYSCALL=openat`).

use serde_json::{Map, Value};

/// One record: its type name, the event's stamp and its fields (decoded), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub node: Option<String>,
    pub kind: String,
    /// Seconds since the epoch as written (`1700000000.123`).
    pub time: String,
    pub serial: u64,
    pub fields: Vec<(String, String)>,
}

/// Fields auditd may hex-encode (`audit_log_untrustedstring` in the kernel, `audit_encode_value`
/// in user space). Others (`arch=c000003e`, a SYSCALL's `a0=7ffd...`, `saddr`) are numbers in
/// hex, or plain numbers that happen to read as hex (`id=1000`, `dev=eth0`), and stay as
/// written.
const ENCODED: &[&str] = &[
    "proctitle",
    "name",
    "exe",
    "cwd",
    "comm",
    "acct",
    "cmd",
    "data",
    "key",
    "path",
    "old-chardev",
    "new-chardev",
    "root_dir",
    "vm",
];

fn may_be_encoded(record_kind: &str, key: &str) -> bool {
    ENCODED.contains(&key)
        || (record_kind == "EXECVE"
            && key.starts_with('a')
            && key[1..]
                .split('[')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

/// `text` decoded from hex if it is even-length hex, NUL bytes as spaces (invalid UTF-8 is
/// replaced, the raw text stays in the event's metadata).
fn unhex(text: &str) -> Option<String> {
    if text.is_empty()
        || !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

/// Splits `key=value ...` text into fields. A word without `=` is passed over; `'...'`
/// holds fields of its own, which are read in its place.
pub fn fields_of(kind: &str, text: &str, out: &mut Vec<(String, String)>) {
    let is_space = |c: char| c.is_whitespace() || c == '\u{1d}';
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_space);
        if rest.is_empty() {
            return;
        }
        let word_end = rest.find(is_space).unwrap_or(rest.len());
        let Some(eq) = rest[..word_end].find('=') else {
            rest = &rest[word_end..];
            continue;
        };
        let key = &rest[..eq];
        let after = &rest[eq + 1..];
        let (value, quoted, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (&after[1..=end], Some(q), &after[end + 2..]),
                None => (&after[1..], Some(q), ""),
            },
            _ => {
                let end = after.find(is_space).unwrap_or(after.len());
                (&after[..end], None, &after[end..])
            }
        };
        rest = next;
        if key.is_empty() {
            continue;
        }
        match quoted {
            Some('\'') => fields_of(kind, value, out),
            Some(_) => out.push((key.to_string(), value.to_string())),
            None => {
                let decoded = may_be_encoded(kind, key).then(|| unhex(value)).flatten();
                out.push((
                    key.to_string(),
                    decoded.unwrap_or_else(|| value.to_string()),
                ));
            }
        }
    }
}

/// The record types of go-audit's numeric `type` (those of `linux/audit.h` and `libaudit.h`
/// that are common); others are written `UNKNOWN[n]` as `ausearch` does.
const TYPE_NUMBERS: &[(u32, &str)] = &[
    (1100, "USER_AUTH"),
    (1101, "USER_ACCT"),
    (1102, "USER_MGMT"),
    (1103, "CRED_ACQ"),
    (1104, "CRED_DISP"),
    (1105, "USER_START"),
    (1106, "USER_END"),
    (1107, "USER_AVC"),
    (1108, "USER_CHAUTHTOK"),
    (1109, "USER_ERR"),
    (1110, "CRED_REFR"),
    (1111, "USYS_CONFIG"),
    (1112, "USER_LOGIN"),
    (1113, "USER_LOGOUT"),
    (1114, "ADD_USER"),
    (1115, "DEL_USER"),
    (1116, "ADD_GROUP"),
    (1117, "DEL_GROUP"),
    (1119, "CHGRP_ID"),
    (1123, "USER_CMD"),
    (1124, "USER_TTY"),
    (1125, "CHUSER_ID"),
    (1126, "GRP_AUTH"),
    (1127, "SYSTEM_BOOT"),
    (1128, "SYSTEM_SHUTDOWN"),
    (1130, "SERVICE_START"),
    (1131, "SERVICE_STOP"),
    (1132, "GRP_MGMT"),
    (1200, "DAEMON_START"),
    (1201, "DAEMON_END"),
    (1202, "DAEMON_ABORT"),
    (1203, "DAEMON_CONFIG"),
    (1300, "SYSCALL"),
    (1302, "PATH"),
    (1305, "CONFIG_CHANGE"),
    (1306, "SOCKADDR"),
    (1307, "CWD"),
    (1309, "EXECVE"),
    (1320, "EOE"),
    (1321, "BPRM_FCAPS"),
    (1322, "CAPSET"),
    (1323, "MMAP"),
    (1325, "NETFILTER_CFG"),
    (1326, "SECCOMP"),
    (1327, "PROCTITLE"),
    (1330, "KERN_MODULE"),
    (1400, "AVC"),
    (1401, "SELINUX_ERR"),
    (1403, "MAC_POLICY_LOAD"),
    (1404, "MAC_STATUS"),
    (1405, "MAC_CONFIG_CHANGE"),
    (1700, "ANOM_PROMISCUOUS"),
    (1701, "ANOM_ABEND"),
    (1702, "ANOM_LINK"),
    (1703, "ANOM_CREAT"),
    (2100, "ANOM_LOGIN_FAILURES"),
    (2101, "ANOM_LOGIN_TIME"),
    (2102, "ANOM_LOGIN_SESSIONS"),
    (2103, "ANOM_LOGIN_ACCT"),
    (2104, "ANOM_LOGIN_LOCATION"),
    (2112, "ANOM_EXEC"),
    (2114, "ANOM_ADD_ACCT"),
    (2115, "ANOM_DEL_ACCT"),
    (2116, "ANOM_MOD_ACCT"),
    (2117, "ANOM_ROOT_TRANS"),
    (2300, "USER_ROLE_CHANGE"),
    (2301, "ROLE_ASSIGN"),
    (2302, "ROLE_REMOVE"),
];

pub fn type_name(number: u64) -> String {
    TYPE_NUMBERS
        .iter()
        .find(|(n, _)| u64::from(*n) == number)
        .map_or_else(
            || format!("UNKNOWN[{number}]"),
            |(_, name)| name.to_string(),
        )
}

/// Reads the raw text of one record; `Ok(None)` for the lines `ausearch` puts between events
/// (`----`, `time->...`).
pub fn parse_raw(line: &str) -> Result<Option<AuditRecord>, String> {
    let line = line.trim();
    if line.starts_with("----") || line.starts_with("time->") {
        return Ok(None);
    }
    let mut rest = line;
    let mut node = None;
    if let Some(after) = rest.strip_prefix("node=") {
        let end = after.find(' ').unwrap_or(after.len());
        node = Some(after[..end].to_string());
        rest = after[end..].trim_start();
    }
    let Some(after) = rest.strip_prefix("type=") else {
        return Err(
            "not a Linux audit record (expected `type=... msg=audit(TIME:SERIAL): ...`)".into(),
        );
    };
    let end = after.find(' ').unwrap_or(after.len());
    let kind = after[..end].to_string();
    rest = after[end..].trim_start();
    rest = rest.strip_prefix("msg=").unwrap_or(rest);
    let Some(stamp) = rest.strip_prefix("audit(") else {
        return Err(format!(
            "{kind} record without its `msg=audit(TIME:SERIAL):` stamp"
        ));
    };
    // `audit(TIME:SERIAL):`, or `audit(DATE TIME:SERIAL) :` in interpreted output.
    let (close, body) = stamp
        .find(')')
        .and_then(|close| {
            let after = stamp[close + 1..].trim_start();
            after.strip_prefix(':').map(|body| (close, body))
        })
        .ok_or_else(|| format!("{kind} record: the `audit(` stamp is not closed by `):`"))?;
    let (time, serial) = stamp[..close].rsplit_once(':').ok_or_else(|| {
        format!(
            "{kind} record: the stamp {:?} has no serial",
            &stamp[..close]
        )
    })?;
    let serial = serial
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{kind} record: serial {serial:?} is not a number"))?;
    let time = time.trim();
    if time.parse::<f64>().is_err() {
        return Err(format!(
            "{kind} record: time {time:?} is not epoch seconds (interpreted output, \
             `ausearch -i`, cannot be imported: use `ausearch --raw` or the log file itself)"
        ));
    }
    let mut fields = Vec::new();
    fields_of(&kind, body, &mut fields);
    Ok(Some(AuditRecord {
        node,
        kind,
        time: time.to_string(),
        serial,
        fields,
    }))
}

/// The keys under which JSON shippers carry a raw record's text.
const MESSAGE_KEYS: &[&str] = &["SyslogMessage", "message", "MESSAGE"];

/// The records of one JSON line: a go-audit event (`sequence`, `timestamp`, `messages`) is a
/// whole event; an object carrying a raw record in one of [`MESSAGE_KEYS`] is one record.
/// Also returns go-audit's `uid_map` (uid → name), empty for other shapes.
pub fn parse_json(
    obj: &Map<String, Value>,
) -> Result<(Vec<AuditRecord>, Map<String, Value>), String> {
    if let Some(messages) = obj.get("messages").and_then(Value::as_array) {
        let serial = match obj.get("sequence") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or("go-audit event without a numeric `sequence`")?;
        let time = match obj.get("timestamp") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("go-audit event without its `timestamp`".into()),
        };
        let node = obj
            .get("hostname")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut records = Vec::new();
        for m in messages {
            let kind = match m.get("type") {
                Some(Value::Number(n)) => type_name(n.as_u64().unwrap_or(0)),
                Some(Value::String(s)) => s.clone(),
                _ => return Err("a go-audit message without its `type`".into()),
            };
            let data = m.get("data").and_then(Value::as_str).unwrap_or("");
            let mut fields = Vec::new();
            fields_of(&kind, data, &mut fields);
            records.push(AuditRecord {
                node: node.clone(),
                kind,
                time: time.clone(),
                serial,
                fields,
            });
        }
        if records.is_empty() {
            return Err("a go-audit event with no messages".into());
        }
        let uid_map = match obj.get("uid_map") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        return Ok((records, uid_map));
    }
    for key in MESSAGE_KEYS {
        if let Some(text) = obj.get(*key).and_then(Value::as_str) {
            return match parse_raw(text)? {
                Some(mut record) => {
                    // The shipper names the machine when the record does not.
                    record.node = record.node.or_else(|| {
                        ["HostName", "hostname", "Computer", "host"]
                            .iter()
                            .find_map(|k| obj.get(*k).and_then(Value::as_str))
                            .map(str::to_string)
                    });
                    Ok((vec![record], Map::new()))
                }
                None => Err(format!("`{key}` holds no audit record")),
            };
        }
    }
    Err(
        "a JSON object that is neither a go-audit event (`messages`) nor a raw audit record \
         in `SyslogMessage`, `message` or `MESSAGE`"
            .into(),
    )
}
