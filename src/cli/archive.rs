//! `auditlog archive`: move the oldest sealed segments into bundles in a local directory or
//! in S3-compatible object storage (`s3://BUCKET/PREFIX`).

use super::s3::S3Args;
use super::{CliError, DirArg, progress};
use auditlog::lifecycle::{ArchivePolicy, LocalDirDestination};
use auditlog_objstore::{Location, S3Destination};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Where bundles go: a local directory, or s3://BUCKET/PREFIX (each log under
    /// PREFIX/<log id>/). Any other scheme:// is refused.
    #[arg(long, value_name = "ARCHIVE_DIR|s3://BUCKET/PREFIX")]
    to: String,
    /// Only segments whose newest record is older than this many days.
    #[arg(long, value_name = "DAYS")]
    older_than_days: Option<u64>,
    /// At most this many segments, oldest first.
    #[arg(long, value_name = "N")]
    max_segments: Option<usize>,
    /// The log's private key (written by `auditlog keygen`): the cut record is signed with
    /// it, so that `auditlog verify --public-key` can tell this removal from a deletion. In
    /// object storage it also signs the archive head (the latest archived tree head).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    s3: S3Args,
}

pub fn run(args: ArchiveArgs) -> Result<(), CliError> {
    let location = super::s3::location(&args.to)?;
    // The store is reached (bucket and credentials checked) before the log is touched.
    let s3 = match &location {
        Location::S3(url) => Some(args.s3.connect(url)?),
        Location::Local(_) => None,
    };
    let log = super::verify::open_signing(&args.dir.dir, args.key.as_ref())?;
    let policy = ArchivePolicy {
        min_age: args.older_than_days.map(super::days),
        max_segments: args.max_segments,
    };
    // Progress: segments gone from the directory since the start, of the sealed ones then
    // (all of them are candidates, the newest excepted, unless a flag narrows the choice).
    // Compaction before an upload to S3 turns hot segments cold, which this count keeps.
    let dir = args.dir.dir.clone();
    let count = || {
        let (hot, cold) = progress::segments_in(&dir);
        (hot.len() + cold.len()) as u64
    };
    let before = count();
    let candidates = match (args.older_than_days, args.max_segments) {
        (None, None) => Some(before.saturating_sub(1)),
        (None, Some(n)) => Some((n as u64).min(before.saturating_sub(1))),
        _ => None,
    };
    let probe = || (before.saturating_sub(count()), candidates);
    let unit = progress::Unit::Count("segments");
    let (report, names): (_, Vec<String>) = match (location, s3) {
        (Location::S3(_), Some(store)) => {
            let signer = match &args.key {
                Some(path) => Some(super::verify::read_signer(path)?),
                None => None,
            };
            let destination = S3Destination::with_signer(store, signer);
            // Segments go to object storage in cold form, so that a reader can fetch one
            // zstd frame with a range read: the engine compacts what it moves first, the same
            // step the maintenance schedule runs (ArchiveDestination::wants_cold).
            let report = progress::while_running("archive", unit, probe, || {
                log.archive(&destination, &policy)
            })?;
            let names = report
                .bundles
                .iter()
                .map(|b| destination.bundle_url(b))
                .collect();
            (report, names)
        }
        (Location::Local(dir), _) => {
            let destination = LocalDirDestination::new(&dir);
            let report = progress::while_running("archive", unit, probe, || {
                log.archive(&destination, &policy)
            })?;
            let names = report
                .bundles
                .iter()
                .map(|b| destination.bundle_dir(b).display().to_string())
                .collect();
            (report, names)
        }
        (Location::S3(_), None) => unreachable!("connected above"),
    };
    for name in &names {
        println!("archived {name}");
    }
    println!(
        "{} bundle(s); {} bytes removed from {}; the log now starts at sequence {}",
        report.bundles.len(),
        report.reclaimed_bytes,
        args.dir.dir.display(),
        log.first_seq()
    );
    log.close()?;
    Ok(())
}
