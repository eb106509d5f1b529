//! One-time viewer links: what an application's backend mints so that one of its users can
//! look at one tenant's records in the console without a token of their own.
//!
//! A link is `<base>/console/link/alv_<id>_<64 hex digits>`. Only the BLAKE3 hash of the
//! secret is kept, in the token store's file (`viewer_links`, beside the tokens), through the
//! store's lock and durable write ([`crate::tokens`]): `auditlog token viewer` adds one
//! while the server runs, and the server marks it used in the same file *before* it answers
//! with a session cookie, so a crash cannot make a used link usable again. A link opens a
//! reader session of its one tenant; it stops working when it is used or its TTL ends.
//! Entries used or expired for more than a day are dropped at the next change.

use crate::tokens::{StoreError, TokenStore, change, new_secret};
use auditlog::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The secret's prefix (tokens use `alt_`).
pub const LINK_PREFIX: &str = "alv_";
/// The longest TTL a link may have: it is a short-lived invitation, not a credential.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a used or expired entry is kept (for `token list` and inspection).
const KEEP_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// One link as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerLink {
    /// Public id (8 hex digits), part of the secret.
    pub id: String,
    /// The one tenant the session may read.
    pub tenant: String,
    /// BLAKE3 of the secret, hex.
    pub hash: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// When it was used, if it was: then it opens nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
}

/// A link just made: the URL to hand out (once) and its entry.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The full one-time URL.
    pub url: String,
    /// The stored entry.
    pub link: ViewerLink,
}

/// Why a link opened nothing. The console shows one message for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a link secret, or not one this store made.
    Unknown,
    /// Used before.
    Used,
    /// Past its TTL.
    Expired,
    /// The store could not be read or written: nothing was opened.
    Store(String),
}

/// Reads a TTL: `900`, `900s`, `15m`, `2h` (at most [`MAX_TTL`]).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: give 900, 90s, 15m or 2h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{text:?}: the unit is s, m or h (e.g. 15m)")),
    };
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(format!(
            "{text:?}: a viewer link lives from 1 second to 24 hours"
        ));
    }
    Ok(ttl)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn expired(link: &ViewerLink, now: Timestamp) -> bool {
    Timestamp::parse_rfc3339(&link.expires_at).map_or(true, |at| at <= now)
}

/// Drops entries used or expired more than [`KEEP_NANOS`] ago.
fn prune(store: &mut TokenStore, now: Timestamp) {
    let horizon = Timestamp::from_nanos(now.as_nanos().saturating_sub(KEEP_NANOS));
    store.viewer_links.retain(|l| {
        let used_long_ago = l
            .used_at
            .as_deref()
            .and_then(|u| Timestamp::parse_rfc3339(u).ok())
            .is_some_and(|u| u < horizon);
        !used_long_ago && !expired(l, horizon)
    });
}

/// Makes a link to a reader session of `tenant`, valid for `ttl` from `now`, on `base_url`
/// (`http://127.0.0.1:7600`, no trailing slash needed).
pub fn mint(
    dir: &Path,
    tenant: &str,
    ttl: Duration,
    base_url: &str,
    now: Timestamp,
) -> Result<Minted, StoreError> {
    if tenant.is_empty() {
        return Err(StoreError::Usage("the tenant is empty".into()));
    }
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(StoreError::Usage(
            "a viewer link lives from 1 second to 24 hours".into(),
        ));
    }
    let base = base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(StoreError::Usage(format!(
            "the base URL {base_url:?} does not start with http:// or https://"
        )));
    }
    let expires = Timestamp::from_nanos(now.as_nanos().saturating_add(nanos(ttl)));
    change(dir, |store| {
        prune(store, now);
        let (id, secret) = new_secret(LINK_PREFIX, |id| {
            store.viewer_links.iter().any(|l| l.id == id)
        })?;
        let link = ViewerLink {
            id,
            tenant: tenant.to_string(),
            hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
            created_at: now.to_rfc3339(),
            expires_at: expires.to_rfc3339(),
            used_at: None,
        };
        store.viewer_links.push(link.clone());
        Ok(Minted {
            url: format!("{base}/console/link/{secret}"),
            link,
        })
    })
}

/// Uses the link whose secret is `secret`: marks it used, durably, and returns it. Fails
/// (changing nothing) for an unknown, used or expired link.
pub fn redeem(dir: &Path, secret: &str, now: Timestamp) -> Result<ViewerLink, Refused> {
    let id = secret
        .strip_prefix(LINK_PREFIX)
        .and_then(|rest| rest.split('_').next())
        .filter(|id| id.len() == 8)
        .ok_or(Refused::Unknown)?;
    let presented = blake3::hash(secret.as_bytes());
    let outcome = change(dir, |store| {
        let found = store
            .viewer_links
            .iter_mut()
            .find(|l| l.id == id && blake3::Hash::from_hex(&l.hash).is_ok_and(|h| h == presented));
        let Some(link) = found else {
            return Ok(Err(Refused::Unknown));
        };
        if link.used_at.is_some() {
            return Ok(Err(Refused::Used));
        }
        if expired(link, now) {
            return Ok(Err(Refused::Expired));
        }
        link.used_at = Some(now.to_rfc3339());
        Ok(Ok(link.clone()))
    });
    match outcome {
        Ok(result) => result,
        Err(e) => Err(Refused::Store(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_once_and_only_before_it_expires() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Timestamp::from_unix_secs(1_800_000_000);
        let ttl = parse_ttl("15m").expect("parses");
        let minted = mint(dir.path(), "acme", ttl, "http://127.0.0.1:7600/", now).expect("mints");
        let secret = minted.url.rsplit('/').next().expect("has a secret");
        assert!(
            minted
                .url
                .starts_with("http://127.0.0.1:7600/console/link/alv_")
        );
        let text =
            std::fs::read_to_string(dir.path().join(crate::tokens::TOKENS_FILE)).expect("reads");
        assert!(!text.contains(&secret[14..]), "the secret is not stored");
        let mut wrong = secret.to_string();
        wrong.pop();
        wrong.push('x');
        assert_eq!(redeem(dir.path(), &wrong, now), Err(Refused::Unknown));
        let link = redeem(dir.path(), secret, now).expect("opens once");
        assert_eq!(link.tenant, "acme");
        assert_eq!(redeem(dir.path(), secret, now), Err(Refused::Used));

        let second = mint(dir.path(), "acme", ttl, "http://h", now).expect("mints");
        let secret = second.url.rsplit('/').next().expect("has a secret");
        let later = Timestamp::from_unix_secs(1_800_000_000 + 15 * 60);
        assert_eq!(redeem(dir.path(), secret, later), Err(Refused::Expired));
    }

    #[test]
    fn bad_ttls_and_tenants_are_refused() {
        for bad in ["0", "25h", "15x", "m", ""] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_ttl("90").expect("parses"), Duration::from_secs(90));
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Timestamp::from_unix_secs(1_800_000_000);
        let ttl = Duration::from_secs(60);
        assert!(matches!(
            mint(dir.path(), "", ttl, "http://h", now),
            Err(StoreError::Usage(_))
        ));
        assert!(matches!(
            mint(dir.path(), "t", ttl, "ftp://h", now),
            Err(StoreError::Usage(_))
        ));
        assert!(!dir.path().join(crate::tokens::TOKENS_FILE).exists());
    }
}
