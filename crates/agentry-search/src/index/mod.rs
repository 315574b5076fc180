//! [`SearchIndex`]: the discovery index of one pod.
//!
//! Three parts, one directory:
//!
//! * `text/`: a tantivy index (BM25 full-text), which also stores every agent's slimmed
//!   record and its embedding. It is the durable source of the whole index: on open, the
//!   structured part is rebuilt from its stored fields.
//! * in memory: summaries and roaring-bitmap posting lists for exact, capability and filter
//!   terms ([`state`]).
//! * `vectors.usearch` (+ `vectors.keys`): a snapshot of the HNSW graph, written by
//!   [`SearchIndex::flush`] and after a rebuild. On open the snapshot is loaded and only
//!   agents added after it are inserted again (from their stored vectors): a restart never
//!   re-embeds.
//!
//! `meta.json` records the layout version and the embedding model the vectors came from; an
//! index opened with a different model refuses semantic queries until `agentry reindex`.

pub mod fusion;
pub(crate) mod state;
pub(crate) mod text;
pub(crate) mod vector;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use agentry_types::embed::Embedder;
use agentry_types::{Digest, RepoName, TrustTier};
use parking_lot::{Condvar, Mutex, RwLock};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::error::{ParamError, SearchError, SearchResult};
use crate::query::{CapabilityMatch, Cursor, MAX_LIMIT, MAX_RANKED_DEPTH, Query, VersionSpec};
use crate::response::{
    CapabilityNode, CapabilityTree, FacetCount, MatchRequest, SearchItem, SearchResponse,
};
use crate::taxonomy::{self, Taxonomies};
use crate::{IndexedAgent, embedding_text};
use state::{DocMeta, FACETS, Payload, State};
use text::{TextDoc, TextIndex, TextOp};
use vector::VectorIndex;

/// On-disk layout version of the index directory.
pub const LAYOUT_VERSION: u32 = 1;
/// Texts per embedding batch.
const EMBED_BATCH: usize = 32;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    layout: u32,
    /// Model the stored vectors were produced with.
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    dim: Option<usize>,
}

/// Whether semantic search can be answered, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SemanticStatus {
    Available { model_id: String },
    Unavailable { reason: String },
}

/// Options for [`SearchIndex::open`].
#[derive(Clone, Default)]
pub struct IndexOptions {
    /// The embedder for records and queries; `None` disables semantic search (it then answers
    /// [`SearchError::SemanticUnavailable`]).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Memory budget of the full-text writer (bytes); 0 means the default of 64 MB.
    pub writer_memory: usize,
}

/// Sizes and state, for `/ready`, metrics and benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStats {
    pub agents: u64,
    pub vectors: u64,
    /// Agents without a vector (indexed while no model was loaded): `agentry reindex` fixes.
    pub vectors_missing: u64,
    pub semantic: SemanticStatus,
    pub disk_bytes: u64,
    /// Approximate heap bytes of the structured part plus the vector graph.
    pub approx_memory_bytes: u64,
}

/// Progress of [`SearchIndex::rebuild`].
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    pub indexed: u64,
    pub embedded: u64,
}

enum Semantic {
    /// Vectors from `embedder` are (or will be) in `vectors`.
    Ready {
        embedder: Arc<dyn Embedder>,
        vectors: VectorIndex,
    },
    /// An embedder is loaded but the stored vectors came from another model.
    Stale {
        embedder: Arc<dyn Embedder>,
        built_with: String,
    },
    Off,
}

/// Nearest neighbours as (cosine similarity, key), best first.
pub type Neighbours = Vec<(f32, u32)>;

/// A write waiting for the next group commit.
enum WriteOp {
    Upsert {
        agents: Vec<IndexedAgent>,
        vectors: Option<Vec<Vec<f32>>>,
    },
    Remove {
        /// `repo@digest`
        id: String,
    },
}

/// What a committed batch changes in memory, in order.
enum Change<'a> {
    Remove(u32),
    Insert(u32, &'a IndexedAgent, Option<&'a [f32]>),
}

/// The group-commit queue.
#[derive(Default)]
struct Pending {
    queue: Vec<(u64, WriteOp)>,
    next_ticket: u64,
    /// A caller is applying a batch.
    committing: bool,
    /// Results waiting for their callers.
    done: HashMap<u64, SearchResult<bool>>,
}

/// Publishes a batch's results and wakes the waiters, also if applying it panicked (then
/// every op of the batch fails instead of waiting forever).
struct CommitGuard<'a> {
    index: &'a SearchIndex,
    tickets: Vec<u64>,
    results: Vec<SearchResult<bool>>,
}

impl Drop for CommitGuard<'_> {
    fn drop(&mut self) {
        let mut p = self.index.pending.lock();
        let mut results = std::mem::take(&mut self.results).into_iter();
        for t in self.tickets.drain(..) {
            let r = results.next().unwrap_or_else(|| {
                Err(SearchError::Commit(
                    "indexing stopped unexpectedly; run `agentry reindex`".into(),
                ))
            });
            p.done.insert(t, r);
        }
        p.committing = false;
        drop(p);
        self.index.pending_cv.notify_all();
    }
}

/// The discovery index. Cheap to share (`Arc`); every method takes `&self`.
pub struct SearchIndex {
    dir: PathBuf,
    text: TextIndex,
    state: RwLock<State>,
    semantic: RwLock<Semantic>,
    /// Serialises writers (upsert, remove, rebuild), so keys and commits stay in order.
    write: Mutex<()>,
    /// Writes waiting for the group commit ([`SearchIndex::submit`]).
    pending: Mutex<Pending>,
    pending_cv: Condvar,
    tax: Taxonomies,
    fusion: fusion::Fusion,
}

/// The model id the vectors of the index in `dir` were built with; `None` when there is no
/// index there yet, or it holds no vectors. Read before opening, to pick a matching encoder.
pub fn stored_model_id(dir: &Path) -> SearchResult<Option<String>> {
    Ok(read_meta(dir)?.and_then(|m| m.model_id))
}

fn read_meta(dir: &Path) -> SearchResult<Option<Meta>> {
    match std::fs::read(dir.join("meta.json")) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| SearchError::Corrupt(format!("meta.json: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn write_meta(dir: &Path, meta: &Meta) -> SearchResult<()> {
    let tmp = dir.join("meta.json.tmp");
    let bytes = serde_json::to_vec_pretty(meta)
        .map_err(|e| SearchError::Corrupt(format!("meta.json: {e}")))?;
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join("meta.json"))?;
    Ok(())
}

fn version_matches(spec: &VersionSpec, doc: &DocMeta, include_pre: bool) -> bool {
    match spec {
        VersionSpec::Exact(v) => doc.version.trim_start_matches('v') == v.as_str(),
        VersionSpec::Latest => true,
        VersionSpec::Range(req) => match &doc.semver {
            None => false,
            Some(v) => {
                if v.pre.is_empty() {
                    req.matches(v)
                } else {
                    req.matches(v)
                        || (include_pre
                            && req.matches(&semver::Version::new(v.major, v.minor, v.patch)))
                }
            }
        },
    }
}

/// Order for "highest version": stable semver > non-semver (by push time) > pre-release.
fn version_rank(doc: &DocMeta, include_pre: bool) -> (u8, Option<&semver::Version>, i64) {
    match &doc.semver {
        Some(v) if v.pre.is_empty() || include_pre => (2, Some(v), doc.pushed_at),
        Some(v) => (0, Some(v), doc.pushed_at),
        None => (1, None, doc.pushed_at),
    }
}

fn item(key: u32, doc: &DocMeta, score: f32) -> SearchItem {
    SearchItem {
        id: format!("{}@{}", doc.repo, doc.digest),
        name: doc.basename().to_owned(),
        namespace: doc.namespace().to_owned(),
        version: doc.version.to_string(),
        digest: doc.digest.to_string(),
        description: doc.description.to_string(),
        capabilities: doc.capabilities.iter().map(|c| c.to_string()).collect(),
        protocols: doc.protocols.iter().map(|c| c.to_string()).collect(),
        trust_tier: doc.tier,
        score,
        source_pod: doc.source_pod.to_string(),
        why: {
            let _ = key;
            Vec::new()
        },
    }
}

fn check_deadline(deadline: Option<Instant>, start: Instant) -> SearchResult<()> {
    match deadline {
        Some(d) if Instant::now() > d => Err(SearchError::Timeout(
            d.saturating_duration_since(start).as_millis() as u64,
        )),
        _ => Ok(()),
    }
}

/// Intersect `acc` (None = everything) with `b`.
fn and(acc: &mut Option<RoaringBitmap>, b: RoaringBitmap) {
    *acc = Some(match acc.take() {
        None => b,
        Some(a) => a & b,
    });
}

impl SearchIndex {
    /// Open (or create) the index under `dir`.
    pub fn open(dir: impl AsRef<Path>, opts: IndexOptions) -> SearchResult<SearchIndex> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let mut meta = match read_meta(&dir)? {
            Some(m) if m.layout != LAYOUT_VERSION => {
                return Err(SearchError::Corrupt(format!(
                    "index layout {} at {} (this build reads {LAYOUT_VERSION}); run `agentry reindex`",
                    m.layout,
                    dir.display()
                )));
            }
            Some(m) => m,
            None => Meta {
                layout: LAYOUT_VERSION,
                ..Meta::default()
            },
        };
        let writer_memory = if opts.writer_memory == 0 {
            64 << 20
        } else {
            opts.writer_memory
        };
        let text = TextIndex::open(&dir.join("text"), writer_memory)?;
        let tax = Taxonomies::shipped();

        // Decide what the stored vectors are worth with this embedder.
        let mut semantic = match (&opts.embedder, &meta.model_id) {
            (None, _) => Semantic::Off,
            (Some(e), Some(m)) if m != e.model_id() || meta.dim != Some(e.dim()) => {
                Semantic::Stale {
                    embedder: e.clone(),
                    built_with: m.clone(),
                }
            }
            (Some(e), _) => {
                let snap = dir.join("vectors.usearch");
                let loaded = if snap.exists() && meta.model_id.is_some() {
                    match VectorIndex::load(&snap, e.dim()) {
                        Ok(v) => v,
                        Err(err) => {
                            tracing::warn!(%err, "vector snapshot unreadable; rebuilding it from stored vectors");
                            None
                        }
                    }
                } else {
                    None
                };
                let vectors = match loaded {
                    Some(v) => v,
                    None => VectorIndex::new(e.dim())?,
                };
                Semantic::Ready {
                    embedder: e.clone(),
                    vectors,
                }
            }
        };
        if let Semantic::Ready { embedder, .. } = &semantic
            && meta.model_id.is_none()
        {
            meta.model_id = Some(embedder.model_id().to_owned());
            meta.dim = Some(embedder.dim());
        }
        write_meta(&dir, &meta)?;

        // Rebuild the structured part from stored payloads; collect vectors the snapshot lacks.
        let mut st = State::default();
        let mut pending: Vec<(u32, Vec<f32>)> = Vec::new();
        {
            let vectors = match &semantic {
                Semantic::Ready { vectors, .. } => Some(vectors),
                _ => None,
            };
            text.for_each_stored(|key, payload, vec| {
                let p: Payload = serde_json::from_slice(payload)
                    .map_err(|e| SearchError::Corrupt(format!("stored agent {key}: {e}")))?;
                st.insert(key, &p.agent, &tax);
                if let (Some(vx), Some(vb)) = (vectors, vec)
                    && !vx.contains(key)
                {
                    pending.push((key, vector::decode_f16(vb)));
                }
                Ok(())
            })?;
        }
        if let Semantic::Ready { vectors, .. } = &mut semantic {
            // Drop snapshot entries of agents removed since the snapshot.
            if let Ok(bytes) = std::fs::read(dir.join("vectors.keys"))
                && let Ok(snap_keys) = RoaringBitmap::deserialize_from(&bytes[..])
            {
                st.next_key = st.next_key.max(snap_keys.max().map_or(0, |m| m + 1));
                for k in &(snap_keys - &st.alive) {
                    vectors.remove(k)?;
                }
            }
            let items: Vec<(u32, &[f32])> =
                pending.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            vectors.add(&items)?;
        }
        Ok(SearchIndex {
            dir,
            text,
            state: RwLock::new(st),
            semantic: RwLock::new(semantic),
            write: Mutex::new(()),
            pending: Mutex::new(Pending::default()),
            pending_cv: Condvar::new(),
            tax,
            fusion: fusion::Fusion::default(),
        })
    }

    /// The same index, answering hybrid queries with `fusion` (the relevance benchmark
    /// compares rules this way; a pod uses the default).
    pub fn with_fusion(mut self, fusion: fusion::Fusion) -> SearchIndex {
        self.fusion = fusion;
        self
    }

    /// What a document matching every word of `text` once would score in full text
    /// ([`fusion::fuse`] normalises the lexical half by it).
    pub fn lexical_ceiling(&self, text: &str) -> SearchResult<f32> {
        self.text.score_ceiling(text)
    }

    /// Whether semantic and hybrid queries can be answered.
    pub fn semantic_status(&self) -> SemanticStatus {
        match &*self.semantic.read() {
            Semantic::Ready { embedder, .. } => SemanticStatus::Available {
                model_id: embedder.model_id().to_owned(),
            },
            Semantic::Stale {
                embedder,
                built_with,
            } => SemanticStatus::Unavailable {
                reason: format!(
                    "the index vectors were built with {built_with} but the loaded model is {}; run `agentry reindex` (with the --embed-precision the pod is served with)",
                    embedder.model_id()
                ),
            },
            Semantic::Off => SemanticStatus::Unavailable {
                reason: "no embedding model is loaded (run `agentry model fetch`, then restart)"
                    .into(),
            },
        }
    }

    /// The taxonomies the index resolves capabilities with.
    pub fn taxonomies(&self) -> &Taxonomies {
        &self.tax
    }

    fn embed_texts(&self, texts: &[String]) -> SearchResult<Option<Vec<Vec<f32>>>> {
        let embedder = match &*self.semantic.read() {
            Semantic::Ready { embedder, .. } => embedder.clone(),
            _ => return Ok(None),
        };
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(EMBED_BATCH) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            out.extend(
                embedder
                    .embed(&refs)
                    .map_err(|e| SearchError::Embed(e.to_string()))?,
            );
        }
        Ok(Some(out))
    }

    /// Index (or re-index) one pushed agent. When this returns, the agent is findable by
    /// every query kind, including semantic when a model is loaded.
    pub fn upsert(&self, agent: IndexedAgent) -> SearchResult<()> {
        self.upsert_batch(vec![agent])
    }

    /// Index many agents with one commit (bulk ingest, reindex).
    pub fn upsert_batch(&self, agents: Vec<IndexedAgent>) -> SearchResult<()> {
        let texts: Vec<String> = agents.iter().map(|a| embedding_text(&a.record)).collect();
        let vectors = self.embed_texts(&texts)?;
        self.upsert_with_vectors(agents, vectors)
    }

    /// Index agents whose embeddings were computed by the caller (from the same model; a
    /// vector of the wrong dimension is refused).
    pub fn upsert_with_vectors(
        &self,
        agents: Vec<IndexedAgent>,
        vectors: Option<Vec<Vec<f32>>>,
    ) -> SearchResult<()> {
        if agents.is_empty() {
            return Ok(());
        }
        if let Some(v) = &vectors
            && v.len() != agents.len()
        {
            return Err(SearchError::Embed(format!(
                "{} vectors for {} agents",
                v.len(),
                agents.len()
            )));
        }
        self.submit(WriteOp::Upsert { agents, vectors }).map(|_| ())
    }

    /// Remove the agent extracted from `digest` in `repo`. Returns whether it was indexed.
    pub fn remove(&self, repo: &RepoName, digest: &Digest) -> SearchResult<bool> {
        self.submit(WriteOp::Remove {
            id: format!("{repo}@{digest}"),
        })
    }

    /// Group commit. Every write joins a queue; whichever caller finds no commit running
    /// takes the whole queue, applies it in order with one full-text commit, and hands each
    /// waiter its own result. Concurrent pushes thus share the commit's fsyncs instead of
    /// queueing behind one another, and each caller still returns only once its change is
    /// committed and visible.
    fn submit(&self, op: WriteOp) -> SearchResult<bool> {
        let mut p = self.pending.lock();
        let ticket = p.next_ticket;
        p.next_ticket += 1;
        p.queue.push((ticket, op));
        loop {
            if let Some(r) = p.done.remove(&ticket) {
                return r;
            }
            if p.committing {
                self.pending_cv.wait(&mut p);
                continue;
            }
            p.committing = true;
            let batch = std::mem::take(&mut p.queue);
            drop(p);
            let mut guard = CommitGuard {
                index: self,
                tickets: batch.iter().map(|(t, _)| *t).collect(),
                results: Vec::new(),
            };
            guard.results = self.apply_ops(batch.into_iter().map(|(_, op)| op).collect());
            drop(guard);
            p = self.pending.lock();
        }
    }

    /// Apply `ops` in order as one commit; one result per op.
    fn apply_ops(&self, ops: Vec<WriteOp>) -> Vec<SearchResult<bool>> {
        let _w = self.write.lock();
        let mut results: Vec<SearchResult<bool>> = Vec::with_capacity(ops.len());
        let mut text_ops: Vec<TextOp> = Vec::new();
        let mut changes: Vec<Change<'_>> = Vec::new();
        {
            let st = self.state.read();
            // Keys as they stand after the ops seen so far (None: removed in this batch).
            let mut overlay: HashMap<String, Option<u32>> = HashMap::new();
            let current = |overlay: &HashMap<String, Option<u32>>, id: &str| match overlay.get(id) {
                Some(k) => *k,
                None => st.key_of_id(id),
            };
            let mut next_key = st.next_key;
            for op in &ops {
                match op {
                    WriteOp::Upsert { agents, vectors } => {
                        let docs = match self.prepare_docs(agents, vectors.as_deref()) {
                            Ok(d) => d,
                            Err(e) => {
                                results.push(Err(e));
                                continue;
                            }
                        };
                        if next_key.checked_add(agents.len() as u32).is_none() {
                            results.push(Err(SearchError::Corrupt(
                                "index key space exhausted; run `agentry reindex`".into(),
                            )));
                            continue;
                        }
                        for (i, (a, mut doc)) in agents.iter().zip(docs).enumerate() {
                            // The same artifact pushed again replaces its earlier entry.
                            let id = format!("{}@{}", a.repo, a.manifest_digest);
                            if let Some(k) = current(&overlay, &id) {
                                text_ops.push(TextOp::Delete(k));
                                changes.push(Change::Remove(k));
                            }
                            let key = next_key;
                            next_key += 1;
                            doc.key = key;
                            text_ops.push(TextOp::Add(doc));
                            changes.push(Change::Insert(
                                key,
                                a,
                                vectors.as_ref().map(|v| v[i].as_slice()),
                            ));
                            overlay.insert(id, Some(key));
                        }
                        results.push(Ok(true));
                    }
                    WriteOp::Remove { id } => match current(&overlay, id) {
                        Some(k) => {
                            text_ops.push(TextOp::Delete(k));
                            changes.push(Change::Remove(k));
                            overlay.insert(id.clone(), None);
                            results.push(Ok(true));
                        }
                        None => results.push(Ok(false)),
                    },
                }
            }
        }
        if text_ops.is_empty() {
            return results;
        }
        if let Err(e) = self.text.apply(text_ops) {
            let msg = e.to_string();
            return results
                .into_iter()
                .map(|r| r.and_then(|_| Err(SearchError::Commit(msg.clone()))))
                .collect();
        }
        {
            let mut st = self.state.write();
            for c in &changes {
                match c {
                    Change::Remove(k) => {
                        st.remove(*k);
                    }
                    Change::Insert(k, a, _) => st.insert(*k, a, &self.tax),
                }
            }
        }
        if let Semantic::Ready { vectors: vx, .. } = &*self.semantic.read() {
            let mut adds: Vec<(u32, &[f32])> = Vec::new();
            let mut outcome = Ok(());
            for c in &changes {
                let step = match c {
                    Change::Insert(k, _, Some(v)) => {
                        adds.push((*k, v));
                        Ok(())
                    }
                    Change::Insert(_, _, None) => Ok(()),
                    Change::Remove(k) => vx
                        .add(&std::mem::take(&mut adds))
                        .and_then(|()| vx.remove(*k)),
                };
                if step.is_err() {
                    outcome = step;
                    break;
                }
            }
            if outcome.is_ok() {
                outcome = vx.add(&adds);
            }
            if let Err(e) = outcome {
                // Text and structure are committed; only nearest-neighbour search misses these.
                let msg = format!("{e}; run `agentry reindex` to restore semantic search");
                return results
                    .into_iter()
                    .map(|r| r.and_then(|_| Err(SearchError::Vector(msg.clone()))))
                    .collect();
            }
        }
        results
    }

    /// Full-text documents (key still unset) for `agents`.
    fn prepare_docs(
        &self,
        agents: &[IndexedAgent],
        vectors: Option<&[Vec<f32>]>,
    ) -> SearchResult<Vec<TextDoc>> {
        agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let payload = serde_json::to_vec(&Payload {
                    agent: IndexedAgent {
                        record: state::slim(&a.record),
                        ..a.clone()
                    },
                })
                .map_err(|e| SearchError::Corrupt(e.to_string()))?;
                Ok(TextDoc {
                    key: 0,
                    name: crate::name_text(&a.record, a.repo.as_str()),
                    description: a.record.description.clone(),
                    skills: crate::skills_text(&a.record, &self.tax),
                    payload,
                    vector: vectors.map(|v| vector::encode_f16(&v[i])),
                })
            })
            .collect()
    }

    /// Replace the whole index with `agents` (re-embedding them with the loaded model), then
    /// write the vector snapshot. `progress` is called after every batch.
    pub fn rebuild(
        &self,
        agents: impl IntoIterator<Item = IndexedAgent>,
        batch: usize,
        mut progress: impl FnMut(RebuildProgress),
    ) -> SearchResult<RebuildProgress> {
        {
            let _w = self.write.lock();
            self.text.clear()?;
            *self.state.write() = State::default();
            let mut sem = self.semantic.write();
            let embedder = match &*sem {
                Semantic::Ready { embedder, .. } | Semantic::Stale { embedder, .. } => {
                    Some(embedder.clone())
                }
                Semantic::Off => None,
            };
            if let Some(e) = embedder {
                *sem = Semantic::Ready {
                    vectors: VectorIndex::new(e.dim())?,
                    embedder: e.clone(),
                };
                write_meta(
                    &self.dir,
                    &Meta {
                        layout: LAYOUT_VERSION,
                        model_id: Some(e.model_id().to_owned()),
                        dim: Some(e.dim()),
                    },
                )?;
            }
            let _ = std::fs::remove_file(self.dir.join("vectors.usearch"));
            let _ = std::fs::remove_file(self.dir.join("vectors.keys"));
        }
        let batch = batch.max(1);
        let mut done = RebuildProgress {
            indexed: 0,
            embedded: 0,
        };
        let mut buf = Vec::with_capacity(batch);
        let embeds = matches!(&*self.semantic.read(), Semantic::Ready { .. });
        for a in agents {
            buf.push(a);
            if buf.len() >= batch {
                let n = buf.len() as u64;
                self.upsert_batch(std::mem::take(&mut buf))?;
                done.indexed += n;
                if embeds {
                    done.embedded += n;
                }
                progress(done);
            }
        }
        if !buf.is_empty() {
            let n = buf.len() as u64;
            self.upsert_batch(buf)?;
            done.indexed += n;
            if embeds {
                done.embedded += n;
            }
            progress(done);
        }
        self.flush()?;
        Ok(done)
    }

    /// Write the vector snapshot so the next open loads the graph instead of rebuilding it.
    /// Call on graceful shutdown and after bulk changes.
    pub fn flush(&self) -> SearchResult<()> {
        let _w = self.write.lock();
        if let Semantic::Ready { vectors, .. } = &*self.semantic.read() {
            vectors.save(&self.dir.join("vectors.usearch"))?;
            let alive = self.state.read().alive.clone();
            let mut bytes = Vec::with_capacity(alive.serialized_size());
            alive.serialize_into(&mut bytes)?;
            let tmp = self.dir.join("vectors.keys.tmp");
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, self.dir.join("vectors.keys"))?;
        }
        Ok(())
    }

    pub fn stats(&self) -> IndexStats {
        let st = self.state.read();
        let (vectors, vmem) = match &*self.semantic.read() {
            Semantic::Ready { vectors, .. } => (vectors.len() as u64, vectors.memory_bytes()),
            _ => (0, 0),
        };
        let agents = st.len();
        IndexStats {
            agents,
            vectors,
            vectors_missing: if matches!(&*self.semantic.read(), Semantic::Off) {
                0
            } else {
                agents.saturating_sub(vectors)
            },
            semantic: self.semantic_status(),
            disk_bytes: TextIndex::disk_bytes(&self.dir),
            approx_memory_bytes: (st.approx_bytes() + vmem) as u64,
        }
    }

    // ---------------------------------------------------------------- queries

    /// The structured filter of `q` as a key set (`None`: every agent).
    fn filter(&self, st: &State, q: &Query) -> Option<RoaringBitmap> {
        let mut acc: Option<RoaringBitmap> = None;
        let get = |t: &str| st.term(t).cloned().unwrap_or_default();
        if let Some(name) = &q.name {
            let mut b = get(&format!("name:{name}"));
            if let Some(spec) = &q.version {
                b = self.versions_matching(st, &b, spec, q.include_prerelease);
            }
            and(&mut acc, b);
        }
        if let Some(d) = &q.digest {
            and(&mut acc, get(&format!("digest:{d}")));
        }
        if let Some(c) = &q.oasf_cid {
            and(&mut acc, get(&format!("cid:{c}")));
        }
        if !q.capabilities.is_empty() {
            let sets: Vec<RoaringBitmap> = q
                .capabilities
                .iter()
                .map(|c| {
                    let mut u = RoaringBitmap::new();
                    for t in taxonomy::query_terms(c) {
                        if let Some(b) = st.term(&t) {
                            u |= b;
                        }
                    }
                    u
                })
                .collect();
            let combined = match q.capability_match {
                CapabilityMatch::All => sets.into_iter().reduce(|a, b| a & b).unwrap_or_default(),
                CapabilityMatch::Any => sets.into_iter().fold(RoaringBitmap::new(), |a, b| a | b),
            };
            and(&mut acc, combined);
        }
        if !q.protocols.is_empty() {
            let mut u = RoaringBitmap::new();
            for p in &q.protocols {
                let kind = agentry_types::record::ProtocolKind::parse(p);
                if let Some(b) = st.term(&format!("proto:{}", kind.as_str())) {
                    u |= b;
                }
            }
            and(&mut acc, u);
        }
        if let Some(min) = q.min_tier {
            let mut u = RoaringBitmap::new();
            for t in TrustTier::ALL.iter().filter(|t| **t >= min) {
                if let Some(b) = st.term(&format!("tier:{t}")) {
                    u |= b;
                }
            }
            and(&mut acc, u);
        }
        if let Some(ns) = &q.namespace {
            and(&mut acc, get(&format!("ns:{ns}")));
        }
        if let Some(p) = &q.publisher {
            and(&mut acc, get(&format!("pub:{p}")));
        }
        for (k, v) in &q.labels {
            and(&mut acc, get(&format!("label:{k}={v}")));
        }
        if let Some(os) = &q.os {
            and(&mut acc, get(&format!("os:{os}")));
        }
        if let Some(arch) = &q.arch {
            and(&mut acc, get(&format!("arch:{arch}")));
        }
        match q.gpu {
            Some(true) => and(&mut acc, get("gpu:1")),
            Some(false) => {
                let b = &st.alive - &get("gpu:1");
                and(&mut acc, b);
            }
            None => {}
        }
        if let Some(n) = q.max_input_tokens {
            let base = acc.take().unwrap_or_else(|| st.alive.clone());
            let fits: RoaringBitmap = base
                .iter()
                .filter(|k| st.doc(*k).is_some_and(|d| d.min_window <= n))
                .collect();
            acc = Some(fits);
        }
        acc
    }

    /// The keys in `of` whose version satisfies `spec` (`Latest`: the single highest).
    fn versions_matching(
        &self,
        st: &State,
        of: &RoaringBitmap,
        spec: &VersionSpec,
        include_pre: bool,
    ) -> RoaringBitmap {
        let matching = of.iter().filter(|k| {
            st.doc(*k)
                .is_some_and(|d| version_matches(spec, d, include_pre))
        });
        match spec {
            VersionSpec::Exact(_) => matching.collect(),
            VersionSpec::Range(_) => matching
                .filter(|k| {
                    include_pre
                        || st
                            .doc(*k)
                            .and_then(|d| d.semver.as_ref())
                            .is_some_and(|v| v.pre.is_empty())
                })
                .collect(),
            VersionSpec::Latest => {
                let best = matching.max_by(|a, b| {
                    let (da, db) = (st.doc(*a), st.doc(*b));
                    match (da, db) {
                        (Some(da), Some(db)) => version_rank(da, include_pre)
                            .cmp(&version_rank(db, include_pre))
                            .then(b.cmp(a)),
                        _ => std::cmp::Ordering::Equal,
                    }
                });
                best.into_iter().collect()
            }
        }
    }

    /// `namespace/name` at a version spec: the highest matching version (`GET
    /// /agents/{ns}/{name}`, `…/{version}`, `…@{range}`).
    pub fn resolve(
        &self,
        repo: &str,
        spec: &VersionSpec,
        include_prerelease: bool,
    ) -> Option<SearchItem> {
        let st = self.state.read();
        let of = st.term(&format!("name:{}", repo.to_ascii_lowercase()))?;
        let mut keys = self.versions_matching(&st, of, spec, include_prerelease);
        if !matches!(spec, VersionSpec::Latest) && keys.len() > 1 {
            keys = self.versions_matching(&st, &keys, &VersionSpec::Latest, include_prerelease);
        }
        let k = keys.min()?;
        st.doc(k).map(|d| item(k, d, 1.0))
    }

    /// The version strings of `namespace/name`, highest first (the exact-lookup path lists
    /// them; [`resolve`](Self::resolve) picks one).
    pub fn version_strings(&self, repo: &str) -> Vec<String> {
        let st = self.state.read();
        let Some(of) = st.term(&format!("name:{}", repo.to_ascii_lowercase())) else {
            return Vec::new();
        };
        let mut v: Vec<&DocMeta> = of.iter().filter_map(|k| st.doc(k)).collect();
        v.sort_by(|a, b| version_rank(b, true).cmp(&version_rank(a, true)));
        v.into_iter().map(|d| d.version.to_string()).collect()
    }

    /// Every indexed artifact with this manifest (or record) digest.
    pub fn by_digest(&self, digest: &Digest) -> Vec<SearchItem> {
        let st = self.state.read();
        st.term(&format!("digest:{digest}"))
            .map(|b| {
                b.iter()
                    .filter_map(|k| st.doc(k).map(|d| item(k, d, 1.0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn embed_query(&self, text: &str) -> SearchResult<Vec<f32>> {
        let embedder = match &*self.semantic.read() {
            Semantic::Ready { embedder, .. } => embedder.clone(),
            _ => {
                let SemanticStatus::Unavailable { reason } = self.semantic_status() else {
                    return Err(SearchError::SemanticUnavailable("unknown".into()));
                };
                return Err(SearchError::SemanticUnavailable(reason));
            }
        };
        let mut v = embedder
            .embed(&[text])
            .map_err(|e| SearchError::Embed(e.to_string()))?;
        v.pop()
            .ok_or_else(|| SearchError::Embed("the model returned no vector".into()))
    }

    /// The `k` nearest agents of `query` by the ANN graph and by brute force over the same
    /// vectors: the recall benchmark's probe.
    pub fn recall_probe(&self, query: &[f32], k: usize) -> SearchResult<(Neighbours, Neighbours)> {
        let sem = self.semantic.read();
        let Semantic::Ready { vectors, .. } = &*sem else {
            return Err(SearchError::SemanticUnavailable("no vectors".into()));
        };
        Ok((
            vectors.search(query, k, |_| true)?,
            vectors.exact(query, k)?,
        ))
    }

    /// Answer a discovery query.
    pub fn search(&self, q: &Query) -> SearchResult<SearchResponse> {
        let start = Instant::now();
        let fingerprint = q.fingerprint();
        if let Some(c) = &q.cursor
            && c.fingerprint != fingerprint
        {
            return Err(ParamError::new(
                "cursor",
                "belongs to a different query; repeat the query without it",
            )
            .into());
        }
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let lexical = q.lexical_text();
        let semantic = q.semantic_text();
        // Embed before taking any lock (it is the slowest step).
        let qvec = match semantic {
            Some(s) => Some(self.embed_query(s)?),
            None => None,
        };
        check_deadline(q.deadline, start)?;
        let st = self.state.read();
        let allow = self.filter(&st, q);
        check_deadline(q.deadline, start)?;
        let offset = q.cursor.as_ref().map_or(0, |c| c.offset);

        let mut facet_base: Option<RoaringBitmap> = None;
        let (ranked, more): (Vec<(f32, u32)>, bool) = if lexical.is_none() && qvec.is_none() {
            // Unranked: key order, resume after the cursor key.
            let base = allow.as_ref().unwrap_or(&st.alive);
            let after = q.cursor.as_ref().map(|c| c.key);
            let mut it = base.iter();
            if let Some(a) = after {
                it.advance_to(a.saturating_add(1));
                if a == u32::MAX {
                    it.advance_to(u32::MAX);
                    let _ = it.next();
                }
            }
            let mut page: Vec<(f32, u32)> = it.by_ref().take(limit + 1).map(|k| (1.0, k)).collect();
            let more = page.len() > limit;
            page.truncate(limit);
            if q.facets {
                facet_base = Some(base.clone());
            }
            (page, more)
        } else {
            let depth = (offset + limit + 1).min(MAX_RANKED_DEPTH + 1);
            let allow_arc = allow.clone().map(Arc::new);
            let text_hits = match lexical {
                Some(t) => {
                    let want_all = q.facets && qvec.is_none();
                    let d = if qvec.is_some() {
                        depth.max(100)
                    } else {
                        depth
                    };
                    // The hybrid's lexical half searches what its fusion rule asks for.
                    let t = if qvec.is_some() {
                        self.fusion.lexical_text(t)
                    } else {
                        std::borrow::Cow::Borrowed(t)
                    };
                    let (hits, all) = self
                        .text
                        .search(&t, allow_arc.clone(), d, want_all, q.deadline)
                        .map_err(|e| match e {
                            SearchError::Timeout(_) => {
                                SearchError::Timeout(q.deadline.map_or(0, |d| {
                                    d.saturating_duration_since(start).as_millis() as u64
                                }))
                            }
                            e => e,
                        })?;
                    if let Some(all) = all {
                        facet_base = Some(all);
                    }
                    Some(hits)
                }
                None => None,
            };
            check_deadline(q.deadline, start)?;
            let sem_hits = match &qvec {
                Some(v) => {
                    let sem = self.semantic.read();
                    let Semantic::Ready { vectors, .. } = &*sem else {
                        return Err(SearchError::SemanticUnavailable(
                            "semantic index unavailable".into(),
                        ));
                    };
                    let d = if lexical.is_some() {
                        depth.max(100)
                    } else {
                        depth
                    };
                    let allow_ref = allow.as_ref();
                    let hits = vectors.search(v, d, |k| match allow_ref {
                        Some(a) => a.contains(k),
                        None => st.alive.contains(k),
                    })?;
                    if q.facets {
                        facet_base = Some(allow.clone().unwrap_or_else(|| st.alive.clone()));
                    }
                    Some(hits)
                }
                None => None,
            };
            let mut fused: Vec<(f32, u32)> = match (text_hits, sem_hits) {
                (Some(t), None) => t,
                (None, Some(s)) => s,
                (Some(t), Some(s)) => {
                    let lex = self.fusion.lexical_text(lexical.unwrap_or_default());
                    let rule = self.fusion.resolve(&lex);
                    fusion::fuse(&rule, &t, self.lexical_ceiling(&lex)?, &s)
                }
                (None, None) => Vec::new(),
            };
            fused.retain(|(_, k)| st.doc(*k).is_some());
            fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            // Resume strictly after the cursor's (score, key) position.
            let start_at = match &q.cursor {
                Some(c) => {
                    let cs = c.score.unwrap_or(f32::INFINITY);
                    fused
                        .iter()
                        .position(|(s, k)| *s < cs || (*s == cs && *k > c.key))
                        .unwrap_or(fused.len())
                }
                None => 0,
            };
            let rest = &fused[start_at..];
            let more = rest.len() > limit && offset + limit < MAX_RANKED_DEPTH;
            (rest.iter().take(limit).copied().collect(), more)
        };
        check_deadline(q.deadline, start)?;
        let items: Vec<SearchItem> = ranked
            .iter()
            .filter_map(|(s, k)| st.doc(*k).map(|d| item(*k, d, *s)))
            .collect();
        let next_cursor = if more {
            ranked.last().map(|(s, k)| {
                Cursor {
                    fingerprint,
                    offset: offset + ranked.len(),
                    score: (lexical.is_some() || qvec.is_some()).then_some(*s),
                    key: *k,
                }
                .encode()
            })
        } else {
            None
        };
        let facets = match facet_base {
            Some(b) => self.facets(&st, &b, q.deadline, start)?,
            None => Default::default(),
        };
        Ok(SearchResponse {
            items,
            next_cursor,
            facets,
        })
    }

    fn facets(
        &self,
        st: &State,
        base: &RoaringBitmap,
        deadline: Option<Instant>,
        start: Instant,
    ) -> SearchResult<std::collections::BTreeMap<String, Vec<FacetCount>>> {
        let mut out = std::collections::BTreeMap::new();
        for (g, (name, prefix)) in FACETS.iter().enumerate() {
            check_deadline(deadline, start)?;
            let terms = &st.facet_terms[g];
            let mut counts: Vec<FacetCount> = if g == 3 && (base.len() as usize) < terms.len() * 4 {
                // Few matches, many namespaces: count per matching agent instead.
                let mut m: HashMap<&str, u64> = HashMap::new();
                for k in base {
                    if let Some(d) = st.doc(k) {
                        *m.entry(d.namespace()).or_default() += 1;
                    }
                }
                m.into_iter()
                    .map(|(v, count)| FacetCount {
                        value: v.to_owned(),
                        count,
                    })
                    .collect()
            } else {
                terms
                    .iter()
                    .filter_map(|&t| {
                        let count = st.postings[t as usize].intersection_len(base);
                        (count > 0).then(|| FacetCount {
                            value: st.term_names[t as usize][prefix.len()..].to_owned(),
                            count,
                        })
                    })
                    .collect()
            };
            counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
            counts.truncate(50);
            out.insert((*name).to_owned(), counts);
        }
        Ok(out)
    }

    /// `POST /agents/match`: hard requirements filter, soft ones rank; each result says why
    /// it matched.
    pub fn match_agents(&self, req: &MatchRequest) -> SearchResult<SearchResponse> {
        let limit = req.limit.unwrap_or(10).clamp(1, MAX_LIMIT);
        for (field, list) in [
            ("capabilities.all", &req.capabilities.all),
            ("capabilities.any", &req.capabilities.any),
        ] {
            if list.iter().any(|c| c.trim().is_empty() || c.len() > 200) {
                return Err(ParamError::new(field, "capabilities must be 1..=200 bytes").into());
            }
        }
        if req.max_input_tokens == Some(0) {
            return Err(ParamError::new("max_input_tokens", "must be at least 1").into());
        }
        let mut q = Query::new();
        q.capabilities = req.capabilities.all.clone();
        q.capability_match = CapabilityMatch::All;
        q.protocols = req
            .protocols
            .iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        q.min_tier = req.min_trust_tier;
        q.max_input_tokens = req.max_input_tokens;
        q.os = req.os.as_ref().map(|s| s.to_ascii_lowercase());
        q.arch = req.arch.as_ref().map(|s| s.to_ascii_lowercase());
        q.gpu = req.gpu.filter(|g| !*g); // a runtime without GPU excludes GPU agents
        q.namespace = req.namespace.as_ref().map(|s| s.to_ascii_lowercase());
        q.labels = req
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let st = self.state.read();
        let mut cand = self.filter(&st, &q).unwrap_or_else(|| st.alive.clone());
        let any_sets: Vec<(String, RoaringBitmap)> = req
            .capabilities
            .any
            .iter()
            .map(|c| {
                let mut u = RoaringBitmap::new();
                for t in taxonomy::query_terms(c) {
                    if let Some(b) = st.term(&t) {
                        u |= b;
                    }
                }
                (c.clone(), u)
            })
            .collect();
        if req.capability_mode() == CapabilityMatch::Any && !any_sets.is_empty() {
            let union = any_sets
                .iter()
                .fold(RoaringBitmap::new(), |a, (_, b)| a | b);
            cand &= union;
        }
        // Text relevance among candidates, normalised to 0..1.
        let text_scores: HashMap<u32, f32> = match req.text.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                let (hits, _) =
                    self.text
                        .search(t, Some(Arc::new(cand.clone())), 1000, false, None)?;
                let max = hits.first().map_or(1.0, |h| h.0.max(f32::EPSILON));
                hits.into_iter().map(|(s, k)| (k, s / max)).collect()
            }
            _ => HashMap::new(),
        };
        let has_text = req.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        let mut scored: Vec<(f32, u32)> = if has_text {
            text_scores.iter().map(|(k, s)| (*s, *k)).collect()
        } else if !any_sets.is_empty() {
            let mut union = any_sets
                .iter()
                .fold(RoaringBitmap::new(), |a, (_, b)| a | b);
            union &= &cand;
            union.iter().map(|k| (0.0, k)).collect()
        } else {
            cand.iter().take(limit).map(|k| (1.0, k)).collect()
        };
        if !any_sets.is_empty() {
            for (s, k) in &mut scored {
                let hits = any_sets.iter().filter(|(_, b)| b.contains(*k)).count();
                *s += hits as f32 / any_sets.len() as f32;
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(limit);
        let items = scored
            .into_iter()
            .filter_map(|(s, k)| {
                let d = st.doc(k)?;
                let mut it = item(k, d, s);
                it.why = self.why(&st, k, d, req, &any_sets, text_scores.get(&k).copied());
                Some(it)
            })
            .collect();
        Ok(SearchResponse {
            items,
            next_cursor: None,
            facets: Default::default(),
        })
    }

    fn why(
        &self,
        st: &State,
        key: u32,
        d: &DocMeta,
        req: &MatchRequest,
        any_sets: &[(String, RoaringBitmap)],
        text: Option<f32>,
    ) -> Vec<String> {
        let mut why = Vec::new();
        let via = |c: &str| -> String {
            let p = taxonomy::normalize_path(c);
            let found = d
                .capabilities
                .iter()
                .find(|have| have.as_ref() == p || have.starts_with(&format!("{p}/")));
            match found {
                Some(h) if h.as_ref() != p => format!("has capability {c} (via {h})"),
                _ => format!("has capability {c}"),
            }
        };
        for c in &req.capabilities.all {
            why.push(via(c));
        }
        for (c, b) in any_sets {
            if b.contains(key) {
                why.push(via(c));
            }
        }
        if !req.protocols.is_empty() {
            let speaks: Vec<&str> = d
                .protocols
                .iter()
                .filter(|p| {
                    req.protocols.iter().any(|r| {
                        agentry_types::record::ProtocolKind::parse(r).as_str() == p.as_ref()
                    })
                })
                .map(|p| p.as_ref())
                .collect();
            why.push(format!("speaks {}", speaks.join(", ")));
        }
        if let Some(min) = req.min_trust_tier {
            why.push(format!("trust tier {} meets minimum {min}", d.tier));
        }
        if let Some(n) = req.max_input_tokens {
            if d.min_window == 0 {
                why.push(format!("declares no context demand; fits {n} tokens"));
            } else {
                why.push(format!(
                    "context budget fits {n} tokens (Formula 2 needs at least {})",
                    d.min_window
                ));
            }
        }
        if let (Some(os), Some(arch)) = (&req.os, &req.arch) {
            why.push(format!("runs on {os}/{arch}"));
        } else if let Some(os) = &req.os {
            why.push(format!("runs on {os}"));
        } else if let Some(arch) = &req.arch {
            why.push(format!("runs on {arch}"));
        }
        if req.gpu == Some(false) {
            why.push("needs no GPU".into());
        }
        if let Some(ns) = &req.namespace {
            why.push(format!("in namespace {ns}"));
        }
        for (k, v) in &req.labels {
            why.push(format!("label {k}={v}"));
        }
        if let Some(t) = text {
            why.push(format!("text relevance {t:.2}"));
        }
        let _ = st;
        why
    }

    /// `GET /capabilities`: the taxonomy tree of `version` (default newest) with the number of
    /// agents under each class, and record classes outside it.
    pub fn capabilities(&self, version: Option<&str>) -> SearchResult<CapabilityTree> {
        let tax = match version {
            Some(v) => self.tax.version(v).ok_or_else(|| {
                ParamError::new(
                    "taxonomy",
                    format!(
                        "unknown taxonomy version {v:?} (known: {})",
                        taxonomy::VERSIONS.join(", ")
                    ),
                )
            })?,
            None => self
                .tax
                .versions
                .last()
                .ok_or_else(|| SearchError::Corrupt("no taxonomy compiled in".into()))?,
        };
        let st = self.state.read();
        let count = |path: &str| st.term(&format!("cap:{path}")).map_or(0, |b| b.len());
        fn children(
            tax: &taxonomy::Taxonomy,
            parent: &str,
            level: u32,
            count: &dyn Fn(&str) -> u64,
        ) -> Vec<CapabilityNode> {
            tax.classes
                .iter()
                .filter(|c| {
                    c.level == level
                        && match c.name.rsplit_once('/') {
                            Some((p, _)) => p == parent,
                            None => parent.is_empty(),
                        }
                })
                .map(|c| CapabilityNode {
                    id: c.id,
                    name: c.name.clone(),
                    caption: c.caption.clone(),
                    description: c.description.clone(),
                    count: count(&c.name),
                    children: children(tax, &c.name, level + 1, count),
                })
                .collect()
        }
        let categories = children(tax, "", 1, &count);
        let mut other: Vec<FacetCount> = st.facet_terms[0]
            .iter()
            .filter_map(|&t| {
                let path = &st.term_names[t as usize]["cap:".len()..];
                if path.contains('/') || tax.by_path(path).is_some() {
                    return None;
                }
                let c = st.postings[t as usize].len();
                (c > 0).then(|| FacetCount {
                    value: path.to_owned(),
                    count: c,
                })
            })
            .collect();
        other.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        other.truncate(100);
        Ok(CapabilityTree {
            taxonomy: tax.version.to_owned(),
            categories,
            other,
        })
    }
}
