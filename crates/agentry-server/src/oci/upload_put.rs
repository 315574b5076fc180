//! `PUT /v2/<name>/blobs/uploads/<id>?digest=`: append the optional final chunk, verify the
//! whole upload against the digest and make it visible (201).

use agentry_oci::OciErrorCode;
use agentry_store::{StoreError, UploadId};
use agentry_types::{Digest, RepoName};
use axum::extract::Request;
use axum::response::Response;

use super::{append_body, blob_created, content_length, query_get, query_pairs, require_session};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) async fn put(
    state: &AppState,
    repo: RepoName,
    id: UploadId,
    req: Request,
) -> ApiResult<Response> {
    require_session(state, &repo, &id).await?;
    let pairs = query_pairs(req.uri())?;
    let digest: Digest = query_get(&pairs, "digest")
        .ok_or_else(|| {
            ApiError::new(
                OciErrorCode::DigestInvalid,
                "the digest query parameter is required to complete an upload",
            )
        })?
        .parse()?;
    if content_length(req.headers())? != Some(0) {
        append_body(state, &id, req).await?;
    }
    let size = match state.blobs.upload_finish(&id, &digest).await {
        Ok(size) => size,
        Err(e @ StoreError::DigestMismatch { .. }) => {
            // The store discarded the data; the session goes with it.
            state.meta.upload_remove(&id).await?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    state.meta.link_blob(&repo, &digest, size).await?;
    state.meta.upload_remove(&id).await?;
    tracing::info!(repo = %repo, digest = %digest, size, "blob stored (upload)");
    Ok(blob_created(&repo, &digest))
}
