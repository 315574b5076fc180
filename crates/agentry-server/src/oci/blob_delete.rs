//! `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository. The bytes are
//! reclaimed by garbage collection once nothing references them.

use agentry_oci::OciErrorCode;
use agentry_types::{Digest, RepoName};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) async fn delete(
    state: &AppState,
    repo: RepoName,
    digest: Digest,
) -> ApiResult<Response> {
    if !state.meta.unlink_blob(&repo, &digest).await? {
        return Err(ApiError::new(
            OciErrorCode::BlobUnknown,
            format!("blob {digest} is not known in {repo}"),
        ));
    }
    tracing::info!(repo = %repo, digest = %digest, "blob unlinked");
    Ok(StatusCode::ACCEPTED.into_response())
}
