//! `agentry verify <ref>`: judge an agent artifact here, on the client, trusting nothing the
//! registry says: the manifest is fetched by digest, its description layers read with
//! agentry-formats (for `publisher.domain` and the skills), its referrers fetched and their
//! signatures checked, and the publisher's `_ossa-*` records asked of DNS (`--dns-server` or
//! the system's resolvers). Prints every check with pass/fail and its reason; exits 0 only
//! when the artifact reaches `--min-tier`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use agentry_trust::referrers;
use agentry_trust::{AnchorCache, CheckStatus, DnsEvidence, Evidence, HickoryTxtResolver};
use agentry_types::{ManifestRef, TrustTier};

use crate::cmd::{Global, RegistryArgs, print_json};
use crate::exit::{Code, Coded};
use crate::remote::resolve;

/// Examples:
///   agentry verify localhost:5000/acme/analyst:1.0
///   agentry verify localhost:5000/acme/analyst:1.0 --min-tier basic --dns-server 127.0.0.1:5353
///   agentry verify acme/analyst:1.0 --registry localhost:5000 --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The agent artifact: [HOST:PORT/]namespace/name[:tag|@digest].
    pub reference: String,

    /// Exit 1 unless the artifact reaches this tier.
    #[arg(long, env = "AGENTRY_MIN_TIER", default_value = "basic", value_name = "none|basic|standard|verified")]
    pub min_tier: TrustTier,

    /// DNS server for the `_ossa-*` records (`IP:PORT`); the system's resolvers by default.
    #[arg(long, env = "AGENTRY_DNS_SERVER", value_name = "IP:PORT")]
    pub dns_server: Option<SocketAddr>,

    /// Revoked public keys (repeatable): their signatures do not count.
    #[arg(long = "revoked-key", value_name = "KEY")]
    pub revoked_keys: Vec<String>,

    /// Organisation CA certificate (PEM file) the signing certificate must chain to (Standard
    /// tier); repeatable. Without one, no agent reaches Standard.
    #[arg(long = "trust-org-ca", env = "AGENTRY_TRUST_ORG_CA", value_delimiter = ',', value_name = "FILE")]
    pub trust_org_cas: Vec<std::path::PathBuf>,

    /// Sigstore trusted_root.json for the bundle check (Verified tier); the embedded
    /// public-good root by default.
    #[arg(long, env = "AGENTRY_TRUSTED_ROOT", value_name = "FILE")]
    pub trusted_root: Option<std::path::PathBuf>,

    /// The Sigstore signer the publisher's bundles must name: DOMAIN=IDENTITY,ISSUER;
    /// repeatable.
    #[arg(long = "trust-sigstore-identity", env = "AGENTRY_TRUST_SIGSTORE_IDENTITY", value_delimiter = ';', value_name = "DOMAIN=IDENTITY,ISSUER")]
    pub trust_sigstore_identities: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

const LIMIT: u64 = 4 * 1024 * 1024;

/// The record of an agent manifest, read here from its description layers with
/// agentry-formats (as a pod reads it).
pub(crate) async fn read_record(
    client: &agentry_client::Client,
    reference: &agentry_types::Reference,
    digest: &agentry_types::Digest,
    manifest: &agentry_oci::document::ImageManifest,
) -> anyhow::Result<agentry_types::AgentRecord> {
    let repo = &reference.name;
    let mut contents = Vec::new();
    for l in &manifest.layers {
        if agentry_formats::is_record_media_type(&l.media_type)
            || agentry_formats::is_capabilities_media_type(&l.media_type)
        {
            let b = client.pull_blob_bytes(repo, &l.digest, LIMIT).await?;
            contents.push((l.media_type.clone(), b));
        }
    }
    let layers: Vec<agentry_formats::Layer<'_>> = contents
        .iter()
        .map(|(mt, b)| agentry_formats::Layer { media_type: mt, bytes: b })
        .collect();
    let coords = agentry_formats::Coordinates {
        namespace: repo.namespace().to_owned(),
        name: repo.basename().to_owned(),
        tag: reference.tag.as_ref().map(|t| t.as_str().to_owned()),
        manifest_digest: Some(digest.clone()),
    };
    Ok(agentry_formats::extract_artifact(&layers, &coords)
        .map_err(|_| Coded::new(Code::Failure, format!("{repo}@{digest} is not an agent artifact with a valid description")))?
        .record)
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let (digest, manifest) =
        crate::cmd::pull::resolve_manifest(&client, &repo, &reference.manifest_ref(), None).await?;

    let record = read_record(&client, &reference, &digest, &manifest).await?;

    let mut ev = Evidence {
        // Every blob and manifest above was hashed by the client against its digest.
        digest_verified: true,
        ..Default::default()
    };
    for k in &args.revoked_keys {
        ev.revoked_keys.push(
            agentry_trust::keys::parse_public(k)
                .map_err(|e| Coded::new(Code::Usage, format!("--revoked-key {k}: {e}")))?,
        );
    }
    if !args.trust_org_cas.is_empty() {
        let mut cas = agentry_trust::OrgCas::new();
        for p in &args.trust_org_cas {
            cas.add_pem_file(p)
                .map_err(|e| Coded::new(Code::Usage, format!("--trust-org-ca {e}")))?;
        }
        ev.org_cas = Some(Arc::new(cas));
    }
    let mut rules = Vec::new();
    for r in &args.trust_sigstore_identities {
        rules.push(
            agentry_trust::IdentityRule::parse(r)
                .map_err(|e| Coded::new(Code::Usage, format!("--trust-sigstore-identity {e}")))?,
        );
    }
    let bundle_verifier = agentry_trust::SigstoreVerifier::from_config(args.trusted_root.as_deref(), rules)
        .map_err(|e| Coded::new(Code::Usage, format!("--trusted-root: {e}")))?;
    let refs = client.referrers(&repo, &digest, None).await?;
    for d in refs.index.manifests.iter().take(64) {
        if referrers::classify_referrer(d.artifact_type.as_deref(), &d.annotations).is_none() {
            continue;
        }
        let sig = client.get_manifest(&repo, &ManifestRef::Digest(d.digest.clone())).await?;
        let agentry_oci::document::Parsed::Manifest(m) = sig.parse()? else { continue };
        let mut layers = Vec::new();
        for layer in m.layers.iter().take(4) {
            let b = client.pull_blob_bytes(&repo, &layer.digest, LIMIT).await?;
            layers.push((layer.media_type.clone(), b.to_vec()));
        }
        ev.add_referrer(d.artifact_type.as_deref(), &d.annotations, layers);
    }
    ev.capability_schemas = agentry_trust::capability_schemas(&record);
    ev.record_cid = record.identity.oasf_cid.clone();
    let domain = record.publisher.as_ref().and_then(|p| p.domain.clone());
    let resolver = HickoryTxtResolver::new(args.dns_server, std::time::Duration::from_secs(2));
    ev.dns = Some(match resolver {
        Ok(r) => AnchorCache::new(Arc::new(r)).evidence(domain.as_deref()).await,
        Err(e) => DnsEvidence::Unknown(e),
    });
    let report = agentry_trust::evaluate(&digest, domain.as_deref(), &ev, Some(&bundle_verifier));
    let met = report.tier >= args.min_tier;
    if global.json {
        print_json(&report)?;
    } else {
        println!("{repo}@{digest}");
        for c in &report.checks {
            let s = match c.status {
                CheckStatus::Pass => "pass",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Unknown => "UNKNOWN",
            };
            println!("  {:<8} {:<19} ({:<8}) {}", s, c.name, c.tier.as_str(), c.reason);
        }
        println!("tier: {}{}", report.tier, if met { String::new() } else { format!(" (below the required {})", args.min_tier) });
    }
    Ok(if met { ExitCode::SUCCESS } else { Code::Failure.into() })
}
