//! `GET /v2/<name>/blobs/uploads/<id>`: where an upload stands (204 with `Range`).

use agentry_oci::OciErrorCode;
use agentry_store::UploadId;
use agentry_types::RepoName;
use axum::http::StatusCode;
use axum::response::Response;

use super::{require_session, upload_progress};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) async fn get(state: &AppState, repo: RepoName, id: UploadId) -> ApiResult<Response> {
    require_session(state, &repo, &id).await?;
    let size = state
        .blobs
        .upload_size(&id)
        .await?
        .ok_or_else(|| ApiError::new(OciErrorCode::BlobUploadUnknown, "upload data is gone"))?;
    Ok(upload_progress(StatusCode::NO_CONTENT, &repo, &id, size))
}
