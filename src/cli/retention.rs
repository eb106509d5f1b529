//! `auditlog retention`: delete the oldest sealed segments by age or size budget, recording
//! the cut first; `--dry-run` lists what would go.

use super::{CliError, DirArg};
use auditlog::AuditLog;
use auditlog::lifecycle::{RetentionPolicy, RetentionReport};

#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Delete segments whose newest record is older than this many days (engine clock).
    #[arg(long, value_name = "DAYS")]
    max_age_days: Option<u64>,
    /// Delete the oldest segments while the log's files exceed this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_bytes: Option<u64>,
    /// List what would be deleted, change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: RetentionArgs) -> Result<(), CliError> {
    if args.max_age_days.is_none() && args.max_bytes.is_none() {
        return Err(CliError::Usage(
            "give --max-age-days and/or --max-bytes".into(),
        ));
    }
    let policy = RetentionPolicy {
        max_age: args.max_age_days.map(super::days),
        max_total_bytes: args.max_bytes,
    };
    let (log, report) = if args.dry_run {
        let log = AuditLog::open_read_only(&args.dir.dir)?;
        let report = log.plan_retention(&policy)?;
        (log, report)
    } else {
        let log = AuditLog::open(&args.dir.dir)?;
        let report = log.apply_retention(&policy)?;
        (log, report)
    };
    print(&report, args.dry_run);
    log.close()?;
    Ok(())
}

fn print(report: &RetentionReport, dry_run: bool) {
    let verb = if dry_run { "would delete" } else { "deleted" };
    for s in &report.segments {
        println!(
            "{verb} records {}..{} (newest {}, {} bytes): {}",
            s.first_seq, s.end_seq, s.last_recorded_at, s.bytes, s.reason
        );
    }
    if let Some(cut) = &report.cut {
        println!("{cut}");
        println!("{} bytes reclaimed", report.reclaimed_bytes);
    }
    if report.segments.is_empty() {
        println!("nothing to delete");
    }
}
