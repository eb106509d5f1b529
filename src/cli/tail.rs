//! `auditlog tail`: the newest matching records; with `-f`, then every new one as it commits.

use super::filters::FilterArgs;
use super::output::{Format, RecordWriter, stdout_failed};
use super::{CliError, DirArg, open::open_read_only};
use auditlog::AuditLog;
use auditlog::query::{Order, Query};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How often a follower looks for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    filters: FilterArgs,
    /// How many of the newest matching records to print first.
    #[arg(short = 'n', long, default_value_t = 10, value_name = "N")]
    lines: usize,
    /// Keep running and print matching records as they are appended (Ctrl-C to stop).
    #[arg(short, long)]
    follow: bool,
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<Format>,
}

pub fn run(args: TailArgs) -> Result<(), CliError> {
    let query = args.filters.to_query()?;
    let log = open_read_only(&args.dir.dir)?;
    let format = Format::or_default(args.format);
    if format == Format::Json && args.follow {
        return Err(CliError::Usage(
            "--format json writes one array, which a follower never closes: use jsonl".into(),
        ));
    }
    // The end is fixed first, so the newest records printed and the followed ones neither
    // overlap nor leave a gap.
    let end = log.end_seq();
    let mut newest = Vec::new();
    if args.lines > 0 {
        let page = log.query(&query.clone().order(Order::NewestFirst).limit(args.lines))?;
        newest = page.records;
        newest.retain(|r| r.seq < end);
    }
    let mut writer = RecordWriter::new(std::io::stdout().lock(), format);
    for record in newest.iter().rev() {
        writer.write(record).map_err(stdout_failed)?;
    }
    writer.flush().map_err(stdout_failed)?;
    if !args.follow {
        writer.finish().map_err(stdout_failed)?;
        return Ok(());
    }
    follow(&args.dir.dir, &query, end, writer)
}

/// Prints records matching `query` from `next` on as another process appends them.
///
/// A read-only handle does not see another process's appends (its view is published by its
/// own writer only), so the follower watches the directory (file sizes and modification
/// times, a cheap `stat` per file) and, when it changed, opens the log read-only again and
/// reads what is new. Reopening scans the active segment (at most 64 MiB by default).
fn follow(
    dir: &Path,
    query: &Query,
    mut next: u64,
    mut writer: RecordWriter<impl Write>,
) -> Result<(), CliError> {
    let mut seen = dir_stamp(dir);
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let stamp = dir_stamp(dir);
        if stamp == seen {
            continue;
        }
        seen = stamp;
        let log = AuditLog::open_read_only(dir)?;
        // Records removed by retention meanwhile are gone: continue from the oldest held.
        for record in log.iter(next.max(log.first_seq())..) {
            let record = record?;
            next = record.seq + 1;
            if query.matches(&record) {
                writer.write(&record).map_err(stdout_failed)?;
            }
        }
        writer.flush().map_err(stdout_failed)?;
    }
}

/// Names, sizes and modification times of the directory's files: changes when anything is
/// appended, sealed or removed.
fn dir_stamp(dir: &Path) -> Vec<(std::ffi::OsString, u64, Option<SystemTime>)> {
    let mut stamp: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((entry.file_name(), meta.len(), meta.modified().ok()))
        })
        .collect();
    stamp.sort();
    stamp
}
