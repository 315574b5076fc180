//! `GET /api/v1/agents`: search with any combination of exact, version, capability, full-text,
//! semantic and hybrid queries, filters, facets and a cursor.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::ProblemResult;
use super::wire::SearchResponse;
use super::{QUERY_TIMEOUT, blocking, index};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/agents",
    tag = "discovery",
    params(
        ("q" = Option<String>, Query, description = "Full-text query (BM25 over name, description, skills; prefix and typo tolerant)"),
        ("semantic" = Option<String>, Query, description = "Natural-language query answered by nearest neighbours of its embedding"),
        ("mode" = Option<String>, Query, description = "text | semantic | hybrid (reciprocal-rank fusion of full-text and semantic)"),
        ("name" = Option<String>, Query, description = "Exact namespace/name, optionally @version, @^range or @latest"),
        ("version" = Option<String>, Query, description = "Version, semver range or `latest` for `name`"),
        ("digest" = Option<String>, Query, description = "Manifest digest"),
        ("cid" = Option<String>, Query, description = "AGNTCY OASF record CID"),
        ("capability" = Option<String>, Query, description = "Skill name, OASF taxonomy path or id; repeatable or comma-separated; a category finds its sub-skills"),
        ("capability_match" = Option<String>, Query, description = "all (default) | any"),
        ("protocol" = Option<String>, Query, description = "a2a, mcp, rest, grpc…; any of them"),
        ("min_trust" = Option<String>, Query, description = "none | basic | standard | verified (none admits every agent; basic excludes those nothing was proven for)"),
        ("namespace" = Option<String>, Query, description = "Namespace, exact"),
        ("publisher" = Option<String>, Query, description = "Publisher organisation or domain"),
        ("label" = Option<String>, Query, description = "key=value; repeatable, all must match"),
        ("os" = Option<String>, Query, description = "Runtime OS"),
        ("arch" = Option<String>, Query, description = "Runtime architecture"),
        ("gpu" = Option<bool>, Query, description = "true: needs a GPU; false: runs without"),
        ("max_input_tokens" = Option<u64>, Query, description = "Only agents whose Formula-2 context budget fits this window"),
        ("prerelease" = Option<bool>, Query, description = "Include pre-release versions"),
        ("facets" = Option<bool>, Query, description = "Count matches per capability, protocol, tier and namespace"),
        ("limit" = Option<usize>, Query, description = "Page size, 1..=100 (larger values are capped)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("scope" = Option<String>, Query, description = "local (default): this pod's index; switchboard: every configured switchboard source, in parallel (q and limit only; answers carry `failed`)"),
    ),
    responses(
        (status = 200, description = "A page of agents", body = SearchResponse),
        (status = 400, description = "A parameter is invalid", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Semantic search unavailable, or the query timed out", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ProblemResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let pairs = crate::query_string::decode(raw.as_deref())?;
    if let Some((_, scope)) = pairs.iter().find(|(k, _)| k == "scope") {
        let rest: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "scope")
            .cloned()
            .collect();
        return match scope.as_str() {
            "switchboard" => {
                Ok(Json(super::switchboard::search_scope(&state, &rest).await?).into_response())
            }
            "local" => Ok(Json(local(&state, &rest).await?).into_response()),
            _ => Err(Problem::bad_request(
                "scope",
                "expected local or switchboard",
            )),
        };
    }
    Ok(Json(local(&state, &pairs).await?).into_response())
}

async fn local(state: &AppState, pairs: &[(String, String)]) -> ProblemResult<SearchResponse> {
    let query = super::wire::query_from_pairs(pairs)?.with_timeout(QUERY_TIMEOUT);
    let idx = index(state)?;
    let page = blocking(move || idx.search(&query).map_err(Problem::from)).await?;
    Ok(page.into())
}
