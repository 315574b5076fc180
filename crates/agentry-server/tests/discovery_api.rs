//! The discovery API over real HTTP: agents pushed through `/v2/` are findable by name, version
//! range, skill and words as soon as the push returns; bad parameters answer problem+json
//! naming the parameter; the OpenAPI document is served.

// `pub`: each test binary uses a different part of the shared helpers.
pub mod common;

use common::{Pod, card, push_agent};
use serde_json::{Value, json};

async fn get(pod: &Pod, path: &str) -> (u16, String, Value) {
    let r = pod
        .client
        .get(pod.u(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = r.json().await.unwrap_or_default();
    (status, ct, body)
}

fn names(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}/{}@{}",
                i["namespace"].as_str().unwrap_or(""),
                i["name"].as_str().unwrap_or(""),
                i["version"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn pushed_agents_are_findable_every_way() {
    let pod = Pod::start().await;
    let fx = (
        "currency_exchange",
        "Currency exchange",
        "Converts amounts between currencies using daily exchange rates.",
    );
    push_agent(
        &pod,
        "acme/currency-agent",
        "1.0.0",
        &card(
            "currency-agent",
            "1.0.0",
            "Helps with currency conversion for travellers.",
            fx,
        ),
    )
    .await;
    let d12 = push_agent(
        &pod,
        "acme/currency-agent",
        "1.2.0",
        &card(
            "currency-agent",
            "1.2.0",
            "Helps with currency conversion for travellers and shops.",
            fx,
        ),
    )
    .await;
    push_agent(
        &pod,
        "acme/currency-agent",
        "2.0.0-rc.1",
        &card("currency-agent", "2.0.0-rc.1", "Next currency agent.", fx),
    )
    .await;
    push_agent(
        &pod,
        "globex/trip-planner",
        "0.4.0",
        &card(
            "trip-planner",
            "0.4.0",
            "Plans multi-city itineraries with flights and hotels.",
            (
                "itinerary",
                "Itinerary planning",
                "Builds day-by-day travel plans.",
            ),
        ),
    )
    .await;

    // words, with a typo and a prefix
    let (s, ct, v) = get(&pod, "/api/v1/agents?q=itineraries").await;
    assert_eq!((s, ct.as_str()), (200, "application/json"));
    assert_eq!(
        names(&v).first().map(String::as_str),
        Some("globex/trip-planner@0.4.0"),
        "{v}"
    );
    assert!(v.get("next_cursor").is_some() && v.get("facets").is_some());
    let item = &v["items"][0];
    for k in [
        "id",
        "name",
        "namespace",
        "version",
        "digest",
        "description",
        "capabilities",
        "protocols",
        "trust_tier",
        "score",
        "source_pod",
    ] {
        assert!(item.get(k).is_some(), "item lacks {k}: {item}");
    }
    let (_, _, v) = get(&pod, "/api/v1/agents?q=curency").await;
    assert!(
        names(&v)
            .iter()
            .all(|n| n.starts_with("acme/currency-agent"))
            && !names(&v).is_empty(),
        "{v}"
    );
    let (_, _, v) = get(&pod, "/api/v1/agents?q=itiner").await;
    assert_eq!(
        names(&v).first().map(String::as_str),
        Some("globex/trip-planner@0.4.0")
    );
    // skill
    let (_, _, v) = get(&pod, "/api/v1/agents?capability=currency_exchange").await;
    assert_eq!(names(&v).len(), 3, "{v}");
    // Nothing was proven about these agents beyond their digests: they are `none`, and a
    // minimum tier of basic excludes every one of them.
    assert_eq!(item["trust_tier"], "none", "{item}");
    let (s, _, v) = get(&pod, "/api/v1/agents?q=itineraries&min_trust=basic").await;
    assert_eq!(s, 200, "{v}");
    assert!(names(&v).is_empty(), "{v}");
    let (_, _, v) = get(&pod, "/api/v1/agents?q=itineraries&min_trust=none").await;
    assert!(!names(&v).is_empty(), "{v}");
    let (s, _, v) = get(&pod, &format!("/api/v1/trust/{d12}")).await;
    assert_eq!((s, &v["trust_tier"]), (200, &json!("none")), "{v}");
    // protocol filter and facets
    let (_, _, v) = get(&pod, "/api/v1/agents?protocol=a2a&facets=true").await;
    assert_eq!(names(&v).len(), 4);
    assert!(
        v["facets"]["namespace"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    // by name: latest skips the pre-release; a range; an exact version; pre-release on request
    let (s, _, v) = get(&pod, "/api/v1/agents/acme/currency-agent").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["version"], "1.2.0");
    assert_eq!(v["digest"], d12.to_string());
    assert_eq!(v["record"]["identity"]["name"], "currency-agent", "{v}");
    assert_eq!(v["versions"].as_array().map(Vec::len), Some(3));
    let (_, _, v) = get(&pod, "/api/v1/agents/acme/currency-agent@~1.0").await;
    assert_eq!(v["version"], "1.0.0");
    let (_, _, v) = get(&pod, "/api/v1/agents/acme/currency-agent/1.2.0").await;
    assert_eq!(v["version"], "1.2.0");
    let (_, _, v) = get(
        &pod,
        "/api/v1/agents/acme/currency-agent@latest?prerelease=true",
    )
    .await;
    assert_eq!(v["version"], "2.0.0-rc.1");
    // converted to other formats on request (issue 4: ?format=)
    for (format, media_type, check) in [
        ("a2a", "application/vnd.a2a.card.v1+json", "/skills/0/id"),
        ("oasf", "application/vnd.agntcy.dir.record.v1+json", "/name"),
        ("mcp", "application/vnd.mcp.server.v1+json", "/name"),
        ("ossa", "application/vnd.ossa.manifest.v1+yaml", ""),
        (
            "nanda",
            "application/vnd.nanda.agentfacts.v1+json",
            "/skills/0/id",
        ),
    ] {
        let r = pod
            .client
            .get(pod.u(&format!(
                "/api/v1/agents/acme/currency-agent/1.2.0?format={format}"
            )))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{format}");
        assert_eq!(r.headers()["content-type"], media_type, "{format}");
        let text = r.text().await.unwrap_or_default();
        if check.is_empty() {
            assert!(text.contains("currency"), "{format}: {text}");
        } else {
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            assert!(
                v.pointer(check).is_some(),
                "{format}: {check} missing in {text}"
            );
        }
    }
    let (s, _, v) = get(&pod, "/api/v1/agents/acme/currency-agent?format=docx").await;
    assert_eq!(s, 400);
    assert_eq!(v["parameter"], "format");
    let (s, ct, _) = get(&pod, "/api/v1/agents/acme/currency-agent@^3").await;
    assert_eq!((s, ct.as_str()), (404, "application/problem+json"));
    let (s, _, _) = get(&pod, "/api/v1/agents/nobody/here").await;
    assert_eq!(s, 404);

    // bad parameters: 400 problem+json naming the parameter
    for (path, param) in [
        ("/api/v1/agents?limit=lots", "limit"),
        ("/api/v1/agents?min_trust=gold", "min_trust"),
        ("/api/v1/agents?bogus=1", "bogus"),
        ("/api/v1/agents?max_input_tokens=-1", "max_input_tokens"),
        ("/api/v1/agents/acme/currency-agent@^x.y", "range"),
        ("/api/v1/capabilities?taxonomy=9", "taxonomy"),
        ("/api/v1/trust/sha256:nothex", "digest"),
        // malformed percent-encoding, whichever handler reads the query
        ("/api/v1/agents?q=50%", "q"),
        ("/api/v1/agents?limit=1&capability=%E2%82", "capability"),
        ("/api/v1/capabilities?taxonomy=%zz", "taxonomy"),
        ("/api/v1/agents/acme/currency-agent?format=%G1", "format"),
    ] {
        let (s, ct, v) = get(&pod, path).await;
        assert_eq!(
            (s, ct.as_str()),
            (400, "application/problem+json"),
            "{path}: {v}"
        );
        assert_eq!(v["parameter"], param, "{path}: {v}");
    }
    // no model in this pod: semantic search says so instead of answering with noise
    let (s, ct, v) = get(&pod, "/api/v1/agents?semantic=swap%20money%20abroad").await;
    assert_eq!((s, ct.as_str()), (503, "application/problem+json"));
    assert!(
        v["detail"].as_str().unwrap_or("").contains("semantic"),
        "{v}"
    );
    let (_, _, ready) = get(&pod, "/ready").await;
    assert_eq!(
        ready["checks"]["semantic_search"]["status"], "unavailable",
        "{ready}"
    );

    // match with reasons
    let r = pod
        .client
        .post(pod.u("/api/v1/agents/match"))
        .json(&json!({"capabilities": {"any": ["currency_exchange", "itinerary"]}, "protocols": ["a2a"], "limit": 5}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert!(!names(&v).is_empty());
    assert!(
        v["items"][0]["why"]
            .as_array()
            .is_some_and(|w| !w.is_empty()),
        "{v}"
    );
    let r = pod
        .client
        .post(pod.u("/api/v1/agents/match"))
        .json(&json!({"capabilitiez": []}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 400);

    // capabilities browse, trust, OpenAPI
    let (s, _, v) = get(&pod, "/api/v1/capabilities").await;
    assert_eq!(s, 200);
    assert_eq!(v["taxonomy"], "1.1.0");
    let (s, _, v) = get(&pod, &format!("/api/v1/trust/{d12}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["digest_verified"], true);
    assert_eq!(v["locations"][0]["repository"], "acme/currency-agent");
    let (s, _, v) = get(&pod, "/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert!(
        v["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{}",
        v["openapi"]
    );
    for p in [
        "/api/v1/agents",
        "/api/v1/agents/match",
        "/api/v1/capabilities",
        "/api/v1/trust/{digest}",
    ] {
        assert!(v["paths"].get(p).is_some(), "openapi lacks {p}");
    }

    // delete: gone from the index when the delete returns
    let r = pod
        .client
        .delete(pod.u(&format!("/v2/acme/currency-agent/manifests/{d12}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 202);
    let (_, _, v) = get(&pod, "/api/v1/agents/acme/currency-agent").await;
    assert_eq!(v["version"], "1.0.0", "{v}");
    pod.stop().await;
}

/// The versions `GET /api/v1/agents/{repo}` lists, highest first (versions that are not
/// semantic order by push time, newest first).
async fn versions(pod: &Pod, repo: &str) -> Vec<String> {
    let (status, _, v) = get(pod, &format!("/api/v1/agents/{repo}")).await;
    assert_eq!(status, 200, "{v}");
    v["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_repush_and_an_online_reindex_keep_the_manifests_push_time() {
    let pod = Pod::start().await;
    let skill = ("nightly", "Nightly builds", "Builds every night.");
    let older = card("nightly", "build-b", "The nightly build agent.", skill);
    let newer = card("nightly", "build-a", "The nightly build agent.", skill);
    push_agent(&pod, "acme/nightly", "build-b", &older).await;
    // Push times are unix seconds: the second push must land in a later second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    push_agent(&pod, "acme/nightly", "build-a", &newer).await;
    assert_eq!(versions(&pod, "acme/nightly").await, ["build-a", "build-b"]);

    // The same manifest pushed again keeps its first push time (the store's), so it does not
    // jump ahead of the newer build.
    push_agent(&pod, "acme/nightly", "build-b", &older).await;
    assert_eq!(versions(&pod, "acme/nightly").await, ["build-a", "build-b"]);

    let r = pod
        .client
        .post(pod.u("/api/v1/admin/reindex"))
        .send()
        .await
        .expect("reindex");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["indexed"], 2, "{v}");
    assert_eq!(v["embedded"], 0, "{v}");
    assert!(v["seconds"].as_f64().is_some(), "{v}");
    assert_eq!(v["semantic"]["status"], "unavailable", "{v}");
    assert_eq!(versions(&pod, "acme/nightly").await, ["build-a", "build-b"]);
    let (_, _, found) = get(&pod, "/api/v1/agents?q=nightly").await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(2), "{found}");

    // Bad parameters name themselves.
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/reindex?batch=0"))
        .send()
        .await
        .expect("reindex");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["parameter"], "batch", "{v}");
    pod.stop().await;
}

#[tokio::test]
async fn the_online_reindex_needs_a_user_when_auth_is_on() {
    let (pod, _htpasswd) = common::pod_with_users(&["alice"]).await;
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/reindex"))
        .send()
        .await
        .expect("reindex");
    assert_eq!(r.status(), 401);
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/reindex"))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .expect("reindex");
    assert_eq!(r.status(), 401);
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/reindex"))
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .expect("reindex");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["indexed"], 0, "{v}");
    pod.stop().await;
}
