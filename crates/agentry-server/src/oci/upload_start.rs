//! `POST /v2/<name>/blobs/uploads/`: start an upload session, upload monolithically
//! (`?digest=`), or mount a blob from another repository (`?mount=&from=`, or `?mount=` alone
//! from a repository that links it and the client may read), falling back to a new session
//! when the blob cannot be mounted.

use agentry_store::{UploadId, UploadSession};
use agentry_types::{Digest, RepoName};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

use super::{blob_created, body_stream, content_length, query_get, query_pairs, upload_progress};
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) async fn post(state: &AppState, repo: RepoName, req: Request) -> ApiResult<Response> {
    let pairs = query_pairs(req.uri())?;
    if let Some(mount) = query_get(&pairs, "mount") {
        let digest: Digest = mount.parse()?;
        let from = query_get(&pairs, "from")
            .map(|f| RepoName::parse(&f))
            .transpose()?;
        if let Some(from) = mount_from(state, &repo, &digest, from).await? {
            tracing::info!(repo = %repo, from = %from, digest = %digest, "blob mounted");
            return Ok(blob_created(&repo, &digest));
        }
        // Not mountable: start a normal upload session.
        return start_session(state, &repo).await;
    }
    if let Some(d) = query_get(&pairs, "digest") {
        let digest: Digest = d.parse()?;
        let expected_len = content_length(req.headers())?;
        let body = body_stream(req.into_body());
        let size = state
            .blobs
            .put(&digest, body, expected_len, state.config.max_blob_bytes)
            .await?;
        state.metrics.push_bytes.inc_by(size);
        state.meta.link_blob(&repo, &digest, size).await?;
        tracing::info!(repo = %repo, digest = %digest, size, "blob stored (monolithic)");
        return Ok(blob_created(&repo, &digest));
    }
    start_session(state, &repo).await
}

/// Candidate repositories tried for a mount without `from`: the blob is normally in a few.
const MOUNT_CANDIDATES: usize = 16;

/// Mount `digest` into `repo` and say where it came from, or `None` when it cannot be
/// mounted. With `from`, only from there. Without it (the spec's automatic content
/// discovery), from a repository that links the blob and that the client may read: under
/// htpasswd auth every authenticated user may read every repository, and the request got
/// here authenticated, so any linking repository qualifies (ARCHITECTURE.md, "Blobs belong
/// to repositories"). Each mount re-checks its source link in one store transaction, so a
/// blob that garbage collection released meanwhile is not mounted.
async fn mount_from(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    from: Option<RepoName>,
) -> ApiResult<Option<RepoName>> {
    if state.blobs.stat(digest).await?.is_none() {
        return Ok(None);
    }
    let candidates = match from {
        Some(from) => vec![from],
        None => {
            state
                .meta
                .blob_repositories(digest, MOUNT_CANDIDATES)
                .await?
        }
    };
    for from in candidates {
        if state.meta.mount_blob(&from, repo, digest).await?.is_some() {
            return Ok(Some(from));
        }
    }
    Ok(None)
}

async fn start_session(state: &AppState, repo: &RepoName) -> ApiResult<Response> {
    let id = UploadId::new();
    state.blobs.upload_start(&id).await?;
    let session = UploadSession {
        id: id.as_str().to_owned(),
        repo: repo.clone(),
        started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    if let Err(e) = state.meta.upload_create(&session).await {
        let _ = state.blobs.upload_abort(&id).await;
        return Err(e.into());
    }
    Ok(upload_progress(StatusCode::ACCEPTED, repo, &id, 0))
}
