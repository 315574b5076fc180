//! Real records pushed through a real pod, one rule for all (ARCHITECTURE.md, "What refuses a
//! record"): every server of the MCP Registry's 2025-05-16 seed that has a name lands and
//! carries its warnings in the discovery API; a `--strict-records` pod refuses the same ones,
//! naming each warning; the deliberately invalid documents of other projects are refused with
//! a message naming the field, and nothing of them is stored.

// `pub`: each test binary uses a different part of the shared helpers.
pub mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use agentry_formats::{Format, media_type_for};
use agentry_types::AGENT_ARTIFACT_TYPE;
use common::{OCI_MANIFEST, Pod};
use futures::StreamExt;
use serde_json::{Value, json};

fn real(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Pushes a one-layer agent artifact; returns the status and the response body.
async fn push(pod: &Pod, repo: &str, tag: &str, media_type: &str, doc: &[u8]) -> (u16, Value) {
    let config = b"{}";
    let cd = pod.push_blob(repo, config).await;
    let ld = pod.push_blob(repo, doc).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": AGENT_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": media_type, "digest": ld.to_string(), "size": doc.len()}],
    }))
    .unwrap_or_default();
    let r = pod.put_manifest(repo, tag, OCI_MANIFEST, &m).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn get_json(pod: &Pod, path: &str) -> (u16, Value) {
    let r = pod
        .client
        .get(pod.u(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// The seed's servers, each as the bytes of its own document.
fn seed() -> Vec<(usize, Vec<u8>, Value)> {
    let all: Vec<Value> = serde_json::from_slice(&real("mcp/seed/seed_2025_05_16.json"))
        .unwrap_or_else(|e| panic!("seed: {e}"));
    all.into_iter()
        .enumerate()
        .map(|(i, s)| (i, serde_json::to_vec(&s).unwrap_or_default(), s))
        .collect()
}

fn named(s: &Value) -> bool {
    s["name"].as_str().is_some_and(|n| !n.is_empty())
}

/// The pointers of the problems in a refusal's detail (`errors[0].detail`, a ValidationReport).
fn refused_pointers(body: &Value) -> Vec<String> {
    body["errors"][0]["detail"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["pointer"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_named_seed_server_lands_with_its_warnings_and_a_strict_pod_refuses_them() {
    let pod = Pod::start().await;
    let strict = Pod::start_with(|c| c.strict_records = true).await;
    let mt = media_type_for(Format::Mcp);
    let servers = seed();
    assert_eq!(servers.len(), 471, "the seed file changed");

    // The permissive pod: 8 pushes at a time (the index commits them in groups).
    let results: Vec<(usize, u16, Value)> = futures::stream::iter(servers.iter())
        .map(|(i, bytes, _)| {
            let pod = &pod;
            async move {
                let (status, body) =
                    push(pod, &format!("seed/s{i}"), "0.0.1-seed", mt, bytes).await;
                (*i, status, body)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut landed = 0;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut stored_warnings: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, status, body) in &results {
        let server = &servers[*i].2;
        if !named(server) {
            assert_eq!(*status, 400, "seed/{i} without a name was accepted");
            assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID");
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("names no agent")),
                "seed/{i}: {body}"
            );
            continue;
        }
        assert_eq!(*status, 201, "seed/{i} refused: {body}");
        landed += 1;
        // The discovery API's exact lookup answers the stored record with its warnings.
        let (st, detail) = get_json(&pod, &format!("/api/v1/agents/seed/s{i}/0.0.1-seed")).await;
        assert_eq!(st, 200, "seed/s{i}: {detail}");
        let warnings = detail["record"]["provenance"]["warnings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!warnings.is_empty(), "seed/s{i} has no warnings: {detail}");
        let pointers: Vec<String> = warnings
            .iter()
            .filter_map(|w| w["pointer"].as_str().map(str::to_owned))
            .collect();
        assert!(
            warnings
                .iter()
                .all(|w| w["reason"].as_str().is_some_and(|r| !r.is_empty())),
            "{warnings:?}"
        );
        // What the issue named: registry_name "unknown" and an empty transport_type.
        for (j, p) in server["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if p["registry_name"] == "unknown" {
                let at = format!("/packages/{j}/registry_name");
                assert!(
                    pointers.contains(&at),
                    "seed/s{i}: {at} not in {pointers:?}"
                );
            }
        }
        for (j, r) in server["remotes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if r["transport_type"] == "" {
                let at = format!("/remotes/{j}/transport_type");
                assert!(
                    pointers.contains(&at),
                    "seed/s{i}: {at} not in {pointers:?}"
                );
            }
        }
        for w in &warnings {
            let reason = w["reason"].as_str().unwrap_or_default();
            let kind = reason
                .rsplit_once("; accepted: ")
                .map_or_else(|| reason.chars().take(50).collect(), |(_, k)| k.to_owned());
            *kinds.entry(kind).or_default() += 1;
        }
        stored_warnings.insert(*i, pointers);
    }
    assert_eq!(landed, 464, "of the seed's 464 named servers");
    println!("seed servers landed: {landed} of {}", servers.len());
    for (k, n) in &kinds {
        println!("  {n:>5}  {k}");
    }

    // The strict pod refuses each of them, naming every warning, and stores nothing.
    let refusals: Vec<(usize, u16, Value)> = futures::stream::iter(servers.iter())
        .filter(|(_, _, s)| std::future::ready(named(s)))
        .map(|(i, bytes, _)| {
            let strict = &strict;
            async move {
                let (status, body) =
                    push(strict, &format!("seed/s{i}"), "0.0.1-seed", mt, bytes).await;
                (*i, status, body)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(refusals.len(), 464);
    for (i, status, body) in &refusals {
        assert_eq!(*status, 400, "strict pod accepted seed/s{i}");
        assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--strict-records")),
            "{body}"
        );
        let named_ptrs = refused_pointers(body);
        for p in &stored_warnings[i] {
            assert!(named_ptrs.contains(p), "seed/s{i}: {p} not named in {body}");
        }
    }
    let (st, _) = get_json(&strict, "/v2/seed/s0/manifests/0.0.1-seed").await;
    assert_eq!(st, 404, "a refused manifest was stored");
    let (_, none) = get_json(&strict, "/api/v1/agents?q=mcp").await;
    assert_eq!(none["items"].as_array().map_or(0, Vec::len), 0, "{none}");

    // A record without warnings is accepted by the strict pod as well.
    let clean = real("mcp/examples/registry-docs/valid/minimal.json");
    let (st, body) = push(&strict, "io.github.user/weather", "1.0.2", mt, &clean).await;
    assert_eq!(st, 201, "{body}");
    pod.stop().await;
    strict.stop().await;
}

#[tokio::test]
async fn deliberately_invalid_documents_are_refused_naming_the_field() {
    let pod = Pod::start().await;
    let mcp = media_type_for(Format::Mcp);
    let oasf = media_type_for(Format::Oasf);
    for (file, media_type, names) in [
        (
            "mcp/examples/registry-docs/invalid/bad-name-pattern.json",
            mcp,
            &["/name"][..],
        ),
        (
            "mcp/examples/registry-docs/invalid/missing-name.json",
            mcp,
            &["\"name\""][..],
        ),
        (
            "mcp/examples/registry-docs/invalid/positional-argument-missing-value.json",
            mcp,
            &["/packages/0/packageArguments/0"][..],
        ),
        (
            "oasf/examples/oasf-sdk/invalid_0.7.0_record.json",
            oasf,
            &["\"authors\"", "\"created_at\"", "\"description\""][..],
        ),
        (
            "oasf/examples/oasf-sdk/invalid_1.0.0_record.json",
            oasf,
            &["\"skills\"", "\"version\""][..],
        ),
        (
            "oasf/examples/agntcy-dir/validate/record_invalid.json",
            oasf,
            &["/skills/0"][..],
        ),
    ] {
        let (status, body) = push(&pod, "invalid/doc", "1.0.0", media_type, &real(file)).await;
        assert_eq!(status, 400, "{file} accepted: {body}");
        assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID", "{file}");
        // The message and every problem of the detail, unescaped.
        let mut text = body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        for e in body["errors"][0]["detail"]["errors"]
            .as_array()
            .into_iter()
            .flatten()
        {
            text.push_str(&format!(
                "\n{}: {}",
                e["pointer"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            ));
        }
        for n in names {
            assert!(text.contains(n), "{file}: {n} not named in {body}");
        }
        let (st, _) = get_json(&pod, "/v2/invalid/doc/manifests/1.0.0").await;
        assert_eq!(st, 404, "{file}: a refused manifest was stored");
    }
    pod.stop().await;
}

#[tokio::test]
async fn a_whitepaper_manifest_under_the_short_api_version_is_found_by_its_skills_and_protocols() {
    let pod = Pod::start().await;
    let manifest =
        include_str!("../../agentry-formats/tests/fixtures/whitepaper-financial-analyst.ossa.yaml")
            .replace("apiVersion: ossa.ai/v1", "apiVersion: ossa/v1");
    let (status, body) = push(
        &pod,
        "acme/financial-analyst",
        "2.4.1",
        media_type_for(Format::Ossa),
        manifest.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for query in [
        "capability=financial-analysis",
        "capability=risk-assessment",
        "protocol=mcp",
        "protocol=a2a",
    ] {
        let (st, v) = get_json(&pod, &format!("/api/v1/agents?{query}")).await;
        assert_eq!(st, 200, "{v}");
        let items = v["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1, "{query}: {v}");
        assert_eq!(items[0]["name"], "financial-analyst");
        assert!(
            items[0]["capabilities"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
            "{query}: {v}"
        );
    }
    let (_, detail) = get_json(&pod, "/api/v1/agents/acme/financial-analyst/2.4.1").await;
    assert_eq!(
        detail["record"]["provenance"]["layout"], "whitepaper",
        "{detail}"
    );
    pod.stop().await;
}
