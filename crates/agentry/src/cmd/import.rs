//! `agentry import <prefix>`: have a pod copy a switchboard source's records into its index
//! (`POST /api/v1/switchboard/import/{prefix}`), and follow the job's progress.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::client_for;

/// Import a switchboard source's records into a pod (idempotent: a re-import replaces).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry import mcp --registry localhost:5000\n  agentry import mcp --since 2025-09-01T00:00:00Z")]
pub struct Args {
    /// The source's prefix (as in `@prefix:`), one of the pod's [[serve.switchboard]] sources.
    pub prefix: String,

    /// Only records changed since this time (RFC 3339), where the source can say (MCP).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn refused(status: u16, body: &Value, what: &str) -> anyhow::Error {
    let detail = body
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or(what)
        .to_owned();
    let code = match status {
        404 => Code::NotFound,
        s if s >= 500 => Code::Server,
        _ => Code::Usage,
    };
    Coded::new(code, detail).into()
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    if let Some(s) = &args.since
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(Coded::new(Code::Usage, format!("--since: {s:?} is not an RFC 3339 time")).into());
    }
    let registry = args.registry.registry.clone().ok_or_else(|| {
        Coded::new(Code::Usage, "which registry? pass --registry HOST:PORT (or set AGENTRY_REGISTRY)")
    })?;
    let client = client_for(&registry, &args.registry)?;
    let prefix: String = form_urlencoded::byte_serialize(args.prefix.as_bytes()).collect();
    let mut path = format!("switchboard/import/{prefix}");
    if let Some(s) = &args.since {
        let since: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        path.push_str(&format!("?since={since}"));
    }
    let (status, body) = client.api_post(&path, None).await?;
    if status >= 400 {
        return Err(refused(status, &body, "the registry refused the import"));
    }
    let bar = if global.progress_visible() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} @{prefix}: {msg} [{elapsed_precise}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .with_key("prefix", {
                let p = args.prefix.clone();
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&p);
                }
            }),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        Some(b)
    } else {
        None
    };
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let last = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, body) = client.api_get(&format!("switchboard/import/{prefix}")).await?;
        if status >= 400 {
            return Err(refused(status, &body, "the registry lost the import"));
        }
        if let Some(b) = &bar {
            b.set_message(format!(
                "{} pages, {} read, {} stored, {} skipped",
                n(&body, "pages"),
                n(&body, "seen"),
                n(&body, "stored"),
                n(&body, "skipped_count")
            ));
        }
        if body.get("state").and_then(Value::as_str) != Some("running") {
            break body;
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if global.json {
        print_json(&last)?;
    } else {
        let secs = n(&last, "elapsed_ms") as f64 / 1000.0;
        eprintln!(
            "@{}: {} pages, {} records read, {} stored, {} skipped in {secs:.2}s",
            args.prefix,
            n(&last, "pages"),
            n(&last, "seen"),
            n(&last, "stored"),
            n(&last, "skipped_count")
        );
        if let Some(sk) = last.get("skipped").and_then(Value::as_array) {
            for s in sk.iter().take(5) {
                eprintln!("  skipped {}: {}", s["id"].as_str().unwrap_or("?"), s["reason"].as_str().unwrap_or(""));
            }
        }
    }
    if last.get("state").and_then(Value::as_str) == Some("failed") {
        let e = last.get("error").and_then(Value::as_str).unwrap_or("the import failed");
        return Err(Coded::new(Code::Server, format!("@{}: {e}", args.prefix)).into());
    }
    Ok(ExitCode::SUCCESS)
}
