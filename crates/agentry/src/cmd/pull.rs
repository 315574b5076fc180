//! `agentry pull <ref> [-o DIR]`: download an artifact's layers, verified, under their titles.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentry_client::artifact::{self, CODE_BUNDLE, CONTEXT_DIR, CONTEXT_TARBALL};
use agentry_oci::document::Parsed;
use agentry_oci::{ImageManifest, media};
use agentry_client::{Client, Descriptor};
use agentry_types::{ManifestRef, RepoName};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::{Bars, resolve};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every layer is checked against its digest before it is moved into place. Layer titles come
from the registry and are refused unless they are plain file names (no '/', '..', absolute
paths). Existing files are not overwritten without --force.")]
pub struct Args {
    /// What to pull: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// Output folder (created if missing).
    #[arg(short, long, default_value = ".")]
    pub output: PathBuf,

    /// Overwrite files that already exist in the output folder.
    #[arg(long)]
    pub force: bool,

    /// Unpack code-bundle.tar.gz into the output folder and context.tar.gz into context/,
    /// recreating the folder that was pushed.
    #[arg(long)]
    pub extract: bool,

    /// For an image index: the platform to pick (`os/arch`) [default: this machine's].
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Layers downloaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct FileReport {
    title: String,
    path: String,
    media_type: String,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct PullReport {
    reference: String,
    digest: String,
    artifact_type: Option<String>,
    files: Vec<FileReport>,
    skipped_untitled: Vec<String>,
    extracted: Vec<String>,
}

fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

/// Resolve a reference to an image manifest, choosing from an index by platform.
pub(crate) async fn resolve_manifest(
    client: &Client,
    repo: &RepoName,
    reference: &ManifestRef,
    platform: Option<&str>,
) -> anyhow::Result<(agentry_types::Digest, ImageManifest)> {
    let pulled = client.get_manifest(repo, reference).await?;
    match pulled.parse()? {
        Parsed::Manifest(m) => Ok((pulled.digest, m)),
        Parsed::Index(idx) => {
            let want = platform.map(str::to_owned).unwrap_or_else(host_platform);
            let pick = idx
                .manifests
                .iter()
                .find(|d| platform_of(d).as_deref() == Some(want.as_str()))
                .or_else(|| {
                    (platform.is_none() && idx.manifests.len() == 1).then(|| &idx.manifests[0])
                })
                .ok_or_else(|| {
                    let have: Vec<String> = idx.manifests.iter().filter_map(platform_of).collect();
                    Coded::new(
                        Code::NotFound,
                        format!(
                            "index {} has no manifest for {want} (has: {})",
                            pulled.digest,
                            have.join(", ")
                        ),
                    )
                })?;
            let child = client
                .get_manifest(repo, &ManifestRef::Digest(pick.digest.clone()))
                .await?;
            match child.parse()? {
                Parsed::Manifest(m) => Ok((child.digest, m)),
                Parsed::Index(_) => Err(Coded::new(
                    Code::Failure,
                    format!("index {} points at another index", pulled.digest),
                )
                .into()),
            }
        }
    }
}

fn platform_of(d: &Descriptor) -> Option<String> {
    let p = d.platform.as_ref()?;
    Some(format!(
        "{}/{}",
        p.get("os")?.as_str()?,
        p.get("architecture")?.as_str()?
    ))
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let (digest, manifest) = resolve_manifest(
        &client,
        &repo,
        &reference.manifest_ref(),
        args.platform.as_deref(),
    )
    .await?;
    // Every title is checked before anything is written.
    let (files, untitled) = artifact::plan_files(&manifest)?;
    for d in &untitled {
        tracing::warn!(digest = %d.digest, media_type = %d.media_type, "layer has no title; not written");
    }
    tokio::fs::create_dir_all(&args.output)
        .await
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", args.output.display()))?;
    if !args.force {
        for (title, _) in &files {
            let p = args.output.join(title);
            if tokio::fs::symlink_metadata(&p).await.is_ok() {
                return Err(Coded::new(
                    Code::Failure,
                    format!("{} exists (use --force to overwrite)", p.display()),
                )
                .into());
            }
        }
    }

    let bars = Bars::new(global);
    let out = args.output.clone();
    let reports: Vec<FileReport> = futures::stream::iter(files.iter())
        .map(|(title, d)| {
            let client = client.clone();
            let repo = repo.clone();
            let dest = out.join(title);
            let bar = bars.bar(title, d.size);
            async move {
                client
                    .pull_blob_to_file(&repo, &d.digest, d.size, &dest, bar)
                    .await?;
                Ok::<_, anyhow::Error>(FileReport {
                    title: title.clone(),
                    path: dest.display().to_string(),
                    media_type: d.media_type.clone(),
                    digest: d.digest.to_string(),
                    size: d.size,
                })
            }
        })
        .buffered(usize::from(args.concurrency))
        .try_collect()
        .await?;

    let mut extracted = Vec::new();
    if args.extract {
        for (title, d) in &files {
            let gz = d.media_type == media::GZIP || d.media_type.ends_with("tar+gzip");
            let into = match title.as_str() {
                CODE_BUNDLE if gz => out.clone(),
                CONTEXT_TARBALL if gz => out.join(CONTEXT_DIR),
                _ => continue,
            };
            let tarball = out.join(title);
            tokio::fs::create_dir_all(&into).await?;
            artifact::extract_tarball(tarball.clone(), into.clone()).await?;
            remove(&tarball).await?;
            extracted.push(title.clone());
        }
    }

    let report = PullReport {
        reference: reference.to_string(),
        digest: digest.to_string(),
        artifact_type: manifest.artifact_type.clone(),
        files: reports,
        skipped_untitled: untitled.iter().map(|d| d.digest.to_string()).collect(),
        extracted,
    };
    if global.json {
        print_json(&report)?;
    } else {
        for f in &report.files {
            let note = if report.extracted.contains(&f.title) {
                " (extracted)"
            } else {
                ""
            };
            println!("{:<24} {:>10}  {}{note}", f.title, f.size, f.digest);
        }
        if !report.skipped_untitled.is_empty() {
            println!(
                "{} layer(s) without a title were not written",
                report.skipped_untitled.len()
            );
        }
        println!(
            "pulled {} ({}) into {}",
            report.reference,
            report.digest,
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(p: &Path) -> anyhow::Result<()> {
    tokio::fs::remove_file(p)
        .await
        .map_err(|e| anyhow::anyhow!("removing {}: {e}", p.display()))
}
