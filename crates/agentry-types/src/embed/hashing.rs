//! A hashing bag-of-words embedder, **for tests only** (feature `hashing`).
//!
//! It lets other crates test index plumbing (insert, persist, nearest-neighbour search, model-id
//! checks) in microseconds and without the 90 MB model. Its vectors reflect shared words, not
//! meaning: "car" and "automobile" are unrelated to it. It must never be the product's embedder;
//! without the real model the pod reports semantic search as unavailable instead.

use super::{EmbedError, Embedder};

/// Deterministic stand-in embedder: each lower-cased alphanumeric word is hashed (FNV-1a) to a
/// signed bucket; the bucket counts are L2-normalised. A text without words maps to a fixed
/// unit vector.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dim: usize,
    model_id: String,
}

impl HashingEmbedder {
    /// A stand-in with `dim` dimensions (at least 1).
    pub fn new(dim: usize) -> Self {
        let dim = dim.max(1);
        HashingEmbedder {
            dim,
            model_id: format!("test-hashing-bow-{dim}"),
        }
    }

    fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        let mut any = false;
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            any = true;
            let h = fnv1a(word.to_lowercase().as_bytes());
            let bucket = (h % self.dim as u64) as usize;
            let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
            v[bucket] += sign;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !any || norm == 0.0 {
            // No words, or words that cancelled out: a fixed unit vector keeps the contract.
            v.iter_mut().for_each(|x| *x = 0.0);
            v[0] = 1.0;
            return v;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Embedder for HashingEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::cosine;

    #[test]
    fn deterministic_unit_vectors_that_reflect_shared_words() {
        let e = HashingEmbedder::new(64);
        let v = e
            .embed(&[
                "Translate legal contracts",
                "translate LEGAL contracts!",
                "weather in Paris",
                "",
            ])
            .expect("embed");
        assert_eq!(v.len(), 4);
        for x in &v {
            assert_eq!(x.len(), 64);
            let n: f32 = x.iter().map(|a| a * a).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
        assert!((cosine(&v[0], &v[1]) - 1.0).abs() < 1e-6);
        assert!(cosine(&v[0], &v[2]) < 0.5);
        assert_eq!(
            v,
            e.embed(&[
                "Translate legal contracts",
                "translate LEGAL contracts!",
                "weather in Paris",
                ""
            ])
            .expect("embed")
        );
        assert_eq!(e.model_id(), "test-hashing-bow-64");
    }
}
