//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the discovery API, generated from
//! the handlers' annotations and the types they answer with.

use axum::Json;
use utoipa::OpenApi;

use serde::Serialize;

use super::{agent_get, agents_match, agents_search, capabilities, trust_get};

/// RFC 9457 problem document (`application/problem+json`), as `crate::problem::Problem`
/// serialises it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemDoc {
    /// `about:blank`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request parameter or body field at fault.
    pub parameter: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "agentry discovery API",
        version = "1",
        description = "Find agents in an agentry registry pod by name, version range, capability, words and meaning."
    ),
    paths(
        agents_search::search,
        agent_get::get_agent,
        agents_match::match_agents,
        capabilities::capabilities,
        trust_get::trust,
    ),
    components(schemas(
        super::wire::SearchResponse,
        super::wire::SearchItem,
        agentry_search::FacetCount,
        agentry_search::MatchRequest,
        agentry_search::CapabilityRequirement,
        agentry_search::CapabilityTree,
        agentry_search::CapabilityNode,
        agent_get::AgentDetail,
        trust_get::TrustState,
        trust_get::TrustLocation,
        trust_get::SignatureRef,
        ProblemDoc,
    )),
    tags(
        (name = "discovery", description = "Search and lookup of agents"),
        (name = "trust", description = "Trust state of artifacts"),
    )
)]
pub struct ApiDoc;

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
