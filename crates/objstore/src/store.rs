//! A blocking client for one bucket and prefix: create-only puts, whole and ranged reads,
//! listings. object_store does the HTTP, SigV4 and retries with back-off; this module owns
//! the runtime it needs, so callers stay synchronous.

use crate::error::{Error, Result};
use crate::url::S3Url;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// How to reach the store. Every field left `None` comes from the AWS_* environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
/// `AWS_ALLOW_HTTP`, ...), as the AWS tools read it.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// The endpoint, e.g. `http://127.0.0.1:8333` for a local S3-compatible server. Default:
    /// AWS_ENDPOINT_URL, else AWS itself.
    pub endpoint: Option<String>,
    /// The region. Default: AWS_REGION, else `us-east-1`.
    pub region: Option<String>,
    /// The access key id. Default: AWS_ACCESS_KEY_ID.
    pub access_key_id: Option<String>,
    /// The secret key. Default: AWS_SECRET_ACCESS_KEY.
    pub secret_access_key: Option<String>,
    /// Allow plain HTTP. Default: AWS_ALLOW_HTTP, else no.
    pub allow_http: Option<bool>,
    /// Retries of transient failures (5xx, 429, connection errors) with exponential back-off.
    /// Default: [`default_retry`].
    pub retry: Option<RetryConfig>,
    /// Time limit of one request. Default: 60 s.
    pub request_timeout: Option<Duration>,
}

/// The retry policy used unless [`S3Options::retry`] says otherwise: up to 10 retries,
/// backing off from 100 ms to at most 15 s, for at most 3 minutes per request.
pub fn default_retry() -> RetryConfig {
    RetryConfig::default()
}

/// Retries of a create-only put after a transport failure, on top of object_store's own
/// retries of 5xx answers (it does not retry a conditional put that timed out).
const PUT_RETRIES: usize = 3;

/// What a create-only put found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object was created.
    Created,
    /// An object with exactly these bytes was already there (a rerun or a retried request).
    AlreadyThere,
}

/// One bucket and prefix of an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Store {
    runtime: Arc<tokio::runtime::Runtime>,
    store: Arc<dyn ObjectStore>,
    url: S3Url,
    endpoint: String,
    retry: RetryConfig,
}

impl S3Store {
    /// Connects to `url` and checks that the bucket exists and the credentials may list it,
    /// so that a wrong key or a missing bucket fails here, before anything is uploaded or
    /// removed.
    pub fn connect(url: &S3Url, options: &S3Options) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
        if let Some(e) = &options.endpoint {
            builder = builder.with_endpoint(e);
        }
        if let Some(r) = &options.region {
            builder = builder.with_region(r);
        }
        if let Some(k) = &options.access_key_id {
            builder = builder.with_access_key_id(k);
        }
        if let Some(k) = &options.secret_access_key {
            builder = builder.with_secret_access_key(k);
        }
        if let Some(h) = options.allow_http {
            builder = builder.with_allow_http(h);
        }
        let retry = options.retry.clone().unwrap_or_else(default_retry);
        let timeout = options.request_timeout.unwrap_or(Duration::from_secs(60));
        // As a config key, not `with_client_options`, which would replace the client
        // settings read from the environment (AWS_ALLOW_HTTP among them).
        builder = builder.with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            format!("{}ms", timeout.as_millis()),
        );
        let endpoint = options
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| "AWS S3".to_string());
        let store = builder
            .with_retry(retry.clone())
            .build()
            .map_err(|source| Error::Config {
                bucket: url.bucket.clone(),
                source,
            })?;
        let s = Self::with_store(url, Arc::new(store), endpoint, retry)?;
        s.preflight()?;
        Ok(s)
    }

    /// A client over any `ObjectStore` (tests use object_store's in-memory store), without
    /// the preflight check.
    pub fn with_store(
        url: &S3Url,
        store: Arc<dyn ObjectStore>,
        endpoint: String,
        retry: RetryConfig,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("auditlog-objstore")
            .build()
            .map_err(|source| Error::Io {
                context: "starting the object store client's runtime".into(),
                source,
            })?;
        Ok(S3Store {
            runtime: Arc::new(runtime),
            store,
            url: url.clone(),
            endpoint,
            retry,
        })
    }

    /// The bucket and prefix.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// The object-store path of `key` (relative to the prefix).
    fn path(&self, key: &str) -> Path {
        if self.url.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.url.prefix))
        }
    }

    /// The full URL of `key`, for messages.
    pub fn describe_key(&self, key: &str) -> String {
        format!("s3://{}/{}", self.url.bucket, self.path(key))
    }

    fn failed(&self, what: &str, key: &str, source: object_store::Error) -> Error {
        classify(&self.url.bucket, &self.endpoint, source).unwrap_or_else(|source| Error::Store {
            context: format!("{what} {}", self.describe_key(key)),
            source,
        })
    }

    /// Lists the bucket under the prefix once: the credentials must be accepted and the
    /// bucket must exist.
    fn preflight(&self) -> Result<()> {
        let prefix = (!self.url.prefix.is_empty()).then(|| Path::from(self.url.prefix.as_str()));
        self.runtime
            .block_on(self.store.list_with_delimiter(prefix.as_ref()))
            .map(|_| ())
            .map_err(|e| self.failed("listing", "", e))
    }

    /// Stores `bytes` under `key` only if no object is there (`If-None-Match: *`). An object
    /// already there with the same bytes is success ([`PutOutcome::AlreadyThere`]); with other
    /// bytes it is an error of kind `AlreadyExists`. A put whose request timed out or was cut
    /// off is tried again (object_store retries only requests it knows to be idempotent);
    /// create-only makes the retry safe.
    pub fn put_create(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome> {
        let path = self.path(key);
        let payload = PutPayload::from(bytes.to_vec());
        let mut backoff = self.retry.backoff.init_backoff;
        let mut attempt = 0;
        loop {
            let options = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            let result =
                self.runtime
                    .block_on(self.store.put_opts(&path, payload.clone(), options));
            match result {
                Ok(_) => return Ok(PutOutcome::Created),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    return match self.get(key)? {
                        Some(existing) if existing == bytes => Ok(PutOutcome::AlreadyThere),
                        _ => Err(Error::Store {
                            context: format!("writing {}", self.describe_key(key)),
                            source: object_store::Error::AlreadyExists {
                                path: path.to_string(),
                                source: "an object with different bytes is already there".into(),
                            },
                        }),
                    };
                }
                Err(e) => {
                    let e = match classify(&self.url.bucket, &self.endpoint, e) {
                        Ok(clear) => return Err(clear),
                        Err(e) => e,
                    };
                    // Generic is what a timed-out or cut-off request becomes; other
                    // variants (not found, precondition, not supported) are final.
                    let transient = matches!(e, object_store::Error::Generic { .. });
                    if !transient || attempt >= PUT_RETRIES.min(self.retry.max_retries) {
                        return Err(Error::Store {
                            context: format!("writing {}", self.describe_key(key)),
                            source: e,
                        });
                    }
                    attempt += 1;
                    std::thread::sleep(backoff);
                    backoff = backoff
                        .mul_f64(self.retry.backoff.base)
                        .min(self.retry.backoff.max_backoff);
                }
            }
        }
    }

    /// Replaces the object `key` (used only for the archive head, the one mutable object).
    pub fn put_overwrite(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key);
        self.runtime
            .block_on(self.store.put(&path, PutPayload::from(bytes.to_vec())))
            .map(|_| ())
            .map_err(|e| self.failed("writing", key, e))
    }

    /// The whole object `key`, or `None` if there is none.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key);
        let result = self.runtime.block_on(async {
            let got = self.store.get(&path).await?;
            got.bytes().await
        });
        match result {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("reading", key, e)),
        }
    }

    /// Deletes object `key` (tests and tools; archiving never deletes).
    pub fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key);
        self.runtime
            .block_on(self.store.delete(&path))
            .map_err(|e| self.failed("deleting", key, e))
    }

    /// Whether object `key` exists (one HEAD request).
    pub fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        match self.runtime.block_on(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed("looking for", key, e)),
        }
    }

    /// The bytes `range` of object `key` (one ranged GET).
    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>> {
        let path = self.path(key);
        self.runtime
            .block_on(self.store.get_range(&path, range))
            .map(|b| b.to_vec())
            .map_err(|e| self.failed("reading", key, e))
    }

    /// Fetches `keys` with up to `parallel` requests in flight and hands each object (whole,
    /// or `None` if missing) to `f` in key order, as soon as it and those before it are in:
    /// memory holds at most `parallel` objects.
    pub fn get_each(
        &self,
        keys: &[String],
        parallel: usize,
        f: &mut dyn FnMut(usize, Option<Vec<u8>>) -> Result<()>,
    ) -> Result<()> {
        use futures_util::StreamExt;
        let fetches = keys.iter().map(|key| {
            let store = Arc::clone(&self.store);
            let path = self.path(key);
            async move {
                match store.get(&path).await {
                    Ok(got) => got.bytes().await.map(|b| Some(b.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        });
        self.runtime.block_on(async {
            let mut stream = futures_util::stream::iter(fetches).buffered(parallel.max(1));
            let mut i = 0;
            while let Some(got) = stream.next().await {
                let got = got.map_err(|e| self.failed("reading", &keys[i], e))?;
                f(i, got)?;
                i += 1;
            }
            Ok(())
        })
    }

    /// Several ranges of object `key`, fetched concurrently.
    pub fn get_ranges(&self, key: &str, ranges: &[Range<u64>]) -> Result<Vec<Vec<u8>>> {
        let path = self.path(key);
        self.runtime
            .block_on(self.store.get_ranges(&path, ranges))
            .map(|parts| parts.into_iter().map(|b| b.to_vec()).collect())
            .map_err(|e| self.failed("reading", key, e))
    }

    /// Every object under `key_prefix` (a folder, relative to the prefix): its key relative to
    /// the prefix, and its size.
    pub fn list(&self, key_prefix: &str) -> Result<Vec<(String, u64)>> {
        let path = self.path(key_prefix);
        let base = self.path("").to_string();
        let listed = self.runtime.block_on(async {
            use futures_util::TryStreamExt;
            self.store.list(Some(&path)).try_collect::<Vec<_>>().await
        });
        let metas = listed.map_err(|e| self.failed("listing", key_prefix, e))?;
        let strip = |p: &str| -> String {
            if base.is_empty() {
                p.to_string()
            } else {
                p.strip_prefix(&base)
                    .map(|s| s.trim_start_matches('/').to_string())
                    .unwrap_or_else(|| p.to_string())
            }
        };
        let mut out: Vec<(String, u64)> = metas
            .into_iter()
            .map(|m| (strip(m.location.as_ref()), m.size))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The "folders" directly under `key_prefix` (relative to the prefix; "" for the prefix
    /// itself), by name.
    pub fn list_folders(&self, key_prefix: &str) -> Result<Vec<String>> {
        let path = if key_prefix.is_empty() && self.url.prefix.is_empty() {
            None
        } else if key_prefix.is_empty() {
            Some(Path::from(self.url.prefix.as_str()))
        } else {
            Some(self.path(key_prefix))
        };
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(path.as_ref()))
            .map_err(|e| self.failed("listing", key_prefix, e))?;
        let mut out: Vec<String> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        out.sort();
        Ok(out)
    }
}

/// Turns the store's answer to a missing bucket or refused credentials into a clear error;
/// anything else is handed back.
fn classify(
    bucket: &str,
    endpoint: &str,
    e: object_store::Error,
) -> Result<Error, object_store::Error> {
    let text = error_chain(&e);
    if text.contains("NoSuchBucket") {
        return Ok(Error::NoSuchBucket {
            bucket: bucket.to_string(),
            endpoint: endpoint.to_string(),
        });
    }
    let denied = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || [
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "403 Forbidden",
    ]
    .iter()
    .any(|w| text.contains(w));
    if denied {
        let code = text
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map_or_else(|| "403 Forbidden".to_string(), |(code, _)| code.to_string());
        return Ok(Error::AccessDenied {
            bucket: bucket.to_string(),
            code,
            source: e,
        });
    }
    Err(e)
}

/// The error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
