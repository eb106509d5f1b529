//! RocksDB (Debian's librocksdb 7.8, snappy), keyed by sequence number, WAL on.

use crate::measure::{DiskWrites, Latencies, Outcome, crash_image, dir_bytes};
use crate::spec::Spec;
use auditlog::{Event, EventLimits};
use auditlog_format::event::codec::encode_payload;
use rocksdb::{DB, Options, WriteBatch, WriteOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// `sync`: every write batch is fdatasync'ed before it is acknowledged.
pub fn run(dir: &Path, sync: bool, events: &[Event], spec: Spec) -> Result<Outcome, String> {
    let err = |e: rocksdb::Error| e.to_string();
    let path = dir.join("rocks");
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_compression_type(rocksdb::DBCompressionType::Snappy);
    let db = DB::open(&options, &path).map_err(err)?;
    let mut write_options = WriteOptions::default();
    write_options.set_sync(sync);
    let limits = EventLimits::default();
    let next_key = AtomicU64::new(0);
    let mut out = Outcome {
        events: events.len(),
        ..Outcome::default()
    };
    let written = DiskWrites::start(dir);
    let start = Instant::now();
    let shares: Vec<&[Event]> = events
        .chunks(events.len().div_ceil(spec.producers))
        .collect();
    let results: Vec<Result<Latencies, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| {
                let (db, write_options, next_key, limits) =
                    (&db, &write_options, &next_key, &limits);
                s.spawn(move || {
                    let mut lat = Latencies::default();
                    for chunk in share.chunks(spec.batch) {
                        lat.time(|| -> Result<(), String> {
                            let mut batch = WriteBatch::default();
                            for event in chunk {
                                let payload =
                                    encode_payload(event, limits).map_err(|e| e.to_string())?;
                                let key = next_key.fetch_add(1, Ordering::Relaxed);
                                batch.put(key.to_be_bytes(), payload);
                            }
                            db.write_opt(batch, write_options).map_err(err)
                        })?;
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
    out.elapsed = start.elapsed();
    (out.device_write_bytes, out.write_bytes) = written.finish();
    if spec.extras {
        let image = dir.join("crash-image");
        crash_image(&path, &image).map_err(|e| e.to_string())?;
        let start = Instant::now();
        let reopened = DB::open(&options, &image).map_err(err)?;
        out.open_after_crash = Some(start.elapsed());
        drop(reopened);
        std::fs::remove_dir_all(&image).map_err(|e| e.to_string())?;
    }
    drop(db);
    out.disk_bytes = dir_bytes(&path, &|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("LOG"))
    });
    Ok(out)
}
