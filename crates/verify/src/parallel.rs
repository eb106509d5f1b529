//! Checking segments on several threads.
//!
//! Segments are independent until the chain check (each header carries the Merkle state it
//! starts from), so workers take the next unchecked segment from a shared counter and the
//! results are put back in log order. Biggest-first ordering is not needed: segments have
//! similar sizes, and the counter balances the rest. A segment holding a large share of the
//! bytes (a log that is one big segment) has its records checked on that share of the
//! threads (split.rs).

use crate::segment_check::{SegmentCheck, SegmentJob, check_segment_on};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Progress of a verification, handed to the progress callback after each segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Segments checked so far.
    pub segments_done: usize,
    /// Segments to check.
    pub segments_total: usize,
    /// Bytes of segment files checked so far.
    pub bytes_done: u64,
    /// Bytes of segment files to check (their sizes when listed).
    pub bytes_total: u64,
}

/// Checks `jobs` on `threads` threads; returns the checks in the order of `jobs`.
pub fn check_all(
    jobs: Vec<SegmentJob>,
    threads: usize,
    decode: bool,
    collect_leaves: bool,
    progress: Option<&(dyn Fn(Progress) + Send + Sync)>,
) -> Vec<SegmentCheck> {
    let total = jobs.len();
    let sizes: Vec<u64> = jobs
        .iter()
        .map(|j| std::fs::metadata(&j.path).map_or(0, |m| m.len()))
        .collect();
    let bytes_total: u64 = sizes.iter().sum();
    // A segment holding a large share of the bytes (one big segment, or few segments) gets
    // that share of the threads for its records (split.rs); equal segments, one each.
    let inner_threads = |i: usize| -> usize {
        let share = sizes.get(i).copied().unwrap_or(0) as u128 * threads as u128;
        let share = (share + bytes_total as u128 / 2) / (bytes_total as u128).max(1);
        (share as usize).clamp(1, threads.max(1))
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bytes_done = AtomicU64::new(0);
    let results: Mutex<Vec<Option<SegmentCheck>>> = Mutex::new((0..total).map(|_| None).collect());
    let threads = threads.clamp(1, total.max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let check =
                        check_segment_on(job.clone(), decode, collect_leaves, inner_threads(i));
                    let bytes = bytes_done.fetch_add(check.bytes, Ordering::Relaxed) + check.bytes;
                    let segments_done = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(check);
                    }
                    if let Some(report) = progress {
                        report(Progress {
                            segments_done,
                            segments_total: total,
                            bytes_done: bytes,
                            bytes_total,
                        });
                    }
                }
            });
        }
    });
    // A poisoned lock (a worker panicked) still holds every result stored before the panic.
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
