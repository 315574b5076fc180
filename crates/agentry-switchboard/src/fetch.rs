//! The one fetcher every adapter reads through. Everything a remote sends is hostile: each
//! request has a deadline, an answer is read as a stream and refused past the source's byte
//! limit, redirects are followed only to the configured hosts, and names that resolve to
//! loopback, private or link-local addresses (and such IP literals) are refused unless the
//! source sets `allow_private`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use url::Url;

use crate::SourceError;
use crate::config::SourceConfig;

/// Most redirects followed for one request (each to a configured host).
const MAX_REDIRECTS: usize = 5;

/// Installs ring as the process's rustls provider unless one is installed (reqwest is built
/// without a provider of its own).
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed one first, which is equally fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, broadcast, documentation
/// and multicast addresses: nothing a public registry lives at.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// DNS through the system resolver, keeping only public addresses unless allowed.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback or link-local addresses \
                     (allow_private is off for this source)"
                )
                .into());
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// An answer read in full (within the limit).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The URL that answered (after redirects).
    pub url: Url,
}

/// One source's HTTP client.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    token: Option<String>,
    allow_private: bool,
}

fn origin(u: &Url) -> (String, String, Option<u16>) {
    (
        u.scheme().to_owned(),
        u.host_str().unwrap_or_default().to_ascii_lowercase(),
        u.port_or_known_default(),
    )
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

impl Fetcher {
    /// A client for `cfg`, following redirects only among its configured base URLs' origins.
    pub fn new(cfg: &SourceConfig) -> Result<Fetcher, SourceError> {
        ensure_crypto_provider();
        let mut origins = Vec::new();
        for u in cfg.base_urls() {
            let parsed =
                Url::parse(&u).map_err(|e| SourceError::Config(format!("url {u:?}: {e}")))?;
            origins.push(origin(&parsed));
        }
        let allowed = Arc::new(origins);
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            if allowed.contains(&origin(attempt.url())) {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("redirect to {to} refused: off the configured host"))
            }
        });
        let token = match &cfg.token_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                SourceError::Config(format!("token_env: environment variable {var} is not set"))
            })?),
            None => None,
        };
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let client = reqwest::Client::builder()
            .redirect(policy)
            .timeout(timeout)
            .connect_timeout(timeout)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: cfg.allow_private,
            }))
            .user_agent(concat!("agentry-switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Config(chain(&e)))?;
        Ok(Fetcher {
            client,
            timeout,
            max_body: cfg.max_body_bytes,
            token,
            allow_private: cfg.allow_private,
        })
    }

    /// GET `url` (with `If-None-Match` when `etag` is given); any status is returned.
    pub async fn get(&self, url: Url, etag: Option<&str>) -> Result<Fetched, SourceError> {
        if !self.allow_private
            && let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = url.host()
        {
            let ip: Option<IpAddr> = match url.host() {
                Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
                Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
                _ => None,
            };
            if let Some(ip) = ip.filter(|ip| is_private(*ip)) {
                return Err(SourceError::Private(ip.to_string()));
            }
        }
        let mut req = self
            .client
            .get(url.clone())
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(e) = etag {
            req = req.header("if-none-match", e);
        }
        let resp = req.send().await.map_err(|e| self.error(e))?;
        if let Some(n) = resp.content_length()
            && n > self.max_body
        {
            return Err(SourceError::TooLarge(self.max_body));
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let final_url = resp.url().clone();
        let mut resp = resp;
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.error(e))? {
            if (buf.len() + chunk.len()) as u64 > self.max_body {
                return Err(SourceError::TooLarge(self.max_body));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            body: buf.freeze(),
            url: final_url,
        })
    }

    /// GET `url` and parse a JSON answer; a non-2xx status is an error, 404 is `Ok(None)`.
    pub async fn get_json(&self, url: Url) -> Result<Option<serde_json::Value>, SourceError> {
        let f = self.get(url.clone(), None).await?;
        if f.status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&f.status) {
            return Err(SourceError::Status {
                status: f.status,
                url: url.to_string(),
            });
        }
        parse_json(&f.body).map(Some)
    }

    fn error(&self, e: reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout(self.timeout.as_millis() as u64)
        } else if e.is_redirect() {
            SourceError::Redirect(chain(&e))
        } else {
            let msg = chain(&e);
            if msg.contains("allow_private is off") {
                SourceError::Private(msg)
            } else {
                SourceError::Http(msg)
            }
        }
    }
}

/// Parse an answer's bytes as JSON, (serde_json's nesting limit of 128 applies; the size was bounded by the fetch).
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, SourceError> {
    serde_json::from_slice(bytes).map_err(|e| SourceError::Garbage(format!("not JSON: {e}")))
}
