//! Where an archive lives: a local directory or an `s3://BUCKET/PREFIX` URL, told apart in one
//! place so that a URL is never taken for a local path.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// An `s3://BUCKET/PREFIX` URL: the bucket and the key prefix (no leading or trailing `/`;
/// empty for the bucket's root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix under which each log archives as `PREFIX/<log id>/`.
    pub prefix: String,
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// An archive location given on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// S3 or an S3-compatible store.
    S3(S3Url),
}

/// Parses `text`: `s3://BUCKET[/PREFIX]` is S3; any other `scheme://` is refused
/// ([`Error::UnsupportedScheme`]); everything else is a local path.
pub fn parse_location(text: &str) -> Result<Location> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Ok(Location::Local(PathBuf::from(text)));
    };
    let is_scheme = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        // `./a://b` and the like: a path that happens to contain "://".
        return Ok(Location::Local(PathBuf::from(text)));
    }
    if !scheme.eq_ignore_ascii_case("s3") {
        return Err(Error::UnsupportedScheme {
            url: text.to_string(),
            scheme: scheme.to_string(),
        });
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
    if !bucket_ok {
        return Err(Error::BadUrl {
            url: text.to_string(),
            why: "the bucket name must be 3 to 63 lower-case letters, digits, '-' or '.'".into(),
        });
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..")
        || prefix.contains("//")
        || prefix.contains(['?', '#'])
    {
        return Err(Error::BadUrl {
            url: text.to_string(),
            why: "the prefix must be '/'-separated names without '.', '..', '?' or '#'".into(),
        });
    }
    Ok(Location::S3(S3Url {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse_and_other_schemes_are_refused() {
        assert_eq!(
            parse_location("s3://audit-logs/fleet/eu").unwrap(),
            Location::S3(S3Url {
                bucket: "audit-logs".into(),
                prefix: "fleet/eu".into()
            })
        );
        assert_eq!(
            parse_location("s3://audit-logs").unwrap(),
            Location::S3(S3Url {
                bucket: "audit-logs".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            parse_location("S3://audit-logs/p/")
                .unwrap()
                .to_string_for_test(),
            "s3://audit-logs/p"
        );
        for bad in [
            "gs://b/p",
            "https://example.com/b",
            "file:///tmp/x",
            "s4://bb/p",
        ] {
            assert!(
                matches!(parse_location(bad), Err(Error::UnsupportedScheme { .. })),
                "{bad}"
            );
        }
        for bad in [
            "s3://",
            "s3://B/p",
            "s3://ab",
            "s3://bucket/../x",
            "s3://bucket/a//b",
        ] {
            assert!(
                matches!(parse_location(bad), Err(Error::BadUrl { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            parse_location("archive/dir").unwrap(),
            Location::Local("archive/dir".into())
        );
        assert_eq!(
            parse_location("./odd://name").unwrap(),
            Location::Local("./odd://name".into())
        );
    }

    impl Location {
        fn to_string_for_test(&self) -> String {
            match self {
                Location::Local(p) => p.display().to_string(),
                Location::S3(u) => u.to_string(),
            }
        }
    }
}
