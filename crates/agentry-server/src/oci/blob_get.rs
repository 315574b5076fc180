//! `GET`/`HEAD /v2/<name>/blobs/<digest>`, with single-range requests (RFC 9110) answered 206.

use agentry_oci::OciErrorCode;
use agentry_store::ByteRange;
use agentry_types::{Digest, RepoName};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{set, set_digest};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What a `Range` header asks for, given the blob size.
#[derive(Debug, PartialEq)]
enum RangeAsk {
    Whole,
    Part(ByteRange),
    Unsatisfiable,
}

fn parse_range(value: Option<&str>, size: u64) -> RangeAsk {
    let Some(v) = value else {
        return RangeAsk::Whole;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        // Other units are ignored (RFC 9110 §14.2).
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        // Multipart ranges: we may ignore the header and send everything.
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last `b` bytes.
        return match b.parse::<u64>() {
            Ok(0) | Err(_) => RangeAsk::Unsatisfiable,
            Ok(_) if size == 0 => RangeAsk::Unsatisfiable,
            Ok(n) => RangeAsk::Part(ByteRange {
                first: size.saturating_sub(n),
                last: size - 1,
            }),
        };
    }
    let Ok(first) = a.parse::<u64>() else {
        return RangeAsk::Whole;
    };
    if first >= size {
        return RangeAsk::Unsatisfiable;
    }
    let last = if b.is_empty() {
        size - 1
    } else {
        match b.parse::<u64>() {
            Ok(l) if l >= first => l.min(size - 1),
            _ => return RangeAsk::Whole,
        }
    };
    RangeAsk::Part(ByteRange { first, last })
}

pub(crate) async fn get(
    state: &AppState,
    repo: RepoName,
    digest: Digest,
    req: Request,
    head: bool,
) -> ApiResult<Response> {
    let unknown = || {
        ApiError::new(
            OciErrorCode::BlobUnknown,
            format!("blob {digest} is not known in {repo}"),
        )
    };
    let size = state
        .meta
        .blob_link(&repo, &digest)
        .await?
        .ok_or_else(unknown)?;
    if state.mesh.is_some() && state.blobs.stat(&digest).await?.is_none() {
        // Linked by a replicated manifest, bytes still with the origin.
        if let Some(mesh) = &state.mesh
            && mesh.role == crate::mesh::Role::Index
            && let Some(api) = mesh.origin_api(&repo)
        {
            let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
            set(
                &mut resp,
                "location",
                format!("{api}/v2/{repo}/blobs/{digest}"),
            );
            set_digest(&mut resp, &digest);
            return Ok(resp);
        }
        if let Err(e) = crate::mesh::fetch_blob(state, &repo, &digest, size).await {
            state
                .metrics
                .pull_through(crate::metrics::CacheResult::Failed);
            return Err(ApiError::new(
                OciErrorCode::BlobUnknown,
                format!(
                    "blob {digest} of {repo} is not here yet and its origin did not deliver it: {e}"
                ),
            ));
        }
        state
            .metrics
            .pull_through(crate::metrics::CacheResult::Miss);
    } else if let Some(mesh) = &state.mesh
        && mesh.origin_api(&repo).is_some()
    {
        state.metrics.pull_through(crate::metrics::CacheResult::Hit);
    }
    if let Some(mesh) = &state.mesh {
        mesh.served(&digest);
    }
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let ask = parse_range(range_header, size);
    if ask == RangeAsk::Unsatisfiable {
        let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        set(&mut resp, "content-range", format!("bytes */{size}"));
        return Ok(resp);
    }
    let (status, range) = match ask {
        RangeAsk::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        _ => (StatusCode::OK, None),
    };
    let body = if head {
        // Make sure the bytes are really there before saying so.
        if state.blobs.stat(&digest).await?.is_none() {
            return Err(unknown());
        }
        Body::empty()
    } else {
        let read = state
            .blobs
            .read(&digest, range)
            .await?
            .ok_or_else(unknown)?;
        Body::from_stream(read.stream)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let len = range.map(|r| r.len()).unwrap_or(size);
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    set(&mut resp, "content-type", "application/octet-stream");
    set(&mut resp, "accept-ranges", "bytes");
    set(&mut resp, "etag", format!("\"{digest}\""));
    set(&mut resp, "cache-control", "max-age=31536000");
    set_digest(&mut resp, &digest);
    if let Some(r) = range {
        set(
            &mut resp,
            "content-range",
            format!("bytes {}-{}/{size}", r.first, r.last),
        );
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let p = |f, l| RangeAsk::Part(ByteRange { first: f, last: l });
        assert_eq!(parse_range(None, 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), p(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), p(5, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), p(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), p(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), p(0, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-0"), 0), RangeAsk::Unsatisfiable);
    }
}
