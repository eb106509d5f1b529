//! `auditlog token add|list|revoke`: the server's bearer tokens, in the log directory's
//! token store (crates/server/src/tokens.rs). Works while the server runs (it sees changes
//! within a second) and on a directory that is not a log yet (the log is created first).

use super::{CliError, DirArg};
use auditlog::{AuditLog, Timestamp};
use auditlog_server::Role;
use auditlog_server::console::links;
use auditlog_server::tokens::{StoreError, TokenStore};
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token; its secret is printed once, as the first line of standard output.
    #[command(
        after_help = "Examples:\n  auditlog token add --dir /var/lib/audit --role writer --name web\n  \
                      auditlog token add --dir /var/lib/audit --role reader --tenant acme --name acme-dashboard\n  \
                      SECRET=$(auditlog token add --dir /var/lib/audit --role auditor | head -1)"
    )]
    Add(AddArgs),
    /// List tokens (ids, names, roles, tenants; never secrets).
    List(ListArgs),
    /// Revoke a token by id or name; the server refuses it within a second.
    Revoke(RevokeArgs),
    /// Mint a one-time console link to one tenant's records; prints the URL.
    #[command(
        after_help = "The link opens a reader session of the tenant in the web console \
                      (README, \"The web console\") once, until its TTL ends. Works while the \
                      server runs.\n\nExample:\n  auditlog token viewer --dir /var/lib/audit \
                      --tenant acme --ttl 15m --base-url https://audit.example.com"
    )]
    Viewer(ViewerArgs),
}

#[derive(Debug, clap::Args)]
pub struct ViewerArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The one tenant the link's session may read.
    #[arg(long, value_name = "TENANT")]
    tenant: String,
    /// How long the link stays usable: 90s, 15m, 2h (at most 24h).
    #[arg(long, default_value = "15m", value_parser = links::parse_ttl)]
    ttl: std::time::Duration,
    /// Where the server is reached from the viewer's browser.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7600")]
    base_url: String,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    dir: DirArg,
    /// writer (appends), reader (reads its tenants), auditor (reads all, proofs) or admin.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Limit the token to this tenant (repeatable). Readers need at least one.
    #[arg(long, value_name = "TENANT")]
    tenant: Vec<String>,
    /// A name for people and for `token revoke`.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Let the token read personal data in clear on a log with a privacy policy (the `pii`
    /// permission; by default only admin tokens have it, the others read it masked).
    #[arg(long, conflicts_with = "no_pii")]
    pii: bool,
    /// Withhold the `pii` permission (an admin token that reads personal data masked).
    #[arg(long)]
    no_pii: bool,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    dir: DirArg,
    /// One JSON object per token.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The token's id (from `token list`) or its name.
    #[arg(value_name = "ID|NAME")]
    token: String,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Usage(m) => CliError::Usage(m),
        StoreError::Io(m) => CliError::Failed(auditlog::Error::Io {
            context: "token store".into(),
            source: std::io::Error::other(m),
        }),
    }
}

/// Creates the log in `dir` if it is not one yet, so the store sits in a log directory (a
/// server started later opens it as its log). A running server holds the log: then it exists.
fn ensure_log(dir: &Path) -> Result<(), CliError> {
    if dir.join(auditlog_format::meta::META_FILE).exists() {
        return Ok(());
    }
    AuditLog::open(dir)?.close()?;
    Ok(())
}

pub fn run(command: TokenCommand) -> Result<(), CliError> {
    let now = Timestamp::now().to_rfc3339();
    match command {
        TokenCommand::Add(args) => {
            ensure_log(&args.dir.dir)?;
            let pii = match (args.pii, args.no_pii) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let (secret, entry) = TokenStore::add_with_pii(
                &args.dir.dir,
                args.role,
                args.tenant,
                args.name,
                pii,
                &now,
            )
            .map_err(store_error)?;
            println!("{secret}");
            println!(
                "token {} ({}{}{}) added; the secret above is shown only once",
                entry.id,
                entry.role,
                tenants_text(&entry.tenants),
                if entry.may_read_pii() { ", pii" } else { "" }
            );
        }
        TokenCommand::List(args) => {
            let store = TokenStore::load(&args.dir.dir).map_err(store_error)?;
            for t in &store.tokens {
                if args.json {
                    let mut doc = serde_json::to_value(t).unwrap_or_default();
                    if let Some(m) = doc.as_object_mut() {
                        m.remove("hash");
                    }
                    println!("{doc}");
                } else {
                    println!(
                        "{}  {:<8} {:<20} {}{}",
                        t.id,
                        t.role.as_str(),
                        t.name.as_deref().unwrap_or("-"),
                        t.created_at,
                        match &t.revoked_at {
                            Some(at) => format!("  revoked {at}"),
                            None => tenants_text(&t.tenants),
                        }
                    );
                }
            }
        }
        TokenCommand::Revoke(args) => {
            let entry =
                TokenStore::revoke(&args.dir.dir, &args.token, &now).map_err(store_error)?;
            println!("token {} revoked", entry.id);
        }
        TokenCommand::Viewer(args) => {
            ensure_log(&args.dir.dir)?;
            let minted = links::mint(
                &args.dir.dir,
                &args.tenant,
                args.ttl,
                &args.base_url,
                Timestamp::now(),
            )
            .map_err(store_error)?;
            println!("{}", minted.url);
            eprintln!(
                "viewer link {} for tenant {} (one use, until {})",
                minted.link.id, minted.link.tenant, minted.link.expires_at
            );
        }
    }
    Ok(())
}

fn tenants_text(tenants: &[String]) -> String {
    match tenants {
        [] => String::new(),
        t => format!(", tenants {}", t.join(",")),
    }
}
