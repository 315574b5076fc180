//! The search query as typed values: what the REST API's `GET /api/v1/agents` parameters
//! (parsed by `agentry-server`'s `api::wire`), the CLI flags and `POST /agents/match` turn
//! into.

use std::time::{Duration, Instant};

use agentry_types::{Digest, TrustTier};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::ParamError;

/// Results per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page served; larger `limit`s are capped to it.
pub const MAX_LIMIT: usize = 100;
/// Deepest position a ranked (text, semantic, hybrid) result list can be paged to. Ranked pages
/// are recomputed per request, so depth is bounded like Elasticsearch's `max_result_window`.
pub const MAX_RANKED_DEPTH: usize = 10_000;
/// Longest free-text query accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 1_000;

/// How `q` and `semantic` are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 full-text only.
    Text,
    /// Nearest neighbours of the embedded query only.
    Semantic,
    /// Full-text and semantic scores fused (`index::fusion`: convex, semantic-weighted).
    Hybrid,
}

impl SearchMode {
    /// `text` (also `fulltext`, `full-text`, `keyword`), `semantic` (`vector`) or `hybrid`,
    /// any case.
    pub fn parse(s: &str) -> Option<SearchMode> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "fulltext" | "full-text" | "keyword" => Some(SearchMode::Text),
            "semantic" | "vector" => Some(SearchMode::Semantic),
            "hybrid" => Some(SearchMode::Hybrid),
            _ => None,
        }
    }
}

/// Whether all or any of the requested capabilities must be present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CapabilityMatch {
    #[default]
    All,
    Any,
}

/// Which versions of a name are wanted.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionSpec {
    /// Exactly this version string (`2.4.1`, `v2`); a leading `v` is ignored on both sides.
    Exact(String),
    /// A semver range (`^2.4`, `~1.2`, `>=1, <3`); the highest match wins where one is wanted.
    Range(semver::VersionReq),
    /// The highest release (pre-releases only when asked for, or when there is nothing else).
    Latest,
}

impl VersionSpec {
    /// `latest`, an exact version, or a semver range.
    pub fn parse(s: &str) -> Result<VersionSpec, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty version".into());
        }
        if t.eq_ignore_ascii_case("latest") {
            return Ok(VersionSpec::Latest);
        }
        let starts_with_operator = t.starts_with(['^', '~', '>', '<', '=', '*']);
        if !starts_with_operator {
            if semver::Version::parse(t.trim_start_matches('v')).is_ok() {
                return Ok(VersionSpec::Exact(t.trim_start_matches('v').to_owned()));
            }
            // Partial versions (`2`, `2.4`) are ranges, as in Cargo and npm.
            if t.trim_start_matches('v')
                .split('.')
                .all(|p| !p.is_empty() && (p.bytes().all(|b| b.is_ascii_digit()) || p == "x"))
            {
                let req = semver::VersionReq::parse(&format!("={}", t.trim_start_matches('v')))
                    .map_err(|e| e.to_string())?;
                return Ok(VersionSpec::Range(req));
            }
            // Non-semver version strings are matched verbatim.
            if t.len() <= 128 && !t.contains(char::is_whitespace) {
                return Ok(VersionSpec::Exact(t.to_owned()));
            }
        }
        semver::VersionReq::parse(t)
            .map(VersionSpec::Range)
            .map_err(|e| format!("not a version, a semver range or `latest`: {e}"))
    }
}

/// A position in a result list, handed to the client as an opaque string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Fingerprint of the query the cursor belongs to.
    #[serde(rename = "f")]
    pub fingerprint: u64,
    /// Number of items already returned.
    #[serde(rename = "o")]
    pub offset: usize,
    /// Score of the last returned item (ranked results).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Index key of the last returned item.
    #[serde(rename = "k")]
    pub key: u32,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Result<Cursor, ParamError> {
        let bad = || ParamError::new("cursor", "not a cursor returned by this server");
        if s.len() > 256 {
            return Err(bad());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// A complete discovery query. Every part is optional and the parts combine with AND.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Full-text query (`q`).
    pub text: Option<String>,
    /// Natural-language query for semantic search (`semantic`).
    pub semantic: Option<String>,
    /// How text is answered (`mode`); by default `q` is full-text and `semantic` is semantic,
    /// both together are hybrid.
    pub mode: Option<SearchMode>,
    /// Exact `namespace/name` (`name`).
    pub name: Option<String>,
    /// Version constraint on `name` (`version`, or `name=ns/n@range`).
    pub version: Option<VersionSpec>,
    /// Manifest digest (`digest`).
    pub digest: Option<Digest>,
    /// AGNTCY record CID (`cid`).
    pub oasf_cid: Option<String>,
    /// Skill names, taxonomy paths or taxonomy ids (`capability`, repeatable or comma-separated).
    pub capabilities: Vec<String>,
    pub capability_match: CapabilityMatch,
    /// Protocols, any of which the agent must speak (`protocol`).
    pub protocols: Vec<String>,
    /// Minimum trust tier (`min_trust`).
    pub min_tier: Option<TrustTier>,
    /// Namespace (`namespace`), exact.
    pub namespace: Option<String>,
    /// Publisher organisation or domain (`publisher`), case-insensitive exact.
    pub publisher: Option<String>,
    /// Labels (`label=key=value`, repeatable), all must match.
    pub labels: Vec<(String, String)>,
    pub os: Option<String>,
    pub arch: Option<String>,
    /// Requires (`true`) or excludes (`false`) agents that need a GPU (`gpu`).
    pub gpu: Option<bool>,
    /// Only agents whose Formula-2 context budget fits this window (`max_input_tokens`).
    pub max_input_tokens: Option<u64>,
    /// Include pre-release versions (`prerelease=true`).
    pub include_prerelease: bool,
    /// Only agents pushed at or after this Unix time (seconds); the MCP Registry front door's
    /// `updated_since`.
    pub pushed_since: Option<i64>,
    /// Only each name's highest version (the MCP Registry front door's `version=latest`).
    pub latest_only: bool,
    /// Compute facet counts (`facets=true`).
    pub facets: bool,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// Abandon the query after this instant.
    pub deadline: Option<Instant>,
}

impl Query {
    /// A query with the default limit and nothing else.
    pub fn new() -> Query {
        Query {
            limit: DEFAULT_LIMIT,
            ..Query::default()
        }
    }

    /// Set a time budget from now.
    pub fn with_timeout(mut self, t: Duration) -> Query {
        self.deadline = Some(Instant::now() + t);
        self
    }

    /// The text answered lexically, if any.
    pub(crate) fn lexical_text(&self) -> Option<&str> {
        match self.mode {
            Some(SearchMode::Semantic) => None,
            _ => self.text.as_deref(),
        }
    }

    /// The text answered semantically, if any.
    pub(crate) fn semantic_text(&self) -> Option<&str> {
        match self.mode {
            Some(SearchMode::Text) => None,
            Some(SearchMode::Semantic | SearchMode::Hybrid) => {
                self.semantic.as_deref().or(self.text.as_deref())
            }
            None => self.semantic.as_deref(),
        }
    }

    /// A hash of everything that selects and orders results (not `limit`, `cursor`,
    /// `facets`, deadline), so a cursor cannot be replayed against another query.
    pub(crate) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            self.text,
            self.semantic,
            self.mode,
            self.name,
            self.version,
            self.digest.as_ref().map(|d| d.to_string()),
            self.oasf_cid,
            self.capabilities,
            self.capability_match,
            self.protocols,
            self.min_tier,
            self.namespace,
            self.publisher,
            self.labels,
            self.os,
            self.arch,
            self.gpu,
            self.max_input_tokens,
            self.include_prerelease
        );
        key.hash(&mut h);
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_specs() {
        assert_eq!(VersionSpec::parse("latest"), Ok(VersionSpec::Latest));
        assert_eq!(
            VersionSpec::parse("v2.4.1"),
            Ok(VersionSpec::Exact("2.4.1".into()))
        );
        assert!(matches!(
            VersionSpec::parse("^2.4"),
            Ok(VersionSpec::Range(_))
        ));
        assert!(matches!(
            VersionSpec::parse("2.4"),
            Ok(VersionSpec::Range(_))
        ));
        assert!(matches!(
            VersionSpec::parse("~1.2"),
            Ok(VersionSpec::Range(_))
        ));
        assert!(VersionSpec::parse("^x.y").is_err());
    }

    #[test]
    fn cursor_round_trip() {
        let c = Cursor {
            fingerprint: 7,
            offset: 20,
            score: Some(1.5),
            key: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
    }
}
