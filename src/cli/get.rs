//! `auditlog get SEQ`: one record as pretty JSON.

use super::output::stdout_failed;
use super::{CliError, DirArg, open::open_read_only};
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The record's sequence number.
    #[arg(value_name = "SEQ")]
    seq: u64,
    /// Print the record on one line (compact JSON) instead of indented.
    #[arg(long)]
    compact: bool,
}

pub fn run(args: GetArgs) -> Result<(), CliError> {
    let log = open_read_only(&args.dir.dir)?;
    let record = log.get(args.seq).map_err(|e| match e {
        auditlog::Error::NotFound { seq, first, end } if end > first => CliError::Usage(format!(
            "no record #{seq}: the log holds #{first} to #{}",
            end - 1
        )),
        auditlog::Error::NotFound { seq, .. } => {
            CliError::Usage(format!("no record #{seq}: the log is empty"))
        }
        e => CliError::from(e),
    })?;
    let text = if args.compact {
        serde_json::to_string(&record)
    } else {
        serde_json::to_string_pretty(&record)
    }
    .map_err(|e| CliError::Usage(format!("cannot print record #{}: {e}", args.seq)))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(stdout_failed)
}
