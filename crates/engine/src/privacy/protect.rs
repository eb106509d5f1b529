//! [`Vault`]: the policy and subject keys of an open log; encrypts protected values on the
//! way in and reveals (or masks) them on the way out.

use super::PrivacyError;
use super::blind::{self, BlindKey, ProtectedMatch};
use super::keystore::{KeyEntry, KeyState, KeyStore, Loaded, MasterKey, SubjectKey, random};
use super::policy::{FieldPath, JsonRoot, POLICY_FILE, PrivacyPolicy};
use super::wire::{NONCE_BYTES, Sealed};
use crate::event::{Event, JsonText, Record};
use crate::fs::FileSystem;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use parking_lot::Mutex;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

const VALUE_AAD: &[u8] = b"auditlog value 1";

/// How protected values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Decrypted (needs the master key); `[erased]` once the subject is erased.
    Plaintext,
    /// Decrypted, then masked: `a***@example.com`, `203.0.113.0/24`, `J***`.
    Masked,
    /// Never decrypted: every protected value reads `[protected]` (or `[erased]`).
    Protected,
}

/// What one protected value turned out to be.
enum Opened {
    Plain(Zeroizing<String>),
    Erased,
    Protected,
}

#[derive(Debug)]
pub(crate) struct State {
    /// `None` until the first key is made (a log without protected values yet).
    pub store: Option<KeyStore>,
    /// Key id -> index into `store.entries`.
    by_id: HashMap<[u8; 16], usize>,
    /// Subject -> its live key id.
    live: HashMap<String, [u8; 16]>,
    /// Unwrapped live keys (empty without the master key).
    keys: HashMap<[u8; 16], SubjectKey>,
    /// The master key, if given (replaced by a rotation).
    master: Option<MasterKey>,
    /// Where the next new key is appended to the file: `None` when it must be rewritten
    /// whole first (a read-only vault, a version 1 file, no file yet, or after a failed
    /// write, whose tail is unknown).
    pub append_at: Option<u64>,
}

/// Nonces drawn from the OS in bulk (one call per [`NONCE_BATCH`]), each used once. Its own
/// lock, so that values are encrypted outside the vault's state lock.
#[derive(Debug, Default)]
struct NoncePool(Mutex<Vec<[u8; NONCE_BYTES]>>);

/// Nonces drawn from the operating system per call (3 KiB): one system call per ~40 events
/// with three protected fields instead of three per event.
const NONCE_BATCH: usize = 128;

impl NoncePool {
    fn take(&self) -> Result<[u8; NONCE_BYTES], PrivacyError> {
        let mut nonces = self.0.lock();
        if nonces.is_empty() {
            let mut bulk = vec![0u8; NONCE_BATCH * NONCE_BYTES];
            getrandom::fill(&mut bulk).map_err(|e| PrivacyError::Random(e.to_string()))?;
            *nonces = bulk
                .chunks_exact(NONCE_BYTES)
                .map(|c| c.try_into().expect("exact chunks"))
                .collect();
        }
        Ok(nonces.pop().expect("refilled"))
    }
}

/// One subject's key for the values of one event: its id, its cipher and its blind-index
/// key, built once per subject and event rather than once per value.
struct SubjectCipher<'s> {
    subject: &'s str,
    key_id: [u8; 16],
    cipher: XChaCha20Poly1305,
    blind: BlindKey,
}

impl State {
    fn new(
        store: Option<KeyStore>,
        keys: HashMap<[u8; 16], SubjectKey>,
        master: Option<MasterKey>,
        append_at: Option<u64>,
    ) -> Self {
        let mut state = State {
            master,
            store,
            by_id: HashMap::new(),
            live: HashMap::new(),
            keys,
            append_at,
        };
        state.reindex();
        state
    }

    pub fn reindex(&mut self) {
        self.by_id.clear();
        self.live.clear();
        for (i, entry) in self.store.iter().flat_map(|s| s.entries.iter()).enumerate() {
            self.by_id.insert(entry.key_id, i);
            if matches!(entry.state, KeyState::Live { .. }) {
                self.live.insert(entry.subject.clone(), entry.key_id);
            }
        }
        let live: std::collections::HashSet<_> = self.live.values().copied().collect();
        self.keys.retain(|id, _| live.contains(id));
    }
}

/// The privacy side of a log: its policy, its key store and (if given) its master key.
///
/// An [`AuditLog`](crate::AuditLog) created with a policy holds one
/// ([`AuditLog::vault`](crate::AuditLog::vault)); [`Vault::open`] opens one beside any reader
/// (a [`ReadOnlyLog`](crate::ReadOnlyLog), an export) to reveal its records.
#[derive(Debug)]
pub struct Vault {
    pub(crate) dir: PathBuf,
    pub(crate) fs: Arc<dyn FileSystem>,
    log_id: [u8; 16],
    policy: PrivacyPolicy,
    /// Each policy field's path as text (for the associated data), made once.
    path_texts: Vec<String>,
    pub(crate) state: Mutex<State>,
    nonces: NoncePool,
    /// The torn append this (writable) open cut from the key store, if any.
    torn_tail_cut: Option<KeyStoreCut>,
}

/// A torn append cut from the key store by a writable open: the key it would have held was
/// never durable, so no value was encrypted with it (docs/FORMAT.md §14.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStoreCut {
    /// Where the valid entries end: the file's length after the cut.
    pub offset: u64,
    /// The torn bytes removed.
    pub bytes_removed: u64,
}

impl Vault {
    /// Opens the vault of the log in `dir` for reading: `Ok(None)` if the log has no privacy
    /// policy. Without `master`, protected values read as `[protected]`.
    ///
    /// Errors: [`PrivacyError::WrongMasterKey`], a damaged policy or key store.
    pub fn open(
        dir: impl AsRef<Path>,
        master: Option<MasterKey>,
    ) -> Result<Option<Self>, PrivacyError> {
        let dir = dir.as_ref();
        let meta = crate::meta::LogMeta::read(dir)
            .map_err(|e| PrivacyError::Io(format!("reading the log's identity: {e}")))?;
        let fs: Arc<dyn FileSystem> = Arc::new(crate::fs::StdFileSystem);
        Self::load(fs, dir, meta.log_id, master, false)
    }

    pub(crate) fn load(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        log_id: [u8; 16],
        master: Option<MasterKey>,
        writable: bool,
    ) -> Result<Option<Self>, PrivacyError> {
        let Some(policy) = read_policy(dir)? else {
            return Ok(None);
        };
        if writable {
            // An unfinished store write (it may hold any version of the keys).
            let tmp = dir.join(format!("{}.tmp", super::KEYS_FILE));
            if tmp.exists() {
                fs.remove_file(&tmp)
                    .and_then(|()| fs.sync_dir(dir))
                    .map_err(|e| PrivacyError::Io(format!("removing {}: {e}", tmp.display())))?;
            }
        }
        let loaded = KeyStore::read(dir)?;
        if let Some(loaded) = &loaded
            && loaded.store.log_id != log_id
        {
            return Err(PrivacyError::DamagedKeyStore(
                "it belongs to another log".into(),
            ));
        }
        let keys = match (&loaded, &master) {
            (Some(loaded), Some(master)) => loaded.store.unwrap_all(master)?,
            _ => HashMap::new(),
        };
        let (store, append_at, torn_tail_cut) = match loaded {
            None => (None, None, None),
            Some(loaded) if writable => {
                let (append_at, cut) = Self::ready_to_append(fs.as_ref(), dir, &loaded)?;
                (Some(loaded.store), Some(append_at), cut)
            }
            Some(loaded) => (Some(loaded.store), None, None),
        };
        let path_texts = policy.fields().iter().map(|f| f.path.to_string()).collect();
        Ok(Some(Vault {
            dir: dir.to_path_buf(),
            fs,
            log_id,
            policy,
            path_texts,
            state: Mutex::new(State::new(store, keys, master, append_at)),
            nonces: NoncePool::default(),
            torn_tail_cut,
        }))
    }

    /// Makes the store a clean version 2 file that new keys can be appended to, for a
    /// writable open: a torn last append is cut by rewriting the store whole from its valid
    /// entries (never edited in place), and so is a version 1 file. Returns the offset of the
    /// next append and the cut, if there was one.
    fn ready_to_append(
        fs: &dyn FileSystem,
        dir: &Path,
        loaded: &Loaded,
    ) -> Result<(u64, Option<KeyStoreCut>), PrivacyError> {
        if loaded.version == 2 && loaded.torn_bytes == 0 {
            return Ok((loaded.valid_len, None));
        }
        let len = loaded.store.write(fs, dir)?;
        let cut = (loaded.torn_bytes > 0).then_some(KeyStoreCut {
            offset: loaded.valid_len,
            bytes_removed: loaded.torn_bytes,
        });
        Ok((len, cut))
    }

    /// The torn append a writable open cut from the key store, if any.
    pub fn torn_tail_cut(&self) -> Option<&KeyStoreCut> {
        self.torn_tail_cut.as_ref()
    }

    /// The log's policy.
    pub fn policy(&self) -> &PrivacyPolicy {
        &self.policy
    }

    /// Whether this vault holds the master key (and so can decrypt and encrypt).
    pub fn has_master_key(&self) -> bool {
        self.state.lock().master.is_some()
    }

    /// The subjects with a live key, sorted.
    pub fn subjects(&self) -> Vec<String> {
        let mut all: Vec<String> = self.state.lock().live.keys().cloned().collect();
        all.sort();
        all
    }

    fn aad(&self, key_id: &[u8; 16], subject: &str, path: &str) -> Vec<u8> {
        value_aad(&self.log_id, key_id, subject, path)
    }

    /// A filter for the records whose protected value at `path` (a field of the policy,
    /// as it spells it: `actor.email`, `after.email`) equals `value`, ignoring case and
    /// surrounding whitespace: give it to [`Query::protected`](crate::query::Query::protected).
    /// It tries the live key of `subject` if one is named, else of every subject with a live
    /// key (a token per subject). An erased subject has no key, so its values never match.
    ///
    /// Errors: [`PrivacyError::NotProtected`] if the policy does not protect `path`;
    /// [`PrivacyError::LookupNeedsMasterKey`] without the master key.
    pub fn lookup(
        &self,
        path: &str,
        value: &str,
        subject: Option<&str>,
    ) -> Result<ProtectedMatch, PrivacyError> {
        let parsed = FieldPath::parse(path).ok();
        let Some(field) = (self.policy.fields().iter()).find(|f| Some(&f.path) == parsed.as_ref())
        else {
            return Err(PrivacyError::NotProtected(format!(
                "{path} (this log protects {})",
                self.path_texts.join(", ")
            )));
        };
        let state = self.state.lock();
        if state.master.is_none() {
            return Err(PrivacyError::LookupNeedsMasterKey);
        }
        let keys = (state.live.iter())
            .filter(|(s, _)| subject.is_none_or(|wanted| wanted == s.as_str()))
            .filter_map(|(s, id)| state.keys.get(id).map(|k| (s.clone(), *id, k.clone())))
            .collect();
        Ok(ProtectedMatch::new(
            field.path.clone(),
            field.subject,
            self.log_id,
            value,
            keys,
        ))
    }

    /// The live key of `subject`, made (and appended to the store durably) if it has none.
    fn key_for(
        &self,
        state: &mut State,
        subject: &str,
    ) -> Result<([u8; 16], XChaCha20Poly1305, BlindKey), PrivacyError> {
        if let Some(id) = state.live.get(subject)
            && let Some(key) = state.keys.get(id)
        {
            return Ok((
                *id,
                XChaCha20Poly1305::new(&(**key).into()),
                blind::blind_key(key),
            ));
        }
        let master = state.master.clone().expect("checked by the caller");
        let master = &master;
        if subject.len() > u16::MAX as usize {
            return Err(PrivacyError::BadPolicy(
                "a subject id is longer than 65535 bytes".into(),
            ));
        }
        let key: SubjectKey = Zeroizing::new(random()?);
        let key_id: [u8; 16] = random()?;
        let store = state
            .store
            .get_or_insert_with(|| KeyStore::empty(master.id(), self.log_id));
        let entry = KeyEntry {
            key_id,
            subject: subject.to_owned(),
            state: KeyState::Live {
                wrapped: store.wrap(master, &key_id, subject, &key)?,
            },
        };
        // Durable before any value it encrypts can be acknowledged: one framed entry
        // appended and fdatasynced, or (the first key, a version 1 file, after a failed
        // write) the whole store rewritten with it.
        let written = match state.append_at {
            Some(at) => KeyStore::append(self.fs.as_ref(), &self.dir, at, &entry),
            None => {
                let mut next = store.clone();
                next.entries.push(entry.clone());
                next.write(self.fs.as_ref(), &self.dir)
            }
        };
        state.append_at = written.as_ref().ok().copied();
        written?;
        let store = state.store.as_mut().expect("made above");
        state.by_id.insert(key_id, store.entries.len());
        state.live.insert(subject.to_owned(), key_id);
        store.entries.push(entry);
        state.keys.insert(key_id, key);
        let key = &state.keys[&key_id];
        Ok((
            key_id,
            XChaCha20Poly1305::new(&(**key).into()),
            blind::blind_key(key),
        ))
    }

    /// Encrypts one value and makes its blind-index token (no lock held: the key is the
    /// caller's copy).
    fn seal(
        &self,
        key: &SubjectCipher<'_>,
        field: &FieldPath,
        path: &str,
        plaintext: &str,
    ) -> Result<String, PrivacyError> {
        let nonce = self.nonces.take()?;
        let key_id = key.key_id;
        let token = blind::token(
            &key.blind,
            &self.log_id,
            path,
            &blind::normalize(field, plaintext),
        );
        let plaintext = plaintext.as_bytes();
        let aad = self.aad(&key_id, key.subject, path);
        let ciphertext = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| PrivacyError::Random("encryption failed".into()))?;
        Ok(Sealed {
            key_id,
            token: Some(token),
            nonce,
            ciphertext,
        }
        .encode())
    }

    /// `event` with every protected value replaced by its wire form; borrowed when it has
    /// none. This is the one hook of the append path: it runs before the event is encoded and
    /// hashed, in the appending thread (not the writer's). The vault's lock is held only to
    /// look up (or make) the subjects' keys; the values are encrypted after it is released,
    /// so appenders in several threads encrypt in parallel.
    pub fn protect<'e>(&self, event: &'e Event) -> Result<Cow<'e, Event>, PrivacyError> {
        let present: Vec<usize> = (0..self.policy.fields().len())
            .filter(|&i| is_present(event, &self.policy.fields()[i].path))
            .collect();
        if present.is_empty() {
            return Ok(Cow::Borrowed(event));
        }
        // The subjects' keys, under the lock (a new subject's key is made durable here).
        let mut keys: Vec<SubjectCipher<'e>> = Vec::with_capacity(2);
        {
            let mut state = self.state.lock();
            if state.master.is_none() {
                let names: Vec<String> = present
                    .iter()
                    .map(|&i| self.path_texts[i].clone())
                    .collect();
                return Err(PrivacyError::MasterKeyRequired(names.join(", ")));
            }
            for &i in &present {
                let subject = self.policy.fields()[i].subject.subject_of(event);
                if keys.iter().all(|k| k.subject != subject) {
                    let (key_id, cipher, blind) = self.key_for(&mut state, subject)?;
                    keys.push(SubjectCipher {
                        subject,
                        key_id,
                        cipher,
                        blind,
                    });
                }
            }
        }
        let mut out = event.clone();
        for i in present {
            let field = &self.policy.fields()[i];
            let path = self.path_texts[i].as_str();
            let subject = field.subject.subject_of(event);
            let key = keys
                .iter()
                .find(|k| k.subject == subject)
                .expect("looked up above");
            if let Some(slot) = string_slot(&mut out, &field.path) {
                if let Some(value) = slot.as_ref() {
                    let sealed = self.seal(key, &field.path, path, value)?;
                    *slot = Some(sealed);
                }
                continue;
            }
            let FieldPath::Json {
                root,
                keys: json_keys,
            } = &field.path
            else {
                unreachable!("every other path is a string slot")
            };
            let slot = json_slot(&mut out, *root);
            let Some(text) = slot.as_ref() else { continue };
            let mut failure = None;
            let replaced = replace_at(text.as_str(), json_keys, &mut |raw| match self.seal(
                key,
                &field.path,
                path,
                raw,
            ) {
                Ok(s) => Some(json_string(&s)),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            if let Some(new) = replaced {
                *slot =
                    Some(JsonText::try_from(new).expect("a JSON object with a string replaced"));
            }
        }
        Ok(Cow::Owned(out))
    }

    fn open_value(
        &self,
        state: &State,
        subject: &str,
        path: &str,
        stored: &str,
        mode: Reveal,
    ) -> Opened {
        let Ok(sealed) = Sealed::decode(stored) else {
            return Opened::Protected;
        };
        let Some(&index) = state.by_id.get(&sealed.key_id) else {
            return Opened::Protected;
        };
        let entry = &state.store.as_ref().expect("indexed").entries[index];
        if !matches!(entry.state, KeyState::Live { .. }) {
            return Opened::Erased;
        }
        if mode == Reveal::Protected {
            return Opened::Protected;
        }
        let Some(key) = state.keys.get(&sealed.key_id) else {
            return Opened::Protected;
        };
        let cipher = XChaCha20Poly1305::new(&(**key).into());
        let aad = self.aad(&sealed.key_id, subject, path);
        match cipher.decrypt(
            &XNonce::from(sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad,
            },
        ) {
            Ok(plain) => match String::from_utf8(plain) {
                Ok(text) => Opened::Plain(Zeroizing::new(text)),
                Err(_) => Opened::Protected,
            },
            Err(_) => Opened::Protected,
        }
    }

    /// Re-wraps every live subject key with `new` and records `new` as the store's master
    /// key, in one crash-safe rewrite of the store: after a crash the store is wrapped by the
    /// old key or by the new one, whole. Keep the old key until this returns. Returns the
    /// number of keys re-wrapped.
    ///
    /// Errors: [`PrivacyError::MasterKeyRequired`] if this vault has no (old) master key.
    pub fn rotate_master_key(&self, new: MasterKey) -> Result<usize, PrivacyError> {
        let mut state = self.state.lock();
        if state.master.is_none() {
            return Err(PrivacyError::MasterKeyRequired(
                "rotating the master key needs the current one".into(),
            ));
        }
        let mut next = state
            .store
            .clone()
            .unwrap_or_else(|| KeyStore::empty(new.id(), self.log_id));
        next.master_id = new.id();
        let mut count = 0;
        for i in 0..next.entries.len() {
            let entry = &next.entries[i];
            if !matches!(entry.state, KeyState::Live { .. }) {
                continue;
            }
            let key = state.keys.get(&entry.key_id).ok_or_else(|| {
                PrivacyError::DamagedKeyStore("a live key was not unwrapped".into())
            })?;
            let wrapped = next.wrap(&new, &entry.key_id, &entry.subject, key)?;
            next.entries[i].state = KeyState::Live { wrapped };
            count += 1;
        }
        let written = next.write(self.fs.as_ref(), &self.dir);
        state.append_at = written.as_ref().ok().copied();
        written?;
        state.store = Some(next);
        state.master = Some(new);
        Ok(count)
    }

    /// Whether `event` holds data of `subject`: its actor is the subject, or one of its
    /// protected values belongs to the subject (`entity.id` for paths whose subject is the
    /// entity). What a data-subject access export (GDPR art. 15) selects.
    pub fn holds_subject(&self, event: &Event, subject: &str) -> bool {
        event.actor.id == subject
            || self
                .policy
                .fields()
                .iter()
                .any(|f| f.subject.subject_of(event) == subject && is_present(event, &f.path))
    }

    /// `record` with its protected values revealed as `mode` says. Values that do not open
    /// (no master key, a key id this store does not know, a forged value) read
    /// `[protected]`; those of an erased subject `[erased]`.
    pub fn reveal(&self, record: &Record, mode: Reveal) -> Record {
        let mut out = record.clone();
        let event = &record.event;
        let state = self.state.lock();
        for (field, path) in self.policy.fields().iter().zip(&self.path_texts) {
            let subject = field.subject.subject_of(event);
            if let Some(slot) = string_slot(&mut out.event, &field.path) {
                if let Some(stored) = slot.as_ref() {
                    let shown = match self.open_value(&state, subject, path, stored, mode) {
                        Opened::Plain(text) if mode == Reveal::Masked => {
                            super::mask::mask_text(&field.path, &text)
                        }
                        Opened::Plain(text) => text.to_string(),
                        Opened::Erased => "[erased]".into(),
                        Opened::Protected => "[protected]".into(),
                    };
                    *slot = Some(shown);
                }
                continue;
            }
            let FieldPath::Json { root, keys } = &field.path else {
                unreachable!("every other path is a string slot")
            };
            let slot = json_slot(&mut out.event, *root);
            let Some(text) = slot.as_ref() else { continue };
            let replaced = replace_at(text.as_str(), keys, &mut |raw| {
                let stored: String = serde_json::from_str(raw).unwrap_or_default();
                Some(
                    match self.open_value(&state, subject, path, &stored, mode) {
                        Opened::Plain(json) if mode == Reveal::Masked => {
                            super::mask::mask_json(&field.path, &json)
                        }
                        Opened::Plain(json) if RawValue::from_string(json.to_string()).is_ok() => {
                            json.to_string()
                        }
                        Opened::Plain(_) | Opened::Protected => json_string("[protected]"),
                        Opened::Erased => json_string("[erased]"),
                    },
                )
            });
            if let Some(new) = replaced
                && let Ok(text) = JsonText::try_from(new)
            {
                *slot = Some(text);
            }
        }
        out
    }
}

/// The associated data of a protected value (docs/FORMAT.md §14.2).
pub(crate) fn value_aad(
    log_id: &[u8; 16],
    key_id: &[u8; 16],
    subject: &str,
    path: &str,
) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VALUE_AAD.len() + 34 + subject.len() + path.len());
    aad.extend_from_slice(VALUE_AAD);
    aad.extend_from_slice(log_id);
    aad.extend_from_slice(key_id);
    aad.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(path.as_bytes());
    aad
}

fn read_policy(dir: &Path) -> Result<Option<PrivacyPolicy>, PrivacyError> {
    match std::fs::read_to_string(dir.join(POLICY_FILE)) {
        Ok(text) => PrivacyPolicy::from_text(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PrivacyError::Io(format!("reading {POLICY_FILE}: {e}"))),
    }
}

/// Writes the policy of a new log (before its first record).
pub(crate) fn write_policy(
    fs: &dyn FileSystem,
    dir: &Path,
    policy: &PrivacyPolicy,
) -> Result<(), PrivacyError> {
    crate::fs::write_file_durably(fs, &dir.join(POLICY_FILE), policy.to_text().as_bytes())
        .map_err(|e| PrivacyError::Io(format!("writing {POLICY_FILE}: {e}")))
}

/// Checks the policy asked for against the one stored with an existing log.
pub(crate) fn check_policy(dir: &Path, asked: &PrivacyPolicy) -> Result<(), PrivacyError> {
    match read_policy(dir)? {
        Some(stored) if &stored == asked => Ok(()),
        Some(_) => Err(PrivacyError::BadPolicy(
            "differs from the policy this log was created with (a policy is fixed at creation)"
                .into(),
        )),
        None => Err(PrivacyError::BadPolicy(
            "this log was created without a privacy policy; one can only be set on a new log"
                .into(),
        )),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string prints")
}

fn string_slot<'e>(event: &'e mut Event, path: &FieldPath) -> Option<&'e mut Option<String>> {
    match path {
        FieldPath::ActorName => Some(&mut event.actor.name),
        FieldPath::ActorEmail => Some(&mut event.actor.email),
        FieldPath::EntityName => event.entity.as_mut().map(|e| &mut e.name),
        FieldPath::Ip => Some(&mut event.ip),
        FieldPath::UserAgent => Some(&mut event.user_agent),
        FieldPath::SessionId => Some(&mut event.session_id),
        FieldPath::ErrorMessage => Some(&mut event.error_message),
        FieldPath::Json { .. } => None,
    }
}

fn json_slot(event: &mut Event, root: JsonRoot) -> &mut Option<JsonText> {
    match root {
        JsonRoot::Before => &mut event.before,
        JsonRoot::After => &mut event.after,
        JsonRoot::Metadata => &mut event.metadata,
    }
}

fn is_present(event: &Event, path: &FieldPath) -> bool {
    let json = match path {
        FieldPath::ActorName => return event.actor.name.is_some(),
        FieldPath::ActorEmail => return event.actor.email.is_some(),
        FieldPath::EntityName => return event.entity.as_ref().is_some_and(|e| e.name.is_some()),
        FieldPath::Ip => return event.ip.is_some(),
        FieldPath::UserAgent => return event.user_agent.is_some(),
        FieldPath::SessionId => return event.session_id.is_some(),
        FieldPath::ErrorMessage => return event.error_message.is_some(),
        FieldPath::Json {
            root: JsonRoot::Before,
            ..
        } => &event.before,
        FieldPath::Json {
            root: JsonRoot::After,
            ..
        } => &event.after,
        FieldPath::Json {
            root: JsonRoot::Metadata,
            ..
        } => &event.metadata,
    };
    let FieldPath::Json { keys, .. } = path else {
        unreachable!("string fields returned above")
    };
    json.as_ref()
        .is_some_and(|text| replace_at(text.as_str(), keys, &mut |_| Some(String::new())).is_some())
}

/// An object's members in their order, values as raw text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// `text` (a JSON value) with the value at `keys` replaced by `f(its raw text)`, members in
/// their order and every other value's text as it was; `None` if there is no value there (or
/// `f` declines). Keys name object members; a path through anything else finds nothing.
fn replace_at(
    text: &str,
    keys: &[String],
    f: &mut dyn FnMut(&str) -> Option<String>,
) -> Option<String> {
    let Some((first, rest)) = keys.split_first() else {
        return f(text);
    };
    let Members(members) = serde_json::from_str(text).ok()?;
    // Every member of that name: a duplicate key must not keep a plaintext copy.
    let mut replaced = Vec::with_capacity(members.len());
    let mut found = false;
    for (key, value) in &members {
        if key == first
            && let Some(new) = replace_at(value.get(), rest, f)
        {
            replaced.push(Some(new));
            found = true;
        } else {
            replaced.push(None);
        }
    }
    if !found {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 64);
    out.push('{');
    for (i, ((key, value), new)) in members.iter().zip(&replaced).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(key));
        out.push(':');
        out.push_str(new.as_deref().unwrap_or(value.get()));
    }
    out.push('}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_at_keeps_order_and_other_text() {
        let text = r#"{"z":1.50,"a":{"email":"x@y","n":[1, 2]},"b":true}"#;
        let out = replace_at(text, &["a".into(), "email".into()], &mut |raw| {
            assert_eq!(raw, r#""x@y""#);
            Some("\"E\"".into())
        })
        .unwrap();
        assert_eq!(out, r#"{"z":1.50,"a":{"email":"E","n":[1, 2]},"b":true}"#);
        assert!(
            replace_at(text, &["a".into(), "missing".into()], &mut |_| Some(
                "1".into()
            ))
            .is_none()
        );
        assert!(
            replace_at(text, &["z".into(), "deeper".into()], &mut |_| Some(
                "1".into()
            ))
            .is_none()
        );
    }
}
