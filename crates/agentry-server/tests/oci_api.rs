//! The OCI Distribution v1.1 API over real HTTP: every endpoint, its success and its errors.

// `pub`: each test binary uses a different part of the shared helpers.
pub mod common;

use agentry_types::{Digest, DigestAlgorithm};
use common::{OCI_INDEX, OCI_MANIFEST, Pod, error_code, manifest, pod_with_users};
use serde_json::json;

#[tokio::test]
async fn base_endpoint_answers_with_the_api_version_header() {
    let pod = Pod::start().await;
    let r = pod.client.get(pod.u("/v2/")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    let r = pod.client.get(pod.u("/health")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let r = pod.client.get(pod.u("/ready")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    pod.stop().await;
}

#[tokio::test]
async fn monolithic_upload_then_get_head_and_ranges() {
    let pod = Pod::start().await;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let d = pod.push_blob("acme/agent", &data).await;

    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["docker-content-digest"], d.to_string().as_str());
    assert_eq!(r.bytes().await.expect("body").as_ref(), &data[..]);

    let r = pod
        .client
        .head(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "10000");

    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .header("range", "bytes=100-199")
        .send()
        .await
        .expect("range");
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 100-199/10000");
    assert_eq!(r.bytes().await.expect("body").as_ref(), &data[100..200]);

    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .header("range", "bytes=-10")
        .send()
        .await
        .expect("suffix");
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.expect("body").as_ref(), &data[9990..]);

    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .header("range", "bytes=20000-")
        .send()
        .await
        .expect("unsatisfiable");
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */10000");

    // The blob belongs to acme/agent only.
    let r = pod
        .client
        .get(pod.u(&format!("/v2/other/blobs/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    pod.stop().await;
}

#[tokio::test]
async fn monolithic_upload_with_wrong_digest_or_length_stores_nothing() {
    let pod = Pod::start().await;
    let wrong = Digest::sha256(b"something else");
    let r = pod
        .client
        .post(pod.u(&format!("/v2/a/blobs/uploads/?digest={wrong}")))
        .body(b"hello".to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    let r = pod
        .client
        .head(pod.u(&format!("/v2/a/blobs/{wrong}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);
    let real = Digest::sha256(b"hello");
    let r = pod
        .client
        .head(pod.u(&format!("/v2/a/blobs/{real}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);

    // A malformed digest parameter.
    let r = pod
        .client
        .post(pod.u("/v2/a/blobs/uploads/?digest=sha256:nothex"))
        .body(b"hello".to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    pod.stop().await;
}

#[tokio::test]
async fn chunked_upload_in_order_out_of_order_status_and_completion() {
    let pod = Pod::start().await;
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    let d = Digest::sha256(&data);
    let r = pod
        .client
        .post(pod.u("/v2/acme/agent/blobs/uploads/"))
        .header("content-length", "0")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    assert!(loc.starts_with("/v2/acme/agent/blobs/uploads/"));
    assert!(r.headers().contains_key("docker-upload-uuid"));

    let patch = |loc: String, range: &str, body: Vec<u8>| {
        pod.client
            .patch(pod.u(&loc))
            .header("content-type", "application/octet-stream")
            .header("content-range", range.to_owned())
            .body(body)
            .send()
    };
    let r = patch(loc.clone(), "0-999", data[..1000].to_vec())
        .await
        .expect("patch");
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-999");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();

    // Out of order: skips bytes 1000..1500.
    let r = patch(loc.clone(), "1500-1999", data[1500..2000].to_vec())
        .await
        .expect("patch");
    assert_eq!(r.status(), 416);
    // Overlapping retry of the first chunk.
    let r = patch(loc.clone(), "0-999", data[..1000].to_vec())
        .await
        .expect("patch");
    assert_eq!(r.status(), 416);
    // Range and body disagree.
    let r = patch(loc.clone(), "1000-1009", data[1000..1005].to_vec())
        .await
        .expect("patch");
    assert_eq!(r.status(), 416);

    let r = pod.client.get(pod.u(&loc)).send().await.expect("status");
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-999");

    let r = patch(loc.clone(), "1000-1999", data[1000..2000].to_vec())
        .await
        .expect("patch");
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();

    // Final chunk in the closing PUT.
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = pod
        .client
        .put(pod.u(&format!("{loc}{sep}digest={d}")))
        .header("content-range", "2000-2999")
        .body(data[2000..].to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/blobs/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.bytes().await.expect("body").as_ref(), &data[..]);

    // The session is closed.
    let r = pod.client.get(pod.u(&loc)).send().await.expect("status");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");
    pod.stop().await;
}

#[tokio::test]
async fn post_then_put_with_a_wrong_digest_is_refused_and_discarded() {
    let pod = Pod::start().await;
    let r = pod
        .client
        .post(pod.u("/v2/a/blobs/uploads/"))
        .send()
        .await
        .expect("post");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let wrong = Digest::sha256(b"not this");
    let r = pod
        .client
        .put(pod.u(&format!("{loc}?digest={wrong}")))
        .body(b"payload".to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    for d in [wrong, Digest::sha256(b"payload")] {
        let r = pod
            .client
            .head(pod.u(&format!("/v2/a/blobs/{d}")))
            .send()
            .await
            .expect("head");
        assert_eq!(r.status(), 404);
    }
    // PUT without a digest.
    let r = pod
        .client
        .post(pod.u("/v2/a/blobs/uploads/"))
        .send()
        .await
        .expect("post");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let r = pod.client.put(pod.u(&loc)).send().await.expect("put");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    pod.stop().await;
}

#[tokio::test]
async fn upload_cancel_and_unknown_sessions() {
    let pod = Pod::start().await;
    let r = pod
        .client
        .post(pod.u("/v2/a/blobs/uploads/"))
        .send()
        .await
        .expect("post");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let r = pod.client.delete(pod.u(&loc)).send().await.expect("delete");
    assert_eq!(r.status(), 204);
    let r = pod.client.get(pod.u(&loc)).send().await.expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UPLOAD_UNKNOWN");

    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        (reqwest::Method::GET, format!("/v2/a/blobs/uploads/{id}")),
        (reqwest::Method::PATCH, format!("/v2/a/blobs/uploads/{id}")),
        (
            reqwest::Method::PUT,
            format!("/v2/a/blobs/uploads/{id}?digest={}", Digest::sha256(b"")),
        ),
        (reqwest::Method::DELETE, format!("/v2/a/blobs/uploads/{id}")),
        (
            reqwest::Method::GET,
            "/v2/a/blobs/uploads/not-a-uuid".to_owned(),
        ),
        (
            reqwest::Method::GET,
            "/v2/a/blobs/uploads/..%2f..%2fetc".to_owned(),
        ),
    ] {
        let r = pod
            .client
            .request(method.clone(), pod.u(&path))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 404, "{method} {path}");
        assert_eq!(
            error_code(r).await,
            "BLOB_UPLOAD_UNKNOWN",
            "{method} {path}"
        );
    }
    // A session belongs to its repository.
    let r = pod
        .client
        .post(pod.u("/v2/a/blobs/uploads/"))
        .send()
        .await
        .expect("post");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let other = loc.replacen("/v2/a/", "/v2/b/", 1);
    let r = pod.client.get(pod.u(&other)).send().await.expect("get");
    assert_eq!(r.status(), 404);
    pod.stop().await;
}

#[tokio::test]
async fn cross_repository_mount_and_its_fallbacks() {
    let pod = Pod::start().await;
    let d = pod.push_blob("src/repo", b"shared layer").await;
    let r = pod
        .client
        .post(pod.u(&format!(
            "/v2/dst/repo/blobs/uploads/?mount={d}&from=src/repo"
        )))
        .send()
        .await
        .expect("mount");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        format!("/v2/dst/repo/blobs/{d}").as_str()
    );
    let r = pod
        .client
        .get(pod.u(&format!("/v2/dst/repo/blobs/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);

    // Mount of a blob the source does not have: a normal upload session starts.
    let missing = Digest::sha256(b"missing");
    let r = pod
        .client
        .post(pod.u(&format!(
            "/v2/third/blobs/uploads/?mount={missing}&from=src/repo"
        )))
        .send()
        .await
        .expect("mount");
    assert_eq!(r.status(), 202);
    pod.stop().await;
}

/// POST `?mount=<digest>` without `from`, and assert the spec's answer to a mount: 201 with
/// the blob's `Location` and `Docker-Content-Digest`, then the blob readable there.
async fn assert_mounted_without_from(pod: &Pod, repo: &str, d: &Digest, user: Option<&str>) {
    let auth = |r: reqwest::RequestBuilder| match user {
        Some(u) => r.basic_auth(u, Some("pw")),
        None => r,
    };
    let r = auth(
        pod.client
            .post(pod.u(&format!("/v2/{repo}/blobs/uploads/?mount={d}"))),
    )
    .send()
    .await
    .expect("mount");
    assert_eq!(r.status(), 201, "mount of {d} into {repo}");
    assert_eq!(
        r.headers()["location"],
        format!("/v2/{repo}/blobs/{d}").as_str()
    );
    assert_eq!(r.headers()["docker-content-digest"], d.to_string().as_str());
    let r = auth(pod.client.get(pod.u(&format!("/v2/{repo}/blobs/{d}"))))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
}

/// POST `?mount=<digest>` without `from` and assert that a normal upload session started.
async fn assert_session_without_from(pod: &Pod, repo: &str, d: &Digest) {
    let r = pod
        .client
        .post(pod.u(&format!("/v2/{repo}/blobs/uploads/?mount={d}")))
        .send()
        .await
        .expect("mount");
    assert_eq!(r.status(), 202, "mount of {d} into {repo}");
    assert!(
        r.headers()["location"]
            .to_str()
            .expect("loc")
            .starts_with(&format!("/v2/{repo}/blobs/uploads/"))
    );
    let r = pod
        .client
        .head(pod.u(&format!("/v2/{repo}/blobs/{d}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_mount_without_from_takes_the_blob_from_a_repository_that_links_it() {
    let pod = Pod::start().await;
    let d = pod.push_blob("src/repo", b"shared layer").await;
    // The conformance suite's OCI_AUTOMATIC_CROSSMOUNT case: into a new repository, and into
    // one that already holds the blob.
    assert_mounted_without_from(&pod, "third", &d, None).await;
    assert_mounted_without_from(&pod, "third", &d, None).await;
    // No repository links the digest: an upload session, as with an unknown `from`.
    assert_session_without_from(&pod, "fourth", &Digest::sha256(b"missing")).await;
    // The bytes are still on disk after the last link went (GC has not run), but a blob
    // unlinked everywhere belongs to no repository and is not mounted back from the bytes.
    for repo in ["src/repo", "third"] {
        let r = pod
            .client
            .delete(pod.u(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 202);
    }
    assert_session_without_from(&pod, "fourth", &d).await;
    pod.stop().await;
}

#[tokio::test]
async fn with_auth_a_mount_without_from_needs_a_user_who_may_read_the_source() {
    let (pod, _htpasswd) = pod_with_users(&["alice", "bob"]).await;
    let d = Digest::sha256(b"private layer");
    let r = pod
        .client
        .post(pod.u(&format!("/v2/alice/agent/blobs/uploads/?digest={d}")))
        .basic_auth("alice", Some("pw"))
        .body(&b"private layer"[..])
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), 201);
    // Anonymous: refused before anything is looked up, so nothing says the blob exists.
    let r = pod
        .client
        .post(pod.u(&format!("/v2/anon/blobs/uploads/?mount={d}")))
        .send()
        .await
        .expect("mount");
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    // Every htpasswd user may read every repository, so bob may mount alice's blob.
    assert_mounted_without_from(&pod, "bob/agent", &d, Some("bob")).await;
    pod.stop().await;
}

#[tokio::test]
async fn a_descriptor_with_data_null_is_accepted_as_if_data_were_absent() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("old/client", b"{}").await;
    let layer = pod.push_blob("old/client", b"layer").await;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cfg.to_string(), "size": 2, "data": null},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer.to_string(), "size": 5, "data": null}],
    }))
    .expect("json");
    let r = pod
        .put_manifest("old/client", "v1", OCI_MANIFEST, &body)
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    // Stored byte for byte, `null` included.
    let r = pod
        .client
        .get(pod.u("/v2/old/client/manifests/v1"))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").as_ref(), &body[..]);
    pod.stop().await;
}

#[tokio::test]
async fn manifests_by_tag_and_digest_with_subject_and_referrers() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("acme/agent", b"{}").await;
    let layer = pod.push_blob("acme/agent", b"layer").await;
    let body = manifest(
        (&cfg, 2),
        &[(&layer, 5)],
        json!({"annotations": {"a": "b"}}),
    );
    let d = Digest::sha256(&body);

    let r = pod
        .put_manifest("acme/agent", "1.0.0", OCI_MANIFEST, &body)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["docker-content-digest"], d.to_string().as_str());
    assert_eq!(
        r.headers()["location"],
        format!("/v2/acme/agent/manifests/{d}").as_str()
    );
    assert!(!r.headers().contains_key("oci-subject"));

    for reference in ["1.0.0".to_owned(), d.to_string()] {
        let r = pod
            .client
            .get(pod.u(&format!("/v2/acme/agent/manifests/{reference}")))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(r.headers()["docker-content-digest"], d.to_string().as_str());
        assert_eq!(
            r.bytes().await.expect("body").as_ref(),
            &body[..],
            "exact bytes"
        );
        let r = pod
            .client
            .head(pod.u(&format!("/v2/acme/agent/manifests/{reference}")))
            .send()
            .await
            .expect("head");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-length"],
            body.len().to_string().as_str()
        );
    }

    // A signature-like artifact referring to it.
    let sig_cfg = pod.push_blob("acme/agent", b"{\"sig\":1}").await;
    let sig = manifest(
        (&sig_cfg, 9),
        &[],
        json!({
            "artifactType": "application/vnd.example.signature.v1",
            "subject": {"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": body.len()},
            "annotations": {"org.example.key": "k1"}
        }),
    );
    let sig_d = Digest::sha256(&sig);
    let r = pod
        .put_manifest("acme/agent", &sig_d.to_string(), OCI_MANIFEST, &sig)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["oci-subject"], d.to_string().as_str());

    // An SBOM without artifactType: reported with the config media type.
    let sbom = manifest(
        (&sig_cfg, 9),
        &[(&layer, 5)],
        json!({"subject": {"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": body.len()}}),
    );
    let r = pod
        .put_manifest("acme/agent", "sbom", OCI_MANIFEST, &sbom)
        .await;
    assert_eq!(r.status(), 201);

    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/referrers/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    assert!(!r.headers().contains_key("oci-filters-applied"));
    let v: serde_json::Value = r.json().await.expect("json");
    let list = v["manifests"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2);
    let found = list
        .iter()
        .find(|m| m["digest"] == sig_d.to_string())
        .expect("sig listed");
    assert_eq!(
        found["artifactType"],
        "application/vnd.example.signature.v1"
    );
    assert_eq!(found["annotations"]["org.example.key"], "k1");
    assert_eq!(found["size"], sig.len());
    assert!(
        list.iter()
            .any(|m| m["artifactType"] == "application/vnd.oci.image.config.v1+json")
    );

    let r = pod
        .client
        .get(pod.u(&format!(
            "/v2/acme/agent/referrers/{d}?artifactType=application/vnd.example.signature.v1"
        )))
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["manifests"].as_array().map(Vec::len), Some(1));

    // The server's one query-string rule: `%2B` is a plus (an unescaped `+` would be a space).
    let r = pod
        .client
        .get(pod.u(&format!(
            "/v2/acme/agent/referrers/{d}?artifactType=application%2Fvnd.oci.image.config.v1%2Bjson"
        )))
        .send()
        .await
        .expect("get");
    let v: serde_json::Value = r.json().await.expect("json");
    let typed = v["manifests"].as_array().cloned().unwrap_or_default();
    assert!(!typed.is_empty(), "{v}");
    assert!(
        typed
            .iter()
            .all(|m| m["artifactType"] == "application/vnd.oci.image.config.v1+json"),
        "{v}"
    );
    // A malformed escape is a 400 naming the parameter, not a silent mismatch.
    let r = pod
        .client
        .get(pod.u(&format!("/v2/acme/agent/referrers/{d}?artifactType=%zz")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["errors"][0]["code"], "NAME_INVALID", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("artifactType")),
        "{v}"
    );

    // Unknown subject or repository: empty index, never 404.
    let r = pod
        .client
        .get(pod.u(&format!(
            "/v2/nobody/here/referrers/{}",
            Digest::sha256(b"x")
        )))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let r = pod
        .client
        .get(pod.u("/v2/acme/agent/referrers/sha256:bad"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    pod.stop().await;
}

#[tokio::test]
async fn bad_manifests_get_spec_errors_and_leave_nothing() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("a/b", b"{}").await;
    let missing = Digest::sha256(b"never uploaded");
    let body = manifest((&cfg, 2), &[(&missing, 14)], json!({}));
    let r = pod.put_manifest("a/b", "t1", OCI_MANIFEST, &body).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    let r = pod
        .client
        .get(pod.u("/v2/a/b/manifests/t1"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");

    let good = manifest((&cfg, 2), &[], json!({}));
    for (name, bytes) in [
        ("malformed", b"{not json".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("array", b"[]".to_vec()),
        ("schema1", br#"{"schemaVersion":1,"name":"x"}"#.to_vec()),
        ("bad descriptor", br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"sha256:1","size":"2"},"layers":[]}"#.to_vec()),
        ("deep", format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes()),
        ("not utf8", vec![0xff, 0xfe, 0x00]),
    ] {
        let r = pod.put_manifest("a/b", "t2", OCI_MANIFEST, &bytes).await;
        assert_eq!(r.status(), 400, "{name}");
        assert_eq!(error_code(r).await, "MANIFEST_INVALID", "{name}");
    }
    // Content-Type disagreeing with mediaType.
    let r = pod.put_manifest("a/b", "t2", OCI_INDEX, &good).await;
    assert_eq!(r.status(), 400);
    // Digest reference that does not match the body.
    let r = pod
        .put_manifest(
            "a/b",
            &Digest::sha256(b"other").to_string(),
            OCI_MANIFEST,
            &good,
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "DIGEST_INVALID");
    // Over the 4 MiB limit: 413.
    let mut huge = good.clone();
    huge.truncate(huge.len() - 1);
    huge.extend_from_slice(b",\"annotations\":{\"x\":\"");
    huge.extend(std::iter::repeat_n(b'a', 4 * 1024 * 1024));
    huge.extend_from_slice(b"\"}}");
    let r = pod.put_manifest("a/b", "t2", OCI_MANIFEST, &huge).await;
    assert_eq!(r.status(), 413);
    // Nothing was tagged.
    let r = pod
        .client
        .get(pod.u("/v2/a/b/tags/list"))
        .send()
        .await
        .expect("tags");
    if r.status() == 200 {
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(v["tags"], json!([]));
    } else {
        assert_eq!(r.status(), 404);
    }
    pod.stop().await;
}

#[tokio::test]
async fn indexes_need_their_children_and_docker_types_are_kept() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("multi", b"{}").await;
    let child = manifest((&cfg, 2), &[], json!({}));
    let child_d = Digest::sha256(&child);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child_d.to_string(), "size": child.len(),
                       "platform": {"os": "linux", "architecture": "amd64"}}]
    }))
    .expect("json");
    let r = pod.put_manifest("multi", "latest", OCI_INDEX, &index).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "MANIFEST_BLOB_UNKNOWN");
    let r = pod
        .put_manifest("multi", &child_d.to_string(), OCI_MANIFEST, &child)
        .await;
    assert_eq!(r.status(), 201);
    let r = pod.put_manifest("multi", "latest", OCI_INDEX, &index).await;
    assert_eq!(r.status(), 201);

    let docker = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg.to_string(), "size": 2},
        "layers": []
    }))
    .expect("json");
    let r = pod
        .put_manifest(
            "multi",
            "docker",
            "application/vnd.docker.distribution.manifest.v2+json",
            &docker,
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = pod
        .client
        .get(pod.u("/v2/multi/manifests/docker"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    pod.stop().await;
}

#[tokio::test]
async fn sha512_blobs_and_manifests() {
    let pod = Pod::start().await;
    let data = b"sha512 content";
    let d = Digest::of(DigestAlgorithm::Sha512, data);
    let r = pod
        .client
        .post(pod.u(&format!("/v2/s/blobs/uploads/?digest={d}")))
        .body(data.to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let r = pod
        .client
        .get(pod.u(&format!("/v2/s/blobs/{d}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.bytes().await.expect("body").as_ref(), data);
    let body = manifest((&d, data.len()), &[], json!({}));
    let md = Digest::of(DigestAlgorithm::Sha512, &body);
    let r = pod
        .put_manifest("s", &md.to_string(), OCI_MANIFEST, &body)
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["docker-content-digest"],
        md.to_string().as_str()
    );
    pod.stop().await;
}

#[tokio::test]
async fn tags_and_catalog_paginate_with_link_headers() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("p/one", b"{}").await;
    let body = manifest((&cfg, 2), &[], json!({}));
    for tag in ["b", "a", "d", "c", "e"] {
        assert_eq!(
            pod.put_manifest("p/one", tag, OCI_MANIFEST, &body)
                .await
                .status(),
            201
        );
    }
    for repo in ["p/two", "p/three"] {
        let cfg = pod.push_blob(repo, b"{}").await;
        let body = manifest((&cfg, 2), &[], json!({}));
        assert_eq!(
            pod.put_manifest(repo, "x", OCI_MANIFEST, &body)
                .await
                .status(),
            201
        );
    }
    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list"))
        .send()
        .await
        .expect("get");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(
        v,
        json!({"name": "p/one", "tags": ["a", "b", "c", "d", "e"]})
    );

    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list?n=2"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["link"],
        "</v2/p/one/tags/list?n=2&last=b>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["tags"], json!(["a", "b"]));
    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list?n=2&last=d"))
        .send()
        .await
        .expect("get");
    assert!(!r.headers().contains_key("link"));
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["tags"], json!(["e"]));
    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list?n=0"))
        .send()
        .await
        .expect("get");
    assert!(!r.headers().contains_key("link"));
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["tags"], json!([]));
    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list?n=x"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    let r = pod
        .client
        .get(pod.u("/v2/p/one/tags/list?n=%3"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "PAGINATION_NUMBER_INVALID");
    let r = pod
        .client
        .get(pod.u("/v2/p/none/tags/list"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "NAME_UNKNOWN");

    let r = pod
        .client
        .get(pod.u("/v2/_catalog?n=2"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()["link"],
        "</v2/_catalog?n=2&last=p%2Fthree>; rel=\"next\""
    );
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["repositories"], json!(["p/one", "p/three"]));
    let r = pod
        .client
        .get(pod.u("/v2/_catalog?n=2&last=p%2Fthree"))
        .send()
        .await
        .expect("get");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["repositories"], json!(["p/two"]));
    pod.stop().await;
}

#[tokio::test]
async fn deleting_tags_manifests_and_blobs() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("del/me", b"{}").await;
    let body = manifest((&cfg, 2), &[], json!({}));
    let d = Digest::sha256(&body);
    assert_eq!(
        pod.put_manifest("del/me", "v1", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
    assert_eq!(
        pod.put_manifest("del/me", "v2", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );

    let r = pod
        .client
        .delete(pod.u("/v2/del/me/manifests/v1"))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 202);
    let r = pod
        .client
        .get(pod.u("/v2/del/me/manifests/v1"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let r = pod
        .client
        .get(pod.u("/v2/del/me/manifests/v2"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);

    let r = pod
        .client
        .delete(pod.u(&format!("/v2/del/me/manifests/{d}")))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 202);
    for reference in ["v2".to_owned(), d.to_string()] {
        let r = pod
            .client
            .get(pod.u(&format!("/v2/del/me/manifests/{reference}")))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404);
    }
    let r = pod
        .client
        .delete(pod.u(&format!("/v2/del/me/manifests/{d}")))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "MANIFEST_UNKNOWN");

    let r = pod
        .client
        .delete(pod.u(&format!("/v2/del/me/blobs/{cfg}")))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 202);
    let r = pod
        .client
        .head(pod.u(&format!("/v2/del/me/blobs/{cfg}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);
    let r = pod
        .client
        .delete(pod.u(&format!("/v2/del/me/blobs/{cfg}")))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "BLOB_UNKNOWN");
    pod.stop().await;
}

#[tokio::test]
async fn hostile_names_and_references_are_refused_with_400() {
    let pod = Pod::start().await;
    let long = format!("/v2/{}/tags/list", "a".repeat(300));
    for path in [
        "/v2/../etc/passwd/tags/list",
        "/v2/%2e%2e/x/tags/list",
        "/v2/a/%2e%2e/tags/list",
        "/v2//abs/tags/list",
        "/v2/UPPER/tags/list",
        "/v2/a..b/tags/list",
        long.as_str(),
    ] {
        let (status, body) = pod.raw("GET", path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let code = v["errors"][0]["code"].as_str().unwrap_or("").to_owned();
        assert!(
            ["NAME_INVALID", "MANIFEST_INVALID"].contains(&code.as_str()),
            "{path}: {code}"
        );
    }
    let r = pod
        .put_manifest("a/b", &format!("t{}", "x".repeat(200)), OCI_MANIFEST, b"{}")
        .await;
    assert_eq!(r.status(), 400);
    // A reference that is not a valid tag: refused on PUT, merely unknown on reads.
    for bad in ["..", "-bad", ".INVALID_MANIFEST_NAME"] {
        let (status, _) = pod.raw("PUT", &format!("/v2/a/b/manifests/{bad}")).await;
        assert_eq!(status, 400, "PUT {bad}");
        for method in ["GET", "HEAD", "DELETE"] {
            let (status, _) = pod.raw(method, &format!("/v2/a/b/manifests/{bad}")).await;
            assert_eq!(status, 404, "{method} {bad}");
        }
    }
    pod.stop().await;
}

#[tokio::test]
async fn blob_size_limit_is_enforced_while_streaming() {
    let pod = Pod::start_with(|c| c.max_blob_bytes = 1024).await;
    let data = vec![7u8; 4096];
    let d = Digest::sha256(&data);
    let r = pod
        .client
        .post(pod.u(&format!("/v2/l/blobs/uploads/?digest={d}")))
        .body(data.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    let r = pod
        .client
        .post(pod.u("/v2/l/blobs/uploads/"))
        .send()
        .await
        .expect("post");
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    let r = pod
        .client
        .patch(pod.u(&loc))
        .body(data)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 413);
    let r = pod.client.get(pod.u(&loc)).send().await.expect("status");
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], "0-0");
    pod.stop().await;
}

#[tokio::test]
async fn wrong_content_length_is_a_client_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pod = Pod::start().await;
    let d = Digest::sha256(b"0123456789");
    let host = pod.url.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let req = format!(
        "POST /v2/cl/blobs/uploads/?digest={d} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789"
    );
    s.write_all(req.as_bytes()).await.expect("write");
    s.shutdown().await.expect("shutdown write");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp).await;
    if !resp.is_empty() {
        let status: u16 = resp
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert!((400..500).contains(&status), "{resp}");
    }
    let r = pod
        .client
        .head(pod.u(&format!("/v2/cl/blobs/{d}")))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);
    pod.stop().await;
}

#[tokio::test]
async fn token_challenge_when_htpasswd_is_configured() {
    let (pod, _htpasswd) = pod_with_users(&["alice"]).await;
    let r = pod.client.get(pod.u("/v2/")).send().await.expect("get");
    assert_eq!(r.status(), 401);
    // The Docker registry token flow: the realm is this pod's /token; Basic credentials are
    // still accepted on every request.
    assert_eq!(
        r.headers()["www-authenticate"].to_str().expect("hdr"),
        format!("Bearer realm=\"{}/token\",service=\"agentry\"", pod.url)
    );
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    let r = pod
        .client
        .get(pod.u("/v2/"))
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let r = pod
        .client
        .get(pod.u("/v2/"))
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let r = pod.client.get(pod.u("/health")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    pod.stop().await;
}

#[tokio::test]
async fn online_gc_removes_only_unreferenced_blobs() {
    let pod = Pod::start().await;
    let cfg = pod.push_blob("gc/repo", b"{}").await;
    let kept = pod.push_blob("gc/repo", b"referenced layer").await;
    let body = manifest((&cfg, 2), &[(&kept, 16)], json!({}));
    assert_eq!(
        pod.put_manifest("gc/repo", "v1", OCI_MANIFEST, &body)
            .await
            .status(),
        201
    );
    let orphan = pod.push_blob("gc/repo", b"orphan blob").await;
    let r = pod
        .client
        .delete(pod.u(&format!("/v2/gc/repo/blobs/{orphan}")))
        .send()
        .await
        .expect("del");
    assert_eq!(r.status(), 202);

    // A dry run reports the orphan and removes nothing.
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/gc?dry_run=true&grace_secs=0"))
        .send()
        .await
        .expect("gc");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["dry_run"], true);
    let removed: Vec<String> = v["removed"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| b["digest"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(removed, vec![orphan.to_string()]);
    let blob_file = pod
        .dir
        .path()
        .join("data/blobs/sha256")
        .join(&orphan.hex()[..2])
        .join(orphan.hex());
    assert!(
        blob_file.exists(),
        "dry run removed {}",
        blob_file.display()
    );

    let r = pod
        .client
        .post(pod.u("/api/v1/admin/gc?grace_secs=0"))
        .send()
        .await
        .expect("gc");
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["removed"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(!blob_file.exists());
    // Everything the manifest references is still served.
    for d in [&cfg, &kept] {
        let r = pod
            .client
            .get(pod.u(&format!("/v2/gc/repo/blobs/{d}")))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
    }
    // Bad parameters name themselves.
    let r = pod
        .client
        .post(pod.u("/api/v1/admin/gc?grace_secs=soon"))
        .send()
        .await
        .expect("gc");
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    pod.stop().await;
}
