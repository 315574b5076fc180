//! `GET /v2/_catalog`: repositories, paginated with `n`/`last` and `Link`.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{next_link, pagination, query_pairs};
use crate::error::ApiResult;
use crate::state::AppState;

const DEFAULT_N: usize = 1000;
const MAX_N: usize = 10_000;

pub(crate) async fn get(state: &AppState, uri: &Uri) -> ApiResult<Response> {
    let pairs = query_pairs(uri)?;
    let (n, last) = pagination(&pairs, DEFAULT_N, MAX_N)?;
    let page = if n == 0 {
        agentry_store::Page {
            items: Vec::new(),
            more: false,
        }
    } else {
        state.meta.list_repositories(last.as_deref(), n).await?
    };
    let body = serde_json::json!({ "repositories": page.items });
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if page.more
        && let Some(l) = page.items.last()
    {
        next_link(&mut resp, "/v2/_catalog", n, l);
    }
    Ok(resp)
}
