//! Helpers shared by the in-memory object-store tests.
#![allow(dead_code)]

use auditlog::{AuditLog, Durability, Event};
use auditlog_objstore::{S3Store, S3Url, default_retry};
use object_store::memory::InMemory;
use std::path::Path;
use std::sync::Arc;

/// An empty in-memory bucket `mem`, with archives under `prefix`.
pub fn memory_store(prefix: &str) -> S3Store {
    let url = S3Url {
        bucket: "mem".into(),
        prefix: prefix.into(),
    };
    S3Store::with_store(
        &url,
        Arc::new(InMemory::new()),
        "memory".into(),
        default_retry(),
    )
    .unwrap()
}

/// A log in `dir` holding `events` events (seven actors, one order each) in 64 KiB segments,
/// sealed, so that all but the new active segment can be archived.
pub fn sealed_log(dir: &Path, events: u64) -> AuditLog {
    let log = AuditLog::builder(dir)
        .segment_max_bytes(64 * 1024)
        .durability(Durability::Immediate)
        .open()
        .unwrap();
    let events: Vec<Event> = (0..events)
        .map(|i| {
            Event::new(format!("user:{}", i % 7), "order.update").entity("order", format!("{i}"))
        })
        .collect();
    for chunk in events.chunks(500) {
        log.append_batch(chunk).unwrap().wait().unwrap();
    }
    log.seal().unwrap();
    log
}
