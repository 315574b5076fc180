//! The published JSON Schemas each format is validated against, embedded in the binary and
//! compiled once, on first use, then shared.
//!
//! Sources and licences of every file under `schemas/` are listed in `schemas/PROVENANCE.md`.
//! The three schemas under `schemas/agentry/` are written by agentry from documents that
//! publish a structure but no schema file (the whitepaper §3.1 OSSA v1 manifest, NANDA
//! AgentFacts, the simple registry JSON of Figure 5 of the federation paper).

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::report::{Problem, ProblemSource};

/// Every schema agentry validates against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaId {
    A2a020,
    A2a021,
    A2a022,
    A2a023,
    A2a024,
    A2a025,
    A2a026,
    A2a030,
    A2a100,
    A2a101,
    McpLegacy20250702,
    Mcp20250709,
    Mcp20250916,
    Mcp20250929,
    Mcp20251011,
    Mcp20251017,
    Mcp20251211,
    Oasf031,
    Oasf070,
    Oasf080,
    Ossa022,
    Ossa023,
    Ossa024,
    Ossa025,
    Ossa026,
    Ossa028,
    Ossa029,
    Ossa030,
    Ossa031,
    Ossa032,
    Ossa035,
    Ossa036,
    Ossa04Agent,
    Ossa05Agent,
    Ossa04Skill,
    Ossa04Mcp,
    Ossa1Skill,
    Ossa1Mcp,
    OssaAiV1,
    NandaAgentFacts,
    SimpleJson,
    OssaCapabilities,
}

const COUNT: usize = SchemaId::OssaCapabilities as usize + 1;

impl SchemaId {
    /// The file name of the schema as shipped.
    pub fn file(self) -> &'static str {
        self.source().0
    }

    fn source(self) -> (&'static str, &'static str) {
        macro_rules! s {
            ($p:literal) => {
                ($p, include_str!(concat!("../schemas/", $p)))
            };
        }
        match self {
            SchemaId::A2a020 => s!("a2a/a2a-v0.2.0.json"),
            SchemaId::A2a021 => s!("a2a/a2a-v0.2.1.json"),
            SchemaId::A2a022 => s!("a2a/a2a-v0.2.2.json"),
            SchemaId::A2a023 => s!("a2a/a2a-v0.2.3.json"),
            SchemaId::A2a024 => s!("a2a/a2a-v0.2.4.json"),
            SchemaId::A2a025 => s!("a2a/a2a-v0.2.5.json"),
            SchemaId::A2a026 => s!("a2a/a2a-v0.2.6.json"),
            SchemaId::A2a030 => s!("a2a/a2a-v0.3.0.json"),
            SchemaId::A2a100 => s!("a2a/a2a-v1.0.0.json"),
            SchemaId::A2a101 => s!("a2a/a2a-v1.0.1.json"),
            SchemaId::McpLegacy20250702 => s!("mcp/server-legacy-2025-07-02.schema.json"),
            SchemaId::Mcp20250709 => s!("mcp/server-2025-07-09.schema.json"),
            SchemaId::Mcp20250916 => s!("mcp/server-2025-09-16.schema.json"),
            SchemaId::Mcp20250929 => s!("mcp/server-2025-09-29.schema.json"),
            SchemaId::Mcp20251011 => s!("mcp/server-2025-10-11.schema.json"),
            SchemaId::Mcp20251017 => s!("mcp/server-2025-10-17.schema.json"),
            SchemaId::Mcp20251211 => s!("mcp/server-2025-12-11.schema.json"),
            SchemaId::Oasf031 => s!("oasf/oasf-0.3.1-record.schema.json"),
            SchemaId::Oasf070 => s!("oasf/oasf-0.7.0-record.schema.json"),
            SchemaId::Oasf080 => s!("oasf/oasf-0.8.0-record.schema.json"),
            SchemaId::Ossa022 => s!("ossa/ossa-0.2.2.schema.json"),
            SchemaId::Ossa023 => s!("ossa/ossa-0.2.3.schema.json"),
            SchemaId::Ossa024 => s!("ossa/ossa-0.2.4.schema.json"),
            SchemaId::Ossa025 => s!("ossa/ossa-0.2.5.schema.json"),
            SchemaId::Ossa026 => s!("ossa/ossa-0.2.6.schema.json"),
            SchemaId::Ossa028 => s!("ossa/ossa-0.2.8.schema.json"),
            SchemaId::Ossa029 => s!("ossa/ossa-0.2.9.schema.json"),
            SchemaId::Ossa030 => s!("ossa/ossa-0.3.0.schema.json"),
            SchemaId::Ossa031 => s!("ossa/ossa-0.3.1.schema.json"),
            SchemaId::Ossa032 => s!("ossa/ossa-0.3.2.schema.json"),
            SchemaId::Ossa035 => s!("ossa/ossa-0.3.5.schema.json"),
            SchemaId::Ossa036 => s!("ossa/ossa-0.3.6.schema.json"),
            SchemaId::Ossa04Agent => s!("ossa/v0.4_agent.schema.json"),
            SchemaId::Ossa05Agent => s!("ossa/v0.5_agent.schema.json"),
            SchemaId::Ossa04Skill => s!("ossa/v0.4_skill.schema.json"),
            SchemaId::Ossa04Mcp => s!("ossa/v0.4_mcp.schema.json"),
            SchemaId::Ossa1Skill => s!("ossa/v1_skill.schema.json"),
            SchemaId::Ossa1Mcp => s!("ossa/v1_mcp.schema.json"),
            SchemaId::OssaAiV1 => s!("agentry/ossa.ai-v1.schema.json"),
            SchemaId::NandaAgentFacts => s!("agentry/nanda-agentfacts-v1.schema.json"),
            SchemaId::SimpleJson => s!("agentry/simple-registry-v1.schema.json"),
            SchemaId::OssaCapabilities => s!("agentry/ossa-capabilities-v1.schema.json"),
        }
    }

    /// Prepares the raw schema for compilation: A2A bundles keep the card under a definition,
    /// and the 1.0 bundles refer to sibling files by name, which are rewritten to local refs.
    fn prepared(self) -> Result<Value, String> {
        let (file, text) = self.source();
        let mut v: Value =
            serde_json::from_str(text).map_err(|e| format!("schema {file} is not JSON: {e}"))?;
        match self {
            SchemaId::A2a020
            | SchemaId::A2a021
            | SchemaId::A2a022
            | SchemaId::A2a023
            | SchemaId::A2a024
            | SchemaId::A2a025
            | SchemaId::A2a026
            | SchemaId::A2a030 => {
                if let Value::Object(m) = &mut v {
                    m.insert(
                        "$ref".into(),
                        Value::String("#/definitions/AgentCard".into()),
                    );
                }
                Ok(v)
            }
            SchemaId::A2a100 | SchemaId::A2a101 => a2a_v1_bundle(v, file),
            SchemaId::Oasf070 | SchemaId::Oasf080 => {
                // Skill and domain items are a `oneOf` over every class (up to 180), each a
                // pair of `const`s: checked instead by a lookup with the same semantics
                // (`crate::formats::oasf::class_problems`), here only their shape.
                for key in ["skills", "domains"] {
                    if let Some(items) = v.pointer_mut(&format!("/properties/{key}/items")) {
                        *items = serde_json::json!({
                            "type": "object",
                            "additionalProperties": false,
                            "anyOf": [{"required": ["name"]}, {"required": ["id"]}],
                            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}
                        });
                    }
                }
                Ok(v)
            }
            _ => Ok(v),
        }
    }

    /// The schema file as shipped, unmodified.
    pub fn text(self) -> &'static str {
        self.source().1
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Rewrites the A2A 1.0 proto-generated bundle (definitions keyed by title, refs naming the
/// generator's per-message files) into one self-contained schema rooted at the Agent Card.
fn a2a_v1_bundle(v: Value, file: &str) -> Result<Value, String> {
    let defs = v
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("schema {file} has no definitions"))?;
    let mut out_defs = Map::new();
    for (title, def) in defs {
        let key: String = title.chars().filter(|c| !c.is_whitespace()).collect();
        let mut def = def.clone();
        rewrite_refs(&mut def);
        if let Value::Object(m) = &mut def {
            m.remove("$schema");
        }
        out_defs.insert(key, def);
    }
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        Value::String("https://json-schema.org/draft/2020-12/schema".into()),
    );
    root.insert("$ref".into(), Value::String("#/$defs/AgentCard".into()));
    root.insert("$defs".into(), Value::Object(out_defs));
    Ok(Value::Object(root))
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_suffix(".jsonschema.json")
            {
                let short = name.rsplit('.').next().unwrap_or(name);
                *r = format!("#/$defs/{short}");
            }
            for (_, child) in m.iter_mut() {
                rewrite_refs(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

type Compiled = Result<Validator, String>;

fn slots() -> &'static [OnceLock<Compiled>; COUNT] {
    static SLOTS: OnceLock<[OnceLock<Compiled>; COUNT]> = OnceLock::new();
    SLOTS.get_or_init(|| std::array::from_fn(|_| OnceLock::new()))
}

/// The compiled validator for `id`, compiled on first use. An `Err` means the embedded schema
/// itself is broken, which the test suite rules out for every id.
pub fn validator(id: SchemaId) -> Result<&'static Validator, &'static str> {
    let slot = &slots()[id.index()];
    slot.get_or_init(|| {
        let schema = id.prepared()?;
        jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|e| format!("schema {} does not compile: {e}", id.file()))
    })
    .as_ref()
    .map_err(String::as_str)
}

/// Validates `instance` against schema `id`, returning every violation as an error whose
/// pointer is prefixed with `base` (the record's place inside its document).
pub fn check(id: SchemaId, instance: &Value, base: &str) -> Vec<Problem> {
    match validator(id) {
        // `is_valid` short-circuits and builds no error values: the common case costs least.
        Ok(v) if v.is_valid(instance) => Vec::new(),
        Ok(v) => v
            .iter_errors(instance)
            .map(|e| {
                let ptr = format!("{base}{}", e.instance_path());
                Problem::error(
                    ProblemSource::Schema,
                    ptr,
                    schema_reason(&e.to_string(), id),
                )
            })
            .collect(),
        Err(msg) => vec![Problem::error(ProblemSource::Schema, base, msg.to_owned())],
    }
}

fn schema_reason(msg: &str, id: SchemaId) -> String {
    let mut m = msg.trim().to_owned();
    if m.len() > 400 {
        let mut cut = 400;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
        m.push('…');
    }
    format!("{m} (schema {})", id.file())
}

/// Every schema id, for tests and warm-up.
pub const ALL: [SchemaId; COUNT] = [
    SchemaId::A2a020,
    SchemaId::A2a021,
    SchemaId::A2a022,
    SchemaId::A2a023,
    SchemaId::A2a024,
    SchemaId::A2a025,
    SchemaId::A2a026,
    SchemaId::A2a030,
    SchemaId::A2a100,
    SchemaId::A2a101,
    SchemaId::McpLegacy20250702,
    SchemaId::Mcp20250709,
    SchemaId::Mcp20250916,
    SchemaId::Mcp20250929,
    SchemaId::Mcp20251011,
    SchemaId::Mcp20251017,
    SchemaId::Mcp20251211,
    SchemaId::Oasf031,
    SchemaId::Oasf070,
    SchemaId::Oasf080,
    SchemaId::Ossa022,
    SchemaId::Ossa023,
    SchemaId::Ossa024,
    SchemaId::Ossa025,
    SchemaId::Ossa026,
    SchemaId::Ossa028,
    SchemaId::Ossa029,
    SchemaId::Ossa030,
    SchemaId::Ossa031,
    SchemaId::Ossa032,
    SchemaId::Ossa035,
    SchemaId::Ossa036,
    SchemaId::Ossa04Agent,
    SchemaId::Ossa05Agent,
    SchemaId::Ossa04Skill,
    SchemaId::Ossa04Mcp,
    SchemaId::Ossa1Skill,
    SchemaId::Ossa1Mcp,
    SchemaId::OssaAiV1,
    SchemaId::NandaAgentFacts,
    SchemaId::SimpleJson,
    SchemaId::OssaCapabilities,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        for id in ALL {
            assert_eq!(ALL[id.index()], id);
            if let Err(e) = validator(id) {
                panic!("{id:?}: {e}");
            }
        }
    }
}
