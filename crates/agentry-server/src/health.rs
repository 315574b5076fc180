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
    let store_ok = state.meta.list_repositories(None, 1).await.is_ok();
    let ready = state.is_ready() && store_ok;
    let body = json!({
        "ready": ready,
        "checks": {
            "accepting": state.is_ready(),
            "metadata_store": if store_ok { "ok" } else { "failing" },
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
