//! An I/O fault injector behind the [`FileSystem`] interface (test infrastructure).
//!
//! [`FaultyFs`] forwards every call to an inner file system (the real one, or the power-loss
//! simulator to also check what a fault leaves on disk) and counts the calls. One call, chosen
//! by its index, fails with the chosen [`Fault`]; every other call succeeds as the inner file
//! system decides. A harness first runs a workload to count its calls and learn their kinds
//! ([`FaultyFs::calls`]), then replays it once per call index and fault kind.

use super::{FileSystem, WritableFile};
use parking_lot::Mutex;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The failure injected at the chosen call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails with EIO and has no effect.
    Eio,
    /// The call fails with ENOSPC and has no effect.
    NoSpace,
    /// A write stores the first half of its buffer, then fails with ENOSPC (a short write
    /// followed by a full disk). On calls that are not writes it acts like [`Fault::NoSpace`].
    ShortWrite,
}

impl Fault {
    /// Every fault kind.
    pub const ALL: [Fault; 3] = [Fault::Eio, Fault::NoSpace, Fault::ShortWrite];

    fn error(self) -> io::Error {
        match self {
            Fault::Eio => io::Error::from_raw_os_error(libc::EIO),
            Fault::NoSpace | Fault::ShortWrite => io::Error::from_raw_os_error(libc::ENOSPC),
        }
    }
}

/// The kind of an interface call, as recorded by [`FaultyFs::calls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// [`FileSystem::create_dir_all`]
    CreateDirAll,
    /// [`FileSystem::create_new`]
    CreateNew,
    /// [`FileSystem::open_writable`]
    OpenWritable,
    /// [`FileSystem::rename`]
    Rename,
    /// [`FileSystem::remove_file`]
    RemoveFile,
    /// [`FileSystem::sync_dir`]
    SyncDir,
    /// [`WritableFile::write_all_at`]
    Write,
    /// [`WritableFile::sync_data`]
    SyncData,
    /// [`WritableFile::set_len`]
    SetLen,
    /// [`WritableFile::preallocate`]
    Preallocate,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    plan: Option<(usize, Fault)>,
    injected: Option<(usize, Call, Fault)>,
}

impl State {
    /// Records a call; returns the fault to inject into it, if this is the chosen one.
    fn enter(&mut self, call: Call) -> Option<Fault> {
        let index = self.calls.len();
        self.calls.push(call);
        let fault = self.plan.filter(|(at, _)| *at == index).map(|(_, f)| f)?;
        self.injected = Some((index, call, fault));
        Some(fault)
    }
}

/// The fault injector. Clone it to keep a handle after passing it to a log builder.
#[derive(Clone)]
pub struct FaultyFs {
    inner: Arc<dyn FileSystem>,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for FaultyFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyFs")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl FaultyFs {
    /// Forwards to `inner`, injecting nothing until [`inject`](Self::inject) is called.
    pub fn new(inner: Arc<dyn FileSystem>) -> Self {
        FaultyFs {
            inner,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Makes call number `index` (counting from 0) fail with `fault`.
    pub fn inject(&self, index: usize, fault: Fault) {
        self.state.lock().plan = Some((index, fault));
    }

    /// The kinds of the calls made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().calls.clone()
    }

    /// The call that received the fault (its index and kind), once it happened.
    pub fn injected(&self) -> Option<(usize, Call, Fault)> {
        self.state.lock().injected
    }

    fn enter(&self, call: Call) -> Option<Fault> {
        self.state.lock().enter(call)
    }
}

impl FileSystem for FaultyFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        match self.enter(Call::CreateDirAll) {
            Some(fault) => Err(fault.error()),
            None => self.inner.create_dir_all(path),
        }
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        match self.enter(Call::CreateNew) {
            Some(fault) => Err(fault.error()),
            None => Ok(Box::new(FaultyFile {
                inner: self.inner.create_new(path)?,
                state: self.state.clone(),
            })),
        }
    }

    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        match self.enter(Call::OpenWritable) {
            Some(fault) => Err(fault.error()),
            None => Ok(Box::new(FaultyFile {
                inner: self.inner.open_writable(path)?,
                state: self.state.clone(),
            })),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        match self.enter(Call::Rename) {
            Some(fault) => Err(fault.error()),
            None => self.inner.rename(from, to),
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match self.enter(Call::RemoveFile) {
            Some(fault) => Err(fault.error()),
            None => self.inner.remove_file(path),
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match self.enter(Call::SyncDir) {
            Some(fault) => Err(fault.error()),
            None => self.inner.sync_dir(dir),
        }
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn WritableFile>,
    state: Arc<Mutex<State>>,
}

impl FaultyFile {
    fn enter(&self, call: Call) -> Option<Fault> {
        self.state.lock().enter(call)
    }
}

impl WritableFile for FaultyFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        match self.enter(Call::Write) {
            Some(Fault::ShortWrite) => {
                self.inner.write_all_at(&buf[..buf.len() / 2], offset)?;
                Err(Fault::ShortWrite.error())
            }
            Some(fault) => Err(fault.error()),
            None => self.inner.write_all_at(buf, offset),
        }
    }

    fn sync_data(&mut self) -> io::Result<()> {
        match self.enter(Call::SyncData) {
            Some(fault) => Err(fault.error()),
            None => self.inner.sync_data(),
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        match self.enter(Call::SetLen) {
            Some(fault) => Err(fault.error()),
            None => self.inner.set_len(len),
        }
    }

    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        match self.enter(Call::Preallocate) {
            Some(fault) => Err(fault.error()),
            None => self.inner.preallocate(len),
        }
    }
}
