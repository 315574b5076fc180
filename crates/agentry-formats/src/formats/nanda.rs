//! NANDA AgentFacts (the structure published as agentfacts.org/schema/v1; see
//! `shared/data/nanda/AGENTFACTS.md`). Validated against agentry's transcription of that
//! structure (`schemas/agentry/nanda-agentfacts-v1.schema.json`).

use agentry_types::record::{AgentRecord, ProtocolEndpoint, ProtocolKind, Publisher, Skill};
use serde_json::{Map, Value};

use super::common::{self, check_semver, check_url};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::obj::{Obj, Out, slug};
use crate::report::{Problem, ProblemSource};
use crate::schemas::SchemaId;

pub const PREFIX: &str = "nanda";
pub const V1: &str = "agentfacts-v1";
pub const DEFAULT_VERSION: &str = V1;

const ABOUT: About = About {
    format: Format::Nanda,
    title: "NANDA AgentFacts",
    versions: &[V1],
    default_version: DEFAULT_VERSION,
};

/// The NANDA AgentFacts codec.
pub struct Nanda;

impl Codec for Nanda {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        (m.contains_key("agent_name") && (m.contains_key("label") || m.contains_key("endpoints")))
            .then(|| Ok(Detected::plain(FormatVersion::new(Format::Nanda, V1))))
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/agent_name", "/id"]
    }

    fn schema_for(&self, version: &str, _doc: &Value) -> Result<Option<SchemaId>, String> {
        (version == V1)
            .then_some(Some(SchemaId::NandaAgentFacts))
            .ok_or_else(|| unsupported(self, version))
    }

    fn read(&self, doc: Value, _version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let mut rec = AgentRecord::default();
        let Some(mut root) = Obj::of(doc, "") else {
            return rec;
        };
        let urn_ok = root.peek_str("agent_name").and_then(split_urn);
        if let Some((ns, n)) = urn_ok {
            root.any("agent_name");
            rec.identity.namespace = ns;
            rec.identity.name = n;
        } else if let Some(id) = root.peek_str("id") {
            rec.identity.name = slug(id);
        }
        rec.identity.display_name = root.str("label");
        rec.description = root.str("description").unwrap_or_default();
        rec.identity.version = root.str("version").unwrap_or_default();
        check_semver(&rec.identity.version, &root.child_ptr("version"), problems);
        if let Some(mut p) = root.obj("provider") {
            let publisher = Publisher {
                organization: p.str("name"),
                url: p.str("url"),
                did: p.str("did"),
                ..Publisher::default()
            };
            if let Some(u) = &publisher.url {
                check_url(u, &p.child_ptr("url"), false, problems);
            }
            rec.publisher = Some(publisher);
            p.finish(PREFIX, &mut rec.extensions);
        }
        if let Some(mut ep) = root.obj("endpoints") {
            let ptr = ep.child_ptr("static");
            for (i, url) in ep.strings("static").into_iter().enumerate() {
                check_url(&url, &format!("{ptr}/{i}"), false, problems);
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::Rest,
                    version: None,
                    endpoint: Some(url),
                    transport: None,
                });
            }
            ep.finish(PREFIX, &mut rec.extensions);
        }
        if let Some(list) = root.objs("skills") {
            for mut s in list {
                rec.skills.push(Skill {
                    name: s.str("id").unwrap_or_default(),
                    description: s.str("description").unwrap_or_default(),
                    input_modes: s.strings("inputModes"),
                    output_modes: s.strings("outputModes"),
                    ..Skill::default()
                });
                s.finish(PREFIX, &mut rec.extensions);
            }
        }
        root.finish(PREFIX, &mut rec.extensions);
        rec
    }

    fn build(
        &self,
        rec: &AgentRecord,
        _version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String> {
        let has_ext = |p: &str| rec.extensions.contains_key(&format!("{PREFIX}:{p}"));
        let mut root = Out::new();
        if !has_ext("/id") {
            root.set("id", format!("nanda:{}", rec.identity.name));
        }
        if !has_ext("/agent_name") {
            let provider = if rec.identity.namespace.is_empty() {
                rec.publisher
                    .as_ref()
                    .and_then(|p| p.organization.as_deref())
                    .map(slug)
                    .unwrap_or_else(|| "unknown".into())
            } else {
                rec.identity.namespace.replace(':', "-")
            };
            root.set(
                "agent_name",
                format!("urn:agent:{provider}:{}", rec.identity.name),
            );
        }
        root.set(
            "label",
            rec.identity
                .display_name
                .clone()
                .unwrap_or_else(|| rec.identity.name.clone()),
        );
        root.set("description", rec.description.clone());
        root.set("version", rec.identity.version.clone());
        let mut prov = Out::new();
        if let Some(p) = &rec.publisher {
            prov.set("name", p.organization.clone().unwrap_or_default());
            prov.set("url", p.url.clone().unwrap_or_default());
            prov.opt_str("did", &p.did);
            if p.domain.is_some() || p.contact.is_some() {
                common::lost("publisher.domain/contact", "NANDA AgentFacts", warnings);
            }
        } else {
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/provider",
                "the record names no publisher; AgentFacts requires provider.name and provider.url",
            ));
        }
        root.obj("provider", prov);
        let urls: Vec<Value> = rec
            .protocols
            .iter()
            .filter_map(|p| p.endpoint.clone())
            .map(Value::String)
            .collect();
        let mut ep = Out::new();
        ep.set("static", Value::Array(urls));
        root.obj("endpoints", ep);
        if rec
            .protocols
            .iter()
            .any(|p| p.kind != ProtocolKind::Rest || p.transport.is_some() || p.version.is_some())
        {
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "protocols",
                "AgentFacts lists endpoint URLs only; protocol kinds, versions and transports are dropped",
            ));
        }
        if !has_ext("/capabilities")
            && !rec
                .extensions
                .keys()
                .any(|k| k.starts_with("nanda:/capabilities/"))
        {
            let mut caps = Out::new();
            caps.set(
                "modalities",
                Value::Array(vec![Value::String("text".into())]),
            );
            let mut auth = Out::new();
            auth.set("methods", Value::Array(Vec::new()));
            caps.0.insert("authentication".into(), auth.into_value());
            root.obj("capabilities", caps);
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/capabilities",
                "the record states no modalities or authentication; capabilities is set to text with no declared authentication",
            ));
        }
        let skills: Vec<Value> = rec
            .skills
            .iter()
            .map(|s| {
                let mut o = Out::new();
                o.set(
                    "id",
                    s.id.clone()
                        .filter(|_| s.name.is_empty())
                        .unwrap_or_else(|| s.name.clone()),
                );
                o.set("description", s.description.clone());
                o.set(
                    "inputModes",
                    Value::Array(s.input_modes.iter().cloned().map(Value::String).collect()),
                );
                o.set(
                    "outputModes",
                    Value::Array(s.output_modes.iter().cloned().map(Value::String).collect()),
                );
                o.into_value()
            })
            .collect();
        root.set("skills", Value::Array(skills));
        for (field, present) in [
            (
                "skills[].taxonomy/tags",
                rec.skills
                    .iter()
                    .any(|s| !s.taxonomy.is_empty() || !s.tags.is_empty()),
            ),
            ("domains", !rec.domains.is_empty()),
            ("runtime", rec.runtime.is_some()),
            ("permissions", rec.permissions.is_some()),
            ("compliance", rec.compliance.is_some()),
            ("dependencies", !rec.dependencies.is_empty()),
            ("context", rec.context.is_some()),
            ("labels", !rec.labels.is_empty()),
            ("annotations", !rec.annotations.is_empty()),
        ] {
            if present {
                common::lost(field, "NANDA AgentFacts", warnings);
            }
        }
        Ok(root.into_value())
    }
}

/// `urn:agent:provider:name` → (`provider`, `name`).
fn split_urn(urn: &str) -> Option<(String, String)> {
    let rest = urn.strip_prefix("urn:agent:")?;
    let (provider, name) = rest.split_once(':')?;
    Some((provider.to_owned(), name.to_owned()))
}
