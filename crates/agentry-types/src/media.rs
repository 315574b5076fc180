//! The media types of agent artifacts (whitepaper §5.1 and Figure 8), declared once for every
//! crate: the registry recognises an agent by them, the client writes them, and the formats
//! crate stores OSSA documents under them. The OCI and Docker types live in `agentry-oci`,
//! which re-exports these next to its own.

/// The `artifactType` that marks an OCI manifest as an agent artifact.
pub const OSSA_AGENT_ARTIFACT: &str = "application/vnd.ossa.agent.manifest.v1+json";
/// The config blob of an agent artifact.
pub const OSSA_AGENT_CONFIG: &str = "application/vnd.ossa.agent.config.v1+json";
/// The OSSA manifest layer, as the whitepaper writes it (YAML).
pub const OSSA_MANIFEST_YAML: &str = "application/vnd.ossa.manifest.v1+yaml";
/// The JSON twin of [`OSSA_MANIFEST_YAML`], for an OSSA manifest written as JSON.
pub const OSSA_MANIFEST_JSON: &str = "application/vnd.ossa.manifest.v1+json";
/// The capabilities layer (skill schemas).
pub const OSSA_CAPABILITIES: &str = "application/vnd.ossa.capabilities.v1+json";
/// An OSSA signature referrer.
pub const OSSA_SIGNATURE: &str = "application/vnd.ossa.signature.v1+json";
