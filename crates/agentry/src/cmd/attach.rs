//! `agentry attach <ref> --artifact-type TYPE FILE`: attach a document to a manifest as an OCI
//! referrer (an artifact manifest with `subject` = the manifest, `artifactType` = TYPE, the
//! file as its one layer), as `oras attach` does. This is how the trust evidence above Basic
//! travels: an SBOM (`application/spdx+json`, `application/vnd.cyclonedx+json`), in-toto SLSA
//! provenance (`application/vnd.in-toto+json`), a compliance attestation
//! (`application/vnd.ossa.compliance.v1+json`) or a Sigstore bundle
//! (`application/vnd.dev.sigstore.bundle.v0.3+json`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agentry_client::{BlobSource, NoProgress};
use agentry_oci::document::{Descriptor, ImageManifest};
use agentry_oci::media;
use agentry_types::{Digest, ManifestRef};
use bytes::Bytes;
use serde::Serialize;

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::resolve;

/// Largest document attached.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Examples:
///   agentry attach localhost:5000/acme/analyst:1.0 --artifact-type application/spdx+json sbom.spdx.json
///   agentry attach localhost:5000/acme/analyst:1.0 --artifact-type application/vnd.in-toto+json provenance.json
///   agentry attach localhost:5000/acme/analyst:1.0 --artifact-type application/vnd.dev.sigstore.bundle.v0.3+json manifest.sigstore.json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The manifest to attach to: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// The document to attach.
    pub file: PathBuf,

    /// The referrer's artifactType (what the document is).
    #[arg(long, value_name = "TYPE")]
    pub artifact_type: String,

    /// The layer's media type [default: the artifact type].
    #[arg(long, value_name = "TYPE")]
    pub media_type: Option<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct Report {
    subject: String,
    referrer: String,
    artifact_type: String,
    size: u64,
}

/// `type/subtype[+suffix][;params]`, RFC 6838 characters.
fn is_media_type(v: &str) -> bool {
    let essence = v.split(';').next().unwrap_or("");
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 127
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) => ok(t) && ok(s) && v.len() <= 255,
        None => false,
    }
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let media_type = args.media_type.clone().unwrap_or_else(|| args.artifact_type.clone());
    for (flag, v) in [("--artifact-type", &args.artifact_type), ("--media-type", &media_type)] {
        if !is_media_type(v) {
            return Err(Coded::new(Code::Usage, format!("{flag} {v:?}: not a media type (type/subtype)")).into());
        }
    }
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| Coded::new(Code::Usage, format!("{}: {e}", args.file.display())))?;
    if meta.len() > MAX_BYTES {
        return Err(Coded::new(Code::Usage, format!("{}: {} bytes, more than {MAX_BYTES}", args.file.display(), meta.len())).into());
    }
    let doc = Bytes::from(
        std::fs::read(&args.file).map_err(|e| Coded::new(Code::Usage, format!("{}: {e}", args.file.display())))?,
    );
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let pulled = client.get_manifest(&repo, &reference.manifest_ref()).await?;
    let subject = Descriptor::new(pulled.media_type.clone(), pulled.digest.clone(), pulled.bytes.len() as u64);
    let empty = Bytes::from_static(b"{}");
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert("org.opencontainers.image.created".to_owned(), agentry_client::artifact::created_now());
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.to_owned()),
        artifact_type: Some(args.artifact_type.clone()),
        config: Descriptor::new(media::OCI_EMPTY, Digest::sha256(&empty), empty.len() as u64),
        layers: vec![Descriptor::new(media_type, Digest::sha256(&doc), doc.len() as u64)],
        subject: Some(subject),
        annotations,
    };
    for blob in [&empty, &doc] {
        client
            .push_blob(&repo, &Digest::sha256(blob), &BlobSource::Bytes(blob.clone()), Arc::new(NoProgress))
            .await?;
    }
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let d = Digest::sha256(&bytes);
    client.put_manifest(&repo, &ManifestRef::Digest(d.clone()), media::OCI_MANIFEST, bytes).await?;
    let report = Report {
        subject: pulled.digest.to_string(),
        referrer: d.to_string(),
        artifact_type: args.artifact_type,
        size: doc.len() as u64,
    };
    if global.json {
        print_json(&report)?;
    } else {
        println!("attached {} to {repo}@{} (referrer {})", report.artifact_type, report.subject, report.referrer);
    }
    Ok(ExitCode::SUCCESS)
}
