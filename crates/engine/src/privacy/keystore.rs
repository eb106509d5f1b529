//! The key store `privacy.keys`: one key per data subject, each wrapped by the master key
//! (docs/FORMAT.md, "Key store"). Rewritten whole, crash-safely, on every change.

use super::PrivacyError;
use super::wire::{KEY_ID_BYTES, NONCE_BYTES, TAG_BYTES};
use crate::fs::FileSystem;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// The file name of the key store in the log directory.
pub const KEYS_FILE: &str = "privacy.keys";
const MAGIC: &[u8; 8] = b"ALKEYS\0\x01";
const WRAP_AAD: &[u8] = b"auditlog key wrap 1";
const STATE_LIVE: u8 = 1;
const STATE_ERASED_PENDING: u8 = 2;
const STATE_ERASED: u8 = 3;

/// The 32-byte key that wraps every subject key. Kept apart from the log (a file named by
/// `--master-key-file` or `AUDITLOG_MASTER_KEY_FILE`); wiped from memory when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MasterKey({})",
            auditlog_format::merkle::hash::hex(&self.id())
        )
    }
}

impl MasterKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, PrivacyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|e| PrivacyError::Random(e.to_string()))?;
        Ok(MasterKey(key))
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(Zeroizing::new(bytes))
    }

    /// The key's bytes (what `auditlog keygen --master` writes).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads a key file: exactly 32 bytes.
    pub fn read_file(path: &Path) -> Result<Self, PrivacyError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
            PrivacyError::MasterKeyFile(format!("cannot read {}: {e}", path.display()))
        })?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            PrivacyError::MasterKeyFile(format!(
                "{} holds {} bytes; a master key is exactly 32 (make one with `auditlog keygen --master`)",
                path.display(),
                bytes.len()
            ))
        })?;
        Ok(MasterKey::from_bytes(key))
    }

    /// What the store records to recognise this key: 16 bytes of a BLAKE3 key derivation,
    /// which says nothing about the key itself.
    pub fn id(&self) -> [u8; 16] {
        let full = blake3::derive_key("auditlog 2026-12 privacy master key id", self.0.as_ref());
        let mut id = [0u8; 16];
        id.copy_from_slice(&full[..16]);
        id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }
}

/// A subject key, unwrapped; wiped when dropped.
pub(crate) type SubjectKey = Zeroizing<[u8; 32]>;

/// What the store knows of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyState {
    /// In use; the wrapped key (nonce, then ciphertext and tag).
    Live { wrapped: Vec<u8> },
    /// Erased; the `privacy.erasure` event is not yet known to be durable.
    ErasedPending,
    /// Erased and its event written.
    Erased,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    pub key_id: [u8; KEY_ID_BYTES],
    pub subject: String,
    pub state: KeyState,
}

/// The store's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyStore {
    /// The id of the master key that wrapped the live keys.
    pub master_id: [u8; 16],
    pub log_id: [u8; 16],
    pub entries: Vec<KeyEntry>,
}

fn wrap_aad(log_id: &[u8; 16], key_id: &[u8; 16], subject: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD.len() + 32 + subject.len());
    aad.extend_from_slice(WRAP_AAD);
    aad.extend_from_slice(log_id);
    aad.extend_from_slice(key_id);
    aad.extend_from_slice(subject.as_bytes());
    aad
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N], PrivacyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| PrivacyError::Random(e.to_string()))?;
    Ok(out)
}

impl KeyStore {
    pub fn empty(master_id: [u8; 16], log_id: [u8; 16]) -> Self {
        KeyStore {
            master_id,
            log_id,
            entries: Vec::new(),
        }
    }

    /// Wraps `key` for `subject` under `master`.
    pub fn wrap(
        &self,
        master: &MasterKey,
        key_id: &[u8; 16],
        subject: &str,
        key: &SubjectKey,
    ) -> Result<Vec<u8>, PrivacyError> {
        let nonce: [u8; NONCE_BYTES] = random()?;
        let aad = wrap_aad(&self.log_id, key_id, subject);
        let sealed = master
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: key.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| PrivacyError::Random("encryption failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    /// Unwraps every live key; fails with `WrongMasterKey` if `master` is not the one the
    /// store records.
    pub fn unwrap_all(
        &self,
        master: &MasterKey,
    ) -> Result<HashMap<[u8; 16], SubjectKey>, PrivacyError> {
        if master.id() != self.master_id {
            return Err(PrivacyError::WrongMasterKey);
        }
        let cipher = master.cipher();
        let mut keys = HashMap::new();
        for entry in &self.entries {
            let KeyState::Live { wrapped } = &entry.state else {
                continue;
            };
            let (nonce, sealed) = wrapped.split_at(NONCE_BYTES);
            let aad = wrap_aad(&self.log_id, &entry.key_id, &entry.subject);
            let mut plain = cipher
                .decrypt(
                    &XNonce::from(<[u8; NONCE_BYTES]>::try_from(nonce).expect("length checked")),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| {
                    PrivacyError::DamagedKeyStore("a wrapped key does not authenticate".into())
                })?;
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&plain);
            plain.zeroize();
            keys.insert(entry.key_id, key);
        }
        Ok(keys)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.entries.len() * 128);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.master_id);
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for entry in &self.entries {
            out.push(match entry.state {
                KeyState::Live { .. } => STATE_LIVE,
                KeyState::ErasedPending => STATE_ERASED_PENDING,
                KeyState::Erased => STATE_ERASED,
            });
            out.extend_from_slice(&entry.key_id);
            out.extend_from_slice(&(entry.subject.len() as u16).to_le_bytes());
            out.extend_from_slice(entry.subject.as_bytes());
            if let KeyState::Live { wrapped } = &entry.state {
                out.extend_from_slice(wrapped);
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses the file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        let bad = |what: &str| PrivacyError::DamagedKeyStore(what.to_owned());
        if bytes.len() < 8 + 16 + 16 + 4 + 4 {
            return Err(bad("shorter than its header"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("checksum mismatch"));
        }
        if &body[..8] != MAGIC {
            return Err(bad("not a key store (magic)"));
        }
        let mut at = 8;
        let mut take = |n: usize| -> Result<&[u8], PrivacyError> {
            let part = body.get(at..at + n).ok_or_else(|| bad("truncated entry"))?;
            at += n;
            Ok(part)
        };
        let master_id: [u8; 16] = take(16)?.try_into().expect("16");
        let log_id: [u8; 16] = take(16)?.try_into().expect("16");
        let count = u32::from_le_bytes(take(4)?.try_into().expect("4"));
        let mut entries = Vec::new();
        for _ in 0..count {
            let state = take(1)?[0];
            let key_id: [u8; 16] = take(16)?.try_into().expect("16");
            let len = u16::from_le_bytes(take(2)?.try_into().expect("2")) as usize;
            let subject = std::str::from_utf8(take(len)?)
                .map_err(|_| bad("a subject is not UTF-8"))?
                .to_owned();
            let state = match state {
                STATE_LIVE => KeyState::Live {
                    wrapped: take(NONCE_BYTES + 32 + TAG_BYTES)?.to_vec(),
                },
                STATE_ERASED_PENDING => KeyState::ErasedPending,
                STATE_ERASED => KeyState::Erased,
                _ => return Err(bad("unknown key state")),
            };
            entries.push(KeyEntry {
                key_id,
                subject,
                state,
            });
        }
        if at != body.len() {
            return Err(bad("bytes after the last entry"));
        }
        Ok(KeyStore {
            master_id,
            log_id,
            entries,
        })
    }

    /// Reads the store in `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Self>, PrivacyError> {
        match std::fs::read(dir.join(KEYS_FILE)) {
            Ok(bytes) => Self::from_bytes(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PrivacyError::Io(format!("reading {KEYS_FILE}: {e}"))),
        }
    }

    /// Replaces the store in `dir`: a fresh `privacy.keys.tmp`, fdatasync, rename over the old
    /// store, directory fsync. The old file is unlinked whole, never edited in place.
    pub fn write(&self, fs: &dyn FileSystem, dir: &Path) -> Result<(), PrivacyError> {
        let mut bytes = self.to_bytes();
        let result = crate::fs::write_file_durably(fs, &dir.join(KEYS_FILE), &bytes);
        bytes.zeroize();
        result.map_err(|e| PrivacyError::Io(format!("writing {KEYS_FILE}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let master = MasterKey::from_bytes([3; 32]);
        let mut store = KeyStore::empty(master.id(), [1; 16]);
        let key = Zeroizing::new([5u8; 32]);
        let wrapped = store.wrap(&master, &[2; 16], "alice", &key).unwrap();
        store.entries.push(KeyEntry {
            key_id: [2; 16],
            subject: "alice".into(),
            state: KeyState::Live { wrapped },
        });
        store.entries.push(KeyEntry {
            key_id: [4; 16],
            subject: "bob".into(),
            state: KeyState::ErasedPending,
        });
        let bytes = store.to_bytes();
        let back = KeyStore::from_bytes(&bytes).unwrap();
        assert_eq!(back, store);
        assert_eq!(*back.unwrap_all(&master).unwrap()[&[2; 16]], [5; 32]);
        assert_eq!(
            back.unwrap_all(&MasterKey::from_bytes([4; 32]))
                .unwrap_err(),
            PrivacyError::WrongMasterKey
        );
        for cut in 0..bytes.len() {
            assert!(KeyStore::from_bytes(&bytes[..cut]).is_err(), "{cut}");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(KeyStore::from_bytes(&flipped).is_err());
    }
}
