//! The BERT encoder of all-MiniLM-L6-v2, written for this one model on CPU.
//!
//! Why not a general tensor library: candle's BERT spent two thirds of its time outside the
//! matrix products (allocating and page-faulting a fresh buffer per operation, scalar `erf` and
//! `exp`, padding every text of a batch to the longest one). This encoder:
//! - packs the texts of a batch end to end with no padding at all: the dense layers run over
//!   the real tokens only, and attention runs per text on its own length, so no mask is needed;
//! - runs every dense layer as one `gemm` call (AVX-512 kernels chosen at run time) with the
//!   bias pre-loaded into the output, and Q, K and V as one fused projection;
//! - allocates its working buffers once per batch;
//! - computes GELU's `erf` and softmax's `exp` with branch-free polynomials the compiler
//!   vectorises (errors ~1e-7, far below the f32 noise of the model).
//!
//! The arithmetic is the model's own: post-norm BERT, exact (erf) GELU, LayerNorm eps 1e-12;
//! `tests/minilm.rs` checks the vectors against sentence-transformers (cosine ≥ 0.9999).

use multiversion::multiversion;
use rayon::prelude::*;

use crate::Precision;
use crate::quant::{QuantDense, QuantScratch};

/// The model's fixed shape (checked against `config.json` on load).
const HIDDEN: usize = crate::model_files::MINILM_DIM;
const HEADS: usize = 12;
const HEAD_DIM: usize = HIDDEN / HEADS;
const INTERMEDIATE: usize = 1536;
const LAYERS: usize = 6;
const MAX_POSITIONS: usize = 512;
const LN_EPS: f32 = 1e-12;

/// Why the weights could not be used: names the tensor.
#[derive(Debug)]
pub(crate) struct WeightError(pub(crate) String);

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// A dense layer `y = x·Wᵀ + b` with `W` as stored by PyTorch: `out × in`, row-major.
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    /// The same weights in 8 bits, when the encoder runs at [`Precision::Int8`].
    quant: Option<QuantDense>,
}

impl Dense {
    fn quantise(&mut self) {
        self.quant = Some(QuantDense::new(&self.weight, self.inputs, self.outputs));
        // The f32 copy is no longer read.
        self.weight = Vec::new();
    }
}

struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: LayerNorm,
    up: Dense,
    down: Dense,
    out_norm: LayerNorm,
}

pub(crate) struct Bert {
    word: Vec<f32>,
    vocab: usize,
    position: Vec<f32>,
    token_type0: Vec<f32>,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    /// Reads the encoder from a sentence-transformers `model.safetensors` (f32).
    pub(crate) fn from_safetensors(
        bytes: &[u8],
        precision: Precision,
    ) -> Result<Self, WeightError> {
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| WeightError(format!("not a safetensors file: {e}")))?;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, WeightError> {
            let t = st
                .tensor(name)
                .map_err(|_| WeightError(format!("tensor {name} is missing")))?;
            if t.dtype() != safetensors::Dtype::F32 {
                return Err(WeightError(format!(
                    "tensor {name} is {:?}, not F32",
                    t.dtype()
                )));
            }
            if t.shape() != shape {
                return Err(WeightError(format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    t.shape()
                )));
            }
            Ok(t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        let norm = |prefix: &str| -> Result<LayerNorm, WeightError> {
            Ok(LayerNorm {
                gamma: get(&format!("{prefix}.weight"), &[HIDDEN])?,
                beta: get(&format!("{prefix}.bias"), &[HIDDEN])?,
            })
        };
        let dense = |prefix: &str, inputs: usize, outputs: usize| -> Result<Dense, WeightError> {
            Ok(Dense {
                weight: get(&format!("{prefix}.weight"), &[outputs, inputs])?,
                bias: get(&format!("{prefix}.bias"), &[outputs])?,
                inputs,
                outputs,
                quant: None,
            })
        };

        let word_shape = st
            .tensor("embeddings.word_embeddings.weight")
            .map(|t| t.shape().to_vec())
            .map_err(|_| {
                WeightError("tensor embeddings.word_embeddings.weight is missing".into())
            })?;
        let vocab = match word_shape.as_slice() {
            [v, HIDDEN] if *v > 0 => *v,
            other => {
                return Err(WeightError(format!(
                    "tensor embeddings.word_embeddings.weight has shape {other:?}, expected [vocab, {HIDDEN}]"
                )));
            }
        };
        let word = get("embeddings.word_embeddings.weight", &[vocab, HIDDEN])?;
        let position = get(
            "embeddings.position_embeddings.weight",
            &[MAX_POSITIONS, HIDDEN],
        )?;
        let mut token_type0 = get("embeddings.token_type_embeddings.weight", &[2, HIDDEN])?;
        token_type0.truncate(HIDDEN);

        let mut layers = Vec::with_capacity(LAYERS);
        for i in 0..LAYERS {
            let p = format!("encoder.layer.{i}");
            let q = dense(&format!("{p}.attention.self.query"), HIDDEN, HIDDEN)?;
            let k = dense(&format!("{p}.attention.self.key"), HIDDEN, HIDDEN)?;
            let v = dense(&format!("{p}.attention.self.value"), HIDDEN, HIDDEN)?;
            let qkv = Dense {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
                inputs: HIDDEN,
                outputs: 3 * HIDDEN,
                quant: None,
            };
            let mut layer = Layer {
                qkv,
                attn_out: dense(&format!("{p}.attention.output.dense"), HIDDEN, HIDDEN)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: dense(&format!("{p}.intermediate.dense"), HIDDEN, INTERMEDIATE)?,
                down: dense(&format!("{p}.output.dense"), INTERMEDIATE, HIDDEN)?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            };
            if precision == Precision::Int8 {
                for d in [
                    &mut layer.qkv,
                    &mut layer.attn_out,
                    &mut layer.up,
                    &mut layer.down,
                ] {
                    d.quantise();
                }
            }
            layers.push(layer);
        }
        Ok(Bert {
            word,
            vocab,
            position,
            token_type0,
            emb_norm: norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    /// Mean-pooled, L2-normalised sentence vectors for already tokenised texts (each at most
    /// 512 ids, every id below the vocabulary size; both are checked). With `parallel`, the
    /// batch's matrix products, attention heads and element-wise passes are split across the
    /// current rayon pool; without, the batch runs on the calling thread only (for callers that
    /// run several batches side by side, which keeps every core busier).
    pub(crate) fn embed(&self, texts: &[&[u32]], parallel: bool) -> Result<Vec<Vec<f32>>, String> {
        // Row ranges of each text in the packed token matrix.
        let mut spans = Vec::with_capacity(texts.len());
        let mut total = 0;
        for ids in texts {
            if ids.len() > MAX_POSITIONS {
                return Err(format!(
                    "{} tokens, the model takes at most {MAX_POSITIONS}",
                    ids.len()
                ));
            }
            if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
                return Err(format!("token id {bad} is outside the vocabulary"));
            }
            spans.push(total..total + ids.len());
            total += ids.len();
        }
        if total == 0 {
            return Ok(texts.iter().map(|_| vec![0.0; HIDDEN]).collect());
        }

        // Embeddings: word + position + token type 0, then LayerNorm.
        let mut hidden = vec![0f32; total * HIDDEN];
        for (ids, span) in texts.iter().zip(&spans) {
            for (pos, (&id, row)) in ids
                .iter()
                .zip(hidden[span.start * HIDDEN..span.end * HIDDEN].chunks_exact_mut(HIDDEN))
                .enumerate()
            {
                let w = &self.word[id as usize * HIDDEN..][..HIDDEN];
                let p = &self.position[pos * HIDDEN..][..HIDDEN];
                for (((o, w), p), t) in row.iter_mut().zip(w).zip(p).zip(&self.token_type0) {
                    *o = w + p + t;
                }
            }
        }
        layer_norm(&mut hidden, &self.emb_norm, parallel);

        let mut qkv = vec![0f32; total * 3 * HIDDEN];
        let mut heads_out = vec![0f32; total * HIDDEN];
        let mut context = vec![0f32; total * HIDDEN];
        let mut inter = vec![0f32; total * INTERMEDIATE];
        let mut scratch = QuantScratch::default();
        let s = &mut scratch;
        for layer in &self.layers {
            dense(&hidden, &layer.qkv, &mut qkv, parallel, s)?;
            attention(&qkv, &spans, total, &mut heads_out, parallel);
            // heads_out is head-major ([head][token][dim]); the output projection wants
            // [token][head·dim].
            for (h, block) in heads_out.chunks_exact(total * HEAD_DIM).enumerate() {
                for (t, src) in block.chunks_exact(HEAD_DIM).enumerate() {
                    context[t * HIDDEN + h * HEAD_DIM..][..HEAD_DIM].copy_from_slice(src);
                }
            }
            // Attention output, residual, LayerNorm (post-norm BERT). `heads_out` is free again
            // and serves as the projection's output.
            dense(&context, &layer.attn_out, &mut heads_out, parallel, s)?;
            add_in_place(&mut hidden, &heads_out);
            layer_norm(&mut hidden, &layer.attn_norm, parallel);
            // Feed-forward: up, GELU, down, residual, LayerNorm.
            dense(&hidden, &layer.up, &mut inter, parallel, s)?;
            each_chunk(parallel, &mut inter, 4096, |_, chunk| gelu_in_place(chunk));
            dense(&inter, &layer.down, &mut context, parallel, s)?;
            add_in_place(&mut hidden, &context);
            layer_norm(&mut hidden, &layer.out_norm, parallel);
        }

        // Mean over each text's tokens (there is no padding to exclude), then L2 normalise.
        Ok(spans
            .iter()
            .map(|span| {
                let mut mean = vec![0f32; HIDDEN];
                for row in hidden[span.start * HIDDEN..span.end * HIDDEN].chunks_exact(HIDDEN) {
                    add_in_place(&mut mean, row);
                }
                let n = (span.len() as f32).max(1e-9);
                mean.iter_mut().for_each(|x| *x /= n);
                let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|x| *x /= norm);
                mean
            })
            .collect())
    }
}

/// `out = x·Wᵀ + b` over all rows of `x` (row-major, `layer.inputs` wide).
fn dense(
    x: &[f32],
    layer: &Dense,
    out: &mut [f32],
    parallel: bool,
    scratch: &mut QuantScratch,
) -> Result<(), String> {
    if let Some(q) = &layer.quant {
        // rten-gemm splits across the current rayon pool itself.
        return q.forward(x, &layer.bias, out, scratch);
    }
    let rows = x.len() / layer.inputs;
    for row in out.chunks_exact_mut(layer.outputs) {
        row.copy_from_slice(&layer.bias);
    }
    gemm_acc(
        Mat::new(x, 0, (rows, layer.inputs), (layer.inputs, 1)),
        // Wᵀ seen in place: element (i, j) of the `inputs × outputs` matrix is W[j][i].
        Mat::new(
            &layer.weight,
            0,
            (layer.inputs, layer.outputs),
            (1, layer.inputs),
        ),
        out,
        1.0,
        // A short query's products are too small to be worth splitting across threads.
        if !parallel || rows < 48 {
            gemm::Parallelism::None
        } else {
            gemm::Parallelism::Rayon(rayon::current_num_threads())
        },
    );
    Ok(())
}

/// Multi-head self-attention of each text over its own tokens. `qkv` is `[token][q | k | v]`;
/// the result goes to `out` head-major: `[head][token][HEAD_DIM]`.
fn attention(
    qkv: &[f32],
    spans: &[std::ops::Range<usize>],
    total: usize,
    out: &mut [f32],
    parallel: bool,
) {
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let width = 3 * HIDDEN;
    each_chunk(parallel, out, total * HEAD_DIM, |h, head_out| {
        let longest = spans.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut scores = vec![0f32; longest * longest];
        for span in spans {
            let n = span.len();
            if n == 0 {
                continue;
            }
            let scores = &mut scores[..n * n];
            scores.fill(0.0);
            // scores = Q·Kᵀ / √d
            gemm_acc(
                Mat::new(
                    qkv,
                    span.start * width + h * HEAD_DIM,
                    (n, HEAD_DIM),
                    (width, 1),
                ),
                Mat::new(
                    qkv,
                    span.start * width + HIDDEN + h * HEAD_DIM,
                    (HEAD_DIM, n),
                    (1, width),
                ),
                scores,
                scale,
                gemm::Parallelism::None,
            );
            scores.chunks_exact_mut(n).for_each(softmax_in_place);
            // head_out rows of this text = P·V
            let dst = &mut head_out[span.start * HEAD_DIM..span.end * HEAD_DIM];
            dst.fill(0.0);
            gemm_acc(
                Mat::new(scores, 0, (n, n), (n, 1)),
                Mat::new(
                    qkv,
                    span.start * width + 2 * HIDDEN + h * HEAD_DIM,
                    (n, HEAD_DIM),
                    (width, 1),
                ),
                dst,
                1.0,
                gemm::Parallelism::None,
            );
        }
    });
}

/// A read-only strided view of a row-major buffer.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    offset: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// The `rows × cols` matrix whose element (i, j) is `data[offset + i·row_stride + j·col_stride]`.
    fn new(
        data: &'a [f32],
        offset: usize,
        (rows, cols): (usize, usize),
        (row_stride, col_stride): (usize, usize),
    ) -> Self {
        Mat {
            data,
            offset,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// True when every element the view names lies inside `data`: the last one,
    /// `offset + (rows−1)·row_stride + (cols−1)·col_stride`, is computed with checked
    /// arithmetic, and a view whose extent overflows `usize` is out of bounds.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(down, across)| down.checked_add(across))
            .and_then(|extent| extent.checked_add(self.offset));
        last.is_some_and(|last| last < self.data.len())
    }
}

/// `dst += scale · a·b` with `a` `m×k`, `b` `k×n`, and `dst` the `m×n` row-major matrix.
///
/// The one place this crate calls `unsafe` code: `gemm` takes raw pointers and strides. Every
/// element it may touch is checked to lie inside the slices first (a failed check is a bug in
/// this file and panics rather than reading or writing out of bounds), and `dst` is a `&mut`
/// borrow, so it cannot alias `a` or `b`.
#[allow(unsafe_code)]
fn gemm_acc(a: Mat<'_>, b: Mat<'_>, dst: &mut [f32], scale: f32, par: gemm::Parallelism) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions differ");
    assert!(a.in_bounds() && b.in_bounds(), "gemm operand out of bounds");
    assert_eq!(
        m.checked_mul(n),
        Some(dst.len()),
        "gemm destination is not m×n"
    );
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let stride = |s: usize| isize::try_from(s).expect("stride fits isize");
    // SAFETY: bounds are checked above for all three matrices; `dst` is exclusively borrowed
    // and exactly m×n; gemm reads `dst` (read_dst = true) only inside that range.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            stride(n),
            true,
            a.data.as_ptr().add(a.offset),
            stride(a.col_stride),
            stride(a.row_stride),
            b.data.as_ptr().add(b.offset),
            stride(b.col_stride),
            stride(b.row_stride),
            1.0,
            scale,
            false,
            false,
            false,
            par,
        );
    }
}

#[multiversion(targets = "simd")]
fn add_in_place(acc: &mut [f32], x: &[f32]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

/// Runs `f(index, chunk)` over `xs` in chunks of `size`, on the rayon pool or in order.
fn each_chunk(
    parallel: bool,
    xs: &mut [f32],
    size: usize,
    f: impl Fn(usize, &mut [f32]) + Send + Sync,
) {
    if parallel {
        xs.par_chunks_mut(size)
            .enumerate()
            .for_each(|(i, chunk)| f(i, chunk));
    } else {
        xs.chunks_mut(size)
            .enumerate()
            .for_each(|(i, chunk)| f(i, chunk));
    }
}

fn layer_norm(x: &mut [f32], norm: &LayerNorm, parallel: bool) {
    each_chunk(parallel, x, HIDDEN * 16, |_, rows| {
        normalise_rows(rows, &norm.gamma, &norm.beta)
    });
}

/// LayerNorm of each `HIDDEN`-wide row. The sums run over [`lanes_sum`]'s fixed lanes, so
/// every CPU adds in the same order and a vector does not depend on the machine.
#[multiversion(targets = "simd")]
fn normalise_rows(rows: &mut [f32], gamma: &[f32], beta: &[f32]) {
    for row in rows.chunks_exact_mut(HIDDEN) {
        let mean = lanes_sum(row, |v| v) / HIDDEN as f32;
        for v in row.iter_mut() {
            *v -= mean;
        }
        let var = lanes_sum(row, |v| v * v) / HIDDEN as f32;
        let inv = 1.0 / (var + LN_EPS).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = *v * inv * g + b;
        }
    }
}

/// Exact GELU: `x/2 · (1 + erf(x/√2))`.
#[multiversion(targets = "simd")]
fn gelu_in_place(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf for f32 as a rational polynomial on [-4, 4] (Eigen's `generic_fast_erf_float`;
/// |error| < 2e-7; erf(±4) = ±1 to f32 precision). Branch-free, so loops over it vectorise.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_600_1e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329_2e-3;
    q = q * x2 + -1.426_473_9e-2;
    x * p / q
}

#[multiversion(targets = "simd")]
fn softmax_in_place(row: &mut [f32]) {
    let max = lanes_fold(row, f32::NEG_INFINITY, f32::max);
    // A plain map and a lane-wise sum: both vectorise (a running sum in the map would not).
    for v in row.iter_mut() {
        *v = exp(*v - max);
    }
    let inv = 1.0 / lanes_sum(row, |v| v);
    row.iter_mut().for_each(|v| *v *= inv);
}

/// Folds `xs` over 8 independent lanes, then folds the lanes: lets the compiler use vector
/// registers where a single accumulator would force strict left-to-right order. Inlined into
/// each multiversioned caller, so it is compiled for that caller's instruction set.
#[inline(always)]
pub(crate) fn lanes_fold(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = f(*lane, x);
        }
    }
    let mut acc = lanes.into_iter().fold(init, &f);
    for &x in tail {
        acc = f(acc, x);
    }
    acc
}

/// `Σ g(x)` over 8 independent lanes, then over the lanes: the same order on every CPU, and
/// one the compiler can keep in vector registers.
#[inline(always)]
fn lanes_sum(xs: &[f32], g: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += g(x);
        }
    }
    let mut acc = lanes.into_iter().sum::<f32>();
    for &x in tail {
        acc += g(x);
    }
    acc
}

/// e^x for x ≤ 0 (softmax after subtracting the maximum): 2^(x·log2 e) split into the
/// nearest integer power, set in the exponent bits, and a degree-7 Taylor polynomial of
/// 2^f for the fraction f ∈ [-0.5, 0.5] (relative error < 1e-8 before f32 rounding). Inputs
/// below -87 give f32's smallest normal instead of 0, which softmax cannot tell apart.
/// Branch-free, with no library call and no float-to-int conversion (the integer is read
/// from the bits of y + 1.5·2^23), so loops over it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let y = (x * std::f32::consts::LOG2_E).clamp(-126.0, 0.0);
    let r = y + ROUND;
    let n = r - ROUND;
    let f = y - n;
    let mut p = 1.525_273_4e-5f32;
    p = p * f + 1.540_353e-4;
    p = p * f + 1.333_355_8e-3;
    p = p * f + 9.618_129e-3;
    p = p * f + 5.550_411e-2;
    p = p * f + 2.402_265e-1;
    p = p * f + std::f32::consts::LN_2;
    p = p * f + 1.0;
    // The low bits of r hold n + 2^22 (two's complement offset); n + 127 is the exponent.
    let exponent = r.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127);
    p * f32::from_bits(exponent << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_the_reference_values() {
        // erf at a few points (Abramowitz & Stegun table 7.1) and its symmetry and limits.
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.1, 0.112_462_9),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
            (3.0, 0.999_977_9),
            (10.0, 1.0),
        ] {
            assert!((erf(x) - want).abs() < 1e-6, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-6, "erf(-{x})");
        }
    }

    #[test]
    fn exp_is_accurate_over_the_softmax_range() {
        // Relative error 1e-6, plus the f32 rounding of x·log2(e), which grows with |x|.
        let mut x = -100.0f32;
        while x <= 0.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= want * (1e-6 + x.abs() * 1e-7) + 1e-37,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.013;
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), exp(-1000.0));
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row = vec![1.0f32, 3.0, 2.0, -50.0];
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[3]);
    }

    #[test]
    fn gemm_acc_handles_strided_views() {
        // a = [[1,2],[3,4]] stored with row stride 3; b = aᵀ seen in place.
        let a = [1.0f32, 2.0, 99.0, 3.0, 4.0, 99.0];
        let mut dst = vec![1.0f32; 4];
        gemm_acc(
            Mat::new(&a, 0, (2, 2), (3, 1)),
            Mat::new(&a, 0, (2, 2), (1, 3)),
            &mut dst,
            2.0,
            gemm::Parallelism::None,
        );
        // 1 + 2·(a·aᵀ) = 1 + 2·[[5, 11], [11, 25]]
        assert_eq!(dst, vec![11.0, 23.0, 23.0, 51.0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn gemm_acc_refuses_a_view_whose_extent_overflows() {
        let a = [1.0f32; 4];
        let mut dst = vec![0.0f32; 4];
        // (rows−1)·row_stride wraps around usize: unchecked, it would land back inside `a`.
        gemm_acc(
            Mat::new(&a, 0, (2, 2), (usize::MAX, 1)),
            Mat::new(&a, 0, (2, 2), (2, 1)),
            &mut dst,
            1.0,
            gemm::Parallelism::None,
        );
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn gemm_acc_refuses_a_view_past_its_buffer() {
        let a = [1.0f32; 3];
        let mut dst = vec![0.0f32; 4];
        gemm_acc(
            Mat::new(&a, 0, (2, 2), (2, 1)),
            Mat::new(&a, 0, (2, 2), (1, 1)),
            &mut dst,
            1.0,
            gemm::Parallelism::None,
        );
    }
}
