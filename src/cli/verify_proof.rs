//! `auditlog verify-proof FILE [--public-key KEY]`: check a proof offline, without the log.

use super::CliError;
use auditlog::proof::check_proof;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyProofArgs {
    /// The proof JSON written by `auditlog prove` (`-` for standard input).
    file: PathBuf,
    /// Require the proof's tree head to be a checkpoint signed by this public key.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
}

pub fn run(args: VerifyProofArgs) -> Result<(), CliError> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?
    } else {
        super::verify::read_text(&args.file, "proof")?
    };
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("not JSON: {e}")))?;
    let verifier = args
        .public_key
        .as_ref()
        .map(super::verify::read_verifier)
        .transpose()?;
    let check = check_proof(&doc, verifier.as_ref()).map_err(|e| CliError::Usage(e.to_string()))?;
    if !check.valid {
        return Err(CliError::Damage(check.message));
    }
    println!("OK: {}", check.message);
    if check.signed {
        println!("the tree head is signed by the given key");
    } else {
        println!("note: no public key given, so the tree head itself is not authenticated");
    }
    Ok(())
}
