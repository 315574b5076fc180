//! Rebuilding the whole index from every stored record (`agentry reindex`) and writing the
//! vector snapshot.

use super::open::{LAYOUT_VERSION, Meta, write_meta};
use super::state::State;
use super::vector::VectorIndex;
use super::{RebuildProgress, SearchIndex, Semantic};
use crate::IndexedAgent;
use crate::error::SearchResult;

impl SearchIndex {
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
            remove_if_present(&self.dir.join("vectors.usearch"))?;
            remove_if_present(&self.dir.join("vectors.keys"))?;
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
}

/// Delete `path`; a file that is not there is already deleted.
fn remove_if_present(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
