//! `DELETE /v2/<name>/blobs/uploads/<id>`: abandon an upload.

use agentry_store::UploadId;
use agentry_types::RepoName;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::require_session;
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) async fn delete(state: &AppState, repo: RepoName, id: UploadId) -> ApiResult<Response> {
    require_session(state, &repo, &id).await?;
    state.blobs.upload_abort(&id).await?;
    state.meta.upload_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
