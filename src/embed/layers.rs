//! BERT's transformer layers, arranged for short inputs on a small CPU.
//!
//! The arithmetic is BERT's (and candle-transformers' `BertEncoder`'s): per layer,
//! self-attention, a dense projection added back and normalised, then the feed-forward
//! block (dense, GELU, dense) added back and normalised. Three things differ, all for speed
//! on the inputs a chat bot sees (a question is 10 to 60 word pieces):
//!
//! - **Query, key and value are one multiply.** Their weights are stacked into one
//!   `[3 x hidden, hidden]` matrix at load, so each layer starts one matrix multiply
//!   instead of three (each start packs its operands and wakes the threads).
//! - **Bias and GELU in one sweep** ([`BiasGelu`]), with an erf that compiles to vector
//!   instructions. candle's GELU calls a scalar `erf` per value: 15% of a question's time.
//! - **No elementwise op large enough for candle's worker pool.** candle hands elementwise
//!   ops over 64k values to a pool whose threads spin while they wait; on two cores they
//!   spin against the matrix multiplies' own threads. The largest tensor left outside the
//!   fused op is `[PASS_TOKENS, 3 x hidden]`, which the bias sweep also handles.
//!
//! The vectors are the same as candle's `BertModel`'s (cosine above 0.9999, asserted in
//! `tests/semantic.rs`).

use candle_core::{CpuStorage, CustomOp1, Layout, Module, Shape, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use candle_transformers::models::bert::Config;

type Result<T> = candle_core::Result<T>;

/// The multiplies' weights; see [`super::matmul`].
use super::matmul::Linear;

/// `x Wᵀ + b` for `weight` and `bias` under `vb`.
fn linear(vb: VarBuilder, rows: usize, cols: usize) -> Result<Linear> {
    Linear::new(
        &vb.get((rows, cols), "weight")?,
        &vb.get(rows, "bias")?,
        false,
    )
}

fn layer_norm(vb: VarBuilder, size: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        eps,
    ))
}

/// One transformer layer's weights.
struct Layer {
    /// Query, key and value stacked: one multiply instead of three.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Layer> {
        let (h, i, eps) = (
            config.hidden_size,
            config.intermediate_size,
            config.layer_norm_eps,
        );
        let attention = vb.pp("attention");
        let own = attention.pp("self");
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for part in ["query", "key", "value"] {
            weights.push(own.pp(part).get((h, h), "weight")?);
            biases.push(own.pp(part).get(h, "bias")?);
        }
        Ok(Layer {
            qkv: Linear::new(&Tensor::cat(&weights, 0)?, &Tensor::cat(&biases, 0)?, false)?,
            attention_out: linear(attention.pp("output.dense"), h, h)?,
            attention_norm: layer_norm(attention.pp("output.LayerNorm"), h, eps)?,
            intermediate: linear(vb.pp("intermediate.dense"), i, h)?,
            output: linear(vb.pp("output.dense"), h, i)?,
            output_norm: layer_norm(vb.pp("output.LayerNorm"), h, eps)?,
        })
    }
}

/// BERT's stack of transformer layers.
pub struct Layers {
    layers: Vec<Layer>,
    heads: usize,
    head_size: usize,
}

impl Layers {
    /// The layers under `vb` (the checkpoint's `encoder.`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Layers> {
        let layers = (0..config.num_hidden_layers)
            .map(|n| Layer::load(vb.pp(format!("layer.{n}")), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Layers {
            layers,
            heads: config.num_attention_heads,
            head_size: config.hidden_size / config.num_attention_heads,
        })
    }

    /// Whether the multiplies run on the AVX-512 kernel (see [`super::matmul`]).
    pub fn banded(&self) -> bool {
        self.layers.iter().all(|l| {
            [&l.qkv, &l.attention_out, &l.intermediate, &l.output]
                .iter()
                .all(|m| m.is_banded())
        })
    }

    /// Hidden states `[len, hidden]` from the input layer's `[len, hidden]`; `blocked` is
    /// the additive attention mask `[len, len]`, if any (one text attends to all of itself).
    pub fn forward(&self, input: &Tensor, blocked: Option<&Tensor>) -> Result<Tensor> {
        let mut x = input.clone();
        for layer in &self.layers {
            let attended = self.attend(layer, &x, blocked)?;
            let attended = layer.attention_norm.forward(&(attended + &x)?)?;
            let inner = layer
                .intermediate
                .forward(&attended)?
                .apply_op1_no_bwd(&Gelu)?;
            let out = layer.output.forward(&inner)?;
            x = layer.output_norm.forward(&(out + &attended)?)?;
        }
        Ok(x)
    }

    /// Multi-head self-attention and its output projection (before the residual).
    fn attend(&self, layer: &Layer, x: &Tensor, blocked: Option<&Tensor>) -> Result<Tensor> {
        let len = x.dim(0)?;
        // [len, 3 x hidden] -> [3, heads, len, head size]
        let qkv = layer
            .qkv
            .forward(x)?
            .reshape((len, 3, self.heads, self.head_size))?
            .permute((1, 2, 0, 3))?
            .contiguous()?;
        let scale = 1.0 / (self.head_size as f64).sqrt();
        let query = (qkv.get(0)? * scale)?;
        let mut scores = query.matmul(&qkv.get(1)?.t()?)?;
        if let Some(blocked) = blocked {
            scores = scores.broadcast_add(blocked)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = weights
            .matmul(&qkv.get(2)?)?
            .transpose(0, 1)?
            .contiguous()?
            .reshape((len, self.heads * self.head_size))?;
        layer.attention_out.forward(&context)
    }
}

/// GELU, the exact (erf) form BERT was trained with, over a contiguous f32 tensor.
struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("gelu-erf: f32 only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu-erf: a contiguous tensor only");
        };
        let mut out = data[start..end].to_vec();
        gelu(&mut out);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// GELU in place: `x/2 (1 + erf(x/sqrt 2))`, vectorised where the CPU allows.
fn gelu(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        unsafe { gelu_avx2(values) };
        return;
    }
    gelu_portable(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_avx2(values: &mut [f32]) {
    // The same loop, compiled with 8-wide vectors.
    gelu_portable(values);
}

#[inline(always)]
fn gelu_portable(values: &mut [f32]) {
    for x in values {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf to within 1e-6 of the exact value, branch-free so a loop of it vectorises: an odd
/// rational function of `x`, clamped to [-4, 4] (beyond which erf is ±1 in f32). The
/// coefficients are the minimax fit Eigen uses for its vectorised `erf`
/// (`generic_fast_erf_float`); `erf_is_within_a_millionth` checks them against libm.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for a in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600e-3,
        -1.609_603_3e-2,
    ] {
        p = p.mul_add(x2, a);
    }
    let mut q = -1.456_607_2e-5_f32;
    for b in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q.mul_add(x2, b);
    }
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_a_millionth() {
        let mut worst = 0.0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 / 10_000.0;
            let exact = candle_core::cpu::erf::erf_f64(x as f64);
            worst = worst.max((erf(x) as f64 - exact).abs());
        }
        assert!(worst < 1e-6, "worst error {worst}");
    }

    #[test]
    fn gelu_matches_candles() {
        let x = Tensor::new(
            &[[-3.0f32, -0.5, 0.0], [0.25, 1.0, 5.0]],
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let got = x.apply_op1_no_bwd(&Gelu).unwrap().to_vec2::<f32>().unwrap();
        let want = x.gelu_erf().unwrap().to_vec2::<f32>().unwrap();
        for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
}
