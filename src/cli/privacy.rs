//! `auditlog init --protect ...` (a log with a privacy policy), `auditlog erase --subject ID`
//! (crypto-shredding), and the `--master-key-file` argument of the commands that encrypt.
//! docs/PRIVACY.md explains the model.

use super::{CliError, DirArg};
use auditlog::privacy::{MasterKey, PrivacyPolicy, Reveal, Vault};
use auditlog::{AuditLog, Record};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The master key argument: the file holding the 32-byte key that wraps subject keys.
#[derive(Debug, Clone, clap::Args)]
pub struct MasterKeyArg {
    /// The 32-byte master key file (`auditlog keygen --master`); keep it outside the log
    /// directory. Needed to append protected values, not to read other fields or to erase.
    #[arg(long, env = "AUDITLOG_MASTER_KEY_FILE", value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

impl MasterKeyArg {
    /// The key, if a file was named.
    pub fn load(&self) -> Result<Option<MasterKey>, CliError> {
        self.master_key_file
            .as_deref()
            .map(MasterKey::read_file)
            .transpose()
            .map_err(|e| CliError::Usage(e.to_string()))
    }
}

/// How the read commands (`get`, `query`, `export`) show protected values: in clear with the
/// master key, `[protected]` without it, `[erased]` once the subject is erased. A log without
/// a privacy policy prints as stored.
pub struct Revealer {
    vault: Option<Vault>,
    mode: Reveal,
}

impl Revealer {
    /// The vault of the log in `dir`, opened with the key `key` names (if any). A wrong
    /// master key is refused here (exit 2).
    pub fn open(dir: &Path, key: &MasterKeyArg) -> Result<Self, CliError> {
        let master = key.load()?;
        let mode = match master {
            Some(_) => Reveal::Plaintext,
            None => Reveal::Protected,
        };
        let vault =
            Vault::open(dir, master).map_err(|e| CliError::from(auditlog::Error::from(e)))?;
        Ok(Revealer { vault, mode })
    }

    /// Whether protected values print in clear.
    pub fn plaintext(&self) -> bool {
        self.vault.is_some() && self.mode == Reveal::Plaintext
    }

    /// The log's vault, if it has a privacy policy.
    pub fn vault(&self) -> Option<&Vault> {
        self.vault.as_ref()
    }

    /// `record` as it prints.
    /// The record as this reader may see it: borrowed unchanged when the log has no
    /// privacy policy, so printing an ordinary log copies nothing.
    pub fn show<'r>(&self, record: &'r Record) -> std::borrow::Cow<'r, Record> {
        match &self.vault {
            Some(vault) => std::borrow::Cow::Owned(vault.reveal(record, self.mode)),
            None => std::borrow::Cow::Borrowed(record),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The fields holding personal data, comma-separated: actor.email, actor.name,
    /// entity.name, ip, user_agent, session_id, error_message, or JSON paths such as
    /// after.email; PATH=entity.id names another subject field for one path.
    #[arg(long, value_name = "FIELDS")]
    protect: String,
    /// The field naming the data subject of the protected values: actor.id or entity.id.
    #[arg(long, value_name = "FIELD", default_value = "actor.id")]
    subject: String,
}

pub fn init(args: InitArgs) -> Result<(), CliError> {
    let policy = PrivacyPolicy::parse_spec(&args.protect, Some(&args.subject))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let dir = &args.dir.dir;
    if dir.join("auditlog.meta").exists() {
        return Err(CliError::Usage(format!(
            "{} already holds a log: a privacy policy is set when a log is created",
            dir.display()
        )));
    }
    let log = AuditLog::builder(dir)
        .privacy_policy(policy.clone())
        .open()?;
    log.close()?;
    let fields: Vec<String> = policy
        .fields()
        .iter()
        .map(|f| format!("{} (subject {})", f.path, f.subject))
        .collect();
    println!(
        "{}",
        json!({ "dir": dir.display().to_string(), "protected": fields })
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The data subject to erase (an actor id, or an entity id for paths whose subject is
    /// entity.id).
    #[arg(long, value_name = "ID")]
    subject: String,
}

pub fn erase(args: EraseArgs) -> Result<(), CliError> {
    let log = AuditLog::open(&args.dir.dir)?;
    let report = log.erase(&args.subject)?;
    log.close()?;
    println!(
        "{}",
        json!({
            "subject": report.subject,
            "key_ids": report.key_ids,
            "erasure_event_seq": report.event_seq,
        })
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    dir: DirArg,
    #[command(flatten)]
    master_key: MasterKeyArg,
    /// The new master key file (`auditlog keygen --master`). Keep the old one until this
    /// command has succeeded.
    #[arg(long, value_name = "PATH")]
    new_master_key_file: PathBuf,
}

pub fn rotate(args: RotateArgs) -> Result<(), CliError> {
    let old = args
        .master_key
        .load()?
        .ok_or_else(|| CliError::Usage("give the current key with --master-key-file".into()))?;
    let new = MasterKey::read_file(&args.new_master_key_file)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let log = AuditLog::builder(&args.dir.dir).master_key(old).open()?;
    let vault = log.vault().ok_or_else(|| {
        CliError::Usage("this log has no privacy policy, so no master key".into())
    })?;
    let count = vault
        .rotate_master_key(new)
        .map_err(|e| CliError::from(auditlog::Error::from(e)))?;
    log.close()?;
    println!("{}", json!({ "rewrapped_keys": count }));
    Ok(())
}
