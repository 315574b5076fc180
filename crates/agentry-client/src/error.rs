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
    /// No answer: the registry could not be reached, TLS failed, or the connection broke.
    /// The message is one sentence a person can act on (`cannot reach 127.0.0.1:5999:
    /// connection refused — is a pod running there?`); the transport's own error chain is in
    /// `transport` (and in the debug log), not in the message.
    #[error("{message}")]
    Network {
        method: String,
        url: String,
        message: String,
        transport: Box<reqwest::Error>,
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

    /// A request that got no answer, described for a person: see [`describe_transport`].
    pub(crate) fn network(
        method: impl Into<String>,
        url: &reqwest::Url,
        e: reqwest::Error,
    ) -> Error {
        let message = describe_transport(url, &e);
        tracing::debug!(url = %crate::client::redact(url), error = %chain(&e), "{message}");
        Error::Network {
            method: method.into(),
            url: crate::client::redact(url),
            message,
            transport: Box::new(e),
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

/// `e` and its sources, `: `-separated (for the debug log).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// Every error in `e`'s source chain, including the ones `std::io::Error` wraps: its
/// `source()` skips the wrapped error itself, which is where rustls puts its own (inside an
/// `io::Error` of tokio-rustls, inside another of hyper-util's connector).
pub(crate) fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(e);
    while let Some(c) = cur {
        out.push(c);
        cur = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    out
}

/// One sentence for a request that got no answer from `url`: what failed, and what to do.
pub(crate) fn describe_transport(url: &reqwest::Url, e: &reqwest::Error) -> String {
    let host = match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.to_string(),
    };
    let causes = causes(e);
    if let Some(tls) = causes
        .iter()
        .find_map(|c| c.downcast_ref::<rustls::Error>())
    {
        return describe_tls(&host, url, tls);
    }
    let io_kind = causes
        .iter()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    use std::io::ErrorKind as K;
    if io_kind == Some(K::ConnectionRefused) {
        return format!("cannot reach {host}: connection refused — is a pod running there?");
    }
    if e.is_timeout() || io_kind == Some(K::TimedOut) {
        return format!(
            "cannot reach {host}: no answer in time — is the address right, and is a firewall in the way?"
        );
    }
    if e.is_dns() {
        let name = url.host_str().unwrap_or(&host);
        return format!("cannot resolve {name}: is the registry address right?");
    }
    if causes
        .iter()
        .filter_map(|c| c.downcast_ref::<hyper::Error>())
        .any(hyper::Error::is_parse)
    {
        let https = format!("https://{host}");
        return format!(
            "{host} did not answer in HTTP: is it serving HTTPS? (use {https}, with --ca-file for a private certificate)"
        );
    }
    let innermost = causes.last().map(|c| c.to_string()).unwrap_or_default();
    if e.is_connect() {
        return format!("cannot reach {host}: {innermost}");
    }
    format!("the connection to {host} failed: {innermost}")
}

/// One sentence for a failed TLS handshake with `host`.
fn describe_tls(host: &str, url: &reqwest::Url, e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let trust_hint = "pass the registry's CA, or the certificate itself, with --ca-file (or --insecure for a throw-away test registry)";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!(
                "the certificate of {host} is not signed by a CA this machine trusts: {trust_hint}"
            ),
            C::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                format!(
                    "the certificate of {host} is a CA certificate, accepted as a server's own only when --ca-file holds that very certificate"
                )
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!("the certificate of {host} has expired: the registry needs a new one")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => format!(
                "the certificate of {host} is not valid yet: check this machine's clock, or the certificate's dates"
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "the certificate of {host} is not made out for {}: connect by a name it lists, or give the registry a certificate for this name",
                url.host_str().unwrap_or(host)
            ),
            other => format!("the certificate of {host} was refused ({other:?}): {trust_hint}"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "{host} does not speak HTTPS: is it a plain-HTTP registry? (use http://{host} or --plain-http)"
        ),
        rustls::Error::AlertReceived(alert) => {
            format!("{host} refused the TLS handshake ({alert:?})")
        }
        other => format!("TLS with {host} failed: {other}"),
    }
}

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

    #[test]
    fn tls_failures_are_one_sentence_that_says_what_to_do() {
        use rustls::CertificateError as C;
        let url =
            reqwest::Url::parse("https://127.0.0.1:5443/v2/").unwrap_or_else(|e| panic!("{e}"));
        let host = "127.0.0.1:5443";
        let say = |e: rustls::Error| describe_tls(host, &url, &e);
        let ca = say(rustls::Error::InvalidCertificate(C::Other(
            rustls::OtherError(std::sync::Arc::new(webpki::Error::CaUsedAsEndEntity)),
        )));
        assert!(
            ca.contains("is a CA certificate") && ca.contains("--ca-file"),
            "{ca}"
        );
        let unknown = say(rustls::Error::InvalidCertificate(C::UnknownIssuer));
        assert!(
            unknown.contains("not signed by a CA this machine trusts"),
            "{unknown}"
        );
        assert!(say(rustls::Error::InvalidCertificate(C::Expired)).contains("has expired"));
        assert!(
            say(rustls::Error::InvalidCertificate(C::NotValidForName))
                .contains("not made out for 127.0.0.1")
        );
        let plain = say(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(plain.contains("does not speak HTTPS"), "{plain}");
        for s in [ca, unknown, plain] {
            assert!(!s.contains('\n'), "{s}");
        }
    }
}
