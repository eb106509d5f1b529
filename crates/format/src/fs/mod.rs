//! The narrow file-system interface of the write path.
//!
//! Every effect the engine has on the file system when writing (create, write, fdatasync,
//! truncate, preallocate, rename, remove, directory fsync) goes through [`FileSystem`] and
//! [`WritableFile`]. Production uses [`StdFileSystem`]; tests substitute layers that inject
//! I/O errors or keep unsynced data apart to simulate power loss. Reads do not go through this
//! interface: they see whatever the real files hold, which is exactly what a simulated crash
//! image materialises on disk.

#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod faulty;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod sim;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// File-system operations of the write path.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates `path` and its parents if missing.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Creates a new file for writing; fails if it exists.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens an existing file for writing (resuming or truncating the active segment).
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// fsyncs a directory, making creations, renames and removals in it durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// A file open for writing through a [`FileSystem`].
pub trait WritableFile: Send + fmt::Debug {
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Sets the file's length, truncating or extending with zeros.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Reserves space up to `len`, extending the file with zeros. Returns `false` when the file
    /// system cannot preallocate (nothing changed).
    fn preallocate(&mut self, len: u64) -> io::Result<bool>;
}

/// Creates (or replaces) the file at `path` with `bytes` so that a crash leaves either the old
/// state or the complete new file: write `path.tmp` (removing a leftover one first), fdatasync
/// it, rename it over `path`, fsync the directory. A leftover `.tmp` from a crash is removed
/// by the next writable open. Each step's failure names the step.
pub fn write_file_durably(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> io::Result<()> {
    fn step(what: &'static str) -> impl Fn(io::Error) -> io::Error {
        move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    if tmp.exists() {
        fs.remove_file(&tmp)
            .map_err(step("removing a leftover temporary file"))?;
    }
    let mut file = fs
        .create_new(&tmp)
        .map_err(step("creating the temporary file"))?;
    let written = file
        .write_all_at(bytes, 0)
        .map_err(step("writing"))
        .and_then(|()| file.sync_data().map_err(step("syncing")));
    drop(file);
    if let Err(e) = written {
        // Give back the blocks a half-written temporary file holds: on a full disk they may
        // be what the next write (a cut record that frees space) needs. Best effort: a
        // leftover is removed by the next attempt or the next writable open.
        let _ = fs.remove_file(&tmp);
        return Err(e);
    }
    fs.rename(&tmp, path).map_err(step("renaming into place"))?;
    fs.sync_dir(dir).map_err(step("syncing the directory"))
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFileSystem;

impl FileSystem for StdFileSystem {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Box::new(StdFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

#[derive(Debug)]
struct StdFile(File);

impl WritableFile for StdFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        crate::sys::preallocate(&self.0, len)
    }
}
