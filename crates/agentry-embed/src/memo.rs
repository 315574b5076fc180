//! Remembering the vectors of texts already embedded.
//!
//! A push of an agent whose embedding text has not changed (a new tag or patch release of the
//! same description, a re-push by CI, an agent replicated twice) and a query asked again would
//! otherwise pay a forward pass for a vector the pod computed before. [`MemoEmbedder`] wraps any
//! [`Embedder`] and keeps the vectors of the most recently embedded texts, keyed by the SHA-256
//! of the text (not the text itself, so memory per entry is fixed), least recently used first
//! out. Only the texts it has not seen reach the wrapped model, as one batch.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::{EmbedError, Embedder};

/// An [`Embedder`] that embeds each distinct text once while it stays among the `capacity` most
/// recently used. Vectors come from the wrapped model unchanged, so an index cannot tell them
/// apart from fresh ones (same `model_id`).
pub struct MemoEmbedder {
    inner: Arc<dyn Embedder>,
    cache: Mutex<LruCache<[u8; 32], Arc<[f32]>>>,
}

impl MemoEmbedder {
    /// Entries the pod keeps by default: 4,096 vectors of 384 floats, about 6.5 MB.
    pub const DEFAULT_CAPACITY: usize = 4096;

    pub fn new(inner: Arc<dyn Embedder>, capacity: usize) -> MemoEmbedder {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        MemoEmbedder {
            inner,
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn key(text: &str) -> [u8; 32] {
        Sha256::digest(text.as_bytes()).into()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], Arc<[f32]>>> {
        // The cache holds only finished vectors: one left by a panicking thread is still valid.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Embedder for MemoEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| Self::key(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let mut cache = self.cache();
            keys.iter()
                .map(|k| cache.get(k).map(|v| v.to_vec()))
                .collect()
        };
        // Texts not remembered, each once (a batch may repeat a text).
        let mut missing: Vec<usize> = Vec::new();
        for (i, slot) in out.iter().enumerate() {
            if slot.is_none() && !missing.iter().any(|&j| keys[j] == keys[i]) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let fresh = self.inner.embed(&batch)?;
            if fresh.len() != batch.len() {
                return Err(EmbedError::Failed(format!(
                    "the model returned {} vectors for {} texts",
                    fresh.len(),
                    batch.len()
                )));
            }
            let fresh: Vec<([u8; 32], Arc<[f32]>)> = missing
                .iter()
                .zip(fresh)
                .map(|(&i, v)| (keys[i], Arc::from(v)))
                .collect();
            for (slot, key) in out.iter_mut().zip(&keys) {
                if slot.is_none() {
                    *slot = fresh
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.to_vec());
                }
            }
            let mut cache = self.cache();
            for (k, v) in fresh {
                cache.put(k, v);
            }
        }
        // Every slot is filled: remembered, or embedded just now under its own key.
        out.into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| EmbedError::Failed(format!("text {i} of the batch got no vector")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A deterministic stand-in that counts the texts reaching it.
    struct Counting {
        seen: AtomicUsize,
    }

    impl Counting {
        fn vector(text: &str) -> Vec<f32> {
            let d = Sha256::digest(text.as_bytes());
            d.iter().take(8).map(|b| f32::from(*b)).collect()
        }
    }

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dim(&self) -> usize {
            8
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.seen.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| Self::vector(t)).collect())
        }
    }

    fn counting() -> Arc<Counting> {
        Arc::new(Counting {
            seen: AtomicUsize::new(0),
        })
    }

    #[test]
    fn a_text_seen_before_is_not_embedded_again_and_gets_the_same_vector() {
        let model = counting();
        let memo = MemoEmbedder::new(model.clone(), 16);
        let first = memo
            .embed(&["pay invoices", "book flights"])
            .expect("embed");
        let second = memo
            .embed(&[
                "book flights",
                "translate text",
                "pay invoices",
                "book flights",
            ])
            .expect("embed");
        assert_eq!(
            model.seen.load(Ordering::SeqCst),
            3,
            "only 'translate text' is new"
        );
        assert_eq!(second[0], first[1]);
        assert_eq!(second[2], first[0]);
        assert_eq!(second[3], first[1]);
        assert_eq!(second[1], Counting::vector("translate text"));
        assert_eq!(memo.model_id(), model.model_id());
    }

    #[test]
    fn the_least_recently_used_text_is_forgotten_first() {
        let model = counting();
        let memo = MemoEmbedder::new(model.clone(), 2);
        memo.embed(&["a"]).expect("embed");
        memo.embed(&["b"]).expect("embed");
        memo.embed(&["a"]).expect("embed"); // a is now the most recent
        memo.embed(&["c"]).expect("embed"); // evicts b
        assert_eq!(model.seen.load(Ordering::SeqCst), 3);
        memo.embed(&["a"]).expect("embed");
        assert_eq!(model.seen.load(Ordering::SeqCst), 3);
        memo.embed(&["b"]).expect("embed");
        assert_eq!(model.seen.load(Ordering::SeqCst), 4);
    }
}
