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
//!
//! One module per job: [`open`] (open, reload, semantic status, stats), [`commit`] (the group
//! commit of upserts and removals), [`rebuild`] (reindex and snapshot), [`filter`] (structured
//! filters and version selection as key sets), [`lookup`] (exact lookups), [`search`] (the
//! discovery query: pages, ranking, cursors), [`facets`], [`matching`] (match with reasons)
//! and [`capabilities`] (the taxonomy browse).

mod capabilities;
mod commit;
mod facets;
mod filter;
pub mod fusion;
mod lookup;
mod matching;
mod open;
mod rebuild;
mod search;
pub(crate) mod state;
pub(crate) mod text;
pub(crate) mod vector;

#[cfg(test)]
mod testkit;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use agentry_types::embed::Embedder;
use parking_lot::{Condvar, Mutex, RwLock};
use serde::Serialize;

use crate::error::{SearchError, SearchResult};
use crate::response::AgentHit;
use crate::taxonomy::Taxonomies;
use commit::Pending;
use state::{DocMeta, State};
use text::TextIndex;
use vector::VectorIndex;

pub use open::{LAYOUT_VERSION, stored_model_id};

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

fn item(doc: &DocMeta, score: f32) -> AgentHit {
    AgentHit {
        repo: doc.repo.clone(),
        digest: doc.digest.clone(),
        version: doc.version.to_string(),
        description: doc.description.to_string(),
        capabilities: doc.capabilities.iter().map(|c| c.to_string()).collect(),
        protocols: doc.protocols.iter().map(|c| c.to_string()).collect(),
        trust_tier: doc.tier,
        score,
        source_pod: doc.source_pod.to_string(),
        pushed_at: doc.pushed_at,
        why: Vec::new(),
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
