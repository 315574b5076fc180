//! Every adapter against a live counterpart on loopback (axum servers replaying real documents
//! from testdata/real), and every remote fault the switchboard must survive: each one gives a
//! partial result naming the source, within its deadline.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentry_switchboard::{
    Adapter, Pager, SourceConfig, SourceError, SourceKind, Switchboard, adapter, fan_out,
};
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

fn real(path: &str) -> Vec<u8> {
    let p = format!("{}/../../testdata/real/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}")
}

fn source(prefix: &str, kind: SourceKind, url: &str) -> SourceConfig {
    let mut c = SourceConfig::new(prefix, kind, url);
    c.allow_private = true;
    c.timeout_ms = 1500;
    c
}

// ---- MCP Registry replay of the real seed file ------------------------------------------------

#[derive(Clone)]
struct Seed {
    servers: Arc<Vec<Value>>,
    raw_paths: Arc<parking_lot_free::Paths>,
}

mod parking_lot_free {
    #[derive(Default)]
    pub struct Paths(pub std::sync::Mutex<Vec<String>>);
}

async fn mcp_list(State(s): State<Seed>, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(30)
        .min(100);
    let start: usize = match q.get("cursor") {
        None => 0,
        Some(c) => match c.parse() {
            Ok(n) => n,
            Err(_) => return (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
        },
    };
    let filtered: Vec<&Value> = s
        .servers
        .iter()
        .filter(|v| match q.get("search") {
            Some(t) => v["name"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains(&t.to_lowercase()),
            None => true,
        })
        .filter(|v| match q.get("updated_since") {
            Some(t) => v["version_detail"]["release_date"].as_str().unwrap_or("") >= t.as_str(),
            None => true,
        })
        .collect();
    let page: Vec<Value> = filtered
        .iter()
        .skip(start)
        .take(limit)
        .map(|v| json!({"server": v, "_meta": {"io.modelcontextprotocol.registry/official": {"serverId": v["id"]}}}))
        .collect();
    let next = (start + limit < filtered.len()).then(|| (start + limit).to_string());
    axum::Json(json!({"servers": page, "metadata": {"nextCursor": next, "count": page.len()}}))
        .into_response()
}

async fn mcp_version(
    State(s): State<Seed>,
    OriginalUri(uri): OriginalUri,
    Path((name, _version)): Path<(String, String)>,
) -> Response {
    s.raw_paths.0.lock().unwrap().push(uri.path().to_owned());
    match s.servers.iter().find(|v| v["name"] == name.as_str()) {
        Some(v) => axum::Json(json!({"server": v})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "not found"})),
        )
            .into_response(),
    }
}

async fn mcp_replay() -> (String, Seed) {
    let servers: Vec<Value> =
        serde_json::from_slice(&real("mcp/seed/seed_2025_05_16.json")).unwrap();
    let seed = Seed {
        servers: Arc::new(servers),
        raw_paths: Arc::default(),
    };
    let app = Router::new()
        .route("/v0.1/servers", get(mcp_list))
        .route("/v0.1/servers/{name}/versions/{version}", get(mcp_version))
        .with_state(seed.clone());
    (serve(app).await, seed)
}

async fn list_all(
    a: &dyn Adapter,
    since: Option<&str>,
) -> Result<(usize, usize, u32), SourceError> {
    let mut pager = Pager::new(a.config().max_pages);
    let (mut items, mut skipped) = (0, 0);
    let mut cursor = None;
    loop {
        let p = a.list(cursor.as_deref(), since).await?;
        items += p.items.len();
        skipped += p.skipped.len();
        match pager.advance(p.next_cursor)? {
            Some(c) => cursor = Some(c),
            None => return Ok((items, skipped, pager.pages())),
        }
    }
}

#[tokio::test]
async fn mcp_registry_replay_lists_every_seed_server_and_resolves_names_with_2f() {
    let (url, seed) = mcp_replay().await;
    let a = adapter(&source("mcp", SourceKind::Mcp, &url)).unwrap();
    let (items, skipped, pages) = list_all(&*a, None).await.unwrap();
    assert_eq!(
        items + skipped,
        471,
        "every seed entry is read or named as skipped"
    );
    assert!(items >= 460, "{items} of 471 read ({skipped} skipped)");
    assert_eq!(pages, 5, "471 servers in pages of 100");

    let f = a
        .lookup("io.github.21st-dev/magic-mcp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.source, "mcp");
    assert_eq!(f.remote_id, "io.github.21st-dev/magic-mcp");
    assert!(
        f.remote_url.contains("io.github.21st-dev%2Fmagic-mcp"),
        "{}",
        f.remote_url
    );
    assert_eq!(
        f.record.provenance.source_registry.as_deref(),
        Some("@mcp:io.github.21st-dev/magic-mcp")
    );
    assert!(f.record.description.contains("Magic"));
    let paths = seed.raw_paths.0.lock().unwrap().clone();
    assert_eq!(
        paths,
        vec!["/v0.1/servers/io.github.21st-dev%2Fmagic-mcp/versions/latest"]
    );
    assert!(
        a.lookup("io.github.nobody/nothing")
            .await
            .unwrap()
            .is_none()
    );

    let found = a.search("github", 10).await.unwrap();
    assert_eq!(found.len(), 10);
    // updated_since: the seed's release dates are all 2025-05-16.
    let (later, _, _) = list_all(&*a, Some("2025-06-01T00:00:00Z")).await.unwrap();
    assert_eq!(later, 0);
}

// ---- A2A cards ------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>, Arc<AtomicUsize>);

#[tokio::test]
async fn a2a_cards_are_cached_revalidated_and_found_at_the_legacy_path() {
    let hits = Hits::default();
    let card = real("a2a/examples/spec-docs/sample-agent-card-v0.3.0.json");
    let h = hits.clone();
    let c = card.clone();
    // Fresh for 0 s but with an ETag: every use revalidates, answered 304.
    let app = Router::new().route(
        "/.well-known/agent-card.json",
        get(move |headers: HeaderMap| {
            let h = h.clone();
            let c = c.clone();
            async move {
                h.0.fetch_add(1, Ordering::SeqCst);
                if headers
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|v| v == "\"v1\"")
                {
                    h.1.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                (
                    [
                        (header::ETAG, "\"v1\""),
                        (header::CACHE_CONTROL, "max-age=0"),
                    ],
                    c,
                )
                    .into_response()
            }
        }),
    );
    let with_etag = serve(app).await;
    let legacy_card = real("a2a/examples/a2a-samples/a2a_mcp__car_rental_agent.json");
    let legacy_hits = Arc::new(AtomicUsize::new(0));
    let lh = legacy_hits.clone();
    let app = Router::new().route(
        "/.well-known/agent.json",
        get(move || {
            let lh = lh.clone();
            let c = legacy_card.clone();
            async move {
                lh.fetch_add(1, Ordering::SeqCst);
                ([(header::CACHE_CONTROL, "public, max-age=3600")], c).into_response()
            }
        }),
    );
    let legacy = serve(app).await;
    let mut cfg = source("a2a", SourceKind::A2a, &with_etag);
    cfg.urls = vec![legacy.clone()];
    let a = adapter(&cfg).unwrap();
    let all = a.list(None, None).await.unwrap();
    assert_eq!(all.items.len(), 2, "{:?}", all.skipped);
    let names: Vec<String> = all.items.iter().map(|f| f.remote_id.clone()).collect();
    for _ in 0..3 {
        assert_eq!(a.list(None, None).await.unwrap().items.len(), 2);
    }
    assert_eq!(
        hits.0.load(Ordering::SeqCst),
        4,
        "fetched once, revalidated three times"
    );
    assert_eq!(
        hits.1.load(Ordering::SeqCst),
        3,
        "revalidations answered 304"
    );
    assert_eq!(
        legacy_hits.load(Ordering::SeqCst),
        1,
        "max-age=3600 keeps the legacy card cached"
    );
    let f = a.lookup(&names[1]).await.unwrap().unwrap();
    assert!(
        f.remote_url.ends_with("/.well-known/agent.json"),
        "{}",
        f.remote_url
    );
    assert!(a.lookup("no such agent").await.unwrap().is_none());
}

// ---- NANDA index ------------------------------------------------------------------------------

#[tokio::test]
async fn nanda_index_lookup_search_and_list() {
    let facts: Value =
        serde_json::from_slice(&real("nanda/agentfacts/translator-agent.json")).unwrap();
    let f2 = facts.clone();
    let app = Router::new()
        .route(
            "/lookup/{id}",
            get(move |Path(id): Path<String>| {
                let f = f2.clone();
                async move {
                    match id.as_str() {
                        "nanda:translator-agent" => axum::Json(f).into_response(),
                        // The index's own registry entry, as registry.py answers it.
                        "agentm1" => axum::Json(json!({"agent_id": "agentm1", "agent_url": "https://bridge.example/agentm1", "api_url": "https://api.example/agentm1"})).into_response(),
                        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"error": format!("ID '{id}' not found")}))).into_response(),
                    }
                }
            }),
        )
        .route("/search", get(move || { let f = facts.clone(); async move { axum::Json(json!([f])) } }))
        .route("/list", get(|| async { axum::Json(json!({"agentm1": "https://bridge.example/agentm1", "agentm2": "https://bridge.example/agentm2"})) }));
    let url = serve(app).await;
    let a = adapter(&source("nanda", SourceKind::Nanda, &url)).unwrap();
    let f = a.lookup("nanda:translator-agent").await.unwrap().unwrap();
    assert!(
        f.record.description.starts_with("Translates"),
        "{:?}",
        f.record.description
    );
    assert_eq!(f.record.provenance.source_format.as_str(), "nanda");
    let e = a.lookup("agentm1").await.unwrap().unwrap();
    assert_eq!(e.record.identity.name, "agentm1");
    assert_eq!(
        e.record.protocols[0].endpoint.as_deref(),
        Some("https://bridge.example/agentm1")
    );
    assert!(a.lookup("nobody").await.unwrap().is_none());
    assert_eq!(a.search("translate", 5).await.unwrap().len(), 1);
    assert_eq!(a.list(None, None).await.unwrap().items.len(), 2);
}

// ---- simple JSON registry (Figure 5) ----------------------------------------------------------

fn figure5() -> Value {
    json!([
        {"agent_id": "mbta-alerts", "endpoint": "https://neu.example/agents/mbta-alerts",
         "description": "Provides real-time service alerts and disruptions on the MBTA",
         "capabilities": ["alerts", "transit"], "protocols": ["rest"]},
        {"agent_id": "mbta-stops", "endpoint": "https://neu.example/agents/mbta-stops",
         "description": "Provides all the stops on the MBTA", "capabilities": ["stops"]}
    ])
}

async fn simple_registry() -> String {
    serve(Router::new().route("/agents.json", get(|| async { axum::Json(figure5()) }))).await
}

#[tokio::test]
async fn simple_registry_lookup_and_search() {
    let url = simple_registry().await;
    let a = adapter(&source(
        "neu",
        SourceKind::Simple,
        &format!("{url}/agents.json"),
    ))
    .unwrap();
    let f = a.lookup("mbta-alerts").await.unwrap().unwrap();
    assert_eq!(f.record.identity.name, "mbta-alerts");
    assert_eq!(
        f.record.provenance.source_registry.as_deref(),
        Some("@neu:mbta-alerts")
    );
    assert_eq!(a.search("alerts", 10).await.unwrap().len(), 1);
    assert_eq!(a.search("mbta", 10).await.unwrap().len(), 2);
    let board = Switchboard::new(&[source(
        "neu",
        SourceKind::Simple,
        &format!("{url}/agents.json"),
    )])
    .unwrap();
    assert_eq!(
        board.lookup("@neu:mbta-stops").await.unwrap().remote_id,
        "mbta-stops"
    );
    assert!(board.lookup("neu:mbta-stops").await.is_err());
    assert!(board.lookup("@nowhere:x").await.is_err());
}

// ---- faults ------------------------------------------------------------------------------------

async fn faulty() -> String {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                axum::Json(json!([]))
            }),
        )
        .route(
            "/500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/garbage",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"agents\": [tru",
                )
            }),
        )
        .route(
            "/wrong-shape",
            get(|| async { axum::Json(json!({"hello": "world"})) }),
        )
        .route(
            "/huge",
            get(|| async {
                // Streamed without a length: the limit is enforced while reading.
                let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
                let s = futures::stream::iter(
                    (0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                axum::body::Body::from_stream(s)
            }),
        )
        .route(
            "/redirect-off-host",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://127.0.0.2:9/agents.json")],
                )
            }),
        )
        .route(
            "/v0.1/servers",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                // Loops: the second page sends the first page's cursor again.
                let next = match q.get("cursor").map(String::as_str) {
                    None => "a",
                    Some("a") => "b",
                    _ => "a",
                };
                axum::Json(json!({"servers": [], "metadata": {"nextCursor": next}}))
            }),
        );
    serve(app).await
}

#[tokio::test]
async fn every_fault_is_a_named_partial_result_within_the_deadline() {
    let bad = faulty().await;
    let good = simple_registry().await;
    let mut slow = source("slow", SourceKind::Simple, &format!("{bad}/slow"));
    slow.timeout_ms = 300;
    let mut huge = source("huge", SourceKind::Simple, &format!("{bad}/huge"));
    huge.max_body_bytes = 1024 * 1024;
    let private = {
        let mut c = SourceConfig::new(
            "private",
            SourceKind::Simple,
            &format!("{good}/agents.json"),
        );
        c.allow_private = false;
        c
    };
    let by_name = {
        let port = good.rsplit(':').next().unwrap();
        let mut c = SourceConfig::new(
            "byname",
            SourceKind::Simple,
            &format!("http://localhost:{port}/agents.json"),
        );
        c.allow_private = false;
        c
    };
    let configs = vec![
        source("neu", SourceKind::Simple, &format!("{good}/agents.json")),
        slow,
        source("e500", SourceKind::Simple, &format!("{bad}/500")),
        source("garbage", SourceKind::Simple, &format!("{bad}/garbage")),
        source("shape", SourceKind::Simple, &format!("{bad}/wrong-shape")),
        huge,
        source(
            "redirect",
            SourceKind::Simple,
            &format!("{bad}/redirect-off-host"),
        ),
        private,
        by_name,
        source("down", SourceKind::Mcp, "http://127.0.0.1:9"),
    ];
    let adapters: Vec<Arc<dyn Adapter>> = configs.iter().map(|c| adapter(c).unwrap()).collect();
    let t = Instant::now();
    let out = fan_out(&adapters, "mbta", 10, Duration::from_secs(2)).await;
    let took = t.elapsed();
    assert!(took < Duration::from_millis(1500), "fan-out took {took:?}");
    assert_eq!(out.results.len(), 2, "the healthy source's records");
    let why: HashMap<&str, &str> = out
        .failed
        .iter()
        .map(|f| (f.source.as_str(), f.error.as_str()))
        .collect();
    assert_eq!(why.len(), 9, "{why:#?}");
    assert!(
        why["slow"].contains("no answer within 300 ms"),
        "{}",
        why["slow"]
    );
    assert!(why["e500"].contains("HTTP 500"), "{}", why["e500"]);
    assert!(why["garbage"].contains("not JSON"), "{}", why["garbage"]);
    assert!(
        why["shape"].contains("expected an array"),
        "{}",
        why["shape"]
    );
    assert!(
        why["huge"].contains("limit of 1048576 bytes"),
        "{}",
        why["huge"]
    );
    assert!(
        why["redirect"].contains("off the configured host"),
        "{}",
        why["redirect"]
    );
    assert!(
        why["private"].contains("127.0.0.1 is a loopback, private"),
        "{}",
        why["private"]
    );
    assert!(
        why["byname"].contains("allow_private is off"),
        "{}",
        why["byname"]
    );
    assert!(why["down"].contains("request failed"), "{}", why["down"]);

    // Pagination that loops, and pagination that never ends.
    let a = adapter(&source("loop", SourceKind::Mcp, &bad)).unwrap();
    assert_eq!(
        list_all(&*a, None).await.err(),
        Some(SourceError::CursorLoop("a".into()))
    );
    let mut endless = source("endless", SourceKind::Mcp, &bad);
    endless.max_pages = 2;
    let a = adapter(&endless).unwrap();
    assert_eq!(
        list_all(&*a, None).await.err(),
        Some(SourceError::TooManyPages(2))
    );
}

#[tokio::test]
async fn health_records_last_ok_and_last_error() {
    let good = simple_registry().await;
    let board = Switchboard::new(&[
        source("neu", SourceKind::Simple, &format!("{good}/agents.json")),
        source("down", SourceKind::Simple, "http://127.0.0.1:9/x"),
    ])
    .unwrap();
    let out = board.search("mbta", 5, Duration::from_secs(1)).await;
    assert_eq!(out.failed.len(), 1);
    let r = board.registries();
    assert!(r[0].health.last_ok.is_some() && r[0].health.last_error.is_none());
    assert!(r[1].health.last_ok.is_none() && r[1].health.last_error.is_some());
    assert!(Switchboard::new(&[source("a", SourceKind::Simple, "ftp://x")]).is_err());
    let e = Switchboard::new(&[source("bad prefix", SourceKind::Simple, "http://x")])
        .err()
        .unwrap();
    assert!(e.contains("switchboard[0].prefix"), "{e}");
}
