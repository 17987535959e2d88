//! Correlation with any 2-D kernel: the plan (separable terms found by SVD,
//! or the direct 2-D sum) and its CPU executor.

use rayon::prelude::*;

use super::fir::fir_rows;
use super::kernel::{separable_terms, Kernel, Term};
use super::{boundary_index, BoundaryMode, FilterValue};
use crate::array::ImageView;

/// How a correlation runs.
#[derive(Debug, Clone)]
pub(super) enum Method {
    /// A sum of `wy ⊗ wx` terms, each a pass along x then along y.
    Separable(Vec<Term>),
    /// Every tap of the kernel per output.
    Direct(Kernel),
}

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
    /// The cheaper of separable terms (when the kernel's rank allows, to
    /// `tol` of its largest singular value) and the direct sum.
    pub(super) fn new(kernel: &Kernel, center: [usize; 2], tol: f64) -> Self {
        let (ky, kx) = (kernel.height(), kernel.width());
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
        }
    }
}

/// Runs `plan` on the CPU: blocks of output rows in parallel, each keeping
/// a ring of the input rows (direct) or x-pass rows (separable) its
/// windows need.
pub(super) fn run_cpu<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &Plan,
    mode: BoundaryMode,
    out: &mut [T],
) {
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
            block(image, plan, mode, rows, dst);
        });
}

/// A separable term in the image's precision.
type CastTerm<T> = (Vec<T>, Vec<T>);

fn block<T: FilterValue>(
    image: ImageView<'_, T>,
    plan: &Plan,
    mode: BoundaryMode,
    rows: std::ops::Range<usize>,
    dst: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let (ky, kx) = (plan.ky, plan.kx);
    let [top, left] = plan.center;
    let ext_len = (w + kx - 1) * c;
    let cval = T::from_f64(mode.cval());
    let mut ext = vec![T::default(); ext_len];
    // Ring slots: extended rows (direct) or one x-pass row per term.
    let (n_terms, slot_len) = match &plan.method {
        Method::Direct(_) => (1, ext_len),
        Method::Separable(t) => (t.len(), row_len),
    };
    let mut ring = vec![T::default(); ky * n_terms * slot_len];
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let (taps2d, terms): (Vec<T>, Vec<CastTerm<T>>) = match &plan.method {
        Method::Direct(k) => (cast(k.weights()), Vec::new()),
        Method::Separable(t) => (
            Vec::new(),
            t.iter().map(|(a, b)| (cast(a), cast(b))).collect(),
        ),
    };
    let mut tmp = vec![T::default(); row_len];
    for t in 0..rows.len() + ky - 1 {
        let slot = t % ky;
        let src = boundary_index(rows.start as i64 - top as i64 + t as i64, h, mode);
        let row = src.map(|y| &image.data()[y * row_len..(y + 1) * row_len]);
        let slot_data = &mut ring[slot * n_terms * slot_len..(slot + 1) * n_terms * slot_len];
        match &plan.method {
            Method::Direct(_) => extend_row(row, w, c, kx, left, mode, cval, slot_data),
            Method::Separable(_) => {
                extend_row(row, w, c, kx, left, mode, cval, &mut ext);
                for (k, (_, wx)) in terms.iter().enumerate() {
                    let out = &mut slot_data[k * slot_len..(k + 1) * slot_len];
                    fir_rows(&[&ext], wx, kx, c, out);
                }
            }
        }
        if t + 1 < ky {
            continue;
        }
        let k = t + 1 - ky;
        let out_row = &mut dst[k * row_len..(k + 1) * row_len];
        // The window's rows, oldest first.
        let order: Vec<usize> = (0..ky).map(|i| (t + 1 + i) % ky).collect();
        match &plan.method {
            Method::Direct(_) => {
                let srcs: Vec<&[T]> = order
                    .iter()
                    .map(|&s| &ring[s * slot_len..(s + 1) * slot_len])
                    .collect();
                fir_rows(&srcs, &taps2d, kx, c, out_row);
            }
            Method::Separable(_) => {
                for (n, (wy, _)) in terms.iter().enumerate() {
                    let srcs: Vec<&[T]> = order
                        .iter()
                        .map(|&s| {
                            let base = (s * n_terms + n) * slot_len;
                            &ring[base..base + slot_len]
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
    }
}

/// The row extended by the mode to `w + kx − 1` positions, `left` of them
/// before column 0 (`None`: a row of the constant).
#[allow(clippy::too_many_arguments)]
fn extend_row<T: FilterValue>(
    row: Option<&[T]>,
    w: usize,
    c: usize,
    kx: usize,
    left: usize,
    mode: BoundaryMode,
    cval: T,
    ext: &mut [T],
) {
    let Some(row) = row else {
        ext.fill(cval);
        return;
    };
    ext[left * c..(left + w) * c].copy_from_slice(row);
    for xe in (0..left).chain(left + w..w + kx - 1) {
        let dst = &mut ext[xe * c..(xe + 1) * c];
        match boundary_index(xe as i64 - left as i64, w, mode) {
            Some(x) => dst.copy_from_slice(&row[x * c..(x + 1) * c]),
            None => dst.fill(cval),
        }
    }
}
