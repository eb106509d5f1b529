//! The privacy commands end to end: `keygen --master`, `init --protect`, `append` with the
//! master key, `erase --subject`; bad input (a wrong or missing key, a bad policy, an unknown
//! subject) exits 2 and changes nothing.

use auditlog::privacy::{MasterKey, Reveal, Vault};
use std::path::Path;
use std::process::{Command, Output};

fn auditlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .env_remove("AUDITLOG_MASTER_KEY_FILE")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = auditlog(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn exit_code(args: &[&str]) -> i32 {
    auditlog(args).status.code().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_append_erase_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = tmp.path().join("master.key");
    let other = tmp.path().join("other.key");
    ok(&["keygen", "--master", "--out", s(&key)]);
    ok(&["keygen", "--master", "--out", s(&other)]);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    assert_eq!(
        exit_code(&["keygen", "--master", "--out", s(&key)]),
        2,
        "never overwrites"
    );

    assert_eq!(
        exit_code(&["init", "--dir", s(&dir), "--protect", "actor.id"]),
        2
    );
    assert!(!dir.exists());
    ok(&["init", "--dir", s(&dir), "--protect", "actor.email,ip"]);
    assert_eq!(exit_code(&["init", "--dir", s(&dir), "--protect", "ip"]), 2);

    let append = |key: Option<&Path>, actor: &str| {
        let mut args = vec![
            "append",
            "--dir",
            s(&dir),
            "--actor",
            actor,
            "--action",
            "login",
        ];
        args.extend(["--ip", "192.0.2.44"]);
        if let Some(key) = key {
            args.extend(["--master-key-file", s(key)]);
        }
        auditlog(&args)
    };
    assert!(append(Some(&key), "user:1").status.success());
    assert!(append(Some(&key), "user:2").status.success());
    assert_eq!(append(None, "user:1").status.code(), Some(2), "no key");
    let wrong = append(Some(&other), "user:1");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong master key"));

    let erased = ok(&["erase", "--dir", s(&dir), "--subject", "user:1"]);
    let report: serde_json::Value = serde_json::from_str(&erased).unwrap();
    assert_eq!(report["erasure_event_seq"], 2);
    assert_eq!(
        exit_code(&["erase", "--dir", s(&dir), "--subject", "user:1"]),
        2
    );
    ok(&["verify", s(&dir)]);

    // Rotation: the old key stops working, the new one reads every live key.
    ok(&[
        "rotate-master-key",
        "--dir",
        s(&dir),
        "--master-key-file",
        s(&key),
        "--new-master-key-file",
        s(&other),
    ]);
    assert_eq!(append(Some(&key), "user:2").status.code(), Some(2));
    assert!(append(Some(&other), "user:3").status.success());
    let master = MasterKey::read_file(&other).unwrap();
    let vault = Vault::open(&dir, Some(master)).unwrap().unwrap();
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    let records: Vec<_> = ro.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 4);
    let ips: Vec<_> = records
        .iter()
        .map(|r| vault.reveal(r, Reveal::Plaintext).event.ip)
        .collect();
    assert_eq!(ips[0].as_deref(), Some("[erased]"));
    assert_eq!(ips[1].as_deref(), Some("192.0.2.44"));
    assert_eq!(ips[3].as_deref(), Some("192.0.2.44"));
}
