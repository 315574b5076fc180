//! `GET /api/v1/trust/{digest}`: the trust engine's verdict on an agent manifest, judged now
//! (signatures, the publisher's DNS records through the pod's cache, referrers): every check
//! with pass/fail and its reason, as `agentry verify --json` prints them, plus where the
//! digest is stored and the tier each copy is indexed with.

use agentry_search::AgentHit;
use agentry_types::{Digest, TrustTier};
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::ProblemResult;
use super::{blocking, index};
use crate::problem::Problem;
use crate::state::AppState;

/// Artifact types of signatures (cosign, Notary v2, Sigstore bundles).
pub(crate) const SIGNATURE_TYPES: &[&str] = &[
    "application/vnd.dev.cosign.artifact.sig.v1+json",
    "application/vnd.cncf.notary.signature",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    agentry_oci::media::OSSA_SIGNATURE,
];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrustLocation {
    pub repository: String,
    pub version: String,
    #[schema(value_type = String)]
    pub trust_tier: TrustTier,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignatureRef {
    pub repository: String,
    pub digest: String,
    pub artifact_type: String,
}

/// The trust state of one digest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrustState {
    pub digest: String,
    /// Stored content is addressed by digest and was hashed on upload before it became visible.
    pub digest_verified: bool,
    pub signed: bool,
    pub signatures: Vec<SignatureRef>,
    /// The tier the checks add up to now (the highest over the repositories holding it).
    #[schema(value_type = String)]
    pub tier: TrustTier,
    /// Same as `tier` (the name the search results use).
    #[schema(value_type = String)]
    pub trust_tier: TrustTier,
    /// The publisher's `publisher.domain`.
    pub domain: Option<String>,
    /// Each check: `name`, `tier` (lowest tier needing it), `status` (pass, fail, unknown),
    /// `reason`.
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<agentry_trust::Check>,
    /// The publisher's `_ossa-policy`.
    #[schema(value_type = Option<Object>)]
    pub policy: Option<agentry_trust::dns::PolicyRecord>,
    /// Keys (SPKI base64) with a valid signature that the publisher's DNS lists.
    pub signed_by: Vec<String>,
    pub locations: Vec<TrustLocation>,
}

#[utoipa::path(
    get,
    path = "/api/v1/trust/{digest}",
    tag = "trust",
    params(("digest" = String, Path, description = "Manifest digest (sha256:… or sha512:…)")),
    responses(
        (status = 200, description = "Trust state", body = TrustState),
        (status = 400, description = "Not a digest", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No agent with this digest", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn trust(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> ProblemResult<Json<TrustState>> {
    let digest: Digest = digest
        .parse()
        .map_err(|e: agentry_types::DigestError| Problem::bad_request("digest", e.to_string()))?;
    Ok(Json(trust_state(&state, &digest).await?))
}

/// The trust engine's verdict on `digest`, judged now, over every repository holding it.
pub async fn trust_state(state: &AppState, digest: &Digest) -> ProblemResult<TrustState> {
    let digest = digest.clone();
    let idx = index(state)?;
    let d = digest.clone();
    let items: Vec<AgentHit> = blocking(move || Ok(idx.by_digest(&d))).await?;
    if items.is_empty() {
        return Err(Problem::not_found(format!("no agent with digest {digest}")));
    }
    let mut signatures = Vec::new();
    let mut best: Option<agentry_trust::TrustReport> = None;
    for it in &items {
        let repo_name = &it.repo;
        let refs = state
            .meta
            .referrers(repo_name, &digest)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "referrers lookup failed");
                Problem::internal("the server failed to answer; see its log")
            })?;
        if let Ok(Some(entry)) = state.meta.record(repo_name, &digest).await {
            let report = crate::trust::report(state, repo_name, &digest, &entry.record)
                .await
                .map_err(|e| {
                    tracing::error!(error = ?e, "trust evaluation failed");
                    Problem::internal("the server failed to answer; see its log")
                })?;
            if best.as_ref().is_none_or(|b| report.tier > b.tier) {
                best = Some(report);
            }
        }
        for r in refs {
            if let Some(at) = &r.artifact_type
                && SIGNATURE_TYPES.iter().any(|s| at.starts_with(s))
            {
                signatures.push(SignatureRef {
                    repository: repo_name.to_string(),
                    digest: r.digest.to_string(),
                    artifact_type: at.clone(),
                });
            }
        }
    }
    let Some(report) = best else {
        return Err(Problem::not_found(format!(
            "no agent record for digest {digest}"
        )));
    };
    Ok(TrustState {
        digest: digest.to_string(),
        digest_verified: true,
        signed: !signatures.is_empty(),
        signatures,
        tier: report.tier,
        trust_tier: report.tier,
        domain: report.domain,
        checks: report.checks,
        policy: report.policy,
        signed_by: report.signed_by,
        locations: items
            .iter()
            .map(|i| TrustLocation {
                repository: i.repo.to_string(),
                version: i.version.clone(),
                trust_tier: i.trust_tier,
            })
            .collect(),
    })
}
