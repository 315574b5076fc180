//! The simple registry JSON of the Northeastern registry (Figure 5 of "Deploying the Internet
//! of AI Agents: Part III"): `agent_id`, `endpoint`, `description`, `capabilities`,
//! `protocols`.

use agentry_types::record::{AgentRecord, ProtocolEndpoint, ProtocolKind, Skill};
use serde_json::{Map, Value};

use super::common::{self, check_url};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::obj::{Obj, Out};
use crate::report::Problem;
use crate::schemas::SchemaId;

pub const PREFIX: &str = "simple";
pub const V1: &str = "1";
pub const DEFAULT_VERSION: &str = V1;

const ABOUT: About = About {
    format: Format::Simple,
    title: "simple registry entry",
    versions: &[V1],
    default_version: DEFAULT_VERSION,
};

/// The simple registry JSON codec.
pub struct Simple;

impl Codec for Simple {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        m.contains_key("agent_id")
            .then(|| Ok(Detected::plain(FormatVersion::new(Format::Simple, V1))))
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/agent_id"]
    }

    fn schema_for(&self, version: &str, _doc: &Value) -> Result<Option<SchemaId>, String> {
        (version == V1)
            .then_some(Some(SchemaId::SimpleJson))
            .ok_or_else(|| unsupported(self, version))
    }

    fn read(&self, doc: Value, _version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let mut rec = AgentRecord::default();
        let Some(mut root) = Obj::of(doc, "") else {
            return rec;
        };
        rec.identity.name = root.str("agent_id").unwrap_or_default();
        rec.description = root.str("description").unwrap_or_default();
        let endpoint = root.str("endpoint");
        if let Some(e) = &endpoint {
            check_url(e, &root.child_ptr("endpoint"), false, problems);
        }
        let protocols = root.strings("protocols");
        if protocols.is_empty() {
            if let Some(e) = endpoint {
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::Rest,
                    version: None,
                    endpoint: Some(e),
                    transport: None,
                });
            }
        } else {
            for p in protocols {
                rec.protocols.push(ProtocolEndpoint {
                    kind: ProtocolKind::parse(&p),
                    version: None,
                    endpoint: endpoint.clone(),
                    transport: None,
                });
            }
        }
        for c in root.strings("capabilities") {
            rec.skills.push(Skill {
                name: c,
                ..Skill::default()
            });
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
        let mut root = Out::new();
        root.set("agent_id", rec.identity.name.clone());
        let endpoints: Vec<&String> = rec
            .protocols
            .iter()
            .filter_map(|p| p.endpoint.as_ref())
            .collect();
        if let Some(first) = endpoints.first() {
            root.set("endpoint", (*first).clone());
            if endpoints.iter().any(|e| e != first) {
                common::lost(
                    "protocols (endpoints after the first)",
                    "simple registry JSON",
                    warnings,
                );
            }
        }
        root.set("description", rec.description.clone());
        let caps: Vec<String> = rec.skills.iter().map(|s| s.name.clone()).collect();
        root.strings("capabilities", &caps);
        let mut kinds: Vec<String> = Vec::new();
        for p in &rec.protocols {
            let k = p.kind.as_str().to_owned();
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if !(kinds.len() == 1 && kinds[0] == "rest" && endpoints.len() == 1) {
            root.strings("protocols", &kinds);
        }
        for (field, present) in [
            ("identity.namespace", !rec.identity.namespace.is_empty()),
            ("identity.version", !rec.identity.version.is_empty()),
            ("identity.display_name", rec.identity.display_name.is_some()),
            (
                "skills[].description/taxonomy",
                rec.skills
                    .iter()
                    .any(|s| !s.description.is_empty() || !s.taxonomy.is_empty()),
            ),
            ("publisher", rec.publisher.is_some()),
            ("domains", !rec.domains.is_empty()),
            ("runtime", rec.runtime.is_some()),
            ("permissions", rec.permissions.is_some()),
            ("context", rec.context.is_some()),
        ] {
            if present {
                common::lost(field, "simple registry JSON", warnings);
            }
        }
        Ok(root.into_value())
    }
}
