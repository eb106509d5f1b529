//! The key store `privacy.keys`: one key per data subject, each wrapped by the master key
//! (docs/FORMAT.md §14.3). A new subject's key is one framed entry appended and fdatasynced;
//! every other change (an erasure, a master key rotation) rewrites the store whole,
//! crash-safely, so that no copy of a destroyed key stays in the file.

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
/// Version 1: one CRC over the whole file, rewritten on every change (still read).
const MAGIC_V1: &[u8; 8] = b"ALKEYS\0\x01";
/// Version 2: a header with its own CRC, then entries each in a frame with its own CRC, so
/// that a new key is an append.
const MAGIC_V2: &[u8; 8] = b"ALKEYS\0\x02";
/// Magic, master key id, log id.
const HEADER_BYTES: usize = 8 + 16 + 16;
/// The header and its CRC (version 2).
const HEADER_V2_BYTES: usize = HEADER_BYTES + 4;
/// A frame's length field and CRC around its entry.
const FRAME_OVERHEAD: usize = 4 + 4;
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

    /// The file's bytes, in the current version (2).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_V2_BYTES + self.entries.len() * 128);
        out.extend_from_slice(MAGIC_V2);
        out.extend_from_slice(&self.master_id);
        out.extend_from_slice(&self.log_id);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        for entry in &self.entries {
            push_frame(&mut out, entry);
        }
        out
    }

    /// Parses a store's bytes (either version; see [`Loaded`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Loaded, PrivacyError> {
        match bytes.get(..8) {
            Some(m) if m == MAGIC_V2 => parse_v2(bytes),
            Some(m) if m == MAGIC_V1 => parse_v1(bytes).map(|store| Loaded {
                store,
                version: 1,
                valid_len: bytes.len() as u64,
                torn_bytes: 0,
            }),
            _ => Err(damaged("not a key store (magic)")),
        }
    }

    /// Reads the store in `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Loaded>, PrivacyError> {
        match std::fs::read(dir.join(KEYS_FILE)) {
            Ok(mut bytes) => {
                let parsed = Self::from_bytes(&bytes);
                bytes.zeroize();
                parsed.map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PrivacyError::Io(format!("reading {KEYS_FILE}: {e}"))),
        }
    }

    /// Replaces the store in `dir`: a fresh `privacy.keys.tmp`, fdatasync, rename over the old
    /// store, directory fsync. The old file is unlinked whole, never edited in place. Returns
    /// the new file's length (where the next [`append`](Self::append) goes).
    pub fn write(&self, fs: &dyn FileSystem, dir: &Path) -> Result<u64, PrivacyError> {
        let mut bytes = self.to_bytes();
        let len = bytes.len() as u64;
        let result = crate::fs::write_file_durably(fs, &dir.join(KEYS_FILE), &bytes);
        bytes.zeroize();
        result
            .map(|()| len)
            .map_err(|e| PrivacyError::Io(format!("writing {KEYS_FILE}: {e}")))
    }

    /// Appends `entry` to the version 2 store in `dir` whose valid bytes end at `at`, and
    /// fdatasyncs it: durable when this returns. Returns the new end. After an error the
    /// file's tail is unknown (a torn frame, or one written but not known durable): the
    /// caller must not append again, and rewrites the store whole instead (a new file, so no
    /// fsync is ever retried on the failed one).
    pub fn append(
        fs: &dyn FileSystem,
        dir: &Path,
        at: u64,
        entry: &KeyEntry,
    ) -> Result<u64, PrivacyError> {
        let mut frame = Vec::with_capacity(FRAME_OVERHEAD + 128);
        push_frame(&mut frame, entry);
        let path = dir.join(KEYS_FILE);
        let result = fs.open_writable(&path).and_then(|mut file| {
            file.write_all_at(&frame, at)?;
            file.sync_data()
        });
        let end = at + frame.len() as u64;
        frame.zeroize();
        result
            .map(|()| end)
            .map_err(|e| PrivacyError::Io(format!("appending to {KEYS_FILE}: {e}")))
    }
}

/// A parsed store and what its file looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub store: KeyStore,
    /// The file's version: 1 is never appended to (its first change rewrites it as 2).
    pub version: u8,
    /// Where the entries read end: the offset of the next append.
    pub valid_len: u64,
    /// Bytes after `valid_len` that are an append torn by a crash (version 2 only).
    pub torn_bytes: u64,
}

fn damaged(what: &str) -> PrivacyError {
    PrivacyError::DamagedKeyStore(what.to_owned())
}

/// The largest entry: state, key id, subject length, a subject of 65,535 bytes, a wrapped key.
const MAX_ENTRY_BYTES: usize = 1 + KEY_ID_BYTES + 2 + u16::MAX as usize + WRAPPED_BYTES;
const WRAPPED_BYTES: usize = NONCE_BYTES + 32 + TAG_BYTES;
/// The smallest: an erased entry with an empty subject.
const MIN_ENTRY_BYTES: usize = 1 + KEY_ID_BYTES + 2;

fn push_entry(out: &mut Vec<u8>, entry: &KeyEntry) {
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

/// One version 2 frame: the entry's length, the entry, a CRC of both.
fn push_frame(out: &mut Vec<u8>, entry: &KeyEntry) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    push_entry(out, entry);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Reads entries from `body` until it ends; every byte must belong to one.
struct EntryReader<'b> {
    body: &'b [u8],
    at: usize,
}

impl<'b> EntryReader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], PrivacyError> {
        let part = self
            .body
            .get(self.at..self.at + n)
            .ok_or_else(|| damaged("truncated entry"))?;
        self.at += n;
        Ok(part)
    }

    fn entry(&mut self) -> Result<KeyEntry, PrivacyError> {
        let state = self.take(1)?[0];
        let key_id: [u8; 16] = self.take(16)?.try_into().expect("16");
        let len = u16::from_le_bytes(self.take(2)?.try_into().expect("2")) as usize;
        let subject = std::str::from_utf8(self.take(len)?)
            .map_err(|_| damaged("a subject is not UTF-8"))?
            .to_owned();
        let state = match state {
            STATE_LIVE => KeyState::Live {
                wrapped: self.take(WRAPPED_BYTES)?.to_vec(),
            },
            STATE_ERASED_PENDING => KeyState::ErasedPending,
            STATE_ERASED => KeyState::Erased,
            _ => return Err(damaged("unknown key state")),
        };
        Ok(KeyEntry {
            key_id,
            subject,
            state,
        })
    }

    fn done(&self) -> bool {
        self.at == self.body.len()
    }

    /// The one entry that fills the body (a version 2 frame's), or what is wrong with it:
    /// its frame's CRC matched, so it was written so, not torn.
    fn whole_entry(mut self) -> Result<KeyEntry, &'static str> {
        match self.entry() {
            Ok(entry) if self.done() => Ok(entry),
            Ok(_) => Err("bytes after the entry in its frame"),
            Err(_) => Err("a malformed entry"),
        }
    }
}

fn ids(header: &[u8]) -> ([u8; 16], [u8; 16]) {
    (
        header[8..24].try_into().expect("16"),
        header[24..40].try_into().expect("16"),
    )
}

/// Version 1: header, `count`, the entries, one CRC of everything before it.
fn parse_v1(bytes: &[u8]) -> Result<KeyStore, PrivacyError> {
    if bytes.len() < HEADER_BYTES + 4 + 4 {
        return Err(damaged("shorter than its header"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(damaged("checksum mismatch"));
    }
    let (master_id, log_id) = ids(body);
    let count = u32::from_le_bytes(body[HEADER_BYTES..HEADER_BYTES + 4].try_into().expect("4"));
    let mut reader = EntryReader {
        body: &body[HEADER_BYTES + 4..],
        at: 0,
    };
    let mut entries = Vec::new();
    for _ in 0..count {
        entries.push(reader.entry()?);
    }
    if !reader.done() {
        return Err(damaged("bytes after the last entry"));
    }
    Ok(KeyStore {
        master_id,
        log_id,
        entries,
    })
}

/// Version 2: the header and its CRC, then frames to the end of the file. Only the last
/// append may be torn: each is fdatasynced before the next is written, so a valid frame
/// after a bad one proves the bad one was durable, and that is damage.
fn parse_v2(bytes: &[u8]) -> Result<Loaded, PrivacyError> {
    if bytes.len() < HEADER_V2_BYTES {
        return Err(damaged("shorter than its header"));
    }
    let (header, crc) = bytes[..HEADER_V2_BYTES].split_at(HEADER_BYTES);
    if crc32fast::hash(header).to_le_bytes() != crc {
        return Err(damaged("header checksum mismatch"));
    }
    let (master_id, log_id) = ids(header);
    let mut entries = Vec::new();
    let mut at = HEADER_V2_BYTES;
    while at < bytes.len() {
        match frame_at(bytes, at) {
            Frame::Valid(end) => {
                let entry = EntryReader {
                    body: &bytes[at + 4..end - 4],
                    at: 0,
                }
                .whole_entry()
                .map_err(|what| damaged(&format!("{what} in the entry at offset {at}")))?;
                entries.push(entry);
                at = end;
            }
            Frame::Bad => match (at + 1..bytes.len())
                .find(|&q| matches!(frame_at(bytes, q), Frame::Valid(_)))
            {
                Some(q) => {
                    return Err(damaged(&format!(
                        "the entry at offset {at} is not a valid frame, and a valid one follows at offset {q}"
                    )));
                }
                None => break,
            },
        }
    }
    Ok(Loaded {
        store: KeyStore {
            master_id,
            log_id,
            entries,
        },
        version: 2,
        valid_len: at as u64,
        torn_bytes: (bytes.len() - at) as u64,
    })
}

enum Frame {
    /// A frame whose length is in range and whose CRC matches, ending at this offset.
    Valid(usize),
    /// Not a frame: the file ends inside it, its length is out of range, or its CRC fails.
    Bad,
}

/// Whether a frame starts at `at`.
fn frame_at(bytes: &[u8], at: usize) -> Frame {
    let rest = &bytes[at..];
    let Some(len) = rest.get(..4) else {
        return Frame::Bad;
    };
    let len = u32::from_le_bytes(len.try_into().expect("4")) as usize;
    if !(MIN_ENTRY_BYTES..=MAX_ENTRY_BYTES).contains(&len) {
        return Frame::Bad;
    }
    let Some(frame) = rest.get(..4 + len + 4) else {
        return Frame::Bad;
    };
    let (covered, crc) = frame.split_at(4 + len);
    if crc32fast::hash(covered).to_le_bytes() != crc {
        return Frame::Bad;
    }
    Frame::Valid(at + frame.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_entries(master: &MasterKey) -> KeyStore {
        let mut store = KeyStore::empty(master.id(), [1; 16]);
        let key = Zeroizing::new([5u8; 32]);
        let wrapped = store.wrap(master, &[2; 16], "alice", &key).unwrap();
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
        store
    }

    /// Version 1's bytes (FORMAT.md §14.3, "Version 1"), as stores written before
    /// version 2 hold them.
    fn v1_bytes(store: &KeyStore) -> Vec<u8> {
        let mut out = MAGIC_V1.to_vec();
        out.extend_from_slice(&store.master_id);
        out.extend_from_slice(&store.log_id);
        out.extend_from_slice(&(store.entries.len() as u32).to_le_bytes());
        for entry in &store.entries {
            push_entry(&mut out, entry);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn bytes_round_trip_and_wrong_master_key_is_refused() {
        let master = MasterKey::from_bytes([3; 32]);
        let store = two_entries(&master);
        let bytes = store.to_bytes();
        let back = KeyStore::from_bytes(&bytes).unwrap();
        assert_eq!(back.store, store);
        assert_eq!((back.version, back.torn_bytes), (2, 0));
        assert_eq!(back.valid_len, bytes.len() as u64);
        assert_eq!(*back.store.unwrap_all(&master).unwrap()[&[2; 16]], [5; 32]);
        assert_eq!(
            back.store
                .unwrap_all(&MasterKey::from_bytes([4; 32]))
                .unwrap_err(),
            PrivacyError::WrongMasterKey
        );
    }

    #[test]
    fn version_1_is_still_read_and_any_damage_to_it_refused() {
        let master = MasterKey::from_bytes([3; 32]);
        let store = two_entries(&master);
        let bytes = v1_bytes(&store);
        let back = KeyStore::from_bytes(&bytes).unwrap();
        assert_eq!((back.store, back.version), (store, 1));
        for cut in 0..bytes.len() {
            assert!(KeyStore::from_bytes(&bytes[..cut]).is_err(), "{cut}");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(KeyStore::from_bytes(&flipped).is_err());
    }

    #[test]
    fn a_torn_last_frame_is_a_torn_tail_and_an_earlier_bad_frame_is_damage() {
        let master = MasterKey::from_bytes([3; 32]);
        let store = two_entries(&master);
        let bytes = store.to_bytes();
        let first_end = HEADER_V2_BYTES + FRAME_OVERHEAD + 1 + 16 + 2 + 5 + WRAPPED_BYTES;
        for cut in 0..bytes.len() {
            let read = KeyStore::from_bytes(&bytes[..cut]);
            if cut < HEADER_V2_BYTES {
                assert!(read.is_err(), "{cut}");
                continue;
            }
            let read = read.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            let whole = if cut >= first_end { 1 } else { 0 };
            assert_eq!(read.store.entries, store.entries[..whole], "{cut}");
            let end = if whole == 1 {
                first_end
            } else {
                HEADER_V2_BYTES
            };
            assert_eq!(read.valid_len, end as u64, "{cut}");
            assert_eq!(read.torn_bytes, (cut - end) as u64, "{cut}");
        }
        // Zeros where the last frame should be: its length reached the disk, its data not.
        let mut zeroed = bytes.clone();
        zeroed[first_end..].fill(0);
        let read = KeyStore::from_bytes(&zeroed).unwrap();
        assert_eq!(read.store.entries.len(), 1);
        // A flipped bit in the last frame reads as a torn append (the bytes are the same).
        let mut last = bytes.clone();
        *last.last_mut().unwrap() ^= 1;
        assert_eq!(KeyStore::from_bytes(&last).unwrap().torn_bytes, 30);
        // In an earlier frame, or the header, it is damage: the later frame proves it durable.
        for at in [3, 30, HEADER_V2_BYTES + 2, first_end - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1;
            let err = KeyStore::from_bytes(&flipped).unwrap_err();
            assert!(
                matches!(err, PrivacyError::DamagedKeyStore(_)),
                "{at}: {err}"
            );
        }
    }
}
