//! `auditlog retention`: delete the oldest sealed segments by age or size budget, recording
//! the cut first; `--dry-run` lists what would go. On a classified root, every class applies
//! the retention recorded for it.

use super::{CliError, DirArg};
use auditlog::ReadOnlyLog;
use auditlog::classes::ClassifiedLog;
use auditlog::lifecycle::{RetentionPolicy, RetentionReport};
use std::path::PathBuf;

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
    /// The log's private key (written by `auditlog keygen`): the cut record is signed with
    /// it, so that `auditlog verify --public-key` can tell this removal from a deletion.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

pub fn run(args: RetentionArgs) -> Result<(), CliError> {
    if auditlog::classes::is_classified_root(&args.dir.dir) {
        return run_classified(&args);
    }
    if args.max_age_days.is_none() && args.max_bytes.is_none() {
        return Err(CliError::Usage(
            "give --max-age-days and/or --max-bytes".into(),
        ));
    }
    let policy = RetentionPolicy {
        max_age: args.max_age_days.map(super::days),
        max_total_bytes: args.max_bytes,
    };
    if args.dry_run {
        let log = ReadOnlyLog::open(&args.dir.dir)?;
        print(&log.plan_retention(&policy)?, true);
    } else {
        let log = super::verify::open_signing(&args.dir.dir, args.key.as_ref())?;
        print(&log.apply_retention(&policy)?, false);
        log.close()?;
    }
    Ok(())
}

/// A classified root: each class applies the policy recorded in its manifest.
fn run_classified(args: &RetentionArgs) -> Result<(), CliError> {
    if args.max_age_days.is_some() || args.max_bytes.is_some() {
        return Err(CliError::Usage(format!(
            "{} is a classified root: each class applies its own recorded retention, so \
             --max-age-days and --max-bytes do not apply (give a class's sub-directory to \
             apply them to one class)",
            args.dir.dir.display()
        )));
    }
    if args.key.is_some() {
        // A classified log has no signing key (one per class would be needed): refuse
        // rather than write unsigned cuts the caller believes signed.
        return Err(CliError::Usage(format!(
            "{} is a classified root, whose classes cannot sign their cuts yet: --key \
             does not apply",
            args.dir.dir.display()
        )));
    }
    let log = ClassifiedLog::builder(&args.dir.dir)
        .read_only(args.dry_run)
        .open()?;
    let reports = if args.dry_run {
        log.plan_retention()?
    } else {
        log.apply_retention()?
    };
    for ((name, report), class) in reports.iter().zip(log.classes()) {
        println!("class {name} ({}):", describe(&class.retention));
        print(report, args.dry_run);
    }
    log.close()?;
    Ok(())
}

fn describe(policy: &RetentionPolicy) -> String {
    let age = policy
        .max_age
        .map(|a| format!("keep {} days", a.as_secs() / 86_400));
    let bytes = policy.max_total_bytes.map(|b| format!("at most {b} bytes"));
    let parts: Vec<String> = age.into_iter().chain(bytes).collect();
    if parts.is_empty() {
        "keep everything".into()
    } else {
        parts.join(", ")
    }
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
