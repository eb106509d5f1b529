//! Signed checkpoints: C2SP tlog-checkpoint bodies signed as C2SP signed notes (Ed25519).
//!
//! ```text
//! auditlog/<log id, 32 lowercase hex digits>      origin
//! <tree size, decimal>
//! <root, standard base64 of 32 bytes>             blake3 Merkle root (docs/FORMAT.md §4)
//! time <RFC 3339 UTC, nanoseconds>                extension line: when it was signed
//!
//! — <key name> <base64(key id | Ed25519 signature)>
//! ```
//! The only difference from a checkpoint of an RFC 6962 log is the root: ours is the keyed
//! blake3 root of docs/FORMAT.md §4, not a SHA-256 root, so witnesses that recompute SHA-256
//! roots cannot check it (docs/FORMAT.md §6).
//!
//! - [`note`]: signed notes and key text formats.
//! - [`store`]: the append-only `checkpoints` file of a log directory.
//!
//! Signing an open log's checkpoints (and refusing inconsistent ones) is the engine's job.

pub mod note;
pub mod store;

pub use note::{NoteSigner, NoteVerifier};

use crate::error::{Error, Result};
use crate::merkle::TreeHead;
use crate::timestamp::Timestamp;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The origin line of the checkpoints of the log with this id.
pub fn origin_of(log_id: &[u8; 16]) -> String {
    let hex = crate::meta::log_id_hex(log_id);
    format!("auditlog/{hex}")
}

/// A checkpoint body: which log, which tree head, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `auditlog/<hex log id>`.
    pub origin: String,
    /// The tree head vouched for.
    pub tree_head: TreeHead,
    /// When it was signed (the `time` extension line).
    pub time: Timestamp,
}

impl Checkpoint {
    /// The note text (C2SP tlog-checkpoint body), ending in a newline.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.tree_head.size,
            B64.encode(self.tree_head.root),
            self.time
        )
    }

    /// Parses a note text. Unknown extension lines are ignored (C2SP allows them).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadCheckpoint {
            what: "checkpoint".into(),
            reason: reason.into(),
        };
        let mut lines = text.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size = lines
            .next()
            .and_then(|l| {
                // Decimal without leading zeros or signs, as tlog-checkpoint requires.
                (l == "0" || !l.starts_with('0')).then(|| l.parse::<u64>().ok())?
            })
            .ok_or_else(|| bad("the tree size is not a decimal number"))?;
        let root: [u8; 32] = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the root is not base64 of 32 bytes"))?;
        let mut time = None;
        for line in lines {
            if let Some(t) = line.strip_prefix("time ") {
                time = Some(
                    Timestamp::parse_rfc3339(t)
                        .map_err(|_| bad("the time line is not RFC 3339"))?,
                );
            }
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            tree_head: TreeHead { size, root },
            time: time.ok_or_else(|| bad("no time line"))?,
        })
    }

    /// Signs the checkpoint: the signed note to publish or store.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String> {
        signer.sign_note(&self.to_text())
    }

    /// Checks a signed checkpoint note with `verifier` and parses it.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self> {
        Checkpoint::parse(verifier.open(note)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_and_signature_binds_every_field() {
        let c = Checkpoint {
            origin: origin_of(&[0xab; 16]),
            tree_head: TreeHead {
                size: 1234,
                root: [5; 32],
            },
            time: Timestamp::from_nanos(1_700_000_000_123_456_789),
        };
        assert_eq!(Checkpoint::parse(&c.to_text()).expect("parse"), c);
        let signer = NoteSigner::from_seed("auditlog-test", [1; 32]).expect("key");
        let note = c.sign(&signer).expect("sign");
        assert_eq!(
            Checkpoint::open(&note, &signer.verifier()).expect("open"),
            c
        );
        let tampered = note.replacen("1234", "1233", 1);
        assert!(Checkpoint::open(&tampered, &signer.verifier()).is_err());
        assert!(Checkpoint::parse("o\n01\nAAAA\n").is_err(), "leading zero");
    }
}
