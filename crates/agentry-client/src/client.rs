//! The client core: registry address, TLS, and requests that answer authentication challenges.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentry_types::{Digest, RepoName};
use reqwest::header::{AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode, Url};

use crate::auth::{Challenge, Credentials, TokenResponse, registry_key};
use crate::error::{Error, Result, parse_error_body};

/// How to reach a registry and how to move data.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Force plain HTTP (loopback hosts use it by default).
    pub plain_http: bool,
    /// HTTPS without certificate verification (self-signed test registries).
    pub insecure: bool,
    /// Extra trusted CA certificates (PEM bundle), e.g. a private registry's CA.
    pub ca_file: Option<PathBuf>,
    /// Credentials presented when the registry challenges.
    pub credentials: Option<Credentials>,
    /// Blobs up to this size are uploaded in one `PUT`; larger ones in chunks.
    pub monolithic_max: u64,
    /// Size of one `PATCH` chunk (raised to the registry's `OCI-Chunk-Min-Length` if larger).
    pub chunk_size: u64,
    /// Attempts per chunk or download before giving up on transient failures.
    pub retries: u32,
    /// Connection timeout; transfers themselves have no overall timeout (GB blobs).
    pub connect_timeout: Duration,
    /// Largest manifest accepted from a registry (the spec suggests 4 MiB).
    pub max_manifest_size: u64,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            plain_http: false,
            insecure: false,
            ca_file: None,
            credentials: None,
            monolithic_max: 16 * 1024 * 1024,
            chunk_size: 16 * 1024 * 1024,
            retries: 5,
            connect_timeout: Duration::from_secs(10),
            max_manifest_size: 4 * 1024 * 1024,
        }
    }
}

/// What a request needs access to, as a token-auth scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Pull(String),
    Push(String),
    Delete(String),
    Catalog,
    None,
}

impl Scope {
    fn as_token_scope(&self) -> Option<String> {
        match self {
            Scope::Pull(r) => Some(format!("repository:{r}:pull")),
            Scope::Push(r) => Some(format!("repository:{r}:pull,push")),
            Scope::Delete(r) => Some(format!("repository:{r}:delete")),
            Scope::Catalog => Some("registry:catalog:*".to_owned()),
            Scope::None => None,
        }
    }
}

#[derive(Debug, Default)]
struct AuthState {
    /// The registry asked for Basic: send credentials up front from now on.
    basic: bool,
    /// Bearer tokens by scope.
    tokens: HashMap<String, String>,
}

/// A client for one registry. Cheap to clone; clones share connections, tokens and hints.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    key: String,
    pub(crate) opts: Arc<ClientOptions>,
    auth: Arc<Mutex<AuthState>>,
    /// Digest → a repository of this registry known to hold the blob, for cross-repo mounts.
    mount_hints: Arc<Mutex<HashMap<Digest, RepoName>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// Installs ring as the process's rustls provider unless one is installed (the workspace builds
/// reqwest without a provider; see STACK.md "TLS providers").
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed one first, which is equally fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Is `host` (without port) a loopback name or address?
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Turn what a user types (`host:port`, `http://host:port`, `https://host/`) into the base
/// URL. Without a scheme, loopback hosts get plain HTTP and everything else HTTPS, unless
/// `plain_http` or `insecure` say otherwise.
pub fn registry_base_url(registry: &str, plain_http: bool, insecure: bool) -> Result<Url> {
    let r = registry.trim().trim_end_matches('/');
    if r.is_empty() {
        return Err(Error::Invalid("registry address is empty".into()));
    }
    let with_scheme = if r.starts_with("http://") || r.starts_with("https://") {
        r.to_owned()
    } else {
        let host = r.split('/').next().unwrap_or(r);
        let host_only = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(host)
                .to_owned()
        };
        let plain = plain_http || (!insecure && is_loopback(&host_only));
        format!("{}://{r}", if plain { "http" } else { "https" })
    };
    let url = Url::parse(&format!("{with_scheme}/"))
        .map_err(|e| Error::Invalid(format!("registry address {registry:?}: {e}")))?;
    if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(Error::Invalid(format!(
            "registry address {registry:?} must be host[:port] or http(s)://host[:port]"
        )));
    }
    Ok(url)
}

impl Client {
    /// A client for `registry` (`host:port` or a URL).
    pub fn new(registry: &str, opts: ClientOptions) -> Result<Client> {
        ensure_crypto_provider();
        let base = registry_base_url(registry, opts.plain_http, opts.insecure)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("agentry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout)
            .danger_accept_invalid_certs(opts.insecure);
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|e| Error::io("reading", ca, e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::Invalid(format!("CA certificates in {}: {e}", ca.display())))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Invalid(format!("building the HTTP client: {e}")))?;
        Ok(Client {
            http,
            key: registry_key(registry),
            base,
            opts: Arc::new(opts),
            auth: Arc::default(),
            mount_hints: Arc::default(),
        })
    }

    /// The registry's base URL (`http://127.0.0.1:5000/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The key credentials are stored under (`host:port`).
    pub fn registry_key(&self) -> &str {
        &self.key
    }

    /// `GET /v2/`: is this an OCI registry, and do our credentials work?
    pub async fn ping(&self) -> Result<()> {
        let url = self.url("v2/")?;
        let resp = self
            .send(&Scope::None, || Ok(self.http.get(url.clone())))
            .await?;
        check_with(self, resp, "GET").await.map(drop)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::Invalid(format!("bad URL path {path:?}: {e}")))
    }

    /// Resolve a `Location` (absolute or relative to the registry) from a response.
    pub(crate) fn location(&self, headers: &HeaderMap, url: &Url) -> Result<Url> {
        let loc = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::protocol(url, "no Location header"))?;
        url.join(loc)
            .map_err(|e| Error::protocol(url, format!("bad Location {loc:?}: {e}")))
    }

    pub(crate) fn remember_blob(&self, digest: &Digest, repo: &RepoName) {
        if let Ok(mut h) = self.mount_hints.lock() {
            h.insert(digest.clone(), repo.clone());
        }
    }

    pub(crate) fn mount_source(&self, digest: &Digest, repo: &RepoName) -> Option<RepoName> {
        self.mount_hints
            .lock()
            .ok()
            .and_then(|h| h.get(digest).cloned())
            .filter(|r| r != repo)
    }

    /// Tell the client that `repo` holds `digest`, so pushing the same blob to another
    /// repository of this registry tries a cross-repository mount first.
    pub fn add_mount_hint(&self, digest: &Digest, repo: &RepoName) {
        self.remember_blob(digest, repo);
    }

    fn authorize(&self, req: RequestBuilder, scope: &Scope) -> RequestBuilder {
        let Ok(state) = self.auth.lock() else {
            return req;
        };
        if let Some(token) = scope
            .as_token_scope()
            .and_then(|s| state.tokens.get(&s))
            .or_else(|| state.tokens.get(""))
        {
            return req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        match (&self.opts.credentials, state.basic) {
            (Some(c), true) => req.header(AUTHORIZATION, c.basic_header()),
            _ => req,
        }
    }

    /// Send a request built by `make`, answering one authentication challenge. `make` is
    /// called again for the retry, so streaming bodies are rebuilt rather than replayed.
    pub(crate) async fn send<F>(&self, scope: &Scope, make: F) -> Result<Response>
    where
        F: Fn() -> Result<RequestBuilder>,
    {
        let mut answered = false;
        loop {
            let req = self
                .authorize(make()?, scope)
                .build()
                .map_err(|e| Error::Invalid(format!("building a request: {e}")))?;
            let method = req.method().to_string();
            let url = req.url().clone();
            tracing::debug!(%method, %url, "request");
            let resp = self
                .http
                .execute(req)
                .await
                .map_err(|source| Error::Network {
                    method: method.clone(),
                    url: redact(&url),
                    source,
                })?;
            tracing::debug!(%method, %url, status = resp.status().as_u16(), "response");
            if resp.status() != StatusCode::UNAUTHORIZED || answered {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse);
            let Some(challenge) = challenge else {
                return Ok(resp);
            };
            match challenge.scheme.as_str() {
                "basic" if self.opts.credentials.is_some() => {
                    if let Ok(mut s) = self.auth.lock() {
                        if s.basic {
                            // Already sent and refused.
                            return Ok(resp);
                        }
                        s.basic = true;
                    }
                }
                "bearer" => {
                    let token = self.fetch_token(&challenge, scope).await?;
                    if let Ok(mut s) = self.auth.lock() {
                        s.tokens
                            .insert(scope.as_token_scope().unwrap_or_default(), token);
                    }
                }
                _ => return Ok(resp),
            }
            answered = true;
        }
    }

    /// The docker token flow: `GET realm?service=…&scope=…`, with Basic credentials if we
    /// have them (anonymous otherwise).
    async fn fetch_token(&self, challenge: &Challenge, scope: &Scope) -> Result<String> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| Error::protocol(&self.base, "Bearer challenge without realm"))?;
        let mut url = Url::parse(realm)
            .map_err(|e| Error::protocol(&self.base, format!("bad token realm {realm:?}: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = challenge.param("service") {
                q.append_pair("service", s);
            }
            let wanted = challenge
                .param("scope")
                .map(str::to_owned)
                .or_else(|| scope.as_token_scope());
            if let Some(s) = wanted {
                q.append_pair("scope", &s);
            }
        }
        let mut req = self.http.get(url.clone());
        if let Some(c) = &self.opts.credentials {
            req = req.header(AUTHORIZATION, c.basic_header());
        }
        let resp = req.send().await.map_err(|source| Error::Network {
            method: "GET".into(),
            url: redact(&url),
            source,
        })?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            let errors = parse_error_body(&resp.bytes().await.unwrap_or_default());
            return Err(Error::Unauthorized {
                url: redact(&url),
                had_credentials: self.opts.credentials.is_some(),
                errors,
            });
        }
        let resp = check(resp, "GET").await?;
        let body = read_limited(resp, 1024 * 1024, "token response").await?;
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(&url, format!("token response: {e}")))?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::protocol(&url, "token response has no token"))
    }

    pub(crate) fn had_credentials(&self) -> bool {
        self.opts.credentials.is_some()
    }
}

/// Pause before retry number `attempt` (1-based): 100 ms, 200 ms, 400 ms… capped at 3.2 s.
pub(crate) async fn backoff(attempt: u32) {
    let ms = 100u64 << attempt.saturating_sub(1).min(5);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A URL for messages: without query (upload `_state` tokens can be long and private).
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// Turn an error status into a typed error; success passes through.
pub(crate) async fn check(resp: Response, method: &str) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let url = redact(resp.url());
    let body = read_limited(resp, 64 * 1024, "error body")
        .await
        .unwrap_or_default();
    let errors = parse_error_body(&body);
    if status == StatusCode::UNAUTHORIZED {
        return Err(Error::Unauthorized {
            url,
            had_credentials: false,
            errors,
        });
    }
    Err(Error::Registry {
        method: method.to_owned(),
        url,
        status: status.as_u16(),
        errors,
    })
}

/// Like [`check`], but records whether credentials were presented on a 401.
pub(crate) async fn check_with(client: &Client, resp: Response, method: &str) -> Result<Response> {
    match check(resp, method).await {
        Err(Error::Unauthorized { url, errors, .. }) => Err(Error::Unauthorized {
            url,
            had_credentials: client.had_credentials(),
            errors,
        }),
        other => other,
    }
}

/// Read a whole (small) body, refusing more than `limit` bytes.
pub(crate) async fn read_limited(mut resp: Response, limit: u64, what: &str) -> Result<Vec<u8>> {
    if let Some(len) = resp.content_length()
        && len > limit
    {
        return Err(Error::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    let url = redact(resp.url());
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|source| Error::Network {
        method: "GET".into(),
        url: url.clone(),
        source,
    })? {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: what.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A header value as a string, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_gets_plain_http_and_the_rest_https() -> Result<()> {
        assert_eq!(
            registry_base_url("127.0.0.1:5000", false, false)?.as_str(),
            "http://127.0.0.1:5000/"
        );
        assert_eq!(
            registry_base_url("localhost:5000", false, false)?.as_str(),
            "http://localhost:5000/"
        );
        assert_eq!(
            registry_base_url("[::1]:5000", false, false)?.as_str(),
            "http://[::1]:5000/"
        );
        assert_eq!(
            registry_base_url("reg.example.com", false, false)?.as_str(),
            "https://reg.example.com/"
        );
        assert_eq!(
            registry_base_url("reg.example.com:8080", true, false)?.as_str(),
            "http://reg.example.com:8080/"
        );
        assert_eq!(
            registry_base_url("127.0.0.1:5000", false, true)?.as_str(),
            "https://127.0.0.1:5000/"
        );
        assert_eq!(
            registry_base_url("http://reg.example.com/", false, true)?.as_str(),
            "http://reg.example.com/"
        );
        assert!(registry_base_url("", false, false).is_err());
        assert!(registry_base_url("reg.example.com/some/path", false, false).is_err());
        Ok(())
    }
}
