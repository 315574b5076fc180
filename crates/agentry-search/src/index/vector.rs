//! The semantic side of the index: an HNSW graph (usearch) over f16 copies of the embeddings,
//! cosine metric, keyed by the index key.
//!
//! usearch rather than hnsw_rs: hnsw_rs keeps 16 pre-allocated layer vectors and an `Arc` per
//! edge for every point (~1.5 KB of graph per agent plus 1.5 KB of f32 data), which alone nearly
//! exhausts the 4 KB-per-agent budget at a million agents; usearch stores the graph in flat
//! arenas and the vectors as f16 (~1 KB per agent in total), supports removal, filtered search
//! and saving/loading the whole graph, so a restart reloads instead of rebuilding.

use std::path::Path;

use parking_lot::RwLock;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::error::{SearchError, SearchResult};

/// HNSW parameters, chosen by the recall benchmark (recall@10 ≥ 0.95 against brute force).
/// At a million generated agents the search expansion is what holds recall up: 256 gave 0.907,
/// 512 0.928, 1024 0.951 (0.967 counting ties), for 2.4 → 4.7 ms p50 including the query
/// embedding; at 10k, 1024 costs 1.3 ms more than 256 and changes nothing. A denser graph
/// (more connectivity) would need less expansion but costs memory per agent at every size.
pub const CONNECTIVITY: usize = 16;
pub const EXPANSION_ADD: usize = 128;
pub const EXPANSION_SEARCH: usize = 1024;

pub(crate) struct VectorIndex {
    index: RwLock<Index>,
    pub dim: usize,
}

fn verr(e: impl std::fmt::Display) -> SearchError {
    SearchError::Vector(e.to_string())
}

fn options(dim: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::Cos,
        quantization: ScalarKind::F16,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

impl VectorIndex {
    pub fn new(dim: usize) -> SearchResult<VectorIndex> {
        let index = Index::new(&options(dim)).map_err(verr)?;
        index.reserve(1024).map_err(verr)?;
        Ok(VectorIndex {
            index: RwLock::new(index),
            dim,
        })
    }

    /// Load a snapshot written by [`VectorIndex::save`]; `None` if it does not match `dim`.
    pub fn load(path: &Path, dim: usize) -> SearchResult<Option<VectorIndex>> {
        let p = path.to_string_lossy();
        let index = Index::new(&options(dim)).map_err(verr)?;
        index.load(&p).map_err(verr)?;
        if index.dimensions() != dim {
            return Ok(None);
        }
        index.change_expansion_search(EXPANSION_SEARCH);
        Ok(Some(VectorIndex {
            index: RwLock::new(index),
            dim,
        }))
    }

    /// Write the whole graph to `path` atomically (temp file, then rename).
    pub fn save(&self, path: &Path) -> SearchResult<()> {
        let tmp = path.with_extension("tmp");
        self.index
            .read()
            .save(&tmp.to_string_lossy())
            .map_err(verr)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.index.read().size()
    }

    pub fn contains(&self, key: u32) -> bool {
        self.index.read().contains(u64::from(key))
    }

    /// Insert (or replace) vectors. Concurrent with searches.
    pub fn add(&self, items: &[(u32, &[f32])]) -> SearchResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        {
            let idx = self.index.read();
            let need = idx.size() + items.len();
            if need > idx.capacity() {
                drop(idx);
                let idx = self.index.write();
                let cap = (need * 3 / 2).max(1024);
                idx.reserve(cap).map_err(verr)?;
            }
        }
        let idx = self.index.read();
        for (key, v) in items {
            if v.len() != self.dim {
                return Err(SearchError::Embed(format!(
                    "vector of dimension {} for an index of dimension {}",
                    v.len(),
                    self.dim
                )));
            }
            let k = u64::from(*key);
            if idx.contains(k) {
                idx.remove(k).map_err(verr)?;
            }
            idx.add(k, v).map_err(verr)?;
        }
        Ok(())
    }

    pub fn remove(&self, key: u32) -> SearchResult<()> {
        let idx = self.index.read();
        if idx.contains(u64::from(key)) {
            idx.remove(u64::from(key)).map_err(verr)?;
        }
        Ok(())
    }

    /// The `k` nearest keys passing `allow`, as (cosine similarity, key), best first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: impl Fn(u32) -> bool,
    ) -> SearchResult<Vec<(f32, u32)>> {
        let idx = self.index.read();
        if idx.size() == 0 || k == 0 {
            return Ok(Vec::new());
        }
        let m = idx
            .filtered_search(query, k, |key: u64| u32::try_from(key).is_ok_and(&allow))
            .map_err(verr)?;
        let mut out: Vec<(f32, u32)> = m
            .keys
            .iter()
            .zip(m.distances.iter())
            .filter_map(|(k, d)| u32::try_from(*k).ok().map(|k| (1.0 - *d, k)))
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(out)
    }

    /// Brute-force `k` nearest keys (no graph), for measuring recall.
    pub fn exact(&self, query: &[f32], k: usize) -> SearchResult<Vec<(f32, u32)>> {
        let idx = self.index.read();
        let m = idx.exact_search(query, k).map_err(verr)?;
        Ok(m.keys
            .iter()
            .zip(m.distances.iter())
            .filter_map(|(k, d)| u32::try_from(*k).ok().map(|k| (1.0 - *d, k)))
            .collect())
    }

    /// Bytes the graph and vectors occupy in memory, as usearch accounts them.
    pub fn memory_bytes(&self) -> usize {
        self.index.read().memory_usage()
    }
}

/// Vectors are stored next to each document as little-endian f16.
pub(crate) fn encode_f16(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 2);
    for x in v {
        out.extend_from_slice(&half::f16::from_f32(*x).to_le_bytes());
    }
    out
}

pub(crate) fn decode_f16(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}
