//! The `checkpoints` file of a log directory: every checkpoint the log signed, oldest first.
//!
//! A text file of signed notes, each followed by one empty line:
//! ```text
//! <note text lines>\n \n <signature lines>\n \n      (spaces added here for reading)
//! ```
//! Appends are made durable (fdatasync; the directory is fsynced when the file is created)
//! through the write path's [`FileSystem`]. A crash can leave a torn last entry; readers skip
//! it and the next append overwrites it.

use super::note::SIG_PREFIX;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use std::path::Path;

/// Name of the checkpoints file in a log directory.
pub const CHECKPOINTS_FILE: &str = "checkpoints";

/// Splits the file's text into complete signed notes; also returns the byte length they span
/// (where the next append goes).
pub fn split_notes(text: &str) -> (Vec<String>, usize) {
    let mut notes = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let mut in_sigs = false;
    let mut sigs = 0;
    for line in text.split_inclusive('\n') {
        pos += line.len();
        if !line.ends_with('\n') {
            break; // torn last line
        }
        let body = &line[..line.len() - 1];
        if !in_sigs {
            if body.is_empty() {
                in_sigs = true;
                sigs = 0;
            }
        } else if body.starts_with(SIG_PREFIX) {
            sigs += 1;
        } else if body.is_empty() && sigs > 0 {
            // The terminator: the note spans start..pos-1 (without the empty line).
            notes.push(text[start..pos - 1].to_string());
            start = pos;
            in_sigs = false;
        } else {
            break; // not a note: stop at the last complete one
        }
    }
    (notes, start)
}

/// The signed notes in `dir`'s checkpoints file (none if it does not exist).
pub fn read_notes(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(CHECKPOINTS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(split_notes(&String::from_utf8_lossy(&bytes)).0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// Appends `note` durably, overwriting a torn last entry if a crash left one.
pub fn append_note(fs: &dyn FileSystem, dir: &Path, note: &str) -> Result<()> {
    let path = dir.join(CHECKPOINTS_FILE);
    let io = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
    let (mut file, end, len) = match std::fs::read(&path) {
        Ok(bytes) => {
            let end = split_notes(&String::from_utf8_lossy(&bytes)).1;
            let file = fs.open_writable(&path).map_err(|e| io("opening", e))?;
            (file, end as u64, bytes.len() as u64)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let file = fs.create_new(&path).map_err(|e| io("creating", e))?;
            fs.sync_dir(dir)
                .map_err(|e| io("syncing the directory of", e))?;
            (file, 0, 0)
        }
        Err(e) => return Err(io("reading", e)),
    };
    let entry = format!("{note}\n");
    file.write_all_at(entry.as_bytes(), end)
        .map_err(|e| io("appending to", e))?;
    if len > end + entry.len() as u64 {
        file.set_len(end + entry.len() as u64)
            .map_err(|e| io("cutting a torn entry from", e))?;
    }
    file.sync_data().map_err(|e| io("syncing", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_complete_notes_and_skips_a_torn_tail() {
        let a = "o\n1\nr\n\n\u{2014} k AAAA\n";
        let b = "o\n2\nr\n\n\u{2014} k BBBB\n\u{2014} j CCCC\n";
        let file = format!("{a}\n{b}\n");
        let (notes, end) = split_notes(&file);
        assert_eq!(notes, vec![a.to_string(), b.to_string()]);
        assert_eq!(end, file.len());
        for cut in (0..file.len()).filter(|&c| file.is_char_boundary(c)) {
            let (notes, end) = split_notes(&file[..cut]);
            assert!(end <= cut);
            assert!(notes.len() <= 2);
            let expect = usize::from(cut > a.len()) + usize::from(cut == file.len());
            assert_eq!(notes.len(), expect, "cut {cut}");
        }
    }
}
