//! Automatic format and version detection from a parsed document.
//!
//! Each format has a field no other format uses at the top level (`apiVersion` for OSSA,
//! `schema_version` for OASF, `agent_name` for NANDA, `agent_id` for the simple JSON, …), so
//! detection looks at keys only, never at values it would have to trust. Two wrappers seen in
//! real data are unwrapped: oasf-sdk's `{"a2aCard": …}` and `{"server": …}`.

use serde_json::{Map, Value};

use crate::format::{Format, FormatVersion};

/// What detection found: the format, its version as stated, and where the record sits inside
/// the document (`/a2aCard` or `/server` for wrapped documents, empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: FormatVersion,
    pub inner_pointer: &'static str,
}

/// Why detection failed, in plain words.
pub type DetectError = String;

/// Newest A2A release whose schema does not require `protocolVersion`: the version assumed for
/// cards that state none.
pub const A2A_UNVERSIONED: &str = "0.2.4";
/// Newest MCP `server.json` schema: the version assumed for documents without `$schema`.
pub const MCP_LATEST: &str = "2025-12-11";
/// The pre-release snake_case MCP registry format (the 2025-05-16 seed file).
pub const MCP_LEGACY: &str = "legacy-2025-07-02";
pub const NANDA_V1: &str = "agentfacts-v1";
pub const SIMPLE_V1: &str = "1";

/// Detects the format of one record.
pub fn detect(v: &Value) -> Result<Detected, DetectError> {
    let Value::Object(m) = v else {
        return Err(format!(
            "expected a JSON object describing an agent, found {}",
            kind_of(v)
        ));
    };
    if let Some(Value::Object(card)) = m.get("a2aCard")
        && m.len() == 1
    {
        return detect_a2a(card).map(|f| Detected {
            format: f,
            inner_pointer: "/a2aCard",
        });
    }
    if let Some(Value::Object(server)) = m.get("server")
        && m.len() <= 2
        && (m.len() == 1 || m.contains_key("_meta"))
        && let Some(f) = detect_mcp(server)
    {
        return Ok(Detected {
            format: f,
            inner_pointer: "/server",
        });
    }
    let plain = |format| {
        Ok(Detected {
            format,
            inner_pointer: "",
        })
    };
    if let Some(api) = m.get("apiVersion") {
        let Some(api) = api.as_str() else {
            return Err("apiVersion must be a string".into());
        };
        if api.starts_with("ossa/") || api.starts_with("ossa.ai/") {
            return plain(FormatVersion::new(Format::Ossa, api));
        }
        return Err(format!(
            "apiVersion {api:?} is not an OSSA manifest (expected ossa/v… or ossa.ai/v1)"
        ));
    }
    if let Some(sv) = m.get("schema_version") {
        return match sv.as_str() {
            Some(s) => plain(FormatVersion::new(Format::Oasf, s)),
            None => Err("OASF schema_version must be a string".into()),
        };
    }
    if m.contains_key("agent_name") && (m.contains_key("label") || m.contains_key("endpoints")) {
        return plain(FormatVersion::new(Format::Nanda, NANDA_V1));
    }
    if m.contains_key("agent_id") {
        return plain(FormatVersion::new(Format::Simple, SIMPLE_V1));
    }
    if let Some(f) = detect_mcp(m) {
        return plain(f);
    }
    if m.contains_key("skills")
        && (m.contains_key("url")
            || m.contains_key("supportedInterfaces")
            || m.contains_key("protocolVersion")
            || m.contains_key("defaultInputModes"))
    {
        return detect_a2a(m).map(|format| Detected {
            format,
            inner_pointer: "",
        });
    }
    Err(
        "not a recognised agent description: expected an OSSA manifest (apiVersion), an A2A \
         Agent Card (name, url or supportedInterfaces, skills), an OASF record (schema_version), \
         an MCP server.json (name, $schema or packages/remotes), NANDA AgentFacts (agent_name) \
         or a simple registry entry (agent_id)"
            .into(),
    )
}

fn detect_a2a(m: &Map<String, Value>) -> Result<FormatVersion, DetectError> {
    if let Some(pv) = m.get("protocolVersion") {
        return match pv.as_str() {
            Some(s) => Ok(FormatVersion::new(Format::A2a, s)),
            None => Err("A2A protocolVersion must be a string".into()),
        };
    }
    if m.contains_key("supportedInterfaces") || !m.contains_key("url") {
        return Ok(FormatVersion::new(Format::A2a, "1.0.1"));
    }
    Ok(FormatVersion::new(Format::A2a, A2A_UNVERSIONED))
}

fn detect_mcp(m: &Map<String, Value>) -> Option<FormatVersion> {
    if let Some(Value::String(s)) = m.get("$schema")
        && s.contains("modelcontextprotocol")
    {
        let date = s
            .split('/')
            .find(|seg| seg.len() == 10 && seg.as_bytes().get(4) == Some(&b'-'))
            .unwrap_or(MCP_LATEST);
        return Some(FormatVersion::new(Format::Mcp, date));
    }
    let legacy = m.contains_key("version_detail")
        || package_keys(m).any(|k| k == "registry_name" || k == "package_arguments")
        || remote_keys(m).any(|k| k == "transport_type");
    if legacy {
        return Some(FormatVersion::new(Format::Mcp, MCP_LEGACY));
    }
    let name_like = matches!(m.get("name"), Some(Value::String(n)) if n.contains('/'));
    let mcp_keys = ["packages", "remotes", "websiteUrl", "repository", "_meta"];
    if name_like && mcp_keys.iter().any(|k| m.contains_key(*k)) && !m.contains_key("skills") {
        return Some(FormatVersion::new(Format::Mcp, MCP_LATEST));
    }
    None
}

fn package_keys(m: &Map<String, Value>) -> impl Iterator<Item = &String> {
    m.get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|p| p.keys())
}

fn remote_keys(m: &Map<String, Value>) -> impl Iterator<Item = &String> {
    m.get("remotes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|p| p.keys())
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
    }
}
