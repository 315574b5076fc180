//! `agentry delete <ref>`: delete a manifest (by tag or digest), or only a tag.

use std::process::ExitCode;

use agentry_types::ManifestRef;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::resolve;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
By tag, the manifest the tag points at is deleted (with every tag pointing at it); --tag-only
removes just the tag (OCI Distribution v1.1; some registries answer 405 UNSUPPORTED). Blobs
are reclaimed by the registry's garbage collection.")]
pub struct Args {
    /// What to delete: [HOST:PORT/]namespace/name:tag or …@digest.
    pub reference: String,

    /// Remove only the tag, keeping the manifest.
    #[arg(long)]
    pub tag_only: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = &reference.name;
    let target = match (&reference.digest, &reference.tag) {
        (Some(_), _) if args.tag_only => {
            return Err(Coded::new(Code::Usage, "--tag-only needs a reference by tag").into());
        }
        (Some(d), _) => ManifestRef::Digest(d.clone()),
        (None, Some(t)) if args.tag_only => ManifestRef::Tag(t.clone()),
        (None, Some(t)) => {
            let info = client
                .head_manifest(repo, &ManifestRef::Tag(t.clone()))
                .await?
                .ok_or_else(|| Coded::new(Code::NotFound, format!("{reference}: no such tag")))?;
            match info.digest {
                Some(d) => ManifestRef::Digest(d),
                // No Docker-Content-Digest on HEAD: fetch and hash the manifest.
                None => ManifestRef::Digest(
                    client
                        .get_manifest(repo, &ManifestRef::Tag(t.clone()))
                        .await?
                        .digest,
                ),
            }
        }
        (None, None) => {
            return Err(Coded::new(
                Code::Usage,
                "say what to delete: name:tag or name@digest (no implicit `latest` here)",
            )
            .into());
        }
    };
    client.delete_manifest(repo, &target).await?;
    if global.json {
        print_json(&serde_json::json!({
            "reference": reference.to_string(),
            "deleted": target.to_string(),
            "tag_only": args.tag_only,
        }))?;
    } else if args.tag_only {
        println!("deleted tag {reference}");
    } else {
        println!("deleted manifest {repo}@{target}");
    }
    Ok(ExitCode::SUCCESS)
}
