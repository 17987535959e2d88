//! Box sums on the CPU by running sums, cost independent of the window size.
//!
//! Each task owns a block of output rows. Going down its rows it keeps the
//! window's column sums (each column's sum over the `ny` rows of the
//! window, boundary rows mapped by the mode): one row enters and one leaves
//! per step, a contiguous, vectorisable update reading the input rows
//! directly. A running sum along x over the column sums (extended at the
//! sides by the mode) gives the output row's window sums. Everything is
//! summed in f64, and both running sums restart from a direct sum every
//! [`RESTART`] steps, so rounding cannot drift along 5000 columns or rows.
//!
//! `F` features are summed per value at once (the value itself for box
//! filters; the shifted value and its square for local variance). A running
//! sum along x is a chain of dependent additions, so rows with fewer than
//! four lanes (channels × features) are cut into four segments summed in
//! lockstep.

use rayon::prelude::*;

use super::{boundary_index, BoundaryMode, FilterValue};
use crate::array::ImageView;

/// Running sums restart from a direct sum this often.
const RESTART: usize = 128;
/// Segments of a row summed in lockstep when it has few lanes.
const SEGMENTS: usize = 4;

/// Window sums of `feature(value)` over `size = [ny, nx]` windows anchored
/// at `anchor` (scipy's `uniform_filter`: `size / 2 + origin` before, the
/// rest after; rows by the y mode, columns by the x mode), handed to
/// `emit(sums, outputs)` row by row (`sums`: `width × channels × F`, feature
/// innermost) with the matching rows of `outputs`.
pub(super) fn box_sums<T, const F: usize, Fe, Em>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    (anchor, modes): ([usize; 2], [BoundaryMode; 2]),
    feature: &Fe,
    outputs: Vec<&mut [T]>,
    emit: &Em,
) where
    T: FilterValue,
    Fe: Fn(f64) -> [f64; F] + Sync,
    Em: Fn(&[f64], &mut [&mut [T]]) + Sync,
{
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let blocks = (rayon::current_num_threads() * 2).clamp(1, h);
    let rows_per_block = h.div_ceil(blocks);
    let mut per_block: Vec<Vec<&mut [T]>> = (0..h.div_ceil(rows_per_block))
        .map(|_| Vec::new())
        .collect();
    for out in outputs {
        for (b, chunk) in out.chunks_mut(rows_per_block * row_len).enumerate() {
            per_block[b].push(chunk);
        }
    }
    per_block
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut outs)| {
            let rows = b * rows_per_block..((b + 1) * rows_per_block).min(h);
            block(image, size, (anchor, modes), feature, rows, &mut outs, emit);
        });
}

fn block<T, const F: usize, Fe, Em>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    ([top, left], [mode_y, mode_x]): ([usize; 2], [BoundaryMode; 2]),
    feature: &Fe,
    rows: std::ops::Range<usize>,
    outs: &mut [&mut [T]],
    emit: &Em,
) where
    T: FilterValue,
    Fe: Fn(f64) -> [f64; F] + Sync,
    Em: Fn(&[f64], &mut [&mut [T]]) + Sync,
{
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let lanes = c * F;
    let top = top as i64;
    let constant = feature(mode_y.cval());
    // Outside the array along x, constant mode reads the constant in all
    // `ny` rows of the window (scipy's separable passes: the row pass's
    // result is padded with the constant).
    let constant_column = feature(mode_x.cval()).map(|k| k * ny as f64);
    let row_at = |y: i64| {
        boundary_index(y, h, mode_y).map(|y| &image.data()[y * row_len..(y + 1) * row_len])
    };
    // The window's column sums live in `ext`'s interior; its borders are
    // filled from them by the mode before the sums along x.
    let mut ext = vec![0f64; (w + nx - 1) * lanes];
    let mut sums = vec![0f64; row_len * F];
    for (k, y) in rows.enumerate() {
        let first = y as i64 - top;
        let columns = &mut ext[left * lanes..(left + w) * lanes];
        if k % RESTART == 0 {
            columns.fill(0.0);
            for dy in 0..ny as i64 {
                add_row(columns, row_at(first + dy), feature, &constant);
            }
        } else {
            slide(
                columns,
                row_at(first + ny as i64 - 1),
                row_at(first - 1),
                feature,
                &constant,
            );
        }
        fill_borders(&mut ext, (w, c, F), (nx, left), mode_x, &constant_column);
        row_sums(&ext, w, lanes, nx, &mut sums);
        let mut out_rows: Vec<&mut [T]> = outs
            .iter_mut()
            .map(|o| &mut o[k * row_len..(k + 1) * row_len])
            .collect();
        emit(&sums, &mut out_rows);
    }
}

/// `columns += feature(row)` (`None`: a row of the constant).
#[inline(always)]
fn add_row<T, const F: usize, Fe>(
    columns: &mut [f64],
    row: Option<&[T]>,
    feature: &Fe,
    constant: &[f64; F],
) where
    T: FilterValue,
    Fe: Fn(f64) -> [f64; F],
{
    match row {
        Some(row) => {
            for (col, &v) in columns.chunks_exact_mut(F).zip(row) {
                let f = feature(v.to_f64());
                for (c, f) in col.iter_mut().zip(f) {
                    *c += f;
                }
            }
        }
        None => {
            for col in columns.chunks_exact_mut(F) {
                for (c, f) in col.iter_mut().zip(constant) {
                    *c += f;
                }
            }
        }
    }
}

/// Moves the column sums down one row: `columns += feature(entering) −
/// feature(leaving)`.
#[inline(always)]
fn slide<T, const F: usize, Fe>(
    columns: &mut [f64],
    entering: Option<&[T]>,
    leaving: Option<&[T]>,
    feature: &Fe,
    constant: &[f64; F],
) where
    T: FilterValue,
    Fe: Fn(f64) -> [f64; F],
{
    if let (Some(new), Some(old)) = (entering, leaving) {
        for ((col, &a), &b) in columns.chunks_exact_mut(F).zip(new).zip(old) {
            let (fa, fb) = (feature(a.to_f64()), feature(b.to_f64()));
            for i in 0..F {
                col[i] += fa[i] - fb[i];
            }
        }
        return;
    }
    let value = |row: Option<&[T]>, x: usize| row.map_or(*constant, |r| feature(r[x].to_f64()));
    for (x, col) in columns.chunks_exact_mut(F).enumerate() {
        let (fa, fb) = (value(entering, x), value(leaving, x));
        for i in 0..F {
            col[i] += fa[i] - fb[i];
        }
    }
}

/// The column sums extended by the mode to `w + nx − 1` positions: the
/// interior (`left` positions in: the anchor) is in place, the borders are
/// written.
#[inline(always)]
fn fill_borders(
    ext: &mut [f64],
    (w, c, f): (usize, usize, usize),
    (nx, left): (usize, usize),
    mode: BoundaryMode,
    constant_column: &[f64],
) {
    let lanes = c * f;
    for xe in (0..left).chain(left + w..w + nx - 1) {
        let dst = xe * lanes;
        match boundary_index(xe as i64 - left as i64, w, mode) {
            Some(x) => ext.copy_within((left + x) * lanes..(left + x + 1) * lanes, dst),
            None => {
                for lane in ext[dst..dst + lanes].chunks_exact_mut(f) {
                    lane.copy_from_slice(constant_column);
                }
            }
        }
    }
}

/// Window sums along x: `out[x] = Σ_{j<nx} ext[x + j]` for every lane
/// (`lanes` values per position).
fn row_sums(ext: &[f64], w: usize, lanes: usize, nx: usize, out: &mut [f64]) {
    match lanes {
        1 => row_sums_segmented::<1>(ext, w, nx, out),
        2 => row_sums_segmented::<2>(ext, w, nx, out),
        3 => row_sums_segmented::<3>(ext, w, nx, out),
        _ => row_sums_plain(ext, 0..w, lanes, nx, out),
    }
}

/// Running sums over positions `xs`, `lanes` independent chains.
fn row_sums_plain(
    ext: &[f64],
    xs: std::ops::Range<usize>,
    lanes: usize,
    nx: usize,
    out: &mut [f64],
) {
    let mut s = vec![0f64; lanes];
    for (i, x) in xs.enumerate() {
        if i % RESTART == 0 {
            direct_sum(ext, x, lanes, nx, &mut s);
        } else {
            let (new, old) = ((x + nx - 1) * lanes, (x - 1) * lanes);
            for k in 0..lanes {
                s[k] += ext[new + k] - ext[old + k];
            }
        }
        out[x * lanes..(x + 1) * lanes].copy_from_slice(&s);
    }
}

fn direct_sum(ext: &[f64], x: usize, lanes: usize, nx: usize, s: &mut [f64]) {
    s.fill(0.0);
    for j in 0..nx {
        for k in 0..lanes {
            s[k] += ext[(x + j) * lanes + k];
        }
    }
}

/// Four segments of the row in lockstep (four independent addition chains
/// per lane), the remainder after them plainly.
fn row_sums_segmented<const L: usize>(ext: &[f64], w: usize, nx: usize, out: &mut [f64]) {
    let seg = w / SEGMENTS;
    if seg < 2 * RESTART.min(64) {
        row_sums_plain(ext, 0..w, L, nx, out);
        return;
    }
    let mut s = [[0f64; L]; SEGMENTS];
    for i in 0..seg {
        if i % RESTART == 0 {
            for (k, sk) in s.iter_mut().enumerate() {
                direct_sum(ext, k * seg + i, L, nx, sk);
            }
        } else {
            for (k, sk) in s.iter_mut().enumerate() {
                let x = k * seg + i;
                let (new, old) = ((x + nx - 1) * L, (x - 1) * L);
                for l in 0..L {
                    sk[l] += ext[new + l] - ext[old + l];
                }
            }
        }
        for (k, sk) in s.iter().enumerate() {
            let x = k * seg + i;
            out[x * L..(x + 1) * L].copy_from_slice(sk);
        }
    }
    row_sums_plain(ext, SEGMENTS * seg..w, L, nx, out);
}
