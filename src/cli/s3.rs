//! The flags of commands that reach an archive in S3-compatible object storage, and the one
//! place where a location given on the command line becomes a local path or an `s3://` URL.

use super::CliError;
use auditlog_objstore::{Location, S3Options, S3Store, S3Url, parse_location};
use std::path::PathBuf;

/// How to reach the object store. Each flag left out comes from the AWS_* environment
/// (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP).
#[derive(Debug, Clone, clap::Args)]
pub struct S3Args {
    /// The S3 endpoint (e.g. http://127.0.0.1:8333 for a local server).
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// The S3 region.
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,
    /// Allow plain HTTP to the endpoint.
    #[arg(long)]
    s3_allow_http: bool,
    /// The access key id.
    #[arg(long, value_name = "ID")]
    s3_access_key_id: Option<String>,
    /// A file holding the secret access key (a file, so the secret never shows in `ps`).
    #[arg(long, value_name = "FILE")]
    s3_secret_key_file: Option<PathBuf>,
}

impl S3Args {
    fn options(&self) -> Result<S3Options, CliError> {
        let secret = match &self.s3_secret_key_file {
            Some(path) => Some(
                super::verify::read_text(path, "secret key file")?
                    .trim()
                    .to_string(),
            ),
            None => None,
        };
        Ok(S3Options {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: secret,
            allow_http: self.s3_allow_http.then_some(true),
            ..S3Options::default()
        })
    }

    /// Connects to `url`, checking the bucket and credentials first.
    pub fn connect(&self, url: &S3Url) -> Result<S3Store, CliError> {
        S3Store::connect(url, &self.options()?).map_err(store_failed)
    }
}

/// Parses a location argument: a local path, `s3://BUCKET/PREFIX`, or a usage error for any
/// other `scheme://` (never a local folder named `gs:`).
pub fn location(text: &str) -> Result<Location, CliError> {
    parse_location(text).map_err(|e| CliError::Usage(e.to_string()))
}

/// Only an `s3://` URL: for flags that name an archive in object storage.
pub fn s3_url(text: &str, flag: &str) -> Result<S3Url, CliError> {
    match location(text)? {
        Location::S3(url) => Ok(url),
        Location::Local(_) => Err(CliError::Usage(format!(
            "{flag} takes an s3://BUCKET/PREFIX URL, not {text:?}"
        ))),
    }
}

/// The archive of log `log_id` at `url` (an `--archive` flag), for reading records.
pub fn archive_reader(
    s3: &S3Args,
    url: &str,
    log_id: &[u8; 16],
) -> Result<auditlog_objstore::ArchiveReader, CliError> {
    let url = s3_url(url, "--archive")?;
    let store = s3.connect(&url)?;
    auditlog_objstore::ArchiveReader::open(&store, log_id).map_err(store_failed)
}

/// An object store failure: a bad URL or a refused request is a usage error (exit 2), an
/// archive that fails its checks damage (exit 1), the rest failed (exit 3).
pub fn store_failed(e: auditlog_objstore::Error) -> CliError {
    match e {
        auditlog_objstore::Error::UnsupportedScheme { .. }
        | auditlog_objstore::Error::BadUrl { .. }
        | auditlog_objstore::Error::Refused { .. } => CliError::Usage(e.to_string()),
        auditlog_objstore::Error::ArchiveDamaged { .. } => CliError::Damage(e.to_string()),
        e => CliError::Failed(auditlog::Error::Io {
            context: "object storage".into(),
            source: std::io::Error::other(e),
        }),
    }
}
