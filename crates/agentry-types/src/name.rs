//! Repository names, tags and references, with the grammar of the OCI distribution spec.
//!
//! A name that passes [`RepoName::parse`] is safe to use as a key and as a path component:
//! the grammar admits no `..`, no leading `/`, no percent-encoding and no upper case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{Digest, DigestError};

/// Longest repository name accepted. The spec notes clients limit host + name to 255.
pub const MAX_NAME_LEN: usize = 255;
/// Longest tag: the grammar allows 128 characters.
pub const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("repository name is empty")]
    EmptyName,
    #[error("repository name is longer than {MAX_NAME_LEN} characters")]
    NameTooLong,
    #[error(
        "repository name {0:?} does not match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*"
    )]
    InvalidName(String),
    #[error("tag {0:?} does not match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")]
    InvalidTag(String),
    #[error("invalid digest: {0}")]
    InvalidDigest(#[from] DigestError),
    #[error("reference {0:?} has no repository name")]
    MissingName(String),
}

fn shown(s: &str) -> String {
    // Error messages quote user input; keep them bounded.
    if s.len() > 80 {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// One `/`-separated path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(c: &[u8]) -> bool {
    let mut i = 0;
    let n = c.len();
    let run = |i: &mut usize| {
        let start = *i;
        while *i < n && is_alnum(c[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < n {
        // separator
        match c[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < n && c[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < n && c[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !run(&mut i) {
            return false;
        }
    }
    true
}

/// A repository name such as `acme-corp/financial-analyst`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(s: &str) -> Result<RepoName, NameError> {
        if s.is_empty() {
            return Err(NameError::EmptyName);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        if !s.split('/').all(|c| valid_component(c.as_bytes())) {
            return Err(NameError::InvalidName(shown(s)));
        }
        Ok(RepoName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Everything before the last `/` (empty for a one-component name). agentry calls this the
    /// agent's namespace.
    pub fn namespace(&self) -> &str {
        self.0.rsplit_once('/').map(|(ns, _)| ns).unwrap_or("")
    }

    /// The last path component: the agent's short name.
    pub fn basename(&self) -> &str {
        self.0.rsplit_once('/').map(|(_, n)| n).unwrap_or(&self.0)
    }
}

/// A tag such as `2.4.1` or `latest`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Tag, NameError> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= MAX_TAG_LEN
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b[1..]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if ok {
            Ok(Tag(s.to_owned()))
        } else {
            Err(NameError::InvalidTag(shown(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.0)
            }
        }
        impl FromStr for $t {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                $t::parse(s)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                $t::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_newtype_impls!(RepoName);
string_newtype_impls!(Tag);

/// What follows a name in a manifest URL: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    Tag(Tag),
    Digest(Digest),
}

impl ManifestRef {
    /// Parse the `<reference>` path segment: a digest if it contains `:`, else a tag.
    pub fn parse(s: &str) -> Result<ManifestRef, NameError> {
        if s.contains(':') {
            Ok(ManifestRef::Digest(s.parse()?))
        } else {
            Ok(ManifestRef::Tag(Tag::parse(s)?))
        }
    }
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(t) => t.fmt(f),
            ManifestRef::Digest(d) => d.fmt(f),
        }
    }
}

/// A full image reference as users type it: `[host[:port]/]name[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]` when the reference names a registry.
    pub registry: Option<String>,
    pub name: RepoName,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, NameError> {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.parse::<Digest>()?)),
            None => (s, None),
        };
        // The registry is the first component when it looks like a host: has '.' or ':' or is
        // `localhost` (the convention docker, skopeo and oras share).
        let (registry, path) = match rest.split_once('/') {
            Some((first, tail))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), tail)
            }
            _ => (None, rest),
        };
        let (name, tag) = match path.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(Tag::parse(t)?)),
            _ => (path, None),
        };
        if name.is_empty() {
            return Err(NameError::MissingName(shown(s)));
        }
        Ok(Reference {
            registry,
            name: RepoName::parse(name)?,
            tag,
            digest,
        })
    }

    /// The manifest reference to request: the digest when one was given, else the tag, else
    /// `latest`.
    pub fn manifest_ref(&self) -> ManifestRef {
        if let Some(d) = &self.digest {
            ManifestRef::Digest(d.clone())
        } else if let Some(t) = &self.tag {
            ManifestRef::Tag(t.clone())
        } else {
            ManifestRef::Tag(Tag("latest".to_owned()))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for ok in [
            "a",
            "acme/agent",
            "a.b_c__d---e/f0",
            "x/y/z",
            "library/ubuntu",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "..", "a/../b", "%2e%2e", "a___b", "a.-b", "-a", "a-",
            "a/.b", "a b", "a:b",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RepoName::parse(&"a".repeat(256)),
            Err(NameError::NameTooLong)
        );
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        for ok in ["latest", "2.4.1", "_x", "A-b.c_d"] {
            assert!(Tag::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "..", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn references_split_registry_name_tag_digest() {
        let r = Reference::parse("localhost:5000/acme/agent:1.0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.name.as_str(), "acme/agent");
        assert_eq!(r.tag.as_ref().map(Tag::as_str), Some("1.0"));
        let r = Reference::parse("acme/agent").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.registry, None);
        assert_eq!(r.manifest_ref().to_string(), "latest");
        let d = Digest::sha256(b"x");
        let r = Reference::parse(&format!("reg.io/a@{d}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.digest, Some(d));
        assert_eq!(r.name.namespace(), "");
        assert!(Reference::parse("reg.io/").is_err());
    }
}
