//! SQLite (bundled) in WAL mode with the seeds' audit table and its five indexes (the same
//! table as postgres.rs).

use crate::measure::{DiskWrites, Outcome, QueryTimes, crash_image, dir_bytes, median_query};
use crate::spec::{RANGE_ROWS, Spec, query_actor, range_start};
use crate::workload::columns;
use auditlog::{Event, EventLimits};
use auditlog_format::event::codec::{decode_payload, encode_payload};
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::Instant;

/// The seeds' audit table: the columns their services filter on, the whole event as a BLOB
/// (our encoded payload, the bytes every engine here stores), indexes on time, actor,
/// action, entity and tenant.
const SCHEMA: &str = "
    CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        occurred_at INTEGER NOT NULL,
        tenant TEXT,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity_type TEXT,
        entity_id TEXT,
        severity TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE INDEX audit_events_time ON audit_events(occurred_at);
    CREATE INDEX audit_events_actor ON audit_events(actor, occurred_at);
    CREATE INDEX audit_events_action ON audit_events(action, occurred_at);
    CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id, occurred_at);
    CREATE INDEX audit_events_tenant ON audit_events(tenant, occurred_at);";

fn open(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    Ok(conn)
}

/// `synchronous` is `"FULL"` (each commit durable) or `"NORMAL"` (WAL synced at checkpoints).
pub fn run(dir: &Path, synchronous: &str, events: &[Event], spec: Spec) -> Result<Outcome, String> {
    let err = |e: rusqlite::Error| e.to_string();
    let db_dir = dir.join("db");
    std::fs::create_dir_all(&db_dir).map_err(|e| e.to_string())?;
    let path = db_dir.join("audit.db");
    let mut conn = open(&path, synchronous).map_err(err)?;
    conn.execute_batch(SCHEMA).map_err(err)?;
    let limits = EventLimits::default();
    let mut out = Outcome {
        events: events.len(),
        ..Outcome::default()
    };
    let written = DiskWrites::start(dir);
    let start = Instant::now();
    for chunk in events.chunks(spec.batch) {
        out.latencies.time(|| -> Result<(), String> {
            let tx = conn.transaction().map_err(err)?;
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO audit_events (occurred_at, tenant, actor, action,
                             entity_type, entity_id, severity, payload)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(err)?;
                for event in chunk {
                    let payload = encode_payload(event, &limits).map_err(|e| e.to_string())?;
                    let c = columns(event);
                    insert
                        .execute(params![
                            c.ts,
                            c.tenant,
                            c.actor,
                            c.action,
                            c.entity_type,
                            c.entity_id,
                            c.severity,
                            payload
                        ])
                        .map_err(err)?;
                }
            }
            tx.commit().map_err(err)
        })?;
    }
    out.elapsed = start.elapsed();
    (out.device_write_bytes, out.write_bytes) = written.finish();

    if spec.extras {
        let image = dir.join("crash-image");
        crash_image(&db_dir, &image).map_err(|e| e.to_string())?;
        let (actor, actor_rows) = median_query(|i| {
            let actor = query_actor(events, i);
            select(&conn, "WHERE actor = ?1 ORDER BY occurred_at", &[&actor])
        });
        let (actor_count, _) = median_query(|i| {
            let actor = query_actor(events, i);
            conn.query_row(
                "SELECT count(*) FROM audit_events WHERE actor = ?1",
                [&actor],
                |r| r.get::<_, i64>(0),
            )
            .map_or(0, |n| n as usize)
        });
        let ts: Vec<i64> = events.iter().map(|e| columns(e).ts).collect();
        let (range, range_rows) = median_query(|i| {
            let from = range_start(i, events.len());
            let (lo, hi) = (ts[from], ts[from + RANGE_ROWS]);
            select(
                &conn,
                "WHERE occurred_at >= ?1 AND occurred_at < ?2 ORDER BY occurred_at",
                &[&lo, &hi],
            )
        });
        out.queries.push(QueryTimes {
            state: "table, 5 indexes",
            actor,
            actor_rows,
            actor_count,
            range,
            range_rows,
        });
        // Opening is lazy: the first read replays the WAL into a new index (-shm).
        let start = Instant::now();
        let reopened = Connection::open(image.join("audit.db")).map_err(err)?;
        let max: Option<i64> = reopened
            .query_row("SELECT max(id) FROM audit_events", [], |r| r.get(0))
            .map_err(err)?;
        out.open_after_crash = Some(start.elapsed());
        std::hint::black_box(max);
        drop(reopened);
        std::fs::remove_dir_all(&image).map_err(|e| e.to_string())?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(err)?;
    drop(conn);
    out.disk_bytes = dir_bytes(&db_dir, &|_| false);
    Ok(out)
}

/// Runs a query and decodes every payload (the work our engine's reads include).
fn select(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> usize {
    let sql = format!("SELECT id, payload FROM audit_events {filter}");
    let Ok(mut stmt) = conn.prepare_cached(&sql) else {
        return 0;
    };
    let Ok(rows) = stmt.query_map(args, |r| r.get::<_, Vec<u8>>(1)) else {
        return 0;
    };
    rows.filter_map(Result::ok)
        .filter(|p| decode_payload(p).is_ok())
        .count()
}
