//! A pod over the real PostgreSQL (`AGENTRY_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`), each test in its own schema: push, pull and
//! search an agent, restart over the same database and data directory, still there; two
//! pods over one database and one blob directory; `/ready` while the database is unreachable.

pub mod common;

use std::time::Duration;

use agentry_types::{AGENT_ARTIFACT_TYPE, Digest};
use common::{OCI_MANIFEST, Pod};
use serde_json::{Value, json};

fn base_url() -> String {
    std::env::var("AGENTRY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema, dropped at the end (best effort).
struct Schema {
    name: String,
    admin: sqlx::PgPool,
}

impl Schema {
    async fn new() -> Schema {
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&base_url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {} ({e}): start it (`service postgresql start`, \
                     trust auth, database `test`) or set AGENTRY_TEST_POSTGRES",
                    agentry_store_postgres::redact_url(&base_url())
                )
            });
        let name = format!("agentry_t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("create schema: {e}"));
        Schema { name, admin }
    }

    /// The URL a pod is given: the base URL with this schema as its search path.
    fn url_via(&self, host_port: &str) -> String {
        let base = base_url();
        let mut u = url::Url::parse(&base).unwrap_or_else(|e| panic!("{e}"));
        if let Some((h, p)) = host_port.split_once(':') {
            u.set_host(Some(h)).unwrap_or_else(|e| panic!("{e}"));
            u.set_port(p.parse().ok())
                .unwrap_or_else(|_| panic!("port"));
        }
        u.query_pairs_mut()
            .append_pair("options", &format!("-c search_path={}", self.name));
        u.to_string()
    }

    fn url(&self) -> String {
        self.url_via("")
    }

    async fn drop_now(self) {
        let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await;
        self.admin.close().await;
    }
}

const A2A_CARD: &str = "application/vnd.a2a.card.v1+json";

fn card(name: &str, version: &str, description: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "protocolVersion": "0.3.0",
        "name": name,
        "description": description,
        "url": "http://localhost:10000/",
        "version": version,
        "capabilities": {"streaming": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "exchange", "name": "Exchange", "description": "Converts currencies.", "tags": ["fx"]}]
    }))
    .unwrap_or_default()
}

/// Push an agent (config + one A2A card layer) to `repo:tag`: (manifest digest, card digest).
async fn push_agent(pod: &Pod, repo: &str, tag: &str, card: &[u8]) -> (Digest, Digest, Vec<u8>) {
    let config = b"{}";
    let cd = pod.push_blob(repo, config).await;
    let ld = pod.push_blob(repo, card).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": AGENT_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": A2A_CARD, "digest": ld.to_string(), "size": card.len(),
                    "annotations": {"org.opencontainers.image.title": "agent-card.json"}}],
    }))
    .unwrap_or_default();
    let r = pod.put_manifest(repo, tag, OCI_MANIFEST, &m).await;
    let status = r.status();
    assert_eq!(
        status,
        201,
        "push {repo}:{tag}: {}",
        r.text().await.unwrap_or_default()
    );
    (Digest::sha256(&m), ld, m)
}

async fn get(pod: &Pod, path: &str) -> (u16, Vec<u8>) {
    let r = pod
        .client
        .get(pod.u(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let s = r.status().as_u16();
    (s, r.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

async fn get_json(pod: &Pod, path: &str) -> (u16, Value) {
    let (s, b) = get(pod, path).await;
    (s, serde_json::from_slice(&b).unwrap_or_default())
}

fn found(v: &Value, name: &str) -> bool {
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|i| i["name"].as_str() == Some(name))
}

async fn pod_over(url: String, data: std::path::PathBuf) -> Pod {
    Pod::start_with(move |c| {
        c.metadata = Some(url);
        c.data = data;
    })
    .await
}

/// Everything a pull needs is served: the manifest by tag and its card blob.
async fn assert_pullable(
    pod: &Pod,
    repo: &str,
    tag: &str,
    manifest: &[u8],
    card_d: &Digest,
    card: &[u8],
) {
    let (s, body) = get(pod, &format!("/v2/{repo}/manifests/{tag}")).await;
    assert_eq!(s, 200, "manifest {repo}:{tag}");
    assert_eq!(body, manifest);
    let (s, body) = get(pod, &format!("/v2/{repo}/blobs/{card_d}")).await;
    assert_eq!(s, 200, "blob {card_d}");
    assert_eq!(body, card);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_search_restart_over_postgres() {
    let schema = Schema::new().await;
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data_path = data.path().join("data");
    let pod = pod_over(schema.url(), data_path.clone()).await;
    let (s, ready) = get_json(&pod, "/ready").await;
    assert_eq!(s, 200, "{ready}");
    let c = card(
        "fx-agent",
        "1.0.0",
        "Converts money between currencies for travellers.",
    );
    let (_, card_d, m) = push_agent(&pod, "acme/fx-agent", "1.0.0", &c).await;
    assert_pullable(&pod, "acme/fx-agent", "1.0.0", &m, &card_d, &c).await;
    let (s, v) = get_json(&pod, "/api/v1/agents?q=travellers").await;
    assert_eq!(s, 200);
    assert!(found(&v, "fx-agent"), "search finds the agent: {v}");
    assert!(
        !data_path.join("meta.redb").exists(),
        "metadata went to PostgreSQL, not to a redb file"
    );
    let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}.manifests", schema.name))
        .fetch_one(&schema.admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows, 1, "the manifest row is in PostgreSQL");
    pod.stop().await;

    // Restart over the same database and data directory: everything is still there.
    let pod = pod_over(schema.url(), data_path.clone()).await;
    assert_pullable(&pod, "acme/fx-agent", "1.0.0", &m, &card_d, &c).await;
    let (_, v) = get_json(&pod, "/api/v1/agents?q=travellers").await;
    assert!(found(&v, "fx-agent"), "search after restart: {v}");
    let (_, cat) = get_json(&pod, "/v2/_catalog").await;
    assert_eq!(cat["repositories"], json!(["acme/fx-agent"]));
    // Delete through the pod: gone from PostgreSQL (tag, record and references cascade).
    let d = Digest::sha256(&m);
    let r = pod
        .client
        .delete(pod.u(&format!("/v2/acme/fx-agent/manifests/{d}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 202);
    for table in [
        "manifests",
        "tags",
        "records",
        "manifest_blobs",
        "repositories",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}.{table}", schema.name))
            .fetch_one(&schema.admin)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 0, "{table} after delete");
    }
    pod.stop().await;
    schema.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_migrate_refuses_an_empty_schema() {
    let schema = Schema::new().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = agentry_server::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        data: dir.path().join("data"),
        metadata: Some(schema.url()),
        no_migrate: true,
        ..agentry_server::ServeConfig::default()
    };
    let err = match agentry_server::Server::open(config).await {
        Ok(_) => panic!("--no-migrate on an empty schema must refuse to start"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("agentry db migrate"), "{err}");
    schema.drop_now().await;
}

/// Two pods over one database and one blob directory (each with its own search index):
/// pushed through A, pulled through B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pods_share_one_database_and_blob_directory() {
    let schema = Schema::new().await;
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a_data, b_data) = (root.path().join("a"), root.path().join("b"));
    let a = pod_over(schema.url(), a_data.clone()).await;
    // B's content directories are A's (a shared volume); its search index is its own.
    std::fs::create_dir_all(&b_data).unwrap_or_else(|e| panic!("{e}"));
    for sub in ["blobs", "uploads"] {
        std::os::unix::fs::symlink(a_data.join(sub), b_data.join(sub))
            .unwrap_or_else(|e| panic!("symlink {sub}: {e}"));
    }
    let b = pod_over(schema.url(), b_data).await;
    let c = card("shared-agent", "1.0.0", "Answers through every pod.");
    let (_, card_d, m) = push_agent(&a, "acme/shared-agent", "1.0.0", &c).await;
    assert_pullable(&b, "acme/shared-agent", "1.0.0", &m, &card_d, &c).await;
    let (_, tags) = get_json(&b, "/v2/acme/shared-agent/tags/list").await;
    assert_eq!(tags["tags"], json!(["1.0.0"]));
    // A tag deleted through B is gone through A.
    let r = b
        .client
        .delete(b.u("/v2/acme/shared-agent/manifests/1.0.0"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 202);
    let (s, _) = get(&a, "/v2/acme/shared-agent/manifests/1.0.0").await;
    assert_eq!(s, 404);
    a.stop().await;
    b.stop().await;
    schema.drop_now().await;
}

/// A TCP relay to PostgreSQL that the test can cut: the database becomes unreachable for the
/// pod (the real server keeps running for the other tests).
struct Relay {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl Relay {
    async fn start_on(addr: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("relay bind {addr}: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let upstream = {
            let u = url::Url::parse(&base_url()).unwrap_or_else(|e| panic!("{e}"));
            format!(
                "{}:{}",
                u.host_str().unwrap_or("127.0.0.1"),
                u.port().unwrap_or(5432)
            )
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut stop = rx.clone();
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    accepted = listener.accept() => {
                        let Ok((mut client, _)) = accepted else { continue };
                        let upstream = upstream.clone();
                        let mut conn_stop = rx.clone();
                        tokio::spawn(async move {
                            let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                            tokio::select! {
                                _ = conn_stop.wait_for(|s| *s) => {}
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            }
                        });
                    }
                }
            }
        });
        Relay {
            addr,
            stop: Some(tx),
        }
    }

    fn cut(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_database() {
    let schema = Schema::new().await;
    let mut relay = Relay::start_on("127.0.0.1:0").await;
    let addr = relay.addr.to_string();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pod = pod_over(schema.url_via(&addr), dir.path().join("data")).await;
    let (s, v) = get_json(&pod, "/ready").await;
    assert_eq!(s, 200, "{v}");
    relay.cut();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let started = std::time::Instant::now();
    let (s, v) = get_json(&pod, "/ready").await;
    assert_eq!(s, 503, "not ready while PostgreSQL is unreachable: {v}");
    assert_eq!(v["checks"]["metadata_store"], "failing");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the probe is bounded"
    );
    // A push now fails cleanly (a server error, nothing stored).
    let r = pod
        .client
        .post(pod.u("/v2/acme/down/blobs/uploads/?digest=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"))
        .body("foo")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        r.status().is_server_error(),
        "push while down: {}",
        r.status()
    );
    // The database comes back (same address): ready again.
    let _relay2 = Relay::start_on(&addr).await;
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if get(&pod, "/ready").await.0 == 200 {
            ok = true;
            break;
        }
    }
    assert!(ok, "ready again once PostgreSQL is reachable");
    let c = card("back-agent", "1.0.0", "Pushed after the outage.");
    push_agent(&pod, "acme/back-agent", "1.0.0", &c).await;
    pod.stop().await;
    schema.drop_now().await;
}
