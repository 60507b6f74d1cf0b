//! `x Wᵀ + b` for the model's weight matrices: the glue between candle's tensors and
//! [`careerbot_kernels::Bands`] (why a kernel of our own, and why in its own crate: see
//! that crate's docs).
//!
//! A matrix whose kernel this CPU does not run, or whose width is not a whole number of
//! the kernel's bands, keeps its plain weights and candle multiplies them: the same
//! results up to rounding (the sums are added in another order), the old speed.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use careerbot_kernels::Bands;
pub use careerbot_kernels::Kernel;

type Result<T> = candle_core::Result<T>;

/// A weight matrix `W` (`[n, k]`, one row per output) and its bias, ready to multiply.
pub struct Linear {
    weights: Weights,
}

enum Weights {
    Banded {
        bands: Bands,
        bias: Vec<f32>,
    },
    /// `Wᵀ` (`[k, n]`) and the bias, for candle's multiply.
    Plain {
        weight_t: Tensor,
        bias: Tensor,
    },
}

impl Linear {
    /// Repacks `weight` (`[n, k]`) for `kernel` (see [`Kernel::detect`]), or keeps it for
    /// candle's multiply when the kernel is [`Kernel::Candle`], cannot run on this CPU, or
    /// the width is not a whole number of its bands.
    pub fn new(weight: &Tensor, bias: &Tensor, kernel: Kernel) -> Result<Linear> {
        let (n, k) = weight.dims2()?;
        if bias.dims() != [n] {
            candle_core::bail!("a bias of {:?} for {n} outputs", bias.dims());
        }
        let bands = if Bands::fit(n, kernel) {
            Bands::pack(&weight.flatten_all()?.to_vec1::<f32>()?, n, k, kernel)
        } else {
            None
        };
        let weights = match bands {
            Some(bands) => Weights::Banded {
                bands,
                bias: bias.to_vec1()?,
            },
            None => Weights::Plain {
                weight_t: weight.t()?.contiguous()?,
                bias: bias.clone(),
            },
        };
        Ok(Linear { weights })
    }

    /// `x Wᵀ + b` for `x` of shape `[m, k]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.weights {
            Weights::Banded { .. } => x.apply_op1_no_bwd(self),
            Weights::Plain { weight_t, bias } => x.matmul(weight_t)?.broadcast_add(bias),
        }
    }

    /// The kernel that multiplies this matrix.
    pub fn kernel(&self) -> Kernel {
        match &self.weights {
            Weights::Banded { bands, .. } => bands.kernel(),
            Weights::Plain { .. } => Kernel::Candle,
        }
    }
}

impl CustomOp1 for Linear {
    fn name(&self) -> &'static str {
        "banded-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Weights::Banded { bands, bias } = &self.weights else {
            candle_core::bail!("banded-linear: the weights are not banded");
        };
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("banded-linear: f32 only");
        };
        let (Some((start, end)), [m, width]) = (layout.contiguous_offsets(), layout.dims()) else {
            candle_core::bail!("banded-linear: a contiguous matrix only, got {layout:?}");
        };
        if *width != bands.inputs() {
            candle_core::bail!(
                "banded-linear: rows of {width} for weights of {}",
                bands.inputs()
            );
        }
        let out = bands.multiply(&data[start..end], *m, bias);
        Ok((CpuStorage::F32(out), Shape::from((*m, bands.outputs()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Deterministic values in [-1, 1).
    fn values(count: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_banded_kernels_match_candles_multiply() {
        for (m, k, n) in [
            (1, 384, 384),
            (7, 384, 1152),
            (13, 1536, 384),
            (128, 384, 1536),
        ] {
            let w = Tensor::from_vec(values(n * k, 1), (n, k), &Device::Cpu).unwrap();
            let b = Tensor::from_vec(values(n, 2), n, &Device::Cpu).unwrap();
            let x = Tensor::from_vec(values(m * k, 3), (m, k), &Device::Cpu).unwrap();
            let plain = Linear::new(&w, &b, Kernel::Candle).unwrap();
            let want = plain.forward(&x).unwrap().to_vec2::<f32>().unwrap();
            for kernel in [Kernel::Avx512, Kernel::Avx2] {
                let banded = Linear::new(&w, &b, kernel).unwrap();
                // Where the CPU lacks the kernel, this compares candle with itself.
                let runs = if kernel.runs_here() {
                    kernel
                } else {
                    Kernel::Candle
                };
                assert_eq!(banded.kernel(), runs);
                let got = banded.forward(&x).unwrap().to_vec2::<f32>().unwrap();
                for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                    assert!((g - w).abs() < 1e-3, "{kernel:?} {m}x{k}x{n}: {g} vs {w}");
                }
            }
        }
    }

    /// An input that starts inside its storage (a slice of a bigger tensor) is read from
    /// its start; one that is not contiguous is refused, not misread.
    #[test]
    fn inputs_are_read_by_their_layout() {
        let (k, n) = (384, 384);
        let w = Tensor::from_vec(values(n * k, 7), (n, k), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(values(n, 8), n, &Device::Cpu).unwrap();
        let x = Tensor::from_vec(values(9 * k, 9), (9, k), &Device::Cpu).unwrap();
        let linear = Linear::new(&w, &b, Kernel::detect()).unwrap();
        let plain = Linear::new(&w, &b, Kernel::Candle).unwrap();
        let part = x.narrow(0, 2, 5).unwrap();
        let got = linear.forward(&part).unwrap().to_vec2::<f32>().unwrap();
        let want = plain.forward(&part.contiguous().unwrap()).unwrap();
        for (g, w) in got
            .iter()
            .flatten()
            .zip(want.to_vec2::<f32>().unwrap().iter().flatten())
        {
            assert!((g - w).abs() < 1e-3, "{g} vs {w}");
        }
        let square = Tensor::from_vec(values(k * k, 10), (k, k), &Device::Cpu).unwrap();
        let transposed = square.t().unwrap();
        if linear.kernel() != Kernel::Candle {
            assert!(linear.forward(&transposed).is_err());
        }
    }

    #[test]
    fn plain_weights_match_too() {
        let (m, k, n) = (3, 8, 5);
        let w = Tensor::from_vec(values(n * k, 4), (n, k), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(values(n, 5), n, &Device::Cpu).unwrap();
        let x = Tensor::from_vec(values(m * k, 6), (m, k), &Device::Cpu).unwrap();
        // Five outputs are not a whole band: candle multiplies them.
        let linear = Linear::new(&w, &b, Kernel::detect()).unwrap();
        assert_eq!(linear.kernel(), Kernel::Candle);
        let got = linear.forward(&x).unwrap().to_vec2::<f32>().unwrap();
        let (xs, ws, bs) = (
            x.to_vec2::<f32>().unwrap(),
            w.to_vec2::<f32>().unwrap(),
            b.to_vec1::<f32>().unwrap(),
        );
        for r in 0..m {
            for c in 0..n {
                let want: f32 = bs[c] + (0..k).map(|i| xs[r][i] * ws[c][i]).sum::<f32>();
                assert!((got[r][c] - want).abs() < 1e-5);
            }
        }
    }
}
