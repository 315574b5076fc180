//! `PATCH /v2/<name>/blobs/uploads/<id>`: append a chunk (streamed). A `Content-Range` that
//! does not start where the upload ends answers 416 and writes nothing.

use agentry_store::UploadId;
use agentry_types::RepoName;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

use super::{append_body, require_session, upload_progress};
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) async fn patch(
    state: &AppState,
    repo: RepoName,
    id: UploadId,
    req: Request,
) -> ApiResult<Response> {
    require_session(state, &repo, &id).await?;
    let size = append_body(state, &id, req).await?;
    Ok(upload_progress(StatusCode::ACCEPTED, &repo, &id, size))
}
