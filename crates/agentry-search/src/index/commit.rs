//! Writes: upserts and removals join one queue and are applied by a group commit (one
//! full-text commit for everything queued), then mirrored into the structured state and the
//! vector graph.

use std::collections::HashMap;

use agentry_types::{Digest, RepoName};

use super::state::{self, Payload};
use super::text::{TextDoc, TextOp};
use super::{SearchIndex, Semantic, vector};
use crate::error::{SearchError, SearchResult};
use crate::{IndexedAgent, embedding_text};

/// Texts per embedding batch.
const EMBED_BATCH: usize = 32;

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
pub(super) struct Pending {
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

impl SearchIndex {
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
}
