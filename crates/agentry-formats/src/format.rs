//! Formats, their versions, and the media types their documents carry as OCI layers.

use std::fmt;
use std::str::FromStr;

pub use agentry_types::record::SourceFormat as Format;
use serde::{Deserialize, Serialize};

/// A format and the version of it a document is written in, exactly as the document states it
/// (`ossa/v0.4.6`, `0.3.0`, `v0.5.0`, `2025-12-11`, `legacy-2025-07-02`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormatVersion {
    pub format: Format,
    pub version: String,
}

impl FormatVersion {
    pub fn new(format: Format, version: impl Into<String>) -> FormatVersion {
        FormatVersion {
            format,
            version: version.into(),
        }
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.format.as_str(), self.version)
    }
}

/// Parses a format name (`ossa`, `a2a`, `oasf`, `mcp`, `nanda`, `simple`; a few aliases).
pub fn parse_format(s: &str) -> Option<Format> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "ossa" => Format::Ossa,
        "a2a" | "agent-card" | "agentcard" => Format::A2a,
        "oasf" | "agntcy" => Format::Oasf,
        "mcp" | "server.json" => Format::Mcp,
        "nanda" | "agentfacts" => Format::Nanda,
        "simple" | "json" => Format::Simple,
        _ => return None,
    })
}

/// A conversion target as written on a command line: `a2a`, `a2a@0.3.0`, `ossa@ossa/v0.5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub format: Format,
    /// `None` means the format's default version for writing.
    pub version: Option<String>,
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        let (f, v) = match s.split_once('@') {
            Some((f, v)) => (f, Some(v.trim().to_owned())),
            None => (s, None),
        };
        let format = parse_format(f).ok_or_else(|| {
            format!("unknown format {f:?} (known: ossa, a2a, oasf, mcp, nanda, simple)")
        })?;
        if matches!(&v, Some(v) if v.is_empty()) {
            return Err(format!("empty version after '@' in {s:?}"));
        }
        Ok(Target { format, version: v })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.format.as_str()),
            None => f.write_str(self.format.as_str()),
        }
    }
}

/// Media type of the whitepaper's capabilities layer (skill schemas), merged into the record.
pub const CAPABILITIES_MEDIA_TYPE: &str = agentry_types::media::OSSA_CAPABILITIES;

/// Registered media types of each format's document when stored as an OCI layer. The first of
/// each list is the one agentry writes; the others are accepted on push.
///
/// - OSSA: `application/vnd.ossa.manifest.v1+yaml` is the whitepaper's (§5.1); `+json` is its
///   JSON twin.
/// - A2A and AGNTCY: the names AGNTCY's directory design uses for cards and records.
/// - MCP, NANDA, simple JSON: no registered name exists upstream; these follow the same
///   `vnd.<project>.<document>.v1+<syntax>` pattern.
const MEDIA_TYPES: &[(Format, &[&str])] = &[
    (
        Format::Ossa,
        &[
            agentry_types::media::OSSA_MANIFEST_YAML,
            agentry_types::media::OSSA_MANIFEST_JSON,
        ],
    ),
    (
        Format::A2a,
        &[
            "application/vnd.a2a.card.v1+json",
            "application/vnd.a2a.agent-card+json",
        ],
    ),
    (
        Format::Oasf,
        &[
            "application/vnd.agntcy.dir.record.v1+json",
            "application/vnd.agntcy.oasf.record.v1+json",
        ],
    ),
    (
        Format::Mcp,
        &[
            "application/vnd.mcp.server.v1+json",
            "application/vnd.mcp.card.v1+json",
        ],
    ),
    (Format::Nanda, &["application/vnd.nanda.agentfacts.v1+json"]),
    (
        Format::Simple,
        &["application/vnd.agentry.simple-agent.v1+json"],
    ),
];

/// The media type agentry uses for a document of `format`.
pub fn media_type_for(format: Format) -> &'static str {
    MEDIA_TYPES
        .iter()
        .find(|(f, _)| *f == format)
        .and_then(|(_, m)| m.first().copied())
        .unwrap_or("application/json")
}

/// The registered spelling of `media_type` among `format`'s types, if it is one of them (case
/// and parameters ignored).
pub fn registered_media_type(format: Format, media_type: &str) -> Option<&'static str> {
    let mt = strip_params(media_type);
    MEDIA_TYPES
        .iter()
        .filter(|(f, _)| *f == format)
        .flat_map(|(_, list)| list.iter().copied())
        .find(|m| m.eq_ignore_ascii_case(mt))
}

/// The format a registered media type names (parameters such as `; charset=utf-8` ignored).
pub fn format_for_media_type(media_type: &str) -> Option<Format> {
    let mt = strip_params(media_type);
    MEDIA_TYPES
        .iter()
        .find(|(_, list)| list.iter().any(|m| m.eq_ignore_ascii_case(mt)))
        .map(|(f, _)| *f)
}

/// Is this the media type of an agent description layer agentry reads (any format, or the
/// capabilities layer)?
pub fn is_record_media_type(media_type: &str) -> bool {
    format_for_media_type(media_type).is_some() || is_capabilities_media_type(media_type)
}

/// Is this the whitepaper's capabilities layer?
pub fn is_capabilities_media_type(media_type: &str) -> bool {
    strip_params(media_type).eq_ignore_ascii_case(CAPABILITIES_MEDIA_TYPE)
}

fn strip_params(mt: &str) -> &str {
    mt.split(';').next().unwrap_or(mt).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_round_trip_and_targets_parse() {
        for f in Format::ALL {
            assert_eq!(format_for_media_type(media_type_for(f)), Some(f));
            assert!(is_record_media_type(media_type_for(f)));
        }
        assert_eq!(
            format_for_media_type("application/vnd.ossa.manifest.v1+yaml; charset=utf-8"),
            Some(Format::Ossa)
        );
        assert!(is_record_media_type(CAPABILITIES_MEDIA_TYPE));
        assert!(!is_record_media_type(
            "application/vnd.oci.image.layer.v1.tar+gzip"
        ));
        assert_eq!(
            "a2a@0.3.0".parse::<Target>(),
            Ok(Target {
                format: Format::A2a,
                version: Some("0.3.0".into())
            })
        );
        assert!("foo".parse::<Target>().is_err());
        assert!("a2a@".parse::<Target>().is_err());
    }
}
