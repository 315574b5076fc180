//! `GET /api/v1/capabilities`: the OASF skill taxonomy with the number of agents under each
//! class (a category counts its sub-skills' agents).

use agentry_search::CapabilityTree;
use axum::Json;
use axum::extract::{RawQuery, State};

use super::ProblemResult;
use super::{blocking, index};
use crate::problem::Problem;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/capabilities",
    tag = "discovery",
    params(("taxonomy" = Option<String>, Query, description = "OASF taxonomy version: 1.1.0 (default) or 1.0.0")),
    responses(
        (status = 200, description = "Taxonomy tree with counts", body = CapabilityTree),
        (status = 400, description = "Unknown taxonomy version", body = super::openapi::ProblemDoc, content_type = "application/problem+json"),
    )
)]
pub async fn capabilities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ProblemResult<Json<CapabilityTree>> {
    let mut version: Option<String> = None;
    for (k, v) in crate::query_string::decode(raw.as_deref())? {
        match k.as_str() {
            "taxonomy" => version = Some(v),
            other => {
                return Err(Problem::bad_request(
                    other,
                    "unknown parameter (accepted: taxonomy)",
                ));
            }
        }
    }
    Ok(Json(tree(&state, version).await?))
}

/// The OASF taxonomy (`version`, default 1.1.0) with the number of agents under each class.
pub async fn tree(state: &AppState, version: Option<String>) -> ProblemResult<CapabilityTree> {
    let idx = index(state)?;
    blocking(move || idx.capabilities(version.as_deref()).map_err(Problem::from)).await
}
