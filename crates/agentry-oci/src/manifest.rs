//! Parsing and validating pushed manifests.
//!
//! A manifest is checked structurally before anything is stored: the media type (from the
//! `mediaType` field and the request's `Content-Type`, which must agree), `schemaVersion`, every
//! descriptor (media type grammar, digest, size, embedded `data`), `subject`, `artifactType` and
//! annotations. Each problem names its JSON pointer.

use std::collections::BTreeMap;

use agentry_types::Digest;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::document::Descriptor;
use crate::media;

/// The four manifest formats the registry stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerManifestList,
}

impl ManifestKind {
    pub fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciManifest => media::OCI_MANIFEST,
            ManifestKind::OciIndex => media::OCI_INDEX,
            ManifestKind::DockerManifest => media::DOCKER_MANIFEST,
            ManifestKind::DockerManifestList => media::DOCKER_MANIFEST_LIST,
        }
    }

    pub fn from_media_type(mt: &str) -> Option<ManifestKind> {
        match mt {
            media::OCI_MANIFEST => Some(ManifestKind::OciManifest),
            media::OCI_INDEX => Some(ManifestKind::OciIndex),
            media::DOCKER_MANIFEST => Some(ManifestKind::DockerManifest),
            media::DOCKER_MANIFEST_LIST => Some(ManifestKind::DockerManifestList),
            _ => None,
        }
    }

    pub fn is_index(self) -> bool {
        matches!(
            self,
            ManifestKind::OciIndex | ManifestKind::DockerManifestList
        )
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    /// JSON pointer to the offending value (`/layers/2/digest`), empty for the document.
    pub pointer: String,
    pub reason: String,
}

/// Why a manifest was refused. Maps to `MANIFEST_INVALID` with `problems` as detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{}", summary(.problems))]
pub struct ManifestError {
    pub problems: Vec<ManifestProblem>,
}

fn summary(problems: &[ManifestProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .take(5)
        .map(|p| {
            if p.pointer.is_empty() {
                p.reason.clone()
            } else {
                format!("{}: {}", p.pointer, p.reason)
            }
        })
        .collect();
    let more = problems.len().saturating_sub(5);
    if more > 0 {
        format!("{} (and {more} more)", parts.join("; "))
    } else {
        parts.join("; ")
    }
}

/// A validated manifest or index.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedManifest {
    pub kind: ManifestKind,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl ParsedManifest {
    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    /// Blobs that must exist in the repository: the config and every layer the registry is
    /// meant to hold (descriptors with `urls` point elsewhere).
    pub fn referenced_blobs(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self
            .config
            .iter()
            .chain(self.layers.iter())
            .filter(|d| d.urls.is_empty())
            .map(|d| d.digest.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Manifests an index references.
    pub fn child_manifests(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self.manifests.iter().map(|d| d.digest.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The `artifactType` the referrers API reports: the manifest's own, else (image manifests
    /// only) the config media type.
    pub fn referrer_artifact_type(&self) -> Option<String> {
        if let Some(a) = &self.artifact_type {
            return Some(a.clone());
        }
        if self.kind.is_index() {
            return None;
        }
        self.config.as_ref().map(|c| c.media_type.clone())
    }
}

/// RFC 6838 media type as the image spec's JSON schema defines it.
pub fn valid_media_type(s: &str) -> bool {
    fn part(p: &str) -> bool {
        let b = p.as_bytes();
        !b.is_empty()
            && b.len() <= 127
            && b[0].is_ascii_alphanumeric()
            && b[1..]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
    }
    match s.split_once('/') {
        Some((t, sub)) => part(t) && part(sub),
        None => false,
    }
}

struct Checker {
    problems: Vec<ManifestProblem>,
}

impl Checker {
    fn fail(&mut self, pointer: impl Into<String>, reason: impl Into<String>) {
        if self.problems.len() < 100 {
            self.problems.push(ManifestProblem {
                pointer: pointer.into(),
                reason: reason.into(),
            });
        }
    }

    fn string_map(&mut self, v: Option<&Value>, pointer: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, val) in m {
                    match val {
                        Value::String(s) => {
                            out.insert(k.clone(), s.clone());
                        }
                        _ => self.fail(
                            format!("{pointer}/{}", escape(k)),
                            "annotation values must be strings",
                        ),
                    }
                }
            }
            Some(_) => self.fail(pointer, "must be an object of string values"),
        }
        out
    }

    fn media_type_field(
        &mut self,
        v: Option<&Value>,
        pointer: &str,
        required: bool,
    ) -> Option<String> {
        match v {
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.fail(pointer, "is required");
                None
            }
            Some(Value::String(s)) if valid_media_type(s) => Some(s.clone()),
            Some(Value::String(_)) => {
                self.fail(pointer, "is not a valid media type (type/subtype)");
                None
            }
            Some(_) => {
                self.fail(pointer, "must be a string");
                None
            }
        }
    }

    fn descriptor(&mut self, v: &Value, pointer: &str) -> Option<Descriptor> {
        let Some(obj) = v.as_object() else {
            self.fail(pointer, "must be a descriptor object");
            return None;
        };
        let before = self.problems.len();
        let media_type =
            self.media_type_field(obj.get("mediaType"), &format!("{pointer}/mediaType"), true);
        let digest = match obj.get("digest") {
            Some(Value::String(s)) => match s.parse::<Digest>() {
                Ok(d) => Some(d),
                Err(e) => {
                    self.fail(format!("{pointer}/digest"), e.to_string());
                    None
                }
            },
            Some(_) => {
                self.fail(format!("{pointer}/digest"), "must be a string");
                None
            }
            None => {
                self.fail(format!("{pointer}/digest"), "is required");
                None
            }
        };
        let size = match obj.get("size") {
            Some(Value::Number(n)) => match n.as_u64() {
                Some(s) => Some(s),
                None => {
                    self.fail(format!("{pointer}/size"), "must be a non-negative integer");
                    None
                }
            },
            Some(_) => {
                self.fail(format!("{pointer}/size"), "must be an integer");
                None
            }
            None => {
                self.fail(format!("{pointer}/size"), "is required");
                None
            }
        };
        let artifact_type = self.media_type_field(
            obj.get("artifactType"),
            &format!("{pointer}/artifactType"),
            false,
        );
        let annotations =
            self.string_map(obj.get("annotations"), &format!("{pointer}/annotations"));
        let urls = match obj.get("urls") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                let mut urls = Vec::new();
                for (i, u) in a.iter().enumerate() {
                    match u.as_str() {
                        Some(s) => urls.push(s.to_owned()),
                        None => self.fail(format!("{pointer}/urls/{i}"), "must be a string"),
                    }
                }
                urls
            }
            Some(_) => {
                self.fail(format!("{pointer}/urls"), "must be an array of strings");
                Vec::new()
            }
        };
        // An optional field set to `null` is absent: older clients serialise an empty
        // `data` (and `platform`) as `null` rather than leaving it out.
        let data = obj.get("data").filter(|v| !v.is_null());
        if let (Some(Value::String(data)), Some(d), Some(size)) = (data, &digest, size) {
            match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) => {
                    if bytes.len() as u64 != size {
                        self.fail(
                            format!("{pointer}/data"),
                            "decoded length differs from size",
                        );
                    } else if !d.verifies(&bytes) {
                        self.fail(format!("{pointer}/data"), "does not match the digest");
                    }
                }
                Err(_) => self.fail(format!("{pointer}/data"), "is not valid base64"),
            }
        } else if let Some(v) = data
            && !v.is_string()
        {
            self.fail(format!("{pointer}/data"), "must be a base64 string");
        }
        let platform = obj.get("platform").filter(|v| !v.is_null()).cloned();
        if let Some(p) = &platform
            && !p.is_object()
        {
            self.fail(format!("{pointer}/platform"), "must be an object");
        }
        if self.problems.len() > before {
            return None;
        }
        Some(Descriptor {
            media_type: media_type?,
            digest: digest?,
            size: size?,
            artifact_type,
            urls,
            annotations,
            data: data.and_then(Value::as_str).map(str::to_owned),
            platform,
        })
    }

    fn descriptor_list(
        &mut self,
        v: Option<&Value>,
        pointer: &str,
        required: bool,
    ) -> Vec<Descriptor> {
        match v {
            None | Some(Value::Null) => {
                if required {
                    self.fail(pointer, "is required");
                }
                Vec::new()
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, d)| self.descriptor(d, &format!("{pointer}/{i}")))
                .collect(),
            Some(_) => {
                self.fail(pointer, "must be an array of descriptors");
                Vec::new()
            }
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Parse and validate a manifest body pushed with `content_type`.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<ParsedManifest, ManifestError> {
    let one = |pointer: &str, reason: String| ManifestError {
        problems: vec![ManifestProblem {
            pointer: pointer.to_owned(),
            reason,
        }],
    };
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| one("", format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(one("", "must be a JSON object".into()));
    };
    let mut c = Checker {
        problems: Vec::new(),
    };

    let declared = match obj.get("mediaType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            c.fail("/mediaType", "must be a string");
            None
        }
    };
    let header = content_type.map(media::essence).filter(|s| !s.is_empty());
    let effective = match (&declared, &header) {
        (Some(d), Some(h)) if d != h && ManifestKind::from_media_type(h).is_some() => {
            c.fail(
                "/mediaType",
                format!("{d:?} differs from the Content-Type header {h:?}"),
            );
            None
        }
        (Some(d), _) => Some(d.clone()),
        (None, Some(h)) if ManifestKind::from_media_type(h).is_some() => Some(h.clone()),
        (None, _) => infer(&obj).map(str::to_owned),
    };
    let kind = match effective.as_deref() {
        Some(mt) => match ManifestKind::from_media_type(mt) {
            Some(k) => Some(k),
            None if mt == media::DOCKER_MANIFEST_V1 || mt == media::DOCKER_MANIFEST_V1_SIGNED => {
                c.fail("/mediaType", "Docker schema 1 manifests are not supported");
                None
            }
            None => {
                c.fail(
                    "/mediaType",
                    format!("unsupported manifest media type {mt:?}"),
                );
                None
            }
        },
        None => {
            if c.problems.is_empty() {
                c.fail("/mediaType", "cannot tell the manifest type: set mediaType");
            }
            None
        }
    };

    match obj.get("schemaVersion") {
        Some(Value::Number(n)) if n.as_u64() == Some(2) => {}
        Some(_) => c.fail("/schemaVersion", "must be 2"),
        None => c.fail("/schemaVersion", "is required"),
    }

    let Some(kind) = kind else {
        return Err(ManifestError {
            problems: c.problems,
        });
    };

    let mut parsed = ParsedManifest {
        kind,
        config: None,
        layers: Vec::new(),
        manifests: Vec::new(),
        subject: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    if kind.is_index() {
        parsed.manifests = c.descriptor_list(obj.get("manifests"), "/manifests", true);
        for field in ["config", "layers"] {
            if obj.contains_key(field) && kind == ManifestKind::OciIndex {
                c.fail(format!("/{field}"), "is not allowed in an image index");
            }
        }
    } else {
        match obj.get("config") {
            Some(v) => parsed.config = c.descriptor(v, "/config"),
            None => c.fail("/config", "is required"),
        }
        parsed.layers = c.descriptor_list(obj.get("layers"), "/layers", true);
        if obj.contains_key("manifests") {
            c.fail("/manifests", "is not allowed in an image manifest");
        }
    }
    if let Some(s) = obj.get("subject").filter(|v| !v.is_null()) {
        parsed.subject = c.descriptor(s, "/subject");
    }
    parsed.artifact_type = c.media_type_field(obj.get("artifactType"), "/artifactType", false);
    parsed.annotations = c.string_map(obj.get("annotations"), "/annotations");

    if c.problems.is_empty() {
        Ok(parsed)
    } else {
        Err(ManifestError {
            problems: c.problems,
        })
    }
}

fn infer(obj: &Map<String, Value>) -> Option<&'static str> {
    if obj.contains_key("manifests") {
        Some(media::OCI_INDEX)
    } else if obj.contains_key("config") || obj.contains_key("layers") {
        Some(media::OCI_MANIFEST)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &[u8]) -> String {
        Digest::sha256(s).to_string()
    }

    fn manifest() -> Value {
        json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "artifactType": media::OSSA_AGENT_ARTIFACT,
            "config": {"mediaType": media::OCI_EMPTY, "digest": d(b"{}"), "size": 2, "data": "e30="},
            "layers": [
                {"mediaType": media::OSSA_MANIFEST_YAML, "digest": d(b"a"), "size": 1,
                 "annotations": {"org.opencontainers.image.title": "manifest.yaml"}}
            ],
            "subject": {"mediaType": media::OCI_MANIFEST, "digest": d(b"s"), "size": 10},
            "annotations": {"k": "v"}
        })
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap_or_default()
    }

    #[test]
    fn parses_an_artifact_manifest_with_subject() {
        let p =
            parse(Some(media::OCI_MANIFEST), &bytes(&manifest())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.kind, ManifestKind::OciManifest);
        assert_eq!(p.referenced_blobs().len(), 2);
        assert_eq!(p.subject.as_ref().map(|s| s.size), Some(10));
        assert_eq!(
            p.referrer_artifact_type().as_deref(),
            Some(media::OSSA_AGENT_ARTIFACT)
        );
        assert_eq!(p.layers[0].title(), Some("manifest.yaml"));
    }

    #[test]
    fn referrer_artifact_type_falls_back_to_config_media_type() {
        let mut m = manifest();
        m.as_object_mut().map(|o| o.remove("artifactType"));
        let p = parse(None, &bytes(&m)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.referrer_artifact_type().as_deref(),
            Some(media::OCI_EMPTY)
        );
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let m = json!({
            "schemaVersion": 3,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": "nope", "digest": "sha256:xyz", "size": -1},
            "layers": [{"mediaType": "a/b", "digest": d(b"a")}],
            "annotations": {"k": 1}
        });
        let e = parse(None, &bytes(&m))
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        let pointers: Vec<&str> = e.problems.iter().map(|p| p.pointer.as_str()).collect();
        for want in [
            "/schemaVersion",
            "/config/mediaType",
            "/config/digest",
            "/config/size",
            "/layers/0/size",
            "/annotations/k",
        ] {
            assert!(pointers.contains(&want), "{want} missing from {pointers:?}");
        }
    }

    #[test]
    fn refuses_mismatched_content_type_and_bad_data() {
        let e = parse(Some(media::OCI_INDEX), &bytes(&manifest()));
        assert!(e.is_err());
        let mut m = manifest();
        m["config"]["data"] = json!("e31=");
        assert!(parse(None, &bytes(&m)).is_err());
        assert!(parse(None, b"{\"schemaVersion\":2").is_err());
        assert!(parse(None, b"[]").is_err());
        assert!(parse(None, b"{\"schemaVersion\":2}").is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(None, deep.as_bytes()).is_err());
    }

    #[test]
    fn null_optional_descriptor_fields_are_absent() {
        let mut m = manifest();
        for field in ["data", "artifactType", "urls", "annotations", "platform"] {
            m["config"][field] = Value::Null;
            m["layers"][0][field] = Value::Null;
        }
        let p = parse(Some(media::OCI_MANIFEST), &bytes(&m)).unwrap_or_else(|e| panic!("{e}"));
        let config = p.config.unwrap_or_else(|| panic!("no config"));
        assert_eq!(config.data, None);
        assert_eq!(config.platform, None);
        assert_eq!(config.artifact_type, None);
        // A present `data` of the wrong type is still refused, naming the field.
        m["layers"][0]["data"] = json!(5);
        let e = parse(Some(media::OCI_MANIFEST), &bytes(&m))
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(
            e.to_string()
                .contains("/layers/0/data: must be a base64 string"),
            "{e}"
        );
    }

    #[test]
    fn indexes_and_docker_lists_parse() {
        let idx = json!({
            "schemaVersion": 2,
            "mediaType": media::DOCKER_MANIFEST_LIST,
            "manifests": [{"mediaType": media::DOCKER_MANIFEST, "digest": d(b"m"), "size": 5,
                           "platform": {"os": "linux", "architecture": "amd64"}}]
        });
        let p = parse(Some(media::DOCKER_MANIFEST_LIST), &bytes(&idx))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.kind.is_index());
        assert_eq!(p.child_manifests().len(), 1);
        assert_eq!(p.referrer_artifact_type(), None);
    }
}
