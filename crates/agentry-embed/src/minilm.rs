//! all-MiniLM-L6-v2 on CPU with candle: sentence-transformers' pipeline, step for step.
//!
//! Transformer (BERT, 6 layers, 384 wide) → mean of the token vectors weighted by the attention
//! mask → L2 normalisation. Texts are truncated at 256 tokens (the model's `max_seq_length`) and
//! each batch is padded only to its own longest text: the shipped `tokenizer.json` pads every
//! text to 128 tokens, which would cost 10× on short queries and cut texts at 128.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::model_files::{MINILM_DIM, MINILM_MAX_TOKENS, MINILM_MODEL_ID, ModelError, ModelFiles};
use crate::{EmbedError, Embedder};

/// Tuning knobs for [`MiniLmEmbedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniLmOptions {
    /// Texts per forward pass. Larger batches amortise per-call overhead; texts are sorted by
    /// length first so a batch pads little.
    pub batch_size: usize,
    /// Run on a dedicated pool of this many threads instead of rayon's global pool (which uses
    /// every core, or `RAYON_NUM_THREADS`). Lets the server keep cores for other work.
    pub threads: Option<usize>,
}

impl Default for MiniLmOptions {
    fn default() -> Self {
        MiniLmOptions {
            batch_size: 32,
            threads: None,
        }
    }
}

/// The local all-MiniLM-L6-v2 sentence embedder (384 dimensions, unit vectors).
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    batch_size: usize,
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("model_id", &MINILM_MODEL_ID)
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
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| load_err(format!("config.json: {e}")))?;
        if config.hidden_size != MINILM_DIM {
            return Err(load_err(format!(
                "config.json: hidden_size {} is not {MINILM_DIM}",
                config.hidden_size
            )));
        }

        let mut tokenizer = Tokenizer::from_file(&files.tokenizer)
            .map_err(|e| load_err(format!("tokenizer.json: {e}")))?;
        // Keep the shipped pad token and id, but pad each batch to its own longest text.
        let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
        padding.strategy = PaddingStrategy::BatchLongest;
        tokenizer.with_padding(Some(PaddingParams { ..padding }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MINILM_MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| load_err(format!("tokenizer truncation: {e}")))?;

        let device = Device::Cpu;
        let weights = std::fs::read(&files.weights)
            .map_err(|e| ModelError::io("reading", &files.weights, e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| load_err(format!("model.safetensors: {e}")))?;
        let model =
            BertModel::load(vb, &config).map_err(|e| load_err(format!("BERT weights: {e}")))?;

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
            device,
            batch_size: options.batch_size,
            pool,
        })
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

    fn embed_sorted(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Longest first (by characters, a cheap proxy for tokens), so each batch pads little;
        // results go back to the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let vectors = self.embed_batch(&batch)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// One forward pass over texts padded to the longest among them.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let failed =
            |what: &str, e: &dyn std::fmt::Display| EmbedError::Failed(format!("{what}: {e}"));
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| failed("tokenizing", &e))?;
        let rows = encodings.len();
        let cols = encodings.first().map(|e| e.len()).unwrap_or(0);
        let mut ids = Vec::with_capacity(rows * cols);
        let mut mask = Vec::with_capacity(rows * cols);
        for enc in &encodings {
            if enc.len() != cols {
                return Err(EmbedError::Failed(format!(
                    "tokenizer padded a batch unevenly ({} vs {cols} tokens)",
                    enc.len()
                )));
            }
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let tensor_err = |e: candle_core::Error| failed("forward pass", &e);
        let input_ids = Tensor::from_vec(ids, (rows, cols), &self.device).map_err(tensor_err)?;
        let token_type_ids = input_ids.zeros_like().map_err(tensor_err)?;
        let attention = Tensor::from_vec(mask, (rows, cols), &self.device).map_err(tensor_err)?;
        let hidden = self
            .model
            .forward(&input_ids, &token_type_ids, Some(&attention))
            .map_err(tensor_err)?;
        pool_and_normalise(&hidden, &attention)
            .map_err(tensor_err)?
            .to_vec2::<f32>()
            .map_err(tensor_err)
    }
}

/// sentence-transformers' Pooling(mean) + Normalize: the mean over real tokens (padding
/// excluded, count clamped at 1e-9) divided by its L2 norm (clamped at 1e-12, like
/// `torch.nn.functional.normalize`).
fn pool_and_normalise(hidden: &Tensor, attention: &Tensor) -> candle_core::Result<Tensor> {
    let mask = attention.to_dtype(DType::F32)?.unsqueeze(2)?; // (b, t, 1)
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (b, d)
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (b, 1)
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norms)
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        MINILM_MODEL_ID
    }

    fn dim(&self) -> usize {
        MINILM_DIM
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match &self.pool {
            Some(pool) => pool.install(|| self.embed_sorted(texts)),
            None => self.embed_sorted(texts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_ignores_padding_and_normalises() {
        // Two sequences of 3 tokens, dim 2; the second has one padding token whose huge
        // values must not leak into its mean.
        let hidden = Tensor::from_vec(
            vec![
                1.0f32, 0.0, 3.0, 0.0, 2.0, 0.0, // row 0: mean (2, 0)
                0.0, 1.0, 0.0, 3.0, 100.0, 100.0, // row 1: mean of first two (0, 2)
            ],
            (2, 3, 2),
            &Device::Cpu,
        )
        .expect("tensor");
        let mask =
            Tensor::from_vec(vec![1u32, 1, 1, 1, 1, 0], (2, 3), &Device::Cpu).expect("tensor");
        let out = pool_and_normalise(&hidden, &mask)
            .expect("pool")
            .to_vec2::<f32>()
            .expect("vec");
        assert_eq!(out, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn an_all_zero_vector_stays_finite() {
        let hidden = Tensor::zeros((1, 2, 3), DType::F32, &Device::Cpu).expect("tensor");
        let mask = Tensor::from_vec(vec![0u32, 0], (1, 2), &Device::Cpu).expect("tensor");
        let out = pool_and_normalise(&hidden, &mask)
            .expect("pool")
            .to_vec2::<f32>()
            .expect("vec");
        assert!(out[0].iter().all(|x| x.is_finite() && *x == 0.0));
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
