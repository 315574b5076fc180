//! Answers as typed values (the server shapes them for the wire), and the match request and
//! taxonomy browse the REST API exchanges as they are.

use std::collections::BTreeMap;

use agentry_types::{Digest, RepoName, TrustTier};
use serde::{Deserialize, Serialize};

use crate::query::CapabilityMatch;

/// One agent in a result list, as typed values; the server shapes it for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentHit {
    /// Repository the manifest was pushed to (`namespace/name`).
    pub repo: RepoName,
    /// Manifest digest.
    pub digest: Digest,
    pub version: String,
    pub description: String,
    /// Taxonomy paths of the agent's skills, or the skill name where a skill has no class.
    pub capabilities: Vec<String>,
    /// Protocol kinds (`a2a`, `mcp`, …).
    pub protocols: Vec<String>,
    pub trust_tier: TrustTier,
    /// Relevance; higher is better. 1.0 for unranked (filter-only) results.
    pub score: f32,
    /// The pod the record came from.
    pub source_pod: String,
    /// When the manifest was stored (Unix seconds).
    pub pushed_at: i64,
    /// Why the agent matched (match requests only).
    pub why: Vec<String>,
}

impl AgentHit {
    /// `namespace/name@manifest-digest`: unique and stable for this artifact.
    pub fn id(&self) -> String {
        format!("{}@{}", self.repo, self.digest)
    }
}

/// A facet value and how many matching agents carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub items: Vec<AgentHit>,
    /// Pass back as the query's cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Counts per `capability`, `protocol`, `tier` and `namespace` over every match (not just
    /// this page), when the query asks for facets; otherwise empty.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}

/// Capability requirements of a match request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CapabilityRequirement {
    /// Every one of these is required.
    #[serde(default)]
    pub all: Vec<String>,
    /// Each of these that is present raises the rank; with `any` alone at least one is required.
    #[serde(default)]
    pub any: Vec<String>,
}

/// `POST /api/v1/agents/match`: structured requirements in, ranked agents out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    #[serde(default)]
    pub capabilities: CapabilityRequirement,
    /// Any of these protocols is required.
    #[serde(default)]
    pub protocols: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "standard"))]
    pub min_trust_tier: Option<TrustTier>,
    /// The runtime's context window: only agents whose Formula-2 budget fits it.
    #[serde(default)]
    pub max_input_tokens: Option<u64>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub arch: Option<String>,
    /// `false`: the runtime has no GPU, so agents needing one are excluded.
    #[serde(default)]
    pub gpu: Option<bool>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// What the agent should do, in words: ranks the candidates by full-text relevance.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl MatchRequest {
    pub(crate) fn capability_mode(&self) -> CapabilityMatch {
        if self.capabilities.all.is_empty() {
            CapabilityMatch::Any
        } else {
            CapabilityMatch::All
        }
    }
}

/// One class of the capability browse tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapabilityNode {
    pub id: u64,
    /// Slash path, usable as `capability=`.
    pub name: String,
    pub caption: String,
    pub description: String,
    /// Agents carrying this class or any class below it.
    pub count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<CapabilityNode>,
}

/// `GET /api/v1/capabilities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapabilityTree {
    /// OASF taxonomy version browsed.
    pub taxonomy: String,
    pub categories: Vec<CapabilityNode>,
    /// Skill names and classes found in records but not in this taxonomy, with counts.
    pub other: Vec<FacetCount>,
}
