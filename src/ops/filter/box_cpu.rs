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
//! filters; the shifted value and its square for local variance).

use rayon::prelude::*;

use super::{boundary_index, BoundaryMode, FilterValue};
use crate::array::ImageView;

/// Running sums restart from a direct sum this often.
const RESTART: usize = 128;

/// One output row: the window sums (`width × channels × F`, feature
/// innermost) and the output rows to fill (one slice per output array).
pub(super) type Emit<'e, T> = dyn Fn(&[f64], &mut [&mut [T]]) + Sync + 'e;

/// Window sums of `feature(value)` over `size = [ny, nx]` windows centred as
/// scipy's `uniform_filter` (`size / 2` before, the rest after), handed to
/// `emit` row by row with the matching rows of `outputs`.
pub(super) fn box_sums<T: FilterValue, const F: usize>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
    feature: &(dyn Fn(f64) -> [f64; F] + Sync),
    outputs: Vec<&mut [T]>,
    emit: &Emit<'_, T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let blocks = (rayon::current_num_threads() * 2).clamp(1, h);
    let rows_per_block = h.div_ceil(blocks);
    // Per block, the block's rows of every output.
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

fn block<T: FilterValue, const F: usize>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    mode: BoundaryMode,
    feature: &(dyn Fn(f64) -> [f64; F] + Sync),
    rows: std::ops::Range<usize>,
    outs: &mut [&mut [T]],
    emit: &Emit<'_, T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let sums_len = row_len * F;
    let top = (ny / 2) as i64;
    let mut ring = vec![0f64; ny * sums_len];
    let mut acc = vec![0f64; sums_len];
    let mut ext = vec![0f64; (w + nx - 1) * c * F];
    let steps = rows.len() + ny - 1;
    for t in 0..steps {
        let src = boundary_index(rows.start as i64 - top + t as i64, h, mode);
        let slot = t % ny;
        let row = src.map(|y| &image.data()[y * row_len..(y + 1) * row_len]);
        row_sums(
            row,
            w,
            c,
            nx,
            mode,
            feature,
            &mut ext,
            &mut ring[slot * sums_len..(slot + 1) * sums_len],
        );
        if t + 1 < ny {
            add_into(&mut acc, &ring[slot * sums_len..(slot + 1) * sums_len]);
            continue;
        }
        let k = t + 1 - ny;
        if k % RESTART == 0 {
            // All ny slots hold exactly this output's window.
            acc.fill(0.0);
            for s in ring.chunks_exact(sums_len) {
                add_into(&mut acc, s);
            }
        } else {
            add_into(&mut acc, &ring[slot * sums_len..(slot + 1) * sums_len]);
        }
        let mut out_rows: Vec<&mut [T]> = outs
            .iter_mut()
            .map(|o| &mut o[k * row_len..(k + 1) * row_len])
            .collect();
        emit(&acc, &mut out_rows);
        let oldest = (t + 1) % ny;
        for (a, &o) in acc
            .iter_mut()
            .zip(&ring[oldest * sums_len..(oldest + 1) * sums_len])
        {
            *a -= o;
        }
    }
}

fn add_into(acc: &mut [f64], row: &[f64]) {
    for (a, &r) in acc.iter_mut().zip(row) {
        *a += r;
    }
}

/// Window sums along x of one input row (`None`: a row of the constant).
#[allow(clippy::too_many_arguments)]
fn row_sums<T: FilterValue, const F: usize>(
    row: Option<&[T]>,
    w: usize,
    c: usize,
    nx: usize,
    mode: BoundaryMode,
    feature: &(dyn Fn(f64) -> [f64; F] + Sync),
    ext: &mut [f64],
    out: &mut [f64],
) {
    let left = (nx / 2) as i64;
    let cf = c * F;
    let constant = feature(mode.cval());
    for (xe, dst) in ext.chunks_exact_mut(cf).enumerate() {
        let src = row.and_then(|r| boundary_index(xe as i64 - left, w, mode).map(|x| (r, x)));
        for ch in 0..c {
            let f = match src {
                Some((r, x)) => feature(r[x * c + ch].to_f64()),
                None => constant,
            };
            dst[ch * F..(ch + 1) * F].copy_from_slice(&f);
        }
    }
    let mut s = vec![0f64; cf];
    for x in 0..w {
        if x % RESTART == 0 {
            s.fill(0.0);
            for j in 0..nx {
                add_into(&mut s, &ext[(x + j) * cf..(x + j + 1) * cf]);
            }
        } else {
            let (new, old) = ((x + nx - 1) * cf, (x - 1) * cf);
            for k in 0..cf {
                s[k] += ext[new + k] - ext[old + k];
            }
        }
        out[x * cf..(x + 1) * cf].copy_from_slice(&s);
    }
}
