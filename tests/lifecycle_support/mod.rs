//! A file-system layer that crashes on purpose: once armed, the `n`-th write-path call and
//! every later one fail without doing anything, as if the process had died just before it.
//! What happened before stays on the real disk, which is what a reopen then sees.
#![allow(dead_code)]

use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts write-path calls and fails every call from the `fail_at`-th on.
#[derive(Debug, Default)]
pub struct CrashingFs {
    calls: AtomicU64,
    armed_at: AtomicU64,
    /// `u64::MAX` while disarmed.
    fail_at: AtomicU64,
    inner: StdFileSystem,
}

impl CrashingFs {
    pub fn new() -> Arc<Self> {
        let fs = CrashingFs::default();
        fs.fail_at.store(u64::MAX, Ordering::SeqCst);
        Arc::new(fs)
    }

    /// From now on, the call numbered `n` (0 = the next one) and all later ones fail.
    pub fn crash_after(&self, n: u64) {
        let now = self.calls.load(Ordering::SeqCst);
        self.armed_at.store(now, Ordering::SeqCst);
        self.fail_at.store(now + n, Ordering::SeqCst);
    }

    /// Calls made since the last `crash_after`, or since creation.
    pub fn calls_since_armed(&self) -> u64 {
        self.calls.load(Ordering::SeqCst) - self.armed_at.load(Ordering::SeqCst)
    }

    /// Whether any call has failed.
    pub fn crashed(&self) -> bool {
        self.calls.load(Ordering::SeqCst) > self.fail_at.load(Ordering::SeqCst)
    }

    fn step(&self) -> io::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n >= self.fail_at.load(Ordering::SeqCst) {
            Err(io::Error::other("simulated crash"))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug)]
struct CrashingFile {
    fs: Arc<CrashingFs>,
    inner: Box<dyn WritableFile>,
}

/// `FileSystem` for an `Arc<CrashingFs>`, so files share the counter.
#[derive(Debug, Clone)]
pub struct Crashing(pub Arc<CrashingFs>);

impl FileSystem for Crashing {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0.step()?;
        self.0.inner.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.0.step()?;
        let inner = self.0.inner.create_new(path)?;
        Ok(Box::new(CrashingFile {
            fs: self.0.clone(),
            inner,
        }))
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.0.step()?;
        let inner = self.0.inner.open_writable(path)?;
        Ok(Box::new(CrashingFile {
            fs: self.0.clone(),
            inner,
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.step()?;
        self.0.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.0.step()?;
        self.0.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.0.step()?;
        self.0.inner.sync_dir(dir)
    }
}

impl WritableFile for CrashingFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.fs.step()?;
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.fs.step()?;
        self.inner.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.fs.step()?;
        self.inner.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.fs.step()?;
        self.inner.preallocate(len)
    }
}
