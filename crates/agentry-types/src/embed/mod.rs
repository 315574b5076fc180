//! The embedding seam: what the search index needs from a sentence-embedding model.
//!
//! [`Embedder`] lives here, with no model, tokenizer or HTTP client behind it, so that the
//! discovery index (`agentry-search`) can hold one without depending on an implementation.
//! `agentry-embed` implements it (the local all-MiniLM-L6-v2 encoder, a remote
//! OpenAI-compatible endpoint) and re-exports these names. Callers run `embed` off the async
//! runtime: an implementation may be CPU-bound or block on I/O.
//!
//! With the `hashing` feature, [`HashingEmbedder`], a deterministic bag-of-words stand-in, is
//! available for other crates' tests. It never captures meaning and must never be the
//! product's embedder.

// Compiled for this crate's own tests too, so `cargo test -p agentry-types` checks it.
#[cfg(any(test, feature = "hashing"))]
mod hashing;

#[cfg(any(test, feature = "hashing"))]
pub use hashing::HashingEmbedder;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The embedder cannot work at all (no model files, endpoint not configured or unreachable):
    /// the caller should report semantic search as unavailable rather than retry per request.
    #[error("embedding model unavailable: {0}")]
    Unavailable(String),
    /// This call failed (bad input, a transient remote error, a numerical failure).
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// Turns texts into unit-length vectors of a fixed dimension.
pub trait Embedder: Send + Sync + 'static {
    /// Identifies the model (and its revision). An index built with one id must not be queried
    /// with vectors from another.
    fn model_id(&self) -> &str;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Embed a batch; one L2-normalised vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Cosine similarity of two vectors (for unit vectors this is their dot product).
///
/// Returns 0 for mismatched lengths or zero vectors rather than NaN, so that a ranking built on
/// it never sees NaN.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_parallel_orthogonal_and_degenerate_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }
}
