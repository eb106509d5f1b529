//! The alert cursor: `server-alerts-cursor.json` in the log directory, how far the previous
//! run got, as two sequence numbers (`{"version": 2, "next_seq": N, "notify_from": M}`):
//!
//! - `next_seq`, the first record the rules have not evaluated yet, so a server that starts
//!   evaluates the records written while no server ran (the CLI's `append` or `import`, an
//!   embedded engine, the records between a crash and the restart);
//! - `notify_from`, the first `alert.triggered` record whose webhook notification may still
//!   be owed: every alert before it was delivered, given up, or had no webhook. A server that
//!   starts resends the notifications of the alerts from there on (at least once).
//!
//! It is written through the engine's file-system interface
//! ([`auditlog::fs::write_file_durably`]: temporary file, fdatasync, rename, directory
//! fsync), so a crash leaves the old cursor or the new one. Both numbers may lag behind the
//! work done, never run ahead of it: `next_seq` is written only after the records before it
//! were evaluated and their `alert.triggered` events appended, `notify_from` only after the
//! notifications before it were settled. A lag repeats work (deduplicated, see
//! `alerts::start`); running ahead would lose it.
//!
//! The cursor is derived data and never outranks the log: one that cannot be read, has an
//! unknown version, or points beyond the tree's end is reported as damaged, never trusted to
//! skip records (the catch-up then falls back to a bounded window, `alerts::catch_up`).
//! Version 1 (`{"version": 1, "next_seq": N}`, before notifications were tracked) is read as
//! `notify_from = next_seq`: what that server had not delivered it had already forgotten.

use auditlog::fs::{FileSystem, write_file_durably};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The cursor's file name in the log directory.
pub const CURSOR_FILE: &str = "server-alerts-cursor.json";
/// The version written.
const CURSOR_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorDoc {
    version: u32,
    next_seq: u64,
    /// Required in version 2, absent in version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notify_from: Option<u64>,
}

/// What a cursor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// The first record not evaluated yet.
    pub next_seq: u64,
    /// The first `alert.triggered` record whose notification may still be owed.
    pub notify_from: u64,
}

/// Where evaluation starts, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No cursor file: a log that never ran with rules. Evaluation starts at the tree's end.
    NoCursor,
    /// The cursor, within the tree.
    Resume(Saved),
    /// A cursor that cannot be trusted (the message says why).
    Damaged(String),
}

/// The path of the cursor of the log in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(CURSOR_FILE)
}

/// Reads the cursor at `path` and checks it against a tree of `tree_size` records.
pub fn load(path: &Path, tree_size: u64) -> Start {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Start::NoCursor,
        Err(e) => return Start::Damaged(format!("{} cannot be read: {e}", path.display())),
    };
    let doc: CursorDoc = match serde_json::from_slice(&bytes) {
        Ok(d) => d,
        Err(e) => return Start::Damaged(format!("{} is not a cursor: {e}", path.display())),
    };
    let notify_from = match (doc.version, doc.notify_from) {
        (1, None) => doc.next_seq,
        (CURSOR_VERSION, Some(n)) => n,
        (CURSOR_VERSION, None) => {
            return Start::Damaged(format!(
                "{} has version {CURSOR_VERSION} but no notify_from",
                path.display()
            ));
        }
        (1, Some(_)) => {
            return Start::Damaged(format!(
                "{} has version 1, which has no notify_from",
                path.display()
            ));
        }
        (v, _) => {
            return Start::Damaged(format!(
                "{} has version {v}, not 1 or {CURSOR_VERSION}",
                path.display()
            ));
        }
    };
    for (name, value) in [("next_seq", doc.next_seq), ("notify_from", notify_from)] {
        if value > tree_size {
            return Start::Damaged(format!(
                "{}: {name} is {value} but the log holds {tree_size} records",
                path.display()
            ));
        }
    }
    Start::Resume(Saved {
        next_seq: doc.next_seq,
        notify_from,
    })
}

/// Saves `saved` crash-safely.
pub fn save(fs: &dyn FileSystem, path: &Path, saved: Saved) -> io::Result<()> {
    let mut text = serde_json::to_string(&CursorDoc {
        version: CURSOR_VERSION,
        next_seq: saved.next_seq,
        notify_from: Some(saved.notify_from),
    })
    .map_err(io::Error::other)?;
    text.push('\n');
    write_file_durably(fs, path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::fs::StdFileSystem;

    fn saved(next_seq: u64, notify_from: u64) -> Saved {
        Saved {
            next_seq,
            notify_from,
        }
    }

    #[test]
    fn a_saved_cursor_is_loaded_and_a_bad_one_is_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = path(dir.path());
        assert_eq!(load(&p, 10), Start::NoCursor);
        save(&StdFileSystem, &p, saved(7, 5)).expect("saves");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"version\":2,\"next_seq\":7,\"notify_from\":5}\n"
        );
        assert_eq!(load(&p, 10), Start::Resume(saved(7, 5)));
        assert_eq!(load(&p, 7), Start::Resume(saved(7, 5)));
        // Beyond the tree: the log wins.
        let beyond = load(&p, 6);
        assert!(
            matches!(&beyond, Start::Damaged(m) if m.contains("next_seq is 7") && m.contains("holds 6")),
            "{beyond:?}"
        );
        save(&StdFileSystem, &p, saved(3, 9)).expect("saves");
        assert!(matches!(load(&p, 8), Start::Damaged(m) if m.contains("notify_from is 9")));
        for (text, why) in [
            (&b"{\"next_seq\": "[..], "is not a cursor"),
            (b"{\"version\": 3, \"next_seq\": 1}", "version 3"),
            (b"{\"version\": 2, \"next_seq\": 1}", "no notify_from"),
            (
                b"{\"version\": 1, \"next_seq\": 1, \"notify_from\": 1}",
                "version 1, which",
            ),
            (
                b"{\"version\": 2, \"next_seq\": 1, \"notify_from\": 1, \"x\": 0}",
                "unknown field",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let start = load(&p, 10);
            assert!(
                matches!(&start, Start::Damaged(m) if m.contains(why)),
                "{why}: {start:?}"
            );
        }
    }

    #[test]
    fn a_version_1_cursor_owes_no_earlier_notification() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = path(dir.path());
        std::fs::write(&p, b"{\"version\":1,\"next_seq\":4}\n").unwrap();
        assert_eq!(load(&p, 10), Start::Resume(saved(4, 4)));
    }
}
