//! `auditlog append`: one event, from flags or as event JSON on standard input, for scripts.
//! Prints the receipt as JSON once the event is durable.

use super::filters::parse_time;
use super::{CliError, DirArg};
use auditlog::merkle::to_hex;
use auditlog::{AuditLog, Event, Outcome, Severity, Timestamp};
use serde_json::{Value, json};
use std::io::{IsTerminal, Read};

#[derive(Debug, clap::Args)]
pub struct AppendArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Who acted (the actor's id). Without --actor and --action, the event is read as JSON
    /// from standard input.
    #[arg(long, value_name = "ID", requires = "action")]
    actor: Option<String>,
    /// What was done.
    #[arg(long, value_name = "ACTION", requires = "actor")]
    action: Option<String>,
    /// What it was done to: TYPE:ID.
    #[arg(long, value_name = "TYPE:ID")]
    entity: Option<String>,
    /// How it ended.
    #[arg(long, value_name = "OUTCOME")]
    outcome: Option<Outcome>,
    /// How important it is.
    #[arg(long, value_name = "SEVERITY")]
    severity: Option<Severity>,
    /// When it happened (RFC 3339, a date, or a duration before now such as 5m).
    #[arg(long, value_name = "TIME")]
    occurred_at: Option<String>,
    /// Why it failed.
    #[arg(long, value_name = "TEXT")]
    error_message: Option<String>,
    /// The tenant.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// The service that emitted the event.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// The client's IP address.
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// The request id, for correlation.
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
    /// A label (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
    /// A metadata entry KEY=VALUE (repeatable); VALUE is read as JSON if it parses, else as
    /// text.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
    #[command(flatten)]
    master_key: super::privacy::MasterKeyArg,
}

pub fn run(args: AppendArgs) -> Result<(), CliError> {
    let event = match (&args.actor, &args.action) {
        (Some(actor), Some(action)) => event_from_flags(&args, actor, action)?,
        _ => event_from_stdin()?,
    };
    let mut builder = AuditLog::builder(&args.dir.dir);
    if let Some(key) = args.master_key.load()? {
        builder = builder.master_key(key);
    }
    let log = builder.open()?;
    let receipt = log.append(&event)?.wait()?;
    log.close()?;
    println!(
        "{}",
        json!({
            "seq": receipt.seq,
            "recorded_at": receipt.recorded_at,
            "leaf_hash": to_hex(&receipt.leaf_hash),
            "tree_size": receipt.tree_size,
        })
    );
    Ok(())
}

fn event_from_flags(args: &AppendArgs, actor: &str, action: &str) -> Result<Event, CliError> {
    let mut e = Event::new(actor, action);
    if let Some(entity) = &args.entity {
        let (kind, id) = entity
            .split_once(':')
            .ok_or_else(|| CliError::Usage(format!("--entity {entity:?}: expected TYPE:ID")))?;
        e = e.entity(kind, id);
    }
    if let Some(outcome) = args.outcome {
        e = e.outcome(outcome);
    }
    if let Some(severity) = args.severity {
        e = e.severity(severity);
    }
    if let Some(at) = &args.occurred_at {
        e = e.occurred_at(parse_time(at, Timestamp::now())?);
    }
    let strings = [
        (&args.error_message, &mut e.error_message),
        (&args.tenant, &mut e.tenant),
        (&args.source, &mut e.source),
        (&args.ip, &mut e.ip),
        (&args.request_id, &mut e.request_id),
    ];
    for (flag, field) in strings {
        if flag.is_some() {
            field.clone_from(flag);
        }
    }
    e = e.labels(args.labels.iter().cloned());
    for entry in &args.meta {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--meta {entry:?}: expected KEY=VALUE")))?;
        let value = serde_json::from_str::<Value>(value)
            .unwrap_or_else(|_| Value::String(value.to_string()));
        e = e.metadata(key, value);
    }
    Ok(e)
}

fn event_from_stdin() -> Result<Event, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(CliError::Usage(
            "give --actor and --action, or pipe one event as JSON into standard input \
             (see `auditlog append --help`)"
                .into(),
        ));
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text).map_err(|e| {
        CliError::Failed(auditlog::Error::Io {
            context: "reading standard input".into(),
            source: e,
        })
    })?;
    serde_json::from_str::<Event>(&text).map_err(|e| {
        CliError::Usage(format!(
            "standard input is not one event as JSON: {e}{}",
            auditlog::json_error_hint(&e)
        ))
    })
}
