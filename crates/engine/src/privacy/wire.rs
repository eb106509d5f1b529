//! The wire form of a protected value inside an event (docs/FORMAT.md, "Protected values").
//!
//! A protected value is stored as a JSON string (or an event string field) of the form
//! `alenc1:` followed by unpadded URL-safe base64 (RFC 4648 §5) of
//! `version (1 byte = 1) | key id (16) | nonce (24) | ciphertext and tag (n + 16)`.
//!
//! The reader interprets this form only at the paths the log's privacy policy protects, and
//! the writer encrypts every value present at those paths, whatever it looks like. A plaintext
//! that happens to start with `alenc1:` is therefore encrypted like any other at a protected
//! path, and left alone (never decoded) everywhere else: it cannot be mistaken for a protected
//! value.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The prefix of every protected value.
pub const PREFIX: &str = "alenc1:";
/// The version byte of the current wire form.
pub const VERSION: u8 = 1;
/// Bytes of a key id.
pub const KEY_ID_BYTES: usize = 16;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub const NONCE_BYTES: usize = 24;
/// Bytes of a Poly1305 tag.
pub const TAG_BYTES: usize = 16;

/// A protected value, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which subject key encrypted it.
    pub key_id: [u8; KEY_ID_BYTES],
    /// The random nonce.
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext followed by the tag.
    pub ciphertext: Vec<u8>,
}

/// Why a string is not a protected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The string does not start with `alenc1:`.
    #[error("a protected value starts with `{PREFIX}`")]
    NoPrefix,
    /// What follows the prefix is not unpadded URL-safe base64.
    #[error("a protected value is base64 (URL-safe, unpadded) after its prefix")]
    NotBase64,
    /// The decoded bytes are shorter than version, key id, nonce and tag.
    #[error("a protected value of {0} bytes is shorter than its header and tag")]
    TooShort(usize),
    /// The version byte is not one this build reads.
    #[error("protected value version {0} is not supported (this build reads version 1)")]
    Version(u8),
}

impl Sealed {
    /// The wire form: prefix and base64.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(1 + KEY_ID_BYTES + NONCE_BYTES + self.ciphertext.len());
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.key_id);
        bytes.extend_from_slice(&self.nonce);
        bytes.extend_from_slice(&self.ciphertext);
        let mut out = String::with_capacity(PREFIX.len() + bytes.len().div_ceil(3) * 4);
        out.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(&bytes, &mut out);
        out
    }

    /// Parses the wire form. Never panics, whatever `text` holds (fuzzed: fuzz/).
    pub fn decode(text: &str) -> Result<Sealed, WireError> {
        let body = text.strip_prefix(PREFIX).ok_or(WireError::NoPrefix)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| WireError::NotBase64)?;
        let header = 1 + KEY_ID_BYTES + NONCE_BYTES;
        if bytes.len() < header + TAG_BYTES {
            return Err(WireError::TooShort(bytes.len()));
        }
        if bytes[0] != VERSION {
            return Err(WireError::Version(bytes[0]));
        }
        let mut key_id = [0u8; KEY_ID_BYTES];
        key_id.copy_from_slice(&bytes[1..1 + KEY_ID_BYTES]);
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&bytes[1 + KEY_ID_BYTES..header]);
        Ok(Sealed {
            key_id,
            nonce,
            ciphertext: bytes[header..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_the_form() {
        let sealed = Sealed {
            key_id: [7; 16],
            nonce: [9; 24],
            ciphertext: vec![1; 20],
        };
        let text = sealed.encode();
        assert!(text.starts_with(PREFIX));
        assert_eq!(Sealed::decode(&text), Ok(sealed));
        assert_eq!(
            Sealed::decode("alice@example.com"),
            Err(WireError::NoPrefix)
        );
        assert_eq!(Sealed::decode("alenc1:***"), Err(WireError::NotBase64));
        assert_eq!(Sealed::decode("alenc1:AAAA"), Err(WireError::TooShort(3)));
        let mut other = vec![2u8];
        other.extend_from_slice(&[0; 56]);
        let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&other));
        assert_eq!(Sealed::decode(&text), Err(WireError::Version(2)));
    }
}
