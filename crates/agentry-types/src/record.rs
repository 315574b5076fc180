//! The canonical agent record: one model that every supported description format (OSSA, A2A
//! Agent Card, AGNTCY OASF, MCP `server.json`, NANDA AgentFacts, simple registry JSON) reads
//! into and writes out of.
//!
//! The record is versioned (`record_version`); a persisted record of an older version must
//! decode and migrate forward. Fields that a source format carries but the model has no place
//! for are kept in `extensions`, and the source document itself is kept in `provenance`, so no
//! conversion has to guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::{ContextBudget, ContextSpec};
use crate::digest::Digest;

/// Current version of the persisted record layout.
pub const RECORD_VERSION: u32 = 1;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The canonical description of one version of one agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    #[serde(default = "record_version")]
    pub record_version: u32,
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Publisher>,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<Skill>,
    /// Application domains (OASF domain taxonomy), as opposed to skills.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TaxonomyRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<ProtocolEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub provenance: Provenance,
    /// What the described thing is, when it is not a plain agent: `task`, `workflow`, `flow`
    /// (OSSA kinds), `skill`, `mcp-server`. `None` means an agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Creation or release time as the source states it (RFC 3339 in OASF and MCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Formula 2 evaluated on `context` against its own declared window, filled in by the
    /// readers so that consumers need not recompute it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_budget: Option<ContextBudget>,
    /// Source-format fields without a place in the model, keyed by the format's own JSON path
    /// (for example `a2a:/capabilities/pushNotifications`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Value>,
}

fn record_version() -> u32 {
    RECORD_VERSION
}

/// Who the agent is: the registry coordinates and content identifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Everything before the last `/` of the repository name (`acme-corp`).
    #[serde(default)]
    pub namespace: String,
    /// Short machine name (`financial-analyst`).
    pub name: String,
    /// Semantic version (`2.4.1`). Formats without semver keep their string here.
    #[serde(default)]
    pub version: String,
    /// Human display name where the format has one distinct from `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Digest of the OCI manifest the record was extracted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// AGNTCY Directory record CID (CIDv1, sha256 over canonical JSON), for OASF records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oasf_cid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// DNS domain that anchors trust (`acme.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Decentralised identifier, where the format carries one (NANDA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
}

/// A position in a published taxonomy (OASF skills or domains).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaxonomyRef {
    /// Numeric class id (`10101`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Slash path (`natural_language_processing/natural_language_understanding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Something the agent can do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// Format-local id (A2A `skills[].id`), when distinct from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Taxonomy classes this skill belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taxonomy: Vec<TaxonomyRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_modes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_modes: Vec<String>,
}

/// Protocol families agents speak.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolKind {
    A2a,
    Mcp,
    Rest,
    Grpc,
    #[serde(untagged)]
    Other(String),
}

impl ProtocolKind {
    pub fn as_str(&self) -> &str {
        match self {
            ProtocolKind::A2a => "a2a",
            ProtocolKind::Mcp => "mcp",
            ProtocolKind::Rest => "rest",
            ProtocolKind::Grpc => "grpc",
            ProtocolKind::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> ProtocolKind {
        match s.to_ascii_lowercase().as_str() {
            "a2a" => ProtocolKind::A2a,
            "mcp" => ProtocolKind::Mcp,
            "rest" | "http" | "openapi" => ProtocolKind::Rest,
            "grpc" => ProtocolKind::Grpc,
            other => ProtocolKind::Other(other.to_owned()),
        }
    }
}

/// One way to reach the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolEndpoint {
    pub kind: ProtocolKind,
    /// Protocol version (`1.0`, `2025-03-26`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// URL or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Transport binding (`JSONRPC`, `GRPC`, `HTTP+JSON`, `stdio`, `sse`, `streamable-http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

/// What the agent needs to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// `container`, `npm`, `pypi`, `binary`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Container image or package identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// Kubernetes-style quantities (`500m`, `512Mi`) as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub gpu: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

/// Another agent, tool server or package this agent relies on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// `ossa-agent`, `mcp-server`, `package`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Semver range (`>=1.2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_req: Option<String>,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// What the agent is allowed to touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_outbound: Vec<NetworkRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_inbound: Vec<NetworkRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystem_read: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystem_write: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystem_deny: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRef>,
    /// Data classes the agent handles (`public`, `internal`, `confidential`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
    /// Data classes it must never receive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes_denied: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_retention: Option<String>,
}

/// Description formats agentry reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Ossa,
    A2a,
    Oasf,
    Mcp,
    Nanda,
    /// The simple registry JSON of the Northeastern federation paper (Figure 5).
    Simple,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 6] = [
        SourceFormat::Ossa,
        SourceFormat::A2a,
        SourceFormat::Oasf,
        SourceFormat::Mcp,
        SourceFormat::Nanda,
        SourceFormat::Simple,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Ossa => "ossa",
            SourceFormat::A2a => "a2a",
            SourceFormat::Oasf => "oasf",
            SourceFormat::Mcp => "mcp",
            SourceFormat::Nanda => "nanda",
            SourceFormat::Simple => "simple",
        }
    }
}

/// Where the record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub source_format: SourceFormat,
    /// Format version as detected (`0.3.0`, `ossa/v0.4.6`, `2025-12-11`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Registry or pod the record was obtained from, when not this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_registry: Option<String>,
    /// Media type of the original document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Digest of the original document (the OCI layer it was stored as).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<Digest>,
    /// The original document, byte for byte (every supported format is UTF-8 text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// Which of a format's layouts the reader followed, where a format has more than one under
    /// the same version marker (OSSA: `whitepaper` for the §3.1 four-questions body, `project`
    /// for the Open Standard Agents project's schemas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// What the document holds that its format's schema or agentry's rules do not list, and
    /// was accepted anyway (an unknown enum value, an empty optional string, a field of
    /// another version, a field kept in `extensions` that the version does not define). A pod
    /// run with `--strict-records` refuses a record that has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RecordWarning>,
}

/// One thing accepted although the format's schema or agentry's rules do not list it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordWarning {
    /// RFC 6901 pointer into the original document (`""` is the whole document).
    pub pointer: String,
    /// What was found, in plain words.
    pub reason: String,
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance {
            source_format: SourceFormat::Simple,
            source_version: None,
            source_registry: None,
            media_type: None,
            document_digest: None,
            original: None,
            layout: None,
            warnings: Vec::new(),
        }
    }
}

impl AgentRecord {
    /// `namespace/name`, the key agents are looked up by.
    pub fn qualified_name(&self) -> String {
        if self.identity.namespace.is_empty() {
            self.identity.name.clone()
        } else {
            format!("{}/{}", self.identity.namespace, self.identity.name)
        }
    }

    /// The version parsed as semver, if it is one.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(self.identity.version.trim_start_matches('v')).ok()
    }

    /// Every taxonomy class the record's skills name.
    pub fn skill_taxonomy(&self) -> impl Iterator<Item = &TaxonomyRef> {
        self.skills.iter().flat_map(|s| s.taxonomy.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_json_round_trips_and_defaults_version() {
        let mut r = AgentRecord::default();
        r.identity.namespace = "acme-corp".into();
        r.identity.name = "financial-analyst".into();
        r.identity.version = "2.4.1".into();
        r.protocols.push(ProtocolEndpoint {
            kind: ProtocolKind::Other("websocket".into()),
            version: None,
            endpoint: None,
            transport: None,
        });
        r.protocols.push(ProtocolEndpoint {
            kind: ProtocolKind::A2a,
            version: Some("1.0".into()),
            endpoint: Some("/a2a".into()),
            transport: None,
        });
        let j = serde_json::to_string(&r).unwrap_or_default();
        let back: AgentRecord = serde_json::from_str(&j).unwrap_or_else(|e| panic!("{e}: {j}"));
        assert_eq!(back.protocols, r.protocols);
        assert_eq!(back.qualified_name(), "acme-corp/financial-analyst");
        assert_eq!(back.semver().map(|v| v.minor), Some(4));
        let old: AgentRecord = serde_json::from_str(
            r#"{"identity":{"name":"x"},"provenance":{"source_format":"a2a"}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.record_version, RECORD_VERSION);
        assert!(old.provenance.warnings.is_empty() && old.provenance.layout.is_none());
        // Warnings are stored with the record and come back; none are not serialised at all.
        let mut w = AgentRecord::default();
        w.provenance.warnings.push(RecordWarning {
            pointer: "/packages/0/registry_name".into(),
            reason: "\"unknown\" is not one of …".into(),
        });
        let j = serde_json::to_value(&w).unwrap_or_default();
        assert_eq!(
            j["provenance"]["warnings"][0]["pointer"],
            "/packages/0/registry_name"
        );
        let back: AgentRecord = serde_json::from_value(j).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, w);
        let none = serde_json::to_value(AgentRecord::default()).unwrap_or_default();
        assert!(none["provenance"].get("warnings").is_none());
    }
}
