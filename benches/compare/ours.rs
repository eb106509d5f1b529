//! This engine, in each durability mode.

use crate::measure::{
    DiskWrites, Latencies, Outcome, QueryTimes, crash_image, dir_bytes, median_query,
};
use crate::spec::{QUERY_BATCH, RANGE_ROWS, Spec, query_actor, range_start};
use auditlog::fs::{FileSystem, StdFileSystem, WritableFile};
use auditlog::query::Query;
use auditlog::{AuditLog, Durability, Event, EventLimits};
use auditlog_format::event::codec::encode_payload;
use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Any of the engine's errors (open, append, read), as the harness reports them.
fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Batches one producer keeps in flight (`COMPARE_IN_FLIGHT`, default 8): the API lets it
/// submit the next before the previous is acknowledged, as a service's ingestion loop would.
fn in_flight() -> usize {
    std::env::var("COMPARE_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

pub fn run(
    dir: &Path,
    durability: Durability,
    events: &[Event],
    spec: Spec,
) -> Result<Outcome, String> {
    let log_dir = dir.join("log");
    let fs = Arc::new(CountingFs::default());
    let log = AuditLog::builder(&log_dir)
        .durability(durability)
        .file_system(fs.clone())
        .open()
        .map_err(err)?;
    let syncs_before = fs.syncs.load(Ordering::Relaxed);
    let mut out = Outcome {
        events: events.len(),
        ..Outcome::default()
    };
    let written = DiskWrites::start(dir);
    let start = Instant::now();
    if spec.producers == 1 && spec.batch > 1 {
        let mut pending = VecDeque::new();
        let in_flight = in_flight();
        for chunk in events.chunks(spec.batch) {
            if pending.len() == in_flight
                && let Some((t, h)) = pending.pop_front()
            {
                let (t, h): (Instant, auditlog::BatchHandle) = (t, h);
                h.wait().map_err(err)?;
                out.latencies.0.push((Instant::now() - t).as_nanos() as u64);
            }
            pending.push_back((Instant::now(), log.append_batch(chunk).map_err(err)?));
        }
        for (t, h) in pending {
            h.wait().map_err(err)?;
            out.latencies.0.push((Instant::now() - t).as_nanos() as u64);
        }
    } else {
        let shares: Vec<&[Event]> = events
            .chunks(events.len().div_ceil(spec.producers))
            .collect();
        let results: Vec<Result<Latencies, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = shares
                .iter()
                .map(|share| {
                    let log = &log;
                    s.spawn(move || {
                        let mut lat = Latencies::default();
                        for chunk in share.chunks(spec.batch) {
                            lat.time(|| {
                                if chunk.len() == 1 {
                                    log.append(&chunk[0]).and_then(|h| h.wait()).map(|_| ())
                                } else {
                                    log.append_batch(chunk).and_then(|h| h.wait()).map(|_| ())
                                }
                            })
                            .map_err(|e| e.to_string())?;
                        }
                        Ok(lat)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("producer panicked".into())))
                .collect()
        });
        for r in results {
            out.latencies.0.extend(r?.0);
        }
    }
    out.elapsed = start.elapsed();
    out.syncs = Some(fs.syncs.load(Ordering::Relaxed) - syncs_before);
    (out.device_write_bytes, out.write_bytes) = written.finish();

    if spec.extras {
        let image = dir.join("crash-image");
        crash_image(&log_dir, &image).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let reopened = AuditLog::open(&image).map_err(err)?;
        out.open_after_crash = Some(start.elapsed());
        drop(reopened);
        std::fs::remove_dir_all(&image).map_err(|e| e.to_string())?;
        out.queries = queries(dir, events)?;
    }
    // Seal so the last segment is trimmed to its records; the new, empty active segment the
    // seal starts (a header and a preallocation) is not counted.
    log.seal().map_err(err)?;
    log.close().map_err(err)?;
    let newest = newest_segment(&log_dir);
    out.disk_bytes = dir_bytes(&log_dir, &|p| Some(p) == newest.as_deref());
    Ok(out)
}

/// The query API on a log holding `events`, in the two states a reader meets: every record
/// in the active segment (indexed in memory by the reading side, extended on each query up to
/// the committed end), then, after `seal` and `close`, reopened with every record in a sealed
/// segment whose index file the seal persisted (mapped, not rebuilt).
///
/// The log is built for the queries (`OsBuffered`, batches of [`QUERY_BATCH`], one segment
/// large enough for all of them) rather than reusing the timed load's log, whose default
/// 64 MiB segments would mix the two states.
fn queries(dir: &Path, events: &[Event]) -> Result<Vec<QueryTimes>, String> {
    let limits = EventLimits::default();
    let payload: u64 = events
        .iter()
        .map(|e| encode_payload(e, &limits).map_or(0, |p| p.len() as u64 + 64))
        .sum();
    let segment = (payload + payload / 4).max(64 << 20);
    let qdir = dir.join("query-log");
    let log = AuditLog::builder(&qdir)
        .durability(Durability::OsBuffered)
        .segment_max_bytes(segment)
        .open()
        .map_err(err)?;
    let mut pending = VecDeque::new();
    for chunk in events.chunks(QUERY_BATCH) {
        if pending.len() == 8
            && let Some(h) = pending.pop_front()
        {
            let h: auditlog::BatchHandle = h;
            h.wait().map_err(err)?;
        }
        pending.push_back(log.append_batch(chunk).map_err(err)?);
    }
    for h in pending {
        h.wait().map_err(err)?;
    }
    let mut out = vec![measure_queries(&log, events, "active segment")?];
    log.seal().map_err(err)?;
    log.close().map_err(err)?;
    let log = AuditLog::open(&qdir).map_err(|e| e.to_string())?;
    out.push(measure_queries(&log, events, "sealed, index files")?);
    log.close().map_err(err)?;
    std::fs::remove_dir_all(&qdir).map_err(|e| e.to_string())?;
    Ok(out)
}

fn measure_queries(
    log: &auditlog::LogReader,
    events: &[Event],
    state: &'static str,
) -> Result<QueryTimes, String> {
    let n = events.len();
    let at = |seq: usize| log.get(seq as u64).map(|r| r.recorded_at);
    // The bounds of each repetition's range, read before timing (the SQL peers take theirs
    // from the events).
    let mut bounds = Vec::new();
    for i in 0..=crate::measure::QUERY_REPEATS {
        let from = range_start(i, n);
        bounds.push((
            at(from).map_err(|e| e.to_string())?,
            at(from + RANGE_ROWS).map_err(|e| e.to_string())?,
        ));
    }
    let (actor, actor_rows) = median_query(|i| {
        log.query(&Query::new().actor(query_actor(events, i)))
            .map_or(0, |page| page.records.len())
    });
    let (actor_count, _) = median_query(|i| {
        log.count(&Query::new().actor(query_actor(events, i)))
            .map_or(0, |n| n as usize)
    });
    let (range, range_rows) = median_query(|i| {
        let (lo, hi) = bounds[i];
        log.query(&Query::new().recorded_since(lo).recorded_until(hi))
            .map_or(0, |page| page.records.len())
    });
    Ok(QueryTimes {
        state,
        actor,
        actor_rows,
        actor_count,
        range,
        range_rows,
    })
}

fn newest_segment(dir: &Path) -> Option<std::path::PathBuf> {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    segments.pop()
}

/// The real file system, counting fdatasyncs: events per sync is the group-commit figure that
/// does not depend on how fast the disk is at the moment.
#[derive(Debug, Default)]
struct CountingFs {
    syncs: Arc<AtomicU64>,
}

#[derive(Debug)]
struct CountingFile {
    inner: Box<dyn WritableFile>,
    syncs: Arc<AtomicU64>,
}

impl FileSystem for CountingFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdFileSystem.create_dir_all(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let inner = StdFileSystem.create_new(path)?;
        Ok(Box::new(CountingFile {
            inner,
            syncs: self.syncs.clone(),
        }))
    }
    fn open_writable(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let inner = StdFileSystem.open_writable(path)?;
        Ok(Box::new(CountingFile {
            inner,
            syncs: self.syncs.clone(),
        }))
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

impl WritableFile for CountingFile {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.inner.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn preallocate(&mut self, len: u64) -> io::Result<bool> {
        self.inner.preallocate(len)
    }
}
