//! Media types.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1 (signed); refused: deprecated and unsafe to verify.
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The agent artifact type (whitepaper §5.1).
pub const OSSA_AGENT_ARTIFACT: &str = agentry_types::AGENT_ARTIFACT_TYPE;
/// Config blob of an agent artifact (whitepaper Figure 8).
pub const OSSA_AGENT_CONFIG: &str = "application/vnd.ossa.agent.config.v1+json";
/// The OSSA manifest layer.
pub const OSSA_MANIFEST_YAML: &str = "application/vnd.ossa.manifest.v1+yaml";
/// Skill schemas layer.
pub const OSSA_CAPABILITIES: &str = "application/vnd.ossa.capabilities.v1+json";

/// Every manifest media type the registry stores, in preference order for `Accept`.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Annotation keys.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// The media type without parameters, lower-cased (`application/json; charset=utf-8` →
/// `application/json`).
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}
