//! Pieces shared by several formats: semantic checks, identity splitting, and the whitepaper's
//! "four questions" blocks (publisher, requirements, permissions, compliance), which the OSSA v1
//! manifest carries under `spec` and an A2A card carries under `x-ossa`.

use std::collections::BTreeMap;

use agentry_types::context::ContextSpec;
use agentry_types::record::{
    AgentRecord, Compliance, Dependency, NetworkRule, Permissions, Platform, ProtocolEndpoint,
    ProtocolKind, Publisher, Runtime, SecretRef, Skill, TaxonomyRef,
};
use serde_json::Value;

use crate::obj::{Obj, Out};
use crate::report::{Problem, ProblemSource};

/// Warning unless `v` is a semantic version (a leading `v` tolerated).
pub fn check_semver(v: &str, ptr: &str, problems: &mut Vec<Problem>) {
    if v.is_empty() {
        return;
    }
    if semver::Version::parse(v.trim_start_matches('v')).is_err() {
        problems.push(Problem::warning(
            ProblemSource::Semantic,
            ptr,
            format!("version {v:?} is not a semantic version (MAJOR.MINOR.PATCH)"),
        ));
    }
}

/// URL schemes that run code or read local files where a link is followed: an endpoint or
/// home page with one is refused.
const UNSAFE_SCHEMES: [&str; 4] = ["javascript", "vbscript", "data", "file"];

/// Warning unless `v` is an absolute URL (relative paths allowed when `relative_ok`); error for
/// a scheme that runs code or reads local files.
pub fn check_url(v: &str, ptr: &str, relative_ok: bool, problems: &mut Vec<Problem>) {
    if relative_ok && v.starts_with('/') {
        return;
    }
    match url::Url::parse(v) {
        Ok(u) if UNSAFE_SCHEMES.contains(&u.scheme()) => problems.push(Problem::error(
            ProblemSource::Semantic,
            ptr,
            format!(
                "URL scheme {:?} runs code or reads local files where the link is followed; \
                 an agent's URLs must not use it",
                u.scheme()
            ),
        )),
        Ok(u)
            if matches!(
                u.scheme(),
                "http" | "https" | "ws" | "wss" | "grpc" | "grpcs"
            ) =>
        {
            if u.host_str().is_none_or(str::is_empty) {
                problems.push(Problem::warning(
                    ProblemSource::Semantic,
                    ptr,
                    format!("URL {v:?} has no host"),
                ));
            }
        }
        Ok(_) => {}
        Err(e) => problems.push(Problem::warning(
            ProblemSource::Semantic,
            ptr,
            format!("{v:?} is not a valid URL ({e})"),
        )),
    }
}

/// Warning unless a semver range parses.
pub fn check_version_req(v: &str, ptr: &str, problems: &mut Vec<Problem>) {
    if semver::VersionReq::parse(v).is_err() {
        problems.push(Problem::warning(
            ProblemSource::Semantic,
            ptr,
            format!("{v:?} is not a semantic-version range (e.g. >=1.2.0)"),
        ));
    }
}

/// Registry name grammar (OCI repository path component, lower case): warning otherwise.
pub fn check_name(name: &str, ptr: &str, problems: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
        && name
            .as_bytes()
            .last()
            .is_some_and(u8::is_ascii_alphanumeric);
    if !ok {
        problems.push(Problem::warning(
            ProblemSource::Semantic,
            ptr,
            format!(
                "name {name:?} is not a registry name (lower-case letters, digits, '.', '_', '-'; \
                 starting and ending with a letter or digit); a registry will store it under a \
                 derived name"
            ),
        ));
    }
}

/// Splits `a.b/c/d` into namespace `a.b/c` and name `d`.
pub fn split_qualified(s: &str) -> (String, String) {
    match s.rsplit_once('/') {
        Some((ns, n)) => (ns.to_owned(), n.to_owned()),
        None => (String::new(), s.to_owned()),
    }
}

pub fn join_qualified(ns: &str, name: &str) -> String {
    if ns.is_empty() {
        name.to_owned()
    } else {
        format!("{ns}/{name}")
    }
}

fn taxonomy_refs(
    list: Vec<Obj>,
    prefix: &str,
    ext: &mut BTreeMap<String, Value>,
) -> Vec<TaxonomyRef> {
    list.into_iter()
        .map(|mut t| {
            let r = TaxonomyRef {
                id: t.u64("id"),
                name: t.str("name"),
            };
            t.finish(prefix, ext);
            r
        })
        .collect()
}

pub fn taxonomy_out(refs: &[TaxonomyRef]) -> Vec<Value> {
    refs.iter()
        .map(|t| {
            let mut o = Out::new();
            if let Some(id) = t.id {
                o.set("id", id);
            }
            o.opt_str("name", &t.name);
            o.into_value()
        })
        .collect()
}

/// Reads the whitepaper's skill objects (`name`, `description`, `input-schema`, …).
pub fn read_ossa_skills(
    list: Vec<Obj>,
    prefix: &str,
    ext: &mut BTreeMap<String, Value>,
) -> Vec<Skill> {
    list.into_iter()
        .map(|mut s| {
            let taxonomy = s
                .objs("taxonomy")
                .map(|t| taxonomy_refs(t, prefix, ext))
                .unwrap_or_default();
            let skill = Skill {
                id: s.str("id"),
                name: s.str("name").unwrap_or_default(),
                description: s.str("description").unwrap_or_default(),
                input_schema: s.any("input-schema"),
                output_schema: s.any("output-schema"),
                taxonomy,
                tags: s.strings("tags"),
                examples: s.strings("examples"),
                input_modes: s.strings("input-modes"),
                output_modes: s.strings("output-modes"),
            };
            s.finish(prefix, ext);
            skill
        })
        .collect()
}

pub fn write_ossa_skills(skills: &[Skill]) -> Vec<Value> {
    skills
        .iter()
        .map(|s| {
            let mut o = Out::new();
            o.opt_str("id", &s.id);
            o.set("name", s.name.clone());
            o.non_empty("description", &s.description);
            if let Some(v) = &s.input_schema {
                o.set("input-schema", v.clone());
            }
            if let Some(v) = &s.output_schema {
                o.set("output-schema", v.clone());
            }
            o.arr("taxonomy", taxonomy_out(&s.taxonomy));
            o.strings("tags", &s.tags);
            o.strings("examples", &s.examples);
            o.strings("input-modes", &s.input_modes);
            o.strings("output-modes", &s.output_modes);
            o.into_value()
        })
        .collect()
}

pub fn read_protocols(
    list: Vec<Obj>,
    prefix: &str,
    ext: &mut BTreeMap<String, Value>,
) -> Vec<ProtocolEndpoint> {
    list.into_iter()
        .map(|mut p| {
            let r = ProtocolEndpoint {
                kind: ProtocolKind::parse(&p.str("type").unwrap_or_default()),
                version: p.str("version"),
                endpoint: p.str("endpoint"),
                transport: p.str("transport"),
            };
            p.finish(prefix, ext);
            r
        })
        .collect()
}

pub fn write_protocols(list: &[ProtocolEndpoint]) -> Vec<Value> {
    list.iter()
        .map(|p| {
            let mut o = Out::new();
            o.set("type", p.kind.as_str());
            o.opt_str("version", &p.version);
            o.opt_str("endpoint", &p.endpoint);
            o.opt_str("transport", &p.transport);
            o.into_value()
        })
        .collect()
}

/// Reads `publisher`, `requirements`, `permissions` and `compliance` from `spec` (OSSA v1) or
/// from an A2A card's `x-ossa`.
pub fn read_four_questions(
    spec: &mut Obj,
    prefix: &str,
    rec: &mut AgentRecord,
    problems: &mut Vec<Problem>,
) {
    let ext = &mut rec.extensions;
    if let Some(mut p) = spec.obj("publisher") {
        let publisher = rec.publisher.get_or_insert_with(Publisher::default);
        publisher.organization = p.str("organization").or(publisher.organization.take());
        publisher.domain = p.str("domain").or(publisher.domain.take());
        publisher.contact = p.str("contact").or(publisher.contact.take());
        publisher.url = p.str("url").or(publisher.url.take());
        publisher.did = p.str("did").or(publisher.did.take());
        if let Some(u) = &publisher.url {
            check_url(u, &p.child_ptr("url"), false, problems);
        }
        p.finish(prefix, ext);
    }
    if let Some(mut req) = spec.obj("requirements") {
        if let Some(mut rt) = req.obj("runtime") {
            let mut runtime = Runtime {
                kind: rt.str("type"),
                image: rt.str("image"),
                ..Runtime::default()
            };
            if let Some(mut pf) = rt.obj("platform") {
                let os = pf.peek_str("os").map(str::to_owned);
                let arches = match pf.peek("arch") {
                    Some(Value::String(a)) => Some(vec![a.clone()]),
                    Some(Value::Array(a)) if a.iter().all(Value::is_string) => Some(
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    ),
                    _ => None,
                };
                if let (Some(os), Some(arches)) = (os, arches) {
                    pf.any("os");
                    pf.any("arch");
                    runtime.platforms = arches
                        .into_iter()
                        .map(|arch| Platform {
                            os: os.clone(),
                            arch,
                        })
                        .collect();
                }
                pf.finish(prefix, ext);
            }
            if let Some(mut res) = rt.obj("resources") {
                runtime.cpu = match res.peek("cpu") {
                    Some(Value::Number(n)) => {
                        let s = n.to_string();
                        res.any("cpu");
                        Some(s)
                    }
                    _ => res.str("cpu"),
                };
                runtime.memory = res.str("memory");
                runtime.gpu = res.bool("gpu").unwrap_or(false);
                runtime.storage = res.str("storage");
                res.finish(prefix, ext);
            }
            rt.finish(prefix, ext);
            rec.runtime = Some(runtime);
        }
        if let Some(deps) = req.objs("dependencies") {
            for mut d in deps {
                let dep = Dependency {
                    name: d.str("name").unwrap_or_default(),
                    kind: d.str("type"),
                    version_req: d.str("version"),
                    required: d.bool("required").unwrap_or(false),
                };
                if let Some(v) = &dep.version_req {
                    check_version_req(v, &d.child_ptr("version"), problems);
                }
                d.finish(prefix, ext);
                rec.dependencies.push(dep);
            }
        }
        if let Some(mut c) = req.obj("context") {
            let mut spec = ContextSpec {
                max_input_tokens: c.u64("max-input-tokens"),
                max_output_tokens: c.u64("max-output-tokens"),
                ..ContextSpec::default()
            };
            for (field, names) in [
                (
                    &mut spec.required_tokens,
                    ["required-context-tokens", "required-context-bytes"],
                ),
                (
                    &mut spec.sliding_window_tokens,
                    ["sliding-window-tokens", "sliding-window-bytes"],
                ),
                (
                    &mut spec.retrieval_tokens,
                    ["retrieval-tokens", "retrieval-bytes"],
                ),
            ] {
                *field = c.u64(names[0]).or_else(|| c.u64(names[1]));
            }
            spec.retrieval_augmented = c.bool("retrieval-augmented");
            c.finish(prefix, ext);
            rec.context = Some(spec);
        }
        req.finish(prefix, ext);
    }
    if let Some(mut perm) = spec.obj("permissions") {
        let mut p = Permissions::default();
        if let Some(mut net) = perm.obj("network") {
            p.network_outbound = read_rules(net.objs("outbound"), prefix, ext);
            p.network_inbound = read_rules(net.objs("inbound"), prefix, ext);
            net.finish(prefix, ext);
        }
        if let Some(mut fs) = perm.obj("filesystem") {
            p.filesystem_read = fs.strings("read");
            p.filesystem_write = fs.strings("write");
            p.filesystem_deny = fs.strings("deny");
            fs.finish(prefix, ext);
        }
        if let Some(mut sec) = perm.obj("secrets") {
            for (key, required) in [("required", true), ("optional", false)] {
                for mut s in sec.objs(key).unwrap_or_default() {
                    p.secrets.push(SecretRef {
                        name: s.str("name").unwrap_or_default(),
                        description: s.str("description"),
                        required,
                    });
                    s.finish(prefix, ext);
                }
            }
            sec.finish(prefix, ext);
        }
        if let Some(mut dc) = perm.obj("data-classification") {
            p.data_classes = dc.strings("handles");
            p.data_classes_denied = dc.strings("never-handles");
            dc.finish(prefix, ext);
        }
        perm.finish(prefix, ext);
        rec.permissions = Some(p);
    }
    if let Some(mut c) = spec.obj("compliance") {
        rec.compliance = Some(Compliance {
            frameworks: c.strings("frameworks"),
            audit_log: c.str("audit-log"),
            data_retention: c.str("data-retention"),
        });
        c.finish(prefix, ext);
    }
}

fn read_rules(
    list: Option<Vec<Obj>>,
    prefix: &str,
    ext: &mut BTreeMap<String, Value>,
) -> Vec<NetworkRule> {
    list.unwrap_or_default()
        .into_iter()
        .map(|mut r| {
            let mut ports: Vec<u16> = Vec::new();
            let ok = matches!(r.peek("ports"), Some(Value::Array(a)) if a.iter().all(|p| p.as_u64().is_some_and(|n| n <= 65535)));
            if ok
                && let Some(Value::Array(a)) = r.any("ports") {
                    ports = a
                        .iter()
                        .filter_map(Value::as_u64)
                        .filter_map(|n| u16::try_from(n).ok())
                        .collect();
                }
            if let Some(p) = r.peek("port").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())
                && ports.is_empty() {
                    r.any("port");
                    ports.push(p);
                }
            let rule = NetworkRule {
                host: r.str("host"),
                ports,
                protocol: r.str("protocol"),
            };
            r.finish(prefix, ext);
            rule
        })
        .collect()
}

fn write_rules(rules: &[NetworkRule]) -> Vec<Value> {
    rules
        .iter()
        .map(|r| {
            let mut o = Out::new();
            o.opt_str("host", &r.host);
            if !r.ports.is_empty() {
                o.set(
                    "ports",
                    Value::Array(r.ports.iter().map(|p| Value::from(*p)).collect()),
                );
            }
            o.opt_str("protocol", &r.protocol);
            o.into_value()
        })
        .collect()
}

/// Writes the four-questions blocks of `rec` into `spec`. Returns true if anything was written.
pub fn write_four_questions(rec: &AgentRecord, spec: &mut Out) -> bool {
    let before = spec.0.len();
    if let Some(p) = &rec.publisher {
        let mut o = Out::new();
        o.opt_str("organization", &p.organization)
            .opt_str("domain", &p.domain)
            .opt_str("contact", &p.contact)
            .opt_str("url", &p.url)
            .opt_str("did", &p.did);
        spec.obj("publisher", o);
    }
    let mut req = Out::new();
    if let Some(rt) = &rec.runtime {
        let mut o = Out::new();
        o.opt_str("type", &rt.kind).opt_str("image", &rt.image);
        if let Some(first) = rt.platforms.first() {
            let same_os = rt.platforms.iter().all(|p| p.os == first.os);
            let mut pf = Out::new();
            pf.set("os", first.os.clone());
            if same_os {
                let arches: Vec<String> = rt.platforms.iter().map(|p| p.arch.clone()).collect();
                if arches.len() == 1 {
                    pf.set("arch", arches[0].clone());
                } else {
                    pf.strings("arch", &arches);
                }
            } else {
                pf.set("arch", first.arch.clone());
            }
            o.obj("platform", pf);
        }
        let mut res = Out::new();
        res.opt_str("cpu", &rt.cpu).opt_str("memory", &rt.memory);
        if rt.gpu {
            res.set("gpu", true);
        }
        res.opt_str("storage", &rt.storage);
        o.obj("resources", res);
        req.obj("runtime", o);
    }
    req.arr(
        "dependencies",
        rec.dependencies
            .iter()
            .map(|d| {
                let mut o = Out::new();
                o.set("name", d.name.clone())
                    .opt_str("type", &d.kind)
                    .opt_str("version", &d.version_req)
                    .set("required", d.required);
                o.into_value()
            })
            .collect(),
    );
    if let Some(c) = &rec.context {
        let mut o = Out::new();
        for (k, v) in [
            ("max-input-tokens", c.max_input_tokens),
            ("max-output-tokens", c.max_output_tokens),
            ("required-context-tokens", c.required_tokens),
            ("sliding-window-tokens", c.sliding_window_tokens),
            ("retrieval-tokens", c.retrieval_tokens),
        ] {
            if let Some(v) = v {
                o.set(k, v);
            }
        }
        if let Some(b) = c.retrieval_augmented {
            o.set("retrieval-augmented", b);
        }
        req.obj("context", o);
    }
    spec.obj("requirements", req);
    if let Some(p) = &rec.permissions {
        let mut o = Out::new();
        let mut net = Out::new();
        net.arr("outbound", write_rules(&p.network_outbound));
        net.arr("inbound", write_rules(&p.network_inbound));
        o.obj("network", net);
        let mut fs = Out::new();
        fs.strings("read", &p.filesystem_read)
            .strings("write", &p.filesystem_write)
            .strings("deny", &p.filesystem_deny);
        o.obj("filesystem", fs);
        let mut sec = Out::new();
        for (key, required) in [("required", true), ("optional", false)] {
            sec.arr(
                key,
                p.secrets
                    .iter()
                    .filter(|s| s.required == required)
                    .map(|s| {
                        let mut so = Out::new();
                        so.set("name", s.name.clone())
                            .opt_str("description", &s.description);
                        so.into_value()
                    })
                    .collect(),
            );
        }
        o.obj("secrets", sec);
        let mut dc = Out::new();
        dc.strings("handles", &p.data_classes)
            .strings("never-handles", &p.data_classes_denied);
        o.obj("data-classification", dc);
        spec.obj("permissions", o);
    }
    if let Some(c) = &rec.compliance {
        let mut o = Out::new();
        o.strings("frameworks", &c.frameworks)
            .opt_str("audit-log", &c.audit_log)
            .opt_str("data-retention", &c.data_retention);
        spec.obj("compliance", o);
    }
    spec.0.len() > before
}

/// Warnings for extensions of other formats, which `target` cannot hold.
pub fn foreign_extensions(
    rec: &AgentRecord,
    target: &str,
    placed: impl Fn(&str) -> bool,
    out: &mut Vec<Problem>,
) {
    let own = format!("{target}:");
    for key in rec.extensions.keys() {
        if !key.starts_with(&own) && !placed(key) {
            out.push(Problem::warning(
                ProblemSource::Conversion,
                key.clone(),
                format!("field {key} has no place in {target}; it is dropped"),
            ));
        }
    }
}

/// A conversion warning for one model field the target cannot hold.
pub fn lost(field: &str, target: &str, out: &mut Vec<Problem>) {
    out.push(Problem::warning(
        ProblemSource::Conversion,
        field,
        format!("{target} has no field for {field}; it is dropped"),
    ));
}
