//! `auditlog demo`: write a realistic log from several producer threads, read some of it
//! back, query it through the indexes and verify it, printing throughput and the tree head.

use super::CliError;
use auditlog::query::{Order, Query};
use auditlog::{AuditLog, Durability, OpenCheck, Timestamp};
use auditlog_format::sample::SampleEvents;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to write the log (created if missing; appended to if it is already a log).
    #[arg(long, env = "AUDITLOG_DIR", default_value = "./auditlog-demo")]
    dir: PathBuf,
    /// How many events to write.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// How many producer threads append concurrently.
    #[arg(long, default_value_t = 8)]
    threads: u64,
}

/// Appends each producer may have in flight before waiting for the oldest acknowledgement,
/// as a service handling many requests at once would.
const IN_FLIGHT: usize = 256;

pub fn run(args: DemoArgs) -> Result<(), CliError> {
    let threads = args.threads.max(1);
    let log = Arc::new(
        AuditLog::builder(&args.dir)
            .durability(Durability::Immediate)
            .open()?,
    );
    let start_seq = log.end_seq();
    println!(
        "writing {} events from {threads} threads into {} (durability: Immediate, one fdatasync per group)",
        args.events,
        args.dir.display()
    );
    let generator = SampleEvents::new(42);
    let base = Timestamp::now();
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (log, generator) = (log.clone(), generator.clone());
            let count = args.events / threads + u64::from(t < args.events % threads);
            std::thread::spawn(move || -> Result<(), auditlog::Error> {
                let mut pending = VecDeque::with_capacity(IN_FLIGHT);
                for i in 0..count {
                    let event = generator.event(start_seq + i * threads + t, base);
                    pending.push_back(log.append(&event)?);
                    if pending.len() >= IN_FLIGHT {
                        pending.pop_front().map(|h| h.wait()).transpose()?;
                    }
                }
                pending
                    .into_iter()
                    .try_for_each(|h| h.wait().map(|_| ()))
                    .map_err(auditlog::Error::from)
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| CliError::Usage("a producer thread panicked".into()))??;
    }
    let elapsed = started.elapsed();
    let head = log.tree_head()?;
    println!(
        "wrote {} events in {:.2} s: {:.0} events/s, every one acknowledged durable",
        args.events,
        elapsed.as_secs_f64(),
        args.events as f64 / elapsed.as_secs_f64().max(1e-9)
    );

    println!("\nthe five newest records:");
    for record in log.iter(..).rev().take(5) {
        let r = record?;
        println!(
            "  #{:<9} {}  {:<20} {:<14} {}",
            r.seq,
            r.recorded_at,
            r.event.action,
            r.event.actor.id,
            r.event
                .entity
                .as_ref()
                .map_or(String::new(), |e| format!("{}:{}", e.kind, e.id))
        );
    }
    let probe = head.size / 2;
    let record = log.get(probe)?;
    println!(
        "record #{probe} read back: {} by {}",
        record.event.action, record.event.actor.id
    );
    // The indexes of sealed segments are built on first use; the second run shows the
    // steady state.
    let of_actor = Query::new().actor(record.event.actor.id.as_str());
    let first_use = Instant::now();
    log.count(&of_actor)?;
    let first_use = first_use.elapsed();
    let started = Instant::now();
    let total = log.count(&of_actor)?;
    let newest = log.query_lazy(&of_actor.clone().order(Order::NewestFirst).limit(3))?;
    let elapsed = started.elapsed();
    let shown: Vec<String> = newest
        .records
        .iter()
        .map(|r| format!("#{} {}", r.seq(), r.event().action()))
        .collect();
    println!(
        "events of {} (indexed query): {total} in all, newest {} in {:.2} ms \
         (the first query built the indexes: {:.0} ms)",
        record.event.actor.id,
        shown.join(", "),
        elapsed.as_secs_f64() * 1e3,
        first_use.as_secs_f64() * 1e3
    );
    drop(log);

    let started = Instant::now();
    let check = AuditLog::builder(&args.dir)
        .open_check(OpenCheck::Full)
        .open_read_only()?;
    if let Some(problem) = check.open_report().problems.first() {
        return Err(CliError::Damage(problem.to_string()));
    }
    println!(
        "\nverified {} records in {} segments in {:.2} s: every CRC, sequence number and Merkle root recomputed",
        check.end_seq(),
        check.open_report().segments,
        started.elapsed().as_secs_f64()
    );
    println!("tree head: {}", check.tree_head()?);
    Ok(())
}
