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
    /// The log's archive (s3://BUCKET/PREFIX, as given to `archive --to`): matching archived
    /// records come first, then the live log's (oldest first only; no --cursor).
    #[arg(long, value_name = "s3://BUCKET/PREFIX", conflicts_with_all = ["cursor", "reverse"])]
    archive: Option<String>,
    #[command(flatten)]
    s3: super::s3::S3Args,
    /// With the log's master key, protected values print in clear (else `[protected]`).
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
}

pub fn run(args: QueryArgs) -> Result<(), CliError> {
    let mut query = args.filters.to_query()?;
    let log = open_read_only(&args.dir.dir)?;
    let revealer = super::privacy::Revealer::open(&args.dir.dir, &args.master_key)?;
    // Archived matches (up to the limit), before the live log's.
    let mut archived = Vec::new();
    let mut archived_more = false;
    if let Some(url) = &args.archive {
        let reader = super::s3::archive_reader(&args.s3, url, &log.log_id())?;
        let keep = if args.count { 0 } else { args.limit };
        let mut matched = 0u64;
        reader
            .scan(log.first_seq(), &mut |record| {
                if query.matches(&record) {
                    matched += 1;
                    if keep > 0 && archived.len() == keep {
                        archived_more = true;
                        return Ok(false);
                    }
                    if !args.count {
                        archived.push(record);
                    }
                }
                Ok(true)
            })
            .map_err(super::s3::store_failed)?;
        if args.count {
            println!("{}", matched + log.count(&query)?);
            return Ok(());
        }
    }
    if args.count {
        println!("{}", log.count(&query)?);
        return Ok(());
    }
    if args.reverse {
        query = query.order(Order::NewestFirst);
    }
    if args.limit > 0 {
        // At least one, so that the page says whether more records match.
        query = query.limit(args.limit.saturating_sub(archived.len()).max(1));
    }
    if let Some(text) = &args.cursor {
        let cursor: Cursor = text
            .parse()
            .map_err(|e| CliError::Usage(format!("--cursor: {e}")))?;
        query = query.after(cursor);
    }
    let mut page = log.query(&query).map_err(|e| match e {
        auditlog::Error::InvalidCursor { .. } => CliError::Usage(format!(
            "--cursor: {e} (give the same filters and order as the query that printed it)"
        )),
        e => CliError::from(e),
    })?;
    if args.limit > 0 && archived.len() >= args.limit {
        archived_more |= !page.records.is_empty();
        page.records.clear();
        page.has_more = false;
    }
    let format = Format::or_default(args.format);
    let display = args.display.display(format)?;
    let mut writer = RecordWriter::new(BufWriter::new(std::io::stdout().lock()), format, display);
    for record in archived.iter().chain(&page.records) {
        writer
            .write(&revealer.show(record.clone()))
            .map_err(stdout_failed)?;
    }
    let written = writer.finish().map_err(stdout_failed)?;
    if format == Format::Table && written == 0 {
        eprintln!("no matching records");
    }
    if archived_more {
        eprintln!(
            "more records may match: raise --limit, or use `auditlog export --archive` for all"
        );
    } else if page.has_more {
        eprintln!(
            "more records may match: next page with --cursor {}",
            page.cursor
        );
    }
    Ok(())
}
