//! `agentry inspect <ref>`: a manifest, its layers, annotations and referrers, and for an agent
//! artifact the record: its name, version, format, CID and the warnings stored with it.

use std::process::ExitCode;

use agentry_client::Descriptor;
use agentry_oci::document::Parsed;
use serde::Serialize;

use agentry_client::{Client, ImageManifest};
use agentry_types::record::RecordWarning;
use agentry_types::{AgentRecord, Digest, Reference};

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
    /// The agent record, for an agent artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<RecordSummary>,
    /// Why the record could not be shown, for an agent artifact whose description does not
    /// read (a registry other than agentry stores anything).
    #[serde(skip_serializing_if = "Option::is_none")]
    record_error: Option<String>,
}

#[derive(Serialize)]
struct RecordSummary {
    /// `registry`: the record as the pod stored it (its discovery API); `read here`: read from
    /// the artifact's description layers with the rules a pod applies, for registries without
    /// one.
    source: &'static str,
    name: String,
    version: String,
    /// Format and version of the description (`mcp@legacy-2025-07-02`).
    format: String,
    /// The record's CID as the AGNTCY Directory computes it (OASF descriptions).
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
    /// What the record holds that its format's schema does not list, accepted anyway.
    warnings: Vec<RecordWarning>,
}

/// Largest description layer read (a pod's default `max_record_bytes`).
const MAX_DESCRIPTION_BYTES: u64 = 4 * 1024 * 1024;

/// The record of an agent artifact: `Ok(None)` for other artifacts.
async fn record_of(
    client: &Client,
    reference: &Reference,
    m: &ImageManifest,
    digest: &Digest,
) -> Result<Option<RecordSummary>, String> {
    let repo = &reference.name;
    let mut contents = Vec::new();
    for l in m
        .layers
        .iter()
        .filter(|l| agentry_formats::is_record_media_type(&l.media_type))
    {
        if l.size > MAX_DESCRIPTION_BYTES {
            return Err(format!(
                "description layer {} is {} bytes; agentry reads at most {MAX_DESCRIPTION_BYTES}",
                l.digest, l.size
            ));
        }
        let bytes = client
            .pull_blob_bytes(repo, &l.digest, MAX_DESCRIPTION_BYTES)
            .await
            .map_err(|e| format!("reading description layer {}: {e}", l.digest))?;
        contents.push((l.media_type.clone(), bytes));
    }
    if contents.is_empty() {
        return Ok(None);
    }
    let layers: Vec<agentry_formats::Layer<'_>> = contents
        .iter()
        .map(|(media_type, bytes)| agentry_formats::Layer { media_type, bytes })
        .collect();
    let coords = agentry_formats::Coordinates {
        namespace: repo.namespace().to_owned(),
        name: repo.basename().to_owned(),
        tag: reference.tag.as_ref().map(|t| t.as_str().to_owned()),
        manifest_digest: Some(digest.clone()),
    };
    let here = agentry_formats::extract_artifact(&layers, &coords)
        .map_err(|report| format!("the description does not read as an agent record: {report}"))?;
    let format = here
        .format
        .as_ref()
        .map_or_else(String::new, ToString::to_string);
    let stored = stored_record(client, &here.record, digest).await;
    let (source, rec) = match &stored {
        Some(r) => ("registry", r),
        None => ("read here", &here.record),
    };
    Ok(Some(RecordSummary {
        source,
        name: rec.qualified_name(),
        version: rec.identity.version.clone(),
        format,
        cid: rec.identity.oasf_cid.clone(),
        warnings: rec.provenance.warnings.clone(),
    }))
}

/// The record an agentry pod stored for this manifest, from its discovery API; `None` from
/// registries without one, or when the version it answers is another manifest's.
async fn stored_record(client: &Client, rec: &AgentRecord, digest: &Digest) -> Option<AgentRecord> {
    let path = format!("agents/{}/{}", rec.qualified_name(), rec.identity.version);
    let (status, body) = client.api_get(&path).await.ok()?;
    if status != 200 || body["digest"].as_str() != Some(digest.to_string().as_str()) {
        return None;
    }
    serde_json::from_value(body.get("record")?.clone()).ok()
}

fn record_lines(out: &mut String, r: &RecordSummary) {
    let how = if r.source == "registry" {
        "as the registry stored it"
    } else {
        "read here from its description"
    };
    out.push_str(&format!(
        "Record:        {} {} ({}, {how})\n",
        r.name, r.version, r.format
    ));
    if let Some(cid) = &r.cid {
        out.push_str(&format!("CID:           {cid}\n"));
    }
    out.push_str(&format!("Warnings ({}):\n", r.warnings.len()));
    for w in &r.warnings {
        let at = if w.pointer.is_empty() { "/" } else { &w.pointer };
        out.push_str(&format!("  {at}: {}\n", w.reason));
    }
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
    let (record, record_error) = match &parsed {
        Parsed::Manifest(m) => match record_of(&client, &reference, m, &pulled.digest).await {
            Ok(r) => (r, None),
            Err(e) => (None, Some(e)),
        },
        Parsed::Index(_) => (None, None),
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
            record,
            record_error,
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
    if let Some(r) = &record {
        record_lines(&mut out, r);
    }
    if let Some(e) = &record_error {
        out.push_str(&format!("Record:        none ({e})\n"));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
