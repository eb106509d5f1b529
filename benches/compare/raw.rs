//! The physical limit: frames (length + payload) appended to a preallocated file with one
//! fdatasync per group, no index, no hashing, and no encoding inside the timed loop: every
//! frame is encoded before the clock starts, so the row measures the disk (and the syscalls),
//! not one core's encoder. [`encode`] measures that encoder alone, the CPU limit of one
//! producer thread.
//!
//! Preallocated with fallocate, like our segments. (A file pre-filled with written zeros was
//! tried too: on this kernel each small rewrite then dirties a whole large folio.)

use crate::measure::{DiskWrites, Outcome};
use crate::spec::Spec;
use auditlog::{Event, EventLimits};
use auditlog_format::event::codec::encode_payload_into;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// Every event as a frame (u32 length + payload), back to back, and where each frame ends.
fn frames(events: &[Event]) -> Result<(Vec<u8>, Vec<usize>), String> {
    let limits = EventLimits::default();
    let (mut buf, mut ends, mut payload) =
        (Vec::new(), Vec::with_capacity(events.len()), Vec::new());
    for event in events {
        payload.clear();
        encode_payload_into(event, &limits, &mut payload).map_err(|e| e.to_string())?;
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&payload);
        ends.push(buf.len());
    }
    Ok((buf, ends))
}

/// `spec.batch` pre-encoded frames per `pwrite` + `fdatasync`.
pub fn run(dir: &Path, events: &[Event], spec: Spec) -> Result<Outcome, String> {
    let io = |e: std::io::Error| e.to_string();
    let path = dir.join("raw.log");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let (buf, ends) = frames(events)?;
    preallocate(&file, buf.len() as u64)?;
    file.sync_all().map_err(io)?;
    let mut out = Outcome {
        events: events.len(),
        ..Outcome::default()
    };
    let written = DiskWrites::start(dir);
    let start = Instant::now();
    let mut offset = 0usize;
    for group in ends.chunks(spec.batch) {
        let end = group[group.len() - 1];
        out.latencies.time(|| -> Result<(), String> {
            file.write_all_at(&buf[offset..end], offset as u64)
                .map_err(io)?;
            file.sync_data().map_err(io)
        })?;
        offset = end;
    }
    out.elapsed = start.elapsed();
    (out.device_write_bytes, out.write_bytes) = written.finish();
    out.disk_bytes = offset as u64;
    out.syncs = Some(events.len().div_ceil(spec.batch) as u64);
    Ok(out)
}

/// The CPU limit: validating and encoding every payload on one thread into a reused buffer
/// (what our producers do before anything is queued), with the payload's blake3 digest too
/// when `digest` is set (our producers compute it as well). Nothing is written.
pub fn encode(events: &[Event], digest: bool) -> Result<Outcome, String> {
    let limits = EventLimits::default();
    let mut payload = Vec::new();
    let start = Instant::now();
    for event in events {
        payload.clear();
        encode_payload_into(event, &limits, &mut payload).map_err(|e| e.to_string())?;
        if digest {
            std::hint::black_box(auditlog_format::merkle::payload_digest(&payload));
        }
        std::hint::black_box(&payload);
    }
    Ok(Outcome {
        events: events.len(),
        elapsed: start.elapsed(),
        ..Outcome::default()
    })
}

/// fallocate(2): reserves `len` bytes so appends need no block allocation at fdatasync time.
#[allow(
    unsafe_code,
    reason = "std has no fallocate; the library keeps its own in src/sys.rs"
)]
fn preallocate(file: &std::fs::File, len: u64) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len).map_err(|e| e.to_string())?;
    // SAFETY: fallocate reads only its integer arguments; the descriptor is valid while `file`
    // is borrowed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}
