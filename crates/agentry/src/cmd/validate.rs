//! `agentry validate <file>…`: check agent descriptions in any supported format against their
//! format's schema and agentry's semantic rules. Exit 0 when every record would be accepted by a
//! pod (by a `--strict-records` pod with that flag), 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use agentry_formats::ValidationReport;
use serde::Serialize;

use crate::cmd::{Global, print_json};
use crate::exit::Code;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
A record is refused (error) when it is not an agent description, does not have its format's
shape (a wrong type, a required member missing), lacks a usable name or version, or is unsafe.
What the format's schema only does not list (an unknown enum value, an empty optional string, a
field of another version) is a warning: a pod accepts the record and stores the warnings with it.

Examples:
  agentry validate manifest.yaml
  agentry validate --json seed.json | jq '.files[].records[] | select(.valid | not)'
  agentry validate --strict-records agent-card.json   # as a --strict-records pod would")]
pub struct Args {
    /// Files to check (OSSA YAML/JSON, A2A card, OASF record, MCP server.json, NANDA AgentFacts,
    /// simple registry JSON); the format and version are detected. `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Judge as a pod run with --strict-records does: every warning refuses the record.
    #[arg(long, env = "AGENTRY_STRICT_RECORDS", value_parser = clap::builder::FalseyValueParser::new())]
    pub strict_records: bool,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    valid: bool,
    records: Vec<RecordReport>,
}

/// One record's report, with its CID.
#[derive(Serialize)]
struct RecordReport {
    #[serde(flatten)]
    report: ValidationReport,
    /// The record's CID as the AGNTCY Directory computes it (OASF records).
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let opts = agentry_formats::ReadOptions::default();
    let mut out = Vec::new();
    for path in &args.files {
        let bytes = super::convert::read_input(path)?;
        let judged = |report: ValidationReport| {
            if args.strict_records {
                report.into_strict()
            } else {
                report
            }
        };
        let records: Vec<RecordReport> = match agentry_formats::read_document(&bytes, &opts) {
            Ok(recs) => recs
                .into_iter()
                .map(|r| RecordReport {
                    report: judged(r.report),
                    cid: r.record.identity.oasf_cid,
                })
                .collect(),
            Err(report) => vec![RecordReport {
                report: judged(report),
                cid: None,
            }],
        };
        out.push(FileReport {
            path: path.display().to_string(),
            valid: records.iter().all(|r| r.report.valid),
            records,
        });
    }
    let all_valid = out.iter().all(|f| f.valid);
    if global.json {
        print_json(&serde_json::json!({ "valid": all_valid, "files": out }))?;
    } else {
        for f in &out {
            for RecordReport { report: r, cid } in &f.records {
                let at = if r.record_pointer.is_empty() {
                    f.path.clone()
                } else {
                    format!("{}#{}", f.path, r.record_pointer)
                };
                println!("{at}: {r}");
                if let Some(cid) = cid {
                    println!("  cid: {cid}");
                }
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
