//! Agent records on the push path: extraction from an agent artifact's layers before the
//! manifest commits (the record is stored in the same transaction), and derived-index upkeep
//! after the commit.
//!
//! A manifest is treated as an agent artifact when its `artifactType` is the agent type or one
//! of its layers has a registered agent-description media type. Its description layer (and any
//! capabilities layer) is read from the blob store — bounded by `max_record_bytes` — and
//! validated by `agentry-formats`; an invalid description refuses the push with
//! `MANIFEST_INVALID` and the full list of violations. Other artifacts are stored untouched.

use agentry_formats::{Coordinates, Layer};
use agentry_oci::OciErrorCode;
use agentry_oci::manifest::{Descriptor, ParsedManifest};
use agentry_types::{AGENT_ARTIFACT_TYPE, AgentRecord, Digest, RepoName, Tag};
use bytes::BytesMut;
use futures::StreamExt;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn is_description_layer(d: &Descriptor) -> bool {
    agentry_formats::is_record_media_type(&d.media_type)
        || agentry_formats::is_capabilities_media_type(&d.media_type)
}

/// Extract and validate the agent record of an agent artifact. `Ok(None)` for other artifacts.
pub async fn extract(
    state: &AppState,
    repo: &RepoName,
    parsed: &ParsedManifest,
    tag: Option<&Tag>,
    digest: &Digest,
) -> ApiResult<Option<AgentRecord>> {
    if parsed.kind.is_index() {
        return Ok(None);
    }
    let is_agent = parsed.artifact_type.as_deref() == Some(AGENT_ARTIFACT_TYPE)
        || parsed
            .layers
            .iter()
            .any(|l| agentry_formats::is_record_media_type(&l.media_type));
    if !is_agent {
        return Ok(None);
    }
    let limit = state.config.max_record_bytes;
    let mut contents: Vec<(String, bytes::Bytes)> = Vec::new();
    for (i, layer) in parsed.layers.iter().enumerate() {
        if !is_description_layer(layer) {
            continue;
        }
        if layer.size > limit {
            return Err(ApiError::new(
                OciErrorCode::ManifestInvalid,
                format!(
                    "layer {i} ({}) is {} bytes; agent descriptions are limited to {limit} bytes",
                    layer.media_type, layer.size
                ),
            ));
        }
        let bytes = read_layer(state, repo, &layer.digest, limit).await?;
        contents.push((layer.media_type.clone(), bytes));
    }
    let layers: Vec<Layer<'_>> = contents
        .iter()
        .map(|(mt, b)| Layer {
            media_type: mt,
            bytes: b,
        })
        .collect();
    let coords = Coordinates {
        namespace: repo.namespace().to_owned(),
        name: repo.basename().to_owned(),
        tag: tag.map(|t| t.as_str().to_owned()),
        manifest_digest: Some(digest.clone()),
    };
    let extracted = agentry_formats::extract_artifact(&layers, &coords)
        .map_err(|report| invalid("the agent description is invalid", &report))?;
    if state.config.strict_records
        && let Some(report) = extracted.strict_refusal()
    {
        return Err(invalid(
            "the agent description has warnings, and this registry refuses records with \
             warnings (--strict-records)",
            &report,
        ));
    }
    for w in &extracted.warnings {
        tracing::debug!(repo = %repo, warning = %w, "agent description warning");
    }
    Ok(Some(extracted.record))
}

/// `MANIFEST_INVALID` with the first problems in the message and the whole report as detail.
fn invalid(what: &str, report: &agentry_formats::ValidationReport) -> ApiError {
    let detail = serde_json::to_value(report).unwrap_or_default();
    let summary = report
        .errors
        .iter()
        .take(3)
        .map(|p| {
            if p.pointer.is_empty() {
                p.reason.clone()
            } else {
                format!("{}: {}", p.pointer, p.reason)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::new(OciErrorCode::ManifestInvalid, format!("{what}: {summary}")).with_detail(detail)
}

/// Read a layer the manifest references; it must be linked into `repo`.
pub(crate) async fn read_layer(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    limit: u64,
) -> ApiResult<bytes::Bytes> {
    let missing = || {
        ApiError::new(
            OciErrorCode::ManifestBlobUnknown,
            format!("manifest references {digest}, which is not in {repo}"),
        )
        .with_detail(serde_json::json!({ "digest": digest.to_string() }))
    };
    if state.meta.blob_link(repo, digest).await?.is_none() {
        return Err(missing());
    }
    let read = state.blobs.read(digest, None).await?.ok_or_else(missing)?;
    if read.size > limit {
        return Err(ApiError::new(
            OciErrorCode::ManifestInvalid,
            format!("agent description {digest} exceeds {limit} bytes"),
        ));
    }
    let mut buf = BytesMut::with_capacity(read.size as usize);
    let mut stream = read.stream;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(agentry_store::StoreError::Io)?;
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// After a manifest committed: bring derived indexes up to date. The discovery index is updated
/// before the push is answered, so a pushed agent is findable when the push returns. The index
/// is derived: a failure here is logged (the manifest stays stored) and `agentry reindex`
/// repairs it.
pub async fn on_manifest_stored(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    record: Option<&AgentRecord>,
    trust_tier: agentry_types::TrustTier,
) {
    let (Some(feed), Some(record)) = (state.index_feed.clone(), record) else {
        return;
    };
    // The manifest's stored time (a re-push keeps the first), as `agentry reindex` reads it.
    let mut agent = match crate::reindex::stored_agent(&*state.meta, repo, digest, record.clone())
        .await
    {
        Ok(Some(agent)) => agent,
        // Deleted again before it could be indexed: nothing to find.
        Ok(None) => return,
        Err(e) => {
            tracing::error!(%repo, %digest, error = %e, "reading the stored manifest to index it failed; run `agentry reindex`");
            return;
        }
    };
    agent.trust_tier = trust_tier;
    if let Some(mesh) = &state.mesh {
        agent.source_pod = mesh.pod.clone();
    }
    if let Err(e) = feed.upsert(agent).await {
        tracing::error!(%repo, %digest, error = %e, "indexing the pushed agent failed; run `agentry reindex`");
    }
}

/// After a manifest was deleted: drop its agent from the discovery index.
pub async fn on_manifest_deleted(state: &AppState, repo: &RepoName, digest: &Digest) {
    let Some(idx) = state.search.clone() else {
        return;
    };
    let (r, d) = (repo.clone(), digest.clone());
    match tokio::task::spawn_blocking(move || idx.remove(&r, &d)).await {
        Ok(Ok(true)) => crate::events::agent(
            state,
            crate::events::Change::Deleted,
            repo,
            digest,
            None,
            None,
            None,
        ),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => {
            tracing::error!(%repo, %digest, error = %e, "removing the agent from the index failed")
        }
        Err(e) => tracing::error!(%repo, %digest, error = %e, "index removal task failed"),
    }
}
