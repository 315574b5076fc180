//! `GET /metrics`: the pod's figures in the Prometheus text format (OpenMetrics 1.0).
//!
//! Each pod has its own registry (`prometheus-client`), so two pods in one process — as in the
//! tests — never mix their counts. Request counts and latency are kept per route *template*
//! (`/v2/{name}/blobs/{digest}`, `/api/v1/agents`), never per raw path, so a client cannot
//! grow the series without bound. Gauges (index size, embedding queue, mesh members and lag,
//! subscribers) are read when scraped.

use std::borrow::Cow;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: Cow<'static, str>,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum CacheResult {
    Hit,
    Miss,
    Failed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub result: CacheResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// Every figure the pod keeps.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub duration: Family<RouteLabels, Histogram>,
    pub push_bytes: Counter,
    pub pull_bytes: Counter,
    pub pull_through: Family<CacheLabels, Counter>,
    pub refused: Counter,
    index_agents: Gauge,
    index_vectors_missing: Gauge,
    index_disk_bytes: Gauge,
    embed_queue: Gauge,
    mesh_members: Family<StateLabels, Gauge>,
    mesh_lag_events: Gauge,
    mesh_records: Gauge,
    subscribers: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s, doubling.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("agentry");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let duration = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer (until the response head), by method and route template",
            Unit::Seconds,
            duration.clone(),
        );
        let push_bytes = Counter::default();
        registry.register_with_unit(
            "push",
            "Blob bytes received by uploads",
            Unit::Bytes,
            push_bytes.clone(),
        );
        let pull_bytes = Counter::default();
        registry.register_with_unit(
            "pull",
            "Blob and manifest bytes served",
            Unit::Bytes,
            pull_bytes.clone(),
        );
        let pull_through = Family::<CacheLabels, Counter>::default();
        registry.register(
            "mesh_pull_through",
            "Blob GETs of replicated agents: hit (bytes here), miss (fetched from the origin), failed",
            pull_through.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "auth_refused",
            "Requests refused for missing or wrong credentials",
            refused.clone(),
        );
        let index_agents = Gauge::default();
        registry.register(
            "index_agents",
            "Agent versions in the discovery index",
            index_agents.clone(),
        );
        let index_vectors_missing = Gauge::default();
        registry.register(
            "index_vectors_missing",
            "Indexed agents without an embedding (agentry reindex adds them)",
            index_vectors_missing.clone(),
        );
        let index_disk_bytes = Gauge::default();
        registry.register_with_unit(
            "index_disk",
            "Size of the discovery index on disk",
            Unit::Bytes,
            index_disk_bytes.clone(),
        );
        let embed_queue = Gauge::default();
        registry.register(
            "index_queue",
            "Records waiting to be embedded and indexed",
            embed_queue.clone(),
        );
        let mesh_members = Family::<StateLabels, Gauge>::default();
        registry.register(
            "mesh_members",
            "Other mesh members by state (alive, suspect, down)",
            mesh_members.clone(),
        );
        let mesh_lag_events = Gauge::default();
        registry.register(
            "mesh_lag_events",
            "Largest number of events this pod holds that a peer did not, by its last summary",
            mesh_lag_events.clone(),
        );
        let mesh_records = Gauge::default();
        registry.register(
            "mesh_records",
            "Agent versions the mesh log holds (tombstones included)",
            mesh_records.clone(),
        );
        let subscribers = Gauge::default();
        registry.register(
            "graphql_subscribers",
            "Live readers of the event feed (GraphQL subscriptions)",
            subscribers.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            push_bytes,
            pull_bytes,
            pull_through,
            refused,
            index_agents,
            index_vectors_missing,
            index_disk_bytes,
            embed_queue,
            mesh_members,
            mesh_lag_events,
            mesh_records,
            subscribers,
        }
    }
}

impl Metrics {
    pub fn pull_through(&self, result: CacheResult) {
        self.pull_through
            .get_or_create(&CacheLabels { result })
            .inc();
    }
}

/// The route template of a request: axum's matched route, with the OCI API (one catch-all
/// route) told apart by operation.
pub fn route_of(matched: Option<&str>, path: &str) -> Cow<'static, str> {
    match oci_route(path) {
        Some(r) => Cow::Borrowed(r),
        // A template the router declares: a small, fixed set.
        None => matched.map_or(Cow::Borrowed("unmatched"), |m| Cow::Owned(m.to_owned())),
    }
}

fn oci_route(path: &str) -> Option<&'static str> {
    if let Some(rest) = path.strip_prefix("/v2/") {
        if rest.is_empty() {
            return Some("/v2/");
        }
        if rest == "_catalog" {
            return Some("/v2/_catalog");
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let n = parts.len();
        if n >= 3 && parts[n - 2] == "manifests" {
            return Some("/v2/{name}/manifests/{reference}");
        }
        if n >= 3 && parts[n - 2] == "tags" && parts[n - 1] == "list" {
            return Some("/v2/{name}/tags/list");
        }
        if n >= 3 && parts[n - 2] == "referrers" {
            return Some("/v2/{name}/referrers/{digest}");
        }
        if n >= 3 && parts[n - 1].is_empty() && parts[n - 2] == "uploads" {
            return Some("/v2/{name}/blobs/uploads/");
        }
        if n >= 3 && parts[n - 2] == "uploads" && parts[n - 3] == "blobs" {
            return Some("/v2/{name}/blobs/uploads/{session}");
        }
        if n >= 3 && parts[n - 2] == "blobs" {
            return Some("/v2/{name}/blobs/{digest}");
        }
        return Some("/v2/other");
    }
    if path == "/v2" {
        return Some("/v2/");
    }
    None
}

/// Count and time every request, and the bytes of every pull.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let route = route_of(matched.as_deref(), &path);
    let status = resp.status();
    let m = &state.metrics;
    let method_label = match method {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE => method.as_str().to_owned(),
        _ => "other".to_owned(),
    };
    m.requests
        .get_or_create(&RequestLabels {
            method: method_label.clone(),
            route: route.clone(),
            status: status.as_u16(),
        })
        .inc();
    m.duration
        .get_or_create(&RouteLabels {
            method: method_label,
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    if method == Method::GET
        && (status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT)
        && (route == "/v2/{name}/blobs/{digest}" || route == "/v2/{name}/manifests/{reference}")
        && let Some(len) = resp
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    {
        m.pull_bytes.inc_by(len);
    }
    if status == StatusCode::UNAUTHORIZED {
        m.refused.inc();
    }
    resp
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    if let Some(idx) = state.search.clone()
        && let Ok(stats) = tokio::task::spawn_blocking(move || idx.stats()).await
    {
        m.index_agents.set(stats.agents as i64);
        m.index_vectors_missing.set(stats.vectors_missing as i64);
        m.index_disk_bytes.set(stats.disk_bytes as i64);
    }
    if let Some(feed) = &state.index_feed {
        m.embed_queue.set(feed.queued() as i64);
    }
    if let Some(mesh) = &state.mesh {
        let peers = tokio::time::timeout(Duration::from_secs(1), mesh.handle.peers())
            .await
            .unwrap_or_default();
        for s in ["alive", "suspect", "down"] {
            let n = peers.iter().filter(|p| p.state == s).count();
            m.mesh_members
                .get_or_create(&StateLabels {
                    state: s.to_owned(),
                })
                .set(n as i64);
        }
        let lag = peers.iter().map(|p| p.lag_events).max().unwrap_or(0);
        m.mesh_lag_events.set(lag as i64);
        let records = tokio::time::timeout(Duration::from_secs(1), mesh.handle.records())
            .await
            .map(|r| r.len())
            .unwrap_or(0);
        m.mesh_records.set(records as i64);
    }
    m.subscribers.set(state.events.subscribers() as i64);
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &m.registry) {
        tracing::error!(error = %e, "encoding metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn oci_paths_become_templates() {
        let cases = [
            ("/v2/", "/v2/"),
            ("/v2/_catalog", "/v2/_catalog"),
            (
                "/v2/acme/x/manifests/1.0.0",
                "/v2/{name}/manifests/{reference}",
            ),
            ("/v2/a/b/c/blobs/sha256:ab", "/v2/{name}/blobs/{digest}"),
            ("/v2/a/b/blobs/uploads/", "/v2/{name}/blobs/uploads/"),
            (
                "/v2/a/b/blobs/uploads/0b5e-uuid",
                "/v2/{name}/blobs/uploads/{session}",
            ),
            ("/v2/a/b/tags/list", "/v2/{name}/tags/list"),
            (
                "/v2/a/b/referrers/sha256:ab",
                "/v2/{name}/referrers/{digest}",
            ),
            ("/v2/weird", "/v2/other"),
        ];
        for (path, want) in cases {
            assert_eq!(route_of(Some("/v2/{*path}"), path), want, "{path}");
        }
        assert_eq!(
            route_of(Some("/api/v1/agents"), "/api/v1/agents"),
            "/api/v1/agents"
        );
        assert_eq!(route_of(None, "/nothing/here"), "unmatched");
    }

    #[test]
    fn encodes_counts_per_template() {
        let m = Metrics::default();
        m.requests
            .get_or_create(&RequestLabels {
                method: "GET".into(),
                route: "/api/v1/agents".into(),
                status: 200,
            })
            .inc();
        m.push_bytes.inc_by(42);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &m.registry).unwrap();
        assert!(
            out.contains(
                r#"agentry_http_requests_total{method="GET",route="/api/v1/agents",status="200"} 1"#
            ),
            "{out}"
        );
        assert!(out.contains("agentry_push_bytes_total 42"), "{out}");
        assert!(out.ends_with("# EOF\n"));
    }
}
