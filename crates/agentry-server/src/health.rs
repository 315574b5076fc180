//! `/health` (liveness: the process answers) and `/ready` (readiness: stores open, not
//! shutting down; component states listed).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn ready(State(state): State<AppState>) -> Response {
    // Bounded: a metadata server that stopped answering must make the pod unready, not
    // hang the probe (PostgreSQL's own ping is cached for about a second).
    let store_ok = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(3), state.meta.ping()).await,
        Ok(Ok(()))
    );
    let ready = state.is_ready() && store_ok;
    // Semantic search is reported, not required: a pod without the model still serves
    // every other query kind.
    let semantic = state
        .search
        .as_ref()
        .map(|s| serde_json::to_value(s.semantic_status()).unwrap_or_default());
    let body = json!({
        "ready": ready,
        "checks": {
            "accepting": state.is_ready(),
            "metadata_store": if store_ok { "ok" } else { "failing" },
            "discovery_index": if state.search.is_some() { "ok" } else { "absent" },
            "semantic_search": semantic,
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
