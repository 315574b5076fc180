//! AGNTCY OASF records, schema versions 0.3.1 through 1.1.0.
//!
//! 0.3.1, 0.7.0 and 0.8.0 are validated against the JSON Schemas oasf-sdk embeds (their skill
//! and domain classes are `const`s there, so the schema checks taxonomy ids). 1.0.0 and 1.1.0
//! publish only OCSF-style source files: the record's attribute list (`objects/record.json`,
//! with required/recommended/optional) and its dictionary of types are checked here, and skill,
//! domain and module classes against the taxonomies of that version, with the severities the
//! OASF validation service uses (unknown class: error; missing recommended attribute: warning).
//! 0.5.0 and 0.6.0 have no published schema in the data; only the record's structure is checked
//! and a warning says so.
//!
//! `locators` and `modules` are kept whole (they are the format's own deployment descriptors);
//! the container image and the A2A/MCP integrations they name are copied into the record's
//! runtime and protocols for discovery.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use agentry_types::record::{
    AgentRecord, ProtocolEndpoint, ProtocolKind, Publisher, Runtime, Skill, TaxonomyRef,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{self, split_qualified};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::obj::{Obj, Out, slug};
use crate::report::{Problem, ProblemSource};
use crate::schemas::{self, SchemaId};
use crate::taxonomy::{self, Kind};

pub const PREFIX: &str = "oasf";
pub const DEFAULT_VERSION: &str = "1.0.0";

fn norm(version: &str) -> &str {
    version.trim_start_matches('v')
}

/// The JSON Schema for `version`: `Some(None)` when the version is read but publishes none,
/// `None` for a version agentry does not read.
fn schema_of(version: &str) -> Option<Option<SchemaId>> {
    let v = norm(version);
    Some(match v {
        "0.3.1" => Some(SchemaId::Oasf031),
        "0.7.0" => Some(SchemaId::Oasf070),
        "0.8.0" => Some(SchemaId::Oasf080),
        "0.5.0" | "0.6.0" => None,
        _ if v.starts_with("1.") => None,
        _ => return None,
    })
}

const ABOUT: About = About {
    format: Format::Oasf,
    title: "OASF record",
    versions: &[
        "0.3.1", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0",
    ],
    default_version: DEFAULT_VERSION,
};

/// The AGNTCY OASF record codec.
pub struct Oasf;

impl Codec for Oasf {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        let sv = m.get("schema_version")?;
        Some(match sv.as_str() {
            Some(s) => Ok(Detected::plain(FormatVersion::new(Format::Oasf, s))),
            None => Err("OASF schema_version must be a string".into()),
        })
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/name"]
    }

    fn schema_for(&self, version: &str, _doc: &Value) -> Result<Option<SchemaId>, String> {
        schema_of(version).ok_or_else(|| unsupported(self, version))
    }

    fn check(&self, version: &str, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
        Ok(match self.schema_for(version, doc)? {
            Some(id) => {
                let mut p = schemas::check(id, doc, ptr);
                p.extend(class_problems(id, doc, ptr));
                p
            }
            None => check_unschema(doc, version, ptr),
        })
    }

    fn read(&self, doc: Value, version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let mut rec = AgentRecord::default();
        let Some(mut root) = Obj::of(doc, "") else {
            return rec;
        };
        root.any("schema_version");
        if let Some(name) = root.str("name") {
            let machine = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
            if machine {
                let (ns, n) = split_qualified(&name);
                rec.identity.namespace = ns;
                rec.identity.name = n;
            } else {
                rec.identity.name = slug(&name);
                rec.identity.display_name = Some(name);
            }
        }
        rec.identity.version = root.str("version").unwrap_or_default();
        common::check_semver(&rec.identity.version, &root.child_ptr("version"), problems);
        rec.description = root.str("description").unwrap_or_default();
        rec.created_at = root.str("created_at");
        rec.annotations = root.string_map("annotations");
        let authors_ok = matches!(root.peek("authors"), Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string));
        if authors_ok {
            let ptr = root.child_ptr("authors");
            if let Some(Value::Array(a)) = root.any("authors") {
                for (i, author) in a.into_iter().enumerate() {
                    if i == 0 {
                        if let Value::String(s) = author {
                            rec.publisher = Some(Publisher {
                                organization: Some(s),
                                ..Publisher::default()
                            });
                        }
                    } else {
                        rec.extensions.insert(format!("{PREFIX}:{ptr}/{i}"), author);
                    }
                }
            }
        }
        let v031 = norm(version) == "0.3.1";
        if let Some(list) = root.objs("skills") {
            for mut s in list {
                let (name, t) = if v031 {
                    let name = s.str("class_name").unwrap_or_default();
                    (
                        name,
                        TaxonomyRef {
                            id: s.u64("class_uid"),
                            name: None,
                        },
                    )
                } else {
                    let t = TaxonomyRef {
                        id: s.u64("id"),
                        name: s.str("name"),
                    };
                    (t.name.clone().unwrap_or_default(), t)
                };
                s.finish(PREFIX, &mut rec.extensions);
                rec.skills.push(Skill {
                    name,
                    taxonomy: vec![t],
                    ..Skill::default()
                });
            }
        }
        if let Some(list) = root.objs("domains") {
            for mut d in list {
                rec.domains.push(TaxonomyRef {
                    id: d.u64("id"),
                    name: d.str("name"),
                });
                d.finish(PREFIX, &mut rec.extensions);
            }
        }
        derive_from_locators(root.peek("locators"), &mut rec);
        derive_from_modules(root.peek("modules"), &mut rec);
        root.finish(PREFIX, &mut rec.extensions);
        rec
    }

    fn content_id(&self, doc: &Value) -> Option<String> {
        Some(crate::cid::record_cid(doc))
    }

    fn build(
        &self,
        rec: &AgentRecord,
        version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String> {
        let v = norm(version);
        let has_ext = |p: &str| rec.extensions.contains_key(&format!("{PREFIX}:{p}"));
        let mut root = Out::new();
        let name = match &rec.identity.display_name {
            Some(d) => d.clone(),
            None => common::join_qualified(&rec.identity.namespace, &rec.identity.name),
        };
        root.set("name", name);
        root.set("version", rec.identity.version.clone());
        root.set("schema_version", version);
        root.set("description", rec.description.clone());
        match rec.publisher.as_ref().and_then(|p| p.organization.clone()) {
            Some(org) => {
                root.set("authors", Value::Array(vec![Value::String(org)]));
            }
            None => warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/authors",
                "the record names no publisher organisation; OASF requires authors",
            )),
        }
        match &rec.created_at {
            Some(t) => {
                root.set("created_at", t.clone());
            }
            None => warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/created_at",
                "the record has no creation time; OASF requires created_at",
            )),
        }
        root.string_map("annotations", &rec.annotations);
        let mut skills = Vec::new();
        for s in &rec.skills {
            if s.taxonomy.is_empty() {
                warnings.push(Problem::warning(
                    ProblemSource::Conversion,
                    "/skills",
                    format!("skill {:?} names no OASF taxonomy class; OASF skills are taxonomy classes, so it is dropped", s.name),
                ));
            }
            for t in &s.taxonomy {
                let mut o = Out::new();
                if v == "0.3.1" {
                    if let Some(id) = t.id {
                        o.set("class_uid", id);
                    }
                    o.non_empty("class_name", &s.name);
                } else {
                    if let Some(id) = t.id {
                        o.set("id", id);
                    }
                    o.opt_str("name", &t.name);
                }
                skills.push(o.into_value());
            }
        }
        root.set("skills", Value::Array(skills));
        root.arr("domains", common::taxonomy_out(&rec.domains));
        if !has_ext("/locators")
            && let Some(image) = rec.runtime.as_ref().and_then(|r| r.image.clone())
        {
            let mut l = Out::new();
            if v.starts_with("1.") {
                l.set("type", "container_image");
                l.set("urls", Value::Array(vec![Value::String(image)]));
            } else {
                l.set("type", "docker_image");
                l.set("url", image);
            }
            root.arr("locators", vec![l.into_value()]);
        }
        if !has_ext("/modules") && !rec.protocols.is_empty() {
            common::lost(
                "protocols (OASF carries them in integration modules)",
                &format!("OASF {version}"),
                warnings,
            );
        }
        for (field, present) in [
            ("permissions", rec.permissions.is_some()),
            ("compliance", rec.compliance.is_some()),
            ("dependencies", !rec.dependencies.is_empty()),
            ("context", rec.context.is_some()),
            ("labels", !rec.labels.is_empty()),
            (
                "publisher (beyond the organisation)",
                rec.publisher.as_ref().is_some_and(|p| {
                    p.domain.is_some() || p.contact.is_some() || p.url.is_some() || p.did.is_some()
                }),
            ),
        ] {
            if present {
                common::lost(field, &format!("OASF {version}"), warnings);
            }
        }
        Ok(root.into_value())
    }
}

/// The skill and domain classes of a schema with `const` class definitions (0.7.0, 0.8.0).
struct Classes {
    skills: Vec<(Option<u64>, Option<String>)>,
    domains: Vec<(Option<u64>, Option<String>)>,
}

fn classes(id: SchemaId) -> Option<&'static Classes> {
    static C070: OnceLock<Classes> = OnceLock::new();
    static C080: OnceLock<Classes> = OnceLock::new();
    let slot = match id {
        SchemaId::Oasf070 => &C070,
        SchemaId::Oasf080 => &C080,
        _ => return None,
    };
    Some(slot.get_or_init(|| {
        let v: Value = serde_json::from_str(id.text()).unwrap_or(Value::Null);
        let list = |key: &str| -> Vec<(Option<u64>, Option<String>)> {
            v.pointer(&format!("/$defs/{key}"))
                .and_then(Value::as_object)
                .map(|m| {
                    m.values()
                        .map(|c| {
                            (
                                c.pointer("/properties/id/const").and_then(Value::as_u64),
                                c.pointer("/properties/name/const")
                                    .and_then(Value::as_str)
                                    .map(str::to_owned),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Classes {
            skills: list("skills"),
            domains: list("domains"),
        }
    }))
}

/// The class part of the 0.7.0/0.8.0 schemas' `oneOf`: each skill and domain must match exactly
/// one class definition (its `id` and `name`, where given, equal to the class's constants).
fn class_problems(id: SchemaId, doc: &Value, base: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(c) = classes(id) else { return out };
    for (key, list, what) in [
        ("skills", &c.skills, "skill"),
        ("domains", &c.domains, "domain"),
    ] {
        let Some(Value::Array(items)) = doc.get(key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let want_id = item.get("id").and_then(Value::as_u64);
            let want_name = item.get("name").and_then(Value::as_str);
            if want_id.is_none() && want_name.is_none() {
                continue; // the shape check already refused it
            }
            let matches = list
                .iter()
                .filter(|(cid, cname)| {
                    want_id.is_none_or(|w| *cid == Some(w))
                        && want_name.is_none_or(|w| cname.as_deref() == Some(w))
                })
                .count();
            if matches != 1 {
                let what_given = match (want_id, want_name) {
                    (Some(i), Some(n)) => format!("id {i} and name {n:?}"),
                    (Some(i), None) => format!("id {i}"),
                    (None, Some(n)) => format!("name {n:?}"),
                    (None, None) => String::new(),
                };
                out.push(Problem::error(
                    ProblemSource::Schema,
                    format!("{base}/{key}/{i}"),
                    format!(
                        "no single {what} class of {} has {what_given} ({matches} match)",
                        id.file()
                    ),
                ));
            }
        }
    }
    out
}

#[derive(Deserialize)]
struct SourceRecord {
    attributes: BTreeMap<String, SourceAttr>,
}

#[derive(Deserialize)]
struct SourceAttr {
    #[serde(default)]
    requirement: String,
}

fn record_attrs(version: &str) -> &'static BTreeMap<String, SourceAttr> {
    static V100: OnceLock<BTreeMap<String, SourceAttr>> = OnceLock::new();
    static V110: OnceLock<BTreeMap<String, SourceAttr>> = OnceLock::new();
    let load = |t: &str| {
        serde_json::from_str::<SourceRecord>(t)
            .map(|r| r.attributes)
            .unwrap_or_default()
    };
    if norm(version) == "1.0.0" {
        V100.get_or_init(|| load(include_str!("../../schemas/oasf/record-1.0.0.source.json")))
    } else {
        V110.get_or_init(|| load(include_str!("../../schemas/oasf/record-1.1.0.source.json")))
    }
}

/// Structural and taxonomy checks for versions without a JSON Schema.
fn check_unschema(doc: &Value, version: &str, base: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let Value::Object(m) = doc else {
        out.push(Problem::error(
            ProblemSource::Schema,
            base,
            "an OASF record must be a JSON object",
        ));
        return out;
    };
    let v = norm(version);
    if !v.starts_with("1.") {
        out.push(Problem::warning(
            ProblemSource::Schema,
            base,
            format!("no JSON Schema is published for OASF {version}; only the record's structure is checked"),
        ));
        for req in ["name", "version", "schema_version"] {
            if !m.contains_key(req) {
                out.push(Problem::error(
                    ProblemSource::Schema,
                    base,
                    format!("required attribute {req:?} is missing"),
                ));
            }
        }
        return out;
    }
    let attrs = record_attrs(v);
    for (name, a) in attrs {
        if m.contains_key(name) {
            continue;
        }
        match a.requirement.as_str() {
            "required" => out.push(Problem::error(
                ProblemSource::Schema,
                base,
                format!("required attribute {name:?} is missing (OASF {v} record)"),
            )),
            "recommended" => out.push(Problem::warning(
                ProblemSource::Schema,
                base,
                format!("recommended attribute {name:?} is missing"),
            )),
            _ => {}
        }
    }
    for (k, val) in m {
        let ptr = format!("{base}/{}", crate::obj::esc(k));
        let expect = match k.as_str() {
            "name" | "version" | "schema_version" | "description" | "created_at" => "string",
            "authors" => "string array",
            "annotations" => "object",
            "skills" | "domains" | "locators" | "modules" => "object array",
            _ => {
                if !attrs.contains_key(k) {
                    out.push(Problem::warning(
                        ProblemSource::Schema,
                        ptr,
                        format!("attribute {k:?} is not defined by the OASF {v} record"),
                    ));
                }
                continue;
            }
        };
        let ok = match expect {
            "string" => val.is_string(),
            "string array" => val
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            "object" => val.is_object(),
            _ => val
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_object)),
        };
        if !ok {
            out.push(Problem::error(
                ProblemSource::Schema,
                ptr,
                format!("{k:?} must be {expect}"),
            ));
        }
    }
    if let Some(Value::String(ts)) = m.get("created_at")
        && !looks_rfc3339(ts)
    {
        out.push(Problem::warning(
            ProblemSource::Schema,
            format!("{base}/created_at"),
            format!("{ts:?} is not an RFC 3339 date-time"),
        ));
    }
    for (key, kind, what) in [
        ("skills", Kind::Skills, "skill"),
        ("domains", Kind::Domains, "domain"),
        ("modules", Kind::Modules, "module"),
    ] {
        let Some(tax) = taxonomy::get(kind, v) else {
            continue;
        };
        let Some(Value::Array(items)) = m.get(key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let ptr = format!("{base}/{key}/{i}");
            let name = item.get("name").and_then(Value::as_str);
            let id = item.get("id").and_then(Value::as_u64);
            if item.get("id").is_some_and(|x| !x.is_u64()) {
                out.push(Problem::error(
                    ProblemSource::Schema,
                    format!("{ptr}/id"),
                    "class id must be a non-negative integer",
                ));
            }
            match (name, id) {
                (None, None) => out.push(Problem::error(
                    ProblemSource::Schema,
                    ptr,
                    format!("a {what} needs a name or an id"),
                )),
                (Some(n), _) if tax.id_of(n).is_none() => out.push(Problem::error(
                    ProblemSource::Schema,
                    format!("{ptr}/name"),
                    format!("unknown {what} {n:?}: no class of that name in OASF {v}"),
                )),
                (Some(n), Some(i)) if kind != Kind::Modules => {
                    if let Some(Some(known)) = tax.id_of(n)
                        && known != i
                    {
                        out.push(Problem::error(
                            ProblemSource::Schema,
                            format!("{ptr}/id"),
                            format!("{what} {n:?} has id {known} in OASF {v}, not {i}"),
                        ));
                    }
                }
                (None, Some(i)) if kind != Kind::Modules && tax.name_of(i).is_none() => {
                    out.push(Problem::error(
                        ProblemSource::Schema,
                        format!("{ptr}/id"),
                        format!("unknown {what} id {i}: no class has it in OASF {v}"),
                    ))
                }
                (None, Some(_)) if kind != Kind::Modules => out.push(Problem::warning(
                    ProblemSource::Schema,
                    format!("{ptr}/name"),
                    format!("recommended attribute \"name\" of the {what} is missing"),
                )),
                _ => {}
            }
        }
    }
    out
}

fn looks_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && b[13] == b':'
}

fn derive_from_locators(locators: Option<&Value>, rec: &mut AgentRecord) {
    let Some(Value::Array(list)) = locators else {
        return;
    };
    for l in list {
        let t = l.get("type").and_then(Value::as_str).unwrap_or("");
        if t != "docker_image" && t != "container_image" {
            continue;
        }
        let url = l
            .get("url")
            .and_then(Value::as_str)
            .or_else(|| l.get("urls").and_then(|u| u.get(0)).and_then(Value::as_str));
        if let Some(url) = url {
            let rt = rec.runtime.get_or_insert_with(Runtime::default);
            if rt.image.is_none() {
                rt.kind = Some("container".into());
                rt.image = Some(url.to_owned());
            }
        }
    }
}

fn derive_from_modules(modules: Option<&Value>, rec: &mut AgentRecord) {
    let Some(Value::Array(list)) = modules else {
        return;
    };
    for m in list {
        let name = m.get("name").and_then(Value::as_str).unwrap_or("");
        if name.ends_with("/a2a") {
            let card = m.get("data").and_then(|d| d.get("card_data"));
            let mut urls: Vec<(Option<String>, Option<String>)> = Vec::new();
            if let Some(u) = card.and_then(|c| c.get("url")).and_then(Value::as_str) {
                urls.push((Some(u.to_owned()), None));
            }
            if let Some(Value::Array(ifs)) = card.and_then(|c| c.get("supportedInterfaces")) {
                for i in ifs {
                    urls.push((
                        i.get("url").and_then(Value::as_str).map(str::to_owned),
                        i.get("protocolBinding")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    ));
                }
            }
            if urls.is_empty() {
                urls.push((None, None));
            }
            for (endpoint, transport) in urls {
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::A2a,
                    version: None,
                    endpoint,
                    transport,
                });
            }
        } else if name.ends_with("/mcp") {
            let conns = m
                .get("data")
                .and_then(|d| d.get("connections"))
                .and_then(Value::as_array);
            let mut any = false;
            for c in conns.into_iter().flatten() {
                any = true;
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::Mcp,
                    version: None,
                    endpoint: c.get("url").and_then(Value::as_str).map(str::to_owned),
                    transport: c.get("type").and_then(Value::as_str).map(str::to_owned),
                });
            }
            if !any {
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::Mcp,
                    version: None,
                    endpoint: None,
                    transport: None,
                });
            }
        }
    }
}
