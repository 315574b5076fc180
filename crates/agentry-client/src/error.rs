//! Client errors, typed so callers can act on them: the registry's own OCI error code when it
//! sent one, and a coarse [`ErrorKind`] that maps onto the CLI's exit codes.

use std::path::PathBuf;

use agentry_types::Digest;
use serde::Deserialize;

/// One entry of the spec's JSON error body `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct RegistryError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryError>,
}

/// Parse an error body; anything that is not the spec's JSON yields no entries.
pub(crate) fn parse_error_body(body: &[u8]) -> Vec<RegistryError> {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.errors)
        .unwrap_or_default()
}

/// What went wrong, coarsely: enough to choose an exit code or a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The repository, manifest, tag, blob or upload does not exist.
    NotFound,
    /// Authentication is required, failed, or access was denied.
    Auth,
    /// The registry answered 5xx.
    Server,
    /// The registry could not be reached or the connection broke.
    Network,
    /// The request or its input was refused as invalid (4xx other than the above).
    Invalid,
    /// Content did not match its digest or size, or the registry answered something the spec
    /// does not allow.
    Integrity,
    /// A local file could not be read or written.
    Io,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry answered with an error status. `errors` holds its OCI error codes, when it
    /// sent the spec's JSON body.
    #[error("{method} {url}: {status}{}", describe(.errors))]
    Registry {
        method: String,
        url: String,
        status: u16,
        errors: Vec<RegistryError>,
    },
    /// 401 after presenting the credentials we have (or with none to present).
    #[error("{url}: authentication required{}{}", if *.had_credentials { " (credentials refused)" } else { " (no credentials: run `agentry login`)" }, describe(.errors))]
    Unauthorized {
        url: String,
        had_credentials: bool,
        errors: Vec<RegistryError>,
    },
    #[error("{method} {url}: {source}")]
    Network {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("content of {what} has digest {actual}, expected {expected}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what}: {actual} bytes, expected {expected}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },
    /// The registry answered something the spec does not allow (missing `Location`, bad JSON…).
    #[error("{url}: unexpected response: {reason}")]
    Protocol { url: String, reason: String },
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad input from the caller (registry address, reference, artifact folder, hostile title).
    #[error("{0}")]
    Invalid(String),
}

fn describe(errors: &[RegistryError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            if e.message.is_empty() {
                e.code.clone()
            } else {
                format!("{}: {}", e.code, e.message)
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn protocol(url: impl std::fmt::Display, reason: impl Into<String>) -> Error {
        Error::Protocol {
            url: url.to_string(),
            reason: reason.into(),
        }
    }

    /// The first OCI error code the registry sent (`MANIFEST_UNKNOWN`, `DIGEST_INVALID`…).
    pub fn oci_code(&self) -> Option<&str> {
        match self {
            Error::Registry { errors, .. } | Error::Unauthorized { errors, .. } => {
                errors.first().map(|e| e.code.as_str())
            }
            _ => None,
        }
    }

    /// The HTTP status, when the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Registry { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Registry { status, .. } => match *status {
                404 => ErrorKind::NotFound,
                401 | 403 => ErrorKind::Auth,
                s if s >= 500 => ErrorKind::Server,
                _ => ErrorKind::Invalid,
            },
            Error::Unauthorized { .. } => ErrorKind::Auth,
            Error::Network { .. } => ErrorKind::Network,
            Error::DigestMismatch { .. }
            | Error::SizeMismatch { .. }
            | Error::TooLarge { .. }
            | Error::Protocol { .. } => ErrorKind::Integrity,
            Error::Io { .. } => ErrorKind::Io,
            Error::Invalid(_) => ErrorKind::Invalid,
        }
    }

    /// Worth retrying the same request: the connection broke or the server failed.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind(), ErrorKind::Network | ErrorKind::Server)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_codes_come_from_the_json_body() {
        let errors = parse_error_body(
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#,
        );
        let e = Error::Registry {
            method: "GET".into(),
            url: "http://r/v2/a/manifests/x".into(),
            status: 404,
            errors,
        };
        assert_eq!(e.oci_code(), Some("MANIFEST_UNKNOWN"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("MANIFEST_UNKNOWN: manifest unknown"));
        assert!(parse_error_body(b"<html>oops</html>").is_empty());
        assert!(parse_error_body(b"").is_empty());
    }
}
