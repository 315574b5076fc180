//! `GET /v2/<name>/referrers/<digest>`: manifests whose `subject` is `<digest>`, as an image
//! index, optionally filtered by `artifactType` (then `OCI-Filters-Applied: artifactType`).
//! Never 404: an unknown repository or subject has no referrers.

use agentry_oci::media;
use agentry_types::{Digest, RepoName};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{query_get, query_pairs, set};
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) async fn get(
    state: &AppState,
    repo: RepoName,
    subject: Digest,
    uri: &Uri,
) -> ApiResult<Response> {
    let filter = query_get(&query_pairs(uri)?, "artifactType").filter(|f| !f.is_empty());
    let referrers = state.meta.referrers(&repo, &subject).await?;
    let manifests: Vec<Value> = referrers
        .into_iter()
        .filter(|m| match &filter {
            Some(f) => m.artifact_type.as_deref() == Some(f.as_str()),
            None => true,
        })
        .map(|m| {
            let mut d = json!({
                "mediaType": m.media_type,
                "digest": m.digest.to_string(),
                "size": m.size,
            });
            if let Some(a) = m.artifact_type {
                d["artifactType"] = json!(a);
            }
            if !m.annotations.is_empty() {
                d["annotations"] = json!(m.annotations);
            }
            d
        })
        .collect();
    let body = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    });
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, media::OCI_INDEX)],
        body.to_string(),
    )
        .into_response();
    if filter.is_some() {
        set(&mut resp, "OCI-Filters-Applied", "artifactType");
    }
    Ok(resp)
}
