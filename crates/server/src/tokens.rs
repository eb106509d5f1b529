//! The token store: bearer tokens with a role and tenants, kept as hashes in the log
//! directory (`server-tokens.json`), written crash-safely through the engine's file-system
//! interface ([`auditlog::fs::write_file_durably`]: temporary file, fdatasync, rename,
//! directory fsync), so a crash leaves the old store or the new one, never a torn file.
//!
//! A secret is `alt_<id>_<64 hex digits>`: the id (8 hex digits, public, in `token list` and
//! in the `audit.read` events) finds the entry, and the BLAKE3 hash of the whole secret is
//! compared in constant time with the stored one. The secret itself is printed once by
//! `auditlog token add` and never stored.
//!
//! Changes are made by the CLI while the server runs: [`TokenCache`] re-reads the file when
//! its identity (inode, size, modification time) changed, checking at most every
//! [`RECHECK`], so an added or revoked token takes effect within a second. Two CLI processes
//! changing the store at once are serialised by an advisory lock on `server-tokens.lock`.

use crate::auth::Role;
use auditlog::fs::{FileSystem, StdFileSystem, write_file_durably};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The store's file name in the log directory.
pub const TOKENS_FILE: &str = "server-tokens.json";
const LOCK_FILE: &str = "server-tokens.lock";
const STORE_VERSION: u32 = 1;
/// How often the server looks at the store's file for changes.
pub const RECHECK: Duration = Duration::from_millis(250);

/// One token as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// The public id (8 hex digits), part of the secret.
    pub id: String,
    /// A name for people (`billing-api`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the token may do.
    pub role: Role,
    /// The tenants it is limited to (none: every tenant, for writers, auditors and admins).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Whether it may read personal data in clear (the `pii` permission, docs/PRIVACY.md):
    /// `None` takes the role's default (admins yes, every other role no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<bool>,
    /// BLAKE3 of the secret, hex.
    pub hash: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was: it then authenticates nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TokenEntry {
    /// Whether the token reads personal data in clear: its `pii` setting, else only admins.
    pub fn may_read_pii(&self) -> bool {
        self.pii.unwrap_or(self.role == Role::Admin)
    }
}

/// The store file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenStore {
    /// The file's layout version (1).
    pub version: u32,
    /// Incremented by every change.
    pub generation: u64,
    /// Every token ever added, revoked ones included (so ids are never reused).
    pub tokens: Vec<TokenEntry>,
    /// The console's one-time viewer links (hashes only), `console/links.rs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewer_links: Vec<crate::console::links::ViewerLink>,
}

/// A failure reading or changing the store.
#[derive(Debug)]
pub enum StoreError {
    /// The request itself is wrong (an unknown token, a reader without a tenant).
    Usage(String),
    /// The file could not be read, parsed or written.
    Io(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Usage(m) | StoreError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

fn io_error(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

impl TokenStore {
    /// Reads the store of the log in `dir`; an absent file is an empty store.
    pub fn load(dir: &Path) -> Result<TokenStore, StoreError> {
        let path = dir.join(TOKENS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(TokenStore {
                    version: STORE_VERSION,
                    ..TokenStore::default()
                });
            }
            Err(e) => return Err(io_error("reading", &path, e)),
        };
        let store: TokenStore =
            serde_json::from_str(&text).map_err(|e| io_error("parsing", &path, e))?;
        if store.version != STORE_VERSION {
            return Err(io_error(
                "reading",
                &path,
                format!("layout version {} is not 1", store.version),
            ));
        }
        Ok(store)
    }

    /// Adds a token and returns its secret (to show once) and entry.
    pub fn add(
        dir: &Path,
        role: Role,
        tenants: Vec<String>,
        name: Option<String>,
        now: &str,
    ) -> Result<(String, TokenEntry), StoreError> {
        Self::add_with_pii(dir, role, tenants, name, None, now)
    }

    /// [`TokenStore::add`] with the token's `pii` permission set (`None`: the role's default).
    pub fn add_with_pii(
        dir: &Path,
        role: Role,
        tenants: Vec<String>,
        name: Option<String>,
        pii: Option<bool>,
        now: &str,
    ) -> Result<(String, TokenEntry), StoreError> {
        if role == Role::Reader && tenants.is_empty() {
            return Err(StoreError::Usage(
                "a reader reads only its tenants' records: give --tenant (an auditor reads \
                 every tenant)"
                    .into(),
            ));
        }
        if let Some(t) = tenants.iter().find(|t| t.is_empty()) {
            return Err(StoreError::Usage(format!("tenant {t:?} is empty")));
        }
        change(dir, |store| {
            let (id, secret) = new_secret("alt_", |id| store.tokens.iter().any(|t| t.id == id))?;
            let entry = TokenEntry {
                id,
                name: name.clone(),
                role,
                tenants: tenants.clone(),
                pii,
                hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
                created_at: now.to_string(),
                revoked_at: None,
            };
            store.tokens.push(entry.clone());
            Ok((secret, entry))
        })
    }

    /// Revokes the token with this id or name (a name must name exactly one live token).
    pub fn revoke(dir: &Path, which: &str, now: &str) -> Result<TokenEntry, StoreError> {
        change(dir, |store| {
            let live = |t: &&mut TokenEntry| t.revoked_at.is_none();
            let mut found: Vec<&mut TokenEntry> = store
                .tokens
                .iter_mut()
                .filter(|t| t.id == which || t.name.as_deref() == Some(which))
                .filter(live)
                .collect();
            match found.len() {
                0 => Err(StoreError::Usage(format!(
                    "no live token has the id or name {which:?} (see `auditlog token list`)"
                ))),
                1 => {
                    let entry = &mut found[0];
                    entry.revoked_at = Some(now.to_string());
                    Ok(entry.clone())
                }
                n => Err(StoreError::Usage(format!(
                    "{n} live tokens are named {which:?}: revoke one by its id"
                ))),
            }
        })
    }

    /// The live entry a presented secret authenticates, if any. The hash comparison is
    /// constant-time (`blake3::Hash`'s equality).
    pub fn authenticate(&self, secret: &str) -> Option<&TokenEntry> {
        let presented = blake3::hash(secret.as_bytes());
        let id = secret.strip_prefix("alt_")?.split('_').next()?;
        let entry = self
            .tokens
            .iter()
            .find(|t| t.id == id && t.revoked_at.is_none())?;
        let stored = blake3::Hash::from_hex(&entry.hash).ok()?;
        (stored == presented).then_some(entry)
    }
}

/// Runs `f` on the store under the store's lock and writes the result durably.
pub(crate) fn change<T>(
    dir: &Path,
    f: impl FnOnce(&mut TokenStore) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let lock_path = dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error("opening", &lock_path, e))?;
    lock.lock()
        .map_err(|e| io_error("locking", &lock_path, e))?;
    let mut store = TokenStore::load(dir)?;
    let out = f(&mut store)?;
    store.generation += 1;
    let mut text =
        serde_json::to_string_pretty(&store).map_err(|e| StoreError::Io(e.to_string()))?;
    text.push('\n');
    let path = dir.join(TOKENS_FILE);
    write_file_durably(&StdFileSystem as &dyn FileSystem, &path, text.as_bytes())
        .map_err(|e| io_error("writing", &path, e))?;
    Ok(out)
}

/// A fresh `<prefix><id>_<64 hex digits>` secret and its public id (8 hex digits), the id
/// not one `taken` says is in use. Tokens (`alt_`) and viewer links (`alv_`) are made so.
pub(crate) fn new_secret(
    prefix: &str,
    taken: impl Fn(&str) -> bool,
) -> Result<(String, String), StoreError> {
    let mut random = [0u8; 36];
    fill_random(&mut random).map_err(|e| StoreError::Io(e.to_string()))?;
    let id = loop {
        let id = to_hex(&random[..4]);
        if !taken(&id) {
            break id;
        }
        fill_random(&mut random[..4]).map_err(|e| StoreError::Io(e.to_string()))?;
    };
    let secret = format!("{prefix}{id}_{}", to_hex(&random[4..]));
    Ok((id, secret))
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    File::open("/dev/urandom")?.read_exact(buf)
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's view of the store: re-read when the file changes, looked at no more often
/// than every [`RECHECK`].
#[derive(Debug)]
pub struct TokenCache {
    path: PathBuf,
    dir: PathBuf,
    state: Mutex<CacheState>,
}

#[derive(Debug)]
struct CacheState {
    checked_at: Instant,
    /// (inode, size, mtime in ns) of the file last read; `None`: absent.
    stamp: Option<(u64, u64, i128)>,
    store: Arc<TokenStore>,
}

fn stamp_of(path: &Path) -> io::Result<Option<(u64, u64, i128)>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some((
            m.ino(),
            m.size(),
            i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl TokenCache {
    /// Reads the store of the log in `dir` now.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(TOKENS_FILE);
        let stamp = stamp_of(&path).map_err(|e| io_error("reading", &path, e))?;
        let store = TokenStore::load(dir)?;
        Ok(TokenCache {
            path,
            dir: dir.to_path_buf(),
            state: Mutex::new(CacheState {
                checked_at: Instant::now(),
                stamp,
                store: Arc::new(store),
            }),
        })
    }

    /// The current store, re-read first if the file changed (and the last look is older
    /// than [`RECHECK`]). A file that cannot be read keeps the last good store (and says so
    /// on stderr): a half-edited store must not lock everyone out or let anyone in.
    pub fn current(&self) -> Arc<TokenStore> {
        let mut state = self.state.lock();
        if state.checked_at.elapsed() >= RECHECK {
            state.checked_at = Instant::now();
            match stamp_of(&self.path) {
                Ok(stamp) if stamp != state.stamp => match TokenStore::load(&self.dir) {
                    Ok(store) => {
                        state.stamp = stamp;
                        state.store = Arc::new(store);
                    }
                    Err(e) => eprintln!("auditlog serve: keeping the previous tokens: {e}"),
                },
                Ok(_) => {}
                Err(e) => eprintln!(
                    "auditlog serve: cannot look at {}: {e}",
                    self.path.display()
                ),
            }
        }
        state.store.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_authenticates_until_revoked_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (secret, entry) =
            TokenStore::add(dir.path(), Role::Writer, vec![], Some("api".into()), "t0")
                .expect("adds");
        let store = TokenStore::load(dir.path()).expect("loads");
        assert_eq!(store.authenticate(&secret), Some(&entry));
        let text = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).expect("reads");
        assert!(!text.contains(&secret[10..]), "the secret is not stored");
        let mut wrong = secret.clone();
        let last = wrong.pop().expect("non-empty");
        wrong.push(if last == '0' { '1' } else { '0' });
        assert_eq!(store.authenticate(&wrong), None);
        assert_eq!(store.authenticate(""), None);
        assert_eq!(store.authenticate(&format!("alt_{}_", entry.id)), None);
        TokenStore::revoke(dir.path(), "api", "t1").expect("revokes");
        let store = TokenStore::load(dir.path()).expect("loads");
        assert_eq!(store.authenticate(&secret), None);
        assert_eq!(store.generation, 2);
        assert!(matches!(
            TokenStore::revoke(dir.path(), "api", "t2"),
            Err(StoreError::Usage(_))
        ));
    }

    #[test]
    fn a_reader_needs_a_tenant() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            TokenStore::add(dir.path(), Role::Reader, vec![], None, "t0"),
            Err(StoreError::Usage(_))
        ));
        assert!(!dir.path().join(TOKENS_FILE).exists());
    }
}
