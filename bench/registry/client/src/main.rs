//! Load client for `bench/registry/run`.
//!
//! One client, used unchanged against every registry, so that differences in
//! the figures come from the servers. It speaks plain OCI Distribution over
//! HTTP/1.1 keep-alive the way real clients do (HEAD a blob first, POST an
//! upload session, PUT the bytes with `?digest=`, PUT the manifest by tag; pull
//! = manifest by tag, then each layer, digest-verified), and it samples the
//! server process's CPU time from `/proc/<pid>/stat` around each phase.
//!
//! Every result is printed as one JSON object on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use reqwest::{Client, StatusCode, header};
use sha2::{Digest, Sha256};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const AGENT_TYPE: &str = "application/vnd.ossa.agent.manifest.v1+json";
/// The agent description pushed as manifest.yaml; shared with the e2e tests.
const AGENT_TEMPLATE: &str = include_str!("../../../../tests/e2e/data/agent.ossa.yaml");

#[derive(Parser)]
#[command(about = "OCI registry load client for bench/registry/run")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Push COUNT small agent artifacts (≈2 KB manifest.yaml + ≈20 KB
    /// capabilities.json + empty config) with CONCURRENCY clients, then pull
    /// them all back, verifying digests.
    Small {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Server process whose CPU time is sampled.
        #[arg(long)]
        pid: Option<u32>,
        /// Repository prefix; artifacts go to PREFIX/agent-<i % 100>:v<i>.
        #[arg(long, default_value = "bench")]
        prefix: String,
    },
    /// Push one small agent artifact as REPO:TAG (the target of the wrk run).
    Seed {
        #[arg(long)]
        url: String,
        #[arg(long)]
        repo: String,
        #[arg(long)]
        tag: String,
    },
    /// Chunked upload (POST, PATCH × n with Content-Range, PUT ?digest=) of a
    /// SIZE_MB blob, then a streamed, digest-verified download; ROUNDS times.
    Big {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 100)]
        size_mb: usize,
        #[arg(long, default_value_t = 8)]
        chunk_mb: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long)]
        pid: Option<u32>,
        #[arg(long, default_value = "bench/big")]
        repo: String,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Two worker threads: the machine has two cores and the server needs them too.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.cmd {
            Cmd::Small {
                url,
                count,
                concurrency,
                pid,
                prefix,
            } => small(&url, count, concurrency, pid, &prefix).await,
            Cmd::Seed { url, repo, tag } => {
                let c = client()?;
                let a = Artifact::new(0, &repo, &tag);
                push(&c, &url, &a).await?;
                println!("{{\"seeded\":\"{repo}:{tag}\"}}");
                Ok(())
            }
            Cmd::Big {
                url,
                size_mb,
                chunk_mb,
                rounds,
                pid,
                repo,
            } => big(&url, size_mb, chunk_mb, rounds, pid, &repo).await,
        }
    })
}

fn client() -> Result<Client> {
    Ok(Client::builder()
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()?)
}

fn digest_of(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// CPU time (user + system) of a process in milliseconds, from /proc/<pid>/stat.
fn cpu_ms(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': [0]=state(3) ... [11]=utime(14), [12]=stime(15).
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) * 1000.0 / clock_ticks())
}

/// Clock ticks per second of /proc times (USER_HZ). Asked of `getconf` once,
/// which avoids `unsafe` FFI; 100 is the value on every Linux we run on.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

struct CpuProbe {
    server: Option<String>,
    server_start: f64,
    client_start: f64,
    wall: Instant,
}

impl CpuProbe {
    fn start(pid: Option<u32>) -> Result<Self> {
        let server = pid.map(|p| p.to_string());
        let server_start = match &server {
            Some(p) => cpu_ms(p)?,
            None => 0.0,
        };
        Ok(Self {
            server,
            server_start,
            client_start: cpu_ms("self")?,
            wall: Instant::now(),
        })
    }
    /// (wall seconds, server CPU ms or NaN, client CPU ms)
    fn stop(&self) -> Result<(f64, f64, f64)> {
        let wall = self.wall.elapsed().as_secs_f64();
        let server = match &self.server {
            Some(p) => cpu_ms(p)? - self.server_start,
            None => f64::NAN,
        };
        Ok((wall, server, cpu_ms("self")? - self.client_start))
    }
}

/// One small agent artifact, as `agentry push` packs an agent folder.
struct Artifact {
    repo: String,
    tag: String,
    blobs: Vec<(String, Vec<u8>)>,
    manifest: Vec<u8>,
}

impl Artifact {
    fn new(i: usize, repo: &str, tag: &str) -> Self {
        // A real OSSA agent manifest (≈2 KB, the whitepaper's §3.1 example trimmed),
        // unique per artifact, so a registry that indexes agents on push accepts it.
        let yaml = AGENT_TEMPLATE
            .replace("NAMESPACE", "bench")
            .replace("NAME", &format!("bench-agent-{i}"))
            .replace("VERSION", &format!("1.0.{i}"));
        // The capabilities layer as agentry reads it: the `spec.capabilities`
        // block of an ossa.ai/v1 manifest (protocols, skills with schemas).
        let mut caps = String::from(
            "{\"protocols\":[{\"type\":\"a2a\",\"version\":\"1.0\",\"endpoint\":\"/a2a\"}],\"skills\":[",
        );
        let mut k = 0;
        while caps.len() < 20 * 1024 {
            if k > 0 {
                caps.push(',');
            }
            caps.push_str(&format!(
                "{{\"name\":\"skill-{i}-{k}\",\"description\":\"performs task {k} for agent {i}\",\"input-schema\":{{\"type\":\"object\",\"properties\":{{\"text\":{{\"type\":\"string\"}}}}}},\"output-schema\":{{\"type\":\"object\",\"properties\":{{\"result\":{{\"type\":\"string\"}}}}}}}}"
            ));
            k += 1;
        }
        caps.push_str("]}");
        let config = b"{}".to_vec();
        let layer = |media: &str, title: &str, data: &[u8]| {
            serde_json::json!({
                "mediaType": media,
                "digest": digest_of(data),
                "size": data.len(),
                "annotations": {"org.opencontainers.image.title": title},
            })
        };
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": AGENT_TYPE,
            "config": {"mediaType": OCI_EMPTY, "digest": digest_of(&config), "size": config.len()},
            "layers": [
                layer("application/vnd.ossa.manifest.v1+yaml", "manifest.yaml", yaml.as_bytes()),
                layer("application/vnd.ossa.capabilities.v1+json", "capabilities.json", caps.as_bytes()),
            ],
            "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        });
        let blobs = vec![config, yaml.into_bytes(), caps.into_bytes()]
            .into_iter()
            .map(|b| (digest_of(&b), b))
            .collect();
        Self {
            repo: repo.to_string(),
            tag: tag.to_string(),
            blobs,
            manifest: serde_json::to_vec(&manifest).unwrap_or_default(),
        }
    }
}

/// Resolve a `Location` header against the registry base URL.
fn location(base: &str, resp: &reqwest::Response) -> Result<String> {
    let loc = resp
        .headers()
        .get(header::LOCATION)
        .context("upload response without Location")?
        .to_str()?;
    Ok(
        if loc.starts_with("http://") || loc.starts_with("https://") {
            loc.to_string()
        } else {
            format!("{base}{loc}")
        },
    )
}

fn with_digest(loc: &str, digest: &str) -> String {
    let sep = if loc.contains('?') { '&' } else { '?' };
    format!("{loc}{sep}digest={digest}")
}

async fn expect(
    resp: reqwest::Response,
    want: StatusCode,
    what: &str,
) -> Result<reqwest::Response> {
    if resp.status() != want {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        bail!("{what}: expected {want}, got {status}: {body}");
    }
    Ok(resp)
}

async fn push(c: &Client, base: &str, a: &Artifact) -> Result<()> {
    for (digest, data) in &a.blobs {
        let head = c
            .head(format!("{base}/v2/{}/blobs/{digest}", a.repo))
            .send()
            .await?;
        if head.status() == StatusCode::OK {
            continue;
        }
        let post = c
            .post(format!("{base}/v2/{}/blobs/uploads/", a.repo))
            .header(header::CONTENT_LENGTH, 0)
            .send()
            .await?;
        let post = expect(post, StatusCode::ACCEPTED, "POST upload").await?;
        let loc = location(base, &post)?;
        let put = c
            .put(with_digest(&loc, digest))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(data.clone())
            .send()
            .await?;
        expect(put, StatusCode::CREATED, "PUT blob").await?;
    }
    let put = c
        .put(format!("{base}/v2/{}/manifests/{}", a.repo, a.tag))
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(a.manifest.clone())
        .send()
        .await?;
    expect(put, StatusCode::CREATED, "PUT manifest").await?;
    Ok(())
}

async fn pull(c: &Client, base: &str, repo: &str, tag: &str) -> Result<usize> {
    let resp = c
        .get(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header(header::ACCEPT, OCI_MANIFEST)
        .send()
        .await?;
    let resp = expect(resp, StatusCode::OK, "GET manifest").await?;
    let body = resp.bytes().await?;
    let manifest: serde_json::Value = serde_json::from_slice(&body)?;
    let layers = manifest["layers"]
        .as_array()
        .context("manifest has no layers")?;
    let mut bytes = body.len();
    for layer in layers {
        let digest = layer["digest"].as_str().context("layer without digest")?;
        let resp = c
            .get(format!("{base}/v2/{repo}/blobs/{digest}"))
            .send()
            .await?;
        let resp = expect(resp, StatusCode::OK, "GET blob").await?;
        let data = resp.bytes().await?;
        ensure!(
            digest_of(&data) == digest,
            "blob {digest} of {repo}:{tag} has wrong content"
        );
        bytes += data.len();
    }
    Ok(bytes)
}

async fn small(
    base: &str,
    count: usize,
    concurrency: usize,
    pid: Option<u32>,
    prefix: &str,
) -> Result<()> {
    let base = base.trim_end_matches('/').to_string();
    let c = client()?;
    let artifacts: Arc<Vec<Artifact>> = Arc::new(
        (0..count)
            .map(|i| Artifact::new(i, &format!("{prefix}/agent-{}", i % 100), &format!("v{i}")))
            .collect(),
    );

    let run = |phase: &'static str| {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (c, base, artifacts, next) =
                (c.clone(), base.clone(), artifacts.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(a) = artifacts.get(i) else {
                        return Ok::<(), anyhow::Error>(());
                    };
                    if phase == "push" {
                        push(&c, &base, a)
                            .await
                            .with_context(|| format!("push {}:{}", a.repo, a.tag))?;
                    } else {
                        pull(&c, &base, &a.repo, &a.tag)
                            .await
                            .with_context(|| format!("pull {}:{}", a.repo, a.tag))?;
                    }
                }
            }));
        }
        tasks
    };

    let probe = CpuProbe::start(pid)?;
    for t in run("push") {
        t.await??;
    }
    let (push_wall, push_server, push_client) = probe.stop()?;

    let probe = CpuProbe::start(pid)?;
    for t in run("pull") {
        t.await??;
    }
    let (pull_wall, pull_server, pull_client) = probe.stop()?;

    let n = count as f64;
    println!(
        "{}",
        serde_json::json!({
            "count": count,
            "concurrency": concurrency,
            "manifest_bytes": artifacts[0].manifest.len(),
            "blob_bytes": artifacts[0].blobs.iter().map(|(_, b)| b.len()).collect::<Vec<_>>(),
            "push_per_s": n / push_wall,
            "push_server_cpu_ms": push_server / n,
            "push_client_cpu_ms": push_client / n,
            "push_wall_s": push_wall,
            "pull_per_s": n / pull_wall,
            "pull_server_cpu_ms": pull_server / n,
            "pull_client_cpu_ms": pull_client / n,
            "pull_wall_s": pull_wall,
        })
    );
    Ok(())
}

async fn big(
    base: &str,
    size_mb: usize,
    chunk_mb: usize,
    rounds: usize,
    pid: Option<u32>,
    repo: &str,
) -> Result<()> {
    let base = base.trim_end_matches('/').to_string();
    let c = client()?;
    let size = size_mb * 1024 * 1024;
    let chunk = chunk_mb * 1024 * 1024;
    ensure!(chunk > 0 && size > 0, "size and chunk must be positive");
    // Incompressible pseudo-random bytes (xorshift), different every round.
    let mut data = vec![0u8; size];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for w in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        w.copy_from_slice(&b[..w.len()]);
    }
    let mut results = Vec::new();
    for round in 0..rounds {
        // Make this round's blob unique (a registry may dedupe a repeat upload).
        let nonce = format!("round-{round}-{}", std::process::id());
        data[..nonce.len()].copy_from_slice(nonce.as_bytes());
        let digest = digest_of(&data);

        let probe = CpuProbe::start(pid)?;
        let post = c
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .header(header::CONTENT_LENGTH, 0)
            .send()
            .await?;
        let post = expect(post, StatusCode::ACCEPTED, "POST upload").await?;
        let mut loc = location(&base, &post)?;
        let mut start = 0;
        while start < size {
            let end = (start + chunk).min(size);
            let patch = c
                .patch(&loc)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_RANGE, format!("{}-{}", start, end - 1))
                .body(data[start..end].to_vec())
                .send()
                .await?;
            let patch = expect(patch, StatusCode::ACCEPTED, "PATCH chunk").await?;
            loc = location(&base, &patch)?;
            start = end;
        }
        let put = c
            .put(with_digest(&loc, &digest))
            .header(header::CONTENT_LENGTH, 0)
            .send()
            .await?;
        expect(put, StatusCode::CREATED, "PUT close upload").await?;
        let (up_wall, up_server, _) = probe.stop()?;

        let probe = CpuProbe::start(pid)?;
        let resp = c
            .get(format!("{base}/v2/{repo}/blobs/{digest}"))
            .send()
            .await?;
        let mut resp = expect(resp, StatusCode::OK, "GET blob").await?;
        let mut hasher = Sha256::new();
        let mut got = 0usize;
        while let Some(part) = resp.chunk().await? {
            hasher.update(&part);
            got += part.len();
        }
        let (down_wall, down_server, _) = probe.stop()?;
        ensure!(got == size, "downloaded {got} bytes, expected {size}");
        ensure!(
            format!("sha256:{}", hex::encode(hasher.finalize())) == digest,
            "downloaded blob has wrong digest"
        );

        let mb = size as f64 / (1024.0 * 1024.0);
        results.push(serde_json::json!({
            "upload_mb_s": mb / up_wall,
            "upload_server_cpu_ms": up_server,
            "download_mb_s": mb / down_wall,
            "download_server_cpu_ms": down_server,
        }));
    }
    let median = |key: &str| {
        let mut v: Vec<f64> = results.iter().filter_map(|r| r[key].as_f64()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "{}",
        serde_json::json!({
            "size_mb": size_mb,
            "chunk_mb": chunk_mb,
            "rounds": rounds,
            "upload_mb_s": median("upload_mb_s"),
            "upload_server_cpu_ms": median("upload_server_cpu_ms"),
            "download_mb_s": median("download_mb_s"),
            "download_server_cpu_ms": median("download_server_cpu_ms"),
            "all": results,
        })
    );
    Ok(())
}
