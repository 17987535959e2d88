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
    /// `1 / n²` (the inverse transform's normalisation), stored transposed
    /// (`[v][u]`) as [`FftPlan::forward2`] leaves a spectrum.
    spectrum: Vec<C64>,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

/// The side of the square transforms for a `ky × kx` kernel: the smallest
/// power of two whose tiles hold at least 1.5 kernel sides of outputs
/// (n ≥ 2.5 k). Measured on 5000² f32, this gave 128 for k = 31..51 and 256
/// for k = 63, each the faster choice.
pub(super) fn transform_size(ky: usize, kx: usize) -> usize {
    let k = ky.max(kx);
    k.saturating_mul(5)
        .saturating_div(2)
        .next_power_of_two()
        .max(64)
}

/// Values of scratch one worker holds, and the plan's spectrum, for a
/// `ky × kx` kernel (complex f64 values of 16 bytes): `None` if it
/// overflows.
pub(super) fn scratch_values(ky: usize, kx: usize) -> Option<u128> {
    let n = transform_size(ky, kx) as u128;
    n.checked_mul(n)?.checked_mul(3)
}

/// One worker's buffers: the block being transformed, its transpose, and
/// rustfft's scratch.
struct Work {
    data: Vec<C64>,
    flipped: Vec<C64>,
    scratch: Vec<C64>,
}

impl FftPlan {
    pub(super) fn new(kernel: &Kernel, center: [usize; 2]) -> Self {
        let (ky, kx) = (kernel.height(), kernel.width());
        let n = transform_size(ky, kx);
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let mut plan = Self {
            n,
            ky,
            kx,
            center,
            spectrum: Vec::new(),
            forward,
            inverse,
        };
        let mut work = plan.work();
        for i in 0..ky {
            for j in 0..kx {
                work.data[i * n + j] = C64::new(kernel.weights()[i * kx + j], 0.0);
            }
        }
        plan.forward2(&mut work);
        let scale = 1.0 / (n * n) as f64;
        plan.spectrum = work.data.iter().map(|v| v.conj() * scale).collect();
        plan
    }

    fn work(&self) -> Work {
        let nn = self.n * self.n;
        let scratch = self
            .forward
            .get_inplace_scratch_len()
            .max(self.inverse.get_inplace_scratch_len());
        Work {
            data: vec![C64::new(0.0, 0.0); nn],
            flipped: vec![C64::new(0.0, 0.0); nn],
            scratch: vec![C64::new(0.0, 0.0); scratch],
        }
    }

    /// 2-D transform of `work.data` (`[y][x]`): rows, a transpose, rows
    /// again; the spectrum is left transposed (`[v][u]`) in `work.data`,
    /// which saves the transpose back (the kernel's spectrum is stored the
    /// same way, and [`FftPlan::inverse2`] starts from this layout).
    fn forward2(&self, work: &mut Work) {
        let n = self.n;
        self.forward
            .process_with_scratch(&mut work.data, &mut work.scratch);
        transpose::transpose(&work.data, &mut work.flipped, n, n);
        self.forward
            .process_with_scratch(&mut work.flipped, &mut work.scratch);
        std::mem::swap(&mut work.data, &mut work.flipped);
    }

    /// Inverse of [`FftPlan::forward2`] for the first `rows` rows only: the
    /// columns (rows of the transposed layout), a transpose, then only the
    /// rows a tile keeps (the others are the part that wrapped around).
    fn inverse2(&self, work: &mut Work, rows: usize) {
        let n = self.n;
        self.inverse
            .process_with_scratch(&mut work.data, &mut work.scratch);
        transpose::transpose(&work.data, &mut work.flipped, n, n);
        self.inverse
            .process_with_scratch(&mut work.flipped[..rows * n], &mut work.scratch);
        std::mem::swap(&mut work.data, &mut work.flipped);
    }

    /// Output rows and columns per tile.
    fn tile(&self) -> (usize, usize) {
        (self.n - self.ky + 1, self.n - self.kx + 1)
    }
}

/// Correlates `image` with the plan's kernel into `out`.
pub(super) fn run<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &FftPlan,
    [mode_y, mode_x]: [BoundaryMode; 2],
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w * c == 0 {
        return;
    }
    let (ty, tx) = plan.tile();
    let n = plan.n;
    let [top, left] = plan.center;
    // Where each input column of each tile comes from (None: cval), made
    // once: boundary arithmetic per value cost more than the transforms.
    let tiles: Vec<Vec<Option<usize>>> = (0..w)
        .step_by(tx)
        .map(|x0| source_indices(x0, left, n, w, mode_x))
        .collect();
    out.par_chunks_mut(ty * w * c)
        .enumerate()
        .for_each(|(band, dst)| {
            let y0 = band * ty;
            let rows = source_indices(y0, top, n, h, mode_y);
            let keep = ty.min(h - y0);
            let mut work = plan.work();
            for ch in 0..c {
                for (pair_no, pair) in tiles.chunks(2).enumerate() {
                    let cvals = [mode_y.cval(), mode_x.cval()];
                    fill(&mut work.data, image, &rows, pair, ch, cvals);
                    plan.forward2(&mut work);
                    for (b, s) in work.data.iter_mut().zip(&plan.spectrum) {
                        *b *= s;
                    }
                    plan.inverse2(&mut work, keep);
                    let x0 = pair_no * 2 * tx;
                    store(&work.data, plan, dst, (w, c), keep, x0, ch);
                }
            }
        });
}

/// The source index of each of the `n` input positions of a tile starting
/// at output `start` (`None` outside the array in constant mode).
fn source_indices(
    start: usize,
    before: usize,
    n: usize,
    len: usize,
    mode: BoundaryMode,
) -> Vec<Option<usize>> {
    (0..n)
        .map(|p| boundary_index(start as i64 - before as i64 + p as i64, len, mode))
        .collect()
}

/// The input windows of one or two tiles (real and imaginary parts), from
/// the row and column source indices.
fn fill<T: FilterValue>(
    buf: &mut [C64],
    image: ImageView<'_, T>,
    rows: &[Option<usize>],
    pair: &[Vec<Option<usize>>],
    ch: usize,
    [cval_y, cval]: [f64; 2],
) {
    let (w, c) = (image.width(), image.channels());
    let n = rows.len();
    let data = image.data();
    for (dst, &y) in buf.chunks_exact_mut(n).zip(rows) {
        let Some(y) = y else {
            // A row outside: the y mode's constant, the x mode's where x is
            // outside too (scipy's x pass comes last).
            let at = |x: Option<usize>| x.map_or(cval, |_| cval_y);
            match pair {
                [a, b] => {
                    for ((d, &xa), &xb) in dst.iter_mut().zip(a).zip(b) {
                        *d = C64::new(at(xa), at(xb));
                    }
                }
                _ => {
                    for (d, &xa) in dst.iter_mut().zip(&pair[0]) {
                        *d = C64::new(at(xa), 0.0);
                    }
                }
            }
            continue;
        };
        let row = &data[y * w * c..(y + 1) * w * c];
        let at = |x: Option<usize>| x.map_or(cval, |x| row[x * c + ch].to_f64());
        match pair {
            [a, b] => {
                for ((d, &xa), &xb) in dst.iter_mut().zip(a).zip(b) {
                    *d = C64::new(at(xa), at(xb));
                }
            }
            [a] => {
                for (d, &xa) in dst.iter_mut().zip(a) {
                    *d = C64::new(at(xa), 0.0);
                }
            }
            _ => unreachable!("tiles come in pairs or alone"),
        }
    }
}

/// Writes the unwrapped part of each tile of the pair (its first `keep`
/// rows) into `dst`, the band of output rows the tiles start at, from
/// column `x0` on.
fn store<T: FilterValue>(
    buf: &[C64],
    plan: &FftPlan,
    dst: &mut [T],
    (w, c): (usize, usize),
    keep: usize,
    x0: usize,
    ch: usize,
) {
    let (_, tx) = plan.tile();
    let n = plan.n;
    for u in 0..keep {
        let src = &buf[u * n..u * n + tx];
        let out = &mut dst[u * w * c..(u + 1) * w * c];
        for (k, start) in [x0, x0 + tx].into_iter().enumerate() {
            let width = tx.min(w.saturating_sub(start));
            for (v, z) in src[..width].iter().enumerate() {
                let value = if k == 0 { z.re } else { z.im };
                out[(start + v) * c + ch] = T::from_f64(value);
            }
        }
    }
}
