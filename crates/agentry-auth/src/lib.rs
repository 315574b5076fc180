//! Who may do what in an agentry pod.
//!
//! - [`Policy`]: roles per namespace (`reader`, `publisher`, `admin`) granted to users, API
//!   keys, every signed-in user (`*`) or anonymous callers (`anonymous`); loaded from a TOML
//!   file. One [`Policy::allows`] answers every surface's question (OCI, discovery, GraphQL, UI,
//!   front doors).
//! - [`TokenIssuer`]: the Docker registry token flow. A client refused with
//!   `WWW-Authenticate: Bearer realm=…,service=…,scope=repository:ns/name:pull,push` asks the
//!   realm for a token with its credentials; the token is an EdDSA-signed JWT whose `access`
//!   claim lists only what the policy grants that caller, for that service, for minutes.
//! - [`Scope`]: the `repository:name:actions` grammar of those challenges and requests.
//!
//! Nothing here does network or disk I/O except [`Policy::load`].

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What a request does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Read manifests, blobs, tags, referrers; find it in search.
    Pull,
    /// Upload blobs, put manifests and tags, attach referrers, publish through a front door.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// A role in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pull and find.
    Reader,
    /// Reader, and push.
    Publisher,
    /// Publisher, and delete; `admin` on `*` also runs the pod's admin operations.
    Admin,
}

impl Role {
    pub fn allows(self, a: Action) -> bool {
        match self {
            Role::Reader => a == Action::Pull,
            Role::Publisher => matches!(a, Action::Pull | Action::Push),
            Role::Admin => true,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A signed-in user or an API key's name.
    User(String),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User(u) => u,
        }
    }
}

/// One grant: `subject` has `role` in `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// A user name, an API key's name, `*` (every signed-in caller) or `anonymous`.
    pub subject: String,
    /// A namespace (`acme` covers `acme/x` and `acme/team/x`), or `*` for every namespace.
    pub namespace: String,
    pub role: Role,
}

/// An API key: a service's secret, stored here only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// The subject the key acts as (grants name it).
    pub name: String,
    /// Hex SHA-256 of the key (`agentry auth hash-key` prints it).
    pub sha256: String,
}

/// The pod's access policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default, rename = "grant")]
    pub grants: Vec<Grant>,
    #[serde(default, rename = "api_key")]
    pub api_keys: Vec<ApiKey>,
}

/// A policy that cannot be used, naming where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

/// Longest subject or namespace a policy may name.
const MAX_NAME: usize = 255;

impl Policy {
    /// Every signed-in user is admin everywhere, anonymous callers nothing: what a pod with
    /// htpasswd and no policy file has always done.
    pub fn signed_in_admin() -> Policy {
        Policy {
            grants: vec![Grant {
                subject: "*".into(),
                namespace: "*".into(),
                role: Role::Admin,
            }],
            api_keys: Vec::new(),
        }
    }

    /// Read a TOML policy (`[[grant]]` and `[[api_key]]` tables).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            field: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Policy::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let p: Policy = toml::from_str(text).map_err(|e| PolicyError {
            field: "policy".into(),
            message: e.to_string(),
        })?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |i: usize, f: &str, m: &str| PolicyError {
            field: format!("grant[{i}].{f}"),
            message: m.to_owned(),
        };
        for (i, g) in self.grants.iter().enumerate() {
            if g.subject.is_empty() || g.subject.len() > MAX_NAME {
                return Err(bad(i, "subject", "expected 1..=255 characters"));
            }
            let ns_ok = g.namespace == "*"
                || (!g.namespace.is_empty()
                    && g.namespace.len() <= MAX_NAME
                    && g.namespace.split('/').all(|c| {
                        !c.is_empty()
                            && c.bytes().all(|b| {
                                b.is_ascii_lowercase()
                                    || b.is_ascii_digit()
                                    || matches!(b, b'.' | b'_' | b'-')
                            })
                    }));
            if !ns_ok {
                return Err(bad(
                    i,
                    "namespace",
                    "expected `*` or a repository path (lower-case components separated by /)",
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (i, k) in self.api_keys.iter().enumerate() {
            if k.name.is_empty()
                || k.name.len() > MAX_NAME
                || k.name == "anonymous"
                || k.name == "*"
            {
                return Err(PolicyError {
                    field: format!("api_key[{i}].name"),
                    message: "expected a name other than `anonymous` and `*`".into(),
                });
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(PolicyError {
                    field: format!("api_key[{i}].sha256"),
                    message: "expected 64 hex digits (the SHA-256 of the key)".into(),
                });
            }
            if !names.insert(&k.name) {
                return Err(PolicyError {
                    field: format!("api_key[{i}].name"),
                    message: format!("{:?} is named twice", k.name),
                });
            }
        }
        Ok(())
    }

    fn applies(g: &Grant, who: &Principal) -> bool {
        match who {
            Principal::Anonymous => g.subject == "anonymous",
            Principal::User(u) => g.subject == *u || g.subject == "*",
        }
    }

    /// Whether `who` may do `action` to `repo` (`namespace/name`).
    pub fn allows(&self, who: &Principal, repo: &str, action: Action) -> bool {
        self.grants
            .iter()
            .any(|g| Self::applies(g, who) && covers(&g.namespace, repo) && g.role.allows(action))
    }

    /// The actions of `wanted` that `who` may do to `repo`.
    pub fn granted(&self, who: &Principal, repo: &str, wanted: &[Action]) -> Vec<Action> {
        let mut out: Vec<Action> = wanted
            .iter()
            .copied()
            .filter(|a| self.allows(who, repo, *a))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `who` holds `admin` on `*` (the pod's own operations: GC, reindex, audit).
    pub fn is_admin(&self, who: &Principal) -> bool {
        self.grants
            .iter()
            .any(|g| Self::applies(g, who) && g.namespace == "*" && g.role == Role::Admin)
    }

    /// The namespaces `who` may read: `None` when every namespace (a grant on `*`).
    pub fn readable(&self, who: &Principal) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for g in &self.grants {
            if Self::applies(g, who) && g.role.allows(Action::Pull) {
                if g.namespace == "*" {
                    return None;
                }
                out.push(g.namespace.clone());
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// The API key's subject, if `key` is one of the policy's keys.
    pub fn api_key(&self, key: &str) -> Option<&str> {
        let h = sha256_hex(key.as_bytes());
        self.api_keys
            .iter()
            .find(|k| constant_time_eq(k.sha256.to_ascii_lowercase().as_bytes(), h.as_bytes()))
            .map(|k| k.name.as_str())
    }
}

/// Whether a grant on `namespace` covers `repo`: the same path, or one below it.
pub fn covers(namespace: &str, repo: &str) -> bool {
    namespace == "*"
        || repo
            .strip_prefix(namespace)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One `repository:name:actions` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub actions: Vec<Action>,
}

impl Scope {
    /// Parse `repository:acme/fx:pull,push`. Unknown actions (`*` included) are dropped, as
    /// distribution does; an unknown resource type or a malformed scope is an error.
    pub fn parse(s: &str) -> Result<Scope, String> {
        if s.len() > 1024 {
            return Err("scope: longer than 1024 characters".into());
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("scope {s:?}: expected repository:NAME:ACTIONS"))?;
        if kind != "repository" && !kind.starts_with("repository(") {
            return Err(format!(
                "scope {s:?}: resource type {kind:?} is not supported (only repository)"
            ));
        }
        let (name, actions) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("scope {s:?}: expected repository:NAME:ACTIONS"))?;
        if name.is_empty() {
            return Err(format!("scope {s:?}: empty repository name"));
        }
        let mut acts: Vec<Action> = actions.split(',').filter_map(Action::parse).collect();
        if actions.split(',').any(|a| a == "*") {
            acts = vec![Action::Pull, Action::Push, Action::Delete];
        }
        acts.sort();
        acts.dedup();
        Ok(Scope {
            name: name.to_owned(),
            actions: acts,
        })
    }

    pub fn render(&self) -> String {
        let acts: Vec<&str> = self.actions.iter().map(|a| a.as_str()).collect();
        format!("repository:{}:{}", self.name, acts.join(","))
    }
}

/// One entry of a token's `access` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The subject (`anonymous` for a token issued without credentials).
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    #[serde(default)]
    pub access: Vec<Access>,
}

impl Claims {
    pub fn principal(&self) -> Principal {
        if self.sub == "anonymous" || self.sub.is_empty() {
            Principal::Anonymous
        } else {
            Principal::User(self.sub.clone())
        }
    }

    /// Whether the token grants `action` on `repo`.
    pub fn allows(&self, repo: &str, action: Action) -> bool {
        self.access.iter().any(|a| {
            a.kind == "repository"
                && a.name == repo
                && a.actions.iter().any(|x| x == action.as_str() || x == "*")
        })
    }
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token is for another service")]
    WrongAudience,
    #[error("token was issued by another issuer")]
    WrongIssuer,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("signing the token failed: {0}")]
    Signing(String),
}

/// Issues and verifies the pod's tokens (EdDSA over Ed25519).
pub struct TokenIssuer {
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    /// Key id in the JWT header: the first 16 hex of the public key's SHA-256.
    kid: String,
    pub issuer: String,
    pub service: String,
    pub ttl: Duration,
}

/// Longest token accepted.
pub const MAX_TOKEN_LEN: usize = 8192;

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

impl TokenIssuer {
    /// A new random key, PKCS#8 DER (keep it to verify the pod's tokens across restarts).
    pub fn generate_key() -> Result<Vec<u8>, TokenError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|d| d.as_ref().to_vec())
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// An issuer over a PKCS#8 Ed25519 key.
    pub fn new(
        pkcs8: &[u8],
        issuer: impl Into<String>,
        service: impl Into<String>,
        ttl: Duration,
    ) -> Result<TokenIssuer, TokenError> {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| TokenError::Malformed(format!("token key: {e}")))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(TokenIssuer {
            encoding: jsonwebtoken::EncodingKey::from_ed_der(pkcs8),
            decoding: jsonwebtoken::DecodingKey::from_ed_der(&public),
            kid: sha256_hex(&public)[..16].to_owned(),
            issuer: issuer.into(),
            service: service.into(),
            ttl,
        })
    }

    /// A token for `who` with `access`.
    pub fn issue(
        &self,
        who: &Principal,
        access: Vec<Access>,
    ) -> Result<(String, Claims), TokenError> {
        let now = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: who.name().to_owned(),
            aud: self.service.clone(),
            exp: now + self.ttl.as_secs(),
            nbf: now.saturating_sub(1),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            access,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok((token, claims))
    }

    /// Verify a token: signature, issuer, audience (this service), expiry and not-before.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed(format!(
                "longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        v.set_audience(&[&self.service]);
        v.set_issuer(&[&self.issuer]);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &v) {
            Ok(d) => Ok(d.claims),
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                Err(match e.kind() {
                    K::ExpiredSignature => TokenError::Expired,
                    K::ImmatureSignature => TokenError::NotYetValid,
                    K::InvalidAudience => TokenError::WrongAudience,
                    K::InvalidIssuer => TokenError::WrongIssuer,
                    K::InvalidSignature => TokenError::BadSignature,
                    _ => TokenError::Malformed(e.to_string()),
                })
            }
        }
    }

    /// The access a token for `who` asking for `scopes` carries: what the policy grants, per
    /// scope; a scope granting nothing is left out (the client learns by being refused).
    pub fn access_for(policy: &Policy, who: &Principal, scopes: &[Scope]) -> Vec<Access> {
        scopes
            .iter()
            .filter_map(|s| {
                let got = policy.granted(who, &s.name, &s.actions);
                (!got.is_empty()).then(|| Access {
                    kind: "repository".into(),
                    name: s.name.clone(),
                    actions: got.iter().map(|a| a.as_str().to_owned()).collect(),
                })
            })
            .collect()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    const POLICY: &str = r#"
        [[grant]]
        subject = "anonymous"
        namespace = "public"
        role = "reader"

        [[grant]]
        subject = "alice"
        namespace = "acme"
        role = "publisher"

        [[grant]]
        subject = "bob"
        namespace = "acme"
        role = "reader"

        [[grant]]
        subject = "root"
        namespace = "*"
        role = "admin"

        [[api_key]]
        name = "ci"
        sha256 = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    "#;

    fn user(u: &str) -> Principal {
        Principal::User(u.into())
    }

    #[test]
    fn roles_per_namespace() {
        let p = Policy::parse(POLICY).unwrap();
        assert!(p.allows(&user("alice"), "acme/fx", Action::Push));
        assert!(p.allows(&user("alice"), "acme/team/fx", Action::Pull));
        assert!(!p.allows(&user("alice"), "acme/fx", Action::Delete));
        assert!(
            !p.allows(&user("alice"), "acmeco/fx", Action::Pull),
            "prefix is by component"
        );
        assert!(p.allows(&user("bob"), "acme/fx", Action::Pull));
        assert!(!p.allows(&user("bob"), "acme/fx", Action::Push));
        assert!(p.allows(&Principal::Anonymous, "public/x", Action::Pull));
        assert!(!p.allows(&Principal::Anonymous, "acme/x", Action::Pull));
        assert!(p.allows(&user("root"), "any/thing", Action::Delete));
        assert!(p.is_admin(&user("root")));
        assert!(!p.is_admin(&user("alice")));
        assert_eq!(p.readable(&user("bob")), Some(vec!["acme".to_owned()]));
        assert_eq!(p.readable(&user("root")), None);
        assert_eq!(p.api_key("secret"), Some("ci"));
        assert_eq!(p.api_key("wrong"), None);
        assert_eq!(
            p.granted(&user("bob"), "acme/fx", &[Action::Pull, Action::Push]),
            vec![Action::Pull]
        );
    }

    #[test]
    fn bad_policies_name_the_field() {
        let e =
            Policy::parse("[[grant]]\nsubject = \"a\"\nnamespace = \"Acme\"\nrole = \"reader\"\n")
                .unwrap_err();
        assert_eq!(e.field, "grant[0].namespace");
        let e = Policy::parse("[[grant]]\nsubject = \"a\"\nnamespace = \"a\"\nrole = \"owner\"\n")
            .unwrap_err();
        assert!(e.message.contains("owner"), "{e}");
        let e = Policy::parse("[[api_key]]\nname = \"ci\"\nsha256 = \"abc\"\n").unwrap_err();
        assert_eq!(e.field, "api_key[0].sha256");
        let e = Policy::parse("[[grantz]]\n").unwrap_err();
        assert!(e.message.contains("grantz"), "{e}");
    }

    #[test]
    fn scopes_parse_and_render() {
        let s = Scope::parse("repository:acme/fx:pull,push").unwrap();
        assert_eq!(s.name, "acme/fx");
        assert_eq!(s.actions, vec![Action::Pull, Action::Push]);
        assert_eq!(s.render(), "repository:acme/fx:pull,push");
        assert_eq!(
            Scope::parse("repository:a/b:*").unwrap().actions,
            vec![Action::Pull, Action::Push, Action::Delete]
        );
        assert!(Scope::parse("registry:catalog:*").is_err());
        assert!(Scope::parse("repository").is_err());
        assert!(Scope::parse(&"x".repeat(2000)).is_err());
        // A host:port in the name keeps its colon.
        assert_eq!(
            Scope::parse("repository:localhost:5000/a:pull")
                .unwrap()
                .name,
            "localhost:5000/a"
        );
    }

    #[test]
    fn tokens_verify_and_forgeries_do_not() {
        let key = TokenIssuer::generate_key().unwrap();
        let t = TokenIssuer::new(&key, "agentry", "pod-a", Duration::from_secs(300)).unwrap();
        let p = Policy::parse(POLICY).unwrap();
        let access = TokenIssuer::access_for(
            &p,
            &user("bob"),
            &[Scope::parse("repository:acme/fx:pull,push").unwrap()],
        );
        assert_eq!(access[0].actions, vec!["pull"]);
        let (token, _) = t.issue(&user("bob"), access).unwrap();
        let c = t.verify(&token).unwrap();
        assert_eq!(c.principal(), user("bob"));
        assert!(c.allows("acme/fx", Action::Pull));
        assert!(!c.allows("acme/fx", Action::Push));
        assert!(!c.allows("acme/other", Action::Pull));

        // Another pod's key, another audience, a tampered payload, expired, garbage.
        let other = TokenIssuer::new(
            &TokenIssuer::generate_key().unwrap(),
            "agentry",
            "pod-a",
            Duration::from_secs(300),
        )
        .unwrap();
        let (forged, _) = other.issue(&user("bob"), vec![]).unwrap();
        assert_eq!(t.verify(&forged), Err(TokenError::BadSignature));
        let aud = TokenIssuer::new(&key, "agentry", "pod-b", Duration::from_secs(300)).unwrap();
        let (wrong_aud, _) = aud.issue(&user("bob"), vec![]).unwrap();
        assert_eq!(t.verify(&wrong_aud), Err(TokenError::WrongAudience));
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["access"][0]["actions"] = serde_json::json!(["pull", "push"]);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(serde_json::to_vec(&claims).unwrap()),
            parts[2]
        );
        assert_eq!(t.verify(&tampered), Err(TokenError::BadSignature));
        let short = TokenIssuer::new(&key, "agentry", "pod-a", Duration::from_secs(0)).unwrap();
        let mut c2 = short.issue(&user("bob"), vec![]).unwrap().1;
        c2.exp = now() - 3600;
        c2.nbf = now() - 7200;
        let expired = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
            &c2,
            &jsonwebtoken::EncodingKey::from_ed_der(&key),
        )
        .unwrap();
        assert_eq!(t.verify(&expired), Err(TokenError::Expired));
        assert!(matches!(
            t.verify("not.a.jwt"),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            t.verify(&"a".repeat(9000)),
            Err(TokenError::Malformed(_))
        ));
        // alg=none is refused.
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert!(t.verify(&none).is_err());
    }
}
