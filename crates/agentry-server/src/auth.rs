//! Authentication and authorization: HTTP Basic against an htpasswd file (`--auth htpasswd
//! FILE`), API keys and the pod's own tokens (the Docker registry token flow at `/token`), and
//! the per-namespace policy (`--auth-policy FILE`, [`agentry_auth::Policy`]) applied to every
//! surface by one middleware, [`require_auth`].
//!
//! Only bcrypt entries are accepted (what `htpasswd -B` writes and what Docker's registry
//! accepts): MD5-crypt and SHA1 entries are too weak to guard a registry. bcrypt is slow on
//! purpose, so successful verifications are remembered (keyed by a SHA-256 of the credentials,
//! never the password itself) and a repeat request costs a hash lookup.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use agentry_auth::{Action, Claims, Principal, TokenIssuer};
use axum::http::Method;

use agentry_oci::OciErrorCode;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2_digest::sha256_hex;

use crate::error::ApiError;
use crate::state::AppState;

/// Users and their bcrypt hashes.
pub struct Htpasswd {
    users: HashMap<String, String>,
    verified: Mutex<HashSet<String>>,
}

const MAX_CACHE: usize = 10_000;

impl Htpasswd {
    /// Load an htpasswd file; errors name the line.
    pub fn load(path: &Path) -> Result<Htpasswd, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read htpasswd file {}: {e}", path.display()))?;
        Htpasswd::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Htpasswd, String> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: expected user:hash", i + 1))?;
            if !(hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$")) {
                return Err(format!(
                    "line {}: user {user:?} does not have a bcrypt hash (create entries with `htpasswd -B`)",
                    i + 1
                ));
            }
            users.insert(user.to_owned(), hash.to_owned());
        }
        if users.is_empty() {
            return Err("no users defined".into());
        }
        Ok(Htpasswd {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Check `user`/`password`.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = sha256_hex(&[
            user.as_bytes(),
            b"\0",
            password.as_bytes(),
            b"\0",
            hash.as_bytes(),
        ]);
        if let Ok(cache) = self.verified.lock()
            && cache.contains(&key)
        {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok && let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= MAX_CACHE {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }

    /// Parse an `Authorization: Basic …` header value and verify it.
    pub fn verify_header(&self, value: &str) -> bool {
        let Some(b64) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        match text.split_once(':') {
            Some((u, p)) => self.verify(u, p),
            None => false,
        }
    }
}

mod sha2_digest {
    /// Hex SHA-256 over the concatenation of `parts`.
    pub fn sha256_hex(parts: &[&[u8]]) -> String {
        let mut h = agentry_types::DigestAlgorithm::Sha256.hasher();
        for p in parts {
            h.update(p);
        }
        h.finish().hex().to_owned()
    }
}

/// Who made a request, as [`require_auth`] established it (in the request's extensions, for
/// handlers that decide per repository: mounts, front-door publishes, search filters).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The verified token, when the request carried one.
    pub token: Option<Arc<Claims>>,
    /// Whether the request carried any accepted credential (an anonymous token counts).
    pub credentialed: bool,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            principal: Principal::Anonymous,
            token: None,
            credentialed: false,
        }
    }
}

/// What a request needs to be let through.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    Nothing,
    /// `GET /v2/`: any accepted credential (clients learn the token realm here).
    Base,
    /// A read of the discovery surface (API, GraphQL, UI, metrics): anyone the policy lets
    /// read somewhere.
    Read,
    Repo(String, Action),
    /// The pod's own operations: `admin` on `*`.
    Admin,
    /// A write whose repository the handler names (front doors): a signed-in caller; the
    /// handler checks the repository with [`AppState::may`].
    Write,
}

fn need(method: &Method, path: &str) -> Need {
    if matches!(path, "/health" | "/ready" | "/token") {
        return Need::Nothing;
    }
    let action = match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => Action::Pull,
        Method::DELETE => Action::Delete,
        _ => Action::Push,
    };
    if path == "/v2" || path == "/v2/" {
        return Need::Base;
    }
    if let Some(rest) = path.strip_prefix("/v2/") {
        use crate::oci::Target as T;
        return match crate::oci::parse_target(rest) {
            Ok(T::Catalog) => Need::Admin,
            Ok(
                T::Tags(r)
                | T::Manifest(r, _)
                | T::Blob(r, _)
                | T::Uploads(r)
                | T::Upload(r, _)
                | T::Referrers(r, _)
                | T::BadTag(r, _),
            ) => Need::Repo(r.to_string(), action),
            // Malformed: the handler answers it, but only to a caller with a credential.
            Ok(T::Base) | Err(_) => Need::Base,
        };
    }
    if path.starts_with("/api/v1/admin/") || path.starts_with("/api/v1/switchboard/import") {
        return Need::Admin;
    }
    let reads_by_post =
        *method == Method::POST && matches!(path, "/graphql" | "/api/v1/agents/match");
    if action == Action::Pull || reads_by_post {
        Need::Read
    } else {
        Need::Write
    }
}

impl AppState {
    /// Whether authentication and authorization are on (htpasswd users or a policy file).
    pub fn access_control(&self) -> bool {
        self.auth.is_some() || self.config.auth_policy.is_some()
    }

    /// Whether `caller` may do `action` to `repo` (always, on a pod without access control).
    pub fn may(&self, caller: &Caller, repo: &str, action: Action) -> bool {
        if !self.access_control() {
            return true;
        }
        match &caller.token {
            Some(t) => t.allows(repo, action),
            None => self.policy.allows(&caller.principal, repo, action),
        }
    }

    /// The namespaces `caller` may read (`None`: all of them).
    pub fn readable(&self, caller: &Caller) -> Option<Vec<String>> {
        if !self.access_control() {
            return None;
        }
        self.policy.readable(&caller.principal)
    }

    fn permits(&self, caller: &Caller, need: &Need) -> bool {
        match need {
            Need::Nothing => true,
            Need::Base => caller.credentialed,
            Need::Read => self.readable(caller).is_none_or(|ns| !ns.is_empty()),
            Need::Repo(repo, action) => self.may(caller, repo, *action),
            Need::Admin => self.policy.is_admin(&caller.principal),
            Need::Write => caller.principal != Principal::Anonymous,
        }
    }
}

/// Why credentials were not accepted.
fn authenticate(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    let value = value
        .to_str()
        .map_err(|_| "authorization: not visible ASCII".to_owned())?;
    if value.len() > agentry_auth::MAX_TOKEN_LEN {
        return Err("authorization: too long".into());
    }
    if let Some(b64) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    {
        let user = basic_user(b64).ok_or("authorization: malformed Basic credentials")?;
        return match &state.auth {
            Some(h) if h.verify_header(value) => Ok(Caller {
                principal: Principal::User(user),
                token: None,
                credentialed: true,
            }),
            _ => Err("wrong user name or password".into()),
        };
    }
    if let Some(tok) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        let tok = tok.trim();
        if let Some(name) = state.policy.api_key(tok) {
            return Ok(Caller {
                principal: Principal::User(name.to_owned()),
                token: None,
                credentialed: true,
            });
        }
        let Some(issuer) = &state.tokens else {
            return Err("this pod issues no tokens".into());
        };
        let claims = issuer.verify(tok).map_err(|e| e.to_string())?;
        return Ok(Caller {
            principal: claims.principal(),
            token: Some(Arc::new(claims)),
            credentialed: true,
        });
    }
    Err("authorization: expected Basic or Bearer".into())
}

fn basic_user(b64: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':').map(|(u, _)| u.to_owned())
}

/// The pod's public base URL for the token realm: `public_url` when configured, else the
/// request's own `Host` (checked to be a plain host[:port]) and scheme.
fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let scheme = if state.config.tls() { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.config.listen.to_string());
    format!("{scheme}://{host}")
}

fn challenge(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    need: &Need,
    error: Option<&str>,
) -> Response {
    let mut resp = ApiError::new(
        OciErrorCode::Unauthorized,
        error.unwrap_or("authentication required"),
    )
    .into_response();
    let mut value = format!(
        "Bearer realm=\"{}/token\",service=\"{}\"",
        base_url(state, headers),
        state.config.token_service()
    );
    if let Need::Repo(repo, action) = need {
        let actions = match action {
            Action::Pull => "pull",
            Action::Push => "pull,push",
            Action::Delete => "delete",
        };
        value.push_str(&format!(",scope=\"repository:{repo}:{actions}\""));
    }
    if error.is_some() {
        value.push_str(",error=\"invalid_token\"");
    }
    if let Ok(v) = header::HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        header::HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// Middleware: with access control on, establish who is calling and let the request through
/// only if the policy (or the caller's token) allows what it does. An unauthenticated caller
/// who may not is challenged (401 with the token realm); a signed-in one is refused (403
/// DENIED), as is a token without the scope asked for (401 `insufficient_scope`, so a client
/// can ask for one).
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !state.access_control() {
        return next.run(req).await;
    }
    let need = need(req.method(), req.uri().path());
    if need == Need::Nothing {
        return next.run(req).await;
    }
    let caller = match authenticate(&state, req.headers()) {
        Ok(c) => c,
        Err(e) => return challenge(&state, req.headers(), &need, Some(&e)),
    };
    if state.permits(&caller, &need) {
        req.extensions_mut().insert(caller);
        return next.run(req).await;
    }
    if caller.principal == Principal::Anonymous || caller.token.is_some() {
        let mut resp = challenge(&state, req.headers(), &need, None);
        if caller.token.is_some()
            && let Some(v) = resp.headers().get(header::WWW_AUTHENTICATE).cloned()
            && let Ok(s) = v.to_str()
            && let Ok(v) =
                header::HeaderValue::from_str(&format!("{s},error=\"insufficient_scope\""))
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        return resp;
    }
    let what = match &need {
        Need::Repo(repo, action) => format!(
            "{} may not {} {repo}",
            caller.principal.name(),
            action.as_str()
        ),
        Need::Admin => format!("{} is not an admin of this pod", caller.principal.name()),
        _ => format!("{} may not do this", caller.principal.name()),
    };
    ApiError::new(OciErrorCode::Denied, what).into_response()
}

/// `GET /token?service=…&scope=repository:ns/name:pull,push[&scope=…]`: the Docker registry
/// token endpoint. Credentials (Basic, or an API key as Bearer) are optional: without them the
/// token carries what the policy grants `anonymous`. The token lists, per scope, only the
/// actions the policy grants; it is refused outright only for wrong credentials or a
/// malformed request.
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let Some(issuer) = state.tokens.clone() else {
        return crate::problem::Problem::not_found(
            "this pod issues no tokens (access control is off)",
        )
        .into_response();
    };
    let pairs = match crate::query_string::decode(req.uri().query()) {
        Ok(p) => p,
        Err(e) => return crate::problem::Problem::from(e).into_response(),
    };
    let mut scopes = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "service" => {
                if *v != state.config.token_service() {
                    return crate::problem::Problem::bad_request(
                        "service",
                        format!("this pod is service {:?}", state.config.token_service()),
                    )
                    .into_response();
                }
            }
            "scope" => {
                if scopes.len() >= 32 {
                    return crate::problem::Problem::bad_request("scope", "at most 32 scopes")
                        .into_response();
                }
                // Clients may send several scopes in one parameter, space-separated.
                for one in v.split(' ').filter(|s| !s.is_empty()) {
                    match agentry_auth::Scope::parse(one) {
                        Ok(s) => scopes.push(s),
                        Err(e) => {
                            return crate::problem::Problem::bad_request("scope", e)
                                .into_response();
                        }
                    }
                }
            }
            "account" | "client_id" | "offline_token" => {}
            other => {
                return crate::problem::Problem::bad_request(
                    other,
                    "unknown parameter (accepted: service, scope, account, client_id, offline_token)",
                )
                .into_response();
            }
        }
    }
    // An anonymous token does not prove anything about the caller; a Bearer header here can
    // only be an API key.
    let caller = match authenticate(&state, req.headers()) {
        Ok(c) if c.token.is_none() => c,
        Ok(_) => {
            return challenge(
                &state,
                req.headers(),
                &Need::Base,
                Some("present credentials, not a token, to /token"),
            );
        }
        Err(e) => return challenge(&state, req.headers(), &Need::Base, Some(&e)),
    };
    let access = TokenIssuer::access_for(&state.policy, &caller.principal, &scopes);
    match issuer.issue(&caller.principal, access) {
        Ok((token, claims)) => {
            let issued_at = time::OffsetDateTime::from_unix_timestamp(claims.iat as i64)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            axum::Json(serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": claims.exp.saturating_sub(claims.iat),
                "issued_at": issued_at,
            }))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing a token failed");
            crate::problem::Problem::internal("issuing the token failed").into_response()
        }
    }
}

/// The pod's token key (`<data>/auth/token.key`, PKCS#8, mode 0600), made on first start.
pub fn token_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("token.key");
    if let Ok(k) = std::fs::read(&path) {
        return Ok(k);
    }
    std::fs::create_dir_all(dir)?;
    let key = TokenIssuer::generate_key().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tmp = dir.join("token.key.tmp");
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            f.mode(0o600);
        }
        let mut f = f.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_entries_verify_and_others_are_refused() {
        let hash = bcrypt::hash("s3cret", 4).unwrap_or_default();
        let h =
            Htpasswd::parse(&format!("# users\nalice:{hash}\n")).unwrap_or_else(|e| panic!("{e}"));
        assert!(h.verify("alice", "s3cret"));
        assert!(h.verify("alice", "s3cret"), "cached path");
        assert!(!h.verify("alice", "wrong"));
        assert!(!h.verify("bob", "s3cret"));
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
        );
        assert!(h.verify_header(&header));
        assert!(!h.verify_header("Bearer x"));
        assert!(!h.verify_header("Basic !!!"));
        assert!(Htpasswd::parse("carol:{SHA}abc").is_err());
        assert!(Htpasswd::parse("nocolon").is_err());
        assert!(Htpasswd::parse("").is_err());
    }
}
