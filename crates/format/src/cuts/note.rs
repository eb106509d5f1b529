//! What makes a cut record trustworthy beyond its checksum: the signed note a log's key makes
//! over its fields, and the order the cuts of one log must keep (FORMAT.md §9, "Signed cuts"
//! and "Checks across records").
//!
//! The signature reuses the checkpoint machinery (C2SP signed note, Ed25519, the same key),
//! over a text of its own whose first line, `auditlog-cut/<log id>`, can never be read as a
//! checkpoint's origin: a signed cut vouches for a removal, not for the log's current size.

use super::{Cut, CutKind, CutLog};
use crate::checkpoint::{NoteSigner, NoteVerifier};
use crate::error::Result;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

impl CutKind {
    /// The kind's name in the signed text.
    fn name(self) -> &'static str {
        match self {
            CutKind::Retention => "retention",
            CutKind::Archive => "archive",
        }
    }
}

impl Cut {
    /// The text the log's key signs for this cut (FORMAT.md §9), ending in a newline. Every
    /// field of the body is bound: the frontier through the root it must hash to.
    pub fn signed_text(&self, log_id: &[u8; 16]) -> String {
        let hex = crate::meta::log_id_hex(log_id);
        format!(
            "auditlog-cut/{hex}\nkind {}\nremoved_from {}\ncut_seq {}\nroot {}\ncut_at {}\n\
             prev_recorded_at {}\nnote {}\n",
            self.kind.name(),
            self.removed_from,
            self.cut_seq,
            B64.encode(self.frontier.root()),
            self.cut_at.as_nanos(),
            self.prev_recorded_at,
            B64.encode(self.note_as_stored()),
        )
    }

    /// The signature lines of this cut signed by `key`.
    pub fn sign(&self, key: &NoteSigner, log_id: &[u8; 16]) -> Result<String> {
        let text = self.signed_text(log_id);
        let note = key.sign_note(&text)?;
        // sign_note returns `text \n signature-lines`: keep the lines only.
        Ok(note[text.len() + 1..].to_string())
    }

    /// Checks that `key` signed this cut; the error says what is wrong.
    pub fn check_signature(&self, key: &NoteVerifier, log_id: &[u8; 16]) -> Result<(), String> {
        let Some(sig) = &self.signature else {
            return Err(format!(
                "not signed (the key {} signs every cut)",
                key.name()
            ));
        };
        let note = format!("{}\n{sig}", self.signed_text(log_id));
        key.open(&note).map(|_| ()).map_err(|e| match e {
            crate::Error::BadCheckpoint { reason, .. } if reason.starts_with("no signature") => {
                format!("not signed by the key {}", key.name())
            }
            e => format!("forged or altered: {e}"),
        })
    }
}

/// What must hold across the cuts of one log, whoever signed them: each starts where the
/// previous one ended (the first where the log started, at 0), keeps no fewer records than
/// it removed from, and is no older than the one before. Returns (index, why) per violation.
pub fn order_problems(log: &CutLog) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let mut prev: Option<&Cut> = None;
    for (i, cut) in log.cuts.iter().enumerate() {
        let start = prev.map_or(0, |p| p.cut_seq);
        if cut.removed_from != start {
            let previous = match prev {
                Some(_) => "the previous cut's cut_seq",
                None => "the log's start, 0",
            };
            problems.push((
                i,
                format!(
                    "removed_from {} is not {previous} ({start}): records {}..{} are unaccounted for",
                    cut.removed_from,
                    start.min(cut.removed_from),
                    start.max(cut.removed_from)
                ),
            ));
        } else if cut.cut_seq < cut.removed_from {
            problems.push((
                i,
                format!(
                    "cut_seq {} is below removed_from {}",
                    cut.cut_seq, cut.removed_from
                ),
            ));
        }
        if let Some(p) = prev.filter(|p| cut.cut_at < p.cut_at) {
            problems.push((
                i,
                format!(
                    "cut_at {} is before the previous cut's {}: cut_at never goes backwards",
                    cut.cut_at, p.cut_at
                ),
            ));
        }
        prev = Some(cut);
    }
    problems
}
