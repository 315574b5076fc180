//! OCI Distribution v1.1 on `/v2/`, one file per operation.
//!
//! Repository names contain slashes, so routes cannot be matched segment by segment: [`route`]
//! parses the path from its end (the part after the name never contains `/`), validates the
//! name with the spec grammar and dispatches on method and operation.

mod base;
mod blob_delete;
mod blob_get;
mod catalog;
mod headers;
mod manifest_delete;
mod manifest_get;
mod manifest_put;
mod referrers;
mod tags_list;
mod upload_cancel;
mod upload_patch;
mod upload_put;
mod upload_start;
mod upload_status;

use agentry_oci::OciErrorCode;
use agentry_store::UploadId;
use agentry_types::{Digest, ManifestRef, RepoName};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(crate) use headers::*;

/// What a `/v2/…` path addresses.
#[derive(Debug, PartialEq)]
pub(crate) enum Target {
    Base,
    Catalog,
    Tags(RepoName),
    Manifest(RepoName, ManifestRef),
    Blob(RepoName, Digest),
    Uploads(RepoName),
    Upload(RepoName, UploadId),
    Referrers(RepoName, Digest),
    /// A manifest path whose reference is not a valid tag: refused on PUT (400), but for
    /// reads and deletes simply unknown (404), as the conformance suite expects.
    BadTag(RepoName, agentry_types::NameError),
}

/// Parse the path after `/v2/`.
pub(crate) fn parse_target(path: &str) -> ApiResult<Target> {
    if path.is_empty() {
        return Ok(Target::Base);
    }
    if path == "_catalog" {
        return Ok(Target::Catalog);
    }
    let segs: Vec<&str> = path.split('/').collect();
    let n = segs.len();
    let name = |upto: usize| -> ApiResult<RepoName> {
        if upto == 0 {
            return Err(ApiError::new(
                OciErrorCode::NameInvalid,
                "repository name is empty",
            ));
        }
        Ok(RepoName::parse(&segs[..upto].join("/"))?)
    };
    let not_found = || ApiError::new(OciErrorCode::NameUnknown, "no such endpoint");
    if n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list" {
        return Ok(Target::Tags(name(n - 2)?));
    }
    if n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads" {
        let repo = name(n - 3)?;
        if segs[n - 1].is_empty() {
            return Ok(Target::Uploads(repo));
        }
        let id = UploadId::parse(segs[n - 1]).ok_or_else(|| {
            ApiError::new(
                OciErrorCode::BlobUploadUnknown,
                "upload id is not a known session",
            )
        })?;
        return Ok(Target::Upload(repo, id));
    }
    if n >= 2 {
        let last = segs[n - 1];
        match segs[n - 2] {
            "manifests" => {
                let repo = name(n - 2)?;
                return match ManifestRef::parse(last) {
                    Ok(r) => Ok(Target::Manifest(repo, r)),
                    Err(e @ agentry_types::NameError::InvalidTag(_)) => Ok(Target::BadTag(repo, e)),
                    Err(e) => Err(e.into()),
                };
            }
            "blobs" if last == "uploads" => return Ok(Target::Uploads(name(n - 2)?)),
            "blobs" => return Ok(Target::Blob(name(n - 2)?, last.parse()?)),
            "referrers" => return Ok(Target::Referrers(name(n - 2)?, last.parse()?)),
            _ => {}
        }
    }
    Err(not_found())
}

/// The `/v2/*` handler: authenticate, parse, dispatch.
pub async fn route(State(state): State<AppState>, req: Request) -> Response {
    let result = dispatch(state, req).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

async fn dispatch(state: AppState, req: Request) -> ApiResult<Response> {
    let path = req.uri().path().strip_prefix("/v2").unwrap_or("");
    // Exactly one separator: `/v2//abs/…` must not become `abs/…`.
    let path = path.strip_prefix('/').unwrap_or(path).to_owned();
    let target = parse_target(&path)?;
    let method = req.method().clone();
    let unsupported = || {
        Err(ApiError::new(
            OciErrorCode::Unsupported,
            format!("{method} is not supported on this endpoint"),
        ))
    };
    match (target, &method) {
        (Target::Base, &Method::GET | &Method::HEAD) => Ok(base::get()),
        (Target::Catalog, &Method::GET) => catalog::get(&state, req.uri()).await,
        (Target::Tags(repo), &Method::GET) => tags_list::get(&state, repo, req.uri()).await,
        (Target::Manifest(repo, r), &Method::GET) => {
            manifest_get::get(&state, repo, r, false).await
        }
        (Target::Manifest(repo, r), &Method::HEAD) => {
            manifest_get::get(&state, repo, r, true).await
        }
        (Target::Manifest(repo, r), &Method::PUT) => manifest_put::put(&state, repo, r, req).await,
        (Target::Manifest(repo, r), &Method::DELETE) => {
            manifest_delete::delete(&state, repo, r).await
        }
        (Target::Blob(repo, d), &Method::GET) => blob_get::get(&state, repo, d, req, false).await,
        (Target::Blob(repo, d), &Method::HEAD) => blob_get::get(&state, repo, d, req, true).await,
        (Target::Blob(repo, d), &Method::DELETE) => blob_delete::delete(&state, repo, d).await,
        (Target::Uploads(repo), &Method::POST) => upload_start::post(&state, repo, req).await,
        (Target::Upload(repo, id), &Method::GET) => upload_status::get(&state, repo, id).await,
        (Target::Upload(repo, id), &Method::PATCH) => {
            upload_patch::patch(&state, repo, id, req).await
        }
        (Target::Upload(repo, id), &Method::PUT) => upload_put::put(&state, repo, id, req).await,
        (Target::Upload(repo, id), &Method::DELETE) => {
            upload_cancel::delete(&state, repo, id).await
        }
        (Target::BadTag(_, e), &Method::PUT) => Err(e.into()),
        (Target::BadTag(repo, _), &Method::GET | &Method::HEAD | &Method::DELETE) => {
            Err(ApiError::new(
                OciErrorCode::ManifestUnknown,
                format!("no manifest with that reference in {repo}"),
            ))
        }
        (Target::Referrers(repo, d), &Method::GET) => {
            referrers::get(&state, repo, d, req.uri()).await
        }
        _ => unsupported(),
    }
}

/// Turn a request body into the store's byte stream.
pub(crate) fn body_stream(body: Body) -> agentry_store::ByteStream {
    use futures::TryStreamExt;
    Box::pin(
        body.into_data_stream()
            .map_err(|e| std::io::Error::other(e.to_string())),
    )
}

/// The upload session `id`, which must belong to `repo`.
pub(crate) async fn require_session(
    state: &AppState,
    repo: &RepoName,
    id: &UploadId,
) -> ApiResult<agentry_store::UploadSession> {
    match state.meta.upload_get(id).await? {
        Some(s) if &s.repo == repo => Ok(s),
        _ => Err(ApiError::new(
            OciErrorCode::BlobUploadUnknown,
            format!("upload {id} is not known in {repo}"),
        )),
    }
}

/// Parse an upload `Content-Range` (`<first>-<last>`, inclusive; `bytes ` prefix and `/total`
/// suffix tolerated). Returns (offset, length).
pub(crate) fn parse_content_range(v: &str) -> ApiResult<(u64, u64)> {
    let bad = || {
        ApiError::new(
            OciErrorCode::RangeInvalid,
            format!("Content-Range {v:?} must have the form <first>-<last>"),
        )
    };
    let s = v.trim();
    let s = s.strip_prefix("bytes").map(str::trim_start).unwrap_or(s);
    let s = s.split_once('/').map(|(r, _)| r).unwrap_or(s);
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if last < first {
        return Err(bad());
    }
    Ok((first, last - first + 1))
}

/// Append a request body to an upload, honouring `Content-Range` when given. Returns the new
/// upload size.
pub(crate) async fn append_body(state: &AppState, id: &UploadId, req: Request) -> ApiResult<u64> {
    let headers = req.headers().clone();
    let mut expected_len = content_length(&headers)?;
    let offset = match headers
        .get(axum::http::header::CONTENT_RANGE)
        .map(|v| v.to_str().unwrap_or("?"))
    {
        Some(cr) => {
            let (first, len) = parse_content_range(cr)?;
            if let Some(cl) = expected_len
                && cl != len
            {
                return Err(ApiError::new(
                    OciErrorCode::RangeInvalid,
                    format!("Content-Range covers {len} bytes but Content-Length is {cl}"),
                ));
            }
            expected_len = Some(len);
            first
        }
        None => state
            .blobs
            .upload_size(id)
            .await?
            .ok_or_else(|| ApiError::new(OciErrorCode::BlobUploadUnknown, "upload is gone"))?,
    };
    let body = body_stream(req.into_body());
    let size = state
        .blobs
        .upload_append(id, offset, body, expected_len, state.config.max_blob_bytes)
        .await?;
    state.metrics.push_bytes.inc_by(size.saturating_sub(offset));
    Ok(size)
}

/// 202 response for an upload in progress: `Location`, `Range`, `Docker-Upload-UUID`.
pub(crate) fn upload_progress(
    status: axum::http::StatusCode,
    repo: &RepoName,
    id: &UploadId,
    size: u64,
) -> Response {
    let mut resp = status.into_response();
    set(&mut resp, "location", upload_location(repo, id));
    set(&mut resp, "range", upload_range(size));
    set(&mut resp, UPLOAD_UUID_HEADER, id.as_str());
    resp.headers_mut().insert(
        axum::http::header::CONTENT_LENGTH,
        HeaderValue::from_static("0"),
    );
    resp
}

/// 201 response for a stored blob.
pub(crate) fn blob_created(repo: &RepoName, digest: &Digest) -> Response {
    let mut resp = axum::http::StatusCode::CREATED.into_response();
    set(&mut resp, "location", blob_location(repo, digest));
    set_digest(&mut resp, digest);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_LENGTH,
        HeaderValue::from_static("0"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_from_the_end() {
        let d = Digest::sha256(b"x");
        assert_eq!(parse_target("").ok(), Some(Target::Base));
        assert_eq!(parse_target("_catalog").ok(), Some(Target::Catalog));
        assert!(
            matches!(parse_target("a/b/tags/list"), Ok(Target::Tags(r)) if r.as_str() == "a/b")
        );
        assert!(matches!(
            parse_target("manifests/manifests/latest"),
            Ok(Target::Manifest(r, ManifestRef::Tag(_))) if r.as_str() == "manifests"
        ));
        assert!(matches!(
            parse_target(&format!("a/blobs/{d}")),
            Ok(Target::Blob(_, x)) if x == d
        ));
        assert!(matches!(
            parse_target("a/blobs/uploads/"),
            Ok(Target::Uploads(_))
        ));
        let id = UploadId::new();
        assert!(matches!(
            parse_target(&format!("a/blobs/uploads/{id}")),
            Ok(Target::Upload(_, x)) if x == id
        ));
        for bad in [
            "../x/manifests/latest",
            "%2e%2e/manifests/latest",
            "/abs/manifests/x",
            "A/tags/list",
        ] {
            assert_eq!(
                parse_target(bad).err().map(|e| e.code()),
                Some(OciErrorCode::NameInvalid),
                "{bad}"
            );
        }
        assert!(parse_target("a/blobs/uploads/../../x").is_err());
        assert_eq!(
            parse_target("a/blobs/uploads/not-a-uuid")
                .err()
                .map(|e| e.code()),
            Some(OciErrorCode::BlobUploadUnknown)
        );
        assert_eq!(
            parse_target("a/manifests/sha256:abc")
                .err()
                .map(|e| e.code()),
            Some(OciErrorCode::DigestInvalid)
        );
        assert!(parse_target("a/unknown").is_err());
    }
}
