//! `auditlog-verify`: the auditor's verifier, built from this crate and the format alone.
//!
//! ```text
//! auditlog-verify [--json] [--threads N] [--no-decode] [--public-key FILE [--checkpoint FILE]] PATH
//! auditlog-verify proof [--public-key FILE] FILE
//! ```
//! PATH is a log directory, one segment file, an archive bundle or a classified root. Exit
//! status, as `auditlog verify`: 0 intact, 1 damage (or a proof or checkpoint that does not
//! check), 2 bad usage (flags, a missing path, a malformed key or proof), 3 the check could not
//! run (an unreadable file, a format version this build does not read, not a log). The arguments are parsed by hand: a dozen
//! lines, where a parser crate would be most of what an auditor has to read.

use auditlog_format::checkpoint::{Checkpoint, NoteVerifier};
use auditlog_verify::{Error, VerifyOptions, check_proof, classes, verify};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: auditlog-verify [--json] [--threads N] [--no-decode] [--public-key FILE [--checkpoint FILE]] PATH
       auditlog-verify proof [--public-key FILE] FILE

PATH is a log directory, a segment file, an archive bundle or a classified root.
  --json             print the report as JSON
  --threads N        worker threads (default: one per core)
  --no-decode        skip decoding payloads (hashes and checksums are still checked)
  --public-key FILE  the log's public key: it must have signed every cut record (and the
                     checkpoint, and for `proof` the proof's tree head)
  --checkpoint FILE  a signed checkpoint the log must be consistent with
Exit status: 0 intact, 1 damage, 2 bad usage, 3 the check could not run.";

/// Why the verifier stopped, and its exit status.
enum Failure {
    Damage(String),
    Usage(String),
    Failed(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Corrupt(_) => Failure::Damage(e.to_string()),
            // As `auditlog verify`: what stops the check is not damage (the bytes may be intact).
            Error::Io { .. } | Error::NotALog { .. } | Error::UnsupportedVersion { .. } => {
                Failure::Failed(e.to_string())
            }
            Error::BadCheckpoint { .. }
            | Error::InvalidOption { .. }
            | Error::InvalidEvent { .. }
            | Error::EventTooLarge { .. } => Failure::Usage(e.to_string()),
        }
    }
}

#[derive(Default)]
struct Args {
    json: bool,
    threads: usize,
    no_decode: bool,
    public_key: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    proof: bool,
    path: Option<PathBuf>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, Failure> {
    let mut args = Args::default();
    let value = |argv: &mut dyn Iterator<Item = String>, flag: &str| {
        argv.next()
            .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
    };
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--version" => {
                println!("auditlog-verify {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            "--json" => args.json = true,
            "--no-decode" => args.no_decode = true,
            "--threads" => {
                let n = value(&mut argv, "--threads")?;
                args.threads = n
                    .parse()
                    .map_err(|_| Failure::Usage(format!("--threads: {n:?} is not a count")))?;
            }
            "--public-key" => args.public_key = Some(value(&mut argv, "--public-key")?.into()),
            "--checkpoint" => args.checkpoint = Some(value(&mut argv, "--checkpoint")?.into()),
            "proof" if args.path.is_none() && !args.proof => args.proof = true,
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option {flag}\n{USAGE}")));
            }
            _ if args.path.is_some() => {
                return Err(Failure::Usage(format!("one PATH only\n{USAGE}")));
            }
            _ => args.path = Some(arg.into()),
        }
    }
    if args.checkpoint.is_some() && args.public_key.is_none() {
        return Err(Failure::Usage(
            "--checkpoint needs --public-key: an unsigned checkpoint proves nothing".into(),
        ));
    }
    Ok(args)
}

fn read_text(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read the {what} {}: {e}", path.display())))
}

fn read_verifier(path: &Path) -> Result<NoteVerifier, Failure> {
    NoteVerifier::from_text(&read_text(path, "public key")?)
        .map_err(|e| Failure::Usage(e.to_string()))
}

fn run(args: Args) -> Result<(), Failure> {
    let path = args
        .path
        .clone()
        .ok_or_else(|| Failure::Usage(USAGE.into()))?;
    if !path.exists() {
        return Err(Failure::Usage(format!("{} does not exist", path.display())));
    }
    if args.proof {
        return run_proof(&path, args.public_key.as_deref());
    }
    let mut options = VerifyOptions {
        threads: args.threads,
        decode_payloads: !args.no_decode,
        ..VerifyOptions::default()
    };
    if let Some(key) = &args.public_key {
        let verifier = read_verifier(key)?;
        if let Some(cp) = &args.checkpoint {
            let note = read_text(cp, "checkpoint")?;
            let checkpoint = Checkpoint::open(&note, &verifier)
                .map_err(|e| Failure::Damage(format!("{}: {e}", cp.display())))?;
            options.checkpoint = Some(checkpoint);
        }
        options.cut_key = Some(verifier);
    }
    if auditlog_format::classes::is_classified_root(&path) {
        if options.checkpoint.is_some() {
            return Err(Failure::Usage(
                "a checkpoint belongs to one class: give that class's sub-directory".into(),
            ));
        }
        let report = classes::verify_classified(&path, &options)?;
        print_report(args.json, &report.to_json(), &report.to_string());
        return match report.ok {
            true => Ok(()),
            false => Err(Failure::Damage(
                "damage found in the classified root".into(),
            )),
        };
    }
    let report = verify(&path, &options)?;
    print_report(args.json, &report.to_json(), &report.to_string());
    if !report.ok {
        let n = report.problems.len();
        return Err(Failure::Damage(format!("{n} problem(s) found")));
    }
    if options.checkpoint.is_some() && !report.checkpoint.as_ref().is_some_and(|c| c.consistent) {
        return Err(Failure::Damage(
            "the log is intact but the checkpoint could not be checked against it (see the \
             note); verify the archive bundle that holds its last record"
                .into(),
        ));
    }
    Ok(())
}

fn print_report(json: bool, as_json: &serde_json::Value, as_text: &str) {
    if json {
        println!("{as_json:#}");
    } else {
        print!("{as_text}");
    }
}

fn run_proof(file: &Path, public_key: Option<&Path>) -> Result<(), Failure> {
    let doc: serde_json::Value = serde_json::from_str(&read_text(file, "proof")?)
        .map_err(|e| Failure::Usage(format!("{}: not JSON: {e}", file.display())))?;
    let verifier = public_key.map(read_verifier).transpose()?;
    let check = check_proof(&doc, verifier.as_ref())?;
    if !check.valid {
        return Err(Failure::Damage(check.message));
    }
    println!("OK: {}", check.message);
    if check.signed {
        println!("the tree head is signed by the given key");
    } else {
        println!("note: no public key given, so the tree head itself is not authenticated");
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Damage(why)) => {
            eprintln!("auditlog-verify: damage: {why}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(why)) => {
            eprintln!("auditlog-verify: {why}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(why)) => {
            eprintln!("auditlog-verify: {why}");
            ExitCode::from(3)
        }
    }
}
