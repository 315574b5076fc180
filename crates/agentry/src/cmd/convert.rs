//! `agentry convert --to <format[@version]> <file>`: convert an agent description between
//! OSSA, A2A, OASF, MCP, NANDA and simple registry JSON. Fields the target cannot hold are
//! listed as warnings on stderr (or in the `--json` document).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentry_formats::Target;
use anyhow::Context;

use crate::cmd::{Global, print_json};
use crate::exit::{Code, Coded};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Target format, optionally with a version: ossa, ossa@ossa/v0.5, a2a@0.3.0, a2a@1.0.1,
    /// oasf@1.0.0, mcp@2025-12-11, nanda, simple.
    #[arg(long, value_name = "FORMAT[@VERSION]")]
    pub to: Target,

    /// The document to convert (format detected); `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Write the converted document here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

}

/// Reads a file, or stdin for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let opts = agentry_formats::ReadOptions::default();
    let converted = agentry_formats::convert(&bytes, &args.to, &opts).map_err(|report| {
        Coded::new(Code::Failure, format!("{}: {report}", args.file.display()))
    })?;
    let w = &converted.written;
    if let Some(out) = &args.output {
        std::fs::write(out, &w.text).with_context(|| format!("writing {}", out.display()))?;
    }
    if global.json {
        let document = if args.output.is_none() {
            Some(&w.text)
        } else {
            None
        };
        print_json(&serde_json::json!({
            "source": converted.source,
            "format": w.format,
            "media_type": w.media_type,
            "warnings": w.warnings,
            "context_budget": w.context_budget,
            "source_cid": converted.source_cid,
            "cid": w.cid,
            "document": document,
        }))?;
    } else {
        if args.output.is_none() {
            print!("{}", w.text);
        }
        for p in converted.source.warnings.iter().chain(w.warnings.iter()) {
            eprintln!("{p}");
        }
        // CIDs as the AGNTCY Directory computes them (OASF records): stderr, so that stdout
        // stays the document.
        if let Some(cid) = &converted.source_cid {
            eprintln!("source cid: {cid}");
        }
        if let Some(cid) = &w.cid {
            eprintln!("cid: {cid}");
        }
    }
    Ok(Code::Ok.into())
}
