//! Minimum and maximum filters over a [`Footprint`] that is not a
//! rectangle (grey erosion and dilation by a flat disk, cross, …).
//!
//! Each row of the footprint is a few runs of marked columns. The
//! extremum of a run of length `L` starting at column `a` is that of two
//! overlapping runs of `p = 2^⌊log2 L⌋` (at `a` and at `a + L − p`), and
//! the extrema of every `p`-run of an input row come from a few doubling
//! sweeps (level `k` holds the extremum of the next `2^k` values). So each
//! input row is extended by the mode and swept once into its levels, and
//! each output row is the extremum, over the footprint's runs, of one or
//! two shifted level rows: vectorised compares over whole rows, about
//! two per run and value (a disk of radius r: 2·(2r + 1)), where scipy
//! compares every marked position. Input rows' levels live in a ring of
//! `ny` rows per worker.

use rayon::prelude::*;

use super::boundary::extend_row;
use super::boundary_index;
use super::extremum::{has_nan, pick_assign, pick_into, power_below, Extremum, ExtremumValue};
use super::{BoundaryMode, Footprint};
use crate::array::ImageView;

/// One run of marked columns: footprint row `i`, columns `a .. a + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Run {
    i: usize,
    a: usize,
    len: usize,
}

/// The runs of marked columns of every row of `window`, row by row.
pub(super) fn runs(window: &Footprint) -> Vec<Run> {
    let [ny, nx] = window.size();
    let mut out = Vec::new();
    for i in 0..ny {
        let mut j = 0;
        while j < nx {
            if !window.contains(i, j) {
                j += 1;
                continue;
            }
            let a = j;
            while j < nx && window.contains(i, j) {
                j += 1;
            }
            out.push(Run { i, a, len: j - a });
        }
    }
    out
}

/// Doubling levels a footprint's runs need (level k: runs of 2^k).
fn levels(runs: &[Run]) -> usize {
    runs.iter()
        .map(|r| r.len.ilog2() as usize + 1)
        .max()
        .unwrap_or(1)
}

/// Values one worker's ring holds (`None`: overflow).
pub(super) fn ring_values(window: &Footprint, runs: &[Run], w: usize, c: usize) -> Option<u128> {
    let [ny, nx] = window.size().map(|n| n as u128);
    let ext = (w as u128 + nx).checked_mul(c as u128)?;
    ny.checked_mul(levels(runs) as u128)?.checked_mul(ext)
}

/// The CPU path: blocks of output rows in parallel, each streaming its
/// input rows through a ring of levels.
pub(super) fn footprint_extremum_cpu<T: ExtremumValue>(
    image: ImageView<'_, T>,
    kind: Extremum,
    window: &Footprint,
    (anchor, mode): ([usize; 2], BoundaryMode),
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let runs = runs(window);
    let blocks = (rayon::current_num_threads() * 2).clamp(1, h);
    let block_rows = h.div_ceil(blocks);
    let plan = Plan {
        runs: &runs,
        levels: levels(&runs),
        size: window.size(),
        anchor,
        mode,
    };
    out.par_chunks_mut(block_rows * row_len)
        .enumerate()
        .for_each(|(b, block)| {
            let rows = b * block_rows..b * block_rows + block.len() / row_len;
            let mut ring = Ring::take();
            match kind {
                Extremum::Minimum => {
                    block_extrema::<T, false>(image, &plan, rows, block, &mut ring)
                }
                Extremum::Maximum => block_extrema::<T, true>(image, &plan, rows, block, &mut ring),
            }
            ring.give_back();
        });
}

/// What every block shares.
struct Plan<'a> {
    runs: &'a [Run],
    levels: usize,
    size: [usize; 2],
    anchor: [usize; 2],
    mode: BoundaryMode,
}

/// A worker's levels of the last `ny` input rows, and whether each held a
/// NaN.
#[derive(Default)]
struct Ring<T> {
    values: Vec<T>,
    nan: Vec<bool>,
}

impl<T: ExtremumValue> Ring<T> {
    fn take() -> Self {
        super::scratch::take()
    }

    fn give_back(self) {
        let held = super::scratch::capacity_bytes(&self.values);
        super::scratch::give_back(self, held);
    }
}

/// The output rows `rows` of one block into `out`.
fn block_extrema<T: ExtremumValue, const MAX: bool>(
    image: ImageView<'_, T>,
    plan: &Plan<'_>,
    rows: std::ops::Range<usize>,
    out: &mut [T],
    ring: &mut Ring<T>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let [ny, nx] = plan.size;
    let [top, left] = plan.anchor;
    let ext_len = (w + nx - 1) * c;
    let slot_len = plan.levels * ext_len;
    ring.values.resize(ny * slot_len, T::default());
    ring.nan.clear();
    ring.nan.resize(ny, false);
    // Checked by `check_cval`: the constant is a value of `T`.
    let cval = T::from_cval(plan.mode.cval()).unwrap_or_default();
    // Input row t of the block (t = 0 is output row rows.start's first
    // footprint row) into its ring slot t % ny.
    let fill = |t: usize, ring: &mut Ring<T>| {
        let y = rows.start as i64 - top as i64 + t as i64;
        let source = boundary_index(y, h, plan.mode).map(|y| &image.data()[y * w * c..][..w * c]);
        let slot = &mut ring.values[(t % ny) * slot_len..][..slot_len];
        let (first, rest) = slot.split_at_mut(ext_len);
        extend_row(source, (w, c), (nx, left), plan.mode, [cval; 2], first);
        let nan = has_nan(first);
        ring.nan[t % ny] = nan;
        if nan {
            sweep_levels::<T, MAX, true>(first, rest, c);
        } else {
            sweep_levels::<T, MAX, false>(first, rest, c);
        }
    };
    for t in 0..ny - 1 {
        fill(t, ring);
    }
    for (o, out_row) in out.chunks_exact_mut(w * c).enumerate() {
        fill(o + ny - 1, ring);
        let slots = |i: usize| (o + i) % ny;
        let nan = plan.runs.iter().any(|r| ring.nan[slots(r.i)]);
        let at = |r: &Run| &ring.values[slots(r.i) * slot_len..][..slot_len];
        if nan {
            combine::<T, MAX, true>(plan.runs, at, (ext_len, c), out_row);
        } else {
            combine::<T, MAX, false>(plan.runs, at, (ext_len, c), out_row);
        }
    }
}

/// Levels 1.. of an extended row from level 0 (`first`): level k at
/// `rest[(k − 1)·len ..]`, its value at position x the extremum of
/// positions x .. x + 2^k (shorter by 2^k − 1 positions than level 0).
fn sweep_levels<T: ExtremumValue, const MAX: bool, const SAFE: bool>(
    first: &[T],
    rest: &mut [T],
    c: usize,
) {
    let len = first.len();
    let mut prev: &[T] = first;
    let mut valid = len;
    for (k, level) in rest.chunks_exact_mut(len).enumerate() {
        let shift = (1 << k) * c;
        if valid <= shift {
            break;
        }
        valid -= shift;
        pick_into::<T, MAX, SAFE>(&mut level[..valid], &prev[..valid], &prev[shift..]);
        prev = level;
    }
}

/// One output row: the extremum over the runs of their level rows,
/// shifted to each run's start (and end, when its length is no power of
/// two).
fn combine<'a, T: ExtremumValue + 'a, const MAX: bool, const SAFE: bool>(
    runs: &[Run],
    slot: impl Fn(&Run) -> &'a [T],
    (ext_len, c): (usize, usize),
    out: &mut [T],
) {
    let n = out.len();
    let mut first = true;
    for r in runs {
        let k = r.len.ilog2() as usize;
        let p = power_below(r.len);
        let level = &slot(r)[k * ext_len..][..ext_len];
        let head = &level[r.a * c..][..n];
        let tail = &level[(r.a + r.len - p) * c..][..n];
        match (first, p == r.len) {
            (true, true) => out.copy_from_slice(head),
            (true, false) => pick_into::<T, MAX, SAFE>(out, head, tail),
            (false, same) => {
                pick_assign::<T, MAX, SAFE>(out, head);
                if !same {
                    pick_assign::<T, MAX, SAFE>(out, tail);
                }
            }
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_marked_positions() {
        let f = Footprint::from_mask(
            vec![
                true, false, true, true, false, false, false, false, true, true, true, true,
            ],
            3,
            4,
        )
        .unwrap();
        let r = runs(&f);
        assert_eq!(
            r,
            [
                Run { i: 0, a: 0, len: 1 },
                Run { i: 0, a: 2, len: 2 },
                Run { i: 2, a: 0, len: 4 },
            ]
        );
        assert_eq!(levels(&r), 3);
    }
}
