//! The pod's router: every surface on one listener.

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};

use crate::state::AppState;
use crate::{admin, auth, health, oci};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/token", get(auth::token))
        .route("/v2", any(oci::route))
        .route("/v2/", any(oci::route))
        .route("/v2/{*path}", any(oci::route))
        .route("/api/v1/admin/gc", post(admin::gc))
        .route("/api/v1/admin/reindex", post(admin::reindex))
        .route("/api/v1/admin/audit", get(crate::audit::query))
        .route("/metrics", get(crate::metrics::metrics))
        .merge(crate::api::routes())
        .merge(crate::graphql::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::track,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

/// One log line per request: writes and failures at INFO, successful reads at DEBUG (a busy
/// pod serves thousands of reads a second).
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let read = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
    if status >= 500 {
        tracing::error!(%method, %path, status, ms, "request failed");
    } else if !read || (status >= 400 && status != 404) {
        tracing::info!(%method, %path, status, ms, "request");
    } else {
        tracing::debug!(%method, %path, status, ms, "request");
    }
    resp
}
