//! Client transfer benchmark: what `agentry push`/`pull` achieve against a real registry.
//!
//!     cargo bench -p agentry-client --bench transfer                 # starts docker-registry
//!     AGENTRY_BENCH_REGISTRY=127.0.0.1:5000 cargo bench -p agentry-client --bench transfer
//!     AGENTRY_BENCH_ARTIFACTS=500 AGENTRY_BENCH_BIG_MB=100 cargo bench …
//!
//! Measures, with this crate's client as the CLI uses it:
//! - small agent artifacts (≈2 KB manifest.yaml + ≈20 KB capabilities.json + a small code
//!   bundle), packed and pushed by 8 concurrent tasks, then pulled (manifest + every layer,
//!   digest-verified, written to disk): artifacts/s;
//! - one large blob streamed from disk: chunked upload (16 MiB PATCHes) and verified download:
//!   MB/s, median of 3.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentry_client::artifact::{self, BasicDetector};
use agentry_client::{BlobSource, Client, ClientOptions, NoProgress};
use agentry_oci::media;
use agentry_types::{Digest, DigestAlgorithm, ManifestRef, RepoName, Tag};
use bytes::Bytes;
use futures::StreamExt as _;

/// The registry the benchmark started (none with `AGENTRY_BENCH_REGISTRY`), stopped on drop,
/// and its storage, removed after it.
struct Server {
    child: Option<Child>,
    _storage: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_registry() -> (String, Server) {
    if let Ok(addr) = std::env::var("AGENTRY_BENCH_REGISTRY") {
        return (
            addr,
            Server {
                child: None,
                _storage: None,
            },
        );
    }
    let dir = tempfile::tempdir().expect("tempdir (bench setup)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port (bench setup)")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
        dir.path().join("s").display()
    );
    let cfg = dir.path().join("config.yml");
    std::fs::write(&cfg, config).expect("write config (bench setup)");
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry (apt-get install docker-registry) or set AGENTRY_BENCH_REGISTRY");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        addr,
        Server {
            child: Some(child),
            _storage: Some(dir),
        },
    )
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn agent_folder(root: &Path, i: usize) {
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    let mut manifest = format!(
        "apiVersion: ossa/v0.4.6\nkind: Agent\nmetadata:\n  name: bench-agent-{i}\n  version: 1.0.{i}\n  description: Benchmark agent number {i}\nspec:\n  role: |\n"
    );
    while manifest.len() < 2000 {
        manifest.push_str("    Analyse the input carefully and answer with evidence.\n");
    }
    std::fs::write(root.join("manifest.yaml"), manifest).expect("write");
    let mut skills = Vec::new();
    let mut n = 0;
    while serde_json::to_vec(&skills).map(|v| v.len()).unwrap_or(0) < 20_000 {
        skills.push(serde_json::json!({
            "name": format!("skill-{i}-{n}"),
            "description": "Analyse a financial filing and extract the key risk factors with citations",
            "input": {"type": "object", "properties": {"text": {"type": "string"}}},
        }));
        n += 1;
    }
    std::fs::write(
        root.join("capabilities.json"),
        serde_json::to_vec(&serde_json::json!({ "skills": skills })).expect("json"),
    )
    .expect("write");
    std::fs::write(root.join("src/agent.py"), format!("AGENT = {i}\n")).expect("write");
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("AGENTRY_BENCH_ARTIFACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let big_mb: usize = std::env::var("AGENTRY_BENCH_BIG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let (addr, _server) = start_registry();
    let client = Client::new(&addr, ClientOptions::default()).expect("client");
    client.ping().await.expect("registry answers /v2/");
    let work = tempfile::tempdir().expect("tempdir");

    // Small artifacts.
    for i in 0..count {
        agent_folder(&work.path().join(format!("a{i}")), i);
    }
    let started = Instant::now();
    let pushed: Vec<(RepoName, Digest)> = futures::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            let dir = work.path().join(format!("a{i}"));
            async move {
                let packed = artifact::pack(&dir, &BasicDetector).await.expect("pack");
                let repo = RepoName::parse(&format!("bench/agent-{i}")).expect("name");
                client
                    .push_blob(
                        &repo,
                        &packed.config_digest,
                        &BlobSource::Bytes(packed.config.clone()),
                        Arc::new(NoProgress),
                    )
                    .await
                    .expect("config");
                for l in &packed.layers {
                    client
                        .push_blob(&repo, &l.digest, &l.source, Arc::new(NoProgress))
                        .await
                        .expect("layer");
                }
                let m = packed.manifest(&artifact::created_now());
                let bytes = Bytes::from(serde_json::to_vec(&m).expect("json"));
                let tag = ManifestRef::Tag(Tag::parse("1.0").expect("tag"));
                let p = client
                    .put_manifest(&repo, &tag, media::OCI_MANIFEST, bytes)
                    .await
                    .expect("manifest");
                (repo, p.digest)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let push_time = started.elapsed();

    let out = work.path().join("pulled");
    std::fs::create_dir_all(&out).expect("mkdir");
    let started = Instant::now();
    futures::stream::iter(pushed.iter().enumerate())
        .map(|(i, (repo, digest))| {
            let client = client.clone();
            let dest = out.join(format!("p{i}"));
            async move {
                std::fs::create_dir_all(&dest).expect("mkdir");
                let m = client
                    .get_manifest(repo, &ManifestRef::Digest(digest.clone()))
                    .await
                    .expect("manifest");
                let agentry_oci::document::Parsed::Manifest(m) = m.parse().expect("parse") else {
                    panic!("not a manifest");
                };
                let (files, _) = artifact::plan_files(&m).expect("titles");
                for (title, d) in files {
                    client
                        .pull_blob_to_file(
                            repo,
                            &d.digest,
                            d.size,
                            &dest.join(title),
                            Arc::new(NoProgress),
                        )
                        .await
                        .expect("layer");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    let pull_time = started.elapsed();

    // Large blob.
    let big = work.path().join("big");
    let size = big_mb * 1024 * 1024;
    let mut up = Vec::new();
    let mut down = Vec::new();
    for run in 0..3u64 {
        std::fs::write(&big, noise(size, 1000 + run)).expect("write big");
        let (digest, len) = agentry_client::digest_file(&big, DigestAlgorithm::Sha256)
            .await
            .expect("digest");
        let repo = RepoName::parse("bench/big").expect("name");
        let t = Instant::now();
        client
            .push_blob(
                &repo,
                &digest,
                &BlobSource::File {
                    path: big.clone(),
                    size: len,
                },
                Arc::new(NoProgress),
            )
            .await
            .expect("big upload");
        up.push(mb_s(len, t.elapsed()));
        let dest = work.path().join("big-back");
        let _ = std::fs::remove_file(&dest);
        let t = Instant::now();
        client
            .pull_blob_to_file(&repo, &digest, len, &dest, Arc::new(NoProgress))
            .await
            .expect("big download");
        down.push(mb_s(len, t.elapsed()));
    }

    println!("registry: {addr}");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| small artifacts pushed (pack + push, 8 concurrent), {count} | {:.0} artifacts/s |",
        count as f64 / push_time.as_secs_f64()
    );
    println!(
        "| small artifacts pulled (manifest + layers to disk, verified, 8 concurrent), {count} | {:.0} artifacts/s |",
        count as f64 / pull_time.as_secs_f64()
    );
    println!(
        "| {big_mb} MB blob chunked upload from disk (median of 3) | {:.0} MB/s |",
        median(up)
    );
    println!(
        "| {big_mb} MB blob verified download to disk (median of 3) | {:.0} MB/s |",
        median(down)
    );
}
