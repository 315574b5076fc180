//! `agentry search [TEXT]`: find agents in a pod by words, meaning, capability and filters,
//! through its discovery API. A readable table by default; `--json` prints the API's answer.

use std::process::ExitCode;

use serde_json::Value;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::client_for;

/// Search a registry's agents.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry search invoice extraction\n  agentry search --semantic \"turn receipts into spreadsheet rows\"\n  agentry search --capability language_processing --protocol mcp --min-trust standard\n  agentry search pdf --mode hybrid --max-input-tokens 8000 --json")]
pub struct Args {
    /// Words to search for (full-text; with --semantic, a description of what the agent does).
    pub text: Vec<String>,

    /// Answer TEXT by meaning (nearest neighbours of its embedding) instead of by words.
    #[arg(long)]
    pub semantic: bool,

    /// text, semantic or hybrid (fusion of both rankings).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,

    /// Skill name, OASF taxonomy path or id; repeatable. A category also finds its sub-skills.
    #[arg(long = "capability", short = 'c', value_name = "SKILL")]
    pub capabilities: Vec<String>,

    /// Require any of the capabilities instead of all.
    #[arg(long)]
    pub any: bool,

    /// Exact name, optionally with @version, @^range or @latest.
    #[arg(long, value_name = "NAMESPACE/NAME[@RANGE]")]
    pub name: Option<String>,

    /// Protocol the agent must speak (a2a, mcp, rest, grpc); repeatable, any of them.
    #[arg(long = "protocol", value_name = "KIND")]
    pub protocols: Vec<String>,

    /// Minimum trust tier: basic, standard or verified.
    #[arg(long, value_name = "TIER")]
    pub min_trust: Option<String>,

    /// Only agents in this namespace (the repository path before the agent's name).
    #[arg(long)]
    pub namespace: Option<String>,

    /// Only agents of this publisher (organisation or domain, as the record names it).
    #[arg(long)]
    pub publisher: Option<String>,

    /// key=value; repeatable, all must match.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    #[arg(long)]
    pub os: Option<String>,

    #[arg(long)]
    pub arch: Option<String>,

    /// true: needs a GPU; false: runs without one.
    #[arg(long, value_name = "BOOL")]
    pub gpu: Option<bool>,

    /// Only agents whose context budget (Formula 2) fits a window of this many tokens.
    #[arg(long, value_name = "TOKENS")]
    pub max_input_tokens: Option<u64>,

    /// Include pre-release versions.
    #[arg(long)]
    pub prerelease: bool,

    /// Also print counts per capability, protocol, tier and namespace.
    #[arg(long)]
    pub facets: bool,

    /// Results per page (at most 100).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,

    /// Continue from a previous answer's next_cursor.
    #[arg(long)]
    pub cursor: Option<String>,

    /// Ask every live pod of the mesh too (scope=federated): merged by digest, each result
    /// with the pod it came from; peers that did not answer in time are named.
    #[arg(long)]
    pub federated: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn query_string(a: &Args) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    let text = a.text.join(" ");
    if !text.trim().is_empty() {
        s.append_pair(if a.semantic { "semantic" } else { "q" }, text.trim());
    }
    if let Some(m) = &a.mode {
        s.append_pair("mode", m);
    }
    for c in &a.capabilities {
        s.append_pair("capability", c);
    }
    if a.any {
        s.append_pair("capability_match", "any");
    }
    for (k, v) in [
        ("name", &a.name),
        ("min_trust", &a.min_trust),
        ("namespace", &a.namespace),
        ("publisher", &a.publisher),
        ("os", &a.os),
        ("arch", &a.arch),
        ("cursor", &a.cursor),
    ] {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    for p in &a.protocols {
        s.append_pair("protocol", p);
    }
    for l in &a.labels {
        s.append_pair("label", l);
    }
    if let Some(g) = a.gpu {
        s.append_pair("gpu", if g { "true" } else { "false" });
    }
    if let Some(n) = a.max_input_tokens {
        s.append_pair("max_input_tokens", &n.to_string());
    }
    if a.prerelease {
        s.append_pair("prerelease", "true");
    }
    if a.facets {
        s.append_pair("facets", "true");
    }
    s.append_pair("limit", &a.limit.to_string());
    if a.federated {
        s.append_pair("scope", "federated");
    }
    s.finish()
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let registry = args.registry.registry.clone().ok_or_else(|| {
        Coded::new(Code::Usage, "which registry? pass --registry HOST:PORT (or set AGENTRY_REGISTRY)")
    })?;
    let client = client_for(&registry, &args.registry)?;
    let (status, body) = client.api_get(&format!("agents?{}", query_string(&args))).await?;
    if status >= 400 {
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("the registry refused the search")
            .to_owned();
        let code = if status >= 500 { Code::Server } else { Code::Usage };
        return Err(Coded::new(code, detail).into());
    }
    if global.json {
        print_json(&body)?;
        return Ok(ExitCode::SUCCESS);
    }
    let items = body.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    if items.is_empty() {
        eprintln!("no agents found");
        return Ok(ExitCode::SUCCESS);
    }
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|it| {
            let ns = field(it, "namespace");
            let name = if ns.is_empty() { field(it, "name") } else { format!("{ns}/{}", field(it, "name")) };
            let protocols = it
                .get("protocols")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            let score = it.get("score").and_then(Value::as_f64).unwrap_or(0.0);
            [
                cut(&name, 40),
                cut(&field(it, "version"), 16),
                field(it, "trust_tier"),
                format!("{score:.3}"),
                protocols,
                cut(&field(it, "description"), 60),
            ]
        })
        .collect();
    let headers = ["NAME", "VERSION", "TRUST", "SCORE", "PROTOCOLS", "DESCRIPTION"];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(&headers.map(String::from)));
    for r in &rows {
        println!("{}", line(r));
    }
    if let Some(facets) = body.get("facets").and_then(Value::as_object) {
        for (name, values) in facets {
            let vals: Vec<String> = values
                .as_array()
                .into_iter()
                .flatten()
                .take(10)
                .map(|v| format!("{} ({})", field(v, "value"), v.get("count").and_then(Value::as_u64).unwrap_or(0)))
                .collect();
            if !vals.is_empty() {
                println!("{name}: {}", vals.join(", "));
            }
        }
    }
    if let Some(c) = body.get("next_cursor").and_then(Value::as_str) {
        eprintln!("more results: --cursor {c}");
    }
    if let Some(fed) = body.get("federation") {
        let pods = |k: &str| -> Vec<String> {
            fed.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| match p.get("error").and_then(Value::as_str) {
                    Some(e) => format!("{} ({e})", field(p, "pod")),
                    None => field(p, "pod"),
                })
                .collect()
        };
        let (answered, failed) = (pods("answered"), pods("failed"));
        eprintln!("answered: {}", if answered.is_empty() { "no peer".into() } else { answered.join(", ") });
        if !failed.is_empty() {
            eprintln!("partial: no answer from {}", failed.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
