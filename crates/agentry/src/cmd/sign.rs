//! `agentry sign <ref> --key K`: sign a manifest's digest with an Ed25519 key and attach the
//! signature as an OCI referrer (artifactType `application/vnd.ossa.signature.v1+json`,
//! `subject` = the signed manifest), so it travels with the artifact through any OCI registry.

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

/// Examples:
///   agentry sign localhost:5000/acme/analyst:1.0 --key acme.key
///   agentry sign acme/analyst@sha256:… --key acme.key --registry localhost:5000
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The manifest to sign: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// Private key (PKCS#8 PEM, as `agentry keygen` writes).
    #[arg(long, env = "AGENTRY_SIGN_KEY", value_name = "FILE")]
    pub key: PathBuf,

    /// Environment variable holding the key's passphrase (encrypted keys).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct Report {
    subject: String,
    signature_manifest: String,
    public_key: String,
}

/// Load a signing key from a file.
pub(crate) fn load_key(
    path: &std::path::Path,
    passphrase_env: Option<&str>,
) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| Coded::new(Code::Usage, format!("--key {}: {e}", path.display())))?;
    let pass = crate::cmd::keygen::passphrase(passphrase_env)?;
    agentry_trust::keys::parse_private(&pem, pass.as_deref())
        .map_err(|e| Coded::new(Code::Usage, format!("--key {}: {e}", path.display())).into())
}

/// The signature referrer of `subject`: its manifest and the envelope layer.
pub(crate) fn signature_artifact(
    key: &ed25519_dalek::SigningKey,
    subject: Descriptor,
) -> (ImageManifest, Bytes, Bytes) {
    let envelope = Bytes::from(agentry_trust::signature::Envelope::sign(key, &subject.digest).to_json());
    let empty = Bytes::from_static(b"{}");
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.created".to_owned(),
        agentry_client::artifact::created_now(),
    );
    annotations.insert(
        "dev.ossa.signature.key".to_owned(),
        agentry_trust::keys::public_spki_base64(&key.verifying_key()),
    );
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.to_owned()),
        artifact_type: Some(agentry_trust::referrers::SIGNATURE.to_owned()),
        config: Descriptor::new(media::OCI_EMPTY, Digest::sha256(&empty), empty.len() as u64),
        layers: vec![Descriptor::new(
            agentry_trust::referrers::SIGNATURE,
            Digest::sha256(&envelope),
            envelope.len() as u64,
        )],
        subject: Some(subject),
        annotations,
    };
    (manifest, envelope, empty)
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let key = load_key(&args.key, args.passphrase_env.as_deref())?;
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let pulled = client.get_manifest(&repo, &reference.manifest_ref()).await?;
    let subject = Descriptor::new(
        pulled.media_type.clone(),
        pulled.digest.clone(),
        pulled.bytes.len() as u64,
    );
    let (manifest, envelope, empty) = signature_artifact(&key, subject);
    for blob in [&empty, &envelope] {
        client
            .push_blob(
                &repo,
                &Digest::sha256(blob),
                &BlobSource::Bytes(blob.clone()),
                Arc::new(NoProgress),
            )
            .await?;
    }
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let d = Digest::sha256(&bytes);
    client
        .put_manifest(&repo, &ManifestRef::Digest(d.clone()), media::OCI_MANIFEST, bytes)
        .await?;
    let report = Report {
        subject: pulled.digest.to_string(),
        signature_manifest: d.to_string(),
        public_key: agentry_trust::keys::public_spki_base64(&key.verifying_key()),
    };
    if global.json {
        print_json(&report)?;
    } else {
        println!("signed {repo}@{} (signature {})", report.subject, report.signature_manifest);
    }
    Ok(ExitCode::SUCCESS)
}
