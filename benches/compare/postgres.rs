//! PostgreSQL 15 (Debian's, started by benches/compare/run.sh on a Unix socket only, fsync on,
//! `synchronous_commit=on`) with the seeds' audit table and its five indexes, written the
//! ways a service writes it: multi-row `INSERT` or binary `COPY`, a batch per transaction, or
//! one row per transaction from one or many connections.
//!
//! `COMPARE_PG` holds the connection string (`host=/socket/dir user=postgres dbname=...`);
//! without it these rows are reported as not run.

use crate::measure::{DiskWrites, Latencies, Outcome, QueryTimes, median_query};
use crate::spec::{RANGE_ROWS, Spec, query_actor, range_start};
use crate::workload::columns;
use auditlog::{Event, EventLimits};
use auditlog_format::event::codec::{decode_payload, encode_payload};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// How a batch goes in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `INSERT INTO … VALUES (…), (…), …`: one statement per batch (one row when the batch
    /// is 1), in autocommit, so each statement is one transaction.
    Insert,
    /// `COPY audit_events (…) FROM STDIN BINARY`, one transaction per batch.
    Copy,
}

/// The seeds' audit table (the same as sqlite.rs, with PostgreSQL's types).
const SCHEMA: &str = "
    DROP TABLE IF EXISTS audit_events;
    CREATE TABLE audit_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at TIMESTAMPTZ NOT NULL,
        tenant TEXT,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity_type TEXT,
        entity_id TEXT,
        severity TEXT NOT NULL,
        payload BYTEA NOT NULL
    );
    CREATE INDEX audit_events_time ON audit_events(occurred_at);
    CREATE INDEX audit_events_actor ON audit_events(actor, occurred_at);
    CREATE INDEX audit_events_action ON audit_events(action, occurred_at);
    CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id, occurred_at);
    CREATE INDEX audit_events_tenant ON audit_events(tenant, occurred_at);";

const COLUMNS: &str =
    "occurred_at, tenant, actor, action, entity_type, entity_id, severity, payload";
const TYPES: [Type; 8] = [
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
];

/// The connection string from `COMPARE_PG`, if set.
pub fn conninfo() -> Option<String> {
    std::env::var("COMPARE_PG").ok().filter(|s| !s.is_empty())
}

/// The server's version string, for the table's notes.
pub fn version(conninfo: &str) -> Option<String> {
    let mut client = Client::connect(conninfo, NoTls).ok()?;
    let row = client.query_one("SHOW server_version", &[]).ok()?;
    row.try_get::<_, String>(0).ok()
}

/// One event's row, owned, in the table's column order.
struct Row<'a> {
    at: SystemTime,
    c: crate::workload::Columns<'a>,
    payload: Vec<u8>,
}

impl<'a> Row<'a> {
    fn new(event: &'a Event, limits: &EventLimits) -> Result<Self, String> {
        let c = columns(event);
        Ok(Row {
            at: to_time(c.ts),
            payload: encode_payload(event, limits).map_err(|e| e.to_string())?,
            c,
        })
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.at,
            &self.c.tenant,
            &self.c.actor,
            &self.c.action,
            &self.c.entity_type,
            &self.c.entity_id,
            &self.c.severity,
            &self.payload,
        ]
    }
}

fn to_time(nanos: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64)
}

fn insert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO audit_events ({COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..8 {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * 8 + c + 1));
        }
        sql.push(')');
    }
    sql
}

/// Writes one batch (one transaction).
fn write_batch(
    client: &mut Client,
    mode: Mode,
    chunk: &[Event],
    limits: &EventLimits,
    statements: &mut Vec<(usize, postgres::Statement)>,
) -> Result<(), String> {
    let err = |e: postgres::Error| e.to_string();
    let rows = chunk
        .iter()
        .map(|e| Row::new(e, limits))
        .collect::<Result<Vec<_>, _>>()?;
    match mode {
        Mode::Insert => {
            let statement = match statements.iter().find(|(n, _)| *n == rows.len()) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = client.prepare(&insert_sql(rows.len())).map_err(err)?;
                    statements.push((rows.len(), s.clone()));
                    s
                }
            };
            let params: Vec<&(dyn ToSql + Sync)> = rows.iter().flat_map(Row::params).collect();
            client.execute(&statement, &params).map_err(err)?;
        }
        Mode::Copy => {
            let mut tx = client.transaction().map_err(err)?;
            let sink = tx
                .copy_in(&format!("COPY audit_events ({COLUMNS}) FROM STDIN BINARY"))
                .map_err(err)?;
            let mut writer = BinaryCopyInWriter::new(sink, &TYPES);
            for row in &rows {
                writer.write(&row.params()).map_err(err)?;
            }
            writer.finish().map_err(err)?;
            tx.commit().map_err(err)?;
        }
    }
    Ok(())
}

pub fn run(
    conninfo: &str,
    dir: &Path,
    mode: Mode,
    events: &[Event],
    spec: Spec,
) -> Result<Outcome, String> {
    let err = |e: postgres::Error| e.to_string();
    let limits = EventLimits::default();
    let mut client = Client::connect(conninfo, NoTls).map_err(err)?;
    client.batch_execute(SCHEMA).map_err(err)?;
    // Start with no dirty buffers of an earlier row to write back.
    client.batch_execute("CHECKPOINT").map_err(err)?;
    // Every producer's connection is open before the clock starts, as a service's pool is.
    let mut clients = vec![client];
    for _ in 1..spec.producers {
        clients.push(Client::connect(conninfo, NoTls).map_err(err)?);
    }
    let mut out = Outcome {
        events: events.len(),
        server_process: true,
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
            .zip(clients.iter_mut())
            .map(|(share, client)| {
                let limits = &limits;
                s.spawn(move || {
                    let mut lat = Latencies::default();
                    let mut statements = Vec::new();
                    for chunk in share.chunks(spec.batch) {
                        lat.time(|| write_batch(client, mode, chunk, limits, &mut statements))?;
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
    (out.device_write_bytes, _) = written.finish();
    clients.truncate(1);
    let client = &mut clients[0];
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('audit_events')", &[])
        .map_err(err)?
        .get(0);
    out.disk_bytes = size as u64;
    if spec.extras {
        out.queries.push(queries(client, events)?);
    }
    client
        .batch_execute("DROP TABLE audit_events")
        .map_err(err)?;
    Ok(out)
}

/// The same queries as the other engines: an actor's events (payloads decoded), their count,
/// ~1,000 consecutive events by time (payloads decoded). Statistics are gathered first
/// (`ANALYZE`, untimed), as autovacuum would have done on a live table.
fn queries(client: &mut Client, events: &[Event]) -> Result<QueryTimes, String> {
    let err = |e: postgres::Error| e.to_string();
    client.batch_execute("ANALYZE audit_events").map_err(err)?;
    let by_actor = client
        .prepare("SELECT id, payload FROM audit_events WHERE actor = $1 ORDER BY occurred_at")
        .map_err(err)?;
    let count = client
        .prepare("SELECT count(*) FROM audit_events WHERE actor = $1")
        .map_err(err)?;
    let by_time = client
        .prepare(
            "SELECT id, payload FROM audit_events
             WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY occurred_at",
        )
        .map_err(err)?;
    let (actor, actor_rows) = median_query(|i| {
        let actor = query_actor(events, i);
        client.query(&by_actor, &[&actor]).map_or(0, decoded)
    });
    let (actor_count, _) = median_query(|i| {
        let actor = query_actor(events, i);
        client
            .query_one(&count, &[&actor])
            .map_or(0, |r| r.get::<_, i64>(0) as usize)
    });
    let ts: Vec<i64> = events.iter().map(|e| columns(e).ts).collect();
    let (range, range_rows) = median_query(|i| {
        let from = range_start(i, events.len());
        let (lo, hi) = (to_time(ts[from]), to_time(ts[from + RANGE_ROWS]));
        client.query(&by_time, &[&lo, &hi]).map_or(0, decoded)
    });
    Ok(QueryTimes {
        state: "table, 5 indexes",
        actor,
        actor_rows,
        actor_count,
        range,
        range_rows,
    })
}

/// Decodes every returned payload (the work our engine's reads include); the number decoded.
fn decoded(rows: Vec<postgres::Row>) -> usize {
    rows.iter()
        .filter(|r| decode_payload(r.get::<_, &[u8]>(1)).is_ok())
        .count()
}
