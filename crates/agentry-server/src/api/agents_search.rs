//! `GET /api/v1/agents`: search with any combination of exact, version, capability, full-text,
//! semantic and hybrid queries, filters, facets and a cursor.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::ProblemResult;
use super::wire::{SearchResponse, search_query};
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
        ("scope" = Option<String>, Query, description = "local (default): this pod's index, which holds what the mesh replicated; federated: also ask every live peer in parallel, each with the pod's deadline, merged by digest, with the peers that did not answer listed in `federation.failed`; switchboard: every configured switchboard source, in parallel (q and limit only; answers carry `failed`)"),
    ),
    responses(
        (status = 200, description = "A page of agents", body = SearchResponse),
        (status = 400, description = "A parameter is invalid", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "Semantic search unavailable, or the query timed out", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    RawQuery(raw): RawQuery,
) -> ProblemResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let caller = caller.map_or_else(crate::auth::Caller::anonymous, |c| c.0);
    Ok(match answer(&state, &caller, raw.as_deref()).await? {
        SearchAnswer::Page(page) => Json(page).into_response(),
        SearchAnswer::Switchboard(v) => Json(v).into_response(),
    })
}

/// What a search answers: a page of the pod's (or the mesh's) agents, or the switchboard's
/// merged answer.
#[derive(Debug)]
pub enum SearchAnswer {
    Page(SearchResponse),
    Switchboard(serde_json::Value),
}

/// The search behind `GET /api/v1/agents`, for every surface that offers it (REST, GraphQL,
/// the web UI): `raw` is the query string, parsed and refused exactly as the REST API does.
pub async fn answer(
    state: &AppState,
    caller: &crate::auth::Caller,
    raw: Option<&str>,
) -> ProblemResult<SearchAnswer> {
    let _ = caller;
    let (scope, rest) = split_scope(raw)?;
    if scope == Scope::Switchboard {
        let pairs = crate::query_string::decode(rest.as_deref())?;
        return Ok(SearchAnswer::Switchboard(
            super::switchboard::search_scope(state, &pairs).await?,
        ));
    }
    let query = search_query(rest.as_deref())?.with_timeout(QUERY_TIMEOUT);
    let limit = query.limit;
    let idx = index(state)?;
    let page: SearchResponse = blocking(move || idx.search(&query).map_err(Problem::from))
        .await?
        .into();
    if scope == Scope::Local {
        return Ok(SearchAnswer::Page(page));
    }
    let Some(mesh) = state.mesh.clone() else {
        return Err(Problem::bad_request(
            "scope",
            "this pod is not in a mesh (start it with --mesh-listen); use scope=local",
        ));
    };
    let fed =
        crate::mesh::federated_search(&mesh, page, rest.as_deref().unwrap_or(""), limit).await;
    Ok(SearchAnswer::Page(fed))
}

/// Where a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// This pod's index (which holds what the mesh replicated).
    Local,
    /// This pod and every live mesh peer.
    Federated,
    /// The configured switchboard sources.
    Switchboard,
}

/// Take `scope` out of the query string: where to search, and the rest (as received, for
/// the peers).
fn split_scope(raw: Option<&str>) -> Result<(Scope, Option<String>), Problem> {
    let pairs = crate::query_string::decode(raw)?;
    let mut scope = Scope::Local;
    for (k, v) in &pairs {
        if k == "scope" {
            scope = match v.as_str() {
                "local" => Scope::Local,
                "federated" => Scope::Federated,
                "switchboard" => Scope::Switchboard,
                other => {
                    return Err(Problem::bad_request(
                        "scope",
                        format!("{other:?}: expected local, federated or switchboard"),
                    ));
                }
            };
        }
    }
    let rest = raw.map(|r| {
        r.split('&')
            .filter(|p| p.split('=').next() != Some("scope"))
            .collect::<Vec<_>>()
            .join("&")
    });
    Ok((scope, rest))
}
