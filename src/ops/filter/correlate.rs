//! Correlation with any 2-D kernel: the plan (separable terms found by SVD,
//! or the direct 2-D sum) and its CPU executor.

use rayon::prelude::*;

use super::boundary::extend_row;
use super::fft;
use super::fir::{fir_rows, fir_rows2};
use super::kernel::{separable_terms, Kernel, Term};
use super::{boundary_index, BoundaryMode, CorrelationMethod, FilterValue};
use crate::array::ImageView;

/// How a correlation runs.
#[derive(Debug, Clone)]
pub(super) enum Method {
    /// A sum of `wy ⊗ wx` terms, each a pass along x then along y.
    Separable(Vec<Term>),
    /// Every tap of the kernel per output.
    Direct(Kernel),
    /// Tiles by FFT (CPU; the GPU runs these as `Direct`).
    Fft(Kernel),
}

/// Kernels with at least this many taps correlate by FFT on the CPU when
/// they are not separable. With the tiles' transposes blocked and their
/// boundary indices precomputed (2026-12-02, 5000² f32, `-v` compute phase,
/// five runs each): 11×11 direct 128–142 ms, FFT 121–167; 15×15 a tie
/// (128–151 against 138–162), with FFT ahead in three alternating pairs of
/// whole commands (0.22–0.27 s against 0.24–0.33 s); 21×21 direct 251–266,
/// FFT 151–186; 31×31 direct ~640, FFT ~150.
const FFT_MIN_TAPS: usize = 15 * 15;

/// A correlation to run: the method and the window's anchor `[top, left]`
/// (the output sits at kernel row `top`, column `left`).
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) ky: usize,
    pub(super) kx: usize,
    pub(super) center: [usize; 2],
    pub(super) method: Method,
}

impl Plan {
    /// The method `choice` asks for; `Auto` takes separable terms when the
    /// kernel's rank (to `tol` of its largest singular value) makes them
    /// cheaper, else FFT tiles for large kernels, else the direct sum.
    pub(super) fn new(
        kernel: &Kernel,
        center: [usize; 2],
        tol: f64,
        choice: CorrelationMethod,
    ) -> Self {
        let (ky, kx) = (kernel.height(), kernel.width());
        let forced = match choice {
            CorrelationMethod::Direct => Some(Method::Direct(kernel.clone())),
            CorrelationMethod::Fft => Some(Method::Fft(kernel.clone())),
            CorrelationMethod::Separable => Some(Method::Separable(separable_terms(kernel, tol))),
            CorrelationMethod::Auto => None,
        };
        if let Some(method) = forced {
            return Self {
                ky,
                kx,
                center,
                method,
            };
        }
        let terms = separable_terms(kernel, tol);
        let separable_cost = terms.len() * (ky + kx);
        let method = if ky == 1 || kx == 1 || separable_cost * 2 <= ky * kx {
            if ky == 1 || kx == 1 {
                // A row or column kernel is its own single term.
                let w = kernel.weights().to_vec();
                let term = if ky == 1 {
                    (vec![1.0], w)
                } else {
                    (w, vec![1.0])
                };
                Method::Separable(vec![term])
            } else {
                Method::Separable(terms)
            }
        } else if ky * kx >= FFT_MIN_TAPS {
            Method::Fft(kernel.clone())
        } else {
            Method::Direct(kernel.clone())
        };
        Self {
            ky,
            kx,
            center,
            method,
        }
    }

    /// Separable from given factors (gaussian).
    pub(super) fn separable(wy: Vec<f64>, wx: Vec<f64>) -> Self {
        let (ky, kx) = (wy.len(), wx.len());
        Self {
            ky,
            kx,
            center: [ky / 2, kx / 2],
            method: Method::Separable(vec![(wy, wx)]),
        }
    }

    /// The same plan anchored at `center` (scipy's `origin` moved it).
    pub(super) fn at(self, center: [usize; 2]) -> Self {
        Self { center, ..self }
    }

    /// Values of scratch one CPU worker holds, and their size in bytes, for
    /// rows of `w` pixels of `c` channels whose values take `value_bytes`
    /// (`None`: the count overflowed).
    pub(super) fn scratch(&self, w: usize, c: usize, value_bytes: usize) -> (Option<u128>, usize) {
        let (w, c) = (w as u128, c as u128);
        let (ky, kx) = (self.ky as u128, self.kx as u128);
        let ext = (w + kx) * c;
        match &self.method {
            Method::Separable(terms) => {
                let ring = ky
                    .checked_mul(terms.len() as u128)
                    .and_then(|r| r.checked_mul(w * c));
                (ring.and_then(|r| r.checked_add(ext + w * c)), value_bytes)
            }
            Method::Direct(_) => ((ky + 1).checked_mul(ext), value_bytes),
            Method::Fft(_) => (super::fft::scratch_values(self.ky, self.kx), 16),
        }
    }

    /// For `-v`.
    pub(super) fn describe(&self) -> String {
        match &self.method {
            Method::Separable(t) if t.len() == 1 => {
                format!("separable {}x{} (two 1-D passes)", self.ky, self.kx)
            }
            Method::Separable(t) => format!(
                "low rank {}x{}: {} separable terms",
                self.ky,
                self.kx,
                t.len()
            ),
            Method::Direct(_) => format!("direct {}x{} correlation", self.ky, self.kx),
            Method::Fft(_) => format!("FFT tiles for a {}x{} kernel", self.ky, self.kx),
        }
    }
}

/// Runs `plan` on the CPU: blocks of output rows in parallel, each keeping
/// a ring of the x-pass rows (separable) or input rows (direct) its windows
/// need.
pub(super) fn run_cpu<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &Plan,
    modes: [BoundaryMode; 2],
    out: &mut [T],
) {
    if let Method::Fft(k) = &plan.method {
        fft::run(image, &fft::FftPlan::new(k, plan.center), modes, out);
        return;
    }
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let blocks = (rayon::current_num_threads() * 2).clamp(1, h);
    let rows_per_block = h.div_ceil(blocks);
    out.par_chunks_mut(rows_per_block * row_len)
        .enumerate()
        .for_each(|(b, dst)| {
            let r0 = b * rows_per_block;
            let rows = r0..(r0 + rows_per_block).min(h);
            block(image, plan, modes, rows, dst);
        });
}

/// A separable term in the image's precision.
type CastTerm<T> = (Vec<T>, Vec<T>);

fn block<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &Plan,
    modes: [BoundaryMode; 2],
    rows: std::ops::Range<usize>,
    dst: &mut [T],
) {
    let terms = match &plan.method {
        Method::Direct(k) | Method::Fft(k) => {
            return direct_block(image, plan, k, modes, rows, dst)
        }
        Method::Separable(t) => t,
    };
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let (ky, kx) = (plan.ky, plan.kx);
    let [top, left] = plan.center;
    let mode_y = modes[0];
    let mut ext = vec![T::default(); (w + kx - 1) * c];
    // Ring slot: one x-pass row per term.
    let n_terms = terms.len();
    let mut ring = vec![T::default(); ky * n_terms * row_len];
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let terms: Vec<CastTerm<T>> = terms.iter().map(|(a, b)| (cast(a), cast(b))).collect();
    let mut tmp = vec![T::default(); row_len];
    for t in 0..rows.len() + ky - 1 {
        let slot = t % ky;
        let src = boundary_index(rows.start as i64 - top as i64 + t as i64, h, mode_y);
        let row = src.map(|y| &image.data()[y * row_len..(y + 1) * row_len]);
        extend_row(row, (w, c), (kx, left), modes[1], cvals(modes), &mut ext);
        let slot_data = &mut ring[slot * n_terms * row_len..(slot + 1) * n_terms * row_len];
        for (k, (_, wx)) in terms.iter().enumerate() {
            fir_rows(
                &[&ext],
                wx,
                kx,
                c,
                &mut slot_data[k * row_len..(k + 1) * row_len],
            );
        }
        if t + 1 < ky {
            continue;
        }
        let k = t + 1 - ky;
        let out_row = &mut dst[k * row_len..(k + 1) * row_len];
        for (n, (wy, _)) in terms.iter().enumerate() {
            // The window's x-pass rows of this term, oldest first.
            let srcs: Vec<&[T]> = (0..ky)
                .map(|i| {
                    let base = (((t + 1 + i) % ky) * n_terms + n) * row_len;
                    &ring[base..base + row_len]
                })
                .collect();
            if n == 0 {
                fir_rows(&srcs, wy, 1, 0, out_row);
            } else {
                fir_rows(&srcs, wy, 1, 0, &mut tmp);
                for (o, &v) in out_row.iter_mut().zip(&tmp) {
                    *o = *o + v;
                }
            }
        }
    }
}

/// Direct correlation of a block, two output rows per step from a ring of
/// `ky + 1` extended input rows.
fn direct_block<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &Plan,
    kernel: &Kernel,
    modes: [BoundaryMode; 2],
    rows: std::ops::Range<usize>,
    dst: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let (ky, kx) = (plan.ky, plan.kx);
    let [top, left] = plan.center;
    let ext_len = (w + kx - 1) * c;
    let slots = ky + 1;
    let taps: Vec<T> = kernel.weights().iter().map(|&x| T::from_f64(x)).collect();
    let mut ring = vec![T::default(); slots * ext_len];
    let mut filled = 0usize;
    let mut ensure = |ring: &mut [T], upto: usize| {
        while filled < upto {
            let y = boundary_index(rows.start as i64 - top as i64 + filled as i64, h, modes[0]);
            let row = y.map(|y| &image.data()[y * row_len..(y + 1) * row_len]);
            let s = filled % slots;
            extend_row(
                row,
                (w, c),
                (kx, left),
                modes[1],
                cvals(modes),
                &mut ring[s * ext_len..(s + 1) * ext_len],
            );
            filled += 1;
        }
    };
    let n_out = rows.len();
    let mut k = 0;
    while k < n_out {
        let pair = k + 1 < n_out;
        let need = if pair { ky + 1 } else { ky };
        ensure(&mut ring, k + need);
        let srcs: Vec<&[T]> = (k..k + need)
            .map(|s| &ring[(s % slots) * ext_len..(s % slots + 1) * ext_len])
            .collect();
        if pair {
            let (a, b) = dst[k * row_len..(k + 2) * row_len].split_at_mut(row_len);
            fir_rows2(&srcs, &taps, kx, c, a, b);
            k += 2;
        } else {
            fir_rows(
                &srcs,
                &taps,
                kx,
                c,
                &mut dst[k * row_len..(k + 1) * row_len],
            );
            k += 1;
        }
    }
}

/// The y and x modes' constants in `T`, for [`extend_row`].
fn cvals<T: FilterValue>(modes: [BoundaryMode; 2]) -> [T; 2] {
    modes.map(|m| T::from_f64(m.cval()))
}
