//! `auditlog query`: one page of matching records, as a table, JSON Lines, CSV or JSON.

use super::filters::FilterArgs;
use super::open::{leave_to_exit, open_read_only_for};
use super::output::{DisplayArgs, Format, RecordWriter, stdout_failed};
use super::{CliError, DirArg};
use auditlog::Record;
use auditlog::query::{Cursor, Order, Query};
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
    /// The log's archive (s3://BUCKET/PREFIX, as given to `archive --to`): the archived
    /// records and the live log's are one sequence (oldest first: the archive's, then the
    /// live log's; --reverse: the other way round), paged with one --cursor.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    archive: Option<String>,
    #[command(flatten)]
    s3: super::s3::S3Args,
    /// Only records whose protected field FIELD (one the log's policy protects, such as
    /// actor.email or after.email) holds VALUE, ignoring case and surrounding whitespace:
    /// looked up through the keyed blind index, so it needs --master-key-file, and an erased
    /// subject's values are never found. Repeat to require several.
    #[arg(long, value_name = "FIELD=VALUE")]
    protected: Vec<String>,
    /// With --protected: try only this data subject's key (its actor id, or entity id for
    /// paths whose subject is entity.id) instead of every subject's.
    #[arg(long, value_name = "ID", requires = "protected")]
    protected_subject: Option<String>,
    /// With the log's master key, protected values print in clear (else `[protected]`).
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
}

pub fn run(args: QueryArgs) -> Result<(), CliError> {
    let mut query = args.filters.to_query()?;
    if args.reverse {
        query = query.order(Order::NewestFirst);
    }
    let log = open_read_only_for(&args.dir.dir, &query)?;
    let revealer = super::privacy::Revealer::open(&args.dir.dir, &args.master_key)?;
    query = with_lookups(
        query,
        &revealer,
        &args.protected,
        args.protected_subject.as_deref(),
    )?;
    let cursor: Option<Cursor> = match &args.cursor {
        Some(text) => {
            let cursor: Cursor = text
                .parse()
                .map_err(|e| CliError::Usage(format!("--cursor: {e}")))?;
            if !cursor.belongs_to(&query) {
                return Err(CliError::Usage(
                    "--cursor: it belongs to a query with other filters or another order \
                     (give the same filters and order as the query that printed it)"
                        .into(),
                ));
            }
            Some(cursor)
        }
        None => None,
    };
    let reader = match &args.archive {
        Some(url) => Some(super::s3::archive_reader(&args.s3, url, &log.log_id())?),
        None => None,
    };
    if args.count {
        let mut matched = log.count(&query)?;
        if let Some(reader) = &reader {
            reader
                .scan(log.first_seq(), &mut |record| {
                    matched += u64::from(query.matches(&record));
                    Ok(true)
                })
                .map_err(super::s3::store_failed)?;
        }
        println!("{matched}");
        leave_to_exit(log);
        return Ok(());
    }
    let (records, next) = match &reader {
        None => live_page(&log, &query, args.limit, cursor)?,
        Some(reader) => with_archive(&log, reader, &query, args.limit, cursor)?,
    };
    let format = Format::or_default(args.format);
    let display = args.display.display(format)?;
    let mut writer = RecordWriter::new(BufWriter::new(std::io::stdout().lock()), format, display);
    for record in &records {
        writer
            .write(&revealer.show(record))
            .map_err(stdout_failed)?;
    }
    let written = writer.finish().map_err(stdout_failed)?;
    if format == Format::Table && written == 0 {
        eprintln!("no matching records");
    }
    if let Some(next) = next {
        eprintln!("more records may match: next page with --cursor {next}");
    }
    leave_to_exit(log);
    Ok(())
}

/// `query` with a lookup by protected value for each `--protected FIELD=VALUE`.
fn with_lookups(
    mut query: Query,
    revealer: &super::privacy::Revealer,
    lookups: &[String],
    subject: Option<&str>,
) -> Result<Query, CliError> {
    if lookups.is_empty() {
        return Ok(query);
    }
    let Some(vault) = revealer.vault() else {
        return Err(CliError::Usage(
            "--protected: this log has no privacy policy, so no field is protected \
             (filter on the field directly)"
                .into(),
        ));
    };
    for lookup in lookups {
        let Some((field, value)) = lookup.split_once('=') else {
            return Err(CliError::Usage(format!(
                "--protected {lookup:?}: write FIELD=VALUE (e.g. actor.email=alice@example.com)"
            )));
        };
        let found = vault
            .lookup(field.trim(), value, subject)
            .map_err(|e| CliError::Usage(format!("--protected: {e}")))?;
        if found.subjects() == 0 {
            eprintln!(
                "--protected {}: no live subject key to look it up with (erased, or never \
                 seen): nothing can match",
                field.trim()
            );
        }
        query = query.protected(found);
    }
    Ok(query)
}

/// One page of the live log: its records and, when more may match, the next page's cursor.
fn live_page(
    log: &auditlog::ReadOnlyLog,
    query: &Query,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Record>, Option<Cursor>), CliError> {
    let mut q = query.clone();
    if limit > 0 {
        q = q.limit(limit);
    }
    if let Some(c) = cursor {
        q = q.after(c);
    }
    let page = log.query(&q).map_err(|e| match e {
        auditlog::Error::InvalidCursor { .. } => CliError::Usage(format!(
            "--cursor: {e} (give the same filters and order as the query that printed it)"
        )),
        e => CliError::from(e),
    })?;
    let next = page.has_more.then_some(page.cursor);
    Ok((page.records, next))
}

/// One page of the archive and the live log as one sequence: archived records are those
/// below the live log's first. A cursor is a position in that sequence, so it carries over
/// from one part to the other.
fn with_archive(
    log: &auditlog::ReadOnlyLog,
    reader: &auditlog_objstore::ArchiveReader,
    query: &Query,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Record>, Option<Cursor>), CliError> {
    let first = log.first_seq();
    let newest_first = query.get_order() == Order::NewestFirst;
    let mut records = Vec::new();
    let mut next = None;
    // Archived matches into `records` until the page is full; the next match becomes the
    // next page's cursor.
    let scan = |range: std::ops::Range<u64>,
                records: &mut Vec<Record>,
                next: &mut Option<Cursor>|
     -> Result<(), CliError> {
        reader
            .scan_range(range, newest_first, &mut |r| {
                if !query.matches(&r) {
                    return Ok(true);
                }
                if limit > 0 && records.len() == limit {
                    let at = if newest_first { r.seq + 1 } else { r.seq };
                    *next = Some(query.cursor_at(at));
                    return Ok(false);
                }
                records.push(r);
                Ok(true)
            })
            .map_err(super::s3::store_failed)
    };
    if newest_first {
        let from = cursor.map_or(u64::MAX, |c| c.position());
        if from > first {
            let (live, more) = live_page(log, query, limit, cursor)?;
            records = live;
            next = more;
        }
        if next.is_none() {
            scan(0..from.min(first), &mut records, &mut next)?;
        }
    } else {
        let from = cursor.map_or(0, |c| c.position());
        if from < first {
            scan(from..first, &mut records, &mut next)?;
        }
        if next.is_none() {
            let at = query.cursor_at(from.max(first));
            if limit > 0 && records.len() == limit {
                // The page is full of archived records; the live log's come next.
                next = Some(at);
            } else {
                let (live, more) =
                    live_page(log, query, limit.saturating_sub(records.len()), Some(at))?;
                records.extend(live);
                next = more;
            }
        }
    }
    Ok((records, next))
}
