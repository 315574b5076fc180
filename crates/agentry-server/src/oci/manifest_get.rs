//! `GET`/`HEAD /v2/<name>/manifests/<reference>`.

use agentry_oci::OciErrorCode;
use agentry_types::{ManifestRef, RepoName};
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::{set, set_digest};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) async fn get(
    state: &AppState,
    repo: RepoName,
    reference: ManifestRef,
    head: bool,
) -> ApiResult<Response> {
    let unknown = || {
        ApiError::new(
            OciErrorCode::ManifestUnknown,
            format!("manifest {reference} is not known in {repo}"),
        )
    };
    let (meta, bytes) = if head {
        let meta = state
            .meta
            .manifest_meta(&repo, &reference)
            .await?
            .ok_or_else(unknown)?;
        (meta, None)
    } else {
        let m = state
            .meta
            .get_manifest(&repo, &reference)
            .await?
            .ok_or_else(unknown)?;
        (m.meta, Some(m.bytes))
    };
    let len = meta.size;
    let mut resp = Response::new(match bytes {
        Some(b) => Body::from(b),
        None => Body::empty(),
    });
    *resp.status_mut() = StatusCode::OK;
    set(&mut resp, "content-type", &meta.media_type);
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    set_digest(&mut resp, &meta.digest);
    set(&mut resp, "etag", format!("\"{}\"", meta.digest));
    Ok(resp)
}
