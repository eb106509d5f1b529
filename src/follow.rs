//! Following a log that another process is writing: [`AuditLog::refresh`].
//!
//! A read-only handle sees the log as of its open. `refresh` brings its view forward: it
//! resumes the scan of the newest segment where the last scan stopped (checking each new
//! frame's CRC, order and Merkle leaf as recovery does), notices when that segment was sealed,
//! and picks up segments created since, checking that each continues the chain. An in-flight
//! (not yet valid) tail is simply where the view ends for now; damage proven durable is an
//! error, and the view stays where it was.

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::log::AuditLog;
use crate::recovery::check_chain;
use crate::segment::Segment;
use crate::segment::name::segment_path;
use crate::segment::scan::{End, ScanOutcome, resume, scan};
use crate::sys::ReadMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a read-only handle polls the files while waiting for new records.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

fn map(path: &Path) -> Result<ReadMap> {
    File::open(path)
        .and_then(|f| ReadMap::new(&f))
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

impl AuditLog {
    /// For a read-only handle, picks up records and segments written since it was opened or
    /// last refreshed (by a writer in another process) and returns the new committed end.
    /// For a writing handle the view is always current and this only returns it.
    pub fn refresh(&self) -> Result<u64> {
        let shared = self.shared();
        let mut follow = shared.follow.lock();
        if !shared.options.read_only {
            return Ok(self.end_seq());
        }
        let view = self.view();
        let mut segments = (*view.segments).clone();
        let mut state = follow.take();
        let result = loop {
            let outcome = match state.take() {
                Some(previous) => {
                    let path = segment_path(&shared.dir, previous.header.first_seq);
                    let bytes = map(&path)?;
                    match resume(&path, &bytes, previous.clone(), &mut |_, _| {}) {
                        Ok(o) => {
                            if let Some(active) = segments.last() {
                                active.push_offsets(&o.offsets);
                            }
                            o
                        }
                        Err(c) => {
                            state = Some(previous);
                            break Err(Error::Corrupt(Box::new(c)));
                        }
                    }
                }
                None => {
                    // The newest segment we know is sealed: has the writer started another?
                    let end = segments
                        .last()
                        .and_then(|s| s.footer())
                        .map(|f| f.tree_head);
                    let Some(end) = end else { break Ok(()) };
                    let path = segment_path(&shared.dir, end.size);
                    if !path.exists() {
                        break Ok(());
                    }
                    let bytes = map(&path)?;
                    let o = match scan(&path, &bytes, &mut |_, _| {}) {
                        Ok(o) => o,
                        Err(c) => break Err(Error::Corrupt(Box::new(c))),
                    };
                    let last_at = segments
                        .last()
                        .and_then(|s| s.footer())
                        .map(|f| f.last_recorded_at);
                    if let Err(c) = check_chain(&o.header, &path, &end, last_at.unwrap_or(i64::MIN))
                    {
                        break Err(Error::Corrupt(Box::new(c)));
                    }
                    if o.header.log_id != shared.meta.log_id {
                        let c = Corruption {
                            file: path.clone(),
                            offset: 0,
                            seq: None,
                            kind: CorruptionKind::ForeignLog,
                        };
                        break Err(Error::Corrupt(Box::new(c)));
                    }
                    segments.push(Arc::new(Segment::active(
                        path,
                        o.header.clone(),
                        o.offsets.clone(),
                    )?));
                    o
                }
            };
            match &outcome.end {
                End::Footer(footer) => {
                    let path = segment_path(&shared.dir, outcome.header.first_seq);
                    let known = segments
                        .last()
                        .map(|s| s.offsets_snapshot())
                        .unwrap_or_default();
                    let sealed = Segment::sealed(path, outcome.header.clone(), footer.clone());
                    if let Some(last) = segments.last_mut() {
                        *last = Arc::new(sealed.with_offsets(known));
                    }
                    publish(self, &segments, &outcome);
                }
                End::Damaged {
                    durable: true,
                    offset,
                    ..
                } => {
                    let c = Corruption {
                        file: segment_path(&shared.dir, outcome.header.first_seq),
                        offset: *offset,
                        seq: Some(outcome.end_seq()),
                        kind: CorruptionKind::DamageBeforeValidRecords,
                    };
                    publish(self, &segments, &outcome);
                    state = Some(outcome);
                    break Err(Error::Corrupt(Box::new(c)));
                }
                End::Clean | End::Damaged { .. } => {
                    publish(self, &segments, &outcome);
                    state = Some(outcome);
                    break Ok(());
                }
            }
        };
        *follow = state;
        result.map(|()| self.end_seq())
    }

    /// Waits until records past `seen_end` are committed, or `timeout` passes; returns the
    /// committed end. The building block of tailing. A read-only handle polls the files
    /// (every 50 ms) through [`refresh`](Self::refresh), so it follows a writer in another
    /// process.
    pub fn wait_for_records(&self, seen_end: u64, timeout: Duration) -> u64 {
        if !self.shared().options.read_only {
            return self.shared().published.wait_past(seen_end, timeout);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let end = self.refresh().unwrap_or_else(|_| self.end_seq());
            let now = Instant::now();
            if end > seen_end || now >= deadline {
                return end;
            }
            std::thread::sleep(POLL_INTERVAL.min(deadline - now));
        }
    }
}

fn publish(log: &AuditLog, segments: &[Arc<Segment>], outcome: &ScanOutcome) {
    let segments = Arc::new(segments.to_vec());
    let tree_head = outcome.frontier.tree_head();
    let last = outcome.last_recorded_at;
    log.shared().published.update(|v| {
        v.segments = segments;
        v.end_seq = tree_head.size;
        v.tree_head = tree_head;
        v.last_recorded_at = last;
    });
}
