//! A power loss after every file-system call of an erasure, and of the key-store append that
//! a new subject's first event makes, in every crash mode of the simulator: the subject's key
//! is fully present (its values decrypt) or fully gone (they read `[erased]`), never half
//! written, and a torn append is cut by the next writable open; an erasure event is only ever recorded for a key that is gone, and the next
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
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let torn_appends_cut = AtomicUsize::new(0);
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
            let carol = email_of(&vault, &image, "user:carol");
            match &carol {
                // A record of carol's that survived always has its key.
                Some(email) => assert_eq!(email, "carol@example.com"),
                None => assert!(!done, "an acknowledged record lost"),
            }
            assert_eq!(
                email_of(&vault, &image, "user:alice").as_deref(),
                Some("alice@example.com")
            );
            // The next writable open cuts a torn append of the key store (the key in it
            // encrypted nothing), and new keys are appended after the valid entries.
            let log = builder(dir).open().unwrap();
            if let Some(cut) = &log.open_report().key_store_cut {
                assert!(cut.bytes_removed > 0, "{cut:?}");
                torn_appends_cut.fetch_add(1, Relaxed);
            }
            log.append(&person("dave", 1)).unwrap().wait().unwrap();
            drop(log);
            let vault = Vault::open(dir, Some(MasterKey::from_bytes([7; 32])))
                .unwrap()
                .unwrap();
            let all = records(&ReadOnlyLog::open(dir).unwrap());
            assert_eq!(email_of(&vault, &all, "user:carol"), carol);
            assert_eq!(
                email_of(&vault, &all, "user:dave").as_deref(),
                Some("dave@example.com")
            );
            let report = auditlog::verify(dir, &auditlog::VerifyOptions::default()).unwrap();
            assert!(report.ok, "{report:?}");
        },
    );
    assert!(crashes > 5, "only {crashes} crash points");
    // Whether a crash point tore the append depends on the simulator's seeds; the cut itself
    // is tested for each kind of torn tail below.
    eprintln!(
        "{crashes} crash points, {} torn appends cut",
        torn_appends_cut.into_inner()
    );
}

/// A log whose key store holds alice's and bob's keys, and the store's bytes.
fn two_subjects(dir: &Path) -> Vec<u8> {
    let log = builder(dir).open().unwrap();
    for i in 0..2 {
        log.append(&person("alice", i)).unwrap().wait().unwrap();
        log.append(&person("bob", i)).unwrap().wait().unwrap();
    }
    drop(log);
    std::fs::read(dir.join("privacy.keys")).unwrap()
}

#[test]
fn each_kind_of_torn_key_store_append_is_cut_by_the_next_writable_open() {
    // What a crash during the append of a third key can leave after the valid entries: part
    // of its frame, zeros (the length reached the disk, the data not), or garbage.
    let mut partial = 150u32.to_le_bytes().to_vec();
    partial.extend_from_slice(&[1; 60]);
    let tails: [(&str, Vec<u8>); 3] = [
        ("part of a frame", partial),
        ("zeros", vec![0; 158]),
        (
            "garbage",
            (0..97u8).map(|b| b.wrapping_mul(37) | 1).collect(),
        ),
    ];
    for (what, tail) in tails {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let valid = two_subjects(&dir);
        let mut torn = valid.clone();
        torn.extend_from_slice(&tail);
        std::fs::write(dir.join("privacy.keys"), &torn).unwrap();
        // A reader skips the torn tail and changes nothing.
        let vault = Vault::open(&dir, Some(MasterKey::from_bytes([7; 32])))
            .unwrap()
            .unwrap();
        let image = records(&ReadOnlyLog::open(&dir).unwrap());
        assert_eq!(
            email_of(&vault, &image, "user:bob").as_deref(),
            Some("bob@example.com"),
            "{what}"
        );
        assert_eq!(std::fs::read(dir.join("privacy.keys")).unwrap(), torn);
        // A writable open cuts it, says so, and appends the next key after the valid entries.
        let log = builder(&dir).open().unwrap();
        let cut = log.open_report().key_store_cut.clone().expect(what);
        assert_eq!(cut.offset, valid.len() as u64, "{what}");
        assert_eq!(cut.bytes_removed, tail.len() as u64, "{what}");
        assert_eq!(
            std::fs::read(dir.join("privacy.keys")).unwrap(),
            valid,
            "{what}"
        );
        log.append(&person("carol", 1)).unwrap().wait().unwrap();
        drop(log);
        let store = std::fs::read(dir.join("privacy.keys")).unwrap();
        assert_eq!(
            store[..valid.len()],
            valid[..],
            "{what}: an append, not a rewrite"
        );
        let log = builder(&dir).open().unwrap();
        assert!(log.open_report().key_store_cut.is_none(), "{what}");
        let all = records(&log);
        let vault = log.vault().unwrap();
        for subject in ["alice", "bob", "carol"] {
            assert_eq!(
                email_of(vault, &all, &format!("user:{subject}")),
                Some(format!("{subject}@example.com")),
                "{what}"
            );
        }
    }
}

#[test]
fn damage_before_the_last_key_store_entry_is_an_error_that_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut store = two_subjects(&dir);
    // A bit flipped in alice's entry (the first, after the 44-byte header): bob's valid
    // entry after it proves it was durable, so this is damage, not a torn append.
    store[44 + 30] ^= 0x10;
    std::fs::write(dir.join("privacy.keys"), &store).unwrap();
    let err = builder(&dir).open().unwrap_err().to_string();
    assert!(err.contains("privacy.keys is damaged"), "{err}");
    assert!(err.contains("offset 44"), "{err}");
    assert_eq!(std::fs::read(dir.join("privacy.keys")).unwrap(), store);
    let err = Vault::open(&dir, None).unwrap_err().to_string();
    assert!(err.contains("offset 44"), "{err}");
}

/// The version 1 form of a version 2 store's bytes (docs/FORMAT.md §14.3): the same header
/// fields, a count, the entries unframed, one CRC over everything.
fn as_version_1(v2: &[u8]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut count = 0u32;
    let mut at = 44;
    while at < v2.len() {
        let n = u32::from_le_bytes(v2[at..at + 4].try_into().unwrap()) as usize;
        entries.extend_from_slice(&v2[at + 4..at + 4 + n]);
        count += 1;
        at += 8 + n;
    }
    let mut out = b"ALKEYS\0\x01".to_vec();
    out.extend_from_slice(&v2[8..40]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&entries);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn a_version_1_key_store_is_read_and_rewritten_as_version_2_by_a_writable_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let v2 = two_subjects(&dir);
    let v1 = as_version_1(&v2);
    std::fs::write(dir.join("privacy.keys"), &v1).unwrap();
    let vault = Vault::open(&dir, Some(MasterKey::from_bytes([7; 32])))
        .unwrap()
        .unwrap();
    let image = records(&ReadOnlyLog::open(&dir).unwrap());
    assert_eq!(
        email_of(&vault, &image, "user:alice").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(std::fs::read(dir.join("privacy.keys")).unwrap(), v1);
    let log = builder(&dir).open().unwrap();
    assert!(log.open_report().key_store_cut.is_none());
    // The same entries, now framed (the wrapped keys are copied, not re-wrapped).
    assert_eq!(std::fs::read(dir.join("privacy.keys")).unwrap(), v2);
    log.append(&person("carol", 1)).unwrap().wait().unwrap();
    let all = records(&log);
    let vault = log.vault().unwrap();
    for subject in ["alice", "bob", "carol"] {
        assert_eq!(
            email_of(vault, &all, &format!("user:{subject}")),
            Some(format!("{subject}@example.com"))
        );
    }
}

#[test]
fn a_failed_key_store_append_fails_that_event_and_the_next_key_rewrites_the_store() {
    use auditlog::fs::StdFileSystem;
    use auditlog::fs::faulty::{Call, Fault, FaultyFs};
    for fault in Fault::ALL {
        for step in 0..3 {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("log");
            two_subjects(&dir);
            let faulty = Arc::new(FaultyFs::new(Arc::new(StdFileSystem)));
            let log = builder(&dir).file_system(faulty.clone()).open().unwrap();
            // carol's key is the next thing written: open, write, fdatasync.
            let first = faulty.calls().len();
            faulty.inject(first + step, fault);
            let failed = log.append(&person("carol", 1));
            let calls = faulty.calls()[first..].to_vec();
            assert_eq!(
                calls[..=step],
                [Call::OpenWritable, Call::Write, Call::SyncData][..=step],
                "{fault:?} at {step}"
            );
            assert!(failed.is_err(), "{fault:?} at {step}: the event was taken");
            // The store's tail is unknown now: the next key is a whole rewrite, a new file.
            let before = faulty.calls().len();
            log.append(&person("dave", 1)).unwrap().wait().unwrap();
            assert!(
                faulty.calls()[before..].contains(&Call::Rename),
                "{fault:?} at {step}: appended after a failed write"
            );
            log.append(&person("carol", 2)).unwrap().wait().unwrap();
            drop(log);
            let log = builder(&dir).open().unwrap();
            assert!(log.open_report().key_store_cut.is_none());
            let all = records(&log);
            let vault = log.vault().unwrap();
            for subject in ["alice", "bob", "carol", "dave"] {
                assert_eq!(
                    email_of(vault, &all, &format!("user:{subject}")),
                    Some(format!("{subject}@example.com")),
                    "{fault:?} at {step}"
                );
            }
        }
    }
}
