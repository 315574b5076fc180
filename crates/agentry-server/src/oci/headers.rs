//! Small helpers shared by the OCI handlers: headers, query strings, pagination links.

use agentry_oci::OciErrorCode;
use agentry_types::{Digest, RepoName};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;

use crate::error::{ApiError, ApiResult};

pub(crate) const DIGEST_HEADER: &str = "Docker-Content-Digest";
pub(crate) const UPLOAD_UUID_HEADER: &str = "Docker-Upload-UUID";

/// Insert a header whose value we built ourselves from validated parts.
pub(crate) fn set(resp: &mut Response, name: &'static str, value: impl AsRef<str>) {
    if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
        resp.headers_mut().insert(name, v);
    }
}

pub(crate) fn set_digest(resp: &mut Response, digest: &Digest) {
    set(resp, DIGEST_HEADER, digest.to_string());
}

pub(crate) fn upload_location(repo: &RepoName, id: &impl std::fmt::Display) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

pub(crate) fn blob_location(repo: &RepoName, digest: &Digest) -> String {
    format!("/v2/{repo}/blobs/{digest}")
}

/// The `Range` header value the upload endpoints report: `0-<last byte>`; `0-0` for an empty
/// upload (what distribution and the conformance suite expect).
pub(crate) fn upload_range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// The request's query parameters, decoded by the server's one rule
/// ([`crate::query_string`]). Unknown parameters are ignored, as HTTP APIs customarily do. A
/// malformed one is a 400 naming it, with the OCI code of what it carries (`NAME_INVALID` for
/// names and for what has no code of its own, such as `artifactType`).
pub(crate) fn query_pairs(uri: &Uri) -> ApiResult<Vec<(String, String)>> {
    crate::query_string::decode(uri.query()).map_err(|e| {
        let code = match e.parameter.as_str() {
            "digest" | "mount" => OciErrorCode::DigestInvalid,
            "n" => OciErrorCode::PaginationNumberInvalid,
            _ => OciErrorCode::NameInvalid,
        };
        ApiError::new(
            code,
            format!("query parameter {:?} {}", e.parameter, e.reason),
        )
    })
}

pub(crate) fn query_get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Percent-encode a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parse the `n` and `last` pagination parameters. `n` defaults to `default_n` and is capped
/// at `max_n`.
pub(crate) fn pagination(
    pairs: &[(String, String)],
    default_n: usize,
    max_n: usize,
) -> ApiResult<(usize, Option<String>)> {
    let n = match query_get(pairs, "n") {
        None => default_n,
        Some(v) if v.is_empty() => default_n,
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::new(
                OciErrorCode::PaginationNumberInvalid,
                format!("query parameter n must be a non-negative integer, got {v:?}"),
            )
        })?,
    };
    let last = query_get(pairs, "last").filter(|l| !l.is_empty());
    Ok((n.min(max_n), last))
}

/// A `Link: <…>; rel="next"` header for the next page.
pub(crate) fn next_link(resp: &mut Response, path: &str, n: usize, last: &str) {
    set(
        resp,
        "Link",
        format!("<{path}?n={n}&last={}>; rel=\"next\"", encode(last)),
    );
}

/// The request's `Content-Length`, if present and numeric.
pub(crate) fn content_length(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::new(OciErrorCode::SizeInvalid, "Content-Length is not a number")
            }),
    }
}
