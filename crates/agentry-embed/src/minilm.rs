//! all-MiniLM-L6-v2 on CPU: sentence-transformers' pipeline, step for step.
//!
//! Transformer (BERT, 6 layers, 384 wide, [`crate::bert`]) → mean of the token vectors → L2
//! normalisation. Texts are truncated at 256 tokens (the model's `max_seq_length`) and never
//! padded: the shipped `tokenizer.json` pads every text to 128 tokens, which would cost 10× on
//! short queries and cut texts at 128, and the encoder packs a batch's texts end to end.

use std::path::Path;

use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::Bert;

use crate::model_files::{MINILM_DIM, MINILM_MAX_TOKENS, MINILM_MODEL_ID, ModelError, ModelFiles};
use crate::{EmbedError, Embedder, Precision};

/// Tuning knobs for [`MiniLmEmbedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniLmOptions {
    /// Texts per forward pass. Texts are packed without padding, so larger batches only
    /// make the matrix products larger (more efficient) at the cost of working memory.
    pub batch_size: usize,
    /// Run on a dedicated pool of this many threads instead of rayon's global pool (which uses
    /// every core, or `RAYON_NUM_THREADS`). Lets the server keep cores for other work.
    pub threads: Option<usize>,
    /// f32 (the model's own numbers) or 8-bit dense layers; see [`Precision`].
    pub precision: Precision,
}

impl Default for MiniLmOptions {
    fn default() -> Self {
        MiniLmOptions {
            batch_size: 16,
            threads: None,
            precision: Precision::F32,
        }
    }
}

/// The local all-MiniLM-L6-v2 sentence embedder (384 dimensions, unit vectors).
pub struct MiniLmEmbedder {
    model: Bert,
    tokenizer: Tokenizer,
    batch_size: usize,
    pool: Option<rayon::ThreadPool>,
    precision: Precision,
    model_id: String,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("model_id", &self.model_id)
            .field("batch_size", &self.batch_size)
            .field(
                "threads",
                &self.pool.as_ref().map(|p| p.current_num_threads()),
            )
            .finish()
    }
}

impl MiniLmEmbedder {
    /// Loads the model from a directory made by [`fetch_model`](crate::fetch_model) (normally
    /// [`default_model_dir`](crate::default_model_dir)), after verifying every file against its
    /// pinned sha256. Fails with [`ModelError::Missing`] naming the absent file (and saying to
    /// run `agentry model fetch`) or [`ModelError::Corrupt`] for a file that is not the pinned one.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        Self::load_with(dir, MiniLmOptions::default())
    }

    /// [`load`](Self::load) with explicit options.
    pub fn load_with(dir: &Path, options: MiniLmOptions) -> Result<Self, ModelError> {
        let files = ModelFiles::verify(dir)?;
        let load_err = |reason: String| ModelError::Load {
            dir: dir.to_path_buf(),
            reason,
        };
        if options.batch_size == 0 {
            return Err(load_err("batch_size must be at least 1".into()));
        }
        let config_text = std::fs::read_to_string(&files.config)
            .map_err(|e| ModelError::io("reading", &files.config, e))?;
        check_config(&config_text).map_err(|e| load_err(format!("config.json: {e}")))?;

        let mut tokenizer = Tokenizer::from_file(&files.tokenizer)
            .map_err(|e| load_err(format!("tokenizer.json: {e}")))?;
        // No padding: the encoder packs texts end to end.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MINILM_MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| load_err(format!("tokenizer truncation: {e}")))?;

        let weights = std::fs::read(&files.weights)
            .map_err(|e| ModelError::io("reading", &files.weights, e))?;
        let model = Bert::from_safetensors(&weights, options.precision)
            .map_err(|e| load_err(format!("model.safetensors: {}", e.0)))?;

        let pool = match options.threads {
            None => None,
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .thread_name(|i| format!("minilm-{i}"))
                    .build()
                    .map_err(|e| load_err(format!("thread pool: {e}")))?,
            ),
        };
        Ok(MiniLmEmbedder {
            model,
            tokenizer,
            batch_size: options.batch_size,
            pool,
            precision: options.precision,
            model_id: model_id(options.precision),
        })
    }

    /// The arithmetic this encoder runs at.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Token ids the model sees for `text` (with `[CLS]`/`[SEP]`, truncated at 256), for
    /// diagnostics and for checking the tokenizer against the reference.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Failed(format!("tokenizing: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    fn embed_batches(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // One batch (a query, a push): split its work across the threads. Several batches (a
        // reindex, a bulk ingest): one batch per thread, side by side, which keeps every core
        // busy instead of waiting at each layer's join.
        let batches: Vec<&[&str]> = texts.chunks(self.batch_size).collect();
        let results: Vec<Result<Vec<Vec<f32>>, EmbedError>> =
            if batches.len() > 1 && rayon::current_num_threads() > 1 {
                batches
                    .par_iter()
                    .map(|b| self.embed_batch(b, false))
                    .collect()
            } else {
                batches.iter().map(|b| self.embed_batch(b, true)).collect()
            };
        let mut out = Vec::with_capacity(texts.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    fn embed_batch(&self, batch: &[&str], parallel: bool) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(batch.to_vec(), true)
            .map_err(|e| EmbedError::Failed(format!("tokenizing: {e}")))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        self.model
            .embed(&ids, parallel)
            .map_err(|e| EmbedError::Failed(format!("forward pass: {e}")))
    }
}

/// The model id vectors are recorded under: the pinned model, plus `+int8` for the 8-bit
/// encoder, whose vectors differ slightly (an index built with one is re-embedded for the other).
pub fn model_id(precision: Precision) -> String {
    match precision {
        Precision::F32 => MINILM_MODEL_ID.to_owned(),
        Precision::Int8 => format!("{MINILM_MODEL_ID}+int8"),
    }
}

/// The encoder is written for this model's shape: refuse a `config.json` that says otherwise.
fn check_config(text: &str) -> Result<(), String> {
    let config: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let expect = [
        ("hidden_size", serde_json::json!(MINILM_DIM)),
        ("num_hidden_layers", serde_json::json!(6)),
        ("num_attention_heads", serde_json::json!(12)),
        ("intermediate_size", serde_json::json!(1536)),
        ("hidden_act", serde_json::json!("gelu")),
        ("position_embedding_type", serde_json::json!("absolute")),
    ];
    for (field, want) in expect {
        match config.get(field) {
            Some(got) if *got == want => {}
            Some(got) => return Err(format!("{field} is {got}, this encoder needs {want}")),
            None if field == "position_embedding_type" => {}
            None => return Err(format!("{field} is missing")),
        }
    }
    Ok(())
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        MINILM_DIM
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match &self.pool {
            Some(pool) => pool.install(|| self.embed_batches(texts)),
            None => self.embed_batches(texts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_for_another_shape_is_refused_by_field() {
        let ok = r#"{"hidden_size":384,"num_hidden_layers":6,"num_attention_heads":12,"intermediate_size":1536,"hidden_act":"gelu"}"#;
        assert_eq!(check_config(ok), Ok(()));
        let wide = ok.replace("384", "768");
        assert!(
            check_config(&wide)
                .expect_err("768")
                .contains("hidden_size")
        );
        let act = ok.replace("\"gelu\"", "\"relu\"");
        assert!(check_config(&act).expect_err("relu").contains("hidden_act"));
        assert!(check_config("[").is_err());
    }

    #[test]
    fn loading_from_an_empty_directory_says_what_is_missing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = MiniLmEmbedder::load(tmp.path()).expect_err("no model");
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("config.json") && msg.contains("agentry model fetch"),
            "{msg}"
        );
    }
}
