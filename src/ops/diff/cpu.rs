//! The fused CPU passes: blocks of rows in parallel, every output row made
//! from a few input rows with whole-row (vectorisable) operations, in the
//! array's precision with numpy's operation order.

use rayon::prelude::*;

use super::coords::CoordAxis;
use super::{eigen2, CoordAxes, GradientOptions, GradientOut, HessianOut, Stencil};
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
struct Axis<'c, T> {
    /// Sample coordinates (numpy's non-uniform formulas) instead of `h`.
    coords: Option<&'c CoordAxis>,
    h: T,
    two_h: T,
    /// `1 / (2h)` when `2h` is a power of two: then `x · (1/2h)` is exactly
    /// `x / 2h` (scaling by a power of two rounds the same), and a multiply
    /// is several times cheaper than a division.
    inv_two_h: Option<T>,
    /// `1 / h` likewise.
    inv_h: Option<T>,
    /// Edge order 2, first edge: a·f0 + b·f1 + c·f2.
    first: [T; 3],
    /// Edge order 2, last edge: a·f[n−3] + b·f[n−2] + c·f[n−1].
    last: [T; 3],
    edge_order: u8,
    interior_only: bool,
    /// Write interior differences with streaming stores (huge outputs).
    stream: bool,
}

/// Outputs at least this large are written with streaming stores: an
/// ordinary store first reads its line from memory (read for ownership), so
/// an output far larger than the caches costs twice its bytes.
const STREAM_BYTES: usize = 64 << 20;

/// One float type's streamed `out[k] = (a[k] − b[k]) · r`: scalar up to a
/// 16-byte boundary of `out`, SSE2 lanes, scalar tail.
#[cfg(target_arch = "x86_64")]
macro_rules! stream_lanes {
    ($t:ty, $lanes:expr, $set1:ident, $load:ident, $sub:ident, $mul:ident, $stream:ident,
     $a:expr, $b:expr, $r:expr, $out:expr) => {{
        let n = $out.len().min($a.len()).min($b.len());
        let a: &[$t] = bytemuck::cast_slice(&$a[..n]);
        let b: &[$t] = bytemuck::cast_slice(&$b[..n]);
        let out: &mut [$t] = bytemuck::cast_slice_mut(&mut $out[..n]);
        // Exact for both types: an f32 widened and narrowed back.
        let r = $r.to_f64() as $t;
        let head = out.as_ptr().align_offset(16).min(n);
        for k in 0..head {
            out[k] = (a[k] - b[k]) * r;
        }
        let mut k = head;
        // SAFETY: SSE2 is part of x86_64; k + lanes <= n keeps every load
        // and store in bounds; out + k is 16-byte aligned (head aligned it).
        unsafe {
            let rv = $set1(r);
            while k + $lanes <= n {
                let d = $sub($load(a.as_ptr().add(k)), $load(b.as_ptr().add(k)));
                $stream(out.as_mut_ptr().add(k), $mul(d, rv));
                k += $lanes;
            }
        }
        for k in k..n {
            out[k] = (a[k] - b[k]) * r;
        }
    }};
}

/// `out[k] = (a[k] − b[k]) · r` with streaming stores (SSE2, the same IEEE
/// operations as the scalar loop); false where not available.
#[cfg(target_arch = "x86_64")]
fn stream_diff_mul<T: FilterValue>(a: &[T], b: &[T], r: T, out: &mut [T]) -> bool {
    use std::arch::x86_64::{
        _mm_loadu_pd, _mm_loadu_ps, _mm_mul_pd, _mm_mul_ps, _mm_set1_pd, _mm_set1_ps,
        _mm_stream_pd, _mm_stream_ps, _mm_sub_pd, _mm_sub_ps,
    };
    if T::IS_F64 {
        stream_lanes!(
            f64,
            2,
            _mm_set1_pd,
            _mm_loadu_pd,
            _mm_sub_pd,
            _mm_mul_pd,
            _mm_stream_pd,
            a,
            b,
            r,
            out
        );
        true
    } else if std::mem::size_of::<T>() == 4 {
        stream_lanes!(
            f32,
            4,
            _mm_set1_ps,
            _mm_loadu_ps,
            _mm_sub_ps,
            _mm_mul_ps,
            _mm_stream_ps,
            a,
            b,
            r,
            out
        );
        true
    } else {
        false
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn stream_diff_mul<T: FilterValue>(_: &[T], _: &[T], _: T, _: &mut [T]) -> bool {
    false
}

/// Orders this thread's streaming stores before its later ones (a rayon
/// task's end included).
fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// `out[k] = (a[k] − b[k]) / d` (multiplying by `inv` when it is exact;
/// with streaming stores when `stream`).
#[inline]
fn diff_div<T: FilterValue>(a: &[T], b: &[T], d: T, inv: Option<T>, stream: bool, out: &mut [T]) {
    match inv {
        Some(r) if stream && stream_diff_mul(a, b, r, out) => {}
        Some(r) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = (x - y) * r;
            }
        }
        None => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = (x - y) / d;
            }
        }
    }
}

impl<'c, T: FilterValue> Axis<'c, T> {
    fn new(h: f64, coords: Option<&'c CoordAxis>, edge_order: u8, interior_only: bool) -> Self {
        let t = T::from_f64;
        Self {
            coords,
            h: t(h),
            two_h: t(2.0 * h),
            inv_two_h: exact_inverse::<T>(2.0 * h),
            inv_h: exact_inverse::<T>(h),
            first: [t(-1.5 / h), t(2.0 / h), t(-0.5 / h)],
            last: [t(0.5 / h), t(-2.0 / h), t(1.5 / h)],
            edge_order,
            interior_only,
            stream: false,
        }
    }

    /// Row `i` of the derivative along rows, from `row(k)` (rows of the
    /// differentiated array), over `n` rows.
    fn along_rows<'r>(&self, i: usize, n: usize, row: impl Fn(usize) -> &'r [T], out: &mut [T])
    where
        T: 'r,
    {
        let interior = i > 0 && i + 1 < n;
        if let Some(cd) = self.coords {
            if interior || !(self.interior_only || n < 2) {
                cd.along_rows(i, n, row, out);
            } else {
                out.fill(T::default());
            }
            return;
        }
        if interior {
            // A multiply where 1/(2h) is exact (spacing 1: numpy's result).
            diff_div(
                row(i + 1),
                row(i - 1),
                self.two_h,
                self.inv_two_h,
                self.stream,
                out,
            );
        } else if self.interior_only || n < 2 {
            out.fill(T::default());
        } else if self.edge_order == 1 {
            let (p, q) = if i == 0 {
                (row(0), row(1))
            } else {
                (row(n - 2), row(n - 1))
            };
            diff_div(q, p, self.h, self.inv_h, false, out);
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
        if let Some(cd) = self.coords {
            cd.along_row(src, w, c, !(self.interior_only || w < 2), out);
            return;
        }
        if w >= 3 {
            let inner = &mut out[c..(w - 1) * c];
            diff_div(
                &src[2 * c..],
                &src[..(w - 2) * c],
                self.two_h,
                self.inv_two_h,
                self.stream,
                inner,
            );
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
    o: &GradientOptions<'_>,
    coords: CoordAxes,
    out: GradientOut<'_, T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    // Outputs far larger than the caches: interior differences streamed.
    let stream = h * row_len * std::mem::size_of::<T>() >= STREAM_BYTES && out.magnitude.is_none();
    let ay = Axis::<T> {
        stream,
        ..Axis::new(
            o.spacing[0],
            coords[0].as_ref(),
            o.edge_order,
            o.interior_only,
        )
    };
    let ax = Axis::<T> {
        stream,
        ..Axis::new(
            o.spacing[1],
            coords[1].as_ref(),
            o.edge_order,
            o.interior_only,
        )
    };
    let rows = block_rows(h);
    let blocks = h.div_ceil(rows);
    let per = split(vec![out.dy, out.dx, out.magnitude], rows * row_len, blocks);
    let f = image.data();
    let row = |k: usize| &f[k * row_len..(k + 1) * row_len];
    per.into_par_iter().enumerate().for_each(|(b, mut outs)| {
        let (mut dy, mut dx) = (vec![T::default(); row_len], vec![T::default(); row_len]);
        for y in b * rows..((b + 1) * rows).min(h) {
            let k = y - b * rows;
            let span = k * row_len..(k + 1) * row_len;
            // Straight into the outputs; scratch rows only for the magnitude.
            let (dy_out, rest) = outs.split_at_mut(1);
            let (dx_out, mag_out) = rest.split_at_mut(1);
            let want_mag = mag_out[0].is_some();
            let (want_dy, want_dx) = (dy_out[0].is_some(), dx_out[0].is_some());
            let dy_row: &mut [T] = match dy_out[0].as_deref_mut() {
                Some(o) => &mut o[span.clone()],
                None => &mut dy,
            };
            if want_mag || want_dy {
                ay.along_rows(y, h, row, dy_row);
            }
            let dx_row: &mut [T] = match dx_out[0].as_deref_mut() {
                Some(o) => &mut o[span.clone()],
                None => &mut dx,
            };
            if want_mag || want_dx {
                ax.along_row(row(y), w, c, dx_row);
            }
            if let Some(o) = mag_out[0].as_deref_mut() {
                magnitude(dy_row, dx_row, &mut o[span.clone()]);
            }
            if o.interior_only {
                let edge_row = y == 0 || y + 1 == h;
                for out in outs.iter_mut().flatten() {
                    zero_frame_row(&mut out[span.clone()], c, edge_row);
                }
            }
        }
        if stream {
            stream_fence();
        }
    });
}

/// With `interior_only`, the frame is 0 in every output: the whole row on
/// the first and last rows, else its first and last pixel.
fn zero_frame_row<T: FilterValue>(row: &mut [T], c: usize, edge_row: bool) {
    if edge_row {
        row.fill(T::default());
        return;
    }
    let n = row.len();
    row[..c.min(n)].fill(T::default());
    row[n.saturating_sub(c)..].fill(T::default());
}

pub(super) fn hessian<T: FilterValue>(
    image: ImageView<'_, T>,
    o: &GradientOptions<'_>,
    coords: CoordAxes,
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
        let mut scratch = Terms::new(row_len);
        let mut hess = Fused::new(image, o, &coords);
        for y in range.clone() {
            let k = y - range.start;
            let span = k * row_len..(k + 1) * row_len;
            let (terms_out, eig_out) = outs.split_at_mut(3);
            let eigen = eig_out[0].is_some();
            // Each term straight into its output row; scratch only when the
            // eigenvalues need a term that was not asked for.
            let Terms { dyy, dxy, dxx } = &mut scratch;
            let mut dest: Vec<Option<&mut [T]>> = terms_out
                .iter_mut()
                .zip([dyy, dxy, dxx])
                .map(|(o, s)| match o.as_deref_mut() {
                    Some(o) => Some(&mut o[span.clone()]),
                    None if eigen => Some(s.as_mut_slice()),
                    None => None,
                })
                .collect();
            match stencil {
                Stencil::Gradient => hess.gradient_rows(y, &mut dest),
                Stencil::Compact => compact_rows(image, o.spacing, y, &mut dest),
            }
            let (l1, l2) = eig_out.split_at_mut(1);
            if let (Some(l1), Some(l2), [Some(a), Some(bb), Some(d)]) =
                (l1[0].as_deref_mut(), l2[0].as_deref_mut(), &dest[..])
            {
                for i in 0..row_len {
                    let (e1, e2) = eigen2(a[i], bb[i], d[i]);
                    l1[span.start + i] = e1;
                    l2[span.start + i] = e2;
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
    ay: Axis<'a, T>,
    ax: Axis<'a, T>,
    ring: Vec<Vec<T>>,
    tags: [usize; 5],
    dx: Vec<T>,
}

impl<'a, T: FilterValue> Fused<'a, T> {
    fn new(image: ImageView<'a, T>, o: &GradientOptions<'_>, coords: &'a CoordAxes) -> Self {
        let n = image.width() * image.channels();
        Self {
            image,
            ay: Axis::new(o.spacing[0], coords[0].as_ref(), o.edge_order, false),
            ax: Axis::new(o.spacing[1], coords[1].as_ref(), o.edge_order, false),
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

    /// Row `y` of each requested term (`dest`: dyy, dxy, dxx).
    fn gradient_rows(&mut self, y: usize, dest: &mut [Option<&mut [T]>]) {
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
        if let Some(o) = dest[0].as_deref_mut() {
            self.ay.along_rows(y, h, |k| &ring[k % 5], o);
        }
        if let Some(o) = dest[1].as_deref_mut() {
            self.ax.along_row(&ring[y % 5], w, c, o);
        }
        if let Some(o) = dest[2].as_deref_mut() {
            let f = self.image.data();
            self.ax
                .along_row(&f[y * row_len..(y + 1) * row_len], w, c, &mut self.dx);
            self.ax.along_row(&self.dx, w, c, o);
        }
    }
}

/// The compact stencil's row `y` of each requested term (zero on the border).
fn compact_rows<T: FilterValue>(
    image: ImageView<'_, T>,
    [hy, hx]: [f64; 2],
    y: usize,
    dest: &mut [Option<&mut [T]>],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if y == 0 || y + 1 >= h || w < 3 {
        for d in dest.iter_mut().flatten() {
            d.fill(T::default());
        }
        return;
    }
    for d in dest.iter_mut().flatten() {
        d[..c].fill(T::default());
        d[(w - 1) * c..].fill(T::default());
    }
    let f = image.data();
    let row = |k: usize| &f[k * row_len..(k + 1) * row_len];
    let (up, mid, down) = (row(y - 1), row(y), row(y + 1));
    let two = T::from_f64(2.0);
    let inner = c..(w - 1) * c;
    if let [Some(a), Some(b), Some(d)] = dest {
        // All three: one sweep over the three input rows.
        let (dy, dxy, dx) = (
            Divisor::new(hy * hy),
            Divisor::new(4.0 * hy * hx),
            Divisor::new(hx * hx),
        );
        // Equal-length slices, so the loop runs without bounds checks.
        let n = inner.len();
        let (a, b, d) = (&mut a[c..c + n], &mut b[c..c + n], &mut d[c..c + n]);
        let (dn, md, upc) = (&down[c..c + n], &mid[c..c + n], &up[c..c + n]);
        let (dn_r, dn_l, up_r, up_l) = (
            &down[2 * c..2 * c + n],
            &down[..n],
            &up[2 * c..2 * c + n],
            &up[..n],
        );
        let (md_r, md_l) = (&mid[2 * c..2 * c + n], &mid[..n]);
        for i in 0..n {
            let m = two * md[i];
            a[i] = dy.apply(dn[i] - m + upc[i]);
            b[i] = dxy.apply(dn_r[i] - dn_l[i] - up_r[i] + up_l[i]);
            d[i] = dx.apply(md_r[i] - m + md_l[i]);
        }
        return;
    }
    if let Some(o) = dest[0].as_deref_mut() {
        let d = Divisor::new(hy * hy);
        for i in inner.clone() {
            o[i] = d.apply(down[i] - two * mid[i] + up[i]);
        }
    }
    if let Some(o) = dest[1].as_deref_mut() {
        let d = Divisor::new(4.0 * hy * hx);
        for i in inner.clone() {
            o[i] = d.apply(down[i + c] - down[i - c] - up[i + c] + up[i - c]);
        }
    }
    if let Some(o) = dest[2].as_deref_mut() {
        let d = Divisor::new(hx * hx);
        for i in inner {
            o[i] = d.apply(mid[i + c] - two * mid[i] + mid[i - c]);
        }
    }
}

/// Division by `v`, as a multiplication when `1/v` is exact (a power of two).
#[derive(Clone, Copy)]
struct Divisor<T> {
    v: T,
    inv: Option<T>,
}

impl<T: FilterValue> Divisor<T> {
    fn new(v: f64) -> Self {
        Self {
            v: T::from_f64(v),
            inv: exact_inverse(v),
        }
    }

    #[inline(always)]
    fn apply(self, x: T) -> T {
        match self.inv {
            Some(r) => x * r,
            None => x / self.v,
        }
    }
}

/// `1/v` in `T` when `v` is a power of two representable in `T` (then
/// `x · (1/v)` rounds exactly as `x / v`).
fn exact_inverse<T: FilterValue>(v: f64) -> Option<T> {
    let r = 1.0 / v;
    let pow2 = v.is_normal() && v.abs().to_bits() & ((1u64 << 52) - 1) == 0;
    let t = T::from_f64;
    (pow2 && t(r).to_f64() == r && t(v).to_f64() == v).then(|| t(r))
}
