//! `auditlog query`: one page of matching records, as a table, JSON Lines, CSV or JSON.

use super::filters::FilterArgs;
use super::output::{DisplayArgs, Format, RecordWriter, stdout_failed};
use super::{CliError, DirArg, open::open_read_only};
use auditlog::query::{Cursor, Order};
use std::io::BufWriter;

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    display: DisplayArgs,
    /// At most this many records (0: no limit).
    #[arg(long, default_value_t = 100, value_name = "N")]
    limit: usize,
    /// Newest first.
    #[arg(long)]
    reverse: bool,
    /// Continue after the previous page: the cursor it printed (same filters and order).
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<Format>,
    /// Print only the number of matching records.
    #[arg(long, conflicts_with_all = ["limit", "cursor", "format", "reverse"])]
    count: bool,
}

pub fn run(args: QueryArgs) -> Result<(), CliError> {
    let mut query = args.filters.to_query()?;
    let log = open_read_only(&args.dir.dir)?;
    if args.count {
        println!("{}", log.count(&query)?);
        return Ok(());
    }
    if args.reverse {
        query = query.order(Order::NewestFirst);
    }
    if args.limit > 0 {
        query = query.limit(args.limit);
    }
    if let Some(text) = &args.cursor {
        let cursor: Cursor = text
            .parse()
            .map_err(|e| CliError::Usage(format!("--cursor: {e}")))?;
        query = query.after(cursor);
    }
    let page = log.query(&query).map_err(|e| match e {
        auditlog::Error::InvalidCursor { .. } => CliError::Usage(format!(
            "--cursor: {e} (give the same filters and order as the query that printed it)"
        )),
        e => CliError::from(e),
    })?;
    let format = Format::or_default(args.format);
    let display = args.display.display(format)?;
    let mut writer = RecordWriter::new(BufWriter::new(std::io::stdout().lock()), format, display);
    for record in &page.records {
        writer.write(record).map_err(stdout_failed)?;
    }
    let written = writer.finish().map_err(stdout_failed)?;
    if format == Format::Table && written == 0 {
        eprintln!("no matching records");
    }
    if page.has_more {
        eprintln!(
            "more records may match: next page with --cursor {}",
            page.cursor
        );
    }
    Ok(())
}
