//! A power loss after every file-system call of an erasure, and of the key-store write that a
//! new subject's first append makes, in every crash mode of the simulator: the subject's key
//! is fully present (its values decrypt) or fully gone (they read `[erased]`), never half
//! written; an erasure event is only ever recorded for a key that is gone, and the next
//! writable open records the event of an erasure the crash interrupted.

use auditlog::fs::sim::{CrashMode, SimFs};
use auditlog::privacy::{MasterKey, PrivacyPolicy, Reveal, Vault};
use auditlog::{AuditLog, AuditLogBuilder, Durability, Event, ReadOnlyLog, Record};
use std::path::Path;
use std::sync::Arc;

fn builder(dir: &Path) -> AuditLogBuilder {
    AuditLog::builder(dir)
        .durability(Durability::Immediate)
        .preallocate(false)
        .privacy_policy(PrivacyPolicy::parse_spec("actor.email,ip", None).unwrap())
        .master_key(MasterKey::from_bytes([7; 32]))
}

fn person(id: &str, i: u64) -> Event {
    let mut e = Event::new(format!("user:{id}"), "login").actor_email(format!("{id}@example.com"));
    e.ip = Some(format!("192.0.2.{i}"));
    e
}

fn records(log: &auditlog::LogReader) -> Vec<Record> {
    log.iter(..).collect::<Result<_, _>>().unwrap()
}

fn erasures(records: &[Record], subject: &str) -> usize {
    records
        .iter()
        .filter(|r| {
            r.event.action == "privacy.erasure"
                && r.event.entity.as_ref().is_some_and(|e| e.id == subject)
        })
        .count()
}

/// What `subject`'s first record reads with the master key: its plaintext email, or a marker.
fn email_of(vault: &Vault, records: &[Record], subject: &str) -> Option<String> {
    let record = records.iter().find(|r| r.event.actor.id == subject)?;
    vault
        .reveal(record, Reveal::Plaintext)
        .event
        .actor
        .email
        .clone()
}

/// Runs `op` on a fresh simulated disk holding a log of alice's and bob's events, with the
/// power cut after its `call`-th file-system call, for every `call` until `op` finishes
/// first; `check` inspects the crash image's log directory.
fn crash_everywhere(op: &dyn Fn(&AuditLog), check: &dyn Fn(&Path, bool)) -> u64 {
    let mut crashes = 0;
    for (seed, mode) in CrashMode::ALL.into_iter().enumerate() {
        for call in 1.. {
            let tmp = tempfile::tempdir().unwrap();
            let disk = tmp.path().join("disk");
            std::fs::create_dir(&disk).unwrap();
            let sim = SimFs::new(&disk, seed as u64).unwrap();
            let log = builder(&disk.join("log"))
                .file_system(Arc::new(sim.clone()))
                .open()
                .unwrap();
            for i in 0..3 {
                log.append(&person("alice", i)).unwrap().wait().unwrap();
                log.append(&person("bob", i)).unwrap().wait().unwrap();
            }
            let image = tmp.path().join("image");
            sim.crash_at_op(sim.op_count() + call, mode, image.clone());
            op(&log);
            let done = !sim.has_crashed();
            sim.crash_now(mode, &image).unwrap();
            drop(log);
            check(&image.join("log"), done);
            crashes += 1;
            if done {
                break;
            }
        }
    }
    crashes
}

#[test]
fn an_erasure_cut_short_anywhere_leaves_the_key_whole_or_gone() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    // How often the crash left the key, took it without the event, and took both.
    let outcomes = [
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ];
    let crashes = crash_everywhere(
        &|log| {
            let _ = log.erase("user:alice");
        },
        &|dir, done| {
            let master = MasterKey::from_bytes([7; 32]);
            // The image as the crash left it: an erasure event only for a key that is gone.
            let vault = Vault::open(dir, Some(master.clone())).unwrap().unwrap();
            let image = records(&ReadOnlyLog::open(dir).unwrap());
            let email = email_of(&vault, &image, "user:alice").unwrap();
            let erased = email == "[erased]";
            assert!(erased || email == "alice@example.com", "{email}");
            if erasures(&image, "user:alice") > 0 {
                assert!(erased, "an erasure event for a key still present");
            }
            if done {
                assert!(erased, "a finished erasure");
            }
            let outcome = match (erased, erasures(&image, "user:alice")) {
                (false, _) => 0,
                (true, 0) => 1,
                (true, _) => 2,
            };
            outcomes[outcome].fetch_add(1, Relaxed);
            assert_eq!(
                email_of(&vault, &image, "user:bob").as_deref(),
                Some("bob@example.com")
            );
            // The next writable open finishes what the crash interrupted.
            let log = builder(dir).open().unwrap();
            let all = records(&log);
            let vault = log.vault().unwrap();
            let after = email_of(vault, &all, "user:alice").unwrap();
            assert_eq!(
                after == "[erased]",
                erased,
                "the reopen changed the key's fate"
            );
            let events = erasures(&all, "user:alice");
            if erased {
                assert!(events >= 1, "a key gone without its erasure event");
            } else {
                assert_eq!(events, 0);
            }
            assert!(!dir.join("privacy.keys.tmp").exists());
            drop(log);
            let report = auditlog::verify(dir, &auditlog::VerifyOptions::default()).unwrap();
            assert!(report.ok, "{report:?}");
        },
    );
    assert!(crashes > 8, "only {crashes} crash points");
    let outcomes = outcomes.map(|n| n.into_inner());
    assert!(outcomes.iter().all(|&n| n > 0), "outcomes {outcomes:?}");
}

#[test]
fn a_new_subject_key_cut_short_anywhere_is_durable_before_its_first_value() {
    let crashes = crash_everywhere(
        &|log| {
            if let Ok(handle) = log.append(&person("carol", 9)) {
                let _ = handle.wait();
            }
        },
        &|dir, done| {
            let master = MasterKey::from_bytes([7; 32]);
            let vault = Vault::open(dir, Some(master)).unwrap().unwrap();
            let image = records(&ReadOnlyLog::open(dir).unwrap());
            match email_of(&vault, &image, "user:carol") {
                // A record of carol's that survived always has its key.
                Some(email) => assert_eq!(email, "carol@example.com"),
                None => assert!(!done, "an acknowledged record lost"),
            }
            assert_eq!(
                email_of(&vault, &image, "user:alice").as_deref(),
                Some("alice@example.com")
            );
        },
    );
    assert!(crashes > 5, "only {crashes} crash points");
}
