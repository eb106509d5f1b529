//! A log whose last segment is sealed (a roll that could not create the next segment, as a
//! full disk leaves it) opened on a disk with no free block at all, through a file-system
//! layer that counts 4 KiB blocks as tmpfs does: the open succeeds with the writer deferred,
//! every record reads back, appends fail with `StorageFull` (not poisoned, and nothing
//! left behind), seal/sync/close have nothing to do; retention frees space, after which the
//! next append (or `start_writer`) starts the writer, and the log continues the same tree.
//! Any other error while creating that segment still fails the open.

mod common;

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::lifecycle::RetentionPolicy;
use auditlog::{AppendError, AuditLog, Error, OpenCheck};
use common::{append_range, assert_events, event, read_all, segment_files, small_segments};
use parking_lot::Mutex;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const BLOCK: u64 = 4096;

fn blocks(len: u64) -> u64 {
    len.div_ceil(BLOCK)
}

fn no_space() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

/// The real file system with a budget of free blocks: growing a file past its last block
/// takes blocks from the budget (ENOSPC, and no effect, when there are too few); shrinking,
/// removing or replacing a file gives them back.
#[derive(Debug, Clone)]
struct BlockFs {
    free: Arc<Mutex<u64>>,
}

impl BlockFs {
    fn new(free_blocks: u64) -> Self {
        BlockFs {
            free: Arc::new(Mutex::new(free_blocks)),
        }
    }

    fn free_blocks(&self) -> u64 {
        *self.free.lock()
    }

    /// Takes or gives back the blocks of a file going from `from` to `to` bytes.
    fn resize(&self, from: u64, to: u64) -> io::Result<()> {
        let mut free = self.free.lock();
        let (had, needs) = (blocks(from), blocks(to));
        if needs > had {
            let more = needs - had;
            if more > *free {
                return Err(no_space());
            }
            *free -= more;
        } else {
            *free += had - needs;
        }
        Ok(())
    }

    fn file(&self, inner: Box<dyn WritableFile>, len: u64) -> Box<dyn WritableFile> {
        Box::new(BlockFile {
            inner,
            len,
            fs: self.clone(),
        })
    }

    fn len_of(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }
}

impl FileSystem for BlockFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(self.file(StdFileSystem.create_new(path)?, 0))
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let len = Self::len_of(path);
        Ok(self.file(StdFileSystem.open_writable(path)?, len))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let replaced = Self::len_of(to);
        StdFileSystem.rename(from, to)?;
        self.resize(replaced, 0)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let len = Self::len_of(path);
        StdFileSystem.remove_file(path)?;
        self.resize(len, 0)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(dir)
    }
}

#[derive(Debug)]
struct BlockFile {
    inner: Box<dyn WritableFile>,
    len: u64,
    fs: BlockFs,
}

impl BlockFile {
    fn grow_to(&mut self, end: u64) -> io::Result<()> {
        if end > self.len {
            self.fs.resize(self.len, end)?;
            self.len = end;
        }
        Ok(())
    }
}

impl WritableFile for BlockFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.grow_to(offset + buf.len() as u64)?;
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.fs.resize(self.len, len)?;
        self.len = len;
        self.inner.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.grow_to(len)?;
        self.inner.preallocate(len)
    }
}

/// A log of several sealed segments and no active one: the empty active segment that `seal`
/// leaves is removed, as if the roll had failed to create it.
fn log_ending_sealed(dir: &Path, records: u64) -> PathBuf {
    let log = small_segments(dir).open().unwrap();
    append_range(&log, 0, records);
    log.seal().unwrap();
    log.close().unwrap();
    let active = segment_files(dir).pop().unwrap();
    std::fs::remove_file(&active).unwrap();
    assert!(segment_files(dir).len() >= 2, "too few segments");
    active
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn a_full_disk_defers_the_writer_until_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let records = 3000;
    let missing_active = log_ending_sealed(&dir, records);
    let segments_before = segment_files(&dir);

    let disk = BlockFs::new(0);
    let log = small_segments(&dir)
        .file_system(Arc::new(disk.clone()))
        .open()
        .expect("open on a full disk");
    let cause = log.writer_deferred().expect("the writer is deferred");
    assert!(cause.contains("No space left on device"), "{cause}");
    assert_events(&read_all(&log), records);

    for attempt in 0..2 {
        let result = log.append(&event(records)).and_then(|h| h.wait());
        match &result {
            Err(AppendError::StorageFull { cause }) => {
                assert!(cause.contains("No space left on device"), "{cause}")
            }
            other => panic!("append {attempt} on a full disk: {other:?}"),
        }
        assert!(
            matches!(log.start_writer(), Err(Error::StorageFull { .. })),
            "start_writer on a full disk"
        );
    }
    // Nothing to sync or seal, nothing written, nothing left behind.
    log.sync().expect("sync");
    log.seal().expect("seal");
    assert_eq!(segment_files(&dir), segments_before);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert_eq!(disk.free_blocks(), 0);
    assert_eq!(log.end_seq(), records);

    // Retention needs no new block (its cut record fits the cut log's last block) and frees
    // whole segments.
    let report = log
        .apply_retention(&RetentionPolicy {
            max_total_bytes: Some(150_000),
            ..RetentionPolicy::default()
        })
        .expect("retention on a full disk");
    assert!(report.reclaimed_bytes > 0 && disk.free_blocks() > 0);
    let first_kept = log.first_seq();
    assert!(first_kept > 0);

    // The next append starts the writer, in the segment that was missing, continuing the tree.
    let receipt = log
        .append(&event(records))
        .and_then(|h| h.wait())
        .expect("append after freeing space");
    assert_eq!(receipt.seq, records);
    assert_eq!(log.writer_deferred(), None);
    assert!(
        missing_active.exists(),
        "the active segment was not created"
    );
    log.start_writer().expect("start_writer when running");
    append_range(&log, records + 1, records + 10);
    log.close().expect("close");

    let log = AuditLog::builder(&dir)
        .open_check(OpenCheck::Full)
        .open()
        .expect("reopen");
    assert_eq!(log.first_seq(), first_kept);
    let read = read_all(&log);
    assert_eq!(read.len() as u64, records + 10 - first_kept);
    for r in &read {
        assert_eq!(r.event, event(r.seq));
    }
    log.close().unwrap();
}

#[test]
fn the_explicit_call_starts_a_deferred_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let missing_active = log_ending_sealed(&dir, 1000);
    let disk = BlockFs::new(0);
    let log = small_segments(&dir)
        .file_system(Arc::new(disk.clone()))
        .open()
        .unwrap();
    assert!(log.writer_deferred().is_some());
    // Space freed outside the log.
    *disk.free.lock() = 64;
    log.start_writer()
        .expect("start_writer after freeing space");
    assert_eq!(log.writer_deferred(), None);
    assert!(missing_active.exists());
    append_range(&log, 1000, 1010);
    log.close().unwrap();
    let log = small_segments(&dir).open().unwrap();
    assert_events(&read_all(&log), 1010);
}

/// Fails `create_new` with EIO: not a full disk, so the open must still fail.
#[derive(Debug)]
struct EioOnCreate;

impl FileSystem for EioOnCreate {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, _: &Path) -> io::Result<Box<dyn WritableFile>> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        StdFileSystem.open_writable(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFileSystem.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFileSystem.sync_dir(dir)
    }
}

#[test]
fn other_errors_creating_the_segment_still_fail_the_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    log_ending_sealed(&dir, 1000);
    let err = small_segments(&dir)
        .file_system(Arc::new(EioOnCreate))
        .open()
        .map(|_| ())
        .expect_err("open with EIO creating the segment");
    assert!(err.to_string().contains("Input/output error"), "{err}");
}
