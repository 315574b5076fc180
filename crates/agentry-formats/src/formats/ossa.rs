//! OSSA manifests, in two families:
//!
//! - `ossa.ai/v1`, the whitepaper's manifest (§3.1): the four questions under `spec`, which map
//!   one to one onto the canonical record. This is the version agentry writes by default.
//! - `ossa/v0.2.x` … `ossa/v0.5`, `ossa/v1`: the Open Standard Agents project's Kubernetes-style
//!   manifests (`metadata`, `spec.role`, `spec.llm`, `spec.tools`, …), validated against the
//!   project's schema for the stated `apiVersion`. Identity, description, labels, annotations,
//!   capabilities and the model's output cap map onto the record; everything else is kept in
//!   `extensions`.
//!
//! The layout is read from the document's structure, not from the apiVersion alone: a manifest
//! with the whitepaper's `spec` (see [`whitepaper_layout`]) is read, checked and written back
//! as the whitepaper's under any apiVersion, with a warning naming the mixed spelling, and
//! `provenance.layout` records which layout was read (`whitepaper` or `project`).

use agentry_types::context::ContextSpec;
use agentry_types::record::{AgentRecord, Skill};
use serde_json::{Map, Value};

use super::common::{self, check_name, check_semver};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::input::Syntax;
use crate::obj::{Obj, Out};
use crate::report::{Problem, ProblemSource};
use crate::schemas::{self, SchemaId};

pub const PREFIX: &str = "ossa";
pub const DEFAULT_VERSION: &str = "ossa.ai/v1";
pub const WHITEPAPER_V1: &str = "ossa.ai/v1";
/// `provenance.layout` of a manifest read in the whitepaper's §3.1 layout.
pub const LAYOUT_WHITEPAPER: &str = "whitepaper";
/// `provenance.layout` of a manifest read in the Open Standard Agents project's layout.
pub const LAYOUT_PROJECT: &str = "project";

/// Does `doc` have the whitepaper's §3.1 layout? Always for `ossa.ai/v1`; under any other
/// apiVersion when its `spec` has the whitepaper's structure — `spec.publisher`,
/// `spec.requirements`, or a `spec.capabilities` object with `skills` or `protocols` — which
/// no schema of the Open Standard Agents project gives `spec`. People copy §3.1 and write the
/// project's short apiVersion (`ossa/v1`); reading it by the apiVersion alone parked its
/// skills and protocols in `extensions`.
pub fn whitepaper_layout(version: &str, doc: &Value) -> bool {
    version == WHITEPAPER_V1
        || doc.get("spec").is_some_and(|spec| {
            spec.get("publisher").is_some()
                || spec.get("requirements").is_some()
                || spec
                    .get("capabilities")
                    .and_then(Value::as_object)
                    .is_some_and(|c| c.contains_key("skills") || c.contains_key("protocols"))
        })
}

/// Is `rec` written in the whitepaper layout as `version`? For `ossa.ai/v1`, and for the
/// version a whitepaper-layout manifest was read from (so it round-trips).
fn writes_whitepaper(rec: &AgentRecord, version: &str) -> bool {
    let p = &rec.provenance;
    version == WHITEPAPER_V1
        || (p.source_format == Format::Ossa
            && p.source_version.as_deref() == Some(version)
            && p.layout.as_deref() == Some(LAYOUT_WHITEPAPER))
}

const KINDS: [&str; 6] = ["Agent", "Task", "Workflow", "Flow", "Skill", "MCPServer"];

/// The record kind for an OSSA `kind` (`None` for Agent).
fn record_kind(kind: &str) -> Option<String> {
    match kind {
        "Agent" => None,
        "MCPServer" => Some("mcp-server".into()),
        other => Some(other.to_ascii_lowercase()),
    }
}

fn ossa_kind(rec_kind: Option<&str>) -> &'static str {
    match rec_kind {
        None => "Agent",
        Some("task") => "Task",
        Some("workflow") => "Workflow",
        Some("flow") => "Flow",
        Some("skill") => "Skill",
        Some("mcp-server") => "MCPServer",
        Some(_) => "Agent",
    }
}

/// `0.4.6` from `ossa/v0.4.6`.
fn numeric(version: &str) -> Option<&str> {
    version.strip_prefix("ossa/v")
}

/// The schema a document of `version` is checked against (`None`: not a version agentry reads).
fn schema_of(version: &str, doc: &Value) -> Option<SchemaId> {
    if whitepaper_layout(version, doc) {
        return Some(SchemaId::OssaAiV1);
    }
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("Agent");
    let n = numeric(version)?;
    let mm: Vec<&str> = n.split(['.', '-']).collect();
    let major_minor = (mm.first().copied(), mm.get(1).copied());
    let patch = mm.get(2).copied();
    Some(match (major_minor, kind) {
        ((Some("1"), _), "Skill") => SchemaId::Ossa1Skill,
        ((Some("1"), _), "MCPServer") => SchemaId::Ossa1Mcp,
        ((Some("0"), Some("4" | "5")), "Skill") => SchemaId::Ossa04Skill,
        ((Some("0"), Some("4" | "5")), "MCPServer") => SchemaId::Ossa04Mcp,
        ((Some("1"), _), _) => SchemaId::Ossa05Agent,
        ((Some("0"), Some("5")), _) => SchemaId::Ossa05Agent,
        ((Some("0"), Some("4")), _) => SchemaId::Ossa04Agent,
        ((Some("0"), Some("3")), _) => match patch {
            Some("0") => SchemaId::Ossa030,
            Some("1") => SchemaId::Ossa031,
            Some("2") => SchemaId::Ossa032,
            Some("5") => SchemaId::Ossa035,
            _ => SchemaId::Ossa036,
        },
        ((Some("0"), Some("2")), _) => match patch {
            Some("2") => SchemaId::Ossa022,
            Some("3") => SchemaId::Ossa023,
            Some("4") => SchemaId::Ossa024,
            Some("5") => SchemaId::Ossa025,
            Some("6") => SchemaId::Ossa026,
            Some("8") => SchemaId::Ossa028,
            _ => SchemaId::Ossa029,
        },
        _ => return None,
    })
}

const ABOUT: About = About {
    format: Format::Ossa,
    title: "OSSA manifest",
    versions: &["ossa/v0.2.2 … ossa/v0.5", "ossa/v1", "ossa.ai/v1"],
    default_version: DEFAULT_VERSION,
};

/// The OSSA codec.
pub struct Ossa;

impl Codec for Ossa {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        let api = m.get("apiVersion")?;
        let Some(api) = api.as_str() else {
            return Some(Err("apiVersion must be a string".into()));
        };
        Some(if api.starts_with("ossa/") || api.starts_with("ossa.ai/") {
            Ok(Detected::plain(FormatVersion::new(Format::Ossa, api)))
        } else {
            Err(format!(
                "apiVersion {api:?} is not an OSSA manifest (expected ossa/v… or ossa.ai/v1)"
            ))
        })
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/metadata/name", "/metadata/namespace"]
    }

    fn schema_for(&self, version: &str, doc: &Value) -> Result<Option<SchemaId>, String> {
        schema_of(version, doc)
            .map(Some)
            .ok_or_else(|| unsupported(self, version))
    }

    fn check(&self, version: &str, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
        let Some(id) = self.schema_for(version, doc)? else {
            return Ok(Vec::new());
        };
        if version == WHITEPAPER_V1 || !whitepaper_layout(version, doc) {
            return Ok(schemas::check(id, doc, ptr));
        }
        // The whitepaper's layout under another apiVersion: checked as the ossa.ai/v1 manifest
        // it is, and the mixed spelling named once.
        let mut as_whitepaper = doc.clone();
        if let Some(m) = as_whitepaper.as_object_mut() {
            m.insert("apiVersion".into(), Value::from(WHITEPAPER_V1));
        }
        let mut problems = schemas::check(id, &as_whitepaper, ptr);
        problems.push(Problem::warning(
            ProblemSource::Schema,
            format!("{ptr}/apiVersion"),
            format!(
                "apiVersion {version:?} with the whitepaper's §3.1 layout (spec.publisher, \
                 spec.capabilities.skills/protocols, spec.requirements): read and checked as \
                 {WHITEPAPER_V1}"
            ),
        ));
        Ok(problems)
    }

    fn read(&self, doc: Value, version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let mut rec = AgentRecord::default();
        let wp = whitepaper_layout(version, &doc);
        rec.provenance.layout = Some(
            if wp {
                LAYOUT_WHITEPAPER
            } else {
                LAYOUT_PROJECT
            }
            .into(),
        );
        let Some(mut root) = Obj::of(doc, "") else {
            return rec;
        };
        root.any("apiVersion");
        if let Some(kind) = root.peek_str("kind").map(str::to_owned) {
            if KINDS.contains(&kind.as_str()) {
                root.any("kind");
                rec.kind = record_kind(&kind);
            } else {
                problems.push(Problem::error(
                    ProblemSource::Semantic,
                    root.child_ptr("kind"),
                    format!(
                        "kind {kind:?} does not describe an agent (OSSA kinds agentry reads: {})",
                        KINDS.join(", ")
                    ),
                ));
            }
        }
        if let Some(mut md) = root.obj("metadata") {
            rec.identity.name = md.str("name").unwrap_or_default();
            rec.identity.namespace = md.str("namespace").unwrap_or_default();
            rec.identity.version = md.str("version").unwrap_or_default();
            rec.identity.display_name = md.str("displayName");
            rec.description = md.str("description").unwrap_or_default();
            rec.labels = md.string_map("labels");
            rec.annotations = md.string_map("annotations");
            if wp {
                // The whitepaper's metadata.digest names the artifact; the registry computes its own.
                if let Some(d) = md.peek_str("digest")
                    && d.parse::<agentry_types::Digest>().is_err()
                {
                    problems.push(Problem::warning(
                        ProblemSource::Semantic,
                        md.child_ptr("digest"),
                        format!(
                            "{d:?} is not a digest (algorithm:hex); the registry's own digest is used"
                        ),
                    ));
                }
            }
            check_name(&rec.identity.name, &md.child_ptr("name"), problems);
            check_semver(&rec.identity.version, &md.child_ptr("version"), problems);
            md.finish(PREFIX, &mut rec.extensions);
        }
        if let Some(mut spec) = root.obj("spec") {
            if rec.description.is_empty() {
                rec.description = spec.str("description").unwrap_or_default();
            }
            if wp {
                read_whitepaper_spec(&mut spec, &mut rec, problems);
            } else {
                read_project_spec(&mut spec, &mut rec);
            }
            spec.finish(PREFIX, &mut rec.extensions);
        }
        root.finish(PREFIX, &mut rec.extensions);
        rec
    }

    fn build(
        &self,
        rec: &AgentRecord,
        version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String> {
        let mut root = Out::new();
        root.set("apiVersion", version);
        let kind = ossa_kind(rec.kind.as_deref());
        root.set("kind", kind);
        let mut md = Out::new();
        md.set("name", rec.identity.name.clone());
        md.non_empty("namespace", &rec.identity.namespace);
        md.non_empty("version", &rec.identity.version);
        md.non_empty("description", &rec.description);
        md.string_map("labels", &rec.labels);
        md.string_map("annotations", &rec.annotations);
        let mut spec = Out::new();
        let wp = writes_whitepaper(rec, version);
        if wp {
            md.opt_str("displayName", &rec.identity.display_name);
            if kind != "Agent" {
                common::lost("kind", version, warnings);
            }
            common::write_four_questions(rec, &mut spec);
            let mut caps = Out::new();
            caps.arr("protocols", common::write_protocols(&rec.protocols));
            caps.arr("skills", common::write_ossa_skills(&rec.skills));
            caps.arr("domains", common::taxonomy_out(&rec.domains));
            spec.obj("capabilities", caps);
            root.set("kind", "Agent");
        } else {
            if rec.identity.display_name.is_some() {
                common::lost("identity.display_name", version, warnings);
            }
            write_project_spec(rec, version, kind, &mut spec, warnings);
        }
        root.obj("metadata", md);
        if wp || !spec.0.is_empty() || kind == "Agent" {
            root.set("spec", Value::Object(spec.0));
        }
        Ok(root.into_value())
    }

    fn syntax(&self) -> Syntax {
        Syntax::Yaml
    }

    fn media_type(&self, syntax: Syntax) -> &'static str {
        match syntax {
            Syntax::Yaml => agentry_types::media::OSSA_MANIFEST_YAML,
            // The JSON twin, so a pushed document keeps the type matching its bytes.
            Syntax::Json => agentry_types::media::OSSA_MANIFEST_JSON,
        }
    }

    fn context_pointer(&self, rec: &AgentRecord) -> Option<&'static str> {
        (rec.provenance.layout.as_deref() == Some(LAYOUT_WHITEPAPER))
            .then_some("/spec/requirements/context")
    }
}

fn read_whitepaper_spec(spec: &mut Obj, rec: &mut AgentRecord, problems: &mut Vec<Problem>) {
    common::read_four_questions(spec, PREFIX, rec, problems);
    if let Some(mut caps) = spec.obj("capabilities") {
        if let Some(list) = caps.objs("protocols") {
            rec.protocols = common::read_protocols(list, PREFIX, &mut rec.extensions);
        }
        if let Some(list) = caps.objs("skills") {
            rec.skills = common::read_ossa_skills(list, PREFIX, &mut rec.extensions);
        }
        if let Some(list) = caps.objs("domains") {
            for mut d in list {
                rec.domains.push(agentry_types::record::TaxonomyRef {
                    id: d.u64("id"),
                    name: d.str("name"),
                });
                d.finish(PREFIX, &mut rec.extensions);
            }
        }
        caps.finish(PREFIX, &mut rec.extensions);
    }
    for (i, p) in rec.protocols.iter().enumerate() {
        if let Some(e) = &p.endpoint {
            common::check_url(
                e,
                &format!("/spec/capabilities/protocols/{i}/endpoint"),
                true,
                problems,
            );
        }
    }
}

fn read_project_spec(spec: &mut Obj, rec: &mut AgentRecord) {
    // Capabilities are either plain names or objects with a name.
    let caps_ok = matches!(spec.peek("capabilities"), Some(Value::Array(a))
        if a.iter().all(|c| c.is_string() || c.get("name").is_some_and(Value::is_string)));
    if caps_ok && let Some(Value::Array(items)) = spec.any("capabilities") {
        let ptr = spec.child_ptr("capabilities");
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::String(name) => rec.skills.push(Skill {
                    name,
                    ..Skill::default()
                }),
                other => {
                    if let Some(mut o) = Obj::of(other, format!("{ptr}/{i}")) {
                        rec.skills.push(Skill {
                            name: o.str("name").unwrap_or_default(),
                            description: o.str("description").unwrap_or_default(),
                            input_schema: o.any("input_schema"),
                            output_schema: o.any("output_schema"),
                            ..Skill::default()
                        });
                        o.finish(PREFIX, &mut rec.extensions);
                    }
                }
            }
        }
    }
    if let Some(mut llm) = spec.obj("llm") {
        let max = llm.u64("maxTokens").or_else(|| llm.u64("max_tokens"));
        if let Some(max) = max {
            rec.context = Some(ContextSpec {
                max_output_tokens: Some(max),
                ..ContextSpec::default()
            });
        }
        llm.finish(PREFIX, &mut rec.extensions);
    }
}

fn write_project_spec(
    rec: &AgentRecord,
    version: &str,
    kind: &str,
    spec: &mut Out,
    warnings: &mut Vec<Problem>,
) {
    let has_ext = |p: &str| {
        let key = format!("{PREFIX}:{p}");
        rec.extensions
            .keys()
            .any(|k| k == &key || k.starts_with(&format!("{key}/")))
    };
    if !rec.skills.is_empty() {
        let items = rec
            .skills
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let plain = s.description.is_empty()
                    && s.input_schema.is_none()
                    && s.output_schema.is_none()
                    && !has_ext(&format!("/spec/capabilities/{i}"));
                if plain {
                    Value::String(s.name.clone())
                } else {
                    let mut o = Out::new();
                    o.set("name", s.name.clone());
                    o.non_empty("description", &s.description);
                    if let Some(v) = &s.input_schema {
                        o.set("input_schema", v.clone());
                    }
                    if let Some(v) = &s.output_schema {
                        o.set("output_schema", v.clone());
                    }
                    o.into_value()
                }
            })
            .collect();
        spec.set("capabilities", Value::Array(items));
    }
    if let Some(max) = rec.context.as_ref().and_then(|c| c.max_output_tokens) {
        let mut llm = Out::new();
        llm.set("maxTokens", max);
        spec.obj("llm", llm);
    }
    let foreign = rec.provenance.source_format != crate::format::Format::Ossa;
    if kind == "Agent" && foreign && !has_ext("/spec/role") {
        let n = numeric(version).unwrap_or("");
        if n.starts_with("0.2") {
            // The 0.2.x schemas require the system prompt; the record has none.
            spec.set("role", rec.description.clone());
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/spec/role",
                "the record has no system prompt; spec.role, required here, is set to the description",
            ));
        }
    }
    if kind == "Skill" && !has_ext("/spec/description") {
        spec.set("description", rec.description.clone());
    }
    for (field, present) in [
        ("protocols", !rec.protocols.is_empty()),
        ("publisher", rec.publisher.is_some()),
        ("runtime", rec.runtime.is_some()),
        ("dependencies", !rec.dependencies.is_empty()),
        ("permissions", rec.permissions.is_some()),
        ("compliance", rec.compliance.is_some()),
        ("domains", !rec.domains.is_empty()),
        (
            "context (beyond max_output_tokens)",
            rec.context.as_ref().is_some_and(|c| {
                c.max_input_tokens.is_some()
                    || c.required_tokens.is_some()
                    || c.sliding_window_tokens.is_some()
                    || c.retrieval_tokens.is_some()
            }),
        ),
    ] {
        if present {
            common::lost(field, &format!("OSSA {version} (use ossa.ai/v1)"), warnings);
        }
    }
}
