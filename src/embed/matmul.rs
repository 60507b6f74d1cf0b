//! `x Wᵀ + b` for the model's weight matrices, with AVX-512 where the CPU has it.
//!
//! Why: nearly all of a question's time is these multiplies, and candle's CPU matrix
//! multiply (the `gemm` crate) runs its AVX2 kernels on stable Rust, 8 floats per
//! instruction, even on CPUs that do 16. The shapes here are always the same few (a
//! question's 10 to 128 word pieces against 384 x 384 to 1536 x 384 weights), so one
//! kernel written for them is enough: the weights are repacked once at load into bands of
//! [`BAND`] output columns (`[k][BAND]` each, read front to back), and a tile of up to
//! [`ROWS`] input rows is multiplied against a band with every partial sum in a register.
//! Bands are shared out between the threads.
//!
//! On a CPU without AVX-512, or a matrix whose width is not a multiple of [`BAND`], the
//! plain weights are kept and candle multiplies them: the same numbers, the old speed.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

type Result<T> = candle_core::Result<T>;

/// Output columns per band: four AVX-512 registers.
pub const BAND: usize = 64;
/// Input rows per tile: with four registers of sums per row, 24 of the 32 registers hold
/// sums and the rest the band's four vectors and one broadcast input.
pub const ROWS: usize = 6;
/// Floats per AVX-512 register.
const LANES: usize = 16;

/// A weight matrix `W` (`[n, k]`, one row per output) and its bias, ready to multiply.
pub struct Linear {
    weights: Weights,
    bias: Vec<f32>,
}

enum Weights {
    /// Bands of [`BAND`] output columns, each `[k][BAND]`.
    Banded { bands: Vec<f32>, n: usize, k: usize },
    /// `Wᵀ` (`[k, n]`), for candle's multiply.
    Plain(Tensor),
}

impl Linear {
    /// Repacks `weight` (`[n, k]`) for the AVX-512 kernel when the CPU has it, or keeps it
    /// for candle's multiply when not (or when `plain`).
    pub fn new(weight: &Tensor, bias: &Tensor, plain: bool) -> Result<Linear> {
        let (n, k) = weight.dims2()?;
        let bias: Vec<f32> = bias.to_vec1()?;
        if bias.len() != n {
            candle_core::bail!("a bias of {} for {n} outputs", bias.len());
        }
        let weights = if !plain && has_avx512() && n % BAND == 0 {
            let rows = weight.to_vec2::<f32>()?;
            let mut bands = Vec::with_capacity(n * k);
            for band in 0..n / BAND {
                for i in 0..k {
                    bands.extend((0..BAND).map(|j| rows[band * BAND + j][i]));
                }
            }
            Weights::Banded { bands, n, k }
        } else {
            Weights::Plain(weight.t()?.contiguous()?)
        };
        Ok(Linear { weights, bias })
    }

    /// `x Wᵀ + b` for `x` of shape `[m, k]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.weights {
            Weights::Banded { .. } => x.apply_op1_no_bwd(self),
            Weights::Plain(weight_t) => x
                .matmul(weight_t)?
                .broadcast_add(&Tensor::new(self.bias.as_slice(), x.device())?),
        }
    }

    /// Whether the AVX-512 kernel multiplies this matrix.
    pub fn is_banded(&self) -> bool {
        matches!(self.weights, Weights::Banded { .. })
    }
}

impl CustomOp1 for Linear {
    fn name(&self) -> &'static str {
        "banded-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Weights::Banded { bands, n, k } = &self.weights else {
            candle_core::bail!("banded-linear: the weights are not banded");
        };
        let (n, k) = (*n, *k);
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("banded-linear: f32 only");
        };
        let (Some((start, end)), [m, width]) = (layout.contiguous_offsets(), layout.dims()) else {
            candle_core::bail!("banded-linear: a contiguous matrix only, got {layout:?}");
        };
        if *width != k {
            candle_core::bail!("banded-linear: rows of {width} for weights of {k}");
        }
        let m = *m;
        let x = &data[start..end];
        let mut out = vec![0f32; m * n];
        let band_count = n / BAND;
        let out_at = SharedOut(out.as_mut_ptr());
        let run = |bands_range: std::ops::Range<usize>| {
            for band in bands_range {
                let weights = &bands[band * k * BAND..(band + 1) * k * BAND];
                let bias = &self.bias[band * BAND..(band + 1) * BAND];
                // SAFETY: `new` banded the weights only on a CPU with AVX-512; each band's
                // columns of `out` are written by this call alone.
                unsafe { multiply_band(x, m, k, weights, bias, out_at, n, band * BAND) };
            }
        };
        let threads = rayon::current_num_threads().clamp(1, band_count);
        if threads == 1 {
            run(0..band_count);
        } else {
            use rayon::prelude::*;
            (0..threads).into_par_iter().for_each(|t| {
                run(t * band_count / threads..(t + 1) * band_count / threads);
            });
        }
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

/// The output's address, shared by the threads that each write their own bands' columns.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: threads write disjoint columns (see `cpu_fwd`), and the buffer outlives them.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One band: every row of `x` (`[m, k]`) times the band's weights (`[k][BAND]`), plus
/// `bias`, into columns `column..column + BAND` of `out` (`[m, n]`).
///
/// # Safety
/// The CPU must have AVX-512F; `out` must hold `m * n` floats, and no one else may touch
/// these columns meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn multiply_band(
    x: &[f32],
    m: usize,
    k: usize,
    weights: &[f32],
    bias: &[f32],
    out: SharedOut,
    n: usize,
    column: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut row = 0;
        while row < m {
            let rows = (m - row).min(ROWS);
            let x = x.as_ptr().add(row * k);
            let out = out.0.add(row * n + column);
            let (w, b) = (weights.as_ptr(), bias.as_ptr());
            match rows {
                6 => avx512::tile::<6>(x, k, w, b, out, n),
                5 => avx512::tile::<5>(x, k, w, b, out, n),
                4 => avx512::tile::<4>(x, k, w, b, out, n),
                3 => avx512::tile::<3>(x, k, w, b, out, n),
                2 => avx512::tile::<2>(x, k, w, b, out, n),
                _ => avx512::tile::<1>(x, k, w, b, out, n),
            }
            row += rows;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, m, k, weights, bias, out, n, column);
        unreachable!("banded weights exist only on x86_64");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{BAND, LANES};
    use std::arch::x86_64::*;

    const VECTORS: usize = BAND / LANES;

    /// `R` rows of `x` (row stride `k`) times one band `w` (`[k][BAND]`) plus `bias`, into
    /// `out` (row stride `n`). Every sum stays in a register until the end.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile<const R: usize>(
        x: *const f32,
        k: usize,
        w: *const f32,
        bias: *const f32,
        out: *mut f32,
        n: usize,
    ) {
        let mut sums = [[_mm512_setzero_ps(); VECTORS]; R];
        for row in sums.iter_mut() {
            for (v, sum) in row.iter_mut().enumerate() {
                *sum = _mm512_loadu_ps(bias.add(v * LANES));
            }
        }
        for i in 0..k {
            let band_row = w.add(i * BAND);
            let mut weights = [_mm512_setzero_ps(); VECTORS];
            for (v, weight) in weights.iter_mut().enumerate() {
                *weight = _mm512_loadu_ps(band_row.add(v * LANES));
            }
            for (r, row) in sums.iter_mut().enumerate() {
                let input = _mm512_set1_ps(*x.add(r * k + i));
                for (sum, weight) in row.iter_mut().zip(&weights) {
                    *sum = _mm512_fmadd_ps(input, *weight, *sum);
                }
            }
        }
        for (r, row) in sums.iter().enumerate() {
            for (v, sum) in row.iter().enumerate() {
                _mm512_storeu_ps(out.add(r * n + v * LANES), *sum);
            }
        }
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
    fn the_banded_kernel_matches_candles_multiply() {
        for (m, k, n) in [
            (1, 384, 384),
            (7, 384, 1152),
            (13, 1536, 384),
            (128, 384, 1536),
        ] {
            let w = Tensor::from_vec(values(n * k, 1), (n, k), &Device::Cpu).unwrap();
            let b = Tensor::from_vec(values(n, 2), n, &Device::Cpu).unwrap();
            let x = Tensor::from_vec(values(m * k, 3), (m, k), &Device::Cpu).unwrap();
            let banded = Linear::new(&w, &b, false).unwrap();
            // Where the CPU lacks AVX-512 this compares candle with itself.
            assert_eq!(banded.is_banded(), has_avx512());
            let plain = Linear::new(&w, &b, true).unwrap();
            let got = banded.forward(&x).unwrap().to_vec2::<f32>().unwrap();
            let want = plain.forward(&x).unwrap().to_vec2::<f32>().unwrap();
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!((g - w).abs() < 1e-3, "{m}x{k}x{n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn plain_weights_match_too() {
        let (m, k, n) = (3, 8, 5);
        let w = Tensor::from_vec(values(n * k, 4), (n, k), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(values(n, 5), n, &Device::Cpu).unwrap();
        let x = Tensor::from_vec(values(m * k, 6), (m, k), &Device::Cpu).unwrap();
        // Five outputs are not a whole band: candle multiplies them.
        let linear = Linear::new(&w, &b, false).unwrap();
        assert!(!linear.is_banded());
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
