//! The published JSON Schemas each format is validated against, embedded in the binary and
//! compiled once, on first use, then shared.
//!
//! A violation is an error when the document does not have the shape its schema gives it (a
//! wrong JSON type, a required member missing, no alternative of an `anyOf`/`oneOf` that fits)
//! and a warning when it is only something the schema does not list: a value outside an
//! `enum`/`const` or a bound (`pattern`, `minLength`, `maximum`, …), an empty string, a `null`
//! for a value, a member the schema does not declare. Real registries publish exactly those
//! (the MCP seed's `registry_name: "unknown"`, fields of other versions), and a registry that
//! bridges them cannot refuse what they publish ([`check`], ARCHITECTURE.md).
//!
//! Sources and licences of every file under `schemas/` are listed in `schemas/PROVENANCE.md`.
//! The three schemas under `schemas/agentry/` are written by agentry from documents that
//! publish a structure but no schema file (the whitepaper §3.1 OSSA v1 manifest, NANDA
//! AgentFacts, the simple registry JSON of Figure 5 of the federation paper).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind as Kind;
use jsonschema::{ValidationError, Validator};
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

/// Validates `instance` against schema `id`, returning every violation with a pointer prefixed
/// with `base` (the record's place inside its document): an error when the document does not
/// have its schema's shape, a warning when the schema only does not list what it holds.
pub fn check(id: SchemaId, instance: &Value, base: &str) -> Vec<Problem> {
    match validator(id) {
        // `is_valid` short-circuits and builds no error values: the common case costs least.
        Ok(v) if v.is_valid(instance) => Vec::new(),
        Ok(v) => v
            .iter_errors(instance)
            .map(|e| {
                let ptr = format!("{base}{}", e.instance_path());
                let msg = schema_reason(&e.to_string(), id);
                match tolerance(&e) {
                    None => Problem::error(ProblemSource::Schema, ptr, msg),
                    Some(why) => Problem::warning(
                        ProblemSource::Schema,
                        ptr,
                        format!("{msg}{ACCEPTED}{why}"),
                    ),
                }
            })
            .collect(),
        Err(msg) => vec![Problem::error(ProblemSource::Schema, base, msg.to_owned())],
    }
}

/// What joins a tolerated violation's message to the reason it is accepted.
pub const ACCEPTED: &str = "; accepted: ";

/// Makes an error of every tolerated violation at one of `names` (pointers relative to `base`,
/// the record's place in its document) or below it: a record's name follows its format's
/// grammar, or the record is refused.
pub fn refuse_at_name(problems: &mut [Problem], base: &str, names: &[&str]) {
    for p in problems.iter_mut() {
        let at = p.pointer.strip_prefix(base).unwrap_or_default();
        let hit = names.iter().any(|i| {
            at.strip_prefix(i)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if p.source == ProblemSource::Schema && !p.is_error() && hit {
            let msg = p.reason.split_once(ACCEPTED).map_or(&*p.reason, |(m, _)| m);
            p.reason = format!("{msg}; an agent's name must follow its format's grammar");
            p.severity = crate::report::Severity::Error;
        }
    }
}

/// Why a violation is accepted, or `None` when it refuses the document.
fn tolerance(e: &ValidationError<'_>) -> Option<&'static str> {
    let empty = matches!(e.instance().as_ref(), Value::String(s) if s.is_empty());
    match e.kind() {
        Kind::Enum { .. } | Kind::Constant { .. } => Some("a value the schema does not list"),
        Kind::AdditionalProperties { .. }
        | Kind::UnevaluatedProperties { .. }
        | Kind::PropertyNames { .. } => Some("a field the schema does not list"),
        Kind::AdditionalItems { .. } | Kind::UnevaluatedItems { .. } => {
            Some("items the schema does not list")
        }
        Kind::MinLength { .. } | Kind::Pattern { .. } | Kind::Format { .. } if empty => {
            Some("an empty string")
        }
        Kind::MinLength { .. }
        | Kind::MaxLength { .. }
        | Kind::Pattern { .. }
        | Kind::Format { .. }
        | Kind::BacktrackLimitExceeded { .. }
        | Kind::RegexEngineFailure { .. }
        | Kind::Minimum { .. }
        | Kind::Maximum { .. }
        | Kind::ExclusiveMinimum { .. }
        | Kind::ExclusiveMaximum { .. }
        | Kind::MultipleOf { .. }
        | Kind::MinItems { .. }
        | Kind::MaxItems { .. }
        | Kind::UniqueItems
        | Kind::Contains
        | Kind::MinProperties { .. }
        | Kind::MaxProperties { .. }
        | Kind::ContentEncoding { .. }
        | Kind::ContentMediaType { .. }
        | Kind::FromUtf8 { .. } => Some("a value outside the bounds the schema sets"),
        Kind::Type { .. } if e.instance().is_null() => Some("null for a value, read as absent"),
        Kind::OneOfMultipleValid { .. } => Some("it fits more than one alternative"),
        // An alternative fits but for what the schema does not list.
        Kind::AnyOf { context } | Kind::OneOfNotValid { context } => context
            .iter()
            .any(|branch| !branch.is_empty() && branch.iter().all(|b| tolerance(b).is_some()))
            .then_some("one alternative fits but for what the schema does not list"),
        Kind::Type { .. }
        | Kind::Required { .. }
        | Kind::Not { .. }
        | Kind::FalseSchema
        | Kind::Custom { .. }
        | Kind::Referencing(_) => None,
    }
}

/// How a schema treats a member at some pointer of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// The schema declares it (in `properties`, `patternProperties`, `items`, or a typed map).
    Yes,
    /// The schema neither declares nor forbids it: it is accepted without a word.
    Undeclared,
    /// The schema forbids it (`additionalProperties: false`): the check already reports it.
    Forbidden,
}

/// Does schema `id` declare the member at `pointer` (an RFC 6901 pointer into a document)?
/// Every alternative (`allOf`, `anyOf`, `oneOf`, `if`/`then`/`else`, local `$ref`) counts, so
/// a member one alternative declares is declared.
pub fn declared(id: SchemaId, pointer: &str) -> Declared {
    let Some(root) = prepared(id) else {
        return Declared::Yes;
    };
    let mut here = applicable(root, root);
    for seg in pointer.split('/').skip(1) {
        let seg = crate::obj::unesc(seg);
        let mut next = Vec::new();
        let mut forbidden = false;
        for s in &here {
            match member(s, &seg) {
                Member::Schema(sub) => next.push(sub),
                Member::Forbidden => forbidden = true,
                Member::Open => {}
            }
        }
        if next.is_empty() {
            // A member one alternative leaves open is not forbidden by the others.
            let open = here.iter().any(|s| matches!(member(s, &seg), Member::Open));
            return if forbidden && !open {
                Declared::Forbidden
            } else {
                Declared::Undeclared
            };
        }
        here = next.into_iter().flat_map(|s| applicable(root, s)).collect();
    }
    Declared::Yes
}

enum Member<'a> {
    Schema(&'a Value),
    Open,
    Forbidden,
}

/// The subschema `s` gives member `seg` (a key, or an index for arrays).
fn member<'a>(s: &'a Value, seg: &str) -> Member<'a> {
    let Value::Object(m) = s else {
        // `true` accepts anything; `false` nothing.
        return if s == &Value::Bool(false) {
            Member::Forbidden
        } else {
            Member::Open
        };
    };
    if let Some(sub) = m.get("properties").and_then(|p| p.get(seg)) {
        return Member::Schema(sub);
    }
    if let Some(Value::Object(pp)) = m.get("patternProperties") {
        for (pattern, sub) in pp {
            if pattern_matches(pattern, seg) {
                return Member::Schema(sub);
            }
        }
    }
    if let Ok(i) = seg.parse::<usize>() {
        if let Some(sub) = m.get("prefixItems").and_then(|p| p.get(i)) {
            return Member::Schema(sub);
        }
        if let Some(sub @ Value::Object(_)) = m.get("items") {
            return Member::Schema(sub);
        }
        if let Some(Value::Array(list)) = m.get("items")
            && let Some(sub) = list.get(i)
        {
            return Member::Schema(sub);
        }
    }
    for key in ["additionalProperties", "unevaluatedProperties"] {
        match m.get(key) {
            Some(Value::Bool(false)) => return Member::Forbidden,
            Some(sub @ Value::Object(_)) => return Member::Schema(sub),
            _ => {}
        }
    }
    Member::Open
}

/// Does the `patternProperties` key `pattern` match `key`? Each pattern is compiled once (the
/// embedded schemas hold a few dozen); one the `regex` crate cannot compile matches nothing.
fn pattern_matches(pattern: &str, key: &str) -> bool {
    static COMPILED: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let mut cache = COMPILED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache
        .entry(pattern.to_owned())
        .or_insert_with(|| regex::Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|re| re.is_match(key))
}

/// `s` and every subschema that applies at the same place: local `$ref`s, `allOf`, `anyOf`,
/// `oneOf`, `if`/`then`/`else`, `dependentSchemas`.
fn applicable<'a>(root: &'a Value, s: &'a Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut stack = vec![(s, 0u8)];
    while let Some((s, depth)) = stack.pop() {
        if depth > 32 || out.iter().any(|o: &&Value| std::ptr::eq(*o, s)) {
            continue;
        }
        out.push(s);
        let Value::Object(m) = s else { continue };
        if let Some(Value::String(r)) = m.get("$ref")
            && let Some(target) = r
                .strip_prefix('#')
                .and_then(|p| root.pointer(&p.replace("%24", "$")))
        {
            stack.push((target, depth + 1));
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(list)) = m.get(key) {
                stack.extend(list.iter().map(|x| (x, depth + 1)));
            }
        }
        for key in ["if", "then", "else"] {
            if let Some(x) = m.get(key) {
                stack.push((x, depth + 1));
            }
        }
        if let Some(Value::Object(d)) = m.get("dependentSchemas") {
            stack.extend(d.values().map(|x| (x, depth + 1)));
        }
    }
    out
}

/// The prepared schema of `id`, kept for [`declared`].
fn prepared(id: SchemaId) -> Option<&'static Value> {
    static PREPARED: OnceLock<[OnceLock<Option<Value>>; COUNT]> = OnceLock::new();
    let slots = PREPARED.get_or_init(|| std::array::from_fn(|_| OnceLock::new()));
    slots[id.index()]
        .get_or_init(|| id.prepared().ok())
        .as_ref()
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
