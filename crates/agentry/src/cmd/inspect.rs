//! `agentry inspect <ref>`: a manifest, its layers, annotations and referrers.

use std::process::ExitCode;

use agentry_client::Descriptor;
use agentry_oci::document::Parsed;
use serde::Serialize;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::remote::resolve;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to inspect: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// Skip the referrers lookup.
    #[arg(long)]
    pub no_referrers: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspection {
    reference: String,
    digest: String,
    media_type: String,
    size: usize,
    /// The manifest exactly as the registry holds it.
    manifest: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrers: Option<Vec<Descriptor>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    referrers_via_tag_schema: bool,
}

fn annotations(out: &mut String, indent: &str, a: &std::collections::BTreeMap<String, String>) {
    for (k, v) in a {
        out.push_str(&format!("{indent}{k}: {v}\n"));
    }
}

fn descriptor_line(d: &Descriptor) -> String {
    let title = d.title().unwrap_or("-");
    format!(
        "{title:<24} {:<45} {:>10}  {}",
        d.media_type, d.size, d.digest
    )
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let pulled = client
        .get_manifest(&repo, &reference.manifest_ref())
        .await?;
    let parsed = pulled.parse()?;
    let referrers = if args.no_referrers {
        None
    } else {
        Some(client.referrers(&repo, &pulled.digest, None).await?)
    };
    if global.json {
        let raw: serde_json::Value = serde_json::from_slice(&pulled.bytes)?;
        print_json(&Inspection {
            reference: reference.to_string(),
            digest: pulled.digest.to_string(),
            media_type: pulled.media_type.clone(),
            size: pulled.bytes.len(),
            manifest: raw,
            referrers_via_tag_schema: referrers.as_ref().is_some_and(|r| r.via_tag_schema),
            referrers: referrers.map(|r| r.index.manifests),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    out.push_str(&format!("Reference:     {reference}\n"));
    out.push_str(&format!("Digest:        {}\n", pulled.digest));
    out.push_str(&format!("Media type:    {}\n", pulled.media_type));
    out.push_str(&format!("Size:          {}\n", pulled.bytes.len()));
    match &parsed {
        Parsed::Manifest(m) => {
            if let Some(t) = &m.artifact_type {
                out.push_str(&format!("Artifact type: {t}\n"));
            }
            out.push_str(&format!(
                "Config:        {} {} {}\n",
                m.config.media_type, m.config.size, m.config.digest
            ));
            if let Some(s) = &m.subject {
                out.push_str(&format!("Subject:       {} {}\n", s.media_type, s.digest));
            }
            if !m.annotations.is_empty() {
                out.push_str("Annotations:\n");
                annotations(&mut out, "  ", &m.annotations);
            }
            out.push_str(&format!("Layers ({}):\n", m.layers.len()));
            for l in &m.layers {
                out.push_str(&format!("  {}\n", descriptor_line(l)));
                let mut rest = l.annotations.clone();
                rest.remove(agentry_oci::media::ANNOTATION_TITLE);
                annotations(&mut out, "      ", &rest);
            }
        }
        Parsed::Index(i) => {
            if let Some(t) = &i.artifact_type {
                out.push_str(&format!("Artifact type: {t}\n"));
            }
            if !i.annotations.is_empty() {
                out.push_str("Annotations:\n");
                annotations(&mut out, "  ", &i.annotations);
            }
            out.push_str(&format!("Manifests ({}):\n", i.manifests.len()));
            for d in &i.manifests {
                let platform = d
                    .platform
                    .as_ref()
                    .and_then(|p| {
                        Some(format!(
                            "{}/{}",
                            p.get("os")?.as_str()?,
                            p.get("architecture")?.as_str()?
                        ))
                    })
                    .unwrap_or_else(|| "-".into());
                out.push_str(&format!(
                    "  {platform:<14} {:<45} {:>8}  {}\n",
                    d.media_type, d.size, d.digest
                ));
            }
        }
    }
    if let Some(r) = referrers {
        let via = if r.via_tag_schema {
            " (via the referrers tag schema)"
        } else {
            ""
        };
        out.push_str(&format!("Referrers ({}){via}:\n", r.index.manifests.len()));
        for d in &r.index.manifests {
            out.push_str(&format!(
                "  {:<45} {}\n",
                d.artifact_type.as_deref().unwrap_or(&d.media_type),
                d.digest
            ));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
