//! `/graphql` over real HTTP: the `agents` query mirrors `GET /api/v1/agents` (same results,
//! same refusals naming the parameter), `agent` and `trust` read a pushed agent, the limits
//! refuse deep, wide and malformed requests with 400, and `/metrics` counts what was done.

pub mod common;

use common::{Pod, card, push_agent};
use serde_json::{Value, json};

async fn gql(pod: &Pod, query: &str, variables: Value) -> (u16, Value) {
    let r = pod
        .client
        .post(pod.u("/graphql"))
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn seeded() -> Pod {
    let pod = Pod::start().await;
    push_agent(
        &pod,
        "acme/fx",
        "1.0.0",
        &card(
            "fx",
            "1.0.0",
            "Converts currencies at today's exchange rates",
            ("currency_exchange", "Currency exchange", "Convert money"),
        ),
    )
    .await;
    push_agent(
        &pod,
        "acme/fx",
        "1.2.0",
        &card(
            "fx",
            "1.2.0",
            "Converts currencies at today's exchange rates, with history",
            ("currency_exchange", "Currency exchange", "Convert money"),
        ),
    )
    .await;
    push_agent(
        &pod,
        "travel/planner",
        "2.0.0",
        &card(
            "planner",
            "2.0.0",
            "Plans trips: flights, trains and hotels",
            ("itinerary", "Itinerary", "Plan a journey"),
        ),
    )
    .await;
    pod
}

#[tokio::test]
async fn agents_query_mirrors_the_rest_search() {
    let pod = seeded().await;
    let rest: Value = pod
        .client
        .get(pod.u("/api/v1/agents?q=currencies&facets=true&limit=5"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let (s, v) = gql(
        &pod,
        "query($q: String) { agents(q: $q, facets: true, limit: 5) {
            items { id name namespace version digest trustTier sourcePod score capabilities protocols }
            nextCursor facets { field values { value count } } } }",
        json!({"q": "currencies"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let items = v["data"]["agents"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rest_items = rest["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), rest_items.len(), "{v} vs {rest}");
    assert!(!items.is_empty(), "{v}");
    for (g, r) in items.iter().zip(&rest_items) {
        assert_eq!(g["id"], r["id"]);
        assert_eq!(g["digest"], r["digest"]);
        assert_eq!(g["trustTier"], r["trust_tier"]);
    }
    let facets = v["data"]["agents"]["facets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ns = facets
        .iter()
        .find(|f| f["field"] == "namespace")
        .unwrap_or_else(|| panic!("no namespace facet: {v}"));
    assert_eq!(ns["values"], json!([{"value": "acme", "count": 2}]), "{v}");

    // Repeatable parameters as lists; the same filter as REST.
    let (s, v) = gql(
        &pod,
        r#"{ agents(capability: ["itinerary"], protocol: ["a2a"]) { items { name namespace } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["data"]["agents"]["items"],
        json!([{"name": "planner", "namespace": "travel"}]),
        "{v}"
    );
    pod.stop().await;
}

#[tokio::test]
async fn rest_refusals_become_errors_naming_the_parameter() {
    let pod = seeded().await;
    let (s, v) = gql(
        &pod,
        r#"{ agents(minTrust: "golden") { items { id } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(s, 400, "nothing ran: {v}");
    let e = &v["errors"][0];
    assert_eq!(e["extensions"]["parameter"], "min_trust", "{v}");
    assert_eq!(e["extensions"]["status"], 400, "{v}");
    // Federated scope on a pod outside a mesh: the REST answer, as an error.
    let (s, v) = gql(
        &pod,
        "{ agents(q: \"fx\", scope: FEDERATED) { items { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["errors"][0]["extensions"]["parameter"], "scope", "{v}");
    pod.stop().await;
}

#[tokio::test]
async fn agent_detail_versions_and_trust_chain() {
    let pod = seeded().await;
    let (s, v) = gql(
        &pod,
        r#"{ agent(namespace: "acme", name: "fx") { version versions digest trustTier
              record trust { digest digestVerified signed tier checks { name tier status reason } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let a = &v["data"]["agent"];
    assert_eq!(a["version"], "1.2.0", "{v}");
    assert_eq!(a["versions"], json!(["1.2.0", "1.0.0"]), "{v}");
    assert_eq!(a["trust"]["digest"], a["digest"], "{v}");
    assert_eq!(a["trust"]["digestVerified"], true, "{v}");
    assert!(
        a["trust"]["checks"].as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["name"] == "digest" && c["status"] == "pass")),
        "{v}"
    );
    assert_eq!(a["record"]["identity"]["name"], "fx", "{v}");
    // A version, a range, and nothing at all.
    let (_, v) = gql(
        &pod,
        r#"{ a: agent(namespace: "acme", name: "fx", version: "1.0.0") { version }
             b: agent(namespace: "acme", name: "fx", version: "^1.0") { version }
             c: agent(namespace: "acme", name: "nope") { version } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        v["data"],
        json!({"a": {"version": "1.0.0"}, "b": {"version": "1.2.0"}, "c": null}),
        "{v}"
    );
    let (s, v) = gql(
        &pod,
        r#"{ agent(namespace: "..", name: "x") { version } }"#,
        json!({}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["parameter"], "namespace",
        "{v}"
    );
    pod.stop().await;
}

#[tokio::test]
async fn capabilities_registries_and_get_queries() {
    let pod = seeded().await;
    let (s, v) = gql(
        &pod,
        "{ capabilities { taxonomy other { value count } } registries { prefix } }",
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["capabilities"]["taxonomy"], "1.1.0", "{v}");
    assert_eq!(v["data"]["registries"], json!([]), "{v}");
    // GraphQL over GET.
    let r = pod
        .client
        .get(pod.u("/graphql?query=%7B%20agents(q%3A%22trips%22)%20%7B%20items%20%7B%20name%20%7D%20%7D%20%7D"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["data"]["agents"]["items"][0]["name"], "planner", "{v}");
    // meshPeers outside a mesh: an error, not an empty list that would read as "no peers".
    let (_, v) = gql(&pod, "{ meshPeers { pod } }", json!({})).await;
    assert!(v["errors"][0]["message"].as_str().is_some(), "{v}");
    pod.stop().await;
}

#[tokio::test]
async fn hostile_requests_are_refused_with_400() {
    let pod = seeded().await;
    // Unparseable.
    let (s, v) = gql(&pod, "{ agents(q: ", json!({})).await;
    assert_eq!(s, 400, "{v}");
    // Unknown field.
    let (s, v) = gql(&pod, "{ agents { items { password } } }", json!({})).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("password"),
        "{v}"
    );
    // Too wide: many aliased full pages.
    let wide: String = (0..40)
        .map(|i| {
            format!(
                "a{i}: agents(limit: 100) {{ items {{ id name version digest description }} }} "
            )
        })
        .collect();
    let (s, v) = gql(&pod, &format!("{{ {wide} }}"), json!({})).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("complex"),
        "{v}"
    );
    // Too deep: capability children nested past the depth limit.
    let mut deep = String::from("name");
    for _ in 0..14 {
        deep = format!("name children {{ {deep} }}");
    }
    let (s, v) = gql(
        &pod,
        &format!("{{ capabilities {{ categories {{ {deep} }} }} }}"),
        json!({}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("deep"),
        "{v}"
    );
    // Not JSON at all, and a body over the limit.
    let r = pod
        .client
        .post(pod.u("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 400);
    let huge = format!(
        "{{\"query\": \"{{ agents(q: \\\"{}\\\") {{ items {{ id }} }} }}\"}}",
        "x".repeat(200_000)
    );
    let r = pod
        .client
        .post(pod.u("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        r.status().is_client_error(),
        "oversized body: {}",
        r.status()
    );
    // GET without a query says what to send.
    let r = pod
        .client
        .get(pod.u("/graphql"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 400);
    // Mutations do not exist.
    let (s, _) = gql(&pod, "mutation { x }", json!({})).await;
    assert_eq!(s, 400);
    // Nothing changed: the same three agents are there.
    let (_, v) = gql(&pod, "{ agents { items { id } } }", json!({})).await;
    assert_eq!(
        v["data"]["agents"]["items"].as_array().map(Vec::len),
        Some(3),
        "{v}"
    );
    pod.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_pushes_and_the_index() {
    let pod = seeded().await;
    let _ = pod
        .client
        .get(pod.u("/api/v1/agents?q=fx"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = pod
        .client
        .get(pod.u("/v2/acme/fx/manifests/1.0.0"))
        .header("accept", common::OCI_MANIFEST)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = pod
        .client
        .get(pod.u("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap_or_default();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert_eq!(
        value(
            r#"agentry_http_requests_total{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"}"#
        ),
        3.0
    );
    assert_eq!(
        value(r#"agentry_http_requests_total{method="GET",route="/api/v1/agents",status="200"}"#),
        1.0
    );
    assert!(value("agentry_push_bytes_total") > 0.0);
    assert!(value("agentry_pull_bytes_total") > 0.0);
    assert_eq!(value("agentry_index_agents"), 3.0);
    assert!(
        text.contains(r#"agentry_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/api/v1/agents"}"#),
        "{text}"
    );
    // Raw paths never become series.
    assert!(!text.contains("acme/fx"), "{text}");
    pod.stop().await;
}
