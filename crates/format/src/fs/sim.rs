//! A power-loss simulator behind the [`FileSystem`] interface (test infrastructure).
//!
//! [`SimFs`] passes every call through to the real files, so the running log reads what it
//! wrote, and remembers what a power loss could take away: for each file, the content as of
//! its last successful `sync_data` plus the operations since; for the directory tree, the
//! entries as of the last `sync_dir` of their parent plus the creations, renames and removals
//! since. At a simulated power loss ([`SimFs::crash_at_op`] or [`SimFs::crash_now`]) it
//! materialises a *crash image* into a new real directory: the durable state plus a choice of
//! the unsynced operations that [`CrashMode`] describes (none, all, a prefix, or any subset,
//! with torn writes that keep part of a write and leave old bytes, zeros or garbage after it).
//! After the power loss every call fails, as on a machine that is off.
//!
//! The model follows POSIX, not what a particular file system happens to do: `fdatasync` makes
//! a file's data and size durable but not its name; `sync_dir` makes durable the operations on
//! that directory's entries only (a new directory also needs its parent synced); `rename` is
//! atomic; unsynced directory operations reach the disk in the order they were made, so a
//! crash keeps a prefix of them.
//! Files that exist when the simulator is created count as durable.

use super::{FileSystem, WritableFile};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which unsynced operations survive a simulated power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Only synced state survives: the worst case for durability.
    DropUnsynced,
    /// Everything written survives (like a process crash; the page cache reached the disk).
    KeepAll,
    /// Per file, a prefix of the unsynced operations, the last one possibly torn; a prefix of
    /// the unsynced directory operations.
    Prefix,
    /// Per file, each unsynced operation independently kept, dropped or torn (page writeback
    /// happens in any order); a prefix of the unsynced directory operations.
    Scramble,
}

impl CrashMode {
    /// Every mode, for harnesses that pick one at random.
    pub const ALL: [CrashMode; 4] = [
        CrashMode::DropUnsynced,
        CrashMode::KeepAll,
        CrashMode::Prefix,
        CrashMode::Scramble,
    ];
}

/// SplitMix64: a small deterministic generator, so a failing seed replays exactly.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// An operation on a file's data since its last sync.
#[derive(Debug, Clone)]
enum DataOp {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
    Preallocate(u64),
}

#[derive(Debug, Default)]
struct SimFile {
    /// Content as of the last successful `sync_data`.
    durable: Vec<u8>,
    /// Operations since then, in order.
    pending: Vec<DataOp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File(usize),
    Dir,
}

/// A directory operation not yet made durable by a `sync_dir` of `parent`.
#[derive(Debug, Clone)]
struct DirOp {
    parent: PathBuf,
    change: DirChange,
}

#[derive(Debug, Clone)]
enum DirChange {
    Create(PathBuf, Node),
    Rename(PathBuf, PathBuf),
    Remove(PathBuf),
}

#[derive(Debug)]
struct Crash {
    at_op: u64,
    mode: CrashMode,
    image: PathBuf,
}

#[derive(Debug)]
struct State {
    root: PathBuf,
    files: Vec<SimFile>,
    /// Entries as the running system sees them (relative paths under `root`).
    current: BTreeMap<PathBuf, Node>,
    /// Entries that survive any crash.
    durable: BTreeMap<PathBuf, Node>,
    dir_ops: Vec<DirOp>,
    ops: u64,
    crash: Option<Crash>,
    crashed: bool,
    rng: SimRng,
}

/// The power-loss simulator. Clone it to keep a handle after passing it to a log builder.
#[derive(Debug, Clone)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

fn powered_off() -> io::Error {
    io::Error::other("simulated power loss: the machine is off")
}

impl SimFs {
    /// A simulator for everything under `root` (an existing directory), whose present files
    /// and directories count as durable. `seed` drives the choices made at a crash.
    pub fn new(root: &Path, seed: u64) -> io::Result<Self> {
        let mut state = State {
            root: root.to_path_buf(),
            files: Vec::new(),
            current: BTreeMap::new(),
            durable: BTreeMap::new(),
            dir_ops: Vec::new(),
            ops: 0,
            crash: None,
            crashed: false,
            rng: SimRng::new(seed),
        };
        state.adopt(root)?;
        state.durable = state.current.clone();
        Ok(SimFs {
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// Schedules a power loss right after the `at_op`-th call (counting from 1) through this
    /// simulator; the crash image is written to `image` (which must not exist).
    pub fn crash_at_op(&self, at_op: u64, mode: CrashMode, image: PathBuf) {
        self.state.lock().crash = Some(Crash { at_op, mode, image });
    }

    /// Cuts the power now, writing the crash image to `image`, unless it is already off.
    pub fn crash_now(&self, mode: CrashMode, image: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if state.crashed {
            return Ok(());
        }
        state.crashed = true;
        state.materialise(mode, image)
    }

    /// Calls made through the simulator so far.
    pub fn op_count(&self) -> u64 {
        self.state.lock().ops
    }

    /// Whether the power is off.
    pub fn has_crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Runs one call: refuses it after a power loss, performs it, and cuts the power if the
    /// scheduled crash point is reached.
    fn call<T>(&self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut state = self.state.lock();
        if state.crashed {
            return Err(powered_off());
        }
        let result = f(&mut state)?;
        state.ops += 1;
        let due = state.crash.as_ref().is_some_and(|c| c.at_op == state.ops);
        if due && let Some(crash) = state.crash.take() {
            state.crashed = true;
            state.materialise(crash.mode, &crash.image)?;
        }
        Ok(result)
    }
}

impl State {
    fn rel(&self, path: &Path) -> io::Result<PathBuf> {
        path.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .map_err(|_| {
                io::Error::other(format!("{} is outside the simulated root", path.display()))
            })
    }

    /// Registers what exists under `dir` (recursively) as current entries.
    fn adopt(&mut self, dir: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let rel = self.rel(&path)?;
            if path.is_dir() {
                self.current.insert(rel, Node::Dir);
                self.adopt(&path)?;
            } else {
                let durable = std::fs::read(&path)?;
                self.files.push(SimFile {
                    durable,
                    pending: Vec::new(),
                });
                self.current.insert(rel, Node::File(self.files.len() - 1));
            }
        }
        Ok(())
    }

    fn dir_op(&mut self, rel: &Path, change: DirChange) {
        let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        self.dir_ops.push(DirOp { parent, change });
    }

    fn materialise(&mut self, mode: CrashMode, image: &Path) -> io::Result<()> {
        // Directory entries: the durable ones plus a prefix of the unsynced operations.
        let kept_dir_ops = match mode {
            CrashMode::DropUnsynced => 0,
            CrashMode::KeepAll => self.dir_ops.len(),
            CrashMode::Prefix | CrashMode::Scramble => {
                self.rng.below(self.dir_ops.len() as u64 + 1) as usize
            }
        };
        let mut entries = self.durable.clone();
        for op in &self.dir_ops[..kept_dir_ops] {
            apply_dir_change(&mut entries, &op.change);
        }
        std::fs::create_dir(image)?;
        // Sorted paths list a directory before its contents; an entry whose directory did
        // not survive is gone with it.
        let mut made = std::collections::BTreeSet::from([PathBuf::new()]);
        for (rel, node) in &entries {
            if !made.contains(rel.parent().unwrap_or(Path::new(""))) {
                continue;
            }
            let path = image.join(rel);
            match node {
                Node::Dir => {
                    std::fs::create_dir(&path)?;
                    made.insert(rel.clone());
                }
                Node::File(id) => {
                    let file = &self.files[*id];
                    let content = crash_content(file, mode, &mut self.rng);
                    std::fs::write(&path, content)?;
                }
            }
        }
        Ok(())
    }
}

fn apply_dir_change(entries: &mut BTreeMap<PathBuf, Node>, change: &DirChange) {
    match change {
        DirChange::Create(path, node) => {
            entries.insert(path.clone(), *node);
        }
        DirChange::Rename(from, to) => {
            if let Some(node) = entries.remove(from) {
                entries.insert(to.clone(), node);
            }
        }
        DirChange::Remove(path) => {
            entries.remove(path);
        }
    }
}

/// How one unsynced operation fares in a crash.
#[derive(Clone, Copy)]
enum Fate {
    Kept,
    Lost,
    /// A write of which the first `keep` bytes reached the disk; the rest of its range holds
    /// the old bytes, zeros or garbage.
    Torn {
        keep: u64,
        fill: Fill,
    },
}

#[derive(Clone, Copy)]
enum Fill {
    Old,
    Zeros,
    Garbage,
}

fn random_tear(op: &DataOp, rng: &mut SimRng) -> Fate {
    let DataOp::Write { bytes, .. } = op else {
        return if rng.one_in(2) {
            Fate::Kept
        } else {
            Fate::Lost
        };
    };
    let len = bytes.len() as u64;
    // Half the tears fall on 512-byte sector boundaries, the others anywhere.
    let keep = if rng.one_in(2) {
        (rng.below(len / 512 + 1) * 512).min(len)
    } else {
        rng.below(len + 1)
    };
    let fill = [Fill::Old, Fill::Zeros, Fill::Garbage][rng.below(3) as usize];
    Fate::Torn { keep, fill }
}

/// The bytes a file holds after a crash in `mode`.
fn crash_content(file: &SimFile, mode: CrashMode, rng: &mut SimRng) -> Vec<u8> {
    let n = file.pending.len();
    let fates: Vec<Fate> = match mode {
        CrashMode::DropUnsynced => vec![Fate::Lost; n],
        CrashMode::KeepAll => vec![Fate::Kept; n],
        CrashMode::Prefix => {
            let cut = rng.below(n as u64 + 1) as usize;
            (0..n)
                .map(|i| match i.cmp(&cut) {
                    std::cmp::Ordering::Less => Fate::Kept,
                    std::cmp::Ordering::Equal => random_tear(&file.pending[i], rng),
                    std::cmp::Ordering::Greater => Fate::Lost,
                })
                .collect()
        }
        CrashMode::Scramble => file
            .pending
            .iter()
            .map(|op| match rng.below(3) {
                0 => Fate::Kept,
                1 => Fate::Lost,
                _ => random_tear(op, rng),
            })
            .collect(),
    };
    let mut content = file.durable.clone();
    for (op, fate) in file.pending.iter().zip(fates) {
        match (op, fate) {
            (_, Fate::Lost) => {}
            (DataOp::SetLen(len), _) => content.resize(*len as usize, 0),
            (DataOp::Preallocate(len), _) => {
                if content.len() < *len as usize {
                    content.resize(*len as usize, 0);
                }
            }
            (DataOp::Write { offset, bytes }, Fate::Kept) => {
                write_into(&mut content, *offset, bytes)
            }
            (DataOp::Write { offset, bytes }, Fate::Torn { keep, fill }) => {
                let keep = keep as usize;
                write_into(&mut content, *offset, &bytes[..keep]);
                let rest_at = offset + keep as u64;
                let rest_len = bytes.len() - keep;
                match fill {
                    Fill::Old => {}
                    Fill::Zeros => write_into(&mut content, rest_at, &vec![0; rest_len]),
                    Fill::Garbage => {
                        let garbage: Vec<u8> =
                            (0..rest_len).map(|_| rng.next_u64() as u8).collect();
                        write_into(&mut content, rest_at, &garbage);
                    }
                }
            }
        }
    }
    content
}

fn write_into(content: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    let start = offset as usize;
    let end = start + bytes.len();
    if content.len() < end {
        content.resize(end, 0);
    }
    content[start..end].copy_from_slice(bytes);
}

impl FileSystem for SimFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.call(|state| {
            let rel = state.rel(path)?;
            std::fs::create_dir_all(path)?;
            // Record each missing component as created in its parent.
            let mut prefix = PathBuf::new();
            for component in rel.components() {
                prefix.push(component);
                if !state.current.contains_key(&prefix) {
                    state.current.insert(prefix.clone(), Node::Dir);
                    let change = DirChange::Create(prefix.clone(), Node::Dir);
                    state.dir_op(&prefix.clone(), change);
                }
            }
            Ok(())
        })
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let state = self.state.clone();
        self.call(|s| {
            let rel = s.rel(path)?;
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?;
            s.files.push(SimFile::default());
            let id = s.files.len() - 1;
            s.current.insert(rel.clone(), Node::File(id));
            s.dir_op(&rel, DirChange::Create(rel.clone(), Node::File(id)));
            Ok(Box::new(SimHandle { file, id, state }) as Box<dyn WritableFile>)
        })
    }

    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let state = self.state.clone();
        self.call(|s| {
            let rel = s.rel(path)?;
            let Some(Node::File(id)) = s.current.get(&rel).copied() else {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} is not a file known to the simulator", path.display()),
                ));
            };
            let file = OpenOptions::new().read(true).write(true).open(path)?;
            Ok(Box::new(SimHandle { file, id, state }) as Box<dyn WritableFile>)
        })
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.call(|s| {
            let (rel_from, rel_to) = (s.rel(from)?, s.rel(to)?);
            std::fs::rename(from, to)?;
            if let Some(node) = s.current.remove(&rel_from) {
                s.current.insert(rel_to.clone(), node);
            }
            s.dir_op(&rel_to, DirChange::Rename(rel_from, rel_to.clone()));
            Ok(())
        })
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.call(|s| {
            let rel = s.rel(path)?;
            std::fs::remove_file(path)?;
            s.current.remove(&rel);
            s.dir_op(&rel, DirChange::Remove(rel.clone()));
            Ok(())
        })
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.call(|s| {
            let rel = s.rel(dir)?;
            if !dir.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
            }
            // POSIX: syncing a directory makes the operations on its own entries durable, not
            // those of its parent (a new directory's name needs the parent synced too).
            let (done, rest): (Vec<DirOp>, Vec<DirOp>) =
                s.dir_ops.drain(..).partition(|op| op.parent == rel);
            s.dir_ops = rest;
            for op in done {
                apply_dir_change(&mut s.durable, &op.change);
            }
            Ok(())
        })
    }
}

/// A file written through the simulator.
#[derive(Debug)]
struct SimHandle {
    file: File,
    id: usize,
    state: Arc<Mutex<State>>,
}

impl SimHandle {
    fn call<T>(&self, f: impl FnOnce(&mut State, &File) -> io::Result<T>) -> io::Result<T> {
        SimFs {
            state: self.state.clone(),
        }
        .call(|s| f(s, &self.file))
    }
}

impl WritableFile for SimHandle {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        let id = self.id;
        self.call(|s, file| {
            file.write_all_at(buf, offset)?;
            let op = DataOp::Write {
                offset,
                bytes: buf.to_vec(),
            };
            s.files[id].pending.push(op);
            Ok(())
        })
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let id = self.id;
        // No real fdatasync: the real file is only the running system's view (its page cache);
        // durability is what this model records. Skipping it keeps crash campaigns fast.
        self.call(|s, _file| {
            let sim = &mut s.files[id];
            let mut durable = std::mem::take(&mut sim.durable);
            for op in sim.pending.drain(..) {
                match op {
                    DataOp::Write { offset, bytes } => write_into(&mut durable, offset, &bytes),
                    DataOp::SetLen(len) => durable.resize(len as usize, 0),
                    DataOp::Preallocate(len) => {
                        if durable.len() < len as usize {
                            durable.resize(len as usize, 0);
                        }
                    }
                }
            }
            sim.durable = durable;
            Ok(())
        })
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let id = self.id;
        self.call(|s, file| {
            file.set_len(len)?;
            s.files[id].pending.push(DataOp::SetLen(len));
            Ok(())
        })
    }

    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        let id = self.id;
        self.call(|s, file| {
            let done = crate::sys::preallocate(file, len)?;
            if done {
                s.files[id].pending.push(DataOp::Preallocate(len));
            }
            Ok(done)
        })
    }
}
