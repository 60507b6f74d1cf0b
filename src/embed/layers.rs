//! BERT's transformer layers, arranged for short inputs on a small CPU.
//!
//! The arithmetic is BERT's (and candle-transformers' `BertEncoder`'s, which this replaced):
//! per layer, self-attention, a dense projection added back and normalised, then the
//! feed-forward block (dense, GELU, dense) added back and normalised. What differs is all
//! for speed on the inputs a chat bot sees (a question is 10 to 60 word pieces):
//!
//! - **The dense projections run on our own kernels** ([`super::matmul`]), the bias added
//!   inside the multiply.
//! - **Query, key and value are one multiply.** Their weights are stacked into one
//!   `[3 x hidden, hidden]` matrix at load: one multiply instead of three per layer.
//! - **GELU with a vectorised erf** ([`Gelu`], `careerbot_kernels::gelu`). candle's calls a
//!   scalar `erf` per value: 15% of a question's time.
//! - **A single text gets no attention mask** (one text attends to all of itself); a
//!   packed pass of several texts gets the block-diagonal one (`Embedder::embed_packed`).
//!
//! The vectors are the same as candle's `BertModel`'s (cosine above 0.9999, asserted in
//! `tests/semantic.rs` for every kernel this CPU runs and for candle's multiply).

use candle_core::{CpuStorage, CustomOp1, Layout, Module, Shape, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

type Result<T> = candle_core::Result<T>;

use super::matmul::{Kernel, Linear};

/// `x Wᵀ + b` for `weight` and `bias` under `vb`.
fn linear(vb: VarBuilder, rows: usize, cols: usize, kernel: Kernel) -> Result<Linear> {
    Linear::new(
        &vb.get((rows, cols), "weight")?,
        &vb.get(rows, "bias")?,
        kernel,
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
    fn load(vb: VarBuilder, config: &Config, kernel: Kernel) -> Result<Layer> {
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
            qkv: Linear::new(
                &Tensor::cat(&weights, 0)?,
                &Tensor::cat(&biases, 0)?,
                kernel,
            )?,
            attention_out: linear(attention.pp("output.dense"), h, h, kernel)?,
            attention_norm: layer_norm(attention.pp("output.LayerNorm"), h, eps)?,
            intermediate: linear(vb.pp("intermediate.dense"), i, h, kernel)?,
            output: linear(vb.pp("output.dense"), h, i, kernel)?,
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
    /// The layers under `vb` (the checkpoint's `encoder.`), multiplied by `kernel` where
    /// it can (see [`Linear::new`]).
    pub fn load(vb: VarBuilder, config: &Config, kernel: Kernel) -> Result<Layers> {
        // The feed-forward activation is GELU's erf form (`Gelu`), as in MiniLM; a model
        // configured otherwise would get wrong vectors, so it is refused.
        if config.hidden_act != HiddenAct::Gelu {
            candle_core::bail!(
                "the model's activation is {:?}; only GELU (\"gelu\") is supported",
                config.hidden_act
            );
        }
        let layers = (0..config.num_hidden_layers)
            .map(|n| Layer::load(vb.pp(format!("layer.{n}")), config, kernel))
            .collect::<Result<Vec<_>>>()?;
        Ok(Layers {
            layers,
            heads: config.num_attention_heads,
            head_size: config.hidden_size / config.num_attention_heads,
        })
    }

    /// The kernel the multiplies run on (candle's when any of them does).
    pub fn kernel(&self) -> Kernel {
        let all = self
            .layers
            .iter()
            .flat_map(|l| [&l.qkv, &l.attention_out, &l.intermediate, &l.output]);
        let mut kernels = all.map(|m| m.kernel());
        let first = kernels.next().unwrap_or(Kernel::Candle);
        if kernels.all(|k| k == first) {
            first
        } else {
            Kernel::Candle
        }
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
        careerbot_kernels::gelu(&mut out);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
