//! `agentry gc`: remove blobs no manifest references.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use agentry_server::admin::GcSummary;
use agentry_store::gc::{GcOptions, collect};
use agentry_store::{FsBlobStore, RedbMetadataStore};

use crate::cmd::{DataArgs, Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::client_for;

/// Remove blobs that no manifest references (and no recent upload protects).
///
/// Safe while the pod serves: on a running pod use `--registry` (the pod collects, because its
/// database is locked to it); on a stopped pod's data directory use `--data`. Blobs written or
/// linked within `--grace` seconds are always kept: they belong to pushes in progress.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry gc --registry localhost:5000 --dry-run\n  agentry gc --data ./agentry-data --grace 0")]
#[command(mut_arg("data", |a| a.help("Collect on a stopped pod's data directory (used when --registry is not given)")))]
pub struct Args {
    /// Report what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Keep blobs written or linked within this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub grace: u64,

    #[command(flatten)]
    pub data: DataArgs,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let summary = match &args.registry.registry {
        Some(registry) => remote(registry, &args).await?,
        None => local(&args).await?,
    };
    if global.json {
        print_json(&summary)?;
    } else {
        let verb = if summary.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for b in &summary.removed {
            println!("{verb} {} ({} bytes)", b.digest, b.size);
        }
        println!(
            "examined {} blobs: {verb} {} ({} bytes), kept {}",
            summary.examined,
            summary.removed.len(),
            summary.bytes_freed,
            summary.kept
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn remote(registry: &str, args: &Args) -> anyhow::Result<GcSummary> {
    let client = client_for(registry, &args.registry)?;
    let (status, body) = client
        .api_post(
            &format!("admin/gc?dry_run={}&grace_secs={}", args.dry_run, args.grace),
            None,
        )
        .await?;
    match status {
        200 => Ok(serde_json::from_value(body)?),
        404 | 405 => Err(Coded::new(
            Code::NotFound,
            format!("{registry} has no garbage-collection endpoint (is it an agentry pod?)"),
        )
        .into()),
        s => Err(Coded::new(
            if s >= 500 { Code::Server } else { Code::Failure },
            format!(
                "garbage collection failed ({s}): {}",
                body["detail"].as_str().unwrap_or("no detail")
            ),
        )
        .into()),
    }
}

async fn local(args: &Args) -> anyhow::Result<GcSummary> {
    let data = args.data.dir();
    let meta_path = data.meta_db();
    if !meta_path.exists() {
        return Err(Coded::new(
            Code::NotFound,
            format!("{} holds no agentry data (no meta.redb)", args.data.display()),
        )
        .into());
    }
    let meta = RedbMetadataStore::open(&meta_path).map_err(|e| {
        Coded::new(
            Code::Failure,
            format!(
                "cannot open {}: {e}. If a pod is serving this directory, collect through it: agentry gc --registry HOST:PORT",
                meta_path.display()
            ),
        )
    })?;
    let blobs = FsBlobStore::open(data.root())?;
    let opts = GcOptions {
        dry_run: args.dry_run,
        grace: Duration::from_secs(args.grace),
        now: SystemTime::now(),
    };
    let report = collect(&blobs, &meta, opts).await?;
    Ok(GcSummary::from_report(args.dry_run, report))
}
