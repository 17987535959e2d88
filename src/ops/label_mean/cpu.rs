//! Fast CPU path: each thread sums a contiguous part of the image into its
//! own row table, runs of equal labels are summed in registers first (labels
//! are spatially coherent, so a table row is touched once per run), and the
//! tables are added at the end. The recolour copies one row of means per run.

use rayon::prelude::*;

use super::{LabelValue, RowTotals, Rows};
use crate::array::ImageView;

/// Pixels per recolour task.
const PAINT_BLOCK: usize = 1 << 14;

pub(super) fn row_totals<T: LabelValue>(
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
) -> RowTotals<T::Sum> {
    let channels = image.channels();
    let n = labels.len();
    // One table per part; with few pixels per label the tables would cost
    // more than the image, so those cases run as one part.
    let threads = rayon::current_num_threads().max(1);
    let parts = if rows.len() > n / 8 { 1 } else { threads };
    let per_part = n.div_ceil(parts).max(1);
    let values = image.data();
    let tables: Vec<RowTotals<T::Sum>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let range = (p * per_part).min(n)..((p + 1) * per_part).min(n);
            let mut t = RowTotals {
                counts: vec![0; rows.len()],
                sums: vec![T::Sum::default(); rows.len() * channels],
            };
            let vals = &values[range.start * channels..range.end * channels];
            accumulate(vals, channels, &labels[range], rows, &mut t);
            t
        })
        .collect();
    let mut tables = tables.into_iter();
    let mut total = tables.next().unwrap_or_else(|| RowTotals {
        counts: vec![0; rows.len()],
        sums: vec![T::Sum::default(); rows.len() * channels],
    });
    for t in tables {
        for (a, b) in total.counts.iter_mut().zip(&t.counts) {
            *a += b;
        }
        for (a, &b) in total.sums.iter_mut().zip(&t.sums) {
            *a += b;
        }
    }
    total
}

fn accumulate<T: LabelValue>(
    values: &[T],
    channels: usize,
    labels: &[u32],
    rows: &Rows,
    t: &mut RowTotals<T::Sum>,
) {
    match channels {
        1 => runs::<T, 1>(values, labels, rows, t),
        2 => runs::<T, 2>(values, labels, rows, t),
        3 => runs::<T, 3>(values, labels, rows, t),
        4 => runs::<T, 4>(values, labels, rows, t),
        _ => runs_any(values, channels, labels, rows, t),
    }
}

/// Sums each run of equal labels in registers, then adds it to its row.
fn runs<T: LabelValue, const C: usize>(
    values: &[T],
    labels: &[u32],
    rows: &Rows,
    t: &mut RowTotals<T::Sum>,
) {
    let Some(&first) = labels.first() else {
        return;
    };
    let mut flush = |label: u32, count: u64, acc: &[T::Sum; C]| {
        let r = rows.row(label);
        t.counts[r] += count;
        for (dst, &a) in t.sums[r * C..(r + 1) * C].iter_mut().zip(acc) {
            *dst += a;
        }
    };
    let mut current = first;
    let mut count = 0u64;
    let mut acc = [T::Sum::default(); C];
    for (px, &l) in values.chunks_exact(C).zip(labels) {
        if l != current {
            flush(current, count, &acc);
            current = l;
            count = 0;
            acc = [T::Sum::default(); C];
        }
        count += 1;
        for c in 0..C {
            acc[c] += px[c].widen();
        }
    }
    flush(current, count, &acc);
}

/// Any channel count: adds straight into the row, found once per run.
fn runs_any<T: LabelValue>(
    values: &[T],
    channels: usize,
    labels: &[u32],
    rows: &Rows,
    t: &mut RowTotals<T::Sum>,
) {
    let mut current = None;
    let mut r = 0;
    for (px, &l) in values.chunks_exact(channels).zip(labels) {
        if current != Some(l) {
            current = Some(l);
            r = rows.row(l);
        }
        t.counts[r] += 1;
        for (dst, &v) in t.sums[r * channels..(r + 1) * channels].iter_mut().zip(px) {
            *dst += v.widen();
        }
    }
}

/// `out[p] = means[row(labels[p])]`, one row lookup per run.
pub(super) fn paint<O: Copy + Send + Sync>(
    labels: &[u32],
    rows: &Rows,
    means: &[O],
    channels: usize,
    out: &mut [O],
) {
    out.par_chunks_mut(PAINT_BLOCK * channels)
        .zip(labels.par_chunks(PAINT_BLOCK))
        .for_each(|(dst, lab)| match channels {
            1 => paint_block::<O, 1>(lab, rows, means, dst),
            2 => paint_block::<O, 2>(lab, rows, means, dst),
            3 => paint_block::<O, 3>(lab, rows, means, dst),
            4 => paint_block::<O, 4>(lab, rows, means, dst),
            _ => paint_any(lab, rows, means, channels, dst),
        });
}

fn paint_block<O: Copy, const C: usize>(labels: &[u32], rows: &Rows, means: &[O], out: &mut [O]) {
    let Some(&first) = labels.first() else {
        return;
    };
    let row_of = |l: u32| -> [O; C] {
        let r = rows.row(l);
        std::array::from_fn(|c| means[r * C + c])
    };
    let mut current = first;
    let mut value = row_of(first);
    for (px, &l) in out.chunks_exact_mut(C).zip(labels) {
        if l != current {
            current = l;
            value = row_of(l);
        }
        px.copy_from_slice(&value);
    }
}

fn paint_any<O: Copy>(labels: &[u32], rows: &Rows, means: &[O], channels: usize, out: &mut [O]) {
    let mut current = None;
    let mut r = 0;
    for (px, &l) in out.chunks_exact_mut(channels).zip(labels) {
        if current != Some(l) {
            current = Some(l);
            r = rows.row(l);
        }
        px.copy_from_slice(&means[r * channels..(r + 1) * channels]);
    }
}
