//! The cut log in a verification: every recorded removal is listed; a cut record that is
//! damaged, out of order or (with a public key) not signed by the log's key is damage; and
//! without a key the report says plainly that the removals are unauthenticated, since a
//! well-formed cut record is all a deletion needs to look like retention.

use super::report::Warning;
use crate::checkpoint::NoteVerifier;
use crate::cuts::note::order_problems;
use crate::cuts::{CutLog, cuts_path};
use crate::error::{Corruption, CorruptionKind};
use std::path::Path;

/// Problems and notes for the cut log `cuts` of the log `log_id` in `dir`.
pub fn check_cuts(
    dir: &Path,
    cuts: &CutLog,
    log_id: &[u8; 16],
    key: Option<&NoteVerifier>,
) -> (Vec<Corruption>, Vec<Warning>) {
    let file = cuts_path(dir);
    let mut notes: Vec<Warning> = cuts
        .cuts
        .iter()
        .map(|cut| Warning {
            file: file.clone(),
            offset: None,
            message: cut.to_string(),
        })
        .collect();
    let mut problems = Vec::new();
    let mut bad = |offset: u64, seq: Option<u64>, why: String| {
        problems.push(Corruption {
            file: file.clone(),
            offset,
            seq,
            kind: CorruptionKind::BadCut(why),
        })
    };
    if let Some((offset, why)) = &cuts.damaged {
        bad(
            *offset,
            None,
            format!("{why}; the records it stands for are missing"),
        );
    }
    let describe = |i: usize| {
        let c = &cuts.cuts[i];
        format!("the cut of records {}..{}", c.removed_from, c.cut_seq)
    };
    for (i, why) in order_problems(cuts) {
        bad(
            cuts.offsets[i],
            Some(cuts.cuts[i].cut_seq),
            format!("{}: {why}", describe(i)),
        );
    }
    if cuts.cuts.is_empty() {
        return (problems, notes);
    }
    let end = cuts.latest().map_or(0, |c| c.cut_seq);
    match key {
        Some(key) => {
            let mut all_signed = true;
            for (i, cut) in cuts.cuts.iter().enumerate() {
                if let Err(why) = cut.check_signature(key, log_id) {
                    all_signed = false;
                    bad(
                        cuts.offsets[i],
                        Some(cut.cut_seq),
                        format!(
                            "{}: {why}; nothing proves retention or archiving removed them \
                             rather than a deletion",
                            describe(i)
                        ),
                    );
                }
            }
            if all_signed {
                notes.push(Warning {
                    file,
                    offset: None,
                    message: format!(
                        "the removal of records 0..{end} is authenticated: all {} cut(s) are \
                         signed by the key {}",
                        cuts.cuts.len(),
                        key.name()
                    ),
                });
            }
        }
        None => {
            let signed = cuts.cuts.iter().filter(|c| c.signature.is_some()).count();
            notes.push(Warning {
                file,
                offset: None,
                message: format!(
                    "the removal of records 0..{end} is unauthenticated: {signed} of {} cut(s) \
                     carry a signature, but without --public-key nothing shows that retention \
                     or archiving removed them rather than a deletion with a forged cut; verify \
                     with the log's public key to check",
                    cuts.cuts.len()
                ),
            });
        }
    }
    (problems, notes)
}
