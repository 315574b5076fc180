//! `/graphql`: the discovery API as GraphQL, with subscriptions over WebSocket
//! (`graphql-transport-ws`, and the older `graphql-ws`).
//!
//! Queries are answered by the REST handlers themselves ([`crate::api`]): a resolver builds the
//! same request, calls the handler and reads its answer, so GraphQL and REST cannot drift
//! apart in what they accept, find or refuse (a REST 400 becomes a GraphQL error with the same
//! `parameter`). Subscriptions read the pod's live feed ([`crate::events`]).
//!
//! Limits: depth [`MAX_DEPTH`], complexity [`MAX_COMPLEXITY`] (a list field costs its `limit`
//! times what is asked of each item), body [`MAX_BODY`]. A request that fails before any field
//! runs (unparseable, invalid, over a limit) answers 400; field errors answer 200 with
//! `errors`, as GraphQL over HTTP has it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use agentry_types::TrustTier;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{
    Context, EmptyMutation, Enum, ErrorExtensions, Json, Object, Schema, SimpleObject, Subscription,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{
    FromRequest, FromRequestParts, Path, RawQuery, Request, State, WebSocketUpgrade,
};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::events::{AgentEvent as FeedAgentEvent, Change, MeshEvent as FeedMeshEvent, PodEvent};
use crate::state::AppState;

/// Deepest selection accepted.
pub const MAX_DEPTH: usize = 12;
/// Most work one request may ask for (each field 1, a list field its `limit` × its items').
pub const MAX_COMPLEXITY: usize = 5_000;
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;

pub type AgentrySchema = Schema<QueryRoot, EmptyMutation, SubscriptionRoot>;

/// The schema (built once; the pod's state is passed with each request).
pub fn schema() -> &'static AgentrySchema {
    static SCHEMA: OnceLock<AgentrySchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(QueryRoot, EmptyMutation, SubscriptionRoot)
            .limit_depth(MAX_DEPTH)
            .limit_complexity(MAX_COMPLEXITY)
            .limit_recursive_depth(32)
            .limit_directives(8)
            .finish()
    })
}

/// The schema in GraphQL SDL (`agentry graphql-schema`, docs).
pub fn sdl() -> String {
    schema().sdl()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
}

async fn post_graphql(State(state): State<AppState>, req: Request) -> Response {
    match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(req, &())
        .await
    {
        Ok(r) => execute(state, r.into_inner()).await,
        Err(e) => bad_request(&e.0.to_string()),
    }
}

/// GET: a WebSocket upgrade starts a subscription session; otherwise the query is in the
/// query string (queries only: there are no mutations).
async fn get_graphql(State(state): State<AppState>, req: Request) -> Response {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        let (mut parts, _) = req.into_parts();
        let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
            Ok(p) => p,
            Err(_) => {
                return bad_request(
                    "sec-websocket-protocol: expected graphql-transport-ws or graphql-ws",
                );
            }
        };
        let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => ws,
            Err(e) => return bad_request(&format!("websocket upgrade: {e}")),
        };
        return ws
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |stream| {
                let mut data = async_graphql::Data::default();
                data.insert(state);
                GraphQLWebSocket::new(stream, schema().clone(), protocol)
                    .with_data(data)
                    .serve()
            })
            .into_response();
    }
    if req.uri().query().is_none_or(str::is_empty) {
        return bad_request(
            "query: missing; POST a JSON body {\"query\": …}, GET /graphql?query=…, or open a WebSocket (graphql-transport-ws) for subscriptions",
        );
    }
    match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(req, &())
        .await
    {
        Ok(r) => execute(state, r.into_inner()).await,
        Err(e) => bad_request(&e.0.to_string()),
    }
}

async fn execute(state: AppState, req: async_graphql::Request) -> Response {
    let resp = schema().execute(req.data(state)).await;
    // Nothing ran: the request itself was wrong (syntax, validation, limits).
    let status = if resp.data == async_graphql::Value::Null && resp.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    if status == StatusCode::BAD_REQUEST {
        tracing::info!(errors = ?resp.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), "graphql request refused");
    }
    (status, GraphQLResponse::from(resp)).into_response()
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message }] });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Read a REST handler's answer: its JSON on 2xx, a GraphQL error carrying its problem
/// otherwise.
async fn rest<T: DeserializeOwned>(resp: Response) -> async_graphql::Result<T> {
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
        .await
        .map_err(|e| async_graphql::Error::new(format!("reading the answer failed: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| async_graphql::Error::new(format!("unexpected answer shape: {e}")));
    }
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let detail = problem
        .get("detail")
        .and_then(|d| d.as_str())
        .unwrap_or("request failed")
        .to_owned();
    let parameter = problem
        .get("parameter")
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    let message = match &parameter {
        Some(p) => format!("{p}: {detail}"),
        None => detail,
    };
    Err(async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("status", status.as_u16());
        if let Some(p) = &parameter {
            e.set("parameter", p.as_str());
        }
    }))
}

/// Where `agents` looks (the REST `scope`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Scope {
    /// This pod's index (which holds what the mesh replicated).
    Local,
    /// This pod and every live mesh peer, in parallel, merged.
    Federated,
    /// The configured switchboard sources.
    Switchboard,
}

/// The REST `mode`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Mode {
    Text,
    Semantic,
    Hybrid,
}

/// One agent in a result list (`GET /api/v1/agents` `items[]`).
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct AgentSummary {
    /// `namespace/name@digest`, or `@prefix:id` for a switchboard source's agent.
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub version: String,
    /// Manifest digest (absent for switchboard results, which are not stored here).
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub protocols: Vec<String>,
    /// `none`, `basic`, `standard` or `verified`.
    #[serde(default)]
    pub trust_tier: Option<String>,
    #[serde(default)]
    pub score: Option<f64>,
    /// The pod the record came from.
    #[serde(default)]
    pub source_pod: Option<String>,
    /// The switchboard source (scope SWITCHBOARD).
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub remote_url: Option<String>,
    /// Why the agent matched (match requests).
    #[serde(default)]
    pub why: Vec<String>,
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Counts for one field over every match.
#[derive(SimpleObject, Debug, Clone)]
pub struct Facet {
    /// `capability`, `protocol`, `tier` or `namespace`.
    pub field: String,
    pub values: Vec<FacetCount>,
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct PeerAnswer {
    pub pod: String,
    pub items: u64,
    pub ms: u64,
}

/// A pod or source that did not answer.
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct Failure {
    /// The pod (federated) or switchboard source.
    #[serde(alias = "source")]
    pub pod: String,
    pub error: String,
}

/// How a federated answer was made.
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct Federation {
    pub pod: String,
    pub answered: Vec<PeerAnswer>,
    pub failed: Vec<Failure>,
    #[serde(default)]
    pub skipped: Vec<String>,
    pub partial: bool,
}

/// A page of agents.
#[derive(SimpleObject, Debug, Clone)]
pub struct AgentPage {
    pub items: Vec<AgentSummary>,
    /// Pass back as `cursor`; null on the last page.
    pub next_cursor: Option<String>,
    /// With `facets: true`.
    pub facets: Vec<Facet>,
    /// With scope FEDERATED: who answered and who did not.
    pub federation: Option<Federation>,
    /// With scope SWITCHBOARD: the sources that failed.
    pub failed: Vec<Failure>,
}

#[derive(Deserialize)]
struct RestPage {
    items: Vec<AgentSummary>,
    next_cursor: Option<String>,
    #[serde(default)]
    facets: BTreeMap<String, Vec<FacetCount>>,
    #[serde(default)]
    federation: Option<Federation>,
    #[serde(default)]
    failed: Vec<Failure>,
}

/// One agent version with its record (`GET /api/v1/agents/{namespace}/{name}[/{version}]`).
#[derive(SimpleObject, Deserialize, Debug, Clone)]
#[graphql(complex)]
pub struct AgentDetail {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub version: String,
    pub digest: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub protocols: Vec<String>,
    pub trust_tier: String,
    pub source_pod: String,
    /// Every indexed version of this name, highest first.
    pub versions: Vec<String>,
    /// The canonical record, as stored.
    pub record: Option<Json<serde_json::Value>>,
}

#[async_graphql::ComplexObject]
impl AgentDetail {
    /// The trust state of this version, check by check.
    async fn trust(&self, ctx: &Context<'_>) -> async_graphql::Result<TrustState> {
        trust_of(ctx, &self.digest).await
    }
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct SignatureRef {
    pub repository: String,
    pub digest: String,
    pub artifact_type: String,
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct TrustCheck {
    pub name: String,
    /// The lowest tier that needs this check.
    pub tier: String,
    /// `pass`, `fail` or `unknown`.
    pub status: String,
    pub reason: String,
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct TrustLocation {
    pub repository: String,
    pub version: String,
    pub trust_tier: String,
}

/// The trust state of one digest (`GET /api/v1/trust/{digest}`).
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct TrustState {
    pub digest: String,
    pub digest_verified: bool,
    pub signed: bool,
    pub signatures: Vec<SignatureRef>,
    pub tier: String,
    pub domain: Option<String>,
    pub checks: Vec<TrustCheck>,
    pub policy: Option<Json<serde_json::Value>>,
    pub signed_by: Vec<String>,
    pub locations: Vec<TrustLocation>,
}

/// One class of the OASF taxonomy with the number of agents at or below it.
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct CapabilityNode {
    pub id: u64,
    /// Slash path, usable as `capability`.
    pub name: String,
    pub caption: String,
    pub description: String,
    pub count: u64,
    #[serde(default)]
    pub children: Vec<CapabilityNode>,
}

#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct CapabilityTree {
    pub taxonomy: String,
    pub categories: Vec<CapabilityNode>,
    /// Skill names found in records but not in the taxonomy.
    pub other: Vec<FacetCount>,
}

/// A mesh member as this pod sees it.
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct MeshPeer {
    pub pod: String,
    pub gossip: String,
    pub api: String,
    /// `alive`, `suspect` or `down`.
    pub state: String,
    pub incarnation: u32,
    pub last_contact_ms_ago: Option<u64>,
    /// Events this pod holds that the peer did not, by its last summary.
    pub lag_events: u64,
}

/// A configured switchboard source.
#[derive(SimpleObject, Deserialize, Debug, Clone)]
pub struct Registry {
    pub prefix: String,
    pub kind: String,
    pub urls: Vec<String>,
    pub timeout_ms: u64,
    pub health: Json<serde_json::Value>,
}

pub struct QueryRoot;

fn app<'a>(ctx: &Context<'a>) -> &'a AppState {
    // Every request is given the state by `execute` or the WebSocket session.
    ctx.data_unchecked::<AppState>()
}

async fn trust_of(ctx: &Context<'_>, digest: &str) -> async_graphql::Result<TrustState> {
    let state = app(ctx).clone();
    let resp = crate::api::trust_get::trust(State(state), Path(digest.to_owned()))
        .await
        .into_response();
    rest(resp).await
}

#[Object]
impl QueryRoot {
    /// Search, as `GET /api/v1/agents` with the same arguments (lists for the repeatable
    /// ones) and the same answers and errors.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Full-text query")] q: Option<String>,
        #[graphql(desc = "Natural-language query answered by meaning")] semantic: Option<String>,
        mode: Option<Mode>,
        #[graphql(desc = "Exact namespace/name, optionally @version or @range")] name: Option<
            String,
        >,
        version: Option<String>,
        digest: Option<String>,
        cid: Option<String>,
        #[graphql(desc = "Skill names, OASF paths or ids")] capability: Option<Vec<String>>,
        #[graphql(desc = "all (default) or any")] capability_match: Option<String>,
        protocol: Option<Vec<String>>,
        #[graphql(desc = "none, basic, standard or verified")] min_trust: Option<String>,
        namespace: Option<String>,
        publisher: Option<String>,
        #[graphql(desc = "key=value, all must match")] label: Option<Vec<String>>,
        os: Option<String>,
        arch: Option<String>,
        gpu: Option<bool>,
        max_input_tokens: Option<u64>,
        prerelease: Option<bool>,
        facets: Option<bool>,
        #[graphql(desc = "1..=100, default 20")] limit: Option<i32>,
        cursor: Option<String>,
        scope: Option<Scope>,
    ) -> async_graphql::Result<AgentPage> {
        let raw = {
            let mut qs = form_urlencoded::Serializer::new(String::new());
            let mut one = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    qs.append_pair(k, &v);
                }
            };
            one("q", q);
            one("semantic", semantic);
            one(
                "mode",
                mode.map(|m| {
                    match m {
                        Mode::Text => "text",
                        Mode::Semantic => "semantic",
                        Mode::Hybrid => "hybrid",
                    }
                    .to_owned()
                }),
            );
            one("name", name);
            one("version", version);
            one("digest", digest);
            one("cid", cid);
            one("capability_match", capability_match);
            one("min_trust", min_trust);
            one("namespace", namespace);
            one("publisher", publisher);
            one("os", os);
            one("arch", arch);
            one("gpu", gpu.map(|b| b.to_string()));
            one("max_input_tokens", max_input_tokens.map(|n| n.to_string()));
            one("prerelease", prerelease.map(|b| b.to_string()));
            one("facets", facets.map(|b| b.to_string()));
            one("limit", limit.map(|n| n.to_string()));
            one("cursor", cursor);
            one(
                "scope",
                scope.map(|s| {
                    match s {
                        Scope::Local => "local",
                        Scope::Federated => "federated",
                        Scope::Switchboard => "switchboard",
                    }
                    .to_owned()
                }),
            );
            for (k, vs) in [
                ("capability", capability),
                ("protocol", protocol),
                ("label", label),
            ] {
                for v in vs.unwrap_or_default() {
                    qs.append_pair(k, &v);
                }
            }
            qs.finish()
        };
        let state = app(ctx).clone();
        let resp = crate::api::agents_search::search(State(state), None, RawQuery(Some(raw)))
            .await
            .into_response();
        let page: RestPage = rest(resp).await?;
        Ok(AgentPage {
            items: page.items,
            next_cursor: page.next_cursor,
            facets: page
                .facets
                .into_iter()
                .map(|(field, values)| Facet { field, values })
                .collect(),
            federation: page.federation,
            failed: page.failed,
        })
    }

    /// One agent version: the highest when `version` is absent; `version` may be a range
    /// (`^2.4`). Null when there is no such agent.
    async fn agent(
        &self,
        ctx: &Context<'_>,
        namespace: String,
        name: String,
        version: Option<String>,
        #[graphql(desc = "Let pre-releases satisfy latest and ranges")] prerelease: Option<bool>,
    ) -> async_graphql::Result<Option<AgentDetail>> {
        for (field, v) in [("namespace", &namespace), ("name", &name)] {
            if v.is_empty() || v.contains("..") || v.len() > 255 {
                return Err(async_graphql::Error::new(format!(
                    "{field}: expected a repository path component"
                ))
                .extend_with(|_, e| e.set("parameter", field)));
            }
        }
        let mut path = format!("{namespace}/{name}");
        if let Some(v) = version {
            if v.starts_with(['^', '~', '>', '<', '=']) || v == "latest" {
                path.push('@');
            } else {
                path.push('/');
            }
            path.push_str(&v);
        }
        let raw = prerelease.map(|p| format!("prerelease={p}"));
        let state = app(ctx).clone();
        let resp = crate::api::agent_get::get_agent(State(state), Path(path), RawQuery(raw))
            .await
            .into_response();
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        rest(resp).await.map(Some)
    }

    /// The trust state of a manifest digest.
    async fn trust(&self, ctx: &Context<'_>, digest: String) -> async_graphql::Result<TrustState> {
        trust_of(ctx, &digest).await
    }

    /// The OASF capability taxonomy with counts (`taxonomy`: 1.1.0 default, or 1.0.0).
    async fn capabilities(
        &self,
        ctx: &Context<'_>,
        taxonomy: Option<String>,
    ) -> async_graphql::Result<CapabilityTree> {
        let raw = taxonomy.map(|t| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("taxonomy", &t)
                .finish()
        });
        let state = app(ctx).clone();
        let resp = crate::api::capabilities::capabilities(State(state), RawQuery(raw))
            .await
            .into_response();
        rest(resp).await
    }

    /// The mesh members this pod knows (an error when it is not in a mesh).
    async fn mesh_peers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MeshPeer>> {
        #[derive(Deserialize)]
        struct Peers {
            peers: Vec<MeshPeer>,
        }
        let state = app(ctx).clone();
        let resp = crate::api::mesh::peers(State(state)).await.into_response();
        rest::<Peers>(resp).await.map(|p| p.peers)
    }

    /// The configured switchboard sources with their health.
    async fn registries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Registry>> {
        let list = app(ctx).switchboard.board.registries();
        let v = serde_json::to_value(list)?;
        Ok(serde_json::from_value(v)?)
    }
}

/// An agent version that was published, re-judged or deleted.
#[derive(SimpleObject, Debug, Clone)]
pub struct AgentEvent {
    /// `PUBLISHED`, `TRUST_CHANGED` or `DELETED`.
    pub change: AgentChange,
    /// `namespace/name`.
    pub repository: String,
    pub namespace: String,
    pub name: String,
    pub version: Option<String>,
    pub digest: String,
    pub trust_tier: Option<String>,
    pub source_pod: String,
    /// Unix milliseconds when this pod saw it.
    pub at_ms: i64,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AgentChange {
    Published,
    TrustChanged,
    Deleted,
}

impl From<FeedAgentEvent> for AgentEvent {
    fn from(e: FeedAgentEvent) -> AgentEvent {
        AgentEvent {
            change: match e.change {
                Change::Published => AgentChange::Published,
                Change::TrustChanged => AgentChange::TrustChanged,
                Change::Deleted => AgentChange::Deleted,
            },
            repository: e.repository,
            namespace: e.namespace,
            name: e.name,
            version: e.version,
            digest: e.digest,
            trust_tier: e.trust_tier.map(|t: TrustTier| t.to_string()),
            source_pod: e.source_pod,
            at_ms: e.at_ms,
        }
    }
}

/// A mesh member whose state changed.
#[derive(SimpleObject, Debug, Clone)]
pub struct MeshEvent {
    pub pod: String,
    /// `alive`, `suspect`, `down` or `left`.
    pub state: String,
    pub previous: Option<String>,
    pub at_ms: i64,
}

impl From<FeedMeshEvent> for MeshEvent {
    fn from(e: FeedMeshEvent) -> MeshEvent {
        MeshEvent {
            pod: e.pod,
            state: e.state,
            previous: e.previous,
            at_ms: e.at_ms,
        }
    }
}

pub struct SubscriptionRoot;

/// The feed's events that `pick` keeps, as a stream (a reader that fell behind skips what it
/// missed, with a warning in the log).
fn feed<T, F>(ctx: &Context<'_>, pick: F) -> impl Stream<Item = T> + use<T, F>
where
    T: Send + 'static,
    F: Fn(PodEvent) -> Option<T> + Send + 'static,
{
    let rx = app(ctx).events.subscribe();
    futures::stream::unfold((rx, pick), |(mut rx, pick)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if let Some(t) = pick(ev) {
                        return Some((t, (rx, pick)));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "a GraphQL subscriber fell behind the event feed"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn in_namespace(e: &FeedAgentEvent, namespace: &Option<String>) -> bool {
    namespace.as_ref().is_none_or(|n| &e.namespace == n)
}

#[Subscription]
impl SubscriptionRoot {
    /// Each agent version stored on this pod: pushed, published through a front door, or
    /// replicated from a mesh peer.
    async fn agent_published(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> impl Stream<Item = AgentEvent> {
        feed(ctx, move |ev| match ev {
            PodEvent::Agent(e) if e.change == Change::Published && in_namespace(&e, &namespace) => {
                Some(e.into())
            }
            _ => None,
        })
    }

    /// Each change to an agent version already stored: its trust tier re-judged, or deleted.
    async fn agent_updated(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> impl Stream<Item = AgentEvent> {
        feed(ctx, move |ev| match ev {
            PodEvent::Agent(e) if e.change != Change::Published && in_namespace(&e, &namespace) => {
                Some(e.into())
            }
            _ => None,
        })
    }

    /// Each mesh member changing state (joined, suspected, down, left).
    async fn mesh_changed(&self, ctx: &Context<'_>) -> impl Stream<Item = MeshEvent> {
        feed(ctx, |ev| match ev {
            PodEvent::Mesh(e) => Some(e.into()),
            _ => None,
        })
    }
}
