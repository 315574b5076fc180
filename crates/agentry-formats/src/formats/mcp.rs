//! MCP Registry `server.json`: the published camelCase schemas (2025-07-09 … 2025-12-11) and
//! the pre-release snake_case format of the registry's 2025-05-16 seed file (checked against the
//! registry's 2025-07-02 schema, the only one published for it).
//!
//! `packages` and `remotes` are kept whole (they are install instructions); the package's
//! registry type and identifier and each transport and remote URL are copied into the record's
//! runtime and protocols for discovery.

use agentry_types::record::{AgentRecord, ProtocolEndpoint, ProtocolKind, Runtime};
use serde_json::Value;

use super::common::{self, check_semver, check_url, join_qualified, split_qualified};
use crate::detect::{MCP_LATEST, MCP_LEGACY};
use crate::obj::{Obj, Out, reinsert};
use crate::report::{Problem, ProblemSource};
use crate::schemas::SchemaId;

pub const PREFIX: &str = "mcp";
pub const DEFAULT_VERSION: &str = MCP_LATEST;
pub const KIND: &str = "mcp-server";

pub fn schema_for(version: &str) -> Result<SchemaId, String> {
    Ok(match version {
        MCP_LEGACY => SchemaId::McpLegacy20250702,
        "2025-07-09" => SchemaId::Mcp20250709,
        "2025-09-16" => SchemaId::Mcp20250916,
        "2025-09-29" => SchemaId::Mcp20250929,
        "2025-10-11" => SchemaId::Mcp20251011,
        "2025-10-17" => SchemaId::Mcp20251017,
        "2025-12-11" => SchemaId::Mcp20251211,
        _ => {
            return Err(format!(
                "unsupported MCP server.json schema {version:?} (supported: 2025-07-09, 2025-09-16, 2025-09-29, 2025-10-11, 2025-10-17, 2025-12-11, {MCP_LEGACY})"
            ));
        }
    })
}

pub fn check_write_version(version: &str) -> Result<(), String> {
    schema_for(version).map(|_| ())
}

fn schema_url(version: &str) -> String {
    format!("https://static.modelcontextprotocol.io/schemas/{version}/server.schema.json")
}

pub fn read(doc: Value, version: &str, base: &str, problems: &mut Vec<Problem>) -> AgentRecord {
    let mut rec = AgentRecord {
        kind: Some(KIND.into()),
        ..AgentRecord::default()
    };
    let Some(mut root) = Obj::of(doc, base) else {
        return rec;
    };
    let legacy = version == MCP_LEGACY;
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

pub fn write(
    rec: &AgentRecord,
    version: &str,
    warnings: &mut Vec<Problem>,
) -> Result<Value, String> {
    check_write_version(version)?;
    let legacy = version == MCP_LEGACY;
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
    let mut doc = root.into_value();
    for ptr in reinsert(&mut doc, PREFIX, &rec.extensions) {
        warnings.push(Problem::warning(
            ProblemSource::Conversion,
            format!("{PREFIX}:{ptr}"),
            "kept field could not be placed back in the written server.json",
        ));
    }
    common::foreign_extensions(rec, PREFIX, warnings);
    Ok(doc)
}
