//! `auditlog prove --dir DIR SEQ` and `auditlog prove --dir DIR --consistency OLD [NEW]`:
//! print a proof as JSON for `auditlog verify-proof`.

use super::{CliError, DirArg};
use auditlog::proof::{prove_consistency, prove_inclusion};

#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The record to prove included.
    #[arg(required_unless_present = "consistency")]
    seq: Option<u64>,
    /// Prove inclusion in the tree of this many records (default: the newest checkpoint
    /// covering SEQ, else the current tree). A signed checkpoint of that size, if the log
    /// has one, is printed with the proof.
    #[arg(long)]
    size: Option<u64>,
    /// Prove that the tree of OLD records is a prefix of the tree of NEW (default: current).
    #[arg(long, num_args = 1..=2, value_names = ["OLD", "NEW"], conflicts_with = "seq")]
    consistency: Option<Vec<u64>>,
}

pub fn run(args: ProveArgs) -> Result<(), CliError> {
    let doc = match (&args.consistency, args.seq) {
        (Some(sizes), _) => prove_consistency(&args.dir.dir, sizes[0], sizes.get(1).copied())?,
        (None, Some(seq)) => prove_inclusion(&args.dir.dir, seq, args.size)?,
        (None, None) => return Err(CliError::Usage("give SEQ or --consistency".into())),
    };
    println!("{doc:#}");
    Ok(())
}
