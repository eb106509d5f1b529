//! C2SP signed notes with Ed25519, and the key text formats of golang.org/x/mod/sumdb/note.
//!
//! ```text
//! note       = text (ending in "\n") | "\n" | signature line+
//! signature  = "— " key_name " " base64( key_id (4 bytes, big endian) | ed25519 signature (64) ) "\n"
//! key_id     = SHA-256( key_name | 0x0A | 0x01 | public key (32) )[0..4]
//! verifier   = key_name "+" hex8(key_id) "+" base64( 0x01 | public key (32) )
//! signer     = "PRIVATE+KEY+" key_name "+" hex8(key_id) "+" base64( 0x01 | seed (32) )
//! ```
//! The Ed25519 signature (RFC 8032) covers the note text exactly, final newline included.

use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The signed-note signature type of Ed25519.
const ED25519_TYPE: u8 = 0x01;
/// Prefix of a signer (private) key in text form.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// The em dash that starts a signature line (U+2014).
pub const SIG_PREFIX: &str = "\u{2014} ";

fn bad(what: &str, reason: impl Into<String>) -> Error {
    Error::BadCheckpoint {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// The signed-note key id of an Ed25519 key named `name`.
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(bad(
            "key name",
            format!("{name:?} must be non-empty, without spaces or '+'"),
        ));
    }
    Ok(())
}

/// An Ed25519 key that signs checkpoints, with its signed-note name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The public half: checks signatures made by a [`NoteSigner`] of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl NoteSigner {
    /// A key from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new key from the operating system's random source (/dev/urandom).
    pub fn generate(name: &str) -> Result<Self> {
        use std::io::Read;
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(|e| Error::io("reading /dev/urandom for a new key", e))?;
        Self::from_seed(name, seed)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        let key = self.key.verifying_key();
        NoteVerifier {
            id: key_id(&self.name, key.as_bytes()),
            name: self.name.clone(),
            key,
        }
    }

    /// The private key in text form (`PRIVATE+KEY+name+hash+base64`).
    pub fn to_text(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            hex(&self.verifier().id),
            B64.encode(raw)
        )
    }

    /// Parses the private key text form: five `+`-separated fields, `PRIVATE`, `KEY`, name,
    /// hash, key (the key's base64 may itself contain `+`).
    pub fn from_text(text: &str) -> Result<Self> {
        const WHAT: &str = "private key";
        let text = text.trim();
        if !text.starts_with(PRIVATE_PREFIX) {
            return Err(bad(
                WHAT,
                "does not start with PRIVATE+KEY+ (is it the public key? give the .key file)",
            ));
        }
        let [_, _, name, id_hex, b64] = key_fields(text, WHAT, "PRIVATE+KEY+name+hash+key")?;
        let (id, raw) = key_hash_and_bytes(id_hex, b64, WHAT)?;
        let seed: [u8; 32] = raw
            .try_into()
            .map_err(|_| bad("private key", "the key is not 32 bytes"))?;
        let signer = Self::from_seed(name, seed)?;
        if signer.verifier().id != id {
            return Err(bad("private key", "the key hash does not match the key"));
        }
        Ok(signer)
    }

    /// Signs `text` (which must end in a newline) and returns the signed note.
    pub fn sign_note(&self, text: &str) -> Result<String> {
        if !text.ends_with('\n') {
            return Err(bad("note", "the text must end with a newline"));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.verifier().id.to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            B64.encode(raw)
        ))
    }
}

impl NoteVerifier {
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key in text form (`name+hash+base64`).
    pub fn to_text(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.id), B64.encode(raw))
    }

    /// Parses the verifier key text form: three `+`-separated fields, name, hash, key (the
    /// key's base64 may itself contain `+`).
    pub fn from_text(text: &str) -> Result<Self> {
        const WHAT: &str = "public key";
        let text = text.trim();
        if text.starts_with(PRIVATE_PREFIX) {
            return Err(bad(
                WHAT,
                "this is a private key (PRIVATE+KEY+...): give the public key (.pub) file, and keep the .key secret",
            ));
        }
        let [name, id_hex, b64] = key_fields(text, WHAT, "name+hash+key")?;
        check_name(name)?;
        let (id, raw) = key_hash_and_bytes(id_hex, b64, WHAT)?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| bad("public key", "the key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| bad("public key", "not a valid Ed25519 public key"))?;
        if key_id(name, &bytes) != id {
            return Err(bad("public key", "the key hash does not match the key"));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key,
            id,
        })
    }

    /// Checks a signed note and returns its text. The note must carry a signature by this
    /// key (same name and key id) that verifies; signatures by other keys are ignored, as the
    /// signed-note spec requires.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str> {
        let split = note
            .find("\n\n")
            .ok_or_else(|| bad("signed note", "no blank line before the signatures"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("signed note", "contains control characters"));
        }
        let mut found = false;
        for line in sigs.lines() {
            let line = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("signed note", "a signature line lacks the em dash"))?;
            let (name, b64) = line
                .split_once(' ')
                .ok_or_else(|| bad("signed note", "malformed signature line"))?;
            let raw = B64
                .decode(b64)
                .map_err(|_| bad("signed note", "signature is not base64"))?;
            if name != self.name || raw.len() < 4 || raw[..4] != self.id {
                continue; // another key's signature
            }
            let sig: [u8; 64] = raw[4..]
                .try_into()
                .map_err(|_| bad("signed note", "Ed25519 signature is not 64 bytes"))?;
            self.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                .map_err(|_| {
                    bad(
                        "signed note",
                        format!("the signature by {} does not verify", self.name),
                    )
                })?;
            found = true;
        }
        if !found {
            return Err(bad(
                "signed note",
                format!("no signature by the key {}", self.name),
            ));
        }
        Ok(text)
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::merkle::hash::hex(bytes)
}

/// Splits a key's text into exactly `N` `+`-separated fields, the last one taking the rest:
/// names, hashes and the `PRIVATE`/`KEY` words never contain `+`, base64 may. This is how
/// golang.org/x/mod/sumdb/note reads both forms (`name+hash+key`, 3 fields;
/// `PRIVATE+KEY+name+hash+key`, 5 fields), and FORMAT.md §6 says so.
fn key_fields<'a, const N: usize>(text: &'a str, what: &str, shape: &str) -> Result<[&'a str; N]> {
    let fields: Vec<&str> = text.splitn(N, '+').collect();
    fields
        .try_into()
        .map_err(|_| bad(what, format!("expected {shape}")))
}

/// Decodes the hash (8 hex digits) and the key (base64 of the type byte 0x01 and the key
/// bytes) fields of a key's text.
fn key_hash_and_bytes(id_hex: &str, b64: &str, what: &str) -> Result<([u8; 4], Vec<u8>)> {
    let id_num = u32::from_str_radix(id_hex, 16)
        .ok()
        .filter(|_| id_hex.len() == 8)
        .ok_or_else(|| bad(what, "the key hash is not 8 hex digits"))?;
    let raw = B64
        .decode(b64)
        .map_err(|_| bad(what, "the key is not base64"))?;
    match raw.split_first() {
        Some((&ED25519_TYPE, key)) => Ok((id_num.to_be_bytes(), key.to_vec())),
        _ => Err(bad(what, "not an Ed25519 (type 0x01) key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_open_and_reject_tampering() {
        let s = NoteSigner::from_seed("example.com/log", [7; 32]).expect("key");
        let v = s.verifier();
        let note = s.sign_note("hello\n2\n").expect("sign");
        assert_eq!(v.open(&note).expect("open"), "hello\n2\n");
        let forged = note.replace("hello", "hellp");
        assert!(v.open(&forged).is_err());
        let other = NoteSigner::from_seed("example.com/log", [8; 32]).expect("key");
        assert!(other.verifier().open(&note).is_err(), "another key's note");
        // Keys round-trip through text.
        assert_eq!(NoteVerifier::from_text(&v.to_text()).expect("pub"), v);
        let s2 = NoteSigner::from_text(&s.to_text()).expect("priv");
        assert_eq!(s2.verifier(), v);
    }

    /// Both key files, with base64 that contains `+` (the Go vector's private key does), parse
    /// into the fields FORMAT.md §6 names; each file given in place of the other is refused
    /// with an error that says which file to give.
    #[test]
    fn both_key_files_parse_and_are_not_mistaken_for_each_other() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let b64 = skey.splitn(5, '+').nth(4).expect("five fields");
        assert!(b64.contains('+'), "the vector has a '+' in its base64");
        let s = NoteSigner::from_text(&format!("{skey}\n")).expect("skey file");
        assert_eq!(s.name(), "PeterNeumann");
        assert_eq!(s.to_text(), skey);
        let v = NoteVerifier::from_text(&format!("{vkey}\n")).expect("vkey file");
        assert_eq!(v, s.verifier());

        let err = NoteVerifier::from_text(skey).expect_err("a private key is not a public key");
        assert!(err.to_string().contains("this is a private key"), "{err}");
        let err = NoteSigner::from_text(vkey).expect_err("a public key is not a private key");
        assert!(err.to_string().contains("give the .key file"), "{err}");
        // Missing fields, and a '+' in the name position, are refused.
        for bad in ["PRIVATE+KEY+PeterNeumann+c74f20a3", "PRIVATE+KEY+"] {
            assert!(NoteSigner::from_text(bad).is_err(), "{bad}");
        }
        for bad in [
            "PeterNeumann+c74f20a3",
            "PeterNeumann",
            "Peter+Neumann+c74f20a3+ARpc",
        ] {
            assert!(NoteVerifier::from_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_id_matches_the_go_note_package() {
        // Test vector from golang.org/x/mod/sumdb/note (note_test.go, TestNewVerifier):
        // the key "PeterNeumann" with id c74f20a3.
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let v = NoteVerifier::from_text(vkey).expect("vkey parses");
        assert_eq!(v.to_text(), vkey);
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let s = NoteSigner::from_text(skey).expect("skey parses");
        assert_eq!(s.verifier(), v);
        // The signed note of that test, made by Go.
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let sig = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let note = format!("{text}\n{sig}");
        assert_eq!(v.open(&note).expect("Go's note verifies"), text);
        assert_eq!(
            s.sign_note(text).expect("sign"),
            note,
            "Ed25519 is deterministic"
        );
    }
}
