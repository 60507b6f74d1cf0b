//! careerbot's sentence-embedding model's inner loops, in their own crate so that they are
//! compiled optimised in every profile: the test build compiles careerbot itself without
//! optimisation, where these loops would run a hundred times slower and embedding the
//! knowledge base in a test would take minutes.
//!
//! - [`Bands`]: `x Wᵀ + b` for a weight matrix repacked into bands of output columns.
//!   Why: a question's time is nearly all these multiplies, and candle's CPU multiply (the
//!   `gemm` crate) pads a 10-row input to its 16-row kernel and runs 8-float (AVX2)
//!   instructions on stable Rust, even on CPUs that do 16 (AVX-512). The model's shapes
//!   are always the same few (10 to 128 word pieces against 384 x 384 to 1536 x 384
//!   weights), so a kernel written for them is short: the weights are repacked once into
//!   bands of output columns (`[k][band]` each, read front to back), and a tile of up to
//!   [`ROWS`] input rows is multiplied against a band with every sum in a register, the
//!   bias loaded into the sums first. Bands are shared out between the threads of rayon's
//!   pool (the one candle uses).
//! - [`gelu`]: GELU with an erf that compiles to vector instructions; candle's calls a
//!   scalar `erf` per value.
//!
//! Two kernels, chosen by what the CPU has ([`Kernel::detect`]): AVX-512 (bands of 64
//! columns, four registers per row) and AVX2 with FMA (bands of 16, two registers per
//! row). careerbot's `embed::matmul` uses candle's multiply on any other CPU.

/// Input rows per tile. AVX-512: 6 rows x 4 registers of sums, 4 of the band's vectors and
/// a broadcast input fill 29 of 32 registers; AVX2: 6 x 2 + 2 + 1 fill 15 of 16.
pub const ROWS: usize = 6;

/// Which kernel multiplies a matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// 16 floats per instruction, bands of 64 columns.
    Avx512,
    /// 8 floats per instruction, bands of 16 columns.
    Avx2,
    /// candle's multiply on the plain weights.
    Candle,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            for kernel in [Kernel::Avx512, Kernel::Avx2] {
                if kernel.runs_here() {
                    return kernel;
                }
            }
        }
        Kernel::Candle
    }

    /// Output columns per band (0: candle's multiply, no bands).
    pub fn band(self) -> usize {
        match self {
            Kernel::Avx512 => 64,
            Kernel::Avx2 => 16,
            Kernel::Candle => 0,
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Kernel::Avx512 => has!("avx512f"),
                // Checked for itself: a virtual CPU may offer AVX-512 without AVX2 or FMA.
                Kernel::Avx2 => has!("avx2") && has!("fma"),
                Kernel::Candle => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Candle
        }
    }

    /// For reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "AVX-512 kernel",
            Kernel::Avx2 => "AVX2 kernel",
            Kernel::Candle => "candle's gemm",
        }
    }
}

/// A weight matrix (`[n, k]`, one row per output) repacked in bands for a kernel.
pub struct Bands {
    data: Vec<f32>,
    n: usize,
    k: usize,
    kernel: Kernel,
}

impl Bands {
    /// Whether `kernel` can multiply a matrix of `n` outputs here: this CPU runs it, and
    /// `n` is a whole, non-zero number of its bands.
    pub fn fit(n: usize, kernel: Kernel) -> bool {
        let band = kernel.band();
        band > 0 && n > 0 && n.is_multiple_of(band) && kernel.runs_here()
    }

    /// `weights` (`[n, k]`, row-major) in bands for `kernel`, or `None` when they do not
    /// [`fit`](Bands::fit) or `weights` is not `n` rows of `k`.
    pub fn pack(weights: &[f32], n: usize, k: usize, kernel: Kernel) -> Option<Bands> {
        if !Bands::fit(n, kernel) || n.checked_mul(k) != Some(weights.len()) {
            return None;
        }
        let band = kernel.band();
        let mut data = Vec::with_capacity(n * k);
        for first in (0..n).step_by(band) {
            for i in 0..k {
                data.extend((first..first + band).map(|row| weights[row * k + i]));
            }
        }
        Some(Bands { data, n, k, kernel })
    }

    /// The kernel these bands are for.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Outputs (rows of the weight matrix).
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// Inputs (columns of the weight matrix).
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// `x Wᵀ + bias` for `x` of `m` rows of [`Bands::inputs`], row-major, into a new
    /// `[m, outputs]` matrix.
    ///
    /// # Panics
    /// When `x` is not `m` whole rows or `bias` is not one value per output.
    pub fn multiply(&self, x: &[f32], m: usize, bias: &[f32]) -> Vec<f32> {
        let (n, k, kernel, band) = (self.n, self.k, self.kernel, self.kernel.band());
        assert_eq!(m.checked_mul(k), Some(x.len()), "{m} rows of {k}");
        assert_eq!(bias.len(), n, "one bias per output");
        let size = m
            .checked_mul(n)
            .expect("an output this large cannot be allocated");
        let mut out = vec![0f32; size];
        let band_count = n / band;
        let out_at = SharedOut(out.as_mut_ptr());
        let run = |bands_range: std::ops::Range<usize>| {
            for b in bands_range {
                let columns = b * band..(b + 1) * band;
                let weights = &self.data[b * k * band..(b + 1) * k * band];
                // SAFETY: `pack` banded the weights only for a kernel this CPU runs, n band
                // widths of k each; `x` is m rows of k and `out` m rows of n (checked
                // above); bias[columns] is one band wide; the bands are split between the
                // threads below without overlap, so each band's columns of `out` are
                // written by this call alone.
                unsafe { multiply_band(kernel, x, m, k, weights, &bias[columns], out_at, n, b) };
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
        out
    }
}

/// The output's address, shared by the threads that each write their own bands' columns.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: `Bands::multiply` gives each thread its own bands, so threads write disjoint
// columns, and the buffer outlives them (the threads are joined before it returns).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// One band (number `b`): every row of `x` (`[m, k]`) times the band's weights
/// (`[k][band]`), plus `bias`, into the band's columns of `out` (`[m, n]`).
///
/// # Safety
/// The CPU must run `kernel`; `x` must hold `m * k` floats, `weights` `k * band` and
/// `bias` `band` (the kernel's band width); band `b` must lie inside the `n` columns
/// (`(b + 1) * band <= n`); `out` must hold `m * n` floats, and no one else may touch
/// these columns meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn multiply_band(
    kernel: Kernel,
    x: &[f32],
    m: usize,
    k: usize,
    weights: &[f32],
    bias: &[f32],
    out: SharedOut,
    n: usize,
    b: usize,
) {
    let band = kernel.band();
    debug_assert!(x.len() >= m * k && weights.len() >= k * band && bias.len() >= band);
    debug_assert!((b + 1) * band <= n);
    let mut row = 0;
    while row < m {
        let rows = (m - row).min(ROWS);
        let x = x.as_ptr().add(row * k);
        let out = out.0.add(row * n + b * band);
        let (w, bias) = (weights.as_ptr(), bias.as_ptr());
        // The row count is a constant inside each kernel, so its loops unroll and its sums
        // stay in registers.
        macro_rules! tile {
            ($module:ident) => {
                match rows {
                    6 => $module::tile::<6>(x, k, w, bias, out, n),
                    5 => $module::tile::<5>(x, k, w, bias, out, n),
                    4 => $module::tile::<4>(x, k, w, bias, out, n),
                    3 => $module::tile::<3>(x, k, w, bias, out, n),
                    2 => $module::tile::<2>(x, k, w, bias, out, n),
                    _ => $module::tile::<1>(x, k, w, bias, out, n),
                }
            };
        }
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => tile!(avx512),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => tile!(avx2),
            _ => unreachable!("only x86_64 kernels band their weights"),
        }
        row += rows;
    }
}

/// The kernels: `R` rows of `x` (row stride `k`) times one band `w` (`[k][band]`) plus
/// `bias`, into `out` (row stride `n`). The same loop for both instruction sets, written
/// once; each module gives it its registers.
#[cfg(target_arch = "x86_64")]
macro_rules! band_kernel {
    ($features:literal, $vector:ty, $lanes:literal, $registers:literal,
     $zero:ident, $load:ident, $store:ident, $broadcast:ident, $fma:ident) => {
        use std::arch::x86_64::*;

        #[target_feature(enable = $features)]
        pub unsafe fn tile<const R: usize>(
            x: *const f32,
            k: usize,
            w: *const f32,
            bias: *const f32,
            out: *mut f32,
            n: usize,
        ) {
            const BAND: usize = $lanes * $registers;
            let mut sums: [[$vector; $registers]; R] = [[$zero(); $registers]; R];
            for row in sums.iter_mut() {
                for (v, sum) in row.iter_mut().enumerate() {
                    *sum = $load(bias.add(v * $lanes));
                }
            }
            for i in 0..k {
                let band_row = w.add(i * BAND);
                let mut weights: [$vector; $registers] = [$zero(); $registers];
                for (v, weight) in weights.iter_mut().enumerate() {
                    *weight = $load(band_row.add(v * $lanes));
                }
                for (r, row) in sums.iter_mut().enumerate() {
                    let input = $broadcast(*x.add(r * k + i));
                    for (sum, weight) in row.iter_mut().zip(&weights) {
                        *sum = $fma(input, *weight, *sum);
                    }
                }
            }
            for (r, row) in sums.iter().enumerate() {
                for (v, sum) in row.iter().enumerate() {
                    $store(out.add(r * n + v * $lanes), *sum);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    band_kernel!(
        "avx512f",
        __m512,
        16,
        4,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps
    );
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    band_kernel!(
        "avx2,fma",
        __m256,
        8,
        2,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps
    );
}

/// GELU in place: `x/2 (1 + erf(x/sqrt 2))`, vectorised where the CPU allows.
pub fn gelu(values: &mut [f32]) {
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
    // The same loop, compiled with 8-wide vectors and fused multiply-adds.
    gelu_with::<true>(values);
}

#[inline(always)]
fn gelu_portable(values: &mut [f32]) {
    gelu_with::<false>(values);
}

/// GELU over `values`, the erf's polynomials with fused multiply-adds when `FMA` (which
/// without the instruction would be a slow library call).
#[inline(always)]
fn gelu_with<const FMA: bool>(values: &mut [f32]) {
    for x in values {
        *x = 0.5 * *x * (1.0 + erf::<FMA>(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf to within 1e-6 of the exact value, branch-free so a loop of it vectorises: an odd
/// rational function of `x`, clamped to [-4, 4] (beyond which erf is ±1 in f32). The
/// coefficients are the minimax fit Eigen uses for its vectorised `erf`
/// (`generic_fast_erf_float`); `erf_is_within_a_millionth` checks them against a slow
/// double-precision reference (series and continued fraction).
#[inline(always)]
fn erf<const FMA: bool>(x: f32) -> f32 {
    let step = |acc: f32, x2: f32, c: f32| {
        if FMA {
            acc.mul_add(x2, c)
        } else {
            acc * x2 + c
        }
    };
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for a in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = step(p, x2, a);
    }
    let mut q = -1.456_607_2e-5_f32;
    for b in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = step(q, x2, b);
    }
    // The fit overshoots 1 by an ulp or two near ±3.9.
    (x * p / q).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_is_within_a_millionth() {
        let mut worst = 0.0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 / 10_000.0;
            let exact = reference_erf(x as f64);
            for got in [super::erf::<true>(x), super::erf::<false>(x)] {
                worst = worst.max((got as f64 - exact).abs());
            }
        }
        assert!(worst < 1e-6, "worst error {worst}");
    }

    /// erf by its Taylor series (|x| < 3) and continued fraction beyond: slow, exact
    /// to double precision well past what f32 needs.
    fn reference_erf(x: f64) -> f64 {
        let a = x.abs();
        let value = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a²)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
            let mut fraction = a;
            for i in (1..60).rev() {
                fraction = a + (i as f64 / 2.0) / fraction;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / fraction
        };
        value.copysign(x)
    }
}
