//! OCI manifest and index documents as serde types: for reading pulled documents and for
//! building new ones. (Validating a *pushed* manifest, with every problem named by its JSON
//! pointer, is [`crate::manifest::parse`]; it yields the same [`Descriptor`].)
//!
//! Deserialisation validates every digest (through [`Digest`]'s parser) and ignores unknown
//! fields, so documents from newer registries still read. The bytes a manifest was pushed or
//! pulled as are what its digest covers; these types are for reading and for building new
//! manifests, never for re-serialising a pulled one and expecting the same digest.

use std::collections::BTreeMap;

use agentry_types::Digest;
use serde::{Deserialize, Serialize};

use crate::manifest::ManifestKind;
use crate::media::{self, essence};

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Foreign / non-distributable content lives at these URLs, not in the registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Embedded content (base64), for tiny blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
}

impl Descriptor {
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            platform: None,
        }
    }

    /// The `org.opencontainers.image.title` annotation: the file name of a layer.
    pub fn title(&self) -> Option<&str> {
        self.annotations
            .get(media::ANNOTATION_TITLE)
            .map(String::as_str)
    }
}

/// An OCI image manifest (also reads Docker schema 2 manifests, which share the shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (also reads Docker manifest lists). The referrers API answers one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index (what a registry without referrers answers for "none").
    pub fn empty() -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: Some(media::OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// A pulled manifest or index, parsed by its media type.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Manifest(ImageManifest),
    Index(ImageIndex),
}

/// Parse manifest bytes according to `media_type` (the response's `Content-Type`, falling back
/// to the document's own `mediaType` field).
pub fn parse(media_type: &str, bytes: &[u8]) -> Result<Parsed, String> {
    let mt = essence(media_type);
    let mt = if mt.is_empty() || mt == "application/json" {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Peek {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let peek: Peek = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        match (peek.media_type, peek.manifests) {
            (Some(m), _) => m,
            (None, Some(_)) => media::OCI_INDEX.to_owned(),
            (None, None) => media::OCI_MANIFEST.to_owned(),
        }
    } else {
        mt
    };
    match ManifestKind::from_media_type(&mt) {
        Some(kind) if kind.is_index() => serde_json::from_slice(bytes)
            .map(Parsed::Index)
            .map_err(|e| e.to_string()),
        Some(_) => serde_json::from_slice(bytes)
            .map(Parsed::Manifest)
            .map_err(|e| e.to_string()),
        None => Err(format!("unsupported manifest media type {mt:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manifests_and_indexes_and_refuses_bad_digests() {
        let d = Digest::sha256(b"x");
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"a/b","config":{{"mediaType":"c","digest":"{d}","size":1}},"layers":[{{"mediaType":"l","digest":"{d}","size":1,"annotations":{{"org.opencontainers.image.title":"f"}}}}],"extra":1}}"#,
            media::OCI_MANIFEST
        );
        match parse(media::OCI_MANIFEST, m.as_bytes()) {
            Ok(Parsed::Manifest(m)) => {
                assert_eq!(m.layers[0].title(), Some("f"));
                assert_eq!(m.artifact_type.as_deref(), Some("a/b"));
            }
            other => panic!("{other:?}"),
        }
        // Without a Content-Type the document's mediaType decides.
        assert!(matches!(parse("", m.as_bytes()), Ok(Parsed::Manifest(_))));
        let idx = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse("application/json", idx.as_bytes()),
            Ok(Parsed::Index(_))
        ));
        let bad = m.replace(d.hex(), "zz");
        assert!(parse(media::OCI_MANIFEST, bad.as_bytes()).is_err());
        assert!(parse("text/plain", m.as_bytes()).is_err());
    }
}
