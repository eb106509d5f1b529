//! Following a log that another process is writing: [`LogReader::refresh`].
//!
//! [`LogReader::refresh`]: crate::LogReader::refresh
//!
//! A read-only handle sees the log as of its open. `refresh` brings its view forward: it
//! resumes the scan of the newest segment where the last scan stopped (checking each new
//! frame's CRC, order and Merkle leaf as recovery does), notices when that segment was sealed,
//! and picks up segments created since, checking that each continues the chain. An in-flight
//! (not yet valid) tail is simply where the view ends for now; damage proven durable is an
//! error, and the view stays where it was.

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::segment::name::segment_path;
use crate::segment::scan::{End, ScanOutcome, Tree, resume_at, scan};
use crate::segment::verdict::Verdict;
use crate::segment::{Segment, live};
use crate::view::{Head, Published, View};
use auditlog_verify::chain::{check_chain, scanned_sound};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How often a read-only handle polls the files while waiting for new records.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Copies the live segment at `path` from `offset` on (it is never mapped: see
/// segment/live.rs).
fn copy_from(path: &Path, offset: u64) -> Result<Vec<u8>> {
    live::copy_from(path, offset).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Scans the live segment at `path` on from `previous` (from its start if `None`), reading it
/// again while the result looks like damage, which a read racing the writer can (see
/// segment/live.rs): only damage that persists is reported.
///
/// A `previous` scan that only counted its leaves (a read-only open's) cannot be resumed: the
/// segment is scanned again from its start, its leaves hashed, once; `offsets` of the result
/// still holds only offsets after `previous`, and a record `previous` counted that is no
/// longer valid is damage.
fn scan_live(
    path: &Path,
    previous: Option<&ScanOutcome<Tree>>,
) -> Result<std::result::Result<ScanOutcome, Corruption>> {
    let previous = match previous.map(|p| (p, &p.frontier)) {
        Some((counted, Tree::Counted(_))) => return rescan_counted(path, counted),
        Some((previous, Tree::Hashed(frontier))) => {
            Some(previous.clone().map_leaves(|_| frontier.clone()))
        }
        None => None,
    };
    live::settled(
        || match &previous {
            Some(previous) => {
                let bytes = copy_from(path, previous.records_end)?;
                let from = previous.clone();
                Ok(resume_at(
                    path,
                    &bytes,
                    from.records_end,
                    from,
                    &mut |_, _| {},
                ))
            }
            None => Ok(scan(path, &copy_from(path, 0)?, &mut |_, _| {})),
        },
        |read| matches!(read, Ok(scanned) if !scanned_sound(scanned)),
    )
}

/// See [`scan_live`]: the whole segment scanned again after a scan that counted.
fn rescan_counted(
    path: &Path,
    counted: &ScanOutcome<Tree>,
) -> Result<std::result::Result<ScanOutcome, Corruption>> {
    let mut o = match scan_live(path, None)? {
        Ok(o) => o,
        Err(c) => return Ok(Err(c)),
    };
    if o.end_seq() < counted.end_seq() {
        let (offset, kind) = match &o.end {
            End::Damaged { offset, kind, .. } => (*offset, kind.clone()),
            _ => (o.records_end, CorruptionKind::BadLength(0)),
        };
        return Ok(Err(Corruption {
            file: path.to_path_buf(),
            offset,
            seq: Some(o.end_seq()),
            kind,
        }));
    }
    o.offsets.retain(|&offset| offset >= counted.records_end);
    Ok(Ok(o))
}

/// How a handle's view of the log moves forward: a writing handle's own writer publishes
/// each group; a read-only handle follows the files that a writer elsewhere extends.
#[derive(Debug)]
pub(crate) struct Feed {
    /// The committed state readers see.
    pub published: Arc<Published>,
    /// For a read-only handle: what follows the files.
    follower: Option<Follower>,
}

/// Where a read-only handle's scan of the newest segment stopped, and what to scan.
#[derive(Debug)]
struct Follower {
    dir: PathBuf,
    log_id: [u8; 16],
    scan: Mutex<Option<ScanOutcome<Tree>>>,
    /// Whether the thread that refreshes for async tails runs.
    thread_started: AtomicBool,
}

impl Feed {
    /// The feed of a writing handle, starting at `view`: its writer publishes to it.
    pub(crate) fn written(view: View) -> Self {
        Feed {
            published: Arc::new(Published::new(view)),
            follower: None,
        }
    }

    /// The feed of a read-only handle of the log `log_id` in `dir`, starting at `view`, whose
    /// newest segment's scan stopped at `scan` (`None` if it is sealed).
    pub(crate) fn followed(
        view: View,
        dir: PathBuf,
        log_id: [u8; 16],
        scan: Option<ScanOutcome<Tree>>,
    ) -> Self {
        Feed {
            published: Arc::new(Published::new(view)),
            follower: Some(Follower {
                dir,
                log_id,
                scan: Mutex::new(scan),
                thread_started: AtomicBool::new(false),
            }),
        }
    }

    /// A consistent snapshot of the committed state.
    pub(crate) fn snapshot(&self) -> View {
        self.published.snapshot()
    }

    /// Picks up records and segments written since the last refresh (read-only handle) and
    /// returns the committed end (see [`LogReader::refresh`](crate::LogReader::refresh)).
    pub(crate) fn refresh(&self) -> Result<u64> {
        match &self.follower {
            None => Ok(self.published.snapshot().end_seq),
            Some(follower) => refresh(follower, &self.published),
        }
    }

    /// Waits for the committed end to pass `seen_end`, or `timeout`; returns the end. A
    /// read-only handle polls the files every 50 ms.
    pub(crate) fn wait_for_records(&self, seen_end: u64, timeout: Duration) -> u64 {
        if self.follower.is_none() {
            return self.published.wait_past(seen_end, timeout);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let end = self
                .refresh()
                .unwrap_or_else(|_| self.published.snapshot().end_seq);
            let now = Instant::now();
            if end > seen_end || now >= deadline {
                return end;
            }
            std::thread::sleep(POLL_INTERVAL.min(deadline - now));
        }
    }

    /// Starts (once) a thread that refreshes a read-only handle every 50 ms while it is
    /// alive, so async tails, which cannot poll a timer without a runtime, are woken by the
    /// publish. Nothing for a writing handle, whose writer publishes.
    pub(crate) fn ensure_follower(self: &Arc<Self>) {
        let Some(follower) = &self.follower else {
            return;
        };
        if follower.thread_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Feed> = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("auditlog-follow".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(POLL_INTERVAL);
                    let Some(feed) = weak.upgrade() else { return };
                    let _ = feed.refresh();
                }
            });
        if spawned.is_err() {
            follower.thread_started.store(false, Ordering::Release);
        }
    }
}

/// See [`Feed::refresh`].
fn refresh(follower: &Follower, published: &Published) -> Result<u64> {
    {
        let mut follow = follower.scan.lock();
        let view = published.snapshot();
        let mut segments = (*view.segments).clone();
        let mut state = follow.take();
        let result = loop {
            let outcome = match state.take() {
                Some(previous) => {
                    let path = segment_path(&follower.dir, previous.header.first_seq);
                    match scan_live(&path, Some(&previous))? {
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
                    let path = segment_path(&follower.dir, end.size);
                    if !path.exists() {
                        break Ok(());
                    }
                    let o = match scan_live(&path, None)? {
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
                    if o.header.log_id != follower.log_id {
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
            // The rule recovery and verify apply (segment/verdict.rs): a torn or in-flight
            // tail is waited for, proven damage is an error.
            match outcome.verdict(true) {
                Verdict::Sealed(footer) => {
                    let path = segment_path(&follower.dir, outcome.header.first_seq);
                    let known = segments
                        .last()
                        .map(|s| s.offsets_snapshot())
                        .unwrap_or_default();
                    let sealed = Segment::sealed(path, outcome.header.clone(), footer.clone());
                    if let Some(last) = segments.last_mut() {
                        *last = Arc::new(sealed.with_offsets(known));
                    }
                    publish(published, &segments, &outcome);
                }
                Verdict::Damage { offset, kind } => {
                    let c = Corruption {
                        file: segment_path(&follower.dir, outcome.header.first_seq),
                        offset,
                        seq: Some(outcome.end_seq()),
                        kind,
                    };
                    publish(published, &segments, &outcome);
                    state = Some(outcome.map_leaves(Tree::Hashed));
                    break Err(Error::Corrupt(Box::new(c)));
                }
                Verdict::Open | Verdict::TornTail { .. } => {
                    publish(published, &segments, &outcome);
                    state = Some(outcome.map_leaves(Tree::Hashed));
                    break Ok(());
                }
            }
        };
        *follow = state;
        result?;
    }
    Ok(published.snapshot().end_seq)
}

fn publish(published: &Published, segments: &[Arc<Segment>], outcome: &ScanOutcome) {
    let segments = Arc::new(segments.to_vec());
    let tree_head = outcome.frontier.tree_head();
    let last = outcome.last_recorded_at;
    published.update(|v| {
        v.segments = segments;
        v.end_seq = tree_head.size;
        v.tree_head = Head::Known(tree_head);
        v.last_recorded_at = last;
    });
}
