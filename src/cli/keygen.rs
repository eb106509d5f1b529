//! `auditlog keygen --out PREFIX`: a new Ed25519 key pair for signing checkpoints.

use super::CliError;
use auditlog::checkpoint::NoteSigner;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Writes PREFIX.key (private, mode 0600) and PREFIX.pub (public); with --master, the
    /// master key file itself (mode 0600).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Makes a privacy master key instead: 32 random bytes that wrap the subject keys of
    /// logs created with `auditlog init --protect`. Keep it outside the log directory.
    #[arg(long)]
    master: bool,
    /// The key name in signatures (a schema-less URL is recommended, e.g. example.com/audit).
    #[arg(long, default_value = "auditlog")]
    name: String,
}

/// `auditlog keygen --master --out PATH`: 32 random bytes, mode 0600, never overwriting.
fn master(path: &PathBuf) -> Result<(), CliError> {
    let key =
        auditlog::privacy::MasterKey::generate().map_err(|e| CliError::Usage(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(key.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            CliError::Failed(auditlog::Error::Io {
                context: format!("writing {}", path.display()),
                source: e,
            })
        })?;
    println!(
        "master key: {} (32 bytes; keep it secret and apart from the log, and back it up: \
         without it no protected value can be read)",
        path.display()
    );
    Ok(())
}

fn write_new(path: &PathBuf, text: &str, mode: u32) -> Result<(), CliError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            CliError::Failed(auditlog::Error::Io {
                context: format!("writing {}", path.display()),
                source: e,
            })
        })
}

pub fn run(args: KeygenArgs) -> Result<(), CliError> {
    if args.master {
        return master(&args.out);
    }
    let signer = NoteSigner::generate(&args.name).map_err(|e| CliError::Usage(e.to_string()))?;
    let key = args.out.with_extension("key");
    let public = args.out.with_extension("pub");
    write_new(&key, &signer.to_text(), 0o600)?;
    write_new(&public, &signer.verifier().to_text(), 0o644)?;
    println!("private key: {} (keep it secret)", key.display());
    println!(
        "public key:  {} = {}",
        public.display(),
        signer.verifier().to_text()
    );
    Ok(())
}
