//! A log whose protected values were written before blind-index tokens existed (wire version
//! 1 of a protected value, docs/FORMAT.md §14.2), committed under tests/fixtures/privacy-v1.
//! It was made by the release binary of commit a002a48^ (the last before tokens):
//! `keygen --master`, `init --protect actor.email,ip`, four events of `user:42` and `user:7`,
//! `erase --subject user:7`, `seal`. Its master key, a test key and nothing else, is
//! tests/fixtures/privacy-v1.master.key. Later builds must keep opening and verifying it,
//! revealing its values, and finding them by a protected lookup (by decrypting, since they
//! carry no token), and must find nothing of the erased subject.

mod common;

use auditlog::ReadOnlyLog;
use auditlog::privacy::{MasterKey, Reveal, Vault};
use auditlog::query::Query;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "tests/fixtures/privacy-v1";
const TREE_HEAD: &str =
    "tree size 5 root e80f0ff59be6bf10540322db6b60b94f341af3bc62ff07dd4e3bd4364147584f";

/// A copy of the fixture (so that nothing a test does can touch the committed files).
fn copy() -> (tempfile::TempDir, PathBuf) {
    common::copy_log(&Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE))
}

fn master() -> MasterKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/privacy-v1.master.key");
    MasterKey::read_file(&path).unwrap()
}

fn open(dir: &Path) -> ReadOnlyLog {
    common::open_checked_clean(dir)
}

#[test]
fn version_1_protected_values_open_verify_and_reveal() {
    let (_tmp, dir) = copy();
    let log = open(&dir);
    assert_eq!(log.tree_head().unwrap().to_string(), TREE_HEAD);
    let records: Vec<_> = log.iter(..).collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 5);
    // As stored, the values are version 1: `7 + ⌈4(57 + n)/3⌉` characters for n plaintext
    // bytes (version 2 has 16 more bytes, the token), here 95 for the 9 bytes of the ip.
    let stored_ip = records[0].event.ip.as_deref().unwrap();
    assert!(stored_ip.starts_with("alenc1:"), "{stored_ip}");
    assert_eq!(stored_ip.len(), 7 + (4 * (57 + 9) as usize).div_ceil(3));

    let vault = Vault::open(&dir, Some(master()))
        .unwrap()
        .expect("a policy");
    let shown: Vec<_> = records
        .iter()
        .map(|r| vault.reveal(r, Reveal::Plaintext).event)
        .collect();
    for i in [0, 2] {
        assert_eq!(shown[i].actor.id, "user:42");
        assert_eq!(shown[i].actor.email.as_deref(), Some("ada@example.com"));
        assert_eq!(shown[i].ip.as_deref(), Some("192.0.2.7"));
    }
    for i in [1, 3] {
        assert_eq!(shown[i].actor.id, "user:7");
        assert_eq!(shown[i].actor.email.as_deref(), Some("[erased]"));
        assert_eq!(shown[i].ip.as_deref(), Some("[erased]"));
    }
    assert_eq!(shown[4].action, "privacy.erasure");

    // Without the master key the values are neither shown nor lost.
    let locked = Vault::open(&dir, None).unwrap().expect("a policy");
    let hidden = locked.reveal(&records[0], Reveal::Plaintext).event;
    assert_eq!(hidden.actor.email.as_deref(), Some("[protected]"));
    assert_eq!(hidden.ip.as_deref(), Some("[protected]"));
}

#[test]
fn version_1_protected_values_are_found_by_a_lookup_until_erased() {
    let (_tmp, dir) = copy();
    let log = open(&dir);
    let vault = Vault::open(&dir, Some(master()))
        .unwrap()
        .expect("a policy");
    let count = |path: &str, value: &str| {
        let lookup = vault.lookup(path, value, None).unwrap();
        log.count(&Query::new().protected(lookup)).unwrap()
    };
    assert_eq!(count("ip", "192.0.2.7"), 2);
    assert_eq!(count("actor.email", "ADA@example.com"), 2);
    assert_eq!(count("actor.email", "eve@example.com"), 0);
    // user:7 was erased: its values match nothing, whoever asks.
    assert_eq!(count("ip", "198.51.100.4"), 0);
    assert_eq!(count("actor.email", "bob@example.com"), 0);
}
