//! `auditlog tail`: the newest matching records; with `-f`, then every new one as it commits.

use super::filters::FilterArgs;
use super::output::{DisplayArgs, Format, RecordWriter, stdout_failed};
use super::{CliError, DirArg, open::open_read_only};
use auditlog::LogReader;
use auditlog::query::{Order, Query};
use std::io::Write;
use std::time::Duration;

/// How long a follower waits for a record before flushing what it printed.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    display: DisplayArgs,
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
    let display = args.display.display(format)?;
    let mut writer = RecordWriter::new(std::io::stdout().lock(), format, display);
    for record in newest.iter().rev() {
        writer.write(record).map_err(stdout_failed)?;
    }
    writer.flush().map_err(stdout_failed)?;
    if !args.follow {
        writer.finish().map_err(stdout_failed)?;
        return Ok(());
    }
    follow(&log, &query, end, writer)
}

/// Prints records matching `query` from `next` on as another process appends them: the
/// read-only handle's subscription follows the writer through `LogReader::refresh`, which
/// resumes the scan of the newest segment where it stopped (no reopen, no rescan).
fn follow(
    log: &LogReader,
    query: &Query,
    next: u64,
    mut writer: RecordWriter<impl Write>,
) -> Result<(), CliError> {
    let mut subscription = log.subscribe(query, next);
    loop {
        match subscription.next_timeout(FLUSH_EVERY)? {
            Some(record) => writer.write(&record).map_err(stdout_failed)?,
            None => writer.flush().map_err(stdout_failed)?,
        }
    }
}
