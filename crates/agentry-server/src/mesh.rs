//! This pod in the mesh (whitepaper §2.2, §4.1–4.4, §5.4): the glue between `agentry-mesh`
//! (membership, signed events, LWW replica, anti-entropy — all sans-HTTP) and the pod's store
//! and index.
//!
//! * **Out:** a stored agent manifest becomes an `io.ossa.agent.published` event, a deletion
//!   `deleted`, a re-judged tier `trust_changed` ([`published`], [`deleted`]). The event is in
//!   the durable mesh log before the push is answered.
//! * **In (metadata eager):** the follower ([`follow`]) applies every record another pod made:
//!   it fetches the manifest and the small description blobs from the origin's OCI API
//!   (digest-verified, bounded, time-limited), stores them, links every other blob to the
//!   repository *without its bytes*, and indexes the record with its origin pod and tier.
//! * **Artifacts lazy:** a blob GET for a linked blob whose bytes are not here is fetched from
//!   the origin on first pull, verified, stored and served; the next pull is local
//!   ([`fetch_blob`]). A pod with `--role index` never stores them: it redirects (307) to the
//!   origin.
//! * **Federated queries:** [`federated_search`] asks every live peer in parallel with a
//!   deadline and merges the answers.
//!
//! Peers are hostile input: an origin's API address must be on the host the peer gossips from
//! (a peer cannot point pulls at an internal address of its choosing); bodies are bounded and
//! every request has a deadline.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentry_mesh::runtime::{self, MeshConfig, MeshHandle, MeshRecord, PeerStatus};
use agentry_mesh::{AgentState, ClusterKey, EventKind, NodeConfig, PodId, Policy};
use agentry_store::{ManifestMeta, ManifestPut};
use agentry_types::{
    AGENT_ARTIFACT_TYPE, AgentRecord, Digest, ManifestRef, RepoName, Tag, TrustTier,
};
use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::api::wire::{SearchItem, SearchResponse};
use crate::config::ServeConfig;
use crate::state::AppState;

/// What a pod does in the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A registry: stores what is pushed to it, replicates metadata, caches pulled blobs.
    #[default]
    Pod,
    /// An index of indexes (the whitepaper's UAR): replicates metadata from every pod and
    /// answers searches, stores no artifacts and redirects blob pulls to their origin.
    Index,
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "pod" => Ok(Role::Pod),
            "index" => Ok(Role::Index),
            other => Err(format!("role {other:?}: expected pod or index")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Pod => "pod",
            Role::Index => "index",
        })
    }
}

/// Largest answer read from a peer's discovery API.
const MAX_PEER_ANSWER: usize = 8 * 1024 * 1024;
/// Deadline for fetching one replicated manifest or description blob.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The pod's place in the mesh.
pub struct Mesh {
    pub handle: MeshHandle,
    pub pod: String,
    pub role: Role,
    /// This pod's HTTP API base, as peers are told.
    pub api: String,
    /// The gossip address peers are told.
    pub gossip: String,
    /// Repositories replicated from another pod: that pod's API base.
    origins: parking_lot::RwLock<HashMap<RepoName, Origin>>,
    http: reqwest::Client,
    pub query_timeout: Duration,
    tmp: std::path::PathBuf,
    /// Blobs this pod pulled through from their origins, bounded by `mesh_cache_mb`.
    cache: parking_lot::Mutex<PullCache>,
    cache_file: std::path::PathBuf,
}

/// The pull-through cache's bookkeeping: which stored blobs came from another pod, their size
/// and when they were last served. Kept in `<data>/mesh/cache.json` (rewritten when a blob is
/// added or evicted), so a restart still knows which blobs are evictable; blobs pushed here are
/// never in it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PullCache {
    /// Most bytes kept (0: unbounded).
    #[serde(skip)]
    pub bound: u64,
    entries: HashMap<Digest, CacheEntry>,
    #[serde(skip)]
    clock: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct CacheEntry {
    size: u64,
    used: u64,
}

impl PullCache {
    pub fn total(&self) -> u64 {
        self.entries.values().map(|e| e.size).sum()
    }

    /// A blob was served: it becomes the most recently used.
    pub fn touch(&mut self, d: &Digest) {
        self.clock += 1;
        let now = self.clock;
        if let Some(e) = self.entries.get_mut(d) {
            e.used = now;
        }
    }

    pub fn contains(&self, d: &Digest) -> bool {
        self.entries.contains_key(d)
    }

    /// Record a blob just pulled through; returns the least recently used others to delete so
    /// that the total fits the bound (the new blob itself is kept, even when alone too big).
    pub fn insert(&mut self, d: Digest, size: u64) -> Vec<Digest> {
        self.clock += 1;
        let used = self.clock;
        self.entries.insert(d.clone(), CacheEntry { size, used });
        let mut evict = Vec::new();
        if self.bound == 0 {
            return evict;
        }
        let mut others: Vec<(u64, Digest, u64)> = self
            .entries
            .iter()
            .filter(|(k, _)| **k != d)
            .map(|(k, e)| (e.used, k.clone(), e.size))
            .collect();
        others.sort();
        let mut total = self.total();
        for (_, k, size) in others {
            if total <= self.bound {
                break;
            }
            self.entries.remove(&k);
            total -= size;
            evict.push(k);
        }
        evict
    }
}

#[derive(Clone, Debug)]
struct Origin {
    pod: String,
    api: String,
}

impl fmt::Debug for Mesh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mesh")
            .field("pod", &self.pod)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The mesh key, from `--mesh-key` / `AGENTRY_MESH_KEY` (never printed).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MeshKey(pub String);

impl fmt::Debug for MeshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MeshKey(…)")
    }
}

impl Serialize for MeshKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("…")
    }
}

impl<'de> Deserialize<'de> for MeshKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MeshKey, D::Error> {
        String::deserialize(d).map(MeshKey)
    }
}

/// Read `<dir>/name` or create it with `make()` (mode 0600).
fn read_or_create(path: &Path, make: impl FnOnce() -> Vec<u8>) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            std::io::Write::write_all(&mut f, &bytes)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(bytes)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn host_of(addr: &str) -> &str {
    let a = addr
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let a = a.split('/').next().unwrap_or(a);
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    a.rsplit_once(':').map_or(a, |(h, _)| h)
}

/// Join the mesh when `mesh_listen` is set: the pod's identity (`<data>/mesh/pod-id`, or
/// `--pod-id`) and signing key (`<data>/mesh/pod.key`) are kept across restarts, so a
/// restarted pod is the same member with a higher incarnation, not a new one.
pub async fn start(config: &ServeConfig) -> anyhow::Result<Option<Arc<Mesh>>> {
    let Some(listen) = config.mesh_listen else {
        return Ok(None);
    };
    let dir = config.data.join("mesh");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pod = match &config.pod_id {
        Some(p) => p.clone(),
        None => {
            let bytes = read_or_create(&dir.join("pod-id"), || {
                format!("pod-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).into_bytes()
            })?;
            String::from_utf8_lossy(&bytes).trim().to_owned()
        }
    };
    let pod = PodId::parse(&pod).map_err(|e| anyhow::anyhow!("pod_id: {e}"))?;
    let key_bytes = read_or_create(&dir.join("pod.key"), || {
        agentry_trust::keys::generate().to_bytes().to_vec()
    })?;
    let key: [u8; 32] = key_bytes.as_slice().try_into().map_err(|_| {
        anyhow::anyhow!(
            "{} is not a 32-byte Ed25519 key; remove it to make a new pod key",
            dir.join("pod.key").display()
        )
    })?;
    let key = ed25519_dalek::SigningKey::from_bytes(&key);
    let cluster = ClusterKey::from_secret(config.mesh_key.0.as_bytes())
        .map_err(|e| anyhow::anyhow!("mesh_key: {e}"))?;
    let scheme = if config.tls() { "https" } else { "http" };
    let api = match &config.mesh_api_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = match &config.mesh_advertise {
                Some(a) => host_of(a).to_owned(),
                None if !config.listen.ip().is_unspecified() => config.listen.ip().to_string(),
                None if !listen.ip().is_unspecified() => listen.ip().to_string(),
                None => anyhow::bail!(
                    "mesh_api_url: the pod listens on {} and the mesh on {listen}; tell peers where \
                     to reach it with --mesh-advertise HOST:PORT or --mesh-api-url URL",
                    config.listen
                ),
            };
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            format!("{scheme}://{host}:{}", config.listen.port())
        }
    };
    let mut node = NodeConfig::lan(16);
    node.anti_entropy_ms = 1000;
    let policy = Policy {
        min_tier: config.trust_min_tier,
        namespaces: config.mesh_namespaces.iter().cloned().collect(),
    };
    let handle = runtime::start(MeshConfig {
        pod: pod.clone(),
        listen,
        advertise: config.mesh_advertise.clone(),
        api: api.clone(),
        seeds: config.mesh_seeds.clone(),
        cluster,
        key,
        node,
        policy,
        gossip_over_tcp: config.mesh_gossip_tcp,
        log_path: Some(dir.join("events.redb")),
    })
    .await?;
    agentry_client::ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .user_agent(concat!("agentry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(config.mesh_query_timeout)
        .timeout(config.mesh_query_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the mesh HTTP client")?;
    let gossip = config
        .mesh_advertise
        .clone()
        .unwrap_or_else(|| handle.local_addr.to_string());
    tracing::info!(pod = %pod, gossip = %gossip, %api, role = %config.role, seeds = ?config.mesh_seeds, "joined the mesh");
    let cache_file = dir.join("cache.json");
    let mut cache: PullCache = match std::fs::read(&cache_file) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::warn!(file = %cache_file.display(), error = %e, "pull-through cache list unreadable; starting a new one (cached blobs stay, no longer evictable)");
            PullCache::default()
        }),
        Err(_) => PullCache::default(),
    };
    cache.bound = config.mesh_cache_mb.saturating_mul(1 << 20);
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    Ok(Some(Arc::new(Mesh {
        handle,
        pod: pod.to_string(),
        role: config.role,
        api,
        gossip,
        origins: parking_lot::RwLock::default(),
        http,
        query_timeout: config.mesh_query_timeout,
        tmp,
        cache: parking_lot::Mutex::new(cache),
        cache_file,
    })))
}

fn state_of(
    repo: &RepoName,
    digest: Option<&Digest>,
    record: Option<&AgentRecord>,
    version: String,
    tier: TrustTier,
) -> AgentState {
    let mut capabilities: Vec<String> = Vec::new();
    if let Some(r) = record {
        for s in &r.skills {
            let c = s
                .taxonomy
                .first()
                .and_then(|t| t.name.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| s.name.clone());
            if !c.is_empty() && !capabilities.contains(&c) {
                capabilities.push(c);
            }
        }
    }
    capabilities.truncate(agentry_mesh::event::MAX_CAPABILITIES);
    AgentState {
        name: repo.clone(),
        version,
        digest: digest.cloned(),
        artifact_type: digest.map(|_| AGENT_ARTIFACT_TYPE.to_owned()),
        capabilities,
        trust_tier: tier,
        deprecated: false,
    }
}

/// A local agent manifest was stored (`Published`) or re-judged (`TrustChanged`): tell the
/// mesh. Returns once the event is in the durable mesh log.
pub async fn published(
    state: &AppState,
    kind: EventKind,
    repo: &RepoName,
    digest: &Digest,
    record: &AgentRecord,
    tier: TrustTier,
) {
    let Some(mesh) = &state.mesh else { return };
    if mesh.origin_of(repo).is_some() && kind == EventKind::TrustChanged {
        // A replicated agent's tier is its origin's to announce.
        return;
    }
    let agent = state_of(
        repo,
        Some(digest),
        Some(record),
        record.identity.version.clone(),
        tier,
    );
    if mesh.handle.write(kind, agent).await.is_none() {
        tracing::error!(%repo, %digest, "the mesh task is gone; the event was not recorded");
    }
}

/// A local manifest was deleted: a tombstone for every agent version the mesh knows at that
/// digest.
pub async fn deleted(state: &AppState, repo: &RepoName, digest: &Digest) {
    let Some(mesh) = &state.mesh else { return };
    let records = mesh.handle.records().await;
    for r in records {
        if &r.agent.name == repo && r.agent.digest.as_ref() == Some(digest) {
            let agent = state_of(repo, None, None, r.agent.version.clone(), TrustTier::None);
            if mesh.handle.write(EventKind::Deleted, agent).await.is_none() {
                tracing::error!(%repo, %digest, "the mesh task is gone; the deletion was not recorded");
            }
        }
    }
}

impl Mesh {
    /// A blob was served from this pod: keep the cache's recency current.
    pub fn served(&self, d: &Digest) {
        self.cache.lock().touch(d);
    }

    fn save_cache(&self) {
        let bytes = match serde_json::to_vec(&*self.cache.lock()) {
            Ok(b) => b,
            Err(_) => return,
        };
        let tmp = self.cache_file.with_extension("json.tmp");
        if let Err(e) =
            std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &self.cache_file))
        {
            tracing::warn!(error = %e, "saving the pull-through cache list failed");
        }
    }

    fn origin_of(&self, repo: &RepoName) -> Option<Origin> {
        self.origins.read().get(repo).cloned()
    }

    /// The origin's API base for a replicated repository (for pull redirects).
    pub fn origin_api(&self, repo: &RepoName) -> Option<String> {
        self.origin_of(repo).map(|o| o.api)
    }

    fn client(&self, api: &str, config: &ServeConfig) -> Result<agentry_client::Client, String> {
        let opts = agentry_client::ClientOptions {
            plain_http: api.starts_with("http://"),
            retries: 1,
            connect_timeout: Duration::from_secs(3),
            max_manifest_size: config.max_manifest_bytes,
            ..agentry_client::ClientOptions::default()
        };
        agentry_client::Client::new(api, opts).map_err(|e| e.to_string())
    }
}

/// The API address a record's origin advertised, if it is on the host that pod gossips
/// from.
fn checked_api(r: &MeshRecord, peers: &[PeerStatus]) -> Result<String, String> {
    let api = r
        .origin_api
        .clone()
        .ok_or_else(|| format!("origin {} is not a member this pod knows", r.origin))?;
    let peer = peers
        .iter()
        .find(|p| p.pod == r.origin)
        .ok_or_else(|| format!("origin {} is not a member this pod knows", r.origin))?;
    if !(api.starts_with("http://") || api.starts_with("https://")) {
        return Err(format!(
            "origin {} advertises API {api:?}, not an http(s) URL",
            r.origin
        ));
    }
    if host_of(&api) != host_of(&peer.gossip) {
        return Err(format!(
            "origin {} advertises API {api}, which is not on the host it gossips from ({}); refused",
            r.origin, peer.gossip
        ));
    }
    Ok(api)
}

/// Keep the local store and index in step with what other pods publish.
pub async fn follow(state: AppState) {
    let Some(mesh) = state.mesh.clone() else {
        return;
    };
    let mut changes = mesh.handle.changes.clone();
    // Agent version key → event id applied (or found already applied).
    let mut applied: HashMap<String, String> = HashMap::new();
    loop {
        let records = mesh.handle.records().await;
        let peers = mesh.handle.peers().await;
        for r in records {
            if r.origin == mesh.pod {
                continue;
            }
            let key = r.agent.key();
            if applied.get(&key) == Some(&r.event) {
                continue;
            }
            match apply(&state, &mesh, &r, &peers).await {
                Ok(()) => {
                    applied.insert(key, r.event.clone());
                }
                Err(e) => {
                    tracing::warn!(agent = %key, origin = %r.origin, error = %e, "replicating an agent failed; retrying later")
                }
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

async fn apply(
    state: &AppState,
    mesh: &Mesh,
    r: &MeshRecord,
    peers: &[PeerStatus],
) -> Result<(), String> {
    let repo = &r.agent.name;
    let tag = Tag::parse(&r.agent.version).ok();
    let Some(digest) = &r.agent.digest else {
        // A tombstone: remove the replicated manifest if it is here.
        let Some(tag) = tag else { return Ok(()) };
        let existing = state
            .meta
            .manifest_meta(repo, &ManifestRef::Tag(tag))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(m) = existing
            && state
                .meta
                .delete_manifest(repo, &m.digest)
                .await
                .map_err(|e| e.to_string())?
        {
            crate::records::on_manifest_deleted(state, repo, &m.digest).await;
            tracing::info!(%repo, digest = %m.digest, origin = %r.origin, "replicated deletion applied");
        }
        return Ok(());
    };
    let api = checked_api(r, peers)?;
    mesh.origins.write().insert(
        repo.clone(),
        Origin {
            pod: r.origin.clone(),
            api: api.clone(),
        },
    );
    let have = state
        .meta
        .manifest_meta(repo, &ManifestRef::Digest(digest.clone()))
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if !have {
        fetch_manifest(state, mesh, &api, repo, digest, tag.as_ref()).await?;
    }
    // Index it as the origin's, with the origin's tier (events are signed by their pod; the
    // replica admits only tiers this pod's policy accepts).
    let record = state
        .meta
        .record(repo, digest)
        .await
        .map_err(|e| e.to_string())?
        .map(|e| e.record);
    let (Some(feed), Some(record)) = (state.index_feed.clone(), record) else {
        return Ok(());
    };
    let agent = crate::reindex::stored_agent(&*state.meta, repo, digest, record)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(mut agent) = agent {
        agent.trust_tier = r.agent.trust_tier;
        agent.source_pod = r.origin.clone();
        let version = agent.record.identity.version.clone();
        feed.upsert(agent).await?;
        // The same digest announced again is its tier changing; a new one is a publication.
        let change = if have {
            crate::events::Change::TrustChanged
        } else {
            crate::events::Change::Published
        };
        crate::events::agent(
            state,
            change,
            repo,
            digest,
            Some(&version),
            Some(r.agent.trust_tier),
            Some(&r.origin),
        );
    }
    Ok(())
}

/// Copy one manifest of another pod: the manifest and its description blobs now, every other
/// blob linked and fetched on first pull.
async fn fetch_manifest(
    state: &AppState,
    mesh: &Mesh,
    api: &str,
    repo: &RepoName,
    digest: &Digest,
    tag: Option<&Tag>,
) -> Result<(), String> {
    let client = mesh.client(api, &state.config)?;
    let pulled = tokio::time::timeout(
        FETCH_TIMEOUT,
        client.get_manifest(repo, &ManifestRef::Digest(digest.clone())),
    )
    .await
    .map_err(|_| format!("{api} did not deliver manifest {digest} within {FETCH_TIMEOUT:?}"))?
    .map_err(|e| e.to_string())?;
    let parsed = agentry_oci::manifest::parse(Some(&pulled.media_type), &pulled.bytes)
        .map_err(|e| format!("manifest {digest} from {api}: {e}"))?;
    if parsed.kind.is_index() {
        return Err(format!(
            "manifest {digest} from {api} is an index, not an agent"
        ));
    }
    let limit = state.config.max_record_bytes;
    let small: Vec<&agentry_oci::manifest::Descriptor> = parsed
        .config
        .iter()
        .chain(parsed.layers.iter().filter(|l| {
            agentry_formats::is_record_media_type(&l.media_type)
                || agentry_formats::is_capabilities_media_type(&l.media_type)
        }))
        .collect();
    for d in small {
        if d.size > limit {
            return Err(format!(
                "blob {} of {digest} is {} bytes; agent descriptions are limited to {limit}",
                d.digest, d.size
            ));
        }
        if state
            .blobs
            .stat(&d.digest)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            let bytes: Bytes = tokio::time::timeout(
                FETCH_TIMEOUT,
                client.pull_blob_bytes(repo, &d.digest, limit),
            )
            .await
            .map_err(|_| format!("{api} did not deliver blob {} in time", d.digest))?
            .map_err(|e| e.to_string())?;
            let len = bytes.len() as u64;
            let body: agentry_store::ByteStream =
                Box::pin(futures::stream::once(async move { Ok(bytes) }));
            state
                .blobs
                .put(&d.digest, body, Some(len), limit)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    // Link every blob (metadata); bytes of the large ones stay with the origin for now.
    for d in parsed.config.iter().chain(parsed.layers.iter()) {
        if d.urls.is_empty() {
            state
                .meta
                .link_blob(repo, &d.digest, d.size)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let record = crate::records::extract(state, repo, &parsed, tag, digest)
        .await
        .map_err(|e| format!("the agent description of {digest}: {}", e.0.message))?;
    let meta = ManifestMeta {
        digest: digest.clone(),
        media_type: parsed.media_type().to_owned(),
        size: pulled.bytes.len() as u64,
        artifact_type: parsed.referrer_artifact_type(),
        subject: parsed.subject.as_ref().map(|s| s.digest.clone()),
        annotations: parsed.annotations.clone(),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    state
        .meta
        .put_manifest(ManifestPut {
            repo: repo.clone(),
            meta,
            bytes: pulled.bytes,
            blobs: parsed.referenced_blobs(),
            manifests: parsed.child_manifests(),
            tag: tag.cloned(),
            record,
        })
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(%repo, %digest, %api, "replicated manifest stored");
    Ok(())
}

/// A blob of a replicated repository that is linked here but not stored: fetch it from its
/// origin (verified against its digest and size, bounded by `max_blob_bytes`) and store it,
/// so this pull and every later one is served from here. `Ok(false)` when the repository is
/// not replicated from another pod.
pub async fn fetch_blob(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    size: u64,
) -> Result<bool, String> {
    let Some(mesh) = &state.mesh else {
        return Ok(false);
    };
    let Some(origin) = mesh.origin_of(repo) else {
        return Ok(false);
    };
    if size > state.config.max_blob_bytes {
        return Err(format!(
            "blob {digest} is {size} bytes, above this pod's max_blob_bytes"
        ));
    }
    let client = mesh.client(&origin.api, &state.config)?;
    let tmp = tempfile::Builder::new()
        .prefix("pull-")
        .tempdir_in(&mesh.tmp)
        .map_err(|e| e.to_string())?;
    let dest = tmp.path().join("blob");
    let started = Instant::now();
    client
        .pull_blob_to_file(
            repo,
            digest,
            size,
            &dest,
            Arc::new(agentry_client::NoProgress),
        )
        .await
        .map_err(|e| {
            format!(
                "pod {} ({}) did not deliver {digest}: {e}",
                origin.pod, origin.api
            )
        })?;
    let file = tokio::fs::File::open(&dest)
        .await
        .map_err(|e| e.to_string())?;
    let body: agentry_store::ByteStream = Box::pin(tokio_util::io::ReaderStream::new(file));
    state
        .blobs
        .put(digest, body, Some(size), state.config.max_blob_bytes)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(%repo, %digest, size, origin = %origin.pod, ms = started.elapsed().as_millis() as u64, "blob pulled through from its origin and cached");
    let evict = mesh.cache.lock().insert(digest.clone(), size);
    for d in &evict {
        // Only the bytes go: the link stays, and the next pull fetches them again.
        match state.blobs.delete(d).await {
            Ok(_) => tracing::info!(digest = %d, "evicted from the pull-through cache"),
            Err(e) => tracing::warn!(digest = %d, error = %e, "evicting a cached blob failed"),
        }
    }
    mesh.save_cache();
    Ok(true)
}

/// One peer that answered a federated query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerAnswer {
    pub pod: String,
    pub items: usize,
    pub ms: u64,
}

/// One peer that did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerFailure {
    pub pod: String,
    pub error: String,
}

/// How a federated answer was made: who was asked, who answered, who did not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Federation {
    /// This pod.
    pub pod: String,
    pub answered: Vec<PeerAnswer>,
    /// Peers that failed or missed the deadline, and peers membership holds to be down
    /// (not asked): the answer is partial when this is not empty.
    pub failed: Vec<PeerFailure>,
    /// Peers not asked because none of the agents they published has a skill the query's
    /// `capability` could match (routing by skill on the replicated summaries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    pub partial: bool,
}

/// Whether a pod whose agents have `caps` (taxonomy paths or skill names) may hold a match for
/// any of `wanted`: the same capability, one below it (a category finds its sub-skills), or a
/// leaf of that name. A numeric taxonomy id cannot be judged from names: it routes everywhere.
pub fn may_match(caps: &[String], wanted: &[String]) -> bool {
    wanted.iter().any(|w| {
        let w = w.trim().to_ascii_lowercase();
        if w.is_empty() || w.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        caps.iter().any(|c| {
            let c = c.to_ascii_lowercase();
            c == w || c.starts_with(&format!("{w}/")) || c.rsplit('/').next() == Some(w.as_str())
        })
    })
}

/// The `capability` values of a query string.
fn wanted_capabilities(query: &str) -> Vec<String> {
    crate::query_string::decode(Some(query))
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "capability")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn ask_peer(
    http: &reqwest::Client,
    api: &str,
    query: &str,
) -> Result<SearchResponse, String> {
    let sep = if query.is_empty() { "" } else { "&" };
    let url = format!("{api}/api/v1/agents?{query}{sep}scope=local");
    let resp = http.get(&url).send().await.map_err(|e| {
        if e.is_timeout() {
            "did not answer within the deadline".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            format!("request failed: {e}")
        }
    })?;
    let status = resp.status();
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if e.is_timeout() {
                "did not answer within the deadline".to_owned()
            } else {
                format!("reading the answer failed: {e}")
            }
        })?;
        if body.len() + chunk.len() > MAX_PEER_ANSWER {
            return Err(format!("answer larger than {MAX_PEER_ANSWER} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Err(format!("answered HTTP {}", status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|e| format!("answer is not a search response: {e}"))
}

/// Merge this pod's answer with every live peer's, asked in parallel with a deadline each.
/// Results are deduplicated by digest (the highest score kept) and ranked by score; the
/// answer is one page (`next_cursor` is not carried across pods).
pub async fn federated_search(
    mesh: &Mesh,
    local: SearchResponse,
    query: &str,
    limit: usize,
) -> SearchResponse {
    let peers = mesh.handle.peers().await;
    let mut fed = Federation {
        pod: mesh.pod.clone(),
        ..Federation::default()
    };
    let wanted = wanted_capabilities(query);
    let mut caps_by_pod: HashMap<String, Vec<String>> = HashMap::new();
    if !wanted.is_empty() {
        for r in mesh.handle.records().await {
            caps_by_pod
                .entry(r.origin)
                .or_default()
                .extend(r.agent.capabilities);
        }
    }
    let mut asks = Vec::new();
    for p in peers {
        if !wanted.is_empty()
            && !may_match(
                caps_by_pod.get(&p.pod).map_or(&[][..], Vec::as_slice),
                &wanted,
            )
        {
            fed.skipped.push(p.pod);
            continue;
        }
        if p.state == "down" {
            fed.failed.push(PeerFailure {
                pod: p.pod,
                error: "down (membership)".into(),
            });
            continue;
        }
        let http = mesh.http.clone();
        let query = query.to_owned();
        let deadline = mesh.query_timeout;
        asks.push(async move {
            let t = Instant::now();
            let r = match tokio::time::timeout(deadline, ask_peer(&http, &p.api, &query)).await {
                Ok(r) => r,
                Err(_) => Err("did not answer within the deadline".to_owned()),
            };
            (p.pod, t.elapsed(), r)
        });
    }
    let mut by_digest: BTreeMap<String, SearchItem> = BTreeMap::new();
    for item in local.items {
        by_digest.insert(item.digest.clone(), item);
    }
    for (pod, took, r) in futures::future::join_all(asks).await {
        match r {
            Ok(answer) => {
                fed.answered.push(PeerAnswer {
                    pod,
                    items: answer.items.len(),
                    ms: took.as_millis() as u64,
                });
                for item in answer.items {
                    match by_digest.get(&item.digest) {
                        Some(have) if have.score >= item.score => {}
                        _ => {
                            by_digest.insert(item.digest.clone(), item);
                        }
                    }
                }
            }
            Err(error) => fed.failed.push(PeerFailure { pod, error }),
        }
    }
    let mut items: Vec<SearchItem> = by_digest.into_values().collect();
    items.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    items.truncate(limit);
    fed.partial = !fed.failed.is_empty();
    SearchResponse {
        items,
        next_cursor: None,
        facets: local.facets,
        federation: Some(fed),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(origin_api: Option<&str>) -> MeshRecord {
        MeshRecord {
            origin: "pod-a".into(),
            origin_api: origin_api.map(str::to_owned),
            event: "e1".into(),
            agent: AgentState {
                name: RepoName::parse("acme/x").unwrap(),
                version: "1.0.0".into(),
                digest: None,
                artifact_type: None,
                capabilities: vec![],
                trust_tier: TrustTier::None,
                deprecated: false,
            },
        }
    }

    fn peer(gossip: &str) -> PeerStatus {
        PeerStatus {
            pod: "pod-a".into(),
            gossip: gossip.into(),
            api: String::new(),
            state: "alive".into(),
            incarnation: 0,
            bump: 1,
            last_contact_ms_ago: None,
            lag_events: 0,
        }
    }

    fn dg(n: u8) -> Digest {
        Digest::of(agentry_types::DigestAlgorithm::Sha256, &[n])
    }

    #[test]
    fn the_pull_cache_evicts_least_recently_served_first() {
        let mut c = PullCache {
            bound: 100,
            ..PullCache::default()
        };
        assert!(c.insert(dg(1), 40).is_empty());
        assert!(c.insert(dg(2), 40).is_empty());
        c.touch(&dg(1)); // 2 is now the least recently served
        assert_eq!(c.insert(dg(3), 40), vec![dg(2)]);
        assert!(c.contains(&dg(1)) && c.contains(&dg(3)) && !c.contains(&dg(2)));
        // One blob larger than the bound: kept, everything else goes.
        let mut ev = c.insert(dg(4), 500);
        ev.sort();
        let mut want = vec![dg(1), dg(3)];
        want.sort();
        assert_eq!(ev, want);
        assert_eq!(c.total(), 500);
        // Unbounded: nothing is evicted.
        let mut u = PullCache::default();
        assert!(u.insert(dg(1), u64::MAX / 2).is_empty());
        // The list survives a restart (as JSON), the bound comes from the config.
        let back: PullCache = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert!(back.contains(&dg(4)) && back.bound == 0);
    }

    #[test]
    fn capability_routing_asks_only_pods_that_can_match() {
        let caps = vec![
            "natural_language_processing/summarization".to_owned(),
            "analyze-filing".to_owned(),
        ];
        let w = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(may_match(&caps, &w(&["natural_language_processing"])));
        assert!(may_match(&caps, &w(&["summarization"])));
        assert!(may_match(&caps, &w(&["Analyze-Filing"])));
        assert!(may_match(&caps, &w(&["10101"])), "ids route everywhere");
        assert!(!may_match(&caps, &w(&["images"])));
        assert!(!may_match(&[], &w(&["images"])));
        assert!(
            !may_match(&caps, &w(&["natural"])),
            "not a prefix of a segment"
        );
        assert_eq!(
            wanted_capabilities("q=x&capability=a,b&capability=c"),
            w(&["a", "b", "c"])
        );
    }

    #[test]
    fn hosts_are_taken_from_urls_and_addresses() {
        assert_eq!(host_of("http://10.0.0.2:5000"), "10.0.0.2");
        assert_eq!(host_of("https://reg.acme.com/x"), "reg.acme.com");
        assert_eq!(host_of("10.0.0.2:7946"), "10.0.0.2");
        assert_eq!(host_of("[::1]:7946"), "::1");
        assert_eq!(host_of("http://[fd00::2]:5000/"), "fd00::2");
    }

    #[test]
    fn a_peer_cannot_point_pulls_at_another_host() {
        let peers = [peer("10.0.0.2:7946")];
        assert_eq!(
            checked_api(&record(Some("http://10.0.0.2:5000")), &peers).unwrap(),
            "http://10.0.0.2:5000"
        );
        let e = checked_api(&record(Some("http://169.254.169.254:80")), &peers).unwrap_err();
        assert!(e.contains("not on the host it gossips from"), "{e}");
        let e = checked_api(&record(Some("file:///etc/passwd")), &peers).unwrap_err();
        assert!(e.contains("not an http(s) URL"), "{e}");
        let e = checked_api(&record(None), &peers).unwrap_err();
        assert!(e.contains("not a member"), "{e}");
        let e = checked_api(&record(Some("http://10.0.0.2:5000")), &[]).unwrap_err();
        assert!(e.contains("not a member"), "{e}");
    }

    /// A hostile or broken peer on loopback: answers slowly, with garbage, hugely, or 500.
    async fn peer_server(kind: &'static str) -> String {
        use axum::routing::get;
        let app = axum::Router::new().route(
            "/api/v1/agents",
            get(move || async move {
                use axum::response::IntoResponse;
                match kind {
                    "slow" => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        "{}".into_response()
                    }
                    "garbage" => "<html>not json</html>".into_response(),
                    "huge" => vec![b' '; MAX_PEER_ANSWER + 10].into_response(),
                    "error" => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    _ => axum::Json(
                        serde_json::json!({"items": [], "next_cursor": null, "facets": {}}),
                    )
                    .into_response(),
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn hostile_peers_answer_with_a_named_error_within_the_deadline() {
        agentry_client::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        for (kind, want) in [
            ("slow", "deadline"),
            ("garbage", "not a search response"),
            ("huge", "larger than"),
            ("error", "HTTP 500"),
        ] {
            let api = peer_server(kind).await;
            let t = Instant::now();
            let e = ask_peer(&http, &api, "q=x").await.unwrap_err();
            assert!(e.contains(want), "{kind}: {e}");
            assert!(
                t.elapsed() < Duration::from_secs(3),
                "{kind} took {:?}",
                t.elapsed()
            );
        }
        let ok = peer_server("ok").await;
        assert!(ask_peer(&http, &ok, "q=x").await.unwrap().items.is_empty());
        let e = ask_peer(&http, "http://127.0.0.1:1", "").await.unwrap_err();
        assert!(e.contains("cannot connect"), "{e}");
    }
}
