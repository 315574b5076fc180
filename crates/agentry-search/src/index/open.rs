//! Opening an index directory: the layout and model check of `meta.json`, the structured
//! part rebuilt from stored payloads, the vector snapshot loaded and topped up; and what an
//! open index reports about itself.

use std::path::Path;

use parking_lot::{Condvar, Mutex, RwLock};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::commit::Pending;
use super::state::{Payload, State};
use super::text::TextIndex;
use super::vector::{self, VectorIndex};
use super::{IndexOptions, IndexStats, SearchIndex, Semantic, SemanticStatus};
use crate::error::{SearchError, SearchResult};
use crate::taxonomy::Taxonomies;

/// On-disk layout version of the index directory.
pub const LAYOUT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Meta {
    pub layout: u32,
    /// Model the stored vectors were produced with.
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default)]
    pub dim: Option<usize>,
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

pub(super) fn write_meta(dir: &Path, meta: &Meta) -> SearchResult<()> {
    let tmp = dir.join("meta.json.tmp");
    let bytes = serde_json::to_vec_pretty(meta)
        .map_err(|e| SearchError::Corrupt(format!("meta.json: {e}")))?;
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join("meta.json"))?;
    Ok(())
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
            fusion: super::fusion::Fusion::default(),
        })
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
}
