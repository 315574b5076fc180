//! 8-bit dense layers for the encoder ([`Precision::Int8`](crate::Precision::Int8)).
//!
//! The four dense layers of each BERT block carry about nine tenths of the encoder's
//! arithmetic. Here they run as u8 × i8 → i32 matrix products (`rten-gemm`: AVX2
//! `vpmaddubsw`, AVX-512 VNNI or Arm dot-product kernels, picked at run time), which do about
//! 1.6–2× the work per cycle of the f32 kernels on the same core. Everything else (embeddings,
//! attention, softmax, GELU, LayerNorm, pooling) stays f32.
//!
//! - Weights: symmetric, one scale per output, rounded once at load to integers in ±63. Seven
//!   bits, not eight, because the AVX2 kernel adds pairs of u8·i8 products in a saturating i16
//!   (2·255·64 < 2¹⁵); the same range is used on every CPU so that a record's vector does not
//!   depend on the machine that embedded it.
//! - Activations: one scale per token row, computed per call from the row's largest magnitude,
//!   around a zero point of 128 shared by every row (0 is exact; see [`quantise_rows`] for why
//!   the zero point is not per row).
//! - Output: `acc · (row scale · column scale) + bias`, in f32.
//!
//! The cost is accuracy: vectors stay within cosine ~0.99 of the f32 encoder (the tests hold
//! the exact bound), and BENCHMARKS.md §4 gives what that does to search results.

use multiversion::multiversion;
use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix, QuantParams};
use rten_tensor::NdTensorView;

use crate::bert::lanes_fold;

/// Largest weight magnitude after quantisation (see the module docs).
const WEIGHT_MAX: f32 = 63.0;

/// A dense layer's weights, quantised and packed for the 8-bit kernel.
pub(crate) struct QuantDense {
    /// `Wᵀ` (`inputs × outputs`) as i8, in the kernel's packed layout.
    packed: PackedBMatrix<i8>,
    /// Scale of each output's weights.
    scale: Vec<f32>,
    /// Zero point of each output's weights: all zero (symmetric); the kernel takes a slice.
    zero: Vec<i8>,
    inputs: usize,
    outputs: usize,
}

/// Working buffers of the 8-bit layers, kept for a whole batch.
#[derive(Default)]
pub(crate) struct QuantScratch {
    rows: Vec<u8>,
    row_scale: Vec<f32>,
    row_zero: Vec<u8>,
    acc: Vec<i32>,
}

fn executor() -> GemmExecutor<u8, i8, i32> {
    // Cheap: picks the best kernel the CPU supports. Made per call because the executor is
    // not `Send` (it boxes a `dyn Kernel` that is only `Sync`), and the embedder must be.
    GemmExecutor::default()
}

impl QuantDense {
    /// Quantises `weight` (`outputs × inputs`, row-major, as PyTorch stores it).
    pub(crate) fn new(weight: &[f32], inputs: usize, outputs: usize) -> Self {
        debug_assert_eq!(weight.len(), inputs * outputs);
        let mut scale = Vec::with_capacity(outputs);
        let mut transposed = vec![0i8; inputs * outputs];
        for (j, row) in weight.chunks_exact(inputs).enumerate() {
            let max = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            let s = if max > 0.0 { max / WEIGHT_MAX } else { 1.0 };
            scale.push(s);
            for (i, w) in row.iter().enumerate() {
                // In ±63 by construction of `s`; the clamp only guards rounding.
                transposed[i * outputs + j] = (w / s).round().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8;
            }
        }
        let packed =
            executor().prepack_b(NdTensorView::from_data([inputs, outputs], &transposed[..]));
        QuantDense {
            packed,
            scale,
            zero: vec![0; outputs],
            inputs,
            outputs,
        }
    }

    /// `out = x·Wᵀ + bias` for every row of `x` (`inputs` wide). Shapes are fixed by this
    /// module, so an error means a bug here, never a property of the input text; it is
    /// returned (and becomes the embed call's error) rather than panicking.
    pub(crate) fn forward(
        &self,
        x: &[f32],
        bias: &[f32],
        out: &mut [f32],
        scratch: &mut QuantScratch,
    ) -> Result<(), String> {
        let rows = x.len() / self.inputs;
        debug_assert_eq!(out.len(), rows * self.outputs);
        quantise_rows(x, self.inputs, scratch);
        // No need to zero it: the product overwrites every element (beta = 0).
        scratch.acc.resize(rows * self.outputs, 0);
        let exec = executor();
        exec.gemm(
            &mut scratch.acc,
            GemmInputA::Unpacked(NdTensorView::from_data(
                [rows, self.inputs],
                &scratch.rows[..],
            )),
            GemmInputB::Packed(&self.packed),
            GemmOptions {
                a_quant: Some(QuantParams {
                    zero_point: &scratch.row_zero,
                }),
                b_quant: Some(QuantParams {
                    zero_point: &self.zero,
                }),
                ..GemmOptions::default()
            },
        )
        .map_err(|e| format!("int8 gemm refused its operands: {e:?}"))?;
        dequantise(
            out,
            &scratch.acc,
            &scratch.row_scale,
            &self.scale,
            bias,
            self.outputs,
        );
        Ok(())
    }
}

/// `out = acc · (row scale · column scale) + bias`, row by row (`width` wide).
#[multiversion(targets = "simd")]
fn dequantise(
    out: &mut [f32],
    acc: &[i32],
    row_scale: &[f32],
    col_scale: &[f32],
    bias: &[f32],
    width: usize,
) {
    for ((o, acc), s) in out
        .chunks_exact_mut(width)
        .zip(acc.chunks_exact(width))
        .zip(row_scale)
    {
        for (((o, &a), &ws), &b) in o.iter_mut().zip(acc).zip(col_scale).zip(bias) {
            *o = a as f32 * (s * ws) + b;
        }
    }
}

/// Quantises each row of `x` (`width` wide) to u8: `round(v / scale) + 128`, with the row's
/// own scale (its largest magnitude maps to ±127).
///
/// The zero point is 128 for every row. Per-row zero points would spend the eighth bit on
/// one-sided rows (GELU outputs), but rten-gemm 0.27's AVX2 kernel returned wrong sums for rows
/// whose zero points differed within one call (seen as cosine 0.3 on the model's own
/// activations), and a common zero point sidesteps that.
fn quantise_rows(x: &[f32], width: usize, scratch: &mut QuantScratch) {
    scratch.rows.clear();
    scratch.rows.resize(x.len(), 0);
    scratch.row_scale.clear();
    scratch.row_zero.clear();
    for (row, q) in x
        .chunks_exact(width)
        .zip(scratch.rows.chunks_exact_mut(width))
    {
        scratch.row_scale.push(quantise_row(row, q));
        scratch.row_zero.push(ZERO_POINT);
    }
}

/// 2²³: f32 values in [2²³, 2²⁴) are exactly the integers.
const MAGIC: f32 = 8_388_608.0;

/// One row of [`quantise_rows`]; returns the row's scale.
#[multiversion(targets = "simd")]
fn quantise_row(row: &[f32], q: &mut [u8]) -> f32 {
    // Largest magnitude, over independent lanes (the lanes hold magnitudes already, so
    // folding them with the same function is exact). NaN never wins `f32::max`.
    let max = lanes_fold(row, 0.0, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let inv = 1.0 / scale;
    for (q, &v) in q.iter_mut().zip(row) {
        // v·inv + 128 lies in [1, 255]. Adding 2²³ moves it to where f32's spacing is 1, so
        // the addition itself rounds it to an integer (to nearest, ties to even: IEEE's
        // default, the same on every CPU) and that integer is the low byte of the bits. No
        // float-to-int conversion: Rust's saturating `as` is compiled one lane at a time
        // here, which made this loop a tenth of the encoder's time.
        *q = ((v * inv + 128.0) + MAGIC).to_bits() as u8;
    }
    scale
}

/// The activations' zero point (see [`quantise_rows`]).
const ZERO_POINT: u8 = 128;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_int8_dense_layer_tracks_the_f32_one() {
        // Small, and the encoder's own shapes (a query's few rows, a batch's many).
        for (inputs, outputs, rows) in [
            (64, 48, 5),
            (384, 1152, 3),
            (384, 1536, 300),
            (1536, 384, 300),
        ] {
            dense_layer_case(inputs, outputs, rows);
        }
    }

    fn dense_layer_case(inputs: usize, outputs: usize, rows: usize) {
        // Varied weights and inputs (some negative, one outlier column).
        let weight: Vec<f32> = (0..inputs * outputs)
            .map(|i| ((i * 7919 % 997) as f32 / 997.0 - 0.5) * 0.2)
            .collect();
        let bias: Vec<f32> = (0..outputs).map(|j| j as f32 * 0.01).collect();
        let x: Vec<f32> = (0..rows * inputs)
            .map(|i| {
                let v = (i * 104_729 % 1009) as f32 / 1009.0 - 0.3;
                if i % inputs == 3 { v * 8.0 } else { v }
            })
            .collect();
        let layer = QuantDense::new(&weight, inputs, outputs);
        let mut out = vec![0f32; rows * outputs];
        layer
            .forward(&x, &bias, &mut out, &mut QuantScratch::default())
            .expect("forward");
        for r in 0..rows {
            let exact: Vec<f32> = (0..outputs)
                .map(|j| {
                    let w = &weight[j * inputs..][..inputs];
                    w.iter()
                        .zip(&x[r * inputs..][..inputs])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        + bias[j]
                })
                .collect();
            let got = &out[r * outputs..][..outputs];
            let dot: f32 = exact.iter().zip(got).map(|(a, b)| a * b).sum();
            let na = exact.iter().map(|a| a * a).sum::<f32>().sqrt();
            let nb = got.iter().map(|a| a * a).sum::<f32>().sqrt();
            let cos = dot / (na * nb);
            assert!(cos > 0.995, "{inputs}→{outputs}, row {r}: cosine {cos}");
        }
    }

    #[test]
    fn rows_quantise_with_zero_exact_and_the_largest_magnitude_at_the_ends() {
        let x = [
            -1.0f32, 0.0, 0.5, 2.0, 0.0, 0.0, 0.0, 0.0, -4.0, 1.0, 0.0, 0.0,
        ];
        let mut s = QuantScratch::default();
        quantise_rows(&x, 4, &mut s);
        assert_eq!(s.row_zero, vec![128, 128, 128]);
        // Row 0: scale 2/127; 0.0 is exact, 2.0 → 255, -1.0 → 128 − 63.5, a tie, to even.
        assert_eq!(&s.rows[..4], &[64, 128, 160, 255]);
        // An all-zero row quantises to the zero point without dividing by zero.
        assert!(s.rows[4..8].iter().all(|&q| q == 128));
        // A negative extreme maps to 1, never wrapping below 0.
        assert_eq!(s.rows[8], 1);
        assert!((s.row_scale[2] - 4.0 / 127.0).abs() < 1e-7);
    }

    #[test]
    fn wide_rows_quantise_like_the_plain_formula() {
        // Rows wider than the 16 lanes, with a tail, and the largest magnitude in the tail.
        let width = 37;
        let x: Vec<f32> = (0..2 * width)
            .map(|i| ((i * 7919) % 201) as f32 / 37.0 - 2.7)
            .chain((0..width).map(|i| {
                if i == width - 1 {
                    -9.0
                } else {
                    i as f32 * 0.01
                }
            }))
            .collect();
        let mut s = QuantScratch::default();
        quantise_rows(&x, width, &mut s);
        for (r, row) in x.chunks_exact(width).enumerate() {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(s.row_scale[r], max / 127.0, "row {r} scale");
            let inv = 1.0 / s.row_scale[r];
            for (i, &v) in row.iter().enumerate() {
                let want = (v * inv + 128.0).round_ties_even() as u8;
                assert_eq!(s.rows[r * width + i], want, "row {r} column {i} ({v})");
            }
        }
        assert_eq!(s.rows[3 * width - 1], 1);
    }
}
