//! Rank filters of small windows (at most [`NETWORK_MAX`] values, 5×5) by
//! a selection network: the window's order keys go through the
//! compare-exchanges of Batcher's odd–even merge sort that can reach the
//! wanted rank's position, each one a vector min and max over `GROUP`
//! outputs at once. No sort per tile, no branches: a 3×3 median is ~25
//! compare-exchanges per output, against the tile path's fixed cost of
//! sorting every value.

use rayon::prelude::*;

use super::boundary::extend_row;
use super::boundary_index;
use super::rank::RankValue;
use super::BoundaryMode;
use crate::array::ImageView;

/// Windows of up to this many values take the network (a 5×5 median is
/// ~120 compare-exchanges; a 7×7 one would cost more than a tile's sort).
pub(super) const NETWORK_MAX: usize = 25;

/// Outputs per network pass: one AVX2 register of bytes, four of f32 keys.
const GROUP: usize = 32;

/// Output rows per piece of work (each piece converts its `rows + ny − 1`
/// input rows to keys once).
pub(super) const PIECE_ROWS: usize = 64;

/// The compare-exchanges `(a, b)`, `a < b` (the smaller value goes to `a`),
/// that leave rank `k` of `n` values at position `k`: Batcher's odd–even
/// merge sort of the next power of two with the missing values taken as
/// +∞ (so every exchange touching one is a no-op and is left out), then
/// only those exchanges from which position `k` can be reached.
pub(super) fn network(n: usize, k: usize) -> Vec<(u8, u8)> {
    assert!(n <= 256 && k < n, "a network for rank {k} of {n}");
    let mut all = Vec::new();
    let mut p = 1;
    while p < n {
        let mut d = p;
        while d > 0 {
            let mut j = d % p;
            while j + d < n {
                for i in 0..d.min(n - j - d) {
                    if (i + j) / (2 * p) == (i + j + d) / (2 * p) {
                        all.push(((i + j) as u8, (i + j + d) as u8));
                    }
                }
                j += 2 * d;
            }
            d /= 2;
        }
        p *= 2;
    }
    // Backwards from position k: an exchange matters if it writes a
    // position that matters, and then both its inputs matter.
    let mut needed = vec![false; n];
    needed[k] = true;
    let mut kept: Vec<(u8, u8)> = all
        .into_iter()
        .rev()
        .filter(|&(a, b)| {
            let keep = needed[a as usize] || needed[b as usize];
            if keep {
                needed[a as usize] = true;
                needed[b as usize] = true;
            }
            keep
        })
        .collect();
    kept.reverse();
    kept
}

/// Rank `k` of every `size` window of `image` into `out` by the network.
pub(super) fn rank_network<T: RankValue>(
    image: ImageView<'_, T>,
    k: usize,
    size: [usize; 2],
    at: ([usize; 2], BoundaryMode),
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    let net = network(size[0] * size[1], k);
    out.par_chunks_mut(PIECE_ROWS * row_len)
        .enumerate()
        .for_each(|(p, piece)| {
            let first = p * PIECE_ROWS;
            let rows = first..first + piece.len() / row_len;
            piece_ranks(image, (k, &net), size, at, rows, piece);
        });
}

/// One piece of output rows: its input rows extended by the mode and
/// turned into keys, then each output row through the network.
fn piece_ranks<T: RankValue>(
    image: ImageView<'_, T>,
    (k, net): (usize, &[(u8, u8)]),
    [ny, nx]: [usize; 2],
    ([top, left], mode): ([usize; 2], BoundaryMode),
    rows: std::ops::Range<usize>,
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    let ext_len = (w + nx - 1) * c;
    // Checked by `check_cval`: the constant is a value of `T`.
    let cval = T::from_cval(mode.cval()).unwrap_or_default();
    let mut ext = vec![T::default(); ext_len];
    let rows_in = rows.len() + ny - 1;
    let mut keys = vec![T::Key::default(); rows_in * ext_len];
    for (t, key_row) in keys.chunks_exact_mut(ext_len).enumerate() {
        let y = rows.start as i64 - top as i64 + t as i64;
        let source = boundary_index(y, h, mode).map(|y| &image.data()[y * row_len..][..row_len]);
        extend_row(source, (w, c), (nx, left), mode, [cval; 2], &mut ext);
        for (k, &v) in key_row.iter_mut().zip(&ext) {
            *k = v.to_key();
        }
    }
    for (y, out_row) in out.chunks_exact_mut(row_len).enumerate() {
        let window: Vec<&[T::Key]> = (0..ny)
            .map(|i| &keys[(y + i) * ext_len..][..ext_len])
            .collect();
        select_row(&window, nx, c, (k, net), out_row);
    }
}

/// Rank `k` of the windows of one output row: `rows` are the window's
/// `ny` extended key rows; output `i` reads `rows[r][i + j·c]`.
fn select_row<T: RankValue>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    at: (usize, &[(u8, u8)]),
    out: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { select_row_avx2(rows, nx, c, at, out) };
        return;
    }
    select_row_body(rows, nx, c, at, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn select_row_avx2<T: RankValue>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    at: (usize, &[(u8, u8)]),
    out: &mut [T],
) {
    select_row_body(rows, nx, c, at, out);
}

#[inline(always)]
fn select_row_body<T: RankValue>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    (k, net): (usize, &[(u8, u8)]),
    out: &mut [T],
) {
    let mut v = [[T::Key::default(); GROUP]; NETWORK_MAX];
    for i in (0..out.len()).step_by(GROUP) {
        let lanes = GROUP.min(out.len() - i);
        for (r, row) in rows.iter().enumerate() {
            for j in 0..nx {
                let src = &row[i + j * c..][..lanes];
                v[r * nx + j][..lanes].copy_from_slice(src);
            }
        }
        for &(a, b) in net {
            let (x, y) = (v[a as usize], v[b as usize]);
            v[a as usize] = std::array::from_fn(|l| x[l].min(y[l]));
            v[b as usize] = std::array::from_fn(|l| x[l].max(y[l]));
        }
        for (o, &key) in out[i..i + lanes].iter_mut().zip(&v[k]) {
            *o = T::from_key(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rank of every window size up to the limit: by the 0–1
    /// principle (a network that sorts every 0/1 input sorts every
    /// input) for n ≤ 16, by random inputs with ties above.
    #[test]
    fn networks_select_every_rank() {
        let mut state = 1u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for n in 1..=NETWORK_MAX {
            for k in 0..n {
                let net = network(n, k);
                let inputs: Vec<Vec<u64>> = if n <= 16 {
                    (0..1u64 << n)
                        .map(|bits| (0..n).map(|i| bits >> i & 1).collect())
                        .collect()
                } else {
                    (0..3000)
                        .map(|_| (0..n).map(|_| next() % 7).collect())
                        .collect()
                };
                for mut values in inputs {
                    let mut sorted = values.clone();
                    sorted.sort_unstable();
                    for &(a, b) in &net {
                        let (a, b) = (a as usize, b as usize);
                        if values[a] > values[b] {
                            values.swap(a, b);
                        }
                    }
                    assert_eq!(values[k], sorted[k], "n {n} k {k}");
                }
            }
        }
    }

    /// Pruning keeps a median well under the full sort.
    #[test]
    fn medians_are_pruned() {
        assert!(network(9, 4).len() <= 30, "{}", network(9, 4).len());
        assert!(network(25, 12).len() <= 150, "{}", network(25, 12).len());
    }
}
