//! HTTP Basic authentication against an htpasswd file (`--auth htpasswd FILE`).
//!
//! Only bcrypt entries are accepted (what `htpasswd -B` writes and what Docker's registry
//! accepts): MD5-crypt and SHA1 entries are too weak to guard a registry. bcrypt is slow on
//! purpose, so successful verifications are remembered (keyed by a SHA-256 of the credentials,
//! never the password itself) and a repeat request costs a hash lookup.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

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

/// Middleware: when authentication is configured, every request except `/health` and
/// `/ready` must carry valid Basic credentials; otherwise 401 with the spec's challenge.
pub async fn require_auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = state.auth.as_ref() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if path == "/health" || path == "/ready" {
        return next.run(req).await;
    }
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| auth.verify_header(v));
    if ok {
        return next.run(req).await;
    }
    let mut resp =
        ApiError::new(OciErrorCode::Unauthorized, "authentication required").into_response();
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        header::HeaderValue::from_static("registry/2.0"),
    );
    resp
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
