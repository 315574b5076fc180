//! The trust engine on the push path: gather an agent manifest's evidence (its referrers in
//! the same repository, the publisher's DNS records), judge it with `agentry-trust`, gate
//! pushes on `--trust-min-tier`, and keep the indexed tier current when a referrer arrives.
//!
//! Sign-before-push: the minimum tier is checked when the *agent manifest* is put, against
//! the referrers already stored for its digest (a referrer's subject need not exist yet, as
//! the OCI spec allows). `agentry push --sign-key K` therefore pushes the signature referrer
//! first, then the manifest. A cosign-style sign-after-push reaches a pod with
//! `--trust-min-tier none` (the default) and raises the indexed tier when the signature
//! arrives; a pod with a higher minimum refuses the unsigned manifest and says what is missing.

use std::sync::Arc;
use std::time::Duration;

use agentry_oci::OciErrorCode;
use agentry_store::ManifestMeta;
use agentry_trust::referrers::{self, Kind};
use agentry_trust::{
    AnchorCache, BundleVerifier, DnsEvidence, Evidence, TrustReport, TxtAnswer, TxtError,
    TxtResolver,
};
use agentry_types::{AgentRecord, Digest, ManifestRef, RepoName, TrustTier};
use ed25519_dalek::VerifyingKey;

use crate::config::ServeConfig;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long one DNS query may take before the answer is "unknown".
pub const DNS_TIMEOUT: Duration = Duration::from_secs(2);
/// Most referrers of one manifest read as evidence.
const MAX_REFERRERS: usize = 64;

/// The pod's trust settings and DNS cache.
pub struct TrustEngine {
    pub anchors: AnchorCache,
    pub revoked: Vec<VerifyingKey>,
    pub min_tier: TrustTier,
    /// The Verified tier's Sigstore check; `None` until one is plugged in.
    pub bundle_verifier: Option<Arc<dyn BundleVerifier>>,
}

/// A resolver that could not be built: every answer is "unknown", with the reason.
struct Unavailable(String);

#[async_trait::async_trait]
impl TxtResolver for Unavailable {
    async fn txt(&self, _name: &str) -> Result<TxtAnswer, TxtError> {
        Err(TxtError::Failed(self.0.clone()))
    }
}

impl TrustEngine {
    pub fn from_config(config: &ServeConfig) -> TrustEngine {
        let resolver: Arc<dyn TxtResolver> =
            match agentry_trust::HickoryTxtResolver::new(config.dns_server, DNS_TIMEOUT) {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    tracing::warn!(error = %e, "no DNS resolver; DNS trust anchors are unknown");
                    Arc::new(Unavailable(e))
                }
            };
        TrustEngine::new(config, resolver)
    }

    pub fn new(config: &ServeConfig, resolver: Arc<dyn TxtResolver>) -> TrustEngine {
        TrustEngine {
            anchors: AnchorCache::new(resolver),
            // `ServeConfig::validate` refused any that does not parse.
            revoked: config
                .trust_revoked_keys
                .iter()
                .filter_map(|k| agentry_trust::keys::parse_public(k).ok())
                .collect(),
            min_tier: config.trust_min_tier,
            bundle_verifier: None,
        }
    }
}

/// Read a referrer's first layer of one of `media_types` (bounded).
async fn first_layer(
    state: &AppState,
    repo: &RepoName,
    meta: &ManifestMeta,
    accept: impl Fn(&str) -> bool,
    limit: u64,
) -> Option<Vec<u8>> {
    let stored = state
        .meta
        .get_manifest(repo, &ManifestRef::Digest(meta.digest.clone()))
        .await
        .ok()??;
    let doc: serde_json::Value = serde_json::from_slice(&stored.bytes).ok()?;
    let layer = doc.get("layers")?.as_array()?.iter().find(|l| {
        l.get("mediaType")
            .and_then(|m| m.as_str())
            .is_some_and(&accept)
    })?;
    let digest: Digest = layer.get("digest")?.as_str()?.parse().ok()?;
    let bytes = crate::records::read_layer(state, repo, &digest, limit)
        .await
        .ok()?;
    Some(bytes.to_vec())
}

/// Gather the evidence for `digest` in `repo` and judge it.
pub async fn report(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    record: &AgentRecord,
) -> ApiResult<TrustReport> {
    let engine = &state.trust;
    let mut ev = Evidence {
        digest_verified: true,
        revoked_keys: engine.revoked.clone(),
        ..Default::default()
    };
    let refs = state.meta.referrers(repo, digest).await?;
    for r in refs.iter().take(MAX_REFERRERS) {
        let Some(at) = r.artifact_type.as_deref() else {
            continue;
        };
        match referrers::classify(at) {
            Some(Kind::Signature) => {
                if let Some(b) = first_layer(
                    state,
                    repo,
                    r,
                    |m| m == referrers::SIGNATURE,
                    agentry_trust::signature::MAX_ENVELOPE_BYTES as u64,
                )
                .await
                {
                    ev.signatures.push(b);
                }
            }
            Some(Kind::Bundle) => {
                if let Some(b) = first_layer(state, repo, r, |_| true, 1 << 20).await {
                    ev.bundles.push(b);
                }
            }
            Some(Kind::Sbom) => ev.sbom = Some(at.to_owned()),
            Some(Kind::Provenance) => ev.provenance = Some(at.to_owned()),
            Some(Kind::Compliance) => ev.compliance = Some(at.to_owned()),
            Some(Kind::Certificate) | None => {}
        }
    }
    ev.capability_schemas = capability_schemas(record);
    let domain = record.publisher.as_ref().and_then(|p| p.domain.as_deref());
    // Without a signature no tier is reachable: the DNS is not asked (a push of an unsigned
    // agent never waits on a resolver).
    ev.dns = Some(if ev.signatures.is_empty() {
        DnsEvidence::Unknown("not looked up: no signature refers to this manifest".into())
    } else {
        engine.anchors.evidence(domain).await
    });
    let verifier = engine.bundle_verifier.clone();
    Ok(agentry_trust::evaluate(
        digest,
        domain,
        &ev,
        verifier.as_deref(),
    ))
}

fn capability_schemas(record: &AgentRecord) -> Option<Result<(), String>> {
    if record.skills.is_empty() {
        return None;
    }
    let missing: Vec<&str> = record
        .skills
        .iter()
        .filter(|s| s.input_schema.is_none())
        .map(|s| s.name.as_str())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "skills without an input schema: {}",
            missing.join(", ")
        ))
    })
}

/// The tier a push must reach: the pod's minimum, raised by the publisher's `_ossa-policy`
/// (`min-trust`, and `require-sig` as at least Basic).
pub fn required_tier(state: &AppState, report: &TrustReport) -> TrustTier {
    let mut t = state.trust.min_tier;
    if let Some(p) = &report.policy {
        if let Some(m) = p.min_trust {
            t = t.max(m);
        }
        if p.require_sig {
            t = t.max(TrustTier::Basic);
        }
    }
    t
}

/// Refuse an agent manifest below the required tier (`DENIED`, every missing check named).
pub fn gate(state: &AppState, report: &TrustReport) -> ApiResult<()> {
    let required = required_tier(state, report);
    if report.tier >= required {
        return Ok(());
    }
    let missing = report.missing_for(required);
    Err(ApiError::new(
        OciErrorCode::Denied,
        format!(
            "this registry accepts agents of trust tier {required} or higher; this one is {} — missing: {}",
            report.tier,
            missing.join("; ")
        ),
    )
    .with_detail(serde_json::json!({
        "required_tier": required,
        "tier": report.tier,
        "missing": missing,
        "checks": report.checks,
    })))
}

/// After a referrer was stored: re-judge its subject (when it is an agent in `repo`) and
/// update the indexed tier.
pub async fn on_referrer_stored(state: &AppState, repo: &RepoName, subject: &Digest) {
    let entry = match state.meta.record(repo, subject).await {
        Ok(Some(e)) => e,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(%repo, %subject, error = %e, "reading the subject's record failed");
            return;
        }
    };
    match report(state, repo, subject, &entry.record).await {
        Ok(r) => {
            tracing::info!(%repo, %subject, tier = %r.tier, "re-verified after a referrer arrived");
            crate::records::on_manifest_stored(state, repo, subject, Some(&entry.record), r.tier)
                .await;
        }
        Err(e) => tracing::error!(%repo, %subject, error = ?e, "re-verifying failed"),
    }
}
