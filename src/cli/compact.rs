//! `auditlog compact`: compress sealed segments into cold (zstd) segments.

use super::{CliError, DirArg, progress};
use auditlog::AuditLog;
use auditlog::lifecycle::CompactOptions;
use auditlog::lifecycle::cold::CompressOptions;

#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Only segments whose newest record is older than this many days.
    #[arg(long, value_name = "DAYS")]
    older_than_days: Option<u64>,
    /// zstd level (1..=22).
    #[arg(long, default_value_t = CompressOptions::default().level)]
    level: i32,
    /// Target uncompressed bytes per zstd frame.
    #[arg(long, default_value_t = CompressOptions::default().frame_bytes)]
    frame_bytes: usize,
    /// Compress with a trained dictionary (reused, or trained from the first segment).
    #[arg(long)]
    dictionary: bool,
}

pub fn run(args: CompactArgs) -> Result<(), CliError> {
    if !(1..=22).contains(&args.level) || args.frame_bytes == 0 {
        return Err(CliError::Usage(
            "--level must be 1..=22 and --frame-bytes > 0".into(),
        ));
    }
    let log = AuditLog::open(&args.dir.dir)?;
    let options = CompactOptions {
        min_age: args.older_than_days.map(super::days),
        compress: CompressOptions {
            level: args.level,
            frame_bytes: args.frame_bytes,
            dictionary: args.dictionary,
            ..CompressOptions::default()
        },
    };
    // Progress: cold segments written since the start, of the sealed hot segments then
    // (all of them are candidates unless --older-than-days narrows the choice).
    let dir = args.dir.dir.clone();
    let (hot, cold) = progress::segments_in(&dir);
    let candidates = (args.older_than_days.is_none()).then(|| hot.len().saturating_sub(1) as u64);
    let report = progress::while_running(
        "compact",
        progress::Unit::Count("segments"),
        || {
            let now = progress::segments_in(&dir).1.len();
            (now.saturating_sub(cold.len()) as u64, candidates)
        },
        || log.compact(&options),
    )?;
    for path in &report.compressed {
        println!("compressed {}", path.display());
    }
    let ratio = report.hot_bytes as f64 / (report.cold_bytes.max(1)) as f64;
    println!(
        "{} segment(s): {} bytes -> {} bytes ({ratio:.1}x)",
        report.compressed.len(),
        report.hot_bytes,
        report.cold_bytes
    );
    log.close()?;
    Ok(())
}
