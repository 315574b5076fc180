//! A2A Agent Cards: 0.2.x and 0.3.x (top-level `url`, `protocolVersion`,
//! `additionalInterfaces`) and 1.0 (`supportedInterfaces`), with or without the whitepaper's
//! `x-ossa` extension (§5.2).
//!
//! `x-ossa` carries what a card cannot: namespace, labels, annotations, domains and the four
//! questions (publisher, requirements, permissions, compliance) in the OSSA v1 spelling. In 0.x
//! cards it is a top-level object; the 1.0 schema forbids unknown top-level fields, so there it
//! travels as an `AgentExtension` in `capabilities.extensions` with uri [`X_OSSA_URI`] and the
//! object as `params`. Both places are read in every version.

use agentry_types::record::{AgentRecord, ProtocolEndpoint, ProtocolKind, Publisher, Skill};
use serde_json::{Map, Value};

use super::common::{self, check_semver, check_url};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::obj::{Obj, Out, slug};
use crate::report::{Problem, ProblemSource};
use crate::schemas::{self, SchemaId};

pub const PREFIX: &str = "a2a";
pub const DEFAULT_VERSION: &str = "0.3.0";
/// Newest A2A release whose schema does not require `protocolVersion`: the version assumed for
/// cards that state none.
pub const UNVERSIONED: &str = "0.2.4";
/// The `AgentExtension.uri` under which 1.0 cards carry `x-ossa`.
pub const X_OSSA_URI: &str = "https://ossa.ai/extensions/x-ossa/v1";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// 0.2.0 – 0.2.4: no protocolVersion.
    Early,
    /// 0.2.5 – 0.3.x: protocolVersion, preferredTransport, additionalInterfaces.
    Late,
    /// 1.0: supportedInterfaces.
    V1,
}

fn family(version: &str) -> Option<(Family, SchemaId)> {
    let v = version.trim_start_matches('v');
    let parts: Vec<&str> = v.split('.').collect();
    let (maj, min, patch) = (
        parts.first().copied(),
        parts.get(1).copied(),
        parts.get(2).copied(),
    );
    Some(match (maj, min, patch) {
        (Some("0"), Some("2"), p) => match p {
            Some("0") => (Family::Early, SchemaId::A2a020),
            Some("1") => (Family::Early, SchemaId::A2a021),
            Some("2") => (Family::Early, SchemaId::A2a022),
            Some("3") => (Family::Early, SchemaId::A2a023),
            Some("4") => (Family::Early, SchemaId::A2a024),
            Some("5") => (Family::Late, SchemaId::A2a025),
            _ => (Family::Late, SchemaId::A2a026),
        },
        (Some("0"), Some("3"), _) => (Family::Late, SchemaId::A2a030),
        (Some("1"), Some("0"), Some("0")) => (Family::V1, SchemaId::A2a100),
        (Some("1"), _, _) => (Family::V1, SchemaId::A2a101),
        _ => return None,
    })
}

fn detect_version(m: &Map<String, Value>) -> Result<FormatVersion, String> {
    if let Some(pv) = m.get("protocolVersion") {
        return match pv.as_str() {
            Some(s) => Ok(FormatVersion::new(Format::A2a, s)),
            None => Err("A2A protocolVersion must be a string".into()),
        };
    }
    if m.contains_key("supportedInterfaces") || !m.contains_key("url") {
        return Ok(FormatVersion::new(Format::A2a, "1.0.1"));
    }
    Ok(FormatVersion::new(Format::A2a, UNVERSIONED))
}

const ABOUT: About = About {
    format: Format::A2a,
    title: "A2A Agent Card",
    versions: &["0.2.x", "0.3.x", "1.0.x"],
    default_version: DEFAULT_VERSION,
};

/// The A2A Agent Card codec.
pub struct A2a;

impl Codec for A2a {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        if let Some(Value::Object(card)) = m.get("a2aCard")
            && m.len() == 1
        {
            return Some(detect_version(card).map(|format| Detected {
                format,
                inner_pointer: "/a2aCard",
            }));
        }
        let card_like = m.contains_key("skills")
            && (m.contains_key("url")
                || m.contains_key("supportedInterfaces")
                || m.contains_key("protocolVersion")
                || m.contains_key("defaultInputModes"));
        card_like.then(|| detect_version(m).map(Detected::plain))
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/name"]
    }

    fn schema_for(&self, version: &str, _doc: &Value) -> Result<Option<SchemaId>, String> {
        family(version)
            .map(|(_, s)| Some(s))
            .ok_or_else(|| unsupported(self, version))
    }

    fn check(&self, version: &str, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
        let Some(id) = self.schema_for(version, doc)? else {
            return Ok(Vec::new());
        };
        // The whitepaper's x-ossa is the one top-level key tolerated in cards whose schema
        // forbids unknown keys (1.0).
        Ok(match doc {
            Value::Object(m) if m.contains_key("x-ossa") => {
                let mut stripped = m.clone();
                stripped.remove("x-ossa");
                schemas::check(id, &Value::Object(stripped), ptr)
            }
            _ => schemas::check(id, doc, ptr),
        })
    }

    fn read(&self, doc: Value, _version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let base = "";
        let mut rec = AgentRecord::default();
        let Some(mut root) = Obj::of(doc, base) else {
            return rec;
        };
        if let Some(name) = root.str("name") {
            rec.identity.name = slug(&name);
            rec.identity.display_name = Some(name);
        }
        rec.description = root.str("description").unwrap_or_default();
        rec.identity.version = root.str("version").unwrap_or_default();
        check_semver(&rec.identity.version, &root.child_ptr("version"), problems);
        let protocol_version = root.str("protocolVersion");
        let preferred = root.str("preferredTransport");
        if let Some(url) = root.str("url") {
            check_url(&url, &root.child_ptr("url"), false, problems);
            rec.protocols.push(ProtocolEndpoint {
                kind: ProtocolKind::A2a,
                version: protocol_version.clone(),
                endpoint: Some(url),
                transport: preferred,
            });
        } else if let Some(t) = preferred {
            // preferredTransport without url: keep it where it was.
            rec.extensions.insert(
                format!("{PREFIX}:{}", root.child_ptr("preferredTransport")),
                Value::String(t),
            );
        }
        for key in ["additionalInterfaces", "supportedInterfaces"] {
            if let Some(list) = root.objs(key) {
                let v1 = key == "supportedInterfaces";
                for mut i in list {
                    let endpoint = i.str("url");
                    if let Some(u) = &endpoint {
                        check_url(u, &i.child_ptr("url"), false, problems);
                    }
                    rec.protocols.push(ProtocolEndpoint {
                        kind: ProtocolKind::A2a,
                        version: if v1 {
                            i.str("protocolVersion")
                        } else {
                            protocol_version.clone()
                        },
                        endpoint,
                        transport: i.str(if v1 { "protocolBinding" } else { "transport" }),
                    });
                    i.finish(PREFIX, &mut rec.extensions);
                }
            }
        }
        if let Some(mut p) = root.obj("provider") {
            let organization = p.str("organization");
            let url = p.str("url");
            if let Some(u) = &url {
                check_url(u, &p.child_ptr("url"), false, problems);
            }
            rec.publisher = Some(Publisher {
                organization,
                url,
                ..Publisher::default()
            });
            p.finish(PREFIX, &mut rec.extensions);
        }
        if let Some(list) = root.objs("skills") {
            for mut s in list {
                let skill = Skill {
                    id: s.str("id"),
                    name: s.str("name").unwrap_or_default(),
                    description: s.str("description").unwrap_or_default(),
                    tags: s.strings("tags"),
                    examples: s.strings("examples"),
                    input_modes: s.strings("inputModes"),
                    output_modes: s.strings("outputModes"),
                    ..Skill::default()
                };
                s.finish(PREFIX, &mut rec.extensions);
                rec.skills.push(skill);
            }
        }
        // x-ossa: top level, or as a 1.0 AgentExtension.
        let mut x_ossa = root.obj("x-ossa");
        if let Some(mut caps) = root.obj("capabilities") {
            if let Some(Value::Array(items)) = caps.peek("extensions") {
                let pos = items
                    .iter()
                    .position(|e| e.get("uri").and_then(Value::as_str) == Some(X_OSSA_URI));
                if let Some(pos) = pos
                    && let Some(Value::Array(mut items)) = caps.any("extensions")
                {
                    let item = items.remove(pos);
                    if !items.is_empty() {
                        caps.map.insert("extensions".into(), Value::Array(items));
                    }
                    let ptr = format!("{}/extensions/{pos}/params", caps.ptr);
                    if let Some(Value::Object(params)) = item.get("params").cloned()
                        && x_ossa.is_none()
                    {
                        x_ossa = Some(Obj::new(params, ptr));
                    }
                }
            }
            caps.finish(PREFIX, &mut rec.extensions);
        }
        if let Some(mut x) = x_ossa {
            x.ptr = format!("{base}/x-ossa");
            rec.identity.namespace = x.str("namespace").unwrap_or_default();
            rec.labels = x.string_map("labels");
            rec.annotations = x.string_map("annotations");
            if let Some(list) = x.objs("domains") {
                for mut d in list {
                    rec.domains.push(agentry_types::record::TaxonomyRef {
                        id: d.u64("id"),
                        name: d.str("name"),
                    });
                    d.finish(PREFIX, &mut rec.extensions);
                }
            }
            if let Some(list) = x.objs("protocols") {
                let extra = common::read_protocols(list, PREFIX, &mut rec.extensions);
                rec.protocols.extend(extra);
            }
            common::read_four_questions(&mut x, PREFIX, &mut rec, problems);
            x.finish(PREFIX, &mut rec.extensions);
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
        let (fam, _) = family(version).ok_or_else(|| unsupported(self, version))?;
        Ok(build(rec, version, fam, warnings))
    }

    fn after_extensions(
        &self,
        rec: &AgentRecord,
        version: &str,
        doc: &mut Value,
        warnings: &mut Vec<Problem>,
    ) {
        if let Some((fam, _)) = family(version) {
            add_x_ossa(rec, version, fam, doc, warnings);
        }
    }

    fn context_pointer(&self, _rec: &AgentRecord) -> Option<&'static str> {
        Some("/x-ossa/requirements/context")
    }

    fn places_foreign(&self, key: &str) -> bool {
        key == WHITEPAPER_CARD
    }
}

/// Where a whitepaper (§3.1) manifest's embedded A2A card is kept in a record read from it.
const WHITEPAPER_CARD: &str = "ossa:/spec/capabilities/agent-card";

/// A string member of the whitepaper manifest's embedded card (`url`, `provider/url`, …).
fn card_str<'a>(rec: &'a AgentRecord, pointer: &str) -> Option<&'a str> {
    rec.extensions
        .get(WHITEPAPER_CARD)?
        .pointer(pointer)?
        .as_str()
        .filter(|s| !s.is_empty())
}

fn build(rec: &AgentRecord, version: &str, fam: Family, warnings: &mut Vec<Problem>) -> Value {
    let foreign = rec.provenance.source_format != crate::format::Format::A2a;
    let has_ext = |p: &str| rec.extensions.contains_key(&format!("{PREFIX}:{p}"));
    let mut root = Out::new();
    // A whitepaper manifest's embedded card fills what the record leaves open.
    let name = rec
        .identity
        .display_name
        .clone()
        .or_else(|| card_str(rec, "/name").map(str::to_owned))
        .unwrap_or_else(|| rec.identity.name.clone());
    root.set("name", name);
    let description = match rec.description.as_str() {
        "" => card_str(rec, "/description").unwrap_or_default(),
        d => d,
    };
    root.set("description", description);
    root.set("version", rec.identity.version.clone());
    let a2a: Vec<&ProtocolEndpoint> = rec
        .protocols
        .iter()
        .filter(|p| p.kind == ProtocolKind::A2a)
        .collect();
    match fam {
        Family::Early | Family::Late => {
            let first = a2a.first();
            // A card's url is absolute; a whitepaper manifest states its A2A endpoint relative
            // to the agent (`/a2a`) and the card's url in its embedded card.
            let url = first
                .and_then(|p| p.endpoint.clone())
                .filter(|e| !e.starts_with('/'))
                .or_else(|| card_str(rec, "/url").map(str::to_owned))
                .or_else(|| first.and_then(|p| p.endpoint.clone()))
                .unwrap_or_default();
            if url.is_empty() {
                warnings.push(Problem::warning(
                    ProblemSource::Conversion,
                    "/url",
                    "the record has no A2A endpoint; the card's required url is empty",
                ));
            }
            root.set("url", url);
            if fam == Family::Late {
                root.set("protocolVersion", version);
                if let Some(t) = first.and_then(|p| p.transport.clone()) {
                    root.set("preferredTransport", t);
                }
                let rest: Vec<Value> = a2a
                    .iter()
                    .skip(1)
                    .map(|p| {
                        let mut o = Out::new();
                        o.set("url", p.endpoint.clone().unwrap_or_default());
                        match (&p.transport, foreign) {
                            (Some(t), _) => {
                                o.set("transport", t.clone());
                            }
                            // Required by the schema; JSONRPC is A2A's default transport.
                            (None, true) => {
                                o.set("transport", "JSONRPC");
                            }
                            (None, false) => {}
                        }
                        o.into_value()
                    })
                    .collect();
                root.arr("additionalInterfaces", rest);
            } else if a2a.len() > 1 {
                common::lost(
                    "protocols (A2A endpoints after the first)",
                    &format!("A2A {version}"),
                    warnings,
                );
            }
        }
        Family::V1 => {
            let list = a2a
                .iter()
                .map(|p| {
                    let mut o = Out::new();
                    o.set("url", p.endpoint.clone().unwrap_or_default());
                    o.opt_str("protocolBinding", &p.transport);
                    o.opt_str("protocolVersion", &p.version);
                    o.into_value()
                })
                .collect();
            root.arr("supportedInterfaces", list);
        }
    }
    let organization = rec
        .publisher
        .as_ref()
        .and_then(|p| p.organization.as_deref())
        .or_else(|| card_str(rec, "/provider/organization"));
    let provider_url = rec
        .publisher
        .as_ref()
        .and_then(|p| p.url.as_deref())
        .or_else(|| card_str(rec, "/provider/url"));
    if organization.is_some() || provider_url.is_some() {
        let mut o = Out::new();
        o.set("organization", organization.unwrap_or_default());
        o.set("url", provider_url.unwrap_or_default());
        root.obj("provider", o);
    }
    let mut modes_in: Vec<String> = Vec::new();
    let mut modes_out: Vec<String> = Vec::new();
    let skills: Vec<Value> = rec
        .skills
        .iter()
        .map(|s| {
            for m in &s.input_modes {
                if !modes_in.contains(m) {
                    modes_in.push(m.clone());
                }
            }
            for m in &s.output_modes {
                if !modes_out.contains(m) {
                    modes_out.push(m.clone());
                }
            }
            let mut o = Out::new();
            o.set("id", s.id.clone().unwrap_or_else(|| slug(&s.name)));
            o.set("name", s.name.clone());
            o.set("description", s.description.clone());
            o.set(
                "tags",
                Value::Array(s.tags.iter().cloned().map(Value::String).collect()),
            );
            o.strings("examples", &s.examples);
            o.strings("inputModes", &s.input_modes);
            o.strings("outputModes", &s.output_modes);
            o.into_value()
        })
        .collect();
    root.set("skills", Value::Array(skills));
    for (key, modes) in [
        ("defaultInputModes", modes_in),
        ("defaultOutputModes", modes_out),
    ] {
        if has_ext(&format!("/{key}")) {
            continue;
        }
        let modes = if modes.is_empty() {
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                format!("/{key}"),
                format!("the record states no interaction modes; {key} is set to text/plain"),
            ));
            vec!["text/plain".to_owned()]
        } else {
            modes
        };
        root.set(
            key,
            Value::Array(modes.into_iter().map(Value::String).collect()),
        );
    }
    if !has_ext("/capabilities")
        && !rec
            .extensions
            .keys()
            .any(|k| k.starts_with("a2a:/capabilities/"))
    {
        root.set("capabilities", Value::Object(Map::new()));
    }
    root.into_value()
}

/// x-ossa, after the kept fields so that 1.0's extension list is appended to, not replaced.
fn add_x_ossa(
    rec: &AgentRecord,
    version: &str,
    fam: Family,
    doc: &mut Value,
    warnings: &mut Vec<Problem>,
) {
    let others: Vec<&ProtocolEndpoint> = rec
        .protocols
        .iter()
        .filter(|p| p.kind != ProtocolKind::A2a)
        .collect();
    let mut x = Out::new();
    x.non_empty("namespace", &rec.identity.namespace);
    x.string_map("labels", &rec.labels);
    x.string_map("annotations", &rec.annotations);
    x.arr("domains", common::taxonomy_out(&rec.domains));
    let other_protocols: Vec<_> = others.into_iter().cloned().collect();
    x.arr("protocols", common::write_protocols(&other_protocols));
    let mut four = Out::new();
    let publisher_extra = rec
        .publisher
        .as_ref()
        .is_some_and(|p| p.domain.is_some() || p.contact.is_some() || p.did.is_some());
    if publisher_extra && let Some(p) = &rec.publisher {
        let mut o = Out::new();
        o.opt_str("domain", &p.domain)
            .opt_str("contact", &p.contact)
            .opt_str("did", &p.did);
        four.obj("publisher", o);
    }
    let no_publisher = AgentRecord {
        publisher: None,
        ..rec.clone()
    };
    common::write_four_questions(&no_publisher, &mut four);
    for (k, v) in four.0 {
        x.set(&k, v);
    }
    for s in rec
        .skills
        .iter()
        .filter(|s| !s.taxonomy.is_empty() || s.input_schema.is_some())
    {
        common::lost(
            &format!("skills[{}].taxonomy/input_schema", s.name),
            &format!("A2A {version}"),
            warnings,
        );
    }
    if !x.0.is_empty() {
        let xv = Value::Object(x.0);
        if let Value::Object(m) = doc {
            if fam == Family::V1 {
                let caps = m
                    .entry("capabilities")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(c) = caps {
                    let exts = c
                        .entry("extensions")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(a) = exts {
                        let mut item = Map::new();
                        item.insert("uri".into(), Value::String(X_OSSA_URI.into()));
                        item.insert(
                            "description".into(),
                            Value::String("OSSA registry fields (x-ossa)".into()),
                        );
                        item.insert("required".into(), Value::Bool(false));
                        item.insert("params".into(), xv);
                        a.push(Value::Object(item));
                    }
                }
            } else {
                m.insert("x-ossa".into(), xv);
            }
        }
    }
}
