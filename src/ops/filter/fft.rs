//! Correlation by FFT for large full-rank kernels (CPU): the output is cut
//! into tiles; each tile's input window (tile + kernel − 1, extended by the
//! boundary mode) is transformed, multiplied by the conjugate spectrum of
//! the zero-padded kernel and transformed back, and the part that did not
//! wrap around is the tile's correlation. Two tiles ride in one complex
//! transform (one as the real part, one as the imaginary part: the kernel is
//! real, so their results separate the same way). All in f64.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::kernel::Kernel;
use super::{boundary_index, BoundaryMode, FilterValue};
use crate::array::ImageView;

type C64 = Complex<f64>;

/// A kernel ready for tiles of one transform size.
pub(super) struct FftPlan {
    n: usize,
    ky: usize,
    kx: usize,
    center: [usize; 2],
    /// Conjugate spectrum of the kernel, zero-padded to `n × n`, scaled by
    /// `1 / n²` (the inverse transform's normalisation).
    spectrum: Vec<C64>,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

impl FftPlan {
    pub(super) fn new(kernel: &Kernel, center: [usize; 2]) -> Self {
        let (ky, kx) = (kernel.height(), kernel.width());
        // The smallest power of two whose tiles hold at least 1.5 kernel
        // sides of outputs (n ≥ 2.5 k): measured on 5000² f32, this gave
        // 128 for k = 31..51 and 256 for k = 63, each the faster choice.
        let k = ky.max(kx);
        let n = (5 * k / 2).next_power_of_two().max(64);
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let mut spectrum = vec![C64::new(0.0, 0.0); n * n];
        for i in 0..ky {
            for j in 0..kx {
                spectrum[i * n + j] = C64::new(kernel.weights()[i * kx + j], 0.0);
            }
        }
        let mut plan = Self {
            n,
            ky,
            kx,
            center,
            spectrum: Vec::new(),
            forward,
            inverse,
        };
        plan.fft2(&mut spectrum, false);
        let scale = 1.0 / (n * n) as f64;
        plan.spectrum = spectrum.iter().map(|v| v.conj() * scale).collect();
        plan
    }

    /// In-place 2-D transform of an `n × n` block (rows, then columns).
    fn fft2(&self, data: &mut [C64], inverse: bool) {
        let fft = if inverse {
            &self.inverse
        } else {
            &self.forward
        };
        let mut scratch = vec![C64::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        fft.process_with_scratch(data, &mut scratch);
        transpose(data, self.n);
        fft.process_with_scratch(data, &mut scratch);
        transpose(data, self.n);
    }

    /// Output rows and columns per tile.
    fn tile(&self) -> (usize, usize) {
        (self.n - self.ky + 1, self.n - self.kx + 1)
    }
}

fn transpose(d: &mut [C64], n: usize) {
    for i in 0..n {
        for j in i + 1..n {
            d.swap(i * n + j, j * n + i);
        }
    }
}

/// Correlates `image` with the plan's kernel into `out`.
pub(super) fn run<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &FftPlan,
    mode: BoundaryMode,
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w * c == 0 {
        return;
    }
    let (ty, tx) = plan.tile();
    out.par_chunks_mut(ty * w * c)
        .enumerate()
        .for_each(|(band, dst)| {
            let y0 = band * ty;
            let mut buf = vec![C64::new(0.0, 0.0); plan.n * plan.n];
            let tiles: Vec<usize> = (0..w).step_by(tx).collect();
            for ch in 0..c {
                for pair in tiles.chunks(2) {
                    fill(&mut buf, image, plan, mode, y0, pair, ch);
                    plan.fft2(&mut buf, false);
                    for (b, s) in buf.iter_mut().zip(&plan.spectrum) {
                        *b *= s;
                    }
                    plan.fft2(&mut buf, true);
                    store(&buf, plan, dst, w, c, y0, h, pair, ch);
                }
            }
        });
}

/// The input windows of one or two tiles (real and imaginary parts).
fn fill<T: FilterValue>(
    buf: &mut [C64],
    image: ImageView<'_, T>,
    plan: &FftPlan,
    mode: BoundaryMode,
    y0: usize,
    pair: &[usize],
    ch: usize,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let n = plan.n;
    let [top, left] = plan.center;
    let at = |y: i64, x: i64| -> f64 {
        match (boundary_index(y, h, mode), boundary_index(x, w, mode)) {
            (Some(y), Some(x)) => image.data()[(y * w + x) * c + ch].to_f64(),
            _ => mode.cval(),
        }
    };
    for p in 0..n {
        let y = y0 as i64 - top as i64 + p as i64;
        for q in 0..n {
            let re = at(y, pair[0] as i64 - left as i64 + q as i64);
            let im = pair
                .get(1)
                .map_or(0.0, |&x0| at(y, x0 as i64 - left as i64 + q as i64));
            buf[p * n + q] = C64::new(re, im);
        }
    }
}

/// Writes the unwrapped part of each tile of the pair into `dst` (the band
/// of output rows starting at `y0`).
#[allow(clippy::too_many_arguments)]
fn store<T: FilterValue>(
    buf: &[C64],
    plan: &FftPlan,
    dst: &mut [T],
    w: usize,
    c: usize,
    y0: usize,
    h: usize,
    pair: &[usize],
    ch: usize,
) {
    let (ty, tx) = plan.tile();
    let n = plan.n;
    for u in 0..ty.min(h - y0) {
        for (k, &x0) in pair.iter().enumerate() {
            for v in 0..tx.min(w - x0) {
                let z = buf[u * n + v];
                let value = if k == 0 { z.re } else { z.im };
                dst[(u * w + x0 + v) * c + ch] = T::from_f64(value);
            }
        }
    }
}
