//! The format crate's `unsafe` code for the OS: read-only memory maps and `fallocate`.
//!
//! The workspace denies `unsafe_code` everywhere else, with these exceptions only, each
//! allowed where it is and commented: the AVX2 kernel of the Merkle hashing
//! (merkle/lanes_avx2.rs), the `str` view of bytes already checked to be ASCII
//! (event/ascii_str.rs); in the CLI (the root package), the reset of SIGPIPE before any
//! thread starts (src/main.rs), the terminal's width (src/cli/terminal.rs) and the local
//! time zone's offset (src/cli/when.rs), each one libc call; and the Python extension's
//! in-place read of a str's UTF-8 (crates/python/src/utf8.rs). The engine, the verifier and
//! the server have none.
//!
//! Everything here is a thin, audited wrapper; callers stay in safe code.

use std::fs::File;
use std::io;
use std::ops::Deref;

/// A read-only memory map of a whole file.
#[derive(Debug)]
pub struct ReadMap {
    map: Option<memmap2::Mmap>,
}

impl ReadMap {
    /// Maps `file` read-only. An empty file gets an empty map (mmap of length 0 is an error).
    pub fn new(file: &File) -> io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(ReadMap { map: None });
        }
        // SAFETY: the engine maps only files it never modifies in place while they are mapped:
        // sealed segments and finished index files are immutable, and replacing one is done by
        // writing a new file and renaming it over the old name, which leaves existing maps on
        // the old inode intact. A segment still being written is mapped only by the writer
        // holding the log's lock, to scan it while opening; readers beside a writer read it
        // (segment/live.rs) and map only the prefix their scan found valid (`prefix`), since
        // the seal trims the rest. A process outside the engine truncating a mapped file
        // could still raise SIGBUS; that is documented in DESIGN.md as outside the threat
        // model of a reader.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(ReadMap { map: Some(map) })
    }
}

impl ReadMap {
    /// Maps the first `len` bytes of `file` read-only, where `len` ends the records that a
    /// scan of the file found valid: a read-only handle's map of an active segment that a
    /// writer in another process may still append to or seal (segment/live.rs).
    pub fn prefix(file: &File, len: u64) -> io::Result<Self> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        if len == 0 {
            return Ok(ReadMap { map: None });
        }
        // SAFETY: a map raises SIGBUS if its file is cut below a mapped page, and a segment
        // beside a writer is cut only past its valid records: sealing trims the preallocated
        // space after them, a recovering writer cuts a torn tail at the first invalid frame,
        // and a writer that fails to preallocate cuts back to its end of records. A frame that
        // a scan found valid is never rewritten (segments are append-only), so every writer
        // finds the same records valid and cuts at or after `len`. Removing or renaming the
        // file (retention, compaction to cold, archiving) leaves the map on the old inode
        // intact. A process outside the engine truncating the file is outside a reader's
        // threat model, as for `new`.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
        Ok(ReadMap { map: Some(map) })
    }
}

impl Deref for ReadMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Reserves `len` bytes of disk for `file`, extending its size with zeros, so that later writes
/// inside the reservation need neither block allocation nor a size update at fdatasync time.
///
/// Returns `Ok(false)` when the file system does not support preallocation (the caller then
/// simply appends). On failure the file may be partly extended; the caller truncates it back.
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let Ok(len) = libc::off_t::try_from(len) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "preallocation too large",
            ));
        };
        // SAFETY: fallocate only reads its integer arguments; the descriptor is valid for the
        // lifetime of `file`, which we borrow.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(false),
            _ => Err(err),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, len);
        Ok(false)
    }
}
