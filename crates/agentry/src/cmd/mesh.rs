//! `agentry mesh status|peers`: the mesh as one pod sees it, through its API
//! (`GET /api/v1/mesh/status`, `GET /api/v1/mesh/peers`).

use std::process::ExitCode;

use serde_json::Value;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::client_for;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry mesh status --registry localhost:5000\n  agentry mesh peers --registry localhost:5000 --json")]
pub struct Args {
    #[command(subcommand)]
    pub sub: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// This pod: its name, role, addresses, members by state, records by origin pod.
    Status(Target),
    /// Every member: state, incarnation, last contact, replication lag in events.
    Peers(Target),
}

#[derive(Debug, clap::Args)]
pub struct Target {
    #[command(flatten)]
    pub registry: RegistryArgs,
}

async fn get(target: &Target, path: &str) -> anyhow::Result<Value> {
    let registry = target.registry.registry.clone().ok_or_else(|| {
        Coded::new(Code::Usage, "which pod? pass --registry HOST:PORT (or set AGENTRY_REGISTRY)")
    })?;
    let client = client_for(&registry, &target.registry)?;
    let (status, body) = client.api_get(path).await?;
    if status >= 400 {
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("the pod refused")
            .to_owned();
        let code = match status {
            404 => Code::NotFound,
            s if s >= 500 => Code::Server,
            _ => Code::Usage,
        };
        return Err(Coded::new(code, detail).into());
    }
    Ok(body)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn counts(v: &Value) -> String {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| format!("{k} {}", n.as_u64().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "none".into())
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    match &args.sub {
        Sub::Status(t) => {
            let body = get(t, "mesh/status").await?;
            if global.json {
                print_json(&body)?;
            } else {
                println!("pod       {} ({})", s(&body, "pod"), s(&body, "role"));
                println!("api       {}", s(&body, "api"));
                println!("gossip    {}", s(&body, "gossip"));
                println!("members   {}", counts(&body["members"]));
                println!("records   {}", counts(&body["records"]));
                println!(
                    "tombstones {}",
                    body.get("tombstones").and_then(Value::as_u64).unwrap_or(0)
                );
            }
        }
        Sub::Peers(t) => {
            let body = get(t, "mesh/peers").await?;
            if global.json {
                print_json(&body)?;
                return Ok(ExitCode::SUCCESS);
            }
            let peers = body.get("peers").and_then(Value::as_array).cloned().unwrap_or_default();
            if peers.is_empty() {
                eprintln!("no peers (is --mesh-seeds right, and the mesh key the same?)");
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<[String; 7]> = peers
                .iter()
                .map(|p| {
                    let n = |k: &str| p.get(k).and_then(Value::as_u64);
                    [
                        s(p, "pod").to_owned(),
                        s(p, "state").to_owned(),
                        n("incarnation").unwrap_or(0).to_string(),
                        n("last_contact_ms_ago")
                            .map(|ms| format!("{:.1}s ago", ms as f64 / 1000.0))
                            .unwrap_or_else(|| "never".into()),
                        n("lag_events").unwrap_or(0).to_string(),
                        s(p, "gossip").to_owned(),
                        s(p, "api").to_owned(),
                    ]
                })
                .collect();
            let headers = ["POD", "STATE", "INCARNATION", "LAST CONTACT", "LAG (EVENTS)", "GOSSIP", "API"];
            let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
            for r in &rows {
                for (i, c) in r.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            println!("{}", line(headers.to_vec()));
            for r in &rows {
                println!("{}", line(r.iter().map(String::as_str).collect()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
