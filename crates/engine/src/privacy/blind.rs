//! The keyed blind index: lookups by a protected value ("events of alice@example.com")
//! that stop matching once the subject's key is erased (docs/PRIVACY.md, "Lookups by a
//! protected value"; docs/FORMAT.md §14.2).
//!
//! Every protected value written carries a 16-byte token: keyed BLAKE3, under a key derived
//! from its subject's key, of the log id, the field path and the normalized value. A lookup
//! computes the token of the value asked for under each live subject key (or the one subject
//! named) and matches the records whose value at that path carries it, then confirms each
//! match by decrypting it. Nobody without the subject key can compute a token, so once the
//! key is erased no lookup can match its values, and the tokens left in the records say
//! nothing about them. No index file or summary holds a token or a plaintext: the lookup
//! reads the records its other filters select.

use super::keystore::SubjectKey;
use super::policy::{FieldPath, JsonRoot, SubjectField};
use super::wire::{Sealed, TOKEN_BYTES};
use crate::index::Fields;
use crate::query::{Field, FieldText, JsonField};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::sync::Arc;
use zeroize::Zeroizing;

const BLIND_KEY_CONTEXT: &str = "auditlog 2026-12 privacy blind index key";

/// The key a subject's tokens are made with: a BLAKE3 key derivation from the subject key,
/// domain-separated from its use for encryption.
pub(crate) type BlindKey = Zeroizing<[u8; 32]>;

pub(crate) fn blind_key(subject_key: &SubjectKey) -> BlindKey {
    Zeroizing::new(blake3::derive_key(BLIND_KEY_CONTEXT, subject_key.as_ref()))
}

/// The token of `normalized` (see [`normalize`]) at `path` in the log `log_id`.
pub(crate) fn token(
    key: &BlindKey,
    log_id: &[u8; 16],
    path: &str,
    normalized: &str,
) -> [u8; TOKEN_BYTES] {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(log_id);
    hasher.update(&(path.len() as u16).to_le_bytes());
    hasher.update(path.as_bytes());
    hasher.update(normalized.as_bytes());
    let mut out = [0u8; TOKEN_BYTES];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..TOKEN_BYTES]);
    out
}

/// The form a value is compared in: surrounding whitespace dropped, lowercased (Unicode), so
/// `Alice@Example.com ` finds `alice@example.com`. `plaintext` is what is encrypted: a string
/// field's text, or a JSON path's JSON text, of which a string compares as its content and
/// any other value as its compact JSON (`42`, `true`).
pub(crate) fn normalize(path: &FieldPath, plaintext: &str) -> Zeroizing<String> {
    if let FieldPath::Json { .. } = path
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(plaintext)
    {
        let text = Zeroizing::new(match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        return Zeroizing::new(text.trim().to_lowercase());
    }
    Zeroizing::new(plaintext.trim().to_lowercase())
}

/// One subject a lookup can match: its live key and the token of the value asked for.
struct Candidate {
    key_id: [u8; 16],
    token: [u8; TOKEN_BYTES],
    key: SubjectKey,
}

struct Lookup {
    path: FieldPath,
    path_text: String,
    /// The same path as a query field, for JSON paths (read through [`FieldText`]).
    json_field: Option<Field>,
    subject_field: SubjectField,
    log_id: [u8; 16],
    value: Zeroizing<String>,
    /// By subject id.
    candidates: HashMap<String, Candidate>,
}

/// A filter on a protected value, made by [`Vault::lookup`](super::Vault::lookup) and given
/// to [`Query::protected`](crate::query::Query::protected): only records whose value at the
/// path equals the value asked for (ignoring case and surrounding whitespace) under a live
/// subject key. It holds the subject keys it needs (wiped when dropped) and prints only its
/// path and tokens, never the value.
#[derive(Clone)]
pub struct ProtectedMatch(Arc<Lookup>);

impl ProtectedMatch {
    pub(crate) fn new(
        path: FieldPath,
        subject_field: SubjectField,
        log_id: [u8; 16],
        value: &str,
        keys: Vec<(String, [u8; 16], SubjectKey)>,
    ) -> Self {
        let path_text = path.to_string();
        let value = Zeroizing::new(value.trim().to_lowercase());
        let candidates = keys
            .into_iter()
            .map(|(subject, key_id, key)| {
                let token = token(&blind_key(&key), &log_id, &path_text, &value);
                (subject, Candidate { key_id, token, key })
            })
            .collect();
        let json_field = match &path {
            FieldPath::Json { root, keys } => Some(Field::Json(
                match root {
                    JsonRoot::Before => JsonField::Before,
                    JsonRoot::After => JsonField::After,
                    JsonRoot::Metadata => JsonField::Metadata,
                },
                keys.clone(),
            )),
            _ => None,
        };
        ProtectedMatch(Arc::new(Lookup {
            path,
            path_text,
            json_field,
            subject_field,
            log_id,
            value,
            candidates,
        }))
    }

    /// How many subjects' keys the lookup tries (0 once they are all erased: it matches
    /// nothing).
    pub fn subjects(&self) -> usize {
        self.0.candidates.len()
    }

    /// The tokens, sorted, with their subjects: what identifies this filter.
    fn tokens(&self) -> Vec<(&str, &[u8; TOKEN_BYTES])> {
        let mut all: Vec<_> = (self.0.candidates.iter())
            .map(|(s, c)| (s.as_str(), &c.token))
            .collect();
        all.sort();
        all
    }

    /// Whether `record`'s value at the path is the one asked for: its token is the
    /// subject's, and it decrypts to the value (a version 1 value, without a token, is
    /// decrypted and compared).
    pub(crate) fn holds(&self, record: &(impl Fields + FieldText)) -> bool {
        let l = &*self.0;
        let stored = match &l.json_field {
            Some(field) => record.text_of(field),
            None => record.protectable(&l.path).map(std::borrow::Cow::Borrowed),
        };
        let Some(stored) = stored else { return false };
        let Ok(sealed) = Sealed::decode(&stored) else {
            return false;
        };
        let subject = match (l.subject_field, record.entity()) {
            (SubjectField::EntityId, Some((_, id))) => id,
            _ => record.actor_id(),
        };
        let Some(c) = l.candidates.get(subject) else {
            return false;
        };
        if sealed.key_id != c.key_id || sealed.token.is_some_and(|t| t != c.token) {
            return false;
        }
        // Confirmed by decrypting: a token copied beside another value cannot match.
        let aad = super::protect::value_aad(&l.log_id, &c.key_id, subject, &l.path_text);
        let cipher = XChaCha20Poly1305::new(&(*c.key).into());
        let Ok(plain) = cipher.decrypt(
            &XNonce::from(sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad,
            },
        ) else {
            return false;
        };
        let plain = Zeroizing::new(plain);
        std::str::from_utf8(&plain).is_ok_and(|text| *normalize(&l.path, text) == *l.value)
    }
}

impl std::fmt::Debug for ProtectedMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens: Vec<String> = (self.tokens().into_iter())
            .map(|(s, t)| format!("{s}:{}", auditlog_format::merkle::hash::hex(t)))
            .collect();
        f.debug_struct("ProtectedMatch")
            .field("path", &self.0.path_text)
            .field("tokens", &tokens)
            .finish()
    }
}

impl PartialEq for ProtectedMatch {
    fn eq(&self, other: &Self) -> bool {
        self.0.path == other.0.path && self.tokens() == other.tokens()
    }
}

impl Eq for ProtectedMatch {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    #[test]
    fn tokens_depend_on_key_log_path_and_normalized_value() {
        let path = FieldPath::ActorEmail;
        let key = blind_key(&Zeroizing::new([1; 32]));
        let other = blind_key(&Zeroizing::new([2; 32]));
        let email = normalize(&path, "  Alice@Example.COM ");
        assert_eq!(*email, "alice@example.com");
        let t = token(&key, &[0; 16], "actor.email", &email);
        assert_eq!(t, token(&key, &[0; 16], "actor.email", "alice@example.com"));
        assert_ne!(t, token(&other, &[0; 16], "actor.email", &email));
        assert_ne!(t, token(&key, &[1; 16], "actor.email", &email));
        assert_ne!(t, token(&key, &[0; 16], "after.email", &email));
        assert_ne!(t, token(&key, &[0; 16], "actor.email", "bob@example.com"));
        let json = FieldPath::parse("after.email").unwrap();
        assert_eq!(
            *normalize(&json, r#""Alice@Example.com""#),
            "alice@example.com"
        );
        assert_eq!(*normalize(&json, "42"), "42");
        assert_eq!(*normalize(&json, r#"{"A": 1}"#), r#"{"a":1}"#);
    }

    /// A record of `actor` whose `actor.email` is `plaintext` sealed under `key` with
    /// `token` (`None`: the version 1 form).
    fn record(actor: &str, key: &SubjectKey, plaintext: &str, token: Option<[u8; 16]>) -> Record {
        let aad = super::super::protect::value_aad(&[0; 16], &[2; 16], actor, "actor.email");
        let ciphertext = XChaCha20Poly1305::new(&(**key).into())
            .encrypt(
                &XNonce::from([7; 24]),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap();
        let sealed = Sealed {
            key_id: [2; 16],
            token,
            nonce: [7; 24],
            ciphertext,
        };
        Record {
            seq: 0,
            recorded_at: crate::Timestamp::from_unix_secs(1),
            event: crate::Event::new(actor, "login").actor_email(sealed.encode()),
        }
    }

    #[test]
    fn a_match_needs_the_subjects_token_and_a_value_that_decrypts_to_it() {
        let key: SubjectKey = Zeroizing::new([1; 32]);
        let lookup = ProtectedMatch::new(
            FieldPath::ActorEmail,
            SubjectField::ActorId,
            [0; 16],
            "Alice@X.org",
            vec![("user:a".into(), [2; 16], key.clone())],
        );
        let right = token(&blind_key(&key), &[0; 16], "actor.email", "alice@x.org");
        assert!(lookup.holds(&record("user:a", &key, "alice@x.org ", Some(right))));
        // Version 1 values (no token) are decrypted and compared.
        assert!(lookup.holds(&record("user:a", &key, "ALICE@x.org", None)));
        assert!(!lookup.holds(&record("user:a", &key, "bob@x.org", None)));
        // A wrong token rules a value out unread; a right one beside another value does not
        // make it match; nor does another subject's record.
        assert!(!lookup.holds(&record("user:a", &key, "alice@x.org", Some([0; 16]))));
        assert!(!lookup.holds(&record("user:a", &key, "bob@x.org", Some(right))));
        assert!(!lookup.holds(&record("user:b", &key, "alice@x.org", Some(right))));
        assert!(format!("{lookup:?}").contains("user:a:"));
        assert!(!format!("{lookup:?}").to_lowercase().contains("alice"));
    }
}
