//! Kill the pod with SIGKILL while clients upload blobs and put manifests concurrently, restart
//! it on the same data directory, and check the durability promise: everything that was
//! acknowledged (201) is intact and readable, and every tag that is visible points at a
//! complete manifest whose blobs are all readable — nothing half-stored, nothing unacknowledged
//! except requests that were in flight at the kill.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentry_types::Digest;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(data: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_agentry"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("AGENTRY_CONFIG", "/dev/null")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agentry serve")
}

async fn wait_ready(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/ready")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("pod at {url} never became ready");
}

/// Deterministic pseudo-random bytes (xorshift), distinct per (task, i).
fn payload(task: u64, i: u64, len: usize) -> Vec<u8> {
    let mut x = (task + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (i + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[derive(Default)]
struct Ledger {
    /// Blobs whose upload was acknowledged: repo, digest, bytes.
    blobs: Vec<(String, Digest, Vec<u8>)>,
    /// Tags whose manifest PUT was acknowledged: (repo, tag) → manifest digest.
    tags_acked: BTreeMap<(String, String), Digest>,
    /// Tags whose manifest PUT was sent (acknowledged or not).
    tags_attempted: BTreeSet<(String, String)>,
}

async fn worker(client: reqwest::Client, url: String, task: u64, ledger: Arc<Mutex<Ledger>>) {
    let repo = format!("crash/t{task}");
    for i in 0.. {
        // A config (monolithic upload) and a layer (POST + PATCH + PUT).
        let config = payload(task, i * 2, 64 + (i as usize % 50));
        let layer = payload(task, i * 2 + 1, 8 * 1024 + (i as usize % 7) * 4096);
        let cd = Digest::sha256(&config);
        let ld = Digest::sha256(&layer);
        let Ok(r) = client
            .post(format!("{url}/v2/{repo}/blobs/uploads/?digest={cd}"))
            .body(config.clone())
            .send()
            .await
        else {
            return;
        };
        if r.status() != 201 {
            return;
        }
        ledger
            .lock()
            .expect("ledger")
            .blobs
            .push((repo.clone(), cd.clone(), config.clone()));

        let Ok(r) = client
            .post(format!("{url}/v2/{repo}/blobs/uploads/"))
            .send()
            .await
        else {
            return;
        };
        let Some(loc) = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return;
        };
        let Ok(r) = client
            .patch(format!("{url}{loc}"))
            .header("content-range", format!("0-{}", layer.len() - 1))
            .body(layer.clone())
            .send()
            .await
        else {
            return;
        };
        let Some(loc) = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return;
        };
        let Ok(r) = client.put(format!("{url}{loc}?digest={ld}")).send().await else {
            return;
        };
        if r.status() != 201 {
            return;
        }
        ledger
            .lock()
            .expect("ledger")
            .blobs
            .push((repo.clone(), ld.clone(), layer.clone()));

        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld.to_string(), "size": layer.len()}],
            "annotations": {"i": i.to_string()}
        }))
        .expect("json");
        let md = Digest::sha256(&manifest);
        let tag = format!("v{i}");
        ledger
            .lock()
            .expect("ledger")
            .tags_attempted
            .insert((repo.clone(), tag.clone()));
        let Ok(r) = client
            .put(format!("{url}/v2/{repo}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest)
            .send()
            .await
        else {
            return;
        };
        if r.status() != 201 {
            return;
        }
        ledger
            .lock()
            .expect("ledger")
            .tags_acked
            .insert((repo.clone(), tag), md);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut child = start(&data, port);
    wait_ready(&client, &url).await;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let workers: Vec<_> = (0..8)
        .map(|t| tokio::spawn(worker(client.clone(), url.clone(), t, ledger.clone())))
        .collect();
    // Let work accumulate (by progress, not by a fixed time: slow machines still get a
    // meaningful amount), then kill mid-flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.lock().expect("ledger").tags_acked.len() < 40 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    let _ = child.wait();
    for w in workers {
        let _ = w.await;
    }
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("workers done")
        .into_inner()
        .expect("ledger");
    assert!(
        !ledger.tags_acked.is_empty(),
        "no acknowledged manifests before the kill"
    );

    let mut child = start(&data, port);
    wait_ready(&client, &url).await;

    // 1. Every acknowledged blob is there, byte for byte.
    for (repo, d, bytes) in &ledger.blobs {
        let r = client
            .get(format!("{url}/v2/{repo}/blobs/{d}"))
            .send()
            .await
            .expect("get blob");
        assert_eq!(r.status(), 200, "acknowledged blob {d} in {repo} lost");
        assert_eq!(
            &r.bytes().await.expect("body")[..],
            &bytes[..],
            "blob {d} corrupted"
        );
    }
    // 2. Every acknowledged tag points at its manifest.
    for ((repo, tag), md) in &ledger.tags_acked {
        let r = client
            .get(format!("{url}/v2/{repo}/manifests/{tag}"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "acknowledged tag {repo}:{tag} lost");
        let body = r.bytes().await.expect("body");
        assert_eq!(
            &Digest::sha256(&body),
            md,
            "tag {repo}:{tag} points elsewhere"
        );
    }
    // 3. Every visible tag was at least sent, and its manifest and blobs are complete.
    for t in 0..8 {
        let repo = format!("crash/t{t}");
        let r = client
            .get(format!("{url}/v2/{repo}/tags/list"))
            .send()
            .await
            .expect("tags");
        if r.status() == 404 {
            continue;
        }
        let v: serde_json::Value = r.json().await.expect("json");
        for tag in v["tags"].as_array().cloned().unwrap_or_default() {
            let tag = tag.as_str().expect("tag").to_owned();
            assert!(
                ledger.tags_attempted.contains(&(repo.clone(), tag.clone())),
                "{repo}:{tag} visible but never sent"
            );
            let r = client
                .get(format!("{url}/v2/{repo}/manifests/{tag}"))
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            let m: serde_json::Value = r.json().await.expect("manifest json");
            let mut descs = vec![m["config"].clone()];
            descs.extend(m["layers"].as_array().cloned().unwrap_or_default());
            for d in descs {
                let digest: Digest = d["digest"]
                    .as_str()
                    .expect("digest")
                    .parse()
                    .expect("valid");
                let r = client
                    .get(format!("{url}/v2/{repo}/blobs/{digest}"))
                    .send()
                    .await
                    .expect("blob");
                assert_eq!(
                    r.status(),
                    200,
                    "{repo}:{tag} references missing blob {digest}"
                );
                let body = r.bytes().await.expect("body");
                assert_eq!(Digest::sha256(&body), digest, "blob {digest} corrupted");
            }
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
}
