//! Erasure: a subject's keys destroyed durably, then a `privacy.erasure` event.
//!
//! Order, so that a crash at any step leaves the key fully present or fully gone, and an
//! erasure event only for a key that is gone:
//! 1. the store is rewritten without the key, its entry marked "erased, event pending"
//!    (fresh temp file, fdatasync, rename, directory fsync);
//! 2. the `privacy.erasure` event is appended and made durable;
//! 3. the store is rewritten with the entry marked "erased".
//!
//! A crash after 1 and before 3 is finished by the next writable open, which appends the
//! event of every pending entry (so after a crash between 2 and 3 the event can appear twice).

use super::PrivacyError;
use super::keystore::KeyState;
use super::protect::Vault;
use crate::AuditLog;
use crate::error::{Error, Result};
use crate::event::{Event, JsonText};

/// What [`AuditLog::erase`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureReport {
    /// The subject erased.
    pub subject: String,
    /// The ids (hex) of the keys destroyed.
    pub key_ids: Vec<String>,
    /// The sequence number of the `privacy.erasure` event.
    pub event_seq: u64,
}

impl Vault {
    /// Step 1: the subject's live keys out of the store, durably.
    fn destroy_keys(&self, subject: &str) -> Result<Vec<[u8; 16]>, PrivacyError> {
        let mut state = self.state.lock();
        let Some(store) = state.store.as_ref() else {
            return Err(PrivacyError::UnknownSubject(subject.to_owned()));
        };
        let mut next = store.clone();
        let mut ids = Vec::new();
        for entry in &mut next.entries {
            if entry.subject == subject && matches!(entry.state, KeyState::Live { .. }) {
                entry.state = KeyState::ErasedPending;
                ids.push(entry.key_id);
            }
        }
        if ids.is_empty() {
            return Err(PrivacyError::UnknownSubject(subject.to_owned()));
        }
        let written = next.write(self.fs.as_ref(), &self.dir);
        state.append_at = written.as_ref().ok().copied();
        written?;
        state.store = Some(next);
        state.reindex();
        Ok(ids)
    }

    /// Step 3: the entries' events are durable.
    fn mark_erased(&self, ids: &[[u8; 16]]) -> Result<(), PrivacyError> {
        let mut state = self.state.lock();
        let Some(mut next) = state.store.clone() else {
            return Ok(());
        };
        for entry in &mut next.entries {
            if ids.contains(&entry.key_id) {
                entry.state = KeyState::Erased;
            }
        }
        let written = next.write(self.fs.as_ref(), &self.dir);
        state.append_at = written.as_ref().ok().copied();
        written?;
        state.store = Some(next);
        state.reindex();
        Ok(())
    }

    /// Entries erased whose event is not known to be written, by subject.
    fn pending(&self) -> Vec<(String, Vec<[u8; 16]>)> {
        let state = self.state.lock();
        let mut out: Vec<(String, Vec<[u8; 16]>)> = Vec::new();
        for entry in state.store.iter().flat_map(|s| &s.entries) {
            if entry.state == KeyState::ErasedPending {
                match out.iter_mut().find(|(s, _)| *s == entry.subject) {
                    Some((_, ids)) => ids.push(entry.key_id),
                    None => out.push((entry.subject.clone(), vec![entry.key_id])),
                }
            }
        }
        out
    }
}

fn erasure_event(subject: &str, ids: &[[u8; 16]]) -> Event {
    let key_ids: Vec<String> = ids
        .iter()
        .map(|id| auditlog_format::merkle::hash::hex(id))
        .collect();
    let mut event = Event::new("auditlog", "privacy.erasure").entity("privacy.subject", subject);
    event.metadata = Some(JsonText::from(serde_json::json!({ "key_ids": key_ids })));
    event
}

impl AuditLog {
    /// The log's privacy side, if it was created with a policy.
    pub fn vault(&self) -> Option<&Vault> {
        self.privacy.as_deref()
    }

    /// Erases `subject`: destroys its keys durably (the key store is rewritten to a fresh
    /// file, synced, renamed over the old one, and the directory synced), then appends and
    /// waits for a `privacy.erasure` event. From then on the subject's protected values read
    /// `[erased]`; every record, root and proof is unchanged. Needs no master key.
    ///
    /// Errors: [`PrivacyError::UnknownSubject`] (nothing changed) if the subject has no live
    /// key, or the log has no policy; I/O errors of the store or the append.
    pub fn erase(&self, subject: &str) -> Result<ErasureReport> {
        let vault = self
            .vault()
            .ok_or_else(|| PrivacyError::UnknownSubject(subject.to_owned()))?;
        let ids = vault.destroy_keys(subject)?;
        let event_seq = self.append(&erasure_event(subject, &ids))?.wait()?.seq;
        self.sync()?;
        vault.mark_erased(&ids)?;
        Ok(ErasureReport {
            subject: subject.to_owned(),
            key_ids: ids
                .iter()
                .map(|id| auditlog_format::merkle::hash::hex(id))
                .collect(),
            event_seq,
        })
    }

    /// Appends the erasure event of every erasure a crash interrupted (see the module).
    pub(crate) fn finish_erasures(&self) -> Result<()> {
        let Some(vault) = self.vault() else {
            return Ok(());
        };
        for (subject, ids) in vault.pending() {
            self.append(&erasure_event(&subject, &ids))?.wait()?;
            self.sync()?;
            vault.mark_erased(&ids).map_err(Error::from)?;
        }
        Ok(())
    }
}
