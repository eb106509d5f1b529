//! Privacy (docs/PRIVACY.md): protected values are encrypted before they are hashed, read back
//! with the master key, masked or `[protected]` without it, and `[erased]` once their subject
//! is erased — while every record, root and earlier proof stays what it was, verify passes and
//! no plaintext byte (nor the erased key's wrapped bytes) is left in any file of the log,
//! hot or cold.

use auditlog::lifecycle::{ArchivePolicy, CompactOptions, LocalDirDestination};
use auditlog::privacy::{MasterKey, PrivacyError, PrivacyPolicy, Reveal, Vault};
use auditlog::{AuditLog, AuditLogBuilder, Durability, Event, JsonText, OpenError, Record};
use std::path::Path;

mod common;
use common::{all_bytes, assert_absent, assert_present};

const ALICE_EMAIL: &str = "alice.liddell@example.com";
const ALICE_NAME: &str = "Alice Pleasance Liddell";
const ALICE_IP: &str = "198.51.100.23";
const ALICE_STREET: &str = "Wonderland Lane 29";

fn master() -> MasterKey {
    MasterKey::from_bytes([0x5a; 32])
}

fn policy() -> PrivacyPolicy {
    PrivacyPolicy::parse_spec("actor.email,actor.name,ip,after.address.street", None).unwrap()
}

fn builder(dir: &Path) -> AuditLogBuilder {
    AuditLog::builder(dir)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::Immediate)
        .privacy_policy(policy())
        .master_key(master())
}

fn alice(i: u64) -> Event {
    let mut e = Event::new("user:alice", "profile.update")
        .actor_email(ALICE_EMAIL)
        .actor_name(ALICE_NAME)
        .entity("user", "alice");
    e.ip = Some(ALICE_IP.into());
    e.after = Some(
        JsonText::try_from(format!(
            r#"{{"n":{i},"address":{{"street":"{ALICE_STREET}","city":"Oxford"}}}}"#
        ))
        .unwrap(),
    );
    e
}

fn bob(i: u64) -> Event {
    let mut e = Event::new("user:bob", "login").actor_email("bob@example.org");
    e.ip = Some(format!("203.0.113.{}", i % 200));
    e
}

fn fill(log: &AuditLog, n: u64) {
    for i in 0..n {
        let e = if i % 2 == 0 { alice(i) } else { bob(i) };
        log.append(&e).unwrap().wait().unwrap();
    }
}

fn records(log: &auditlog::LogReader) -> Vec<Record> {
    log.iter(..).collect::<Result<_, _>>().unwrap()
}

#[test]
fn protected_values_round_trip_and_are_never_stored_in_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = builder(&dir).open().unwrap();
    fill(&log, 40);
    let vault = log.vault().unwrap();
    let stored = records(&log);
    // The tree commits to the ciphertext: the stored fields are the wire form.
    let first = &stored[0].event;
    assert!(first.actor.email.as_deref().unwrap().starts_with("alenc1:"));
    assert!(first.ip.as_deref().unwrap().starts_with("alenc1:"));
    assert!(
        !first
            .after
            .as_ref()
            .unwrap()
            .as_str()
            .contains(ALICE_STREET)
    );
    assert_eq!(
        first.actor.id, "user:alice",
        "the subject id is a pseudonym, kept"
    );
    // Two values of the same plaintext never encrypt alike (random nonces).
    assert_ne!(stored[0].event.actor.email, stored[2].event.actor.email);

    let plain = vault.reveal(&stored[0], Reveal::Plaintext);
    assert_eq!(plain.event, alice(0));
    let masked = vault.reveal(&stored[0], Reveal::Masked);
    assert_eq!(
        masked.event.actor.email.as_deref(),
        Some("a***@example.com")
    );
    assert_eq!(masked.event.ip.as_deref(), Some("198.51.100.0/24"));
    assert_eq!(masked.event.actor.name.as_deref(), Some("A***"));
    assert_eq!(
        masked.event.after.as_ref().unwrap().as_str(),
        r#"{"n":0,"address":{"street":"W***","city":"Oxford"}}"#
    );
    let hidden = vault.reveal(&stored[1], Reveal::Protected);
    assert_eq!(hidden.event.actor.email.as_deref(), Some("[protected]"));
    assert_eq!(vault.reveal(&stored[1], Reveal::Plaintext).event, bob(1));

    log.seal().unwrap();
    drop(log);
    assert_present(&dir, b"Oxford");
    for needle in [
        ALICE_EMAIL,
        ALICE_NAME,
        ALICE_IP,
        ALICE_STREET,
        "bob@example.org",
    ] {
        assert_absent(&dir, needle.as_bytes(), needle);
    }
    // Reopened with the key, a separate vault reads the same plaintext.
    let vault = Vault::open(&dir, Some(master())).unwrap().unwrap();
    let ro = auditlog::ReadOnlyLog::open(&dir).unwrap();
    assert_eq!(
        vault.reveal(&records(&ro)[2], Reveal::Plaintext).event,
        alice(2)
    );
}

#[test]
fn a_plaintext_that_looks_like_the_wire_form_is_encrypted_like_any_other() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = builder(&dir).open().unwrap();
    let stored = records(&log).len();
    let fake = "alenc1:AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let e = Event::new("user:mallory", "x")
        .actor_email(fake)
        .actor_kind(fake);
    log.append(&e).unwrap().wait().unwrap();
    let record = &records(&log)[stored];
    assert_ne!(record.event.actor.email.as_deref(), Some(fake));
    let back = log.vault().unwrap().reveal(record, Reveal::Plaintext);
    assert_eq!(back.event.actor.email.as_deref(), Some(fake));
    // An unprotected field is never decoded, whatever it holds.
    assert_eq!(back.event.actor.kind.as_deref(), Some(fake));
}

#[test]
fn erasure_keeps_every_root_and_proof_and_leaves_no_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = builder(&dir).open().unwrap();
    fill(&log, 300);
    log.seal().unwrap();
    let before = records(&log);
    let head = log.tree_head().unwrap();
    let proofs: Vec<_> = [0, 1, 150, 299]
        .iter()
        .map(|&seq| auditlog::proof::prove_inclusion(&dir, seq, Some(head.size)).unwrap())
        .collect();
    // Alice's wrapped key, as the store held it before the erasure.
    let store = std::fs::read(dir.join("privacy.keys")).unwrap();
    let at = store.windows(10).position(|w| w == b"user:alice").unwrap();
    let wrapped = store[at + 10..at + 10 + 72].to_vec();

    let report = log.erase("user:alice").unwrap();
    assert_eq!(report.key_ids.len(), 1);
    assert_eq!(report.event_seq, 300);
    assert!(matches!(
        log.erase("user:alice"),
        Err(auditlog::Error::Privacy(PrivacyError::UnknownSubject(_)))
    ));

    // Byte for byte the same records, the same root at the old size, the same proofs.
    let after = records(&log);
    assert_eq!(&after[..300], &before[..]);
    let erasure = &after[300].event;
    assert_eq!(erasure.action, "privacy.erasure");
    assert_eq!(erasure.entity.as_ref().unwrap().id, "user:alice");
    for (&seq, proof) in [0, 1, 150, 299].iter().zip(&proofs) {
        let again = auditlog::proof::prove_inclusion(&dir, seq, Some(head.size)).unwrap();
        assert_eq!(&again, proof, "proof of {seq}");
    }
    let report = auditlog::verify(&dir, &auditlog::VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report:?}");

    let vault = log.vault().unwrap();
    let gone = vault.reveal(&after[0], Reveal::Plaintext).event;
    assert_eq!(gone.actor.email.as_deref(), Some("[erased]"));
    assert_eq!(gone.actor.name.as_deref(), Some("[erased]"));
    assert_eq!(gone.ip.as_deref(), Some("[erased]"));
    assert_eq!(
        gone.after.as_ref().unwrap().as_str(),
        r#"{"n":0,"address":{"street":"[erased]","city":"Oxford"}}"#
    );
    assert_eq!(vault.reveal(&after[1], Reveal::Plaintext).event, bob(1));
    // Queries on unprotected fields still work.
    let page = log
        .query(&auditlog::query::Query::new().actor("user:alice"))
        .unwrap();
    assert_eq!(page.records.len(), 150);

    // A subject erased can act again: it gets a new key.
    log.append(&alice(1000)).unwrap().wait().unwrap();
    let new = records(&log).pop().unwrap();
    assert_eq!(vault.reveal(&new, Reveal::Plaintext).event, alice(1000));
    log.seal().unwrap();
    log.compact(&CompactOptions::default()).unwrap();
    drop(log);
    // The scan covers cold segments, index files and the key store.
    for kind in ["zseg", "idx", "keys"] {
        assert!(
            all_bytes(&dir)
                .iter()
                .any(|(p, _)| p.extension().is_some_and(|x| x == kind)),
            "no .{kind} file scanned"
        );
    }
    assert_present(&dir, b"Oxford");
    assert_absent(&dir, &wrapped, "the erased key (wrapped)");
    for needle in [ALICE_EMAIL, ALICE_NAME, ALICE_IP, ALICE_STREET] {
        assert_absent(&dir, needle.as_bytes(), needle);
    }
    // After a reopen the erasure holds: old values erased, the new one readable.
    let log = builder(&dir).open().unwrap();
    let all = records(&log);
    let vault = log.vault().unwrap();
    assert_eq!(
        vault
            .reveal(&all[2], Reveal::Plaintext)
            .event
            .actor
            .email
            .as_deref(),
        Some("[erased]")
    );
    assert_eq!(
        vault.reveal(&all[301], Reveal::Plaintext).event,
        alice(1000)
    );
    assert_eq!(
        all.iter()
            .filter(|r| r.event.action == "privacy.erasure")
            .count(),
        1
    );

    // Archive bundles: the oldest segment, moved out of the directory, holds no plaintext
    // and no copy of the erased key either.
    let archive_root = tmp.path().join("archive");
    let destination = LocalDirDestination::new(&archive_root);
    let archived = log
        .archive(
            &destination,
            &ArchivePolicy {
                max_segments: Some(1),
                ..ArchivePolicy::default()
            },
        )
        .unwrap();
    assert_eq!(archived.bundles.len(), 1);
    drop(log);
    assert_present(&archive_root, b"Oxford");
    assert_present(&archive_root, b"user:alice");
    for root in [&archive_root, &dir] {
        assert_absent(root, &wrapped, "the erased key (wrapped)");
        for needle in [ALICE_EMAIL, ALICE_NAME, ALICE_IP, ALICE_STREET] {
            assert_absent(root, needle.as_bytes(), needle);
        }
    }
}

#[test]
fn without_the_master_key_the_log_opens_verifies_and_hides_protected_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = builder(&dir).open().unwrap();
    fill(&log, 10);
    drop(log);
    let log = AuditLog::builder(&dir).open().unwrap();
    let all = records(&log);
    let vault = log.vault().unwrap();
    assert!(!vault.has_master_key());
    let shown = vault.reveal(&all[0], Reveal::Plaintext).event;
    assert_eq!(shown.actor.email.as_deref(), Some("[protected]"));
    assert_eq!(shown.action, "profile.update");
    // Appending a protected value needs the key; an event without one does not.
    assert!(matches!(
        log.append(&alice(99)),
        Err(auditlog::AppendError::Privacy(
            PrivacyError::MasterKeyRequired(_)
        ))
    ));
    log.append(&Event::new("user:carol", "logout"))
        .unwrap()
        .wait()
        .unwrap();
    // Erasure needs no master key.
    log.erase("user:bob").unwrap();
    let shown = vault.reveal(&all[1], Reveal::Plaintext).event;
    assert_eq!(shown.actor.email.as_deref(), Some("[erased]"));
    drop(log);
    assert!(
        auditlog::verify(&dir, &auditlog::VerifyOptions::default())
            .unwrap()
            .ok
    );
}

#[test]
fn a_wrong_master_key_or_another_policy_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = builder(&dir).open().unwrap();
    fill(&log, 4);
    drop(log);
    let wrong = AuditLog::builder(&dir)
        .master_key(MasterKey::from_bytes([1; 32]))
        .open()
        .unwrap_err();
    assert!(
        matches!(wrong, OpenError::Privacy(PrivacyError::WrongMasterKey)),
        "{wrong}"
    );
    assert!(matches!(
        Vault::open(&dir, Some(MasterKey::from_bytes([1; 32]))),
        Err(PrivacyError::WrongMasterKey)
    ));
    let other = AuditLog::builder(&dir)
        .privacy_policy(PrivacyPolicy::parse_spec("ip", None).unwrap())
        .open()
        .unwrap_err();
    assert!(
        matches!(other, OpenError::Privacy(PrivacyError::BadPolicy(_))),
        "{other}"
    );
    // Nothing changed: the right key still reads everything.
    let log = builder(&dir).open().unwrap();
    let all = records(&log);
    assert_eq!(all.len(), 4);
    assert_eq!(
        log.vault()
            .unwrap()
            .reveal(&all[0], Reveal::Plaintext)
            .event,
        alice(0)
    );
}

#[test]
fn a_path_whose_subject_is_the_entity_is_erased_with_the_entity_not_the_actor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = AuditLog::builder(&dir)
        .privacy_policy(
            PrivacyPolicy::parse_spec("actor.email,after.email=entity.id", None).unwrap(),
        )
        .master_key(master())
        .open()
        .unwrap();
    let mut edit = Event::new("clerk:9", "customer.update")
        .actor_email("clerk@shop.example")
        .entity("customer", "cust-7");
    edit.after = Some(JsonText::try_from(r#"{"email":"carol@home.example","tier":2}"#).unwrap());
    log.append(&edit).unwrap().wait().unwrap();
    let stored = records(&log).remove(0);
    let vault = log.vault().unwrap();
    assert_eq!(vault.reveal(&stored, Reveal::Plaintext).event, edit);
    assert_eq!(vault.subjects(), ["clerk:9", "cust-7"]);

    // Associated data binds the field: a value moved to another field does not open.
    let mut moved = stored.clone();
    moved.event.actor.email = moved.event.after.as_ref().map(|a| {
        let v: serde_json::Value = a.to_value().unwrap();
        v["email"].as_str().unwrap().to_owned()
    });
    let shown = vault.reveal(&moved, Reveal::Plaintext).event;
    assert_eq!(shown.actor.email.as_deref(), Some("[protected]"));
    // And the subject: the same record under another actor id does not open either.
    let mut other = stored.clone();
    other.event.actor.id = "clerk:10".into();
    let shown = vault.reveal(&other, Reveal::Plaintext).event;
    assert_eq!(shown.actor.email.as_deref(), Some("[protected]"));

    log.erase("cust-7").unwrap();
    let shown = vault.reveal(&stored, Reveal::Plaintext).event;
    assert_eq!(
        shown.after.as_ref().unwrap().as_str(),
        r#"{"email":"[erased]","tier":2}"#
    );
    assert_eq!(shown.actor.email.as_deref(), Some("clerk@shop.example"));
}
