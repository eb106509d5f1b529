//! The alert cursor: `server-alerts-cursor.json` in the log directory, the first sequence
//! number the rules have not evaluated yet (`{"version": 1, "next_seq": N}`), so a server
//! that starts evaluates the records written while no server ran (the CLI's `append` or
//! `import`, an embedded engine, the records between a crash and the restart).
//!
//! It is written through the engine's file-system interface
//! ([`auditlog::fs::write_file_durably`]: temporary file, fdatasync, rename, directory
//! fsync), so a crash leaves the old cursor or the new one. It is written only after the
//! records before `next_seq` were evaluated and their `alert.triggered` events appended, so
//! it may lag behind the evaluation, never run ahead of it.
//!
//! The cursor is derived data and never outranks the log: one beyond the tree's end, or one
//! that cannot be read, is reported and replaced by 0 (every record evaluated again; see
//! `alerts::start` for why that fires no duplicate), never trusted to skip records.

use auditlog::fs::{FileSystem, write_file_durably};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The cursor's file name in the log directory.
pub const CURSOR_FILE: &str = "server-alerts-cursor.json";
const CURSOR_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorDoc {
    version: u32,
    next_seq: u64,
}

/// Where evaluation starts, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No cursor file: a log that never ran with rules. Evaluation starts at the tree's end.
    NoCursor,
    /// The cursor, within the tree.
    Resume(u64),
    /// A cursor that cannot be trusted (the message says why): evaluation starts at 0.
    Damaged(String),
}

impl Start {
    /// The first sequence number to evaluate in a tree of `tree_size` records.
    pub fn from_seq(&self, tree_size: u64) -> u64 {
        match self {
            Start::NoCursor => tree_size,
            Start::Resume(seq) => *seq,
            Start::Damaged(_) => 0,
        }
    }
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
    if doc.version != CURSOR_VERSION {
        return Start::Damaged(format!(
            "{} has version {}, not {CURSOR_VERSION}",
            path.display(),
            doc.version
        ));
    }
    if doc.next_seq > tree_size {
        return Start::Damaged(format!(
            "{} says {} records were evaluated but the log holds {tree_size}",
            path.display(),
            doc.next_seq
        ));
    }
    Start::Resume(doc.next_seq)
}

/// Saves `next_seq` crash-safely.
pub fn save(fs: &dyn FileSystem, path: &Path, next_seq: u64) -> io::Result<()> {
    let mut text = serde_json::to_string(&CursorDoc {
        version: CURSOR_VERSION,
        next_seq,
    })
    .map_err(io::Error::other)?;
    text.push('\n');
    write_file_durably(fs, path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog::fs::StdFileSystem;

    #[test]
    fn a_saved_cursor_is_loaded_and_a_bad_one_is_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = path(dir.path());
        assert_eq!(load(&p, 10), Start::NoCursor);
        assert_eq!(Start::NoCursor.from_seq(10), 10);
        save(&StdFileSystem, &p, 7).expect("saves");
        assert_eq!(load(&p, 10), Start::Resume(7));
        assert_eq!(load(&p, 7), Start::Resume(7));
        // Beyond the tree: the log wins, evaluation restarts at 0.
        let beyond = load(&p, 6);
        assert!(
            matches!(&beyond, Start::Damaged(m) if m.contains("holds 6")),
            "{beyond:?}"
        );
        assert_eq!(beyond.from_seq(6), 0);
        std::fs::write(&p, b"{\"next_seq\": ").unwrap();
        assert!(matches!(load(&p, 10), Start::Damaged(_)));
        std::fs::write(&p, b"{\"version\": 2, \"next_seq\": 1}").unwrap();
        assert!(matches!(load(&p, 10), Start::Damaged(m) if m.contains("version 2")));
    }
}
