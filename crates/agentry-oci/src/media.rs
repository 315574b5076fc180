//! Media types and annotation keys: every one the registry and the client name, declared once.
//! The agent artifact types are declared in [`agentry_types::media`] (the formats crate needs
//! them without depending on this one) and re-exported here.

use std::sync::LazyLock;

pub use agentry_types::media::{
    OSSA_AGENT_ARTIFACT, OSSA_AGENT_CONFIG, OSSA_CAPABILITIES, OSSA_MANIFEST_JSON,
    OSSA_MANIFEST_YAML, OSSA_SIGNATURE,
};

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
/// Code bundle and context layers of an agent artifact (the whitepaper's `oras push` example
/// uses this type).
pub const GZIP: &str = "application/gzip";

/// Every manifest media type the registry stores, in preference order for `Accept`.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// The `Accept` header of a manifest request: [`MANIFEST_TYPES`], comma-separated.
pub fn manifest_accept() -> &'static str {
    static ACCEPT: LazyLock<String> = LazyLock::new(|| MANIFEST_TYPES.join(", "));
    &ACCEPT
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_header_lists_every_manifest_type() {
        assert_eq!(
            manifest_accept(),
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
        );
        assert_eq!(
            essence("Application/JSON; charset=utf-8"),
            "application/json"
        );
    }
}
