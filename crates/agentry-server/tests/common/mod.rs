//! A pod on a free loopback port with a temporary data directory, for HTTP tests.

use agentry_server::{ServeConfig, Server};
use agentry_types::Digest;
use tokio::sync::oneshot;

pub struct Pod {
    pub url: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Pod {
    pub async fn start() -> Pod {
        Pod::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServeConfig)) -> Pod {
        // reqwest is built without a TLS provider of its own: the process installs ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServeConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data: dir.path().join("data"),
            ..ServeConfig::default()
        };
        tweak(&mut config);
        let bound = Server::open(config)
            .await
            .expect("open")
            .bind()
            .await
            .expect("bind");
        let addr = bound.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let url = format!("http://{addr}");
        for _ in 0..100 {
            if client
                .get(format!("{url}/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Pod {
            url,
            client,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn u(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Upload `bytes` monolithically to `repo`; returns the digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let d = Digest::sha256(bytes);
        let r = self
            .client
            .post(self.u(&format!("/v2/{repo}/blobs/uploads/?digest={d}")))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("post");
        assert_eq!(
            r.status(),
            201,
            "push_blob {}",
            r.text().await.unwrap_or_default()
        );
        d
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.client
            .put(self.u(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("put manifest")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// A pod with htpasswd auth for `users`, each with the password `pw`; keep the directory
/// alive as long as the pod.
pub async fn pod_with_users(users: &[&str]) -> (Pod, tempfile::TempDir) {
    let hash = bcrypt::hash("pw", 4).expect("hash");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("htpasswd");
    let lines: String = users.iter().map(|u| format!("{u}:{hash}\n")).collect();
    std::fs::write(&file, lines).expect("write");
    let pod = Pod::start_with(|c| c.htpasswd = Some(file.clone())).await;
    (pod, dir)
}

/// The error code of an OCI error response.
pub async fn error_code(r: reqwest::Response) -> String {
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or("<none>")
        .to_owned()
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An image manifest over `config` and `layers` (digest, size) with optional extras.
pub fn manifest(
    config: (&Digest, usize),
    layers: &[(&Digest, usize)],
    extra: serde_json::Value,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0.to_string(), "size": config.1},
        "layers": layers.iter().map(|(d, s)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.to_string(), "size": s
        })).collect::<Vec<_>>(),
    });
    if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&m).expect("json")
}

impl Pod {
    /// Send `method path` exactly as given (no client-side normalisation of `..`), returning the
    /// status and body.
    pub async fn raw(&self, method: &str, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.url.trim_start_matches("http://").to_owned();
        let mut s = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp).await;
        let status = resp
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

pub const A2A_CARD: &str = "application/vnd.a2a.card.v1+json";

/// An A2A 0.3 card with one skill `(id, name, description)`.
pub fn card(name: &str, version: &str, description: &str, skill: (&str, &str, &str)) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "protocolVersion": "0.3.0",
        "name": name,
        "description": description,
        "url": "http://localhost:10000/",
        "version": version,
        "capabilities": {"streaming": false},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": skill.0, "name": skill.1, "description": skill.2, "tags": [skill.0]}]
    }))
    .unwrap_or_default()
}

/// Push an agent artifact (one A2A card layer) to `repo:tag`; returns the manifest digest.
pub async fn push_agent(pod: &Pod, repo: &str, tag: &str, card: &[u8]) -> Digest {
    let config = b"{}";
    let cd = pod.push_blob(repo, config).await;
    let ld = pod.push_blob(repo, card).await;
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": agentry_types::AGENT_ARTIFACT_TYPE,
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
    Digest::sha256(&m)
}
