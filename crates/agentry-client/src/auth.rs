//! Credentials and the `WWW-Authenticate` challenge flow.
//!
//! Credentials live in a docker-style `auth.json` (`{"auths":{"host:port":{"auth":"base64(user:pass)"}}}`),
//! so a file written by `docker login` for the same host works too. It is written with mode
//! 0600 through a temp file and a rename, so a crash never leaves half a file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A username and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password, not even in debug logs.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The `Authorization: Basic …` value.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            B64.encode(format!("{}:{}", self.username, self.password))
        )
    }

    fn decode(auth: &str) -> Option<Credentials> {
        let raw = B64.decode(auth.trim()).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        Some(Credentials::new(u, p))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthFileDoc {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    /// Keys we do not use (`credsStore`, …) are kept when the file is rewritten.
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// The credentials file of `agentry login`.
#[derive(Debug)]
pub struct AuthFile {
    path: PathBuf,
    doc: AuthFileDoc,
}

/// The key under which a registry's credentials are stored: `host[:port]`, without scheme or
/// trailing slash, lower-cased.
pub fn registry_key(registry: &str) -> String {
    let r = registry.trim();
    let r = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
        .unwrap_or(r);
    r.trim_end_matches('/').to_ascii_lowercase()
}

impl AuthFile {
    /// Load the file; a missing file is an empty store.
    pub fn load(path: impl Into<PathBuf>) -> Result<AuthFile> {
        let path = path.into();
        let doc = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => AuthFileDoc::default(),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Invalid(format!(
                    "credentials file {} is not valid auth.json: {e}",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AuthFileDoc::default(),
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        Ok(AuthFile { path, doc })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Credentials stored for `registry` (`host:port`, with or without scheme).
    pub fn get(&self, registry: &str) -> Option<Credentials> {
        let key = registry_key(registry);
        self.doc
            .auths
            .iter()
            .find(|(k, _)| registry_key(k) == key)
            .and_then(|(_, e)| e.auth.as_deref())
            .and_then(Credentials::decode)
    }

    pub fn set(&mut self, registry: &str, creds: &Credentials) {
        let key = registry_key(registry);
        self.doc.auths.retain(|k, _| registry_key(k) != key);
        self.doc.auths.insert(
            key,
            AuthEntry {
                auth: Some(B64.encode(format!("{}:{}", creds.username, creds.password))),
                other: BTreeMap::new(),
            },
        );
    }

    /// Forget `registry`; returns whether anything was stored for it.
    pub fn remove(&mut self, registry: &str) -> bool {
        let key = registry_key(registry);
        let before = self.doc.auths.len();
        self.doc.auths.retain(|k, _| registry_key(k) != key);
        before != self.doc.auths.len()
    }

    /// Write the file (mode 0600, atomically), creating its directory (0700) if needed.
    pub fn save(&self) -> Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(&self.doc)
            .map_err(|e| Error::Invalid(format!("encoding credentials: {e}")))?;
        // tempfile creates the file with mode 0600 on Unix.
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io("creating a temp file in", dir, e))?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io("writing", tmp.path().to_path_buf(), e))?;
        tmp.persist(&self.path)
            .map_err(|e| Error::io("replacing", &self.path, e.error))?;
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("creating", dir, e))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer`, lower-cased.
    pub scheme: String,
    /// Auth parameters (`realm`, `service`, `scope`…), names lower-cased.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parse the first challenge of a `WWW-Authenticate` value (RFC 7235: `scheme` followed by
    /// comma-separated `name=value` or `name="quoted value"`).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = match header.find(char::is_whitespace) {
            Some(i) => (&header[..i], header[i..].trim_start()),
            None => (header, ""),
        };
        if scheme.is_empty() {
            return None;
        }
        let mut params = BTreeMap::new();
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i] != b'=' && b[i] != b',' {
                i += 1;
            }
            let name = rest[start..i].trim().to_ascii_lowercase();
            if i >= b.len() || b[i] != b'=' {
                // A token68 or a second challenge's scheme: stop at what we understood.
                break;
            }
            i += 1;
            let value = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = String::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    // Quoted strings are ASCII in practice; copy byte-wise through char boundaries.
                    let ch_len = rest[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                    v.push_str(&rest[i..i + ch_len]);
                    i += ch_len;
                }
                i += 1; // closing quote
                v
            } else {
                let vs = i;
                while i < b.len() && b[i] != b',' {
                    i += 1;
                }
                rest[vs..i].trim().to_owned()
            };
            if !name.is_empty() {
                params.insert(name, value);
            }
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// The token endpoint's answer (docker token spec; OAuth servers say `access_token`).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_quoted_and_bare_params() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#,
        )
        .unwrap_or_else(|| panic!("no challenge"));
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.example.com/token"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        let c = Challenge::parse(r#"Basic realm="agentry""#).unwrap_or_else(|| panic!("none"));
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some("agentry"));
        let c = Challenge::parse("Basic").unwrap_or_else(|| panic!("none"));
        assert!(c.params.is_empty());
        let c = Challenge::parse(r#"Bearer realm=x, error="in\"valid""#)
            .unwrap_or_else(|| panic!("none"));
        assert_eq!(c.param("realm"), Some("x"));
        assert_eq!(c.param("error"), Some("in\"valid"));
        assert!(Challenge::parse("").is_none());
    }

    #[test]
    fn auth_file_round_trips_with_private_mode() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let path = dir.path().join("sub").join("auth.json");
        let mut f = AuthFile::load(&path)?;
        assert!(f.get("localhost:5000").is_none());
        f.set("http://LocalHost:5000/", &Credentials::new("alice", "p:w"));
        f.save()?;
        let f = AuthFile::load(&path)?;
        assert_eq!(
            f.get("localhost:5000"),
            Some(Credentials::new("alice", "p:w"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(|e| Error::io("stat", &path, e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut f = f;
        assert!(f.remove("localhost:5000"));
        assert!(!f.remove("localhost:5000"));
        std::fs::write(&path, b"{not json").map_err(|e| Error::io("w", &path, e))?;
        assert!(matches!(AuthFile::load(&path), Err(Error::Invalid(_))));
        Ok(())
    }

    #[test]
    fn debug_output_hides_the_password() {
        let s = format!("{:?}", Credentials::new("u", "secret"));
        assert!(!s.contains("secret"));
    }
}
