//! This crate's one error type.

/// What can go wrong talking to an object store or reading an archive there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `scheme://` location whose scheme is not supported. Use `s3://BUCKET/PREFIX` or a
    /// local directory.
    #[error("{url}: unsupported scheme {scheme:?}; use s3://BUCKET/PREFIX or a local directory")]
    UnsupportedScheme {
        /// The location as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// An `s3://` URL that cannot name a bucket and prefix.
    #[error("{url} is not a valid s3://BUCKET/PREFIX URL: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The client could not be configured (a malformed endpoint, say).
    #[error("cannot configure the S3 client for s3://{bucket}: {source}")]
    Config {
        /// The bucket.
        bucket: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// The store refused the credentials. Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or
    /// the flags) and that they may read and write the bucket.
    #[error(
        "the object store refused access to s3://{bucket} ({code}): wrong credentials, or no \
         permission on the bucket"
    )]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The store's error code (`SignatureDoesNotMatch`, `InvalidAccessKeyId`,
        /// `AccessDenied`, or the HTTP status).
        code: String,
        /// The store's answer.
        #[source]
        source: object_store::Error,
    },
    /// The bucket does not exist at this endpoint. Create it, or check the URL and
    /// AWS_ENDPOINT_URL.
    #[error("the bucket s3://{bucket} does not exist at {endpoint}")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
    },
    /// A request failed after the retries the configuration allows.
    #[error("{context}: {source}")]
    Store {
        /// What was being done.
        context: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The archive failed its checks, so nothing was taken from it (a restore wrote nothing).
    /// `auditlog verify s3://...` lists every problem.
    #[error("the archive {url} does not verify: {problem}")]
    ArchiveDamaged {
        /// The log's folder (or the bucket and prefix).
        url: String,
        /// What failed.
        problem: String,
    },
    /// The request cannot be carried out as given (a restore into a directory that is not
    /// empty, a log id that is not one); nothing was changed.
    #[error("{why}")]
    Refused {
        /// Why, and what to do instead.
        why: String,
    },
    /// A local file could not be written or read (bundles fetched for checking).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
