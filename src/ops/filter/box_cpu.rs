//! Box sums on the CPU by running sums, cost independent of the window size.
//!
//! Each task owns a block of output rows. For every input row its window
//! needs (boundary rows mapped by the mode), a running sum along x gives the
//! row's window sums, kept in a ring of `ny` rows; a running sum along y over
//! the ring gives the 2-D window sums of an output row. Everything is summed
//! in f64, and both running sums restart from a direct sum every
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

/// Window sums of `feature(value)` over `size = [ny, nx]` windows centred as
/// scipy's `uniform_filter` (`size / 2` before, the rest after), handed to
/// `emit(sums, outputs)` row by row (`sums`: `width × channels × F`, feature
/// innermost) with the matching rows of `outputs`.
pub(super) fn box_sums<T, const F: usize, Fe, Em>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
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
            block(image, size, mode, feature, rows, &mut outs, emit);
        });
}

fn block<T, const F: usize, Fe, Em>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    mode: BoundaryMode,
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
    let n = row_len * F;
    let top = (ny / 2) as i64;
    let mut ring = vec![0f64; ny * n];
    let mut acc = vec![0f64; n];
    let mut sums = vec![0f64; n];
    let mut ext = vec![0f64; (w + nx - 1) * c * F];
    let steps = rows.len() + ny - 1;
    for t in 0..steps {
        let src = boundary_index(rows.start as i64 - top + t as i64, h, mode);
        let slot = t % ny;
        let row = src.map(|y| &image.data()[y * row_len..(y + 1) * row_len]);
        extend_row(row, w, c, nx, mode, feature, &mut ext);
        row_sums(&ext, w, c * F, nx, &mut ring[slot * n..(slot + 1) * n]);
        if t + 1 < ny {
            add_into(&mut acc, &ring[slot * n..(slot + 1) * n]);
            continue;
        }
        let k = t + 1 - ny;
        let oldest = (t + 1) % ny;
        if k % RESTART == 0 {
            // All ny slots hold exactly this output's window.
            sums.fill(0.0);
            for s in ring.chunks_exact(n) {
                add_into(&mut sums, s);
            }
            for ((a, &s), &o) in acc
                .iter_mut()
                .zip(&sums)
                .zip(&ring[oldest * n..(oldest + 1) * n])
            {
                *a = s - o;
            }
        } else {
            let newest = &ring[slot * n..(slot + 1) * n];
            let old = &ring[oldest * n..(oldest + 1) * n];
            for (((s, a), &nw), &o) in sums.iter_mut().zip(acc.iter_mut()).zip(newest).zip(old) {
                let v = *a + nw;
                *s = v;
                *a = v - o;
            }
        }
        let mut out_rows: Vec<&mut [T]> = outs
            .iter_mut()
            .map(|o| &mut o[k * row_len..(k + 1) * row_len])
            .collect();
        emit(&sums, &mut out_rows);
    }
}

fn add_into(acc: &mut [f64], row: &[f64]) {
    for (a, &r) in acc.iter_mut().zip(row) {
        *a += r;
    }
}

/// The row's features extended by the mode to `w + nx − 1` positions
/// (`None`: a row of the constant).
fn extend_row<T, const F: usize, Fe>(
    row: Option<&[T]>,
    w: usize,
    c: usize,
    nx: usize,
    mode: BoundaryMode,
    feature: &Fe,
    ext: &mut [f64],
) where
    T: FilterValue,
    Fe: Fn(f64) -> [f64; F],
{
    let cf = c * F;
    let left = nx / 2;
    let Some(row) = row else {
        let k = feature(mode.cval());
        for dst in ext.chunks_exact_mut(F) {
            dst.copy_from_slice(&k);
        }
        return;
    };
    // Interior: a straight copy through the feature.
    let inner = &mut ext[left * cf..(left + w) * cf];
    for (dst, &v) in inner.chunks_exact_mut(F).zip(row) {
        dst.copy_from_slice(&feature(v.to_f64()));
    }
    // Borders: the mode decides.
    let constant = feature(mode.cval());
    for xe in (0..left).chain(left + w..w + nx - 1) {
        let src = boundary_index(xe as i64 - left as i64, w, mode);
        for ch in 0..c {
            let f = match src {
                Some(x) => feature(row[x * c + ch].to_f64()),
                None => constant,
            };
            ext[(xe * c + ch) * F..(xe * c + ch + 1) * F].copy_from_slice(&f);
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
