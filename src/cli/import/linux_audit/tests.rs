//! Synthetic Linux audit records: multi-record events, hex-encoded fields, failures and
//! denials, user-space records, the enriched format, go-audit's JSON and OMS's syslog JSON.

use super::record::{fields_of, parse_raw};
use super::*;
use crate::cli::import::presets::Preset;
use auditlog::{Entity, Event, Outcome, Severity, Timestamp};

/// The event objects of `lines`, in order.
fn objects(lines: &[&str]) -> Vec<Result<Value, String>> {
    let mut g = Grouper::default();
    let mut items = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        items.extend(g.push(i as u64 + 1, line.as_bytes()));
    }
    items.extend(g.finish());
    items
        .into_iter()
        .map(|(_, _, r)| r.map(|bytes| serde_json::from_slice(&bytes).expect("JSON")))
        .collect()
}

fn events(lines: &[&str]) -> Vec<Event> {
    objects(lines)
        .into_iter()
        .map(|o| {
            let Value::Object(obj) = o.expect("a good event") else {
                panic!("an object")
            };
            Preset::LinuxAudit.mapping().apply(obj).expect("maps")
        })
        .collect()
}

const OPEN_SHADOW: &[&str] = &[
    "type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd2b3c a2=0 a3=0 items=1 ppid=1200 pid=1234 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" subj=unconfined key=\"shadow\"",
    "type=CWD msg=audit(1700000000.123:456): cwd=\"/home/alice\"",
    "type=PATH msg=audit(1700000000.123:456): item=0 name=\"/etc/shadow\" inode=1234 dev=08:01 mode=0100640 ouid=0 ogid=42 rdev=00:00 nametype=NORMAL cap_fp=0",
    "type=PROCTITLE msg=audit(1700000000.123:456): proctitle=636174002F6574632F736861646F77",
];

#[test]
fn records_of_one_serial_are_one_event() {
    let mut lines = OPEN_SHADOW.to_vec();
    lines.push("type=EOE msg=audit(1700000000.123:456): ");
    lines.push("type=SYSCALL msg=audit(1700000001.000:457): arch=c000003e syscall=59 success=yes exit=0 auid=1000 uid=0 ses=3 comm=\"sudo\" exe=\"/usr/bin/sudo\" key=(null)");
    let got = events(&lines);
    assert_eq!(got.len(), 2, "{got:?}");
    let e = &got[0];
    assert_eq!(e.actor.id, "1000");
    assert_eq!(e.actor.kind.as_deref(), Some("auid"));
    assert_eq!(e.action, "linux.SYSCALL.openat");
    assert_eq!(e.outcome, Outcome::Denied, "EACCES");
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(e.entity, Some(Entity::new("file", "/etc/shadow")));
    assert_eq!(e.session_id.as_deref(), Some("3"));
    assert_eq!(e.labels, ["shadow"]);
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_nanos(1_700_000_000_123_000_000))
    );
    let meta = e
        .metadata
        .as_ref()
        .expect("metadata")
        .to_value()
        .expect("json");
    let records = meta["original"]["records"].as_array().expect("records");
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[2]["inode"], "1234",
        "fields no rule places are kept"
    );
    assert_eq!(records[3]["proctitle"], "cat /etc/shadow", "hex decoded");
    assert_eq!(meta["original"]["raw"][3], OPEN_SHADOW[3], "raw text kept");

    let sudo = &got[1];
    assert_eq!(sudo.action, "linux.SYSCALL.execve");
    assert_eq!(sudo.outcome, Outcome::Success);
    assert_eq!(
        sudo.actor.id, "1000",
        "the login uid, not the effective root"
    );
    assert_eq!(
        sudo.entity,
        Some(Entity::new("executable", "/usr/bin/sudo"))
    );
    assert!(sudo.labels.is_empty(), "key=(null) is no key");
}

#[test]
fn a_new_serial_ends_the_event_without_eoe() {
    let lines = [
        OPEN_SHADOW[0],
        OPEN_SHADOW[2],
        "type=USER_AUTH msg=audit(1700000002.500:460): pid=999 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=192.0.2.7 addr=192.0.2.7 terminal=ssh res=failed'",
        "type=USER_LOGIN msg=audit(1700000003.000:461): pid=999 uid=0 auid=1000 ses=5 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=198.51.100.4 terminal=/dev/pts/1 res=success'",
    ];
    let got = events(&lines);
    assert_eq!(got.len(), 3);
    let auth = &got[1];
    assert_eq!(auth.actor.id, "alice", "before login: the account named");
    assert_eq!(auth.action, "linux.USER_AUTH.PAM:authentication");
    assert_eq!(auth.outcome, Outcome::Failure);
    assert_eq!(auth.severity, Severity::Medium);
    assert_eq!(auth.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(auth.entity, Some(Entity::new("user", "alice")));
    assert_eq!(auth.session_id, None, "ses=4294967295 is no session");
    let login = &got[2];
    assert_eq!(login.outcome, Outcome::Success);
    assert_eq!(login.severity, Severity::Info);
    assert_eq!(login.ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(
        login.entity,
        Some(Entity::new("executable", "/usr/sbin/sshd"))
    );
}

#[test]
fn unquoted_hex_is_decoded_where_auditd_encodes() {
    let mut f = Vec::new();
    fields_of(
        "PATH",
        "name=2F746D702F6D792066696C65 inode=12 dev=fd:00 arch=c000003e",
        &mut f,
    );
    assert_eq!(f[0], ("name".into(), "/tmp/my file".into()));
    assert_eq!(f[2], ("dev".into(), "fd:00".into()), "not hex: as written");
    assert_eq!(f[3], ("arch".into(), "c000003e".into()), "a number");
    let mut f = Vec::new();
    fields_of("EXECVE", "argc=2 a0=\"ls\" a1=2D6C2061 a12=6162", &mut f);
    assert_eq!(f[2], ("a1".into(), "-l a".into()));
    assert_eq!(f[3], ("a12".into(), "ab".into()));
    let mut f = Vec::new();
    fields_of("SYSCALL", "a1=6162 comm=\"6162\"", &mut f);
    assert_eq!(f[0].1, "6162", "a syscall's argument is a number");
    assert_eq!(f[1].1, "6162", "quoted text is literal");
    let mut f = Vec::new();
    fields_of("USER_LOGIN", "id=1000 dev=beef", &mut f);
    assert_eq!(
        (f[0].1.as_str(), f[1].1.as_str()),
        ("1000", "beef"),
        "numbers, not text"
    );
}

#[test]
fn several_keys_are_several_labels() {
    // key="k1" and key="k2", joined by 0x01 and so hex-encoded.
    let line =
        "type=SYSCALL msg=audit(1700000000.000:1): syscall=2 success=yes auid=0 key=6B31016B32";
    assert_eq!(events(&[line])[0].labels, ["k1", "k2"]);
}

#[test]
fn enriched_names_node_and_anomalies() {
    let lines = [
        "node=web1 type=SYSCALL msg=audit(1700000000.000:7): arch=c000003e syscall=2 success=yes exit=3 auid=1000 uid=0 ses=2 comm=\"vim\" exe=\"/usr/bin/vim\" key=(null)\u{1d}ARCH=x86_64 SYSCALL=open AUID=\"alice\" UID=\"root\"",
        "node=web1 type=ANOM_PROMISCUOUS msg=audit(1700000001.000:8): dev=eth0 prom=256 old_prom=0 auid=1000 uid=0 gid=0 ses=2",
        "type=CONFIG_CHANGE msg=audit(1700000002.000:9): auid=1000 ses=2 op=remove_rule key=\"shadow\" list=4 res=1",
    ];
    let got = events(&lines);
    assert_eq!(got[0].actor.id, "alice");
    assert_eq!(got[0].action, "linux.SYSCALL.open");
    assert_eq!(got[0].source.as_deref(), Some("web1"));
    assert_eq!(got[1].action, "linux.ANOM_PROMISCUOUS");
    assert_eq!(got[1].severity, Severity::High);
    assert_eq!(got[2].action, "linux.CONFIG_CHANGE.remove_rule");
    assert_eq!(got[2].outcome, Outcome::Success, "res=1");
    assert_eq!(got[2].severity, Severity::High);
}

#[test]
fn selinux_and_apparmor_denials() {
    let lines = [
        "type=AVC msg=audit(1700000000.000:20): avc:  denied  { read } for  pid=5 comm=\"httpd\" name=\"secret\" scontext=a tcontext=b tclass=file permissive=0",
        "type=AVC msg=audit(1700000001.000:21): apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\" name=\"/etc/ssl/x\" pid=9 comm=\"cupsd\"",
    ];
    let got = events(&lines);
    assert_eq!(got[0].outcome, Outcome::Denied);
    assert_eq!(got[0].severity, Severity::Medium);
    assert_eq!(got[1].outcome, Outcome::Denied);
    assert_eq!(got[1].action, "linux.AVC.open");
    assert_eq!(got[1].entity, Some(Entity::new("file", "/etc/ssl/x")));
}

#[test]
fn go_audit_json_is_one_event_with_uid_names() {
    let line = r#"{"sequence":1226433,"timestamp":"1459447820.317","messages":[{"type":1300,"data":"arch=c000003e syscall=59 success=yes exit=0 a0=1 items=2 ppid=1 pid=2 auid=1000 uid=1000 ses=4 comm=\"ls\" exe=\"/bin/ls\" key=(null)"},{"type":1309,"data":"argc=2 a0=\"ls\" a1=\"-la\""},{"type":1302,"data":"item=0 name=\"/bin/ls\" nametype=NORMAL"},{"type":1327,"data":"proctitle=6C73002D6C61"}],"uid_map":{"1000":"zach"}}"#;
    let got = events(&[line]);
    assert_eq!(got.len(), 1);
    let e = &got[0];
    assert_eq!(e.actor.id, "zach");
    assert_eq!(e.actor.name.as_deref(), Some("zach"));
    assert_eq!(e.action, "linux.SYSCALL.execve");
    assert_eq!(e.entity, Some(Entity::new("file", "/bin/ls")));
    let meta = e
        .metadata
        .as_ref()
        .expect("metadata")
        .to_value()
        .expect("json");
    assert_eq!(meta["original"]["records"][1]["type"], "EXECVE");
    assert_eq!(meta["original"]["records"][3]["proctitle"], "ls -la");
    assert_eq!(meta["original"]["serial"], 1226433);
}

#[test]
fn oms_syslog_json_carries_a_raw_record() {
    let line = r#"{"HostName":"UBUNTU5","SyslogMessage":"type=AUOMS_EXECVE audit(1652292621.986:84138): syscall=execve success=no exit=-2 audit_user=unset auid=4294967295 user=tomcat uid=1001 ses=\"-1\" exe=\"/usr/bin/java\" name=\"/usr/local/sbin/bash\""}"#;
    let e = &events(&[line])[0];
    assert_eq!(e.actor.id, "tomcat", "auoms names the uid");
    assert_eq!(e.actor.kind.as_deref(), Some("uid"));
    assert_eq!(e.action, "linux.AUOMS_EXECVE.execve");
    assert_eq!(e.outcome, Outcome::Failure, "ENOENT is no denial");
    assert_eq!(e.entity, Some(Entity::new("file", "/usr/local/sbin/bash")));
}

#[test]
fn bad_lines_are_bad_and_separators_end_events() {
    let got = objects(&[
        "----",
        "time->Tue Nov 14 22:13:20 2023",
        OPEN_SHADOW[0],
        "----",
        OPEN_SHADOW[0],
        "hello world",
        "type=SYSCALL msg=audit(11/14/2023 22:13:20.123:456) : arch=x86_64",
        "type=SYSCALL msg=audit(1700000000.000:x): a=1",
        "{\"no\": \"audit\"}",
    ]);
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got[0].is_ok() && got[1].is_ok(),
        "one event each side of ----"
    );
    let errors: Vec<String> = got[2..].iter().map(|r| r.clone().unwrap_err()).collect();
    assert!(errors[0].contains("not a Linux audit record"), "{errors:?}");
    assert!(errors[1].contains("ausearch --raw"), "{errors:?}");
    assert!(errors[2].contains("serial"), "{errors:?}");
    assert!(errors[3].contains("go-audit"), "{errors:?}");
}

#[test]
fn raw_records_parse_with_and_without_msg() {
    let r = parse_raw("type=X audit(1.5:9): a=1")
        .expect("ok")
        .expect("a record");
    assert_eq!(
        (r.kind.as_str(), r.time.as_str(), r.serial),
        ("X", "1.5", 9)
    );
    assert_eq!(parse_raw("----"), Ok(None));
}

#[test]
fn severity_table() {
    use super::types::severity;
    assert_eq!(severity("ANOM_ABEND", "success"), "high");
    assert_eq!(severity("USER_AUTH", "failure"), "medium");
    assert_eq!(severity("USER_AUTH", "success"), "info");
    assert_eq!(severity("SYSCALL", "denied"), "low");
    assert_eq!(severity("CRED_ACQ", "success"), "info");
    assert_eq!(severity("CRED_ACQ", "failure"), "low");
}
