//! The physical limit: frames (length + payload) appended to a preallocated file with one
//! fdatasync per group, no index, no hashing.
//!
//! Preallocated with fallocate, like our segments. (A file pre-filled with written zeros was
//! tried too: on this kernel each small rewrite then dirties a whole large folio.)

use crate::measure::{DiskWrites, Outcome};
use crate::spec::Spec;
use auditlog::{Event, EventLimits};
use auditlog_format::event::codec::encode_payload;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

pub fn run(dir: &Path, events: &[Event], spec: Spec) -> Result<Outcome, String> {
    let io = |e: std::io::Error| e.to_string();
    let limits = EventLimits::default();
    let path = dir.join("raw.log");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let estimate: u64 = events.len() as u64 * 4
        + events
            .iter()
            .map(|e| encode_payload(e, &limits).map_or(0, |p| p.len() as u64))
            .sum::<u64>();
    preallocate(&file, estimate)?;
    file.sync_all().map_err(io)?;
    let mut out = Outcome {
        events: events.len(),
        ..Outcome::default()
    };
    let written = DiskWrites::start(dir);
    let start = Instant::now();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    for chunk in events.chunks(spec.batch) {
        out.latencies.time(|| -> Result<(), String> {
            buf.clear();
            for event in chunk {
                let payload = encode_payload(event, &limits).map_err(|e| e.to_string())?;
                buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                buf.extend_from_slice(&payload);
            }
            file.write_all_at(&buf, offset).map_err(io)?;
            file.sync_data().map_err(io)?;
            offset += buf.len() as u64;
            Ok(())
        })?;
    }
    out.elapsed = start.elapsed();
    (out.device_write_bytes, out.write_bytes) = written.finish();
    out.disk_bytes = offset;
    out.syncs = Some(events.len().div_ceil(spec.batch) as u64);
    Ok(out)
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
