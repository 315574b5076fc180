//! Operator endpoints under `/api/v1/admin/` (behind authentication when it is enabled).
//!
//! `POST /api/v1/admin/gc?dry_run=true&grace_secs=3600`: garbage-collect unreferenced blobs
//! while the pod serves. The metadata database is held by the serving process, so an operator
//! collecting garbage on a live pod goes through here (`agentry gc --registry URL`).
//!
//! `POST /api/v1/admin/reindex?batch=256`: rebuild the discovery index from the stored records
//! while the pod serves ([`crate::reindex::run`], the loop `agentry reindex` runs offline).
//! Answers `{"indexed", "embedded", "seconds", "semantic"}`; 409 while another reindex runs,
//! 503 on a pod without a discovery index.

use std::time::{Duration, SystemTime};

use agentry_store::gc::{GcOptions, GcReport, collect};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcParams {
    #[serde(default)]
    pub dry_run: bool,
    /// Blobs written or linked within this many seconds are kept (default 3600).
    pub grace_secs: Option<u64>,
}

/// A GC report as JSON (shared with `agentry gc --data`).
#[derive(Debug, Serialize, Deserialize)]
pub struct GcSummary {
    pub dry_run: bool,
    pub examined: u64,
    pub removed: Vec<RemovedBlob>,
    pub bytes_freed: u64,
    pub kept: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RemovedBlob {
    pub digest: String,
    pub size: u64,
}

impl GcSummary {
    pub fn from_report(dry_run: bool, r: GcReport) -> GcSummary {
        GcSummary {
            dry_run,
            examined: r.examined,
            removed: r
                .removed
                .into_iter()
                .map(|(d, size)| RemovedBlob {
                    digest: d.to_string(),
                    size,
                })
                .collect(),
            bytes_freed: r.bytes_freed,
            kept: r.kept,
        }
    }
}

pub async fn gc(
    State(state): State<AppState>,
    params: Result<Query<GcParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => {
            return crate::problem::Problem::bad_request("query", e.body_text()).into_response();
        }
    };
    let opts = GcOptions {
        dry_run: params.dry_run,
        grace: Duration::from_secs(params.grace_secs.unwrap_or(3600)),
        now: SystemTime::now(),
    };
    match collect(&*state.blobs, &*state.meta, opts).await {
        Ok(report) => {
            let summary = GcSummary::from_report(params.dry_run, report);
            tracing::info!(
                dry_run = summary.dry_run,
                examined = summary.examined,
                removed = summary.removed.len(),
                bytes_freed = summary.bytes_freed,
                "garbage collection finished"
            );
            (StatusCode::OK, Json(summary)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "garbage collection failed");
            crate::problem::Problem::internal("garbage collection failed").into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReindexParams {
    /// Records per index commit (and per embedding run), at least 1 (default 256).
    pub batch: Option<usize>,
}

pub async fn reindex(
    State(state): State<AppState>,
    params: Result<Query<ReindexParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return Problem::bad_request("query", e.body_text()).into_response(),
    };
    let batch = params.batch.unwrap_or(256);
    if batch == 0 {
        return Problem::bad_request("batch", "batch must be at least 1").into_response();
    }
    let Some(index) = state.search.clone() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "this pod has no discovery index",
        )
        .into_response();
    };
    let Ok(_running) = state.reindexing.try_lock() else {
        return Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            "a reindex is already running on this pod",
        )
        .into_response();
    };
    match crate::reindex::run(
        &*state.meta,
        index.clone(),
        batch,
        Some(&state as &dyn crate::reindex::Judge),
        |_| {},
    )
    .await
    {
        Ok(done) => {
            tracing::info!(
                indexed = done.indexed,
                embedded = done.embedded,
                seconds = done.seconds,
                "online reindex finished"
            );
            let body = serde_json::json!({
                "indexed": done.indexed,
                "embedded": done.embedded,
                "seconds": done.seconds,
                "semantic": index.stats().semantic,
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "online reindex failed");
            Problem::internal(format!("reindex failed: {e}")).into_response()
        }
    }
}
