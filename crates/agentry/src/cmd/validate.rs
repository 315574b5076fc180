//! `agentry validate <file>…`: check agent descriptions in any supported format against their
//! format's schema and agentry's semantic rules. Exit 0 when every record is valid, 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use agentry_formats::ValidationReport;
use serde::Serialize;

use crate::cmd::{Global, print_json};
use crate::exit::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to check (OSSA YAML/JSON, A2A card, OASF record, MCP server.json, NANDA AgentFacts,
    /// simple registry JSON); the format and version are detected. `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Report schema violations as warnings instead of errors (for importing records that
    /// drifted from their published schema).
    #[arg(long, env = "AGENTRY_LENIENT", value_parser = clap::builder::FalseyValueParser::new())]
    pub lenient: bool,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    valid: bool,
    records: Vec<ValidationReport>,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let opts = super::read_options(args.lenient);
    let mut out = Vec::new();
    for path in &args.files {
        let bytes = super::convert::read_input(path)?;
        let records = agentry_formats::validate(&bytes, &opts);
        out.push(FileReport {
            path: path.display().to_string(),
            valid: records.iter().all(|r| r.valid),
            records,
        });
    }
    let all_valid = out.iter().all(|f| f.valid);
    if global.json {
        print_json(&serde_json::json!({ "valid": all_valid, "files": out }))?;
    } else {
        for f in &out {
            for r in &f.records {
                let at = if r.record_pointer.is_empty() {
                    f.path.clone()
                } else {
                    format!("{}#{}", f.path, r.record_pointer)
                };
                println!("{at}: {r}");
                if let Some(b) = &r.context_budget {
                    println!(
                        "  context budget: {} of {} tokens ({:.1}%{})",
                        b.optimal_budget_tokens,
                        b.max_input_tokens,
                        b.utilization * 100.0,
                        if b.healthy { ", healthy" } else { "" }
                    );
                }
            }
        }
    }
    let code = if all_valid { Code::Ok } else { Code::Failure };
    Ok(code.into())
}
