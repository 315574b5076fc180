//! `POST /v2/<name>/blobs/uploads/`: start an upload session, upload monolithically
//! (`?digest=`), or mount a blob from another repository (`?mount=&from=`, falling back to a new
//! session when the blob cannot be mounted, including a mount without `from`).

use agentry_store::{UploadId, UploadSession};
use agentry_types::{Digest, RepoName};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

use super::{blob_created, body_stream, content_length, query_get, query_pairs, upload_progress};
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) async fn post(state: &AppState, repo: RepoName, req: Request) -> ApiResult<Response> {
    let pairs = query_pairs(req.uri());
    if let Some(mount) = query_get(&pairs, "mount") {
        let digest: Digest = mount.parse()?;
        if let Some(from) = query_get(&pairs, "from") {
            let from = RepoName::parse(&from)?;
            if state.blobs.stat(&digest).await?.is_some()
                && state
                    .meta
                    .mount_blob(&from, &repo, &digest)
                    .await?
                    .is_some()
            {
                tracing::info!(repo = %repo, from = %from, digest = %digest, "blob mounted");
                return Ok(blob_created(&repo, &digest));
            }
        }
        // Not mountable (or anonymous mount): start a normal upload session.
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
        state.meta.link_blob(&repo, &digest, size).await?;
        tracing::info!(repo = %repo, digest = %digest, size, "blob stored (monolithic)");
        return Ok(blob_created(&repo, &digest));
    }
    start_session(state, &repo).await
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
