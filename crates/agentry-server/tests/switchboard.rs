//! The switchboard through a pod's HTTP API: sources of several kinds (an MCP Registry replay
//! of the real seed file, another agentry pod, a simple JSON registry, a source that is down),
//! `@prefix:name` lookup, `scope=switchboard` search with partial results, and an idempotent
//! import of the MCP seed servers into the pod's index.

#![allow(clippy::unwrap_used)]

pub mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agentry_switchboard::{SourceConfig, SourceKind};
use agentry_types::AGENT_ARTIFACT_TYPE;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use common::{OCI_MANIFEST, Pod};
use serde_json::{Value, json};

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}")
}

/// The MCP Registry's list route over the real seed file (cursor = offset).
async fn mcp_replay() -> String {
    let p = format!(
        "{}/../../testdata/real/mcp/seed/seed_2025_05_16.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let seed: Vec<Value> = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    let seed = std::sync::Arc::new(seed);
    let app = Router::new().route(
        "/v0.1/servers",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let seed = seed.clone();
            async move {
                let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(30);
                let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
                let page: Vec<Value> = seed
                    .iter()
                    .filter(|v| {
                        q.get("search")
                            .is_none_or(|t| v["name"].as_str().unwrap_or("").contains(t.as_str()))
                    })
                    .skip(start)
                    .take(limit)
                    .map(|v| json!({"server": v}))
                    .collect();
                let next = (start + limit < seed.len() && !q.contains_key("search"))
                    .then(|| (start + limit).to_string());
                axum::Json(json!({"servers": page, "metadata": {"nextCursor": next}}))
            }
        }),
    );
    serve(app).await
}

async fn simple_registry() -> String {
    let doc = json!([{"agent_id": "mbta-alerts", "endpoint": "https://neu.example/agents/mbta-alerts",
        "description": "Provides real-time service alerts and disruptions on the MBTA",
        "capabilities": ["alerts"], "protocols": ["rest"]}]);
    serve(Router::new().route(
        "/agents.json",
        get(move || {
            let d = doc.clone();
            async move { axum::Json(d) }
        }),
    ))
    .await
}

async fn push_card(pod: &Pod, repo: &str, tag: &str) {
    let card = serde_json::to_vec(&json!({
        "protocolVersion": "0.3.0", "name": "route-planner", "description": "Plans MBTA routes between two stops",
        "url": "http://localhost:10000/", "version": "1.0.0", "capabilities": {},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "plan", "name": "plan route", "description": "plan", "tags": ["mbta"]}]
    }))
    .unwrap();
    let config = b"{}";
    let cd = pod.push_blob(repo, config).await;
    let ld = pod.push_blob(repo, &card).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": AGENT_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.a2a.card.v1+json", "digest": ld.to_string(), "size": card.len()}],
    }))
    .unwrap();
    assert_eq!(
        pod.put_manifest(repo, tag, OCI_MANIFEST, &m).await.status(),
        201
    );
}

fn src(prefix: &str, kind: SourceKind, url: &str) -> SourceConfig {
    let mut c = SourceConfig::new(prefix, kind, url);
    c.allow_private = true;
    c.timeout_ms = 1000;
    c
}

async fn fetch(pod: &Pod, path: &str) -> (u16, Value) {
    let r = pod.client.get(pod.u(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_pod_resolves_searches_and_imports_through_its_switchboard() {
    let other = Pod::start().await;
    push_card(&other, "transit/route-planner", "1.0.0").await;
    let mcp = mcp_replay().await;
    let simple = simple_registry().await;
    let other_url = other.url.clone();
    let pod = Pod::start_with(move |c| {
        c.switchboard = vec![
            src("mcp", SourceKind::Mcp, &mcp),
            src("neu", SourceKind::Simple, &format!("{simple}/agents.json")),
            src("peer", SourceKind::Pod, &other_url),
            src("down", SourceKind::Nanda, "http://127.0.0.1:9"),
        ];
    })
    .await;

    // Resolution, one source of each kind.
    let (s, v) = fetch(&pod, "/api/v1/switchboard/lookup/@neu:mbta-alerts").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ref"], "@neu:mbta-alerts");
    assert_eq!(v["record"]["identity"]["name"], "mbta-alerts");
    let (s, v) = fetch(
        &pod,
        "/api/v1/switchboard/lookup/@peer:transit/route-planner",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["record"]["description"],
        "Plans MBTA routes between two stops"
    );
    let (s, v) = fetch(&pod, "/api/v1/switchboard/lookup/@neu:nobody").await;
    assert_eq!(s, 404, "{v}");
    for bad in ["neu:mbta-alerts", "@:x", "@nowhere:x"] {
        let (s, v) = fetch(&pod, &format!("/api/v1/switchboard/lookup/{bad}")).await;
        assert_eq!(
            (s, v["parameter"].as_str()),
            (400, Some("ref")),
            "{bad}: {v}"
        );
    }
    let (s, v) = fetch(&pod, "/api/v1/switchboard/lookup/@down:x").await;
    assert_eq!(s, 502, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("@down"), "{v}");

    // One search over every source; the one that is down is named.
    let t = Instant::now();
    let (s, v) = fetch(&pod, "/api/v1/agents?scope=switchboard&q=mbta&limit=50").await;
    assert!(t.elapsed() < Duration::from_millis(1500));
    assert_eq!(s, 200, "{v}");
    let sources: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"neu") && sources.contains(&"peer"), "{v}");
    assert_eq!(v["failed"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["failed"][0]["source"], "down");
    let (s, v) = fetch(&pod, "/api/v1/agents?scope=everywhere").await;
    assert_eq!((s, v["parameter"].as_str()), (400, Some("scope")));
    let (s, v) = fetch(&pod, "/api/v1/agents?scope=switchboard&min_trust=basic").await;
    assert_eq!((s, v["parameter"].as_str()), (400, Some("min_trust")));

    let (_, v) = fetch(&pod, "/api/v1/switchboard/registries").await;
    let regs = v["registries"].as_array().unwrap();
    assert_eq!(regs.len(), 4);
    assert!(regs[1]["health"]["last_ok"].is_string(), "{v}");
    assert!(regs[3]["health"]["last_error"].is_string(), "{v}");

    // Import the MCP seed servers twice: the second replaces, it does not duplicate.
    let mut stored = Vec::new();
    for _ in 0..2 {
        let r = pod
            .client
            .post(pod.u("/api/v1/switchboard/import/mcp"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let status = loop {
            let (_, v) = fetch(&pod, "/api/v1/switchboard/import/mcp").await;
            if v["state"] != "running" {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status["state"], "done", "{status}");
        assert_eq!(status["seen"], 471, "{status}");
        stored.push(status["stored"].as_u64().unwrap());
        // BENCHMARKS.md quotes this line (`--nocapture`).
        eprintln!(
            "import @mcp: {} stored in {} ms",
            status["stored"], status["elapsed_ms"]
        );
    }
    assert!(stored[0] >= 460, "{stored:?}");
    assert_eq!(stored[0], stored[1]);
    let (s, v) = fetch(&pod, "/api/v1/agents?name=mcp/io.github.21st-dev/magic-mcp").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["source_pod"], "@mcp");
    let (_, v) = fetch(&pod, "/api/v1/agents?q=magic+frontend&limit=100").await;
    let hits = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] == "magic-mcp")
        .count();
    assert_eq!(hits, 1, "{v}");

    let r = pod
        .client
        .post(pod.u("/api/v1/switchboard/import/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = pod
        .client
        .post(pod.u("/api/v1/switchboard/import/mcp?since=yesterday"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["parameter"], "since");
    pod.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn a_bad_switchboard_entry_is_refused_naming_the_field() {
    let c = agentry_server::ServeConfig {
        switchboard: vec![SourceConfig::new("x", SourceKind::Mcp, "not a url")],
        ..agentry_server::ServeConfig::default()
    };
    let e = c.validate().err().unwrap();
    assert!(e.contains("switchboard[0].url"), "{e}");
}
