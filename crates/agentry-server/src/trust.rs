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
    AnchorCache, BundleVerifier, Evidence, IdentityRule, OrgCas, SigstoreVerifier, TrustReport,
    TxtAnswer, TxtError, TxtResolver,
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
    /// The Verified tier's Sigstore check (the trusted root and identity policy).
    pub bundle_verifier: Option<Arc<dyn BundleVerifier>>,
    /// The organisation CAs signing certificates must chain to (Standard tier).
    pub org_cas: Option<Arc<OrgCas>>,
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
            // `ServeConfig::validate` checked the files and rules; a failure here is logged.
            bundle_verifier: match SigstoreVerifier::from_config(
                config.trusted_root.as_deref(),
                config
                    .trust_sigstore_identities
                    .iter()
                    .filter_map(|r| IdentityRule::parse(r).ok())
                    .collect(),
            ) {
                Ok(v) => Some(Arc::new(v)),
                Err(e) => {
                    tracing::error!(error = %e, "no Sigstore trusted root; the Verified tier is unreachable");
                    None
                }
            },
            org_cas: {
                let mut cas = OrgCas::new();
                for p in &config.trust_org_cas {
                    if let Err(e) = cas.add_pem_file(p) {
                        tracing::error!(error = %e, "organisation CA not loaded");
                    }
                }
                (!cas.is_empty()).then(|| Arc::new(cas))
            },
        }
    }
}

/// Largest layer of a trust referrer read, by media type.
fn layer_limit(kind: Kind, media_type: &str) -> u64 {
    match kind {
        Kind::Signature if media_type == referrers::SIGNATURE => {
            agentry_trust::signature::MAX_ENVELOPE_BYTES as u64
        }
        Kind::Signature => agentry_trust::x509::MAX_CHAIN_BYTES as u64,
        Kind::Bundle => agentry_sigstore::MAX_BUNDLE_BYTES as u64,
        Kind::AgntcySignature | Kind::AgntcyPublicKey => {
            agentry_trust::agntcy::MAX_REFERRER_BYTES as u64
        }
        _ => agentry_trust::attest::MAX_DOCUMENT_BYTES as u64,
    }
}

/// Most layers of one referrer read.
const MAX_LAYERS: usize = 4;

/// Read a trust referrer's layers (bounded in number and size; an unreadable one is skipped).
async fn referrer_layers(
    state: &AppState,
    repo: &RepoName,
    meta: &ManifestMeta,
    kind: Kind,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(Some(stored)) = state
        .meta
        .get_manifest(repo, &ManifestRef::Digest(meta.digest.clone()))
        .await
    else {
        return out;
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&stored.bytes) else {
        return out;
    };
    let Some(layers) = doc.get("layers").and_then(|l| l.as_array()) else {
        return out;
    };
    for l in layers.iter().take(MAX_LAYERS) {
        let Some(mt) = l.get("mediaType").and_then(|m| m.as_str()) else {
            continue;
        };
        let Some(digest) = l
            .get("digest")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse::<Digest>().ok())
        else {
            continue;
        };
        match crate::records::read_layer(state, repo, &digest, layer_limit(kind, mt)).await {
            Ok(b) => out.push((mt.to_owned(), b.to_vec())),
            Err(e) => tracing::debug!(%repo, %digest, error = ?e, "trust referrer layer skipped"),
        }
    }
    out
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
        org_cas: engine.org_cas.clone(),
        ..Default::default()
    };
    let refs = state.meta.referrers(repo, digest).await?;
    for r in refs.iter().take(MAX_REFERRERS) {
        if let Some(kind) = referrers::classify_referrer(r.artifact_type.as_deref(), &r.annotations)
        {
            let layers = referrer_layers(state, repo, r, kind).await;
            ev.add_referrer(r.artifact_type.as_deref(), &r.annotations, layers);
        }
    }
    ev.capability_schemas = agentry_trust::capability_schemas(record);
    ev.record_cid = record.identity.oasf_cid.clone();
    let domain = record.publisher.as_ref().and_then(|p| p.domain.as_deref());
    // Asked for unsigned agents too: their publisher's `_ossa-policy` (`require-sig`,
    // `min-trust`) applies to them. Answers are cached for their TTL; a timeout is unknown.
    ev.dns = Some(engine.anchors.evidence(domain).await);
    let verifier = engine.bundle_verifier.clone();
    Ok(agentry_trust::evaluate(
        digest,
        domain,
        &ev,
        verifier.as_deref(),
    ))
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
    let because = if required > state.trust.min_tier {
        let p = report.policy.as_ref();
        format!(
            " (the publisher's _ossa-policy{} asks for it: {})",
            report
                .domain
                .as_deref()
                .map(|d| format!(" of {d}"))
                .unwrap_or_default(),
            match (
                p.is_some_and(|p| p.require_sig),
                p.and_then(|p| p.min_trust)
            ) {
                (true, Some(m)) => format!("require-sig, min-trust={m}"),
                (true, None) => "require-sig".to_owned(),
                (false, Some(m)) => format!("min-trust={m}"),
                (false, None) => String::new(),
            }
        )
    } else {
        String::new()
    };
    Err(ApiError::new(
        OciErrorCode::Denied,
        format!(
            "this registry accepts agents of trust tier {required} or higher{because}; this one is {} — missing: {}",
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
            crate::mesh::published(
                state,
                agentry_mesh::EventKind::TrustChanged,
                repo,
                subject,
                &entry.record,
                r.tier,
            )
            .await;
            crate::events::agent(
                state,
                crate::events::Change::TrustChanged,
                repo,
                subject,
                Some(&entry.record.identity.version),
                Some(r.tier),
                None,
            );
        }
        Err(e) => tracing::error!(%repo, %subject, error = ?e, "re-verifying failed"),
    }
}

#[async_trait::async_trait]
impl crate::reindex::Judge for AppState {
    async fn tier(&self, repo: &RepoName, digest: &Digest, record: &AgentRecord) -> TrustTier {
        match report(self, repo, digest, record).await {
            Ok(r) => r.tier,
            Err(e) => {
                tracing::warn!(%repo, %digest, error = ?e, "judging the tier failed; indexed at none");
                TrustTier::None
            }
        }
    }
}

/// Judge every stored agent again and re-index those whose tier changed: DNS answers whose
/// TTL expired are asked again (a key removed from `_ossa-key` demotes its agents, a new one
/// promotes them), certificates expire. Runs from housekeeping every
/// `trust_reverify_interval`.
pub async fn reverify_all(state: &AppState) -> Result<usize, agentry_store::StoreError> {
    let Some(search) = state.search.clone() else {
        return Ok(0);
    };
    let mut changed = 0;
    let mut after: Option<(RepoName, Digest)> = None;
    loop {
        let page = state
            .meta
            .records(after.as_ref().map(|(r, d)| (r, d)), 200)
            .await?;
        after = page
            .items
            .last()
            .map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        for e in page.items {
            // A replicated agent's tier is its origin's judgement (its referrers stay there).
            if state
                .mesh
                .as_ref()
                .is_some_and(|m| m.origin_api(&e.repo).is_some())
            {
                continue;
            }
            let indexed = search
                .by_digest(&e.manifest_digest)
                .into_iter()
                .find(|h| h.repo == e.repo)
                .map(|h| h.trust_tier);
            let Some(indexed) = indexed else { continue };
            let tier =
                crate::reindex::Judge::tier(state, &e.repo, &e.manifest_digest, &e.record).await;
            if tier != indexed {
                tracing::info!(repo = %e.repo, digest = %e.manifest_digest, from = %indexed, to = %tier, "trust tier changed on re-verification");
                crate::records::on_manifest_stored(
                    state,
                    &e.repo,
                    &e.manifest_digest,
                    Some(&e.record),
                    tier,
                )
                .await;
                crate::mesh::published(
                    state,
                    agentry_mesh::EventKind::TrustChanged,
                    &e.repo,
                    &e.manifest_digest,
                    &e.record,
                    tier,
                )
                .await;
                crate::events::agent(
                    state,
                    crate::events::Change::TrustChanged,
                    &e.repo,
                    &e.manifest_digest,
                    Some(&e.record.identity.version),
                    Some(tier),
                    None,
                );
                changed += 1;
            }
        }
        if !page.more {
            return Ok(changed);
        }
    }
}
