//! Switchboard figures on loopback (BENCHMARKS.md, "Switchboard"):
//! 1. `@prefix:name` lookup over four sources (MCP Registry replay of the real seed file, A2A
//!    card without caching, NANDA index with a real AgentFacts document, simple registry),
//!    round-robin: p50 / p99 / max;
//! 2. fan-out search over those four plus one source that never answers (deadline 200 ms);
//! 3. listing rate from the MCP replay (fetch + JSON + MCP codec + provenance), servers/s.
//!
//! `cargo run -p agentry-switchboard --example switchboard_bench [-- ROUNDS]`

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentry_switchboard::{Pager, SourceConfig, SourceKind, Switchboard, adapter};
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

fn real(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../testdata/real/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}")
}

fn src(prefix: &str, kind: SourceKind, url: &str) -> SourceConfig {
    let mut c = SourceConfig::new(prefix, kind, url);
    c.allow_private = true;
    c
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let seed: Arc<Vec<Value>> =
        Arc::new(serde_json::from_slice(&real("mcp/seed/seed_2025_05_16.json")).unwrap());
    let s1 = seed.clone();
    let s2 = seed.clone();
    let mcp = serve(
        Router::new()
            .route("/v0.1/servers", get(move |Query(q): Query<HashMap<String, String>>| {
                let seed = s1.clone();
                async move {
                    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(30);
                    let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
                    let filtered: Vec<&Value> = seed.iter().filter(|v| q.get("search").is_none_or(|t| v["name"].as_str().unwrap_or("").contains(t.as_str()))).collect();
                    let page: Vec<Value> = filtered.iter().skip(start).take(limit).map(|v| json!({"server": v})).collect();
                    let next = (start + limit < filtered.len()).then(|| (start + limit).to_string());
                    axum::Json(json!({"servers": page, "metadata": {"nextCursor": next}}))
                }
            }))
            .route("/v0.1/servers/{name}/versions/{version}", get(move |Path((name, _v)): Path<(String, String)>| {
                let seed = s2.clone();
                async move { axum::Json(json!({"server": seed.iter().find(|v| v["name"] == name.as_str()).cloned()})) }
            })),
    )
    .await;
    let card = real("a2a/examples/spec-docs/sample-agent-card-v0.3.0.json");
    let a2a = serve(Router::new().route(
        "/.well-known/agent-card.json",
        get(move || {
            let c = card.clone();
            async move { ([(header::CACHE_CONTROL, "no-store")], c).into_response() }
        }),
    ))
    .await;
    let facts: Value =
        serde_json::from_slice(&real("nanda/agentfacts/translator-agent.json")).unwrap();
    let f2 = facts.clone();
    let nanda = serve(
        Router::new()
            .route(
                "/lookup/{id}",
                get(move || {
                    let f = f2.clone();
                    async move { axum::Json(f) }
                }),
            )
            .route(
                "/search",
                get(move || {
                    let f = facts.clone();
                    async move { axum::Json(json!([f])) }
                }),
            ),
    )
    .await;
    let simple_doc = json!([{"agent_id": "mbta-alerts", "endpoint": "https://neu.example/a",
        "description": "Provides real-time service alerts and disruptions on the MBTA", "capabilities": ["alerts"]}]);
    let simple = serve(Router::new().route(
        "/agents.json",
        get(move || {
            let d = simple_doc.clone();
            async move { axum::Json(d) }
        }),
    ))
    .await;
    let blackhole = serve(Router::new().route(
        "/{*p}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }),
    ))
    .await;

    let sources = vec![
        src("mcp", SourceKind::Mcp, &mcp),
        src("a2a", SourceKind::A2a, &a2a),
        src("nanda", SourceKind::Nanda, &nanda),
        src("neu", SourceKind::Simple, &format!("{simple}/agents.json")),
    ];
    let board = Switchboard::new(&sources).unwrap();
    let refs = [
        "@mcp:io.github.21st-dev/magic-mcp",
        "@a2a:GeoSpatial Route Planner Agent",
        "@nanda:nanda:translator-agent",
        "@neu:mbta-alerts",
    ];
    for r in refs {
        board.lookup(r).await.unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    let mut ms = Vec::with_capacity(rounds * refs.len());
    for _ in 0..rounds {
        for r in refs {
            let t = Instant::now();
            board.lookup(r).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "lookup over 4 sources: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        ms.len(),
        pct(&ms, 0.50),
        pct(&ms, 0.99),
        ms[ms.len() - 1]
    );

    let mut with_down = sources.clone();
    let mut down = src(
        "down",
        SourceKind::Simple,
        &format!("{blackhole}/agents.json"),
    );
    down.timeout_ms = 200;
    with_down.push(down);
    let board = Switchboard::new(&with_down).unwrap();
    let mut fan = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let out = board.search("mbta", 10, Duration::from_secs(2)).await;
        fan.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(out.failed.len(), 1);
    }
    fan.sort_by(f64::total_cmp);
    println!(
        "fan-out search, 4 up + 1 down (deadline 200 ms): n={} p50={:.1} ms max={:.1} ms",
        fan.len(),
        pct(&fan, 0.5),
        fan[fan.len() - 1]
    );

    let a = adapter(&src("mcp", SourceKind::Mcp, &mcp)).unwrap();
    let t = Instant::now();
    let mut n = 0usize;
    let reps = 5;
    for _ in 0..reps {
        let mut pager = Pager::new(100);
        let mut cursor = None;
        loop {
            let p = a.list(cursor.as_deref(), None).await.unwrap();
            n += p.items.len();
            match pager.advance(p.next_cursor).unwrap() {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "MCP replay listing: {n} servers ({reps} passes of the seed) in {secs:.3} s = {:.0} servers/s",
        n as f64 / secs
    );
}
