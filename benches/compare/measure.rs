//! Measuring: latencies, bytes written by this process, bytes on disk, crash images.

use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes written to storage while an engine runs, counted two ways:
/// - by the block device holding the directory (`/sys/dev/block/MAJ:MIN/stat`, sectors
///   written): includes the file-system journal, and also any other process writing to the
///   same disk at the time (other builds on this machine), so it is an upper bound;
/// - by this process (`/proc/self/io` `write_bytes`): counted when a page-cache folio turns
///   dirty, per folio. With the large folios of recent kernels, rewriting a few bytes of an
///   already-written region counts the whole folio (up to 1 MiB per fdatasync measured here on
///   a pre-zeroed file), so it overstates in-place rewrites; journal writes are not included.
pub struct DiskWrites {
    stat: Option<std::path::PathBuf>,
    device: u64,
    process: u64,
}

impl DiskWrites {
    pub fn start(dir: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let stat = std::fs::metadata(dir).ok().map(|m| {
            let dev = m.dev();
            let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
            let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
            std::path::PathBuf::from(format!("/sys/dev/block/{major}:{minor}/stat"))
        });
        let device = stat.as_deref().map_or(0, device_write_bytes);
        DiskWrites {
            stat,
            device,
            process: process_write_bytes(),
        }
    }

    /// (device bytes, process bytes) written since `start`.
    pub fn finish(&self) -> (u64, u64) {
        let device = self.stat.as_deref().map_or(0, device_write_bytes);
        (
            device.saturating_sub(self.device),
            process_write_bytes().saturating_sub(self.process),
        )
    }
}

fn device_write_bytes(stat: &Path) -> u64 {
    std::fs::read_to_string(stat)
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(6)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |sectors| sectors * 512)
}

fn process_write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| {
                    l.strip_prefix("write_bytes: ")
                        .map(|v| v.trim().parse().ok())
                })
                .flatten()
        })
        .unwrap_or(0)
}

/// Sum of the lengths of the regular files under `dir` (recursively), skipping files for which
/// `skip` returns true.
pub fn dir_bytes(dir: &Path, skip: &dyn Fn(&Path) -> bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dir_bytes(&path, skip),
                Ok(t) if t.is_file() && !skip(&path) => e.metadata().map_or(0, |m| m.len()),
                _ => 0,
            }
        })
        .sum()
}

/// Copies `src` to `dst` file by file while the engine that owns `src` is still running: the
/// bytes a `kill -9` leaves behind (the page cache survives a process crash). Files that vanish
/// mid-copy (a background compaction) are skipped.
pub fn crash_image(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)?.flatten() {
        let to = dst.join(entry.file_name());
        match entry.file_type() {
            Ok(t) if t.is_dir() => crash_image(&entry.path(), &to)?,
            Ok(t) if t.is_file() => match std::fs::copy(entry.path(), &to) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                other => {
                    other?;
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// Latencies in nanoseconds, summarised by percentile.
#[derive(Default, Clone)]
pub struct Latencies(pub Vec<u64>);

impl Latencies {
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.0.push(start.elapsed().as_nanos() as u64);
        out
    }

    pub fn percentile(&mut self, p: f64) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let idx = ((self.0.len() - 1) as f64 * p).round() as usize;
        Some(Duration::from_nanos(self.0[idx]))
    }
}

/// What one run of one engine setting measured.
#[derive(Default, Clone)]
pub struct Outcome {
    pub events: usize,
    pub elapsed: Duration,
    /// Per commit (per acknowledged append or batch).
    pub latencies: Latencies,
    pub write_bytes: u64,
    pub device_write_bytes: u64,
    pub disk_bytes: u64,
    pub open_after_crash: Option<Duration>,
    /// fdatasyncs during the load (known for our engine and the raw file).
    pub syncs: Option<u64>,
    /// Whether the writes were a server's (PostgreSQL), which this process's
    /// `/proc/self/io` does not see: only the device column is meaningful then.
    pub server_process: bool,
    /// The 1-minute load average when the run started.
    pub load1: f64,
    /// Query timings, one entry per state the engine was queried in.
    pub queries: Vec<QueryTimes>,
}

/// Query timings of one engine in one state (our active segment, our sealed segments with
/// their index files, a SQL table), each the median of [`QUERY_REPEATS`] after one untimed
/// warm-up, and the mean number of rows each returned.
#[derive(Clone, Default)]
pub struct QueryTimes {
    pub state: &'static str,
    /// All events of one actor, every payload decoded.
    pub actor: Duration,
    pub actor_rows: f64,
    /// The number of events of one actor.
    pub actor_count: Duration,
    /// About [`RANGE_ROWS`](crate::spec::RANGE_ROWS) consecutive events by time, payloads
    /// decoded.
    pub range: Duration,
    pub range_rows: f64,
}

impl Outcome {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How many query repetitions each query figure is the median of.
pub const QUERY_REPEATS: usize = 5;

/// Median time of `f` over [`QUERY_REPEATS`] runs after one untimed warm-up run, each run
/// getting its index (the warm-up gets [`QUERY_REPEATS`]), and the mean of what it returned
/// (rows found) over the timed runs.
pub fn median_query(mut f: impl FnMut(usize) -> usize) -> (Duration, f64) {
    std::hint::black_box(f(QUERY_REPEATS));
    let mut l = Latencies::default();
    let mut rows = 0usize;
    for i in 0..QUERY_REPEATS {
        rows += l.time(|| std::hint::black_box(f(i)));
    }
    (
        l.percentile(0.5).unwrap_or_default(),
        rows as f64 / QUERY_REPEATS as f64,
    )
}

/// The 1-minute load average (`/proc/loadavg`), 0 if unreadable.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}
