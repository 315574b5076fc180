//! Automatic format and version detection from a parsed document.
//!
//! Each format has a field no other format uses at the top level (`apiVersion` for OSSA,
//! `schema_version` for OASF, `agent_name` for NANDA, `agent_id` for the simple JSON, …), so
//! detection looks at keys only, never at values it would have to trust. Each codec recognises
//! its own documents ([`crate::Codec::detect`]); they are asked in the order of
//! [`crate::codec::CODECS`]. Two wrappers seen in real data are unwrapped by their codecs:
//! oasf-sdk's `{"a2aCard": …}` and `{"server": …}`.

use serde_json::Value;

use crate::codec::CODECS;
use crate::format::{Format, FormatVersion};

/// What detection found: the format, its version as stated, and where the record sits inside
/// the document (`/a2aCard` or `/server` for wrapped documents, empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: FormatVersion,
    pub inner_pointer: &'static str,
}

impl Detected {
    /// A record that is the whole document.
    pub fn plain(format: FormatVersion) -> Detected {
        Detected {
            format,
            inner_pointer: "",
        }
    }
}

/// Why detection failed, in plain words.
pub type DetectError = String;

/// Detects the format of one record.
pub fn detect(v: &Value) -> Result<Detected, DetectError> {
    detect_as(v, None)
}

/// Detects the format of one record; an object no codec claims is read as `announced` (the
/// format a pushed layer's media type names), at that codec's default version, so that its
/// own schema names what the document lacks.
pub fn detect_as(v: &Value, announced: Option<Format>) -> Result<Detected, DetectError> {
    let Value::Object(m) = v else {
        return Err(format!(
            "expected a JSON object describing an agent, found {}",
            kind_of(v)
        ));
    };
    for c in CODECS {
        if let Some(found) = c.detect(m) {
            return found;
        }
    }
    if let Some(c) = announced.and_then(crate::codec::codec) {
        return Ok(Detected::plain(FormatVersion::new(
            c.format(),
            c.default_version(),
        )));
    }
    Err(
        "not a recognised agent description: expected an OSSA manifest (apiVersion), an A2A \
         Agent Card (name, url or supportedInterfaces, skills), an OASF record (schema_version), \
         an MCP server.json (name, $schema or packages/remotes), NANDA AgentFacts (agent_name) \
         or a simple registry entry (agent_id)"
            .into(),
    )
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fv(v: Value) -> String {
        detect(&v)
            .map(|d| d.format.to_string())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            fv(json!({"apiVersion": "ossa/v0.4.6", "kind": "Agent"})),
            "ossa@ossa/v0.4.6"
        );
        assert_eq!(
            fv(json!({"schema_version": "1.0.0", "name": "x"})),
            "oasf@1.0.0"
        );
        assert_eq!(fv(json!({"agent_id": "a"})), "simple@1");
        assert_eq!(
            fv(json!({"agent_name": "urn:agent:a:b", "label": "B"})),
            "nanda@agentfacts-v1"
        );
        assert_eq!(
            fv(
                json!({"$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json", "name": "a/b"})
            ),
            "mcp@2025-09-29"
        );
        assert_eq!(
            fv(json!({"name": "a/b", "version_detail": {}})),
            "mcp@legacy-2025-07-02"
        );
        assert_eq!(
            fv(json!({"name": "A", "url": "https://x", "skills": []})),
            "a2a@0.2.4"
        );
        assert_eq!(
            fv(json!({"name": "A", "supportedInterfaces": [], "skills": []})),
            "a2a@1.0.1"
        );
        assert_eq!(
            fv(json!({"a2aCard": {"name": "A", "protocolVersion": "0.3.0", "skills": []}})),
            "a2a@0.3.0"
        );
        assert!(detect(&json!([1])).is_err());
        assert!(detect(&json!({"hello": 1})).is_err());
        assert!(detect(&json!({"apiVersion": "v1", "kind": "Pod"})).is_err());
        assert!(detect(&json!({"schema_version": 1})).is_err());
    }
}
