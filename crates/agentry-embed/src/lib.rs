//! Sentence embeddings for semantic search.
//!
//! [`Embedder`] is the seam: the product runs the local all-MiniLM-L6-v2 model on CPU, or a
//! remote OpenAI-compatible `/v1/embeddings` endpoint. Callers run `embed` off the async
//! runtime (it is CPU-bound or blocking I/O).

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model unavailable: {0}")]
    Unavailable(String),
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
