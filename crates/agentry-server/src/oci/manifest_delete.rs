//! `DELETE /v2/<name>/manifests/<reference>`: by digest deletes the manifest (its tags, its
//! referrer entry and its agent record go with it); by tag deletes only the tag.

use agentry_oci::OciErrorCode;
use agentry_types::{ManifestRef, RepoName};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) async fn delete(
    state: &AppState,
    repo: RepoName,
    reference: ManifestRef,
) -> ApiResult<Response> {
    let existed = match &reference {
        ManifestRef::Digest(d) => {
            let existed = state.meta.delete_manifest(&repo, d).await?;
            if existed {
                crate::records::on_manifest_deleted(state, &repo, d).await;
                crate::mesh::deleted(state, &repo, d).await;
            }
            existed
        }
        ManifestRef::Tag(t) => state.meta.delete_tag(&repo, t).await?,
    };
    if !existed {
        return Err(ApiError::new(
            OciErrorCode::ManifestUnknown,
            format!("manifest {reference} is not known in {repo}"),
        ));
    }
    tracing::info!(repo = %repo, reference = %reference, "manifest deleted");
    Ok(StatusCode::ACCEPTED.into_response())
}
