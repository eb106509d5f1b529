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

fn with_env_key(args: &[&str], key: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(args)
        .env_remove("AUDITLOG_DIR")
        .env("AUDITLOG_MASTER_KEY_FILE", key)
        .output()
        .unwrap()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A log protecting `ip`, a master key and a second (wrong) one, and one `login` per
/// `(actor, ip)` appended with the right key.
struct IpLog {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    key: std::path::PathBuf,
    other: std::path::PathBuf,
}

fn ip_log(logins: &[(&str, &str)]) -> IpLog {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = tmp.path().join("master.key");
    let other = tmp.path().join("other.key");
    ok(&["keygen", "--master", "--out", s(&key)]);
    ok(&["keygen", "--master", "--out", s(&other)]);
    ok(&["init", "--dir", s(&dir), "--protect", "ip"]);
    for (actor, ip) in logins {
        ok(&[
            "append",
            "--dir",
            s(&dir),
            "--actor",
            actor,
            "--action",
            "login",
            "--ip",
            ip,
            "--master-key-file",
            s(&key),
        ]);
    }
    IpLog {
        _tmp: tmp,
        dir,
        key,
        other,
    }
}

#[test]
fn get_query_and_export_print_plaintext_only_with_the_master_key() {
    let IpLog {
        _tmp,
        dir,
        key,
        other,
    } = ip_log(&[
        ("user:1", "192.0.2.44"),
        ("user:2", "198.51.100.9"),
        ("user:1", "192.0.2.45"),
    ]);
    let get = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["get", "--dir", s(&dir), "0", "--compact"];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    assert_eq!(get(&[])["ip"], "[protected]");
    assert_eq!(get(&["--master-key-file", s(&key)])["ip"], "192.0.2.44");
    let env = with_env_key(&["get", "--dir", s(&dir), "0", "--compact"], &key);
    assert!(env.status.success());
    assert!(String::from_utf8_lossy(&env.stdout).contains("192.0.2.44"));
    let wrong = auditlog(&["get", "--dir", s(&dir), "0", "--master-key-file", s(&other)]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong master key"));

    for command in ["query", "export"] {
        let plain = ok(&[command, "--dir", s(&dir), "--format", "jsonl"]);
        assert!(
            !plain.contains("192.0.2.") && !plain.contains("alenc1:"),
            "{plain}"
        );
        assert_eq!(plain.matches("[protected]").count(), 3, "{plain}");
        let csv = ok(&[command, "--dir", s(&dir), "--format", "csv"]);
        assert!(
            !csv.contains("192.0.2.") && csv.contains("[protected]"),
            "{csv}"
        );
        let clear = ok(&[
            command,
            "--dir",
            s(&dir),
            "--format",
            "jsonl",
            "--master-key-file",
            s(&key),
        ]);
        let ips: Vec<_> = json_lines(&clear).iter().map(|r| r["ip"].clone()).collect();
        assert_eq!(
            ips,
            ["192.0.2.44", "198.51.100.9", "192.0.2.45"],
            "{command}"
        );
    }

    // A data-subject access export: the subject's records only, decrypted, with proofs.
    assert_eq!(
        exit_code(&["export", "--dir", s(&dir), "--subject", "user:1"]),
        2,
        "decrypted, so it needs the key"
    );
    let access = ok(&[
        "export",
        "--dir",
        s(&dir),
        "--subject",
        "user:1",
        "--master-key-file",
        s(&key),
    ]);
    let lines = json_lines(&access);
    assert_eq!(lines.len(), 2, "{access}");
    let seqs: Vec<_> = lines.iter().map(|l| l["record"]["seq"].clone()).collect();
    assert_eq!(seqs, [0, 2]);
    assert_eq!(lines[0]["record"]["ip"], "192.0.2.44");
    assert_eq!(lines[1]["record"]["ip"], "192.0.2.45");
    assert!(!access.contains("198.51.100.9"), "another subject's data");
    for line in &lines {
        assert!(line["proof"].is_object(), "{line}");
        // The proof checks with the auditor's own command.
        let proof = dir.with_file_name("proof.json");
        std::fs::write(&proof, line["proof"].to_string()).unwrap();
        ok(&["verify-proof", s(&proof)]);
    }

    ok(&["erase", "--dir", s(&dir), "--subject", "user:1"]);
    let after = ok(&[
        "export",
        "--dir",
        s(&dir),
        "--subject",
        "user:1",
        "--master-key-file",
        s(&key),
    ]);
    assert!(!after.contains("192.0.2.4"), "{after}");
    assert_eq!(after.matches("[erased]").count(), 2, "{after}");
}

#[test]
fn query_by_a_protected_value_finds_it_until_the_subject_is_erased() {
    let IpLog {
        _tmp,
        dir,
        key,
        other,
    } = ip_log(&[
        ("user:1", "192.0.2.44"),
        ("user:2", "192.0.2.44"),
        ("user:1", "192.0.2.45"),
    ]);
    let query = |extra: &[&str]| -> Output {
        let mut args = vec!["query", "--dir", s(&dir), "--format", "jsonl"];
        args.extend_from_slice(extra);
        auditlog(&args)
    };
    let seqs = |extra: &[&str]| -> Vec<u64> {
        let out = query(extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&String::from_utf8(out.stdout).unwrap())
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect()
    };
    let by_ip = ["--protected", "ip=192.0.2.44", "--master-key-file", s(&key)];
    assert_eq!(seqs(&by_ip), [0, 1]);
    let mut one = by_ip.to_vec();
    one.extend(["--protected-subject", "user:2"]);
    assert_eq!(seqs(&one), [1]);
    let mut paged = by_ip.to_vec();
    paged.extend(["--limit", "1"]);
    let first = query(&paged);
    let hint = String::from_utf8_lossy(&first.stderr).to_string();
    let cursor = hint.split("--cursor ").nth(1).unwrap().trim().to_owned();
    paged.extend(["--cursor", &cursor]);
    assert_eq!(
        seqs(&paged),
        [1],
        "a cursor carries over to the next process"
    );
    // Plain text search sees only ciphertext.
    assert_eq!(
        seqs(&["--text", "192.0.2.44", "--master-key-file", s(&key)]),
        Vec::<u64>::new()
    );

    // Bad input exits 2: no key, a wrong key, an unprotected field, no `=`.
    for bad in [
        vec!["--protected", "ip=192.0.2.44"],
        vec![
            "--protected",
            "ip=192.0.2.44",
            "--master-key-file",
            s(&other),
        ],
        vec!["--protected", "user_agent=x", "--master-key-file", s(&key)],
        vec!["--protected", "ip", "--master-key-file", s(&key)],
    ] {
        let out = query(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
    let no_key = query(&["--protected", "ip=192.0.2.44"]);
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("master key"));

    ok(&["erase", "--dir", s(&dir), "--subject", "user:1"]);
    assert_eq!(seqs(&by_ip), [1], "user:1's values are no longer found");
    let mut erased = by_ip.to_vec();
    erased.extend(["--protected-subject", "user:1"]);
    let out = query(&erased);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no live subject key"));
}

#[test]
fn import_with_the_master_key_encrypts_like_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = tmp.path().join("master.key");
    ok(&["keygen", "--master", "--out", s(&key)]);
    ok(&["init", "--dir", s(&dir), "--protect", "actor.email"]);
    let input = tmp.path().join("events.jsonl");
    std::fs::write(
        &input,
        "{\"actor\":{\"id\":\"user:1\",\"email\":\"imported@example.com\"},\"action\":\"login\"}\n\
         {\"actor\":{\"id\":\"user:2\"},\"action\":\"logout\"}\n",
    )
    .unwrap();
    // Without the key the protected line cannot be written: exit 2, nothing stored.
    assert_eq!(exit_code(&["import", "--dir", s(&dir), s(&input)]), 2);
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(ro.iter(..).count(), 0);
    drop(ro);
    ok(&[
        "import",
        "--dir",
        s(&dir),
        s(&input),
        "--master-key-file",
        s(&key),
    ]);
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    let records: Vec<_> = ro.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 2);
    let stored = records[0].event.actor.email.as_deref().unwrap();
    assert!(stored.starts_with("alenc1:"), "{stored}");
    let vault = Vault::open(&dir, Some(MasterKey::read_file(&key).unwrap()))
        .unwrap()
        .unwrap();
    let shown = vault.reveal(&records[0], Reveal::Plaintext).event;
    assert_eq!(shown.actor.email.as_deref(), Some("imported@example.com"));
    let found = ok(&[
        "query",
        "--dir",
        s(&dir),
        "--format",
        "jsonl",
        "--protected",
        "actor.email=imported@example.com",
        "--master-key-file",
        s(&key),
    ]);
    assert_eq!(json_lines(&found).len(), 1, "{found}");
}
