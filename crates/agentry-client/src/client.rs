//! The client core: registry address, TLS, and requests that answer authentication challenges.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
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

/// Where a registry is, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// The scheme is settled: given in the address, forced by `plain_http` or `insecure`, or
    /// HTTPS for a host that is not loopback.
    Fixed(Url),
    /// A loopback host named without a scheme: HTTPS first, plain HTTP when HTTPS fails
    /// (as docker does for localhost). Settled by the first request, once per process.
    Loopback { https: Url, http: Url },
}

impl Endpoint {
    /// The URL tried first.
    fn first(&self) -> &Url {
        match self {
            Endpoint::Fixed(u) | Endpoint::Loopback { https: u, .. } => u,
        }
    }
}

/// The scheme each loopback registry answered with, by `host:port`: probed once per process,
/// so a command's later clients (and a test's many) pay no second handshake.
static LOOPBACK_SCHEMES: LazyLock<Mutex<HashMap<String, Url>>> = LazyLock::new(Mutex::default);

/// A client for one registry. Cheap to clone; clones share connections, tokens and hints.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    endpoint: Endpoint,
    /// The base URL in use, once the scheme is settled.
    base: Arc<tokio::sync::OnceCell<Url>>,
    key: String,
    pub(crate) opts: Arc<ClientOptions>,
    auth: Arc<Mutex<AuthState>>,
    /// Digest → a repository of this registry known to hold the blob, for cross-repo mounts.
    mount_hints: Arc<Mutex<HashMap<Digest, RepoName>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base_url().as_str())
            .finish()
    }
}

/// Installs ring as the process's rustls provider unless one is installed. reqwest is built
/// without a provider of its own (its default, aws-lc-rs, would be a second one next to the
/// ring that the server and the other crates use, and with two compiled in rustls cannot
/// pick a default).
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

/// Turn what a user types (`host:port`, `http://host:port`, `https://host/`) into where the
/// registry is. Without a scheme: plain HTTP with `plain_http`, HTTPS with `insecure` or for a
/// host that is not loopback, and for a loopback host HTTPS first with plain HTTP as fallback.
fn endpoint(registry: &str, plain_http: bool, insecure: bool) -> Result<Endpoint> {
    let r = registry.trim().trim_end_matches('/');
    if r.is_empty() {
        return Err(Error::Invalid("registry address is empty".into()));
    }
    let parse = |with_scheme: String| -> Result<Url> {
        let url = Url::parse(&format!("{with_scheme}/"))
            .map_err(|e| Error::Invalid(format!("registry address {registry:?}: {e}")))?;
        if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
            return Err(Error::Invalid(format!(
                "registry address {registry:?} must be host[:port] or http(s)://host[:port]"
            )));
        }
        Ok(url)
    };
    if r.starts_with("http://") || r.starts_with("https://") {
        return parse(r.to_owned()).map(Endpoint::Fixed);
    }
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
    if plain_http {
        return parse(format!("http://{r}")).map(Endpoint::Fixed);
    }
    let https = parse(format!("https://{r}"))?;
    if insecure || !is_loopback(&host_only) {
        return Ok(Endpoint::Fixed(https));
    }
    Ok(Endpoint::Loopback {
        https,
        http: parse(format!("http://{r}"))?,
    })
}

/// Did the request fail before any TLS or HTTP was spoken (nothing listening, no route, no
/// such name)? Then another scheme on the same port cannot do better.
fn unreachable(e: &Error) -> bool {
    let Error::Network { transport, .. } = e else {
        return false;
    };
    let refused = std::iter::successors(
        Some(transport.as_ref() as &(dyn std::error::Error + 'static)),
        |c| c.source(),
    )
    .filter_map(|c| c.downcast_ref::<std::io::Error>())
    .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
    refused || transport.is_timeout() || transport.is_dns()
}

impl Client {
    /// A client for `registry` (`host:port` or a URL).
    pub fn new(registry: &str, opts: ClientOptions) -> Result<Client> {
        ensure_crypto_provider();
        let endpoint = endpoint(registry, opts.plain_http, opts.insecure)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("agentry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout);
        match &opts.ca_file {
            _ if opts.insecure => builder = builder.tls_danger_accept_invalid_certs(true),
            Some(ca) => {
                let certs = crate::tls::read_certificates(ca)?;
                builder = builder.tls_backend_preconfigured(crate::tls::client_config(certs)?);
            }
            None => {}
        }
        let http = builder
            .build()
            .map_err(|e| Error::Invalid(format!("building the HTTP client: {e}")))?;
        let settled = match &endpoint {
            Endpoint::Fixed(url) => Some(url.clone()),
            Endpoint::Loopback { https, .. } => LOOPBACK_SCHEMES
                .lock()
                .ok()
                .and_then(|m| m.get(&authority(https)).cloned()),
        };
        Ok(Client {
            http,
            key: registry_key(registry),
            endpoint,
            base: Arc::new(tokio::sync::OnceCell::new_with(settled)),
            opts: Arc::new(opts),
            auth: Arc::default(),
            mount_hints: Arc::default(),
        })
    }

    /// The registry's base URL (`http://127.0.0.1:5000/`). For a loopback address named
    /// without a scheme this is the HTTPS one until the first request settles the scheme.
    pub fn base_url(&self) -> &Url {
        self.base.get().unwrap_or_else(|| self.endpoint.first())
    }

    /// The base URL, settling the scheme of a loopback registry on first use.
    async fn base(&self) -> Result<&Url> {
        self.base
            .get_or_try_init(|| async {
                match &self.endpoint {
                    Endpoint::Fixed(url) => Ok(url.clone()),
                    Endpoint::Loopback { https, http } => self.probe(https, http).await,
                }
            })
            .await
    }

    /// `GET /v2/` over HTTPS, then over plain HTTP if HTTPS failed; whichever answers
    /// at all (401 included) is the scheme. When neither does, the HTTPS failure is the one
    /// reported, unless it only said the address does not speak TLS.
    async fn probe(&self, https: &Url, http: &Url) -> Result<Url> {
        let key = authority(https);
        let get = |base: &Url| {
            let url = base.join("v2/");
            async move {
                let url = url.map_err(|e| Error::Invalid(format!("bad registry URL: {e}")))?;
                self.http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| Error::network("GET", &url, e))
            }
        };
        let chosen = match get(https).await {
            Ok(_) => {
                tracing::info!(registry = %key, "using HTTPS");
                https.clone()
            }
            Err(e) if unreachable(&e) => return Err(e),
            Err(tls) => match get(http).await {
                Ok(_) => {
                    tracing::info!(registry = %key, https_failure = %tls, "using plain HTTP: HTTPS failed, and this registry is on loopback");
                    http.clone()
                }
                Err(plain) if speaks_no_tls(&tls) => return Err(plain),
                Err(_) => return Err(tls),
            },
        };
        if let Ok(mut m) = LOOPBACK_SCHEMES.lock() {
            m.insert(key, chosen.clone());
        }
        Ok(chosen)
    }

    /// The key credentials are stored under (`host:port`).
    pub fn registry_key(&self) -> &str {
        &self.key
    }

    /// `GET /v2/`: is this an OCI registry, and do our credentials work?
    pub async fn ping(&self) -> Result<()> {
        let url = self.url("v2/").await?;
        let resp = self
            .send(&Scope::None, || Ok(self.http.get(url.clone())))
            .await?;
        check_with(self, resp, "GET").await.map(drop)
    }

    pub(crate) async fn url(&self, path: &str) -> Result<Url> {
        self.base()
            .await?
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
                .map_err(|e| Error::network(method.clone(), &url, e))?;
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
            .ok_or_else(|| Error::protocol(self.base_url(), "Bearer challenge without realm"))?;
        let mut url = Url::parse(realm).map_err(|e| {
            Error::protocol(self.base_url(), format!("bad token realm {realm:?}: {e}"))
        })?;
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
        let resp = req
            .send()
            .await
            .map_err(|e| Error::network("GET", &url, e))?;
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

/// `host:port` of a URL (the key of [`LOOPBACK_SCHEMES`]).
fn authority(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// Did the HTTPS attempt only find that the address speaks something other than TLS?
fn speaks_no_tls(e: &Error) -> bool {
    let Error::Network { transport, .. } = e else {
        return false;
    };
    crate::error::causes(transport.as_ref()).iter().any(|c| {
        matches!(
            c.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. })
        )
    })
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
    let url = resp.url().clone();
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::network("GET", &url, e))?
    {
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

    fn fixed(url: &str) -> Endpoint {
        Endpoint::Fixed(Url::parse(url).unwrap_or_else(|e| panic!("{e}")))
    }

    fn loopback(https: &str, http: &str) -> Endpoint {
        Endpoint::Loopback {
            https: Url::parse(https).unwrap_or_else(|e| panic!("{e}")),
            http: Url::parse(http).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    #[test]
    fn loopback_tries_https_then_plain_http_and_the_rest_gets_https() -> Result<()> {
        assert_eq!(
            endpoint("127.0.0.1:5000", false, false)?,
            loopback("https://127.0.0.1:5000/", "http://127.0.0.1:5000/")
        );
        assert_eq!(
            endpoint("localhost:5000", false, false)?,
            loopback("https://localhost:5000/", "http://localhost:5000/")
        );
        assert_eq!(
            endpoint("[::1]:5000", false, false)?,
            loopback("https://[::1]:5000/", "http://[::1]:5000/")
        );
        assert_eq!(
            endpoint("reg.example.com", false, false)?,
            fixed("https://reg.example.com/")
        );
        assert_eq!(
            endpoint("reg.example.com:8080", true, false)?,
            fixed("http://reg.example.com:8080/")
        );
        assert_eq!(
            endpoint("127.0.0.1:5000", true, false)?,
            fixed("http://127.0.0.1:5000/")
        );
        assert_eq!(
            endpoint("127.0.0.1:5000", false, true)?,
            fixed("https://127.0.0.1:5000/")
        );
        assert_eq!(
            endpoint("http://reg.example.com/", false, true)?,
            fixed("http://reg.example.com/")
        );
        assert_eq!(
            endpoint("https://127.0.0.1:5443", false, false)?,
            fixed("https://127.0.0.1:5443/")
        );
        assert!(endpoint("", false, false).is_err());
        assert!(endpoint("reg.example.com/some/path", false, false).is_err());
        Ok(())
    }
}
