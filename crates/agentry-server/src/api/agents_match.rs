//! `POST /api/v1/agents/match`: structured requirements in, ranked agents out, each with the
//! reasons it matched.

use agentry_search::MatchRequest;

use super::wire::SearchResponse;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use super::ProblemResult;
use super::{blocking, index};
use crate::problem::Problem;
use crate::state::AppState;

/// Largest match request body accepted.
const MAX_BODY: usize = 64 * 1024;

#[utoipa::path(
    post,
    path = "/api/v1/agents/match",
    tag = "discovery",
    request_body = MatchRequest,
    responses(
        (status = 200, description = "Ranked agents with `why`", body = SearchResponse),
        (status = 400, description = "Malformed requirements", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn match_agents(
    State(state): State<AppState>,
    body: Bytes,
) -> ProblemResult<Json<SearchResponse>> {
    if body.len() > MAX_BODY {
        return Err(Problem::bad_request(
            "body",
            format!("larger than {MAX_BODY} bytes"),
        ));
    }
    let req: MatchRequest = serde_json::from_slice(&body).map_err(|e| {
        // serde_json names unknown fields and type errors with their position; keep the field.
        let msg = e.to_string();
        let field = msg
            .split('`')
            .nth(1)
            .filter(|f| !f.is_empty() && f.len() < 40)
            .unwrap_or("body")
            .to_owned();
        Problem::bad_request(&field, msg)
    })?;
    let idx = index(&state)?;
    let page = blocking(move || idx.match_agents(&req).map_err(Problem::from)).await?;
    Ok(Json(page.into()))
}
