//! The fused CPU passes: blocks of rows in parallel, every output row made
//! from a few input rows with whole-row (vectorisable) operations, in the
//! array's precision with numpy's operation order.

use rayon::prelude::*;

use super::{eigen2, GradientOptions, GradientOut, HessianOut, Stencil};
use crate::array::ImageView;
use crate::ops::filter::FilterValue;

/// Each output's rows for one block (`None`: not asked for).
type Block<'a, T> = Vec<Option<&'a mut [T]>>;

/// Splits optional outputs into per-block row ranges.
fn split<'a, T>(
    outs: Vec<Option<&'a mut [T]>>,
    block_len: usize,
    blocks: usize,
) -> Vec<Block<'a, T>> {
    let mut per: Vec<Block<'a, T>> = (0..blocks).map(|_| Vec::new()).collect();
    for out in outs {
        match out {
            Some(o) => {
                for (b, chunk) in o.chunks_mut(block_len).enumerate() {
                    per[b].push(Some(chunk));
                }
            }
            None => per.iter_mut().for_each(|p| p.push(None)),
        }
    }
    per
}

fn block_rows(h: usize) -> usize {
    h.div_ceil((rayon::current_num_threads() * 4).clamp(1, h.max(1)))
        .max(1)
}

/// One axis's difference formulas, numpy's: coefficients in the array's type.
#[derive(Clone, Copy)]
struct Axis<T> {
    h: T,
    two_h: T,
    /// Edge order 2, first edge: a·f0 + b·f1 + c·f2.
    first: [T; 3],
    /// Edge order 2, last edge: a·f[n−3] + b·f[n−2] + c·f[n−1].
    last: [T; 3],
    edge_order: u8,
    interior_only: bool,
}

impl<T: FilterValue> Axis<T> {
    fn new(h: f64, edge_order: u8, interior_only: bool) -> Self {
        let t = T::from_f64;
        Self {
            h: t(h),
            two_h: t(2.0 * h),
            first: [t(-1.5 / h), t(2.0 / h), t(-0.5 / h)],
            last: [t(0.5 / h), t(-2.0 / h), t(1.5 / h)],
            edge_order,
            interior_only,
        }
    }

    /// Row `i` of the derivative along rows, from `row(k)` (rows of the
    /// differentiated array), over `n` rows.
    fn along_rows<'r>(&self, i: usize, n: usize, row: impl Fn(usize) -> &'r [T], out: &mut [T])
    where
        T: 'r,
    {
        if i > 0 && i + 1 < n {
            let (p, q) = (row(i - 1), row(i + 1));
            for ((o, &a), &b) in out.iter_mut().zip(q).zip(p) {
                *o = (a - b) / self.two_h;
            }
        } else if self.interior_only || n < 2 {
            out.fill(T::default());
        } else if self.edge_order == 1 {
            let (p, q) = if i == 0 {
                (row(0), row(1))
            } else {
                (row(n - 2), row(n - 1))
            };
            for ((o, &a), &b) in out.iter_mut().zip(q).zip(p) {
                *o = (a - b) / self.h;
            }
        } else {
            let ([a, b, c], r) = if i == 0 {
                (self.first, [row(0), row(1), row(2)])
            } else {
                (self.last, [row(n - 3), row(n - 2), row(n - 1)])
            };
            for (k, o) in out.iter_mut().enumerate() {
                *o = a * r[0][k] + b * r[1][k] + c * r[2][k];
            }
        }
    }

    /// The derivative along x of one row of `w` positions × `c` channels.
    fn along_row(&self, src: &[T], w: usize, c: usize, out: &mut [T]) {
        if w >= 3 {
            let inner = &mut out[c..(w - 1) * c];
            for ((o, &a), &b) in inner.iter_mut().zip(&src[2 * c..]).zip(&src[..(w - 2) * c]) {
                *o = (a - b) / self.two_h;
            }
        }
        for ch in 0..c {
            let at = |x: usize| src[x * c + ch];
            let (first, last) = if self.interior_only || w < 2 {
                (T::default(), T::default())
            } else if self.edge_order == 1 {
                ((at(1) - at(0)) / self.h, (at(w - 1) - at(w - 2)) / self.h)
            } else {
                let [a, b, cc] = self.first;
                let [d, e, f] = self.last;
                (
                    a * at(0) + b * at(1) + cc * at(2),
                    d * at(w - 3) + e * at(w - 2) + f * at(w - 1),
                )
            };
            if w >= 1 {
                out[ch] = first;
            }
            if w >= 2 {
                out[(w - 1) * c + ch] = last;
            }
        }
    }
}

fn magnitude<T: FilterValue>(dy: &[T], dx: &[T], out: &mut [T]) {
    for ((o, &a), &b) in out.iter_mut().zip(dy).zip(dx) {
        *o = T::from_f64((a * a + b * b).to_f64().sqrt());
    }
}

pub(super) fn gradient<T: FilterValue>(
    image: ImageView<'_, T>,
    o: &GradientOptions,
    out: GradientOut<'_, T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let ay = Axis::<T>::new(o.spacing[0], o.edge_order, o.interior_only);
    let ax = Axis::<T>::new(o.spacing[1], o.edge_order, o.interior_only);
    let rows = block_rows(h);
    let blocks = h.div_ceil(rows);
    let per = split(vec![out.dy, out.dx, out.magnitude], rows * row_len, blocks);
    let f = image.data();
    let row = |k: usize| &f[k * row_len..(k + 1) * row_len];
    per.into_par_iter().enumerate().for_each(|(b, mut outs)| {
        let (mut dy, mut dx) = (vec![T::default(); row_len], vec![T::default(); row_len]);
        let want_mag = outs[2].is_some();
        for y in b * rows..((b + 1) * rows).min(h) {
            let k = y - b * rows;
            let span = k * row_len..(k + 1) * row_len;
            if outs[0].is_some() || want_mag {
                ay.along_rows(y, h, row, &mut dy);
            }
            if outs[1].is_some() || want_mag {
                ax.along_row(row(y), w, c, &mut dx);
            }
            if let Some(o) = outs[0].as_deref_mut() {
                o[span.clone()].copy_from_slice(&dy);
            }
            if let Some(o) = outs[1].as_deref_mut() {
                o[span.clone()].copy_from_slice(&dx);
            }
            if let Some(o) = outs[2].as_deref_mut() {
                magnitude(&dy, &dx, &mut o[span]);
            }
        }
    });
}

pub(super) fn hessian<T: FilterValue>(
    image: ImageView<'_, T>,
    o: &GradientOptions,
    stencil: Stencil,
    out: HessianOut<'_, T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let rows = block_rows(h);
    let blocks = h.div_ceil(rows);
    let (e1, e2) = match out.eigen {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let per = split(
        vec![out.dyy, out.dxy, out.dxx, e1, e2],
        rows * row_len,
        blocks,
    );
    per.into_par_iter().enumerate().for_each(|(b, mut outs)| {
        let range = b * rows..((b + 1) * rows).min(h);
        let mut terms = Terms::new(row_len);
        let mut hess = Fused::new(image, o);
        for y in range.clone() {
            let k = y - range.start;
            match stencil {
                Stencil::Gradient => hess.gradient_rows(y, &mut terms),
                Stencil::Compact => compact_rows(image, o.spacing, y, &mut terms),
            }
            let span = k * row_len..(k + 1) * row_len;
            for (slot, src) in [&terms.dyy, &terms.dxy, &terms.dxx].into_iter().enumerate() {
                if let Some(o) = outs[slot].as_deref_mut() {
                    o[span.clone()].copy_from_slice(src);
                }
            }
            if outs[3].is_some() {
                let (hi, lo) = outs.split_at_mut(4);
                let (l1, l2) = (hi[3].as_deref_mut(), lo[0].as_deref_mut());
                if let (Some(l1), Some(l2)) = (l1, l2) {
                    for i in 0..row_len {
                        let (a, bb) = eigen2(terms.dyy[i], terms.dxy[i], terms.dxx[i]);
                        l1[span.start + i] = a;
                        l2[span.start + i] = bb;
                    }
                }
            }
        }
    });
}

/// One output row of each Hessian term.
struct Terms<T> {
    dyy: Vec<T>,
    dxy: Vec<T>,
    dxx: Vec<T>,
}

impl<T: FilterValue> Terms<T> {
    fn new(n: usize) -> Self {
        Self {
            dyy: vec![T::default(); n],
            dxy: vec![T::default(); n],
            dxx: vec![T::default(); n],
        }
    }
}

/// numpy.gradient twice, fused: `dy` rows are computed once each into a
/// ring of the five a row's second differences can touch.
struct Fused<'a, T> {
    image: ImageView<'a, T>,
    ay: Axis<T>,
    ax: Axis<T>,
    ring: Vec<Vec<T>>,
    tags: [usize; 5],
    dx: Vec<T>,
}

impl<'a, T: FilterValue> Fused<'a, T> {
    fn new(image: ImageView<'a, T>, o: &GradientOptions) -> Self {
        let n = image.width() * image.channels();
        Self {
            image,
            ay: Axis::new(o.spacing[0], o.edge_order, false),
            ax: Axis::new(o.spacing[1], o.edge_order, false),
            ring: (0..5).map(|_| vec![T::default(); n]).collect(),
            tags: [usize::MAX; 5],
            dx: vec![T::default(); n],
        }
    }

    /// Makes sure the dy row `y` is in the ring.
    fn ensure(&mut self, y: usize) {
        let slot = y % 5;
        if self.tags[slot] == y {
            return;
        }
        let (h, row_len) = (
            self.image.height(),
            self.image.width() * self.image.channels(),
        );
        let f = self.image.data();
        let row = |k: usize| &f[k * row_len..(k + 1) * row_len];
        self.ay.along_rows(y, h, row, &mut self.ring[slot]);
        self.tags[slot] = y;
    }

    fn gradient_rows(&mut self, y: usize, t: &mut Terms<T>) {
        let (h, w, c) = (
            self.image.height(),
            self.image.width(),
            self.image.channels(),
        );
        let row_len = w * c;
        // The dy rows d/dy of dy at row y reads.
        let needed: Vec<usize> = if y > 0 && y + 1 < h {
            vec![y - 1, y, y + 1]
        } else if self.ay.edge_order == 1 || h < 3 {
            vec![y.saturating_sub(1), y, (y + 1).min(h - 1)]
        } else if y == 0 {
            vec![0, 1, 2]
        } else {
            vec![h - 3, h - 2, h - 1]
        };
        for &k in &needed {
            self.ensure(k);
        }
        let ring = &self.ring;
        self.ay.along_rows(y, h, |k| &ring[k % 5], &mut t.dyy);
        self.ax.along_row(&ring[y % 5], w, c, &mut t.dxy);
        let f = self.image.data();
        self.ax
            .along_row(&f[y * row_len..(y + 1) * row_len], w, c, &mut self.dx);
        self.ax.along_row(&self.dx, w, c, &mut t.dxx);
    }
}

/// The compact stencil's row `y` (zero on the border).
fn compact_rows<T: FilterValue>(
    image: ImageView<'_, T>,
    [hy, hx]: [f64; 2],
    y: usize,
    t: &mut Terms<T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    t.dyy.fill(T::default());
    t.dxy.fill(T::default());
    t.dxx.fill(T::default());
    if y == 0 || y + 1 >= h || w < 3 {
        return;
    }
    let f = image.data();
    let row = |k: usize| &f[k * row_len..(k + 1) * row_len];
    let (up, mid, down) = (row(y - 1), row(y), row(y + 1));
    let (two, hy2, hx2, hxy4) = (
        T::from_f64(2.0),
        T::from_f64(hy * hy),
        T::from_f64(hx * hx),
        T::from_f64(4.0 * hy * hx),
    );
    for i in c..(w - 1) * c {
        let m = mid[i];
        t.dyy[i] = (down[i] - two * m + up[i]) / hy2;
        t.dxx[i] = (mid[i + c] - two * m + mid[i - c]) / hx2;
        t.dxy[i] = (down[i + c] - down[i - c] - up[i + c] + up[i - c]) / hxy4;
    }
}
