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

    /// Certificate chain (PEM, leaf first, then intermediates) issued by your organisation's
    /// CA for this key: travels as a second layer of the signature referrer (Standard tier).
    #[arg(long, value_name = "CHAIN.pem")]
    pub cert: Option<PathBuf>,

    /// Sign in the AGNTCY Directory's convention instead: two referrers,
    /// `agntcy.dir.sign.v1.PublicKey` and `agntcy.dir.sign.v1.Signature`, the signature
    /// Ed25519ph over the record's CID (OASF records), as the Directory's SDK verifies them.
    #[arg(long, conflicts_with = "cert")]
    pub agntcy: bool,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Serialize)]
struct Report {
    subject: String,
    signature_manifest: String,
    public_key: String,
    /// The AGNTCY public-key referrer (`--agntcy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_manifest: Option<String>,
    /// The record CID signed (`--agntcy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
}

/// Push one blob-layer referrer of `subject` in the AGNTCY Directory's shape.
async fn push_agntcy_referrer(
    client: &agentry_client::Client,
    repo: &agentry_types::RepoName,
    subject: &Descriptor,
    referrer_type: &str,
    media_type: &str,
    doc: Bytes,
) -> anyhow::Result<Digest> {
    let empty = Bytes::from_static(b"{}");
    let layer_digest = Digest::sha256(&doc);
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(agentry_trust::agntcy::TYPE_ANNOTATION.to_owned(), referrer_type.to_owned());
    if let Some(cid) = agentry_formats::cid::cid_of_digest(&layer_digest) {
        annotations.insert(agentry_trust::agntcy::CID_ANNOTATION.to_owned(), cid);
    }
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.to_owned()),
        artifact_type: Some(agentry_trust::agntcy::ARTIFACT_TYPE.to_owned()),
        config: Descriptor::new(media::OCI_EMPTY, Digest::sha256(&empty), empty.len() as u64),
        layers: vec![Descriptor::new(media_type, layer_digest, doc.len() as u64)],
        subject: Some(subject.clone()),
        annotations,
    };
    for blob in [&empty, &doc] {
        client
            .push_blob(repo, &Digest::sha256(blob), &BlobSource::Bytes(blob.clone()), Arc::new(NoProgress))
            .await?;
    }
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let d = Digest::sha256(&bytes);
    client.put_manifest(repo, &ManifestRef::Digest(d.clone()), media::OCI_MANIFEST, bytes).await?;
    Ok(d)
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

/// Read a `--cert` chain: PEM certificates only, bounded.
pub(crate) fn load_chain(path: &std::path::Path) -> anyhow::Result<Bytes> {
    let bytes = std::fs::read(path)
        .map_err(|e| Coded::new(Code::Usage, format!("--cert {}: {e}", path.display())))?;
    if bytes.len() > agentry_trust::x509::MAX_CHAIN_BYTES {
        return Err(Coded::new(Code::Usage, format!("--cert {}: more than {} bytes", path.display(), agentry_trust::x509::MAX_CHAIN_BYTES)).into());
    }
    {
        use rustls::pki_types::pem::PemObject;
        let mut n = 0;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&bytes) {
            c.map_err(|e| Coded::new(Code::Usage, format!("--cert {}: not PEM certificates: {e}", path.display())))?;
            n += 1;
        }
        if n == 0 {
            return Err(Coded::new(Code::Usage, format!("--cert {}: no CERTIFICATE block", path.display())).into());
        }
    }
    Ok(Bytes::from(bytes))
}

/// The signature referrer of `subject`: its manifest and its blobs (the empty config, the
/// envelope, and the certificate chain when there is one).
pub(crate) fn signature_artifact(
    key: &ed25519_dalek::SigningKey,
    subject: Descriptor,
    chain: Option<Bytes>,
) -> (ImageManifest, Vec<Bytes>) {
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
        layers: std::iter::once(Descriptor::new(
            agentry_trust::referrers::SIGNATURE,
            Digest::sha256(&envelope),
            envelope.len() as u64,
        ))
        .chain(chain.iter().map(|c| {
            Descriptor::new(agentry_trust::referrers::CERTIFICATE, Digest::sha256(c), c.len() as u64)
        }))
        .collect(),
        subject: Some(subject),
        annotations,
    };
    let mut blobs = vec![empty, envelope];
    blobs.extend(chain);
    (manifest, blobs)
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
    if args.agntcy {
        let agentry_oci::document::Parsed::Manifest(m) = pulled.parse()? else {
            return Err(Coded::new(Code::Failure, format!("{repo}@{} is an index, not an agent manifest", pulled.digest)).into());
        };
        let record = crate::cmd::verify::read_record(&client, &reference, &pulled.digest, &m).await?;
        let cid = record.identity.oasf_cid.clone().ok_or_else(|| {
            Coded::new(Code::Failure, format!("{repo}@{} has no AGNTCY CID (not an OASF record): the AGNTCY convention signs the record's CID", pulled.digest))
        })?;
        let (public_doc, sig_doc) = agentry_trust::agntcy::sign(&key, &cid, &agentry_client::artifact::created_now())
            .map_err(|e| Coded::new(Code::Failure, e))?;
        let pk = push_agntcy_referrer(&client, &repo, &subject, agentry_trust::agntcy::PUBLIC_KEY_TYPE, agentry_trust::agntcy::PUBLIC_KEY_MEDIA_TYPE, Bytes::from(public_doc)).await?;
        let sig = push_agntcy_referrer(&client, &repo, &subject, agentry_trust::agntcy::SIGNATURE_TYPE, agentry_trust::agntcy::SIGNATURE_MEDIA_TYPE, Bytes::from(sig_doc)).await?;
        let report = Report {
            subject: pulled.digest.to_string(),
            signature_manifest: sig.to_string(),
            public_key: agentry_trust::keys::public_spki_base64(&key.verifying_key()),
            public_key_manifest: Some(pk.to_string()),
            cid: Some(cid.clone()),
        };
        if global.json {
            print_json(&report)?;
        } else {
            println!("signed {repo}@{} in the AGNTCY convention (CID {cid}; signature {sig}, public key {pk})", report.subject);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let chain = args.cert.as_deref().map(load_chain).transpose()?;
    let (manifest, blobs) = signature_artifact(&key, subject, chain);
    for blob in &blobs {
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
        public_key_manifest: None,
        cid: None,
    };
    if global.json {
        print_json(&report)?;
    } else {
        println!("signed {repo}@{} (signature {})", report.subject, report.signature_manifest);
    }
    Ok(ExitCode::SUCCESS)
}
