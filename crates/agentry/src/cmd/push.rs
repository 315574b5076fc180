//! `agentry push <folder|file> <ref>`: pack an agent (whitepaper Figure 8) and push it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agentry_client::artifact::{self, Layer, Role};
use agentry_formats::Extracted;
use agentry_oci::media;
use agentry_types::record::RecordWarning;
use agentry_client::{BlobOutcome, BlobSource, NoProgress};
use agentry_types::ManifestRef;
use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::{Bars, FormatsDetector, resolve};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
A folder becomes: manifest.yaml (OSSA) and any other agent description the formats reader
recognises (A2A card, OASF record, MCP server.json, NANDA AgentFacts, simple JSON), each as its
own layer; capabilities.json; code-bundle.tar.gz (the folder's own, else every remaining file
packed deterministically, hidden files excluded); context.tar.gz (the folder's own, else its
context/ folder). A single file is pushed as a one-layer artifact of its detected format.
Blobs the registry already has are not sent again.

Before anything is sent, the description is read here exactly as an agentry pod reads it: an
invalid one is refused (exit 1, nothing uploaded); the warnings a pod stores with the record are
printed (stderr; `warnings` in --json), with the record's AGNTCY CID for OASF records. A pod run
with --strict-records refuses a record that has warnings.

Examples:
  agentry push ./agent-financial-analyst localhost:5000/acme/financial-analyst:2.4.1
  agentry push server.json localhost:5000/io.github.acme/weather:1.0.0 --json")]
pub struct Args {
    /// Agent folder, or a single description file.
    pub path: PathBuf,

    /// Where to push: [HOST:PORT/]namespace/name[:tag] (tag defaults to `latest`).
    pub reference: String,

    /// Extra manifest annotation KEY=VALUE (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,

    /// Sign as part of the push with this Ed25519 key (PKCS#8 PEM, `agentry keygen`): the
    /// signature referrer is pushed before the manifest, so a pod with --trust-min-tier basic
    /// judges the manifest signed when it arrives.
    #[arg(long, env = "AGENTRY_SIGN_KEY", value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Environment variable holding --sign-key's passphrase (encrypted keys).
    #[arg(long, value_name = "VAR", requires = "sign_key")]
    pub passphrase_env: Option<String>,

    /// Certificate chain (PEM, leaf first) for --sign-key, from your organisation's CA
    /// (Standard tier); carried in the signature referrer.
    #[arg(long, value_name = "CHAIN.pem", requires = "sign_key")]
    pub cert: Option<PathBuf>,

    /// Blobs uploaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct BlobReport {
    title: Option<String>,
    media_type: String,
    digest: String,
    size: u64,
    outcome: BlobOutcome,
}

#[derive(Serialize)]
struct PushReport {
    reference: String,
    digest: String,
    media_type: &'static str,
    artifact_type: &'static str,
    size: u64,
    blobs: Vec<BlobReport>,
    /// What the registry stores with the record: accepted, but not listed by its format.
    warnings: Vec<RecordWarning>,
    /// The signature referrer pushed with --sign-key.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    /// The record's CID as the AGNTCY Directory computes it (OASF descriptions).
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
}

/// Largest description read here, as a pod reads it (`max_record_bytes`' default).
const MAX_DESCRIPTION_BYTES: u64 = 4 * 1024 * 1024;

/// The record an agentry pod stores for `packed` pushed to `reference`, read here with the same
/// rules, so that an invalid description is refused before anything is uploaded and the
/// warnings the pod will store are shown. The manifest digest is not known yet; nothing the
/// rules decide depends on it.
async fn read_here(
    packed: &artifact::Packed,
    reference: &agentry_types::Reference,
) -> anyhow::Result<Extracted> {
    let mut contents = Vec::new();
    for l in packed
        .layers
        .iter()
        .filter(|l| matches!(l.role, Role::Description | Role::Capabilities))
    {
        let bytes = match &l.source {
            BlobSource::Bytes(b) => b.clone(),
            BlobSource::File { path, size } if *size <= MAX_DESCRIPTION_BYTES => {
                Bytes::from(tokio::fs::read(path).await?)
            }
            BlobSource::File { size, .. } => {
                return Err(Coded::new(
                    Code::Failure,
                    format!(
                        "{}: {size} bytes; agent descriptions are limited to {MAX_DESCRIPTION_BYTES} bytes",
                        l.title
                    ),
                )
                .into());
            }
        };
        contents.push((l.media_type.clone(), bytes));
    }
    let layers: Vec<agentry_formats::Layer<'_>> = contents
        .iter()
        .map(|(media_type, bytes)| agentry_formats::Layer { media_type, bytes })
        .collect();
    let coords = agentry_formats::Coordinates {
        namespace: reference.name.namespace().to_owned(),
        name: reference.name.basename().to_owned(),
        // The tag the push uses: the reference's, `latest` when it names neither tag nor digest.
        tag: match (&reference.tag, &reference.digest) {
            (Some(t), _) => Some(t.as_str().to_owned()),
            (None, None) => Some("latest".to_owned()),
            (None, Some(_)) => None,
        },
        manifest_digest: None,
    };
    agentry_formats::extract_artifact(&layers, &coords).map_err(|report| {
        Coded::new(
            Code::Failure,
            format!("the agent description is invalid; nothing was pushed: {report}"),
        )
        .into()
    })
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let mut extra = Vec::new();
    for a in &args.annotations {
        let (k, v) = a.split_once('=').ok_or_else(|| {
            Coded::new(
                Code::Usage,
                format!("--annotation {a:?}: expected KEY=VALUE"),
            )
        })?;
        if k.is_empty() {
            return Err(Coded::new(Code::Usage, format!("--annotation {a:?}: empty key")).into());
        }
        extra.push((k.to_owned(), v.to_owned()));
    }

    let sign_key = match &args.sign_key {
        Some(k) => Some(crate::cmd::sign::load_key(k, args.passphrase_env.as_deref())?),
        None => None,
    };
    let chain = args.cert.as_deref().map(crate::cmd::sign::load_chain).transpose()?;
    let packed = artifact::pack(&args.path, &FormatsDetector).await?;
    let extracted = read_here(&packed, &reference).await?;
    let repo = reference.name.clone();
    let bars = Bars::new(global);

    let config_outcome = client
        .push_blob(
            &repo,
            &packed.config_digest,
            &BlobSource::Bytes(packed.config.clone()),
            Arc::new(NoProgress),
        )
        .await?;
    let layer_reports: Vec<BlobReport> = futures::stream::iter(packed.layers.iter())
        .map(|layer: &Layer| {
            let client = client.clone();
            let repo = repo.clone();
            let bar = bars.bar(&layer.title, layer.size);
            async move {
                let outcome = client
                    .push_blob(&repo, &layer.digest, &layer.source, bar)
                    .await?;
                tracing::info!(title = %layer.title, digest = %layer.digest, ?outcome, "layer");
                Ok::<_, agentry_client::Error>(BlobReport {
                    title: Some(layer.title.clone()),
                    media_type: layer.media_type.clone(),
                    digest: layer.digest.to_string(),
                    size: layer.size,
                    outcome,
                })
            }
        })
        .buffered(usize::from(args.concurrency))
        .try_collect()
        .await?;

    let mut manifest = packed.manifest(&artifact::created_now());
    for (k, v) in extra {
        manifest.annotations.insert(k, v);
    }
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let size = bytes.len() as u64;
    let target = match (&reference.digest, &reference.tag) {
        (Some(d), None) => ManifestRef::Digest(d.clone()),
        _ => reference.manifest_ref(),
    };
    // Sign before the manifest exists: the referrer names the digest it will have.
    let signature = match &sign_key {
        Some(key) => {
            let subject = agentry_oci::document::Descriptor::new(
                media::OCI_MANIFEST,
                agentry_types::Digest::sha256(&bytes),
                size,
            );
            let (sig_manifest, sig_blobs) =
                crate::cmd::sign::signature_artifact(key, subject, chain.clone());
            for blob in &sig_blobs {
                client
                    .push_blob(
                        &repo,
                        &agentry_types::Digest::sha256(blob),
                        &BlobSource::Bytes(blob.clone()),
                        Arc::new(NoProgress),
                    )
                    .await?;
            }
            let sig_bytes = Bytes::from(serde_json::to_vec(&sig_manifest)?);
            let d = agentry_types::Digest::sha256(&sig_bytes);
            client
                .put_manifest(&repo, &ManifestRef::Digest(d.clone()), media::OCI_MANIFEST, sig_bytes)
                .await?;
            Some(d.to_string())
        }
        None => None,
    };
    let pushed = client
        .put_manifest(&repo, &target, media::OCI_MANIFEST, bytes)
        .await?;
    if let Some(d) = &reference.digest
        && *d != pushed.digest
    {
        return Err(Coded::new(
            Code::Failure,
            format!(
                "pushed manifest has digest {}, not the {d} the reference names",
                pushed.digest
            ),
        )
        .into());
    }

    let mut blobs = vec![BlobReport {
        title: None,
        media_type: media::OSSA_AGENT_CONFIG.to_owned(),
        digest: packed.config_digest.to_string(),
        size: packed.config.len() as u64,
        outcome: config_outcome,
    }];
    blobs.extend(layer_reports);
    let shown = {
        let mut r = reference.clone();
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = agentry_types::Tag::parse("latest").ok();
        }
        if r.registry.is_none() {
            r.registry = Some(client.registry_key().to_owned());
        }
        r.to_string()
    };
    let report = PushReport {
        reference: shown,
        digest: pushed.digest.to_string(),
        media_type: media::OCI_MANIFEST,
        artifact_type: media::OSSA_AGENT_ARTIFACT,
        size,
        blobs,
        warnings: extracted.record.provenance.warnings.clone(),
        signature,
        cid: extracted.record.identity.oasf_cid.clone(),
    };
    if global.json {
        print_json(&report)?;
    } else {
        for w in &report.warnings {
            let at = if w.pointer.is_empty() { "/" } else { &w.pointer };
            eprintln!("warning: {at}: {}", w.reason);
        }
        if !report.warnings.is_empty() {
            eprintln!(
                "the registry stores {} warning(s) with the record (a --strict-records registry refuses it)",
                report.warnings.len()
            );
        }
        if let Some(cid) = &report.cid {
            println!("cid {cid}");
        }
        for b in &report.blobs {
            let what = match b.outcome {
                BlobOutcome::Existed => "exists  ",
                BlobOutcome::Mounted => "mounted ",
                BlobOutcome::Uploaded | BlobOutcome::UploadedChunked => "uploaded",
            };
            println!(
                "{what} {:<22} {:>10}  {}",
                b.title.as_deref().unwrap_or("(config)"),
                b.size,
                b.digest
            );
        }
        if let Some(sig) = &report.signature {
            println!("signed   (signature {sig})");
        }
        println!("pushed {} ({})", report.reference, report.digest);
    }
    Ok(ExitCode::SUCCESS)
}
