//! `agentry tag <ref> <new>`: give a manifest another tag, or copy it to another repository
//! of the same registry (blobs mounted, not re-uploaded, where the registry allows).

use std::process::ExitCode;
use std::sync::Arc;

use agentry_oci::document::Parsed;
use agentry_client::{BlobOutcome, Client, NoProgress, PulledManifest};
use agentry_types::{ManifestRef, Reference, RepoName, Tag};
use serde::Serialize;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::resolve;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The existing manifest: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// A new tag in the same repository (`2.0`), or a reference in another repository of the
    /// same registry (`other/name:2.0`), which copies the artifact there.
    pub target: String,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct TagReport {
    source: String,
    target: String,
    digest: String,
    copied_blobs: Vec<(String, BlobOutcome)>,
}

/// Copy every blob and child manifest `manifest` references from `from` to `to`.
async fn copy_closure(
    client: &Client,
    from: &RepoName,
    to: &RepoName,
    manifest: &PulledManifest,
    depth: u8,
    report: &mut Vec<(String, BlobOutcome)>,
) -> anyhow::Result<()> {
    match manifest.parse()? {
        Parsed::Manifest(m) => {
            for d in std::iter::once(&m.config).chain(m.layers.iter()) {
                if !d.urls.is_empty() {
                    // Foreign layers live elsewhere; registries do not hold them.
                    continue;
                }
                let outcome = client
                    .copy_blob(from, to, &d.digest, d.size, Arc::new(NoProgress))
                    .await?;
                report.push((d.digest.to_string(), outcome));
            }
        }
        Parsed::Index(i) => {
            if depth >= 4 {
                anyhow::bail!("index nesting deeper than 4 levels");
            }
            for d in &i.manifests {
                let child = client
                    .get_manifest(from, &ManifestRef::Digest(d.digest.clone()))
                    .await?;
                Box::pin(copy_closure(client, from, to, &child, depth + 1, report)).await?;
                client
                    .put_manifest(
                        to,
                        &ManifestRef::Digest(child.digest.clone()),
                        &child.media_type,
                        child.bytes.clone(),
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, source) = resolve(&args.reference, &args.registry)?;
    let target = if !args.target.contains('/') && !args.target.contains('@') {
        let tag = Tag::parse(&args.target)
            .map_err(|e| Coded::new(Code::Usage, format!("tag {:?}: {e}", args.target)))?;
        Reference {
            registry: source.registry.clone(),
            name: source.name.clone(),
            tag: Some(tag),
            digest: None,
        }
    } else {
        let t = Reference::parse(&args.target)
            .map_err(|e| Coded::new(Code::Usage, format!("target {:?}: {e}", args.target)))?;
        if let Some(r) = &t.registry
            && agentry_client::auth::registry_key(r) != client.registry_key()
        {
            return Err(Coded::new(
                Code::Usage,
                "tag copies within one registry; the target names another",
            )
            .into());
        }
        if t.tag.is_none() {
            return Err(Coded::new(Code::Usage, "the target needs a tag").into());
        }
        t
    };
    let manifest = client
        .get_manifest(&source.name, &source.manifest_ref())
        .await?;
    let mut copied = Vec::new();
    if target.name != source.name {
        copy_closure(
            &client,
            &source.name,
            &target.name,
            &manifest,
            0,
            &mut copied,
        )
        .await?;
    }
    let pushed = client
        .put_manifest(
            &target.name,
            &target.manifest_ref(),
            &manifest.media_type,
            manifest.bytes.clone(),
        )
        .await?;
    let report = TagReport {
        source: source.to_string(),
        target: target.to_string(),
        digest: pushed.digest.to_string(),
        copied_blobs: copied,
    };
    if global.json {
        print_json(&report)?;
    } else {
        println!(
            "tagged {} as {} ({})",
            report.source, report.target, report.digest
        );
    }
    Ok(ExitCode::SUCCESS)
}
