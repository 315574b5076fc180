//! `GET /v2/<name>/tags/list`: tags in lexical order, paginated with `n`/`last` and `Link`.

use agentry_oci::OciErrorCode;
use agentry_types::RepoName;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{next_link, pagination, query_pairs};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const DEFAULT_N: usize = 1000;
const MAX_N: usize = 10_000;

pub(crate) async fn get(state: &AppState, repo: RepoName, uri: &Uri) -> ApiResult<Response> {
    let pairs = query_pairs(uri)?;
    let (n, last) = pagination(&pairs, DEFAULT_N, MAX_N)?;
    // Ask for at least one so an unknown repository is told apart from n=0.
    let page = state
        .meta
        .list_tags(&repo, last.as_deref(), n.max(1))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                OciErrorCode::NameUnknown,
                format!("repository {repo} is not known"),
            )
        })?;
    let (tags, more) = if n == 0 {
        (Vec::new(), false)
    } else {
        (page.items, page.more)
    };
    let body = serde_json::json!({ "name": repo.as_str(), "tags": tags });
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if more && let Some(l) = tags.last() {
        next_link(&mut resp, &format!("/v2/{repo}/tags/list"), n, l);
    }
    Ok(resp)
}
