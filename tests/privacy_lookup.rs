//! Lookups by a protected value through the keyed blind index (docs/PRIVACY.md, "Lookups by
//! a protected value"): "events of alice@example.com" finds alice's records, in the active
//! segment and in sealed ones, ignoring case; an entity-subject path finds its entity's;
//! once alice is erased no lookup finds her records (nobody can compute her tokens), while
//! bob's still are found; no index file holds a plaintext or a token; a lookup without the
//! master key or on an unprotected field is a typed error.

use auditlog::privacy::{MasterKey, PrivacyError, PrivacyPolicy, Sealed, Vault};
use auditlog::query::Query;
use auditlog::{AuditLog, Durability, Event, JsonText, ReadOnlyLog};
use std::path::Path;

mod common;
use common::{all_bytes, assert_absent, assert_present};

const ALICE_EMAIL: &str = "alice.liddell@example.com";
const CAROL_EMAIL: &str = "carol.customer@example.net";

fn master() -> MasterKey {
    MasterKey::from_bytes([0x5a; 32])
}

fn open(dir: &Path) -> AuditLog {
    AuditLog::builder(dir)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::Immediate)
        .privacy_policy(
            PrivacyPolicy::parse_spec("actor.email,ip,after.email=entity.id", None).unwrap(),
        )
        .master_key(master())
        .open()
        .unwrap()
}

/// 60 events: alice (actor) at i % 3 == 0, bob at 1, a clerk editing customer c1 (whose
/// `after.email` is carol's) at 2.
fn event(i: u64) -> Event {
    match i % 3 {
        0 => Event::new("user:alice", "login").actor_email(ALICE_EMAIL),
        1 => Event::new("user:bob", "login").actor_email(format!("bob{}@example.org", i % 2)),
        _ => {
            let mut e = Event::new("user:clerk", "customer.update")
                .actor_email("clerk@example.com")
                .entity("customer", "c1");
            e.after = Some(
                JsonText::try_from(format!(r#"{{"email":"{CAROL_EMAIL}","n":{i}}}"#)).unwrap(),
            );
            e
        }
    }
}

fn count(
    log: &auditlog::LogReader,
    vault: &Vault,
    path: &str,
    value: &str,
    subject: Option<&str>,
) -> u64 {
    let lookup = vault.lookup(path, value, subject).unwrap();
    log.count(&Query::new().protected(lookup)).unwrap()
}

#[test]
fn a_protected_value_is_found_before_erasure_and_never_after() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir);
    for i in 0..60 {
        log.append(&event(i)).unwrap().wait().unwrap();
    }
    let vault = log.vault().unwrap();
    // In the active segment, then across sealed ones (read through their index files).
    for _ in 0..2 {
        assert_eq!(count(&log, vault, "actor.email", ALICE_EMAIL, None), 20);
        assert_eq!(
            count(
                &log,
                vault,
                "actor.email",
                " Alice.Liddell@EXAMPLE.com",
                None
            ),
            20
        );
        assert_eq!(
            count(&log, vault, "actor.email", ALICE_EMAIL, Some("user:alice")),
            20
        );
        assert_eq!(
            count(&log, vault, "actor.email", ALICE_EMAIL, Some("user:bob")),
            0
        );
        assert_eq!(
            count(&log, vault, "actor.email", "bob1@example.org", None),
            10
        );
        assert_eq!(
            count(&log, vault, "actor.email", "alice@example.com", None),
            0
        );
        // An entity-subject path: carol's e-mail belongs to the customer, not the clerk.
        assert_eq!(count(&log, vault, "after.email", CAROL_EMAIL, None), 20);
        assert_eq!(
            count(&log, vault, "after.email", CAROL_EMAIL, Some("c1")),
            20
        );
        assert_eq!(
            count(&log, vault, "after.email", CAROL_EMAIL, Some("user:clerk")),
            0
        );
        log.seal().unwrap();
    }
    // The page is the records, in order; a lookup combines with the other filters.
    let lookup = vault.lookup("actor.email", ALICE_EMAIL, None).unwrap();
    let page = log
        .query(&Query::new().protected(lookup.clone()).limit(5))
        .unwrap();
    let seqs: Vec<u64> = page.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [0, 3, 6, 9, 12]);
    let next = log
        .query(
            &Query::new()
                .protected(lookup.clone())
                .limit(5)
                .after(page.cursor),
        )
        .unwrap();
    assert_eq!(next.records[0].seq, 15);
    assert_eq!(
        log.count(&Query::new().protected(lookup).actor("user:bob"))
            .unwrap(),
        0
    );

    // No index file (nor any other derived file) holds a plaintext or a token.
    let token = Sealed::decode(page.records[0].event.actor.email.as_deref().unwrap())
        .unwrap()
        .token
        .expect("a value written now carries its token");
    let derived: Vec<_> = all_bytes(&dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "idx" || x == "hashes"))
        .collect();
    assert!(
        derived.iter().any(|(p, _)| p.extension().unwrap() == "idx"),
        "no index file was written"
    );
    for (path, bytes) in &derived {
        for needle in [ALICE_EMAIL.as_bytes(), CAROL_EMAIL.as_bytes(), &token] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {needle:?}",
                path.display()
            );
        }
    }
    assert_absent(&dir, ALICE_EMAIL.as_bytes(), "alice's e-mail");
    assert_present(&dir, b"customer.update");

    log.erase("user:alice").unwrap();
    assert_eq!(count(&log, vault, "actor.email", ALICE_EMAIL, None), 0);
    let named = vault
        .lookup("actor.email", ALICE_EMAIL, Some("user:alice"))
        .unwrap();
    assert_eq!(
        named.subjects(),
        0,
        "an erased subject has no key to make a token with"
    );
    assert_eq!(log.count(&Query::new().protected(named)).unwrap(), 0);
    assert_eq!(
        count(&log, vault, "actor.email", "bob1@example.org", None),
        10
    );
    assert_eq!(count(&log, vault, "after.email", CAROL_EMAIL, None), 20);
    drop(log);

    // A fresh reader with the master key: the same answers.
    let reader = ReadOnlyLog::open(&dir).unwrap();
    let vault = Vault::open(&dir, Some(master())).unwrap().unwrap();
    assert_eq!(count(&reader, &vault, "actor.email", ALICE_EMAIL, None), 0);
    assert_eq!(
        count(&reader, &vault, "actor.email", "bob1@example.org", None),
        10
    );
}

#[test]
fn a_lookup_without_the_master_key_or_on_an_unprotected_field_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = open(&dir);
    log.append(&event(0)).unwrap().wait().unwrap();
    let vault = log.vault().unwrap();
    for path in ["user_agent", "actor.id", "after.name", "nonsense"] {
        let err = vault.lookup(path, "x", None).unwrap_err();
        assert!(
            matches!(err, PrivacyError::NotProtected(_)),
            "{path}: {err}"
        );
        assert!(
            err.to_string().contains("actor.email, ip, after.email"),
            "{err}"
        );
    }
    drop(log);
    let blind = Vault::open(&dir, None).unwrap().unwrap();
    assert_eq!(
        blind.lookup("actor.email", ALICE_EMAIL, None).unwrap_err(),
        PrivacyError::LookupNeedsMasterKey
    );
    assert!(matches!(
        Vault::open(&dir, Some(MasterKey::from_bytes([1; 32]))),
        Err(PrivacyError::WrongMasterKey)
    ));
}
