//! The audit log over real HTTP: every write and every refused request is recorded with who,
//! what, when and from where; reads are not; an admin queries it; the hash chain holds.

pub mod common;

use common::pod_with_users;
use serde_json::Value;

#[tokio::test]
async fn writes_and_refusals_are_recorded_and_queryable() {
    let (pod, _htpasswd) = pod_with_users(&["alice"]).await;
    let blob = b"audited bytes";
    let d = agentry_types::Digest::sha256(blob);
    // A write with good credentials, one with none, one with a wrong password, and a read.
    let ok = pod
        .client
        .post(pod.u(&format!("/v2/acme/a/blobs/uploads/?digest={d}")))
        .basic_auth("alice", Some("pw"))
        .body(blob.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.status(), 201);
    let anon = pod
        .client
        .post(pod.u(&format!("/v2/acme/a/blobs/uploads/?digest={d}")))
        .body(blob.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(anon.status(), 401);
    let wrong = pod
        .client
        .delete(pod.u(&format!("/v2/acme/a/blobs/{d}")))
        .basic_auth("mallory\u{7}", Some("guess"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.status(), 401);
    let read = pod
        .client
        .get(pod.u(&format!("/v2/acme/a/blobs/{d}")))
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.status(), 200);

    // The writer is asynchronous: wait for three entries.
    let mut v = Value::Null;
    for _ in 0..100 {
        let r = pod
            .client
            .get(pod.u("/api/v1/admin/audit"))
            .basic_auth("alice", Some("pw"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200);
        v = r.json().await.unwrap_or_default();
        if v["total"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(v["total"], 3, "{v}");
    assert_eq!(v["chain_ok"], true, "{v}");
    let entries = v["entries"].as_array().cloned().unwrap_or_default();
    // Newest first.
    let e = &entries[0];
    assert_eq!(e["method"], "DELETE");
    assert_eq!(e["status"], 401);
    assert_eq!(e["user"], "mallory", "control characters stripped: {e}");
    assert_eq!(e["authenticated"], false);
    assert_eq!(e["forwarded_for"], "203.0.113.9");
    assert!(
        e["from"].as_str().unwrap_or("").starts_with("127.0.0.1:"),
        "{e}"
    );
    assert_eq!(entries[1]["user"], "anonymous");
    assert_eq!(entries[1]["status"], 401);
    assert_eq!(entries[2]["user"], "alice");
    assert_eq!(entries[2]["authenticated"], true);
    assert_eq!(entries[2]["status"], 201);
    assert_eq!(entries[2]["path"], "/v2/acme/a/blobs/uploads/");

    // Filters, and bad parameters named.
    let r = pod
        .client
        .get(pod.u("/api/v1/admin/audit?user=alice&limit=10"))
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(1), "{v}");
    for (q, param) in [
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("who=x", "who"),
    ] {
        let r = pod
            .client
            .get(pod.u(&format!("/api/v1/admin/audit?{q}")))
            .basic_auth("alice", Some("pw"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 400, "{q}");
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(v["parameter"], param, "{v}");
    }
    // The log itself is behind authentication (and reading it is not a write).
    let r = pod
        .client
        .get(pod.u("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    pod.stop().await;
}
