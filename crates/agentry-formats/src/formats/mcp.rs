//! MCP Registry `server.json`: the published camelCase schemas (2025-07-09 … 2025-12-11) and
//! the pre-release snake_case format of the registry's 2025-05-16 seed file (checked against the
//! registry's 2025-07-02 schema, the only one published for it).
//!
//! `packages` and `remotes` are kept whole (they are install instructions); the package's
//! registry type and identifier and each transport and remote URL are copied into the record's
//! runtime and protocols for discovery.

use agentry_types::record::{AgentRecord, ProtocolEndpoint, ProtocolKind, Runtime};
use serde_json::{Map, Value};

use super::common::{self, check_semver, check_url, join_qualified, split_qualified};
use crate::codec::{About, Codec, unsupported};
use crate::detect::Detected;
use crate::format::{Format, FormatVersion};
use crate::obj::{Obj, Out};
use crate::report::{Problem, ProblemSource};
use crate::schemas::{self, SchemaId};

pub const PREFIX: &str = "mcp";
/// Newest `server.json` schema: the version assumed for documents without `$schema`.
pub const LATEST: &str = "2025-12-11";
/// The pre-release snake_case registry format (the 2025-05-16 seed file).
pub const LEGACY: &str = "legacy-2025-07-02";
pub const DEFAULT_VERSION: &str = LATEST;
pub const KIND: &str = "mcp-server";

/// The versions read, each checked against the schema at the same place in [`SCHEMA_IDS`].
const VERSIONS: [&str; 7] = [
    "2025-07-09",
    "2025-09-16",
    "2025-09-29",
    "2025-10-11",
    "2025-10-17",
    "2025-12-11",
    LEGACY,
];
const SCHEMA_IDS: [SchemaId; 7] = [
    SchemaId::Mcp20250709,
    SchemaId::Mcp20250916,
    SchemaId::Mcp20250929,
    SchemaId::Mcp20251011,
    SchemaId::Mcp20251017,
    SchemaId::Mcp20251211,
    SchemaId::McpLegacy20250702,
];

const ABOUT: About = About {
    format: Format::Mcp,
    title: "MCP server.json",
    versions: &VERSIONS,
    default_version: DEFAULT_VERSION,
};

/// The MCP Registry `server.json` codec.
pub struct Mcp;

impl Codec for Mcp {
    fn about(&self) -> &'static About {
        &ABOUT
    }

    fn detect(&self, m: &Map<String, Value>) -> Option<Result<Detected, String>> {
        if let Some(Value::Object(server)) = m.get("server")
            && m.len() <= 2
            && (m.len() == 1 || m.contains_key("_meta"))
            && let Some(format) = detect_version(server)
        {
            return Some(Ok(Detected {
                format,
                inner_pointer: "/server",
            }));
        }
        detect_version(m).map(|f| Ok(Detected::plain(f)))
    }

    fn name_pointers(&self, _version: &str) -> &'static [&'static str] {
        &["/name"]
    }

    fn schema_for(&self, version: &str, _doc: &Value) -> Result<Option<SchemaId>, String> {
        VERSIONS
            .iter()
            .zip(SCHEMA_IDS)
            .find(|(v, _)| **v == version)
            .map(|(_, id)| Some(id))
            .ok_or_else(|| unsupported(self, version))
    }

    fn check(&self, version: &str, doc: &Value, ptr: &str) -> Result<Vec<Problem>, String> {
        let Some(id) = self.schema_for(version, doc)? else {
            return Ok(Vec::new());
        };
        if version != LEGACY {
            return Ok(schemas::check(id, doc, ptr));
        }
        // The 2025-07-02 schema wants value_hint on every positional argument; the registry's
        // next schema (2025-07-09) wants value_hint or value, and the 2025-05-16 seed publishes
        // arguments with a value only. Such an argument is checked as if its value were its
        // hint, and named in a warning.
        let mut hinted = Vec::new();
        let mut patched = doc.clone();
        if let Some(Value::Array(packages)) = patched.get_mut("packages") {
            for (i, p) in packages.iter_mut().enumerate() {
                for key in ["package_arguments", "runtime_arguments"] {
                    let Some(Value::Array(args)) = p.get_mut(key) else {
                        continue;
                    };
                    for (j, arg) in args.iter_mut().enumerate() {
                        if let Value::Object(a) = arg
                            && a.get("type").and_then(Value::as_str) == Some("positional")
                            && !a.contains_key("value_hint")
                            && let Some(v @ Value::String(_)) = a.get("value").cloned()
                        {
                            a.insert("value_hint".into(), v);
                            hinted.push(format!("{ptr}/packages/{i}/{key}/{j}"));
                        }
                    }
                }
            }
        }
        if hinted.is_empty() {
            return Ok(schemas::check(id, doc, ptr));
        }
        let mut problems = schemas::check(id, &patched, ptr);
        problems.extend(hinted.into_iter().map(|at| {
            Problem::warning(
                ProblemSource::Schema,
                at,
                "positional argument with a value but no value_hint: the 2025-07-02 schema \
                 requires value_hint; accepted as server.json 2025-07-09 and later allow (value \
                 or value_hint)",
            )
        }));
        Ok(problems)
    }

    fn read(&self, doc: Value, version: &str, problems: &mut Vec<Problem>) -> AgentRecord {
        let base = "";
        let mut rec = AgentRecord {
            kind: Some(KIND.into()),
            ..AgentRecord::default()
        };
        let Some(mut root) = Obj::of(doc, base) else {
            return rec;
        };
        let legacy = version == LEGACY;
        if !legacy && root.peek_str("$schema") == Some(schema_url(version).as_str()) {
            root.any("$schema");
        }
        if let Some(name) = root.str("name") {
            let (ns, n) = split_qualified(&name);
            rec.identity.namespace = ns;
            rec.identity.name = n;
        }
        rec.identity.display_name = root.str("title");
        rec.description = root.str("description").unwrap_or_default();
        if legacy {
            if let Some(mut vd) = root.obj("version_detail") {
                rec.identity.version = vd.str("version").unwrap_or_default();
                rec.created_at = vd.str("release_date");
                vd.finish(PREFIX, &mut rec.extensions);
            }
        } else {
            rec.identity.version = root.str("version").unwrap_or_default();
        }
        check_semver(&rec.identity.version, &root.child_ptr("version"), problems);
        if let Some(u) = root.peek_str("websiteUrl") {
            check_url(u, &root.child_ptr("websiteUrl"), false, problems);
        }
        derive(
            root.peek("packages"),
            root.peek("remotes"),
            legacy,
            &mut rec,
            &root.ptr,
            problems,
        );
        root.finish(PREFIX, &mut rec.extensions);
        rec
    }

    fn build(
        &self,
        rec: &AgentRecord,
        version: &str,
        warnings: &mut Vec<Problem>,
    ) -> Result<Value, String> {
        let legacy = version == LEGACY;
        let has_ext = |p: &str| rec.extensions.contains_key(&format!("{PREFIX}:{p}"));
        let mut root = Out::new();
        if !legacy && !has_ext("/$schema") {
            root.set("$schema", schema_url(version));
        }
        let name = join_qualified(&rec.identity.namespace, &rec.identity.name);
        if !name.contains('/') {
            warnings.push(Problem::warning(
                ProblemSource::Conversion,
                "/name",
                format!("MCP server names are namespace/name; {name:?} has no namespace"),
            ));
        }
        root.set("name", name);
        if !legacy {
            root.opt_str("title", &rec.identity.display_name);
        } else if rec.identity.display_name.is_some() {
            common::lost("identity.display_name", "the legacy MCP format", warnings);
        }
        root.set("description", rec.description.clone());
        if legacy {
            let mut vd = Out::new();
            vd.set("version", rec.identity.version.clone());
            vd.opt_str("release_date", &rec.created_at);
            root.obj("version_detail", vd);
        } else {
            root.set("version", rec.identity.version.clone());
            if rec.created_at.is_some() {
                common::lost("created_at", &format!("MCP {version}"), warnings);
            }
        }
        // Packages and remotes are generated only for records from other formats; an MCP record
        // keeps its own verbatim.
        let native = has_ext("/packages") || has_ext("/remotes");
        if !native
            && let Some(rt) = &rec.runtime
            && let (Some(kind), Some(id)) = (&rt.kind, &rt.image)
        {
            let mut p = Out::new();
            if legacy {
                p.set("registry_name", kind.clone());
                p.set("name", id.clone());
                p.set("version", rec.identity.version.clone());
            } else {
                let registry = match kind.as_str() {
                    "container" | "docker" => "oci",
                    other => other,
                };
                p.set("registryType", registry);
                p.set("identifier", id.clone());
                p.set("version", rec.identity.version.clone());
                let mut t = Out::new();
                t.set("type", "stdio");
                p.obj("transport", t);
            }
            root.arr("packages", vec![p.into_value()]);
        }
        if !native {
            let remotes: Vec<Value> = rec
                .protocols
                .iter()
                .filter(|p| p.kind == ProtocolKind::Mcp)
                .filter_map(|p| {
                    let url = p.endpoint.clone()?;
                    let mut o = Out::new();
                    let t = p
                        .transport
                        .clone()
                        .unwrap_or_else(|| "streamable-http".into());
                    o.set(if legacy { "transport_type" } else { "type" }, t);
                    o.set("url", url);
                    Some(o.into_value())
                })
                .collect();
            root.arr("remotes", remotes);
        }
        let non_mcp = rec.protocols.iter().any(|p| p.kind != ProtocolKind::Mcp);
        for (field, present) in [
            ("skills", !rec.skills.is_empty()),
            ("domains", !rec.domains.is_empty()),
            ("publisher", rec.publisher.is_some()),
            ("protocols other than MCP", non_mcp),
            ("permissions", rec.permissions.is_some()),
            ("compliance", rec.compliance.is_some()),
            ("dependencies", !rec.dependencies.is_empty()),
            ("context", rec.context.is_some()),
            ("labels", !rec.labels.is_empty()),
            ("annotations", !rec.annotations.is_empty()),
        ] {
            if present {
                common::lost(field, &format!("MCP {version}"), warnings);
            }
        }
        Ok(root.into_value())
    }
}

fn detect_version(m: &Map<String, Value>) -> Option<FormatVersion> {
    if let Some(Value::String(s)) = m.get("$schema")
        && s.contains("modelcontextprotocol")
    {
        let date = s
            .split('/')
            .find(|seg| seg.len() == 10 && seg.as_bytes().get(4) == Some(&b'-'))
            .unwrap_or(LATEST);
        return Some(FormatVersion::new(Format::Mcp, date));
    }
    let legacy = m.contains_key("version_detail")
        || member_keys(m, "packages").any(|k| k == "registry_name" || k == "package_arguments")
        || member_keys(m, "remotes").any(|k| k == "transport_type");
    if legacy {
        return Some(FormatVersion::new(Format::Mcp, LEGACY));
    }
    let name_like = matches!(m.get("name"), Some(Value::String(n)) if n.contains('/'));
    let mcp_keys = ["packages", "remotes", "websiteUrl", "repository", "_meta"];
    if name_like && mcp_keys.iter().any(|k| m.contains_key(*k)) && !m.contains_key("skills") {
        return Some(FormatVersion::new(Format::Mcp, LATEST));
    }
    None
}

/// The keys of the objects in the array `m[list]`.
fn member_keys<'a>(m: &'a Map<String, Value>, list: &str) -> impl Iterator<Item = &'a String> {
    m.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|p| p.keys())
}

fn schema_url(version: &str) -> String {
    format!("https://static.modelcontextprotocol.io/schemas/{version}/server.schema.json")
}

fn derive(
    packages: Option<&Value>,
    remotes: Option<&Value>,
    legacy: bool,
    rec: &mut AgentRecord,
    base: &str,
    problems: &mut Vec<Problem>,
) {
    let (kind_key, id_key) = if legacy {
        ("registry_name", "name")
    } else {
        ("registryType", "identifier")
    };
    if let Some(Value::Array(list)) = packages {
        for p in list {
            let kind = p.get(kind_key).and_then(Value::as_str);
            let id = p.get(id_key).and_then(Value::as_str);
            if rec.runtime.is_none() && (kind.is_some() || id.is_some()) {
                rec.runtime = Some(Runtime {
                    kind: kind.map(str::to_owned),
                    image: id.map(str::to_owned),
                    ..Runtime::default()
                });
            }
            let transport = if legacy {
                Some("stdio".to_owned())
            } else {
                p.get("transport")
                    .and_then(|t| t.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            rec.protocols.push(ProtocolEndpoint {
                kind: ProtocolKind::Mcp,
                version: None,
                endpoint: p
                    .get("transport")
                    .and_then(|t| t.get("url"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                transport,
            });
        }
    }
    if let Some(Value::Array(list)) = remotes {
        let type_key = if legacy { "transport_type" } else { "type" };
        for (i, r) in list.iter().enumerate() {
            let url = r.get("url").and_then(Value::as_str);
            if let Some(u) = url
                && !u.contains('{')
            {
                check_url(u, &format!("{base}/remotes/{i}/url"), false, problems);
            }
            rec.protocols.push(ProtocolEndpoint {
                kind: ProtocolKind::Mcp,
                version: None,
                endpoint: url.map(str::to_owned),
                transport: r.get(type_key).and_then(Value::as_str).map(str::to_owned),
            });
        }
    }
}
