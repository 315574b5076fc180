//! `agentry verify <ref>`: judge an agent artifact here, on the client, trusting nothing the
//! registry says: the manifest is fetched by digest, its description layers read with
//! agentry-formats (for `publisher.domain` and the skills), its referrers fetched and their
//! signatures checked, and the publisher's `_ossa-*` records asked of DNS (`--dns-server` or
//! the system's resolvers). Prints every check with pass/fail and its reason; exits 0 only
//! when the artifact reaches `--min-tier`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use agentry_trust::referrers::{self, Kind};
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

    #[command(flatten)]
    pub registry: RegistryArgs,
}

const LIMIT: u64 = 4 * 1024 * 1024;

pub async fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let (client, reference) = resolve(&args.reference, &args.registry)?;
    let repo = reference.name.clone();
    let (digest, manifest) =
        crate::cmd::pull::resolve_manifest(&client, &repo, &reference.manifest_ref(), None).await?;

    // The record, read here from the description layers.
    let mut contents = Vec::new();
    for l in &manifest.layers {
        if agentry_formats::is_record_media_type(&l.media_type)
            || agentry_formats::is_capabilities_media_type(&l.media_type)
        {
            let b = client.pull_blob_bytes(&repo, &l.digest, LIMIT).await?;
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
    let record = agentry_formats::extract_artifact(&layers, &coords)
        .map_err(|_| Coded::new(Code::Failure, format!("{repo}@{digest} is not an agent artifact with a valid description")))?
        .record;

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
    let refs = client.referrers(&repo, &digest, None).await?;
    for d in refs.index.manifests.iter().take(64) {
        let Some(at) = d.artifact_type.as_deref() else { continue };
        match referrers::classify(at) {
            Some(Kind::Signature) | Some(Kind::Bundle) => {
                let sig = client.get_manifest(&repo, &ManifestRef::Digest(d.digest.clone())).await?;
                let agentry_oci::document::Parsed::Manifest(m) = sig.parse()? else { continue };
                let Some(layer) = m.layers.first() else { continue };
                let b = client.pull_blob_bytes(&repo, &layer.digest, 1 << 20).await?;
                if referrers::classify(at) == Some(Kind::Signature) {
                    ev.signatures.push(b.to_vec());
                } else {
                    ev.bundles.push(b.to_vec());
                }
            }
            Some(Kind::Sbom) => ev.sbom = Some(at.to_owned()),
            Some(Kind::Provenance) => ev.provenance = Some(at.to_owned()),
            Some(Kind::Compliance) => ev.compliance = Some(at.to_owned()),
            _ => {}
        }
    }
    if !record.skills.is_empty() {
        let missing: Vec<&str> = record.skills.iter().filter(|s| s.input_schema.is_none()).map(|s| s.name.as_str()).collect();
        ev.capability_schemas = Some(if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("skills without an input schema: {}", missing.join(", ")))
        });
    }
    let domain = record.publisher.as_ref().and_then(|p| p.domain.clone());
    let resolver = HickoryTxtResolver::new(args.dns_server, std::time::Duration::from_secs(2));
    ev.dns = Some(match resolver {
        Ok(r) => AnchorCache::new(Arc::new(r)).evidence(domain.as_deref()).await,
        Err(e) => DnsEvidence::Unknown(e),
    });
    let report = agentry_trust::evaluate(&digest, domain.as_deref(), &ev, None);
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
