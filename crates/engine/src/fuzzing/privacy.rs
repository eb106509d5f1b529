//! Fuzz targets of the privacy formats (docs/FORMAT.md §14): the protected-value wire form,
//! which readers decode from attacker-controlled event text, and the key store.

use crate::privacy::keystore::{KeyEntry, KeyState, KeyStore, MasterKey};
use crate::privacy::{Sealed, WIRE_PREFIX};

/// Protected-value decoding: never panics; a decoded value re-encodes to the same text.
pub fn decode_protected_value(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(sealed) = Sealed::decode(text) {
        assert_eq!(
            sealed.encode(),
            text,
            "protected value re-encodes differently"
        );
    }
}

/// Key store decoding: never panics; a decoded store re-encodes to the same bytes.
pub fn decode_key_store(bytes: &[u8]) {
    if let Ok(read) = KeyStore::from_bytes(bytes) {
        let encoded = read.store.to_bytes();
        if read.version == 2 {
            // The valid entries re-encode to the bytes they came from; the rest is torn.
            assert_eq!(
                encoded,
                bytes[..read.valid_len as usize],
                "key store re-encodes differently"
            );
        }
        let again = KeyStore::from_bytes(&encoded).expect("a store re-encoded reads back");
        assert_eq!(again.store, read.store, "key store re-encodes differently");
    }
}

pub(super) fn seed_inputs(target: &str) -> Vec<Vec<u8>> {
    let sealed = Sealed {
        key_id: [3; 16],
        token: Some([6; 16]),
        nonce: [4; 24],
        ciphertext: b"0123456789abcdef-ciphertext".to_vec(),
    };
    match target {
        "decode_protected_value" => vec![
            sealed.encode().into_bytes(),
            Sealed {
                token: None,
                ..sealed.clone()
            }
            .encode()
            .into_bytes(),
            format!("{WIRE_PREFIX}AQ").into_bytes(),
            b"alice@example.com".to_vec(),
        ],
        "decode_key_store" => {
            let master = MasterKey::from_bytes([9; 32]);
            let mut store = KeyStore::empty(master.id(), *b"fuzzing-log-id!!");
            let key = zeroize::Zeroizing::new([1u8; 32]);
            let wrapped = store
                .wrap(&master, &[2; 16], "user:alice", &key)
                .unwrap_or_default();
            store.entries.push(KeyEntry {
                key_id: [2; 16],
                subject: "user:alice".into(),
                state: KeyState::Live { wrapped },
            });
            store.entries.push(KeyEntry {
                key_id: [5; 16],
                subject: "user:bob".into(),
                state: KeyState::Erased,
            });
            let empty = KeyStore::empty(master.id(), *b"fuzzing-log-id!!");
            // An append torn by a crash: the start of a third frame.
            let mut torn = store.to_bytes();
            torn.extend_from_slice(&[90, 0, 0, 0, 1, 7, 7]);
            vec![store.to_bytes(), empty.to_bytes(), torn]
        }
        _ => Vec::new(),
    }
}
