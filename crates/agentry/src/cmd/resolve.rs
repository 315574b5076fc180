//! `agentry resolve @prefix:name`: ask a pod's switchboard to resolve a reference at the
//! registry its prefix names (`GET /api/v1/switchboard/lookup/{ref}`).

use std::process::ExitCode;

use serde_json::Value;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::client_for;

/// Resolve a switchboard reference (`@prefix:name`) through a pod.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry resolve @nanda:translator-agent --registry localhost:5000\n  agentry resolve @mcp:io.github.21st-dev/magic-mcp --json")]
pub struct Args {
    /// The reference: `@prefix:name`, the prefix one of the pod's [[serve.switchboard]] sources.
    pub reference: String,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Percent-encode a path segment's reserved characters (the reference's `/` stays a path
/// separator, which the pod's wildcard route takes whole).
fn encode(reference: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'@')
        .remove(b':')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(reference, SET).to_string()
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    if let Err(e) = agentry_switchboard::parse_ref(&args.reference) {
        return Err(Coded::new(Code::Usage, e).into());
    }
    let registry = args.registry.registry.clone().ok_or_else(|| {
        Coded::new(Code::Usage, "which registry? pass --registry HOST:PORT (or set AGENTRY_REGISTRY)")
    })?;
    let client = client_for(&registry, &args.registry)?;
    let (status, body) = client
        .api_get(&format!("switchboard/lookup/{}", encode(&args.reference)))
        .await?;
    if status >= 400 {
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("the registry could not resolve the reference")
            .to_owned();
        let code = match status {
            404 => Code::NotFound,
            s if s >= 500 => Code::Server,
            _ => Code::Usage,
        };
        return Err(Coded::new(code, detail).into());
    }
    if global.json {
        print_json(&body)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    println!("{}", s("/ref"));
    println!("  name:        {}", {
        let ns = s("/record/identity/namespace");
        let n = s("/record/identity/name");
        if ns.is_empty() { n } else { format!("{ns}/{n}") }
    });
    println!("  version:     {}", s("/record/identity/version"));
    println!("  description: {}", s("/record/description"));
    println!("  format:      {}", s("/record/provenance/source_format"));
    if let Some(ps) = body.pointer("/record/protocols").and_then(Value::as_array) {
        for p in ps {
            let kind = p.get("kind").and_then(Value::as_str).unwrap_or("");
            let ep = p.get("endpoint").and_then(Value::as_str).unwrap_or("");
            println!("  protocol:    {kind} {ep}");
        }
    }
    println!("  source:      {} ({})", s("/source"), s("/remote_url"));
    println!("  fetched at:  {}", s("/fetched_at"));
    Ok(ExitCode::SUCCESS)
}
