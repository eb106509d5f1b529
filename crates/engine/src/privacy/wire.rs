//! The wire form of a protected value inside an event (docs/FORMAT.md, "Protected values").
//!
//! A protected value is stored as a JSON string (or an event string field) of the form
//! `alenc1:` followed by unpadded URL-safe base64 (RFC 4648 §5) of
//! `version (1 byte = 2) | key id (16) | blind token (16) | nonce (24) | ciphertext and tag`
//! (version 1, written before the blind index, has no token and is still read).
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
/// The version byte of the current wire form (with a blind token).
pub const VERSION: u8 = 2;
/// The version byte of the first wire form (no blind token), still read.
pub const VERSION_NO_TOKEN: u8 = 1;
/// Bytes of a blind-index token.
pub const TOKEN_BYTES: usize = 16;
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
    /// The blind-index token of the value (docs/PRIVACY.md, "Lookups by a protected
    /// value"); `None` in version 1 values.
    pub token: Option<[u8; TOKEN_BYTES]>,
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
    #[error("protected value version {0} is not supported (this build reads versions 1 and 2)")]
    Version(u8),
}

impl Sealed {
    /// The wire form: prefix and base64.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(
            1 + KEY_ID_BYTES + TOKEN_BYTES + NONCE_BYTES + self.ciphertext.len(),
        );
        bytes.push(match self.token {
            Some(_) => VERSION,
            None => VERSION_NO_TOKEN,
        });
        bytes.extend_from_slice(&self.key_id);
        if let Some(token) = &self.token {
            bytes.extend_from_slice(token);
        }
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
        let token_bytes = match bytes.first() {
            None => return Err(WireError::TooShort(0)),
            Some(&VERSION) => TOKEN_BYTES,
            Some(&VERSION_NO_TOKEN) => 0,
            Some(&other) => return Err(WireError::Version(other)),
        };
        let header = 1 + KEY_ID_BYTES + token_bytes + NONCE_BYTES;
        if bytes.len() < header + TAG_BYTES {
            return Err(WireError::TooShort(bytes.len()));
        }
        let key_id: [u8; KEY_ID_BYTES] = bytes[1..1 + KEY_ID_BYTES].try_into().expect("16");
        let token_end = 1 + KEY_ID_BYTES + token_bytes;
        let token =
            (token_bytes > 0).then(|| bytes[1 + KEY_ID_BYTES..token_end].try_into().expect("16"));
        let nonce: [u8; NONCE_BYTES] = bytes[token_end..header].try_into().expect("24");
        Ok(Sealed {
            key_id,
            token,
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
        let old = Sealed {
            key_id: [7; 16],
            token: None,
            nonce: [9; 24],
            ciphertext: vec![1; 20],
        };
        let text = old.encode();
        assert!(text.starts_with(PREFIX));
        assert_eq!(Sealed::decode(&text), Ok(old.clone()));
        let sealed = Sealed {
            token: Some([5; 16]),
            ..old
        };
        let text = sealed.encode();
        assert_eq!(text.len(), 7 + (4 * (57 + 20_usize)).div_ceil(3));
        assert_eq!(Sealed::decode(&text), Ok(sealed));
        // A version 2 value cut to the length of a version 1 header and tag is too short.
        let mut short = vec![VERSION];
        short.extend_from_slice(&[0; 56]);
        let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&short));
        assert_eq!(Sealed::decode(&text), Err(WireError::TooShort(57)));
        assert_eq!(
            Sealed::decode("alice@example.com"),
            Err(WireError::NoPrefix)
        );
        assert_eq!(Sealed::decode("alenc1:***"), Err(WireError::NotBase64));
        assert_eq!(Sealed::decode("alenc1:AQAA"), Err(WireError::TooShort(3)));
        assert_eq!(Sealed::decode("alenc1:"), Err(WireError::TooShort(0)));
        let mut other = vec![3u8];
        other.extend_from_slice(&[0; 56]);
        let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&other));
        assert_eq!(Sealed::decode(&text), Err(WireError::Version(3)));
    }
}
