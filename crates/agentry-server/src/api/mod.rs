//! The discovery API, `/api/v1/`: one file per operation.
//!
//! | operation | file |
//! |---|---|
//! | `GET /api/v1/agents` | [`agents_search`] |
//! | `GET /api/v1/agents/{namespace}/{name}[/{version}\|@{range}]` | [`agent_get`] |
//! | `POST /api/v1/agents/match` | [`agents_match`] |
//! | `GET /api/v1/capabilities` | [`capabilities`] |
//! | `GET /api/v1/trust/{digest}` | [`trust_get`] |
//! | `GET /api/v1/openapi.json` | [`openapi`] |
//! | `GET /api/v1/mesh/status`, `GET /api/v1/mesh/peers` | [`mesh`] |
//!
//! Queries run on the blocking pool with a deadline ([`QUERY_TIMEOUT`]); bad input answers 400
//! `application/problem+json` naming the parameter ([`problem`]).

pub mod agent_get;
pub mod agents_match;
pub mod agents_search;
pub mod capabilities;
pub mod mesh;
pub mod openapi;
pub mod switchboard;
pub mod trust_get;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use agentry_search::SearchIndex;
use axum::Router;
use axum::routing::{get, post};

use agentry_search::{ParamError, SearchError};

use crate::problem::Problem;
use crate::state::AppState;

/// Handler results of the discovery API.
pub type ProblemResult<T> = Result<T, Problem>;

impl From<ParamError> for Problem {
    fn from(e: ParamError) -> Problem {
        Problem::bad_request(&e.param, e.message)
    }
}

impl From<SearchError> for Problem {
    fn from(e: SearchError) -> Problem {
        use axum::http::StatusCode;
        match e {
            SearchError::Param(p) => p.into(),
            SearchError::SemanticUnavailable(reason) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Semantic search unavailable",
                format!("semantic search unavailable: {reason}"),
            ),
            SearchError::Timeout(ms) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Query timed out",
                format!("the query did not finish within {ms} ms; narrow it or retry"),
            ),
            other => {
                tracing::error!(error = %other, "search failed");
                Problem::internal("the search failed; see the pod's log")
            }
        }
    }
}

/// Longest a discovery query may run before it answers 503 `query-timeout`.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/agents", get(agents_search::search))
        .route("/api/v1/agents/match", post(agents_match::match_agents))
        .route("/api/v1/agents/{*path}", get(agent_get::get_agent))
        .route("/api/v1/capabilities", get(capabilities::capabilities))
        .route("/api/v1/trust/{digest}", get(trust_get::trust))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/mesh/status", get(mesh::status))
        .route("/api/v1/mesh/peers", get(mesh::peers))
        .merge(switchboard::routes())
}

/// The pod's discovery index, or 503 when it is not open.
pub(crate) fn index(state: &AppState) -> ProblemResult<Arc<SearchIndex>> {
    state.search.clone().ok_or_else(|| {
        Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "Discovery index unavailable",
            "this pod has no discovery index open",
        )
    })
}

/// Run CPU-bound index work off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ProblemResult<T> + Send + 'static,
) -> ProblemResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "discovery task failed");
        Problem::internal("the server failed to answer; see its log")
    })?
}
