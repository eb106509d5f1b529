//! Privacy: personal data encrypted per data subject, erasable without breaking a proof
//! (docs/PRIVACY.md explains the model, docs/FORMAT.md the bytes).
//!
//! A log created with a [`PrivacyPolicy`] encrypts each protected value of an event with its
//! subject's key (XChaCha20-Poly1305, a random 24-byte nonce per value, associated data
//! binding the log id, the subject and the field) before the event is encoded and hashed, so
//! the Merkle tree commits to the ciphertext. Subject keys live in the key store
//! `privacy.keys`, each wrapped by a [`MasterKey`] kept outside the log directory. Erasing a
//! subject ([`AuditLog::erase`](crate::AuditLog::erase)) deletes its key: every record, root
//! and proof stays byte for byte what it was, and the subject's values read as `[erased]`.

mod blind;
mod erase;
pub(crate) mod keystore;
mod mask;
mod policy;
mod protect;
mod wire;

pub use blind::ProtectedMatch;
pub use erase::ErasureReport;
pub use keystore::{KEYS_FILE, MasterKey};
pub use policy::{FieldPath, JsonRoot, POLICY_FILE, PrivacyPolicy, ProtectedField, SubjectField};
pub use protect::{KeyStoreCut, Reveal, Vault};
pub(crate) use protect::{check_policy, write_policy};
pub use wire::{PREFIX as WIRE_PREFIX, Sealed, WireError};

/// What a privacy operation can fail with. Each variant says its remedy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// The master key given is not the one that wrapped the log's subject keys.
    /// Remedy: pass the log's master key file (`--master-key-file`).
    #[error(
        "wrong master key: it is not the key this log's subject keys are wrapped with \
         (pass the log's own --master-key-file)"
    )]
    WrongMasterKey,
    /// An event has protected values but the log was opened without a master key.
    /// Remedy: open the log with its master key to append such events.
    #[error(
        "this event has protected fields ({0}) and the log was opened without a master key: \
         pass --master-key-file (or AUDITLOG_MASTER_KEY_FILE)"
    )]
    MasterKeyRequired(String),
    /// The master key file cannot be read or is not 32 bytes.
    #[error("master key file: {0}")]
    MasterKeyFile(String),
    /// The policy given or stored is not valid, or differs from the log's.
    #[error("privacy policy: {0}")]
    BadPolicy(String),
    /// `privacy.keys` is damaged. Remedy: restore it from a backup (without it the protected
    /// values of every subject stay unreadable).
    #[error("key store {KEYS_FILE} is damaged: {0}")]
    DamagedKeyStore(String),
    /// A lookup by value names a field the log's policy does not protect. Remedy: look it
    /// up with an ordinary filter, or name one of the protected fields listed.
    #[error("not a protected field: {0}")]
    NotProtected(String),
    /// A lookup by a protected value needs the subject keys, so the master key.
    #[error(
        "looking up a protected value needs the log's master key: pass --master-key-file \
         (or AUDITLOG_MASTER_KEY_FILE)"
    )]
    LookupNeedsMasterKey,
    /// The subject has no key in this log (never seen, or the log has no privacy policy).
    #[error("no key for subject {0:?} in this log")]
    UnknownSubject(String),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// Reading or writing the key store failed.
    #[error("{0}")]
    Io(String),
}
