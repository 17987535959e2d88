//! Rank filters of small windows (at most [`NETWORK_MAX`] values, 5×5) by
//! a selection network: the window's order keys go through the
//! compare-exchanges of Batcher's odd–even merge sort that can reach the
//! wanted rank's position, each one a vector min and max over 32 bytes
//! of keys (32 outputs of uint8, 8 of float32) at once. No sort per tile,
//! no branches: a 3×3 median is 24 compare-exchanges per output, against
//! the tile path's fixed cost of sorting every value. The 5×5 median's
//! network is written out (its values at fixed places); the 3×3 median
//! sorts each column once and takes the median of the columns' largest
//! low, median middle and smallest high.

use rayon::prelude::*;

use super::boundary::extend_row;
use super::boundary_index;
use super::rank::RankValue;
use super::BoundaryMode;
use crate::array::ImageView;

/// Windows of up to this many values take the network (a 5×5 median is
/// ~120 compare-exchanges; a 7×7 one would cost more than a tile's sort).
pub(super) const NETWORK_MAX: usize = 25;

/// Output rows per piece of work (each piece converts its `rows + ny − 1`
/// input rows to keys once).
pub(super) const PIECE_ROWS: usize = 64;

/// The most compare-exchanges a network of up to [`NETWORK_MAX`] values
/// holds (Batcher's sort of 32 has 191).
const MAX_PAIRS: usize = 192;

/// A selection network: compare-exchanges `(a, b)`, `a < b` (the smaller
/// value goes to `a`), in order.
pub(super) struct Network {
    pairs: [(u8, u8); MAX_PAIRS],
    len: usize,
}

impl Network {
    /// The compare-exchanges.
    pub(super) fn pairs(&self) -> &[(u8, u8)] {
        &self.pairs[..self.len]
    }
}

/// The network that leaves rank `k` of `n` values at position `k`:
/// Batcher's odd–even merge sort of the next power of two with the missing
/// values taken as +∞ (so every exchange touching one is a no-op and is
/// left out), then only those exchanges from which position `k` can be
/// reached. A `const fn`, so the common medians are tables the compiler
/// sees whole (their exchanges unrolled, values kept in registers).
pub(super) const fn network(n: usize, k: usize) -> Network {
    assert!(
        n <= NETWORK_MAX && k < n,
        "a network for a rank of at most 25 values"
    );
    let mut all = [(0u8, 0u8); MAX_PAIRS];
    let mut len = 0;
    let mut p = 1;
    while p < n {
        let mut d = p;
        while d > 0 {
            let mut j = d % p;
            while j + d < n {
                let mut i = 0;
                while i < d && i + j + d < n {
                    if (i + j) / (2 * p) == (i + j + d) / (2 * p) {
                        all[len] = ((i + j) as u8, (i + j + d) as u8);
                        len += 1;
                    }
                    i += 1;
                }
                j += 2 * d;
            }
            d /= 2;
        }
        p *= 2;
    }
    // Backwards from position k: an exchange matters if it writes a
    // position that matters, and then both its inputs matter.
    let mut needed = [false; NETWORK_MAX];
    needed[k] = true;
    let mut kept = [(0u8, 0u8); MAX_PAIRS];
    let mut n_kept = 0;
    let mut e = len;
    while e > 0 {
        e -= 1;
        let (a, b) = all[e];
        if needed[a as usize] || needed[b as usize] {
            needed[a as usize] = true;
            needed[b as usize] = true;
            kept[n_kept] = (a, b);
            n_kept += 1;
        }
    }
    let mut pairs = [(0u8, 0u8); MAX_PAIRS];
    let mut t = 0;
    while t < n_kept {
        pairs[t] = kept[n_kept - 1 - t];
        t += 1;
    }
    Network { pairs, len: n_kept }
}

/// The 3×3 and 5×5 medians (their sizes are tested).
#[cfg(test)]
const MEDIAN_9: Network = network(9, 4);
#[cfg(test)]
const MEDIAN_25: Network = network(25, 12);

/// Which path a row takes: a network built for the call, the 3×3 median
/// by sorted columns, or the 5×5 median's network written out (its values
/// at fixed places: registers or stack slots).
const BUILT: usize = 0;
const MEDIAN_3X3: usize = 9;
const MEDIAN_5X5: usize = 25;

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
    let n = size[0] * size[1];
    let built = network(n, k);
    let table = match (size, k) {
        ([3, 3], 4) => MEDIAN_3X3,
        ([5, 5], 12) => MEDIAN_5X5,
        _ => BUILT,
    };
    out.par_chunks_mut(PIECE_ROWS * row_len)
        .enumerate()
        .for_each(|(p, piece)| {
            let first = p * PIECE_ROWS;
            let rows = first..first + piece.len() / row_len;
            let net = Net {
                k,
                pairs: built.pairs(),
                table,
            };
            piece_ranks(image, &net, size, at, rows, piece);
        });
}

/// The network of a call: the rank, its exchanges, and which table they
/// are when one holds them.
struct Net<'a> {
    k: usize,
    pairs: &'a [(u8, u8)],
    table: usize,
}

/// One piece of output rows: its input rows extended by the mode and
/// turned into keys, then each output row through the network.
fn piece_ranks<T: RankValue>(
    image: ImageView<'_, T>,
    net: &Net<'_>,
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
    let (mut ext, mut keys, mut cols): (Vec<T>, Vec<T::Key>, Vec<T::Key>) = super::scratch::take();
    ext.resize(ext_len, T::default());
    let rows_in = rows.len() + ny - 1;
    keys.resize(rows_in * ext_len, T::Key::default());
    for (t, key_row) in keys[..rows_in * ext_len]
        .chunks_exact_mut(ext_len)
        .enumerate()
    {
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
        match net.table {
            MEDIAN_3X3 => {
                cols.resize(3 * ext_len, T::Key::default());
                median_3x3_row(&window, c, &mut cols, out_row);
            }
            MEDIAN_5X5 => select_row::<T, MEDIAN_5X5>(&window, nx, c, net, out_row),
            _ => select_row::<T, BUILT>(&window, nx, c, net, out_row),
        }
    }
    use super::scratch::capacity_bytes as bytes;
    let held = bytes(&ext) + bytes(&keys) + bytes(&cols);
    super::scratch::give_back((ext, keys, cols), held);
}

/// The 3×3 medians of one output row from its three extended key rows, by
/// sorted columns: each column of three is sorted once (three windows
/// share it), then a window's median is the median of its columns' largest
/// low, median middle and smallest high (≈ 12 min/max per output against
/// the network's 48).
fn median_3x3_row<T: RankValue>(rows: &[&[T::Key]], c: usize, cols: &mut [T::Key], out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { median_3x3_avx2(rows, c, cols, out) };
        return;
    }
    median_3x3_body(rows, c, cols, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn median_3x3_avx2<T: RankValue>(rows: &[&[T::Key]], c: usize, cols: &mut [T::Key], out: &mut [T]) {
    median_3x3_body(rows, c, cols, out);
}

/// The median of three.
#[inline(always)]
fn med3<K: Ord + Copy>(a: K, b: K, c: K) -> K {
    a.min(b).max(a.max(b).min(c))
}

#[inline(always)]
fn median_3x3_body<T: RankValue>(rows: &[&[T::Key]], c: usize, cols: &mut [T::Key], out: &mut [T]) {
    let n = rows[0].len();
    let (lo, rest) = cols.split_at_mut(n);
    let (mid, hi) = rest.split_at_mut(n);
    let column = rows[0].iter().zip(rows[1]).zip(rows[2]);
    for (((l, m), h), ((&a, &b), &z)) in lo
        .iter_mut()
        .zip(mid.iter_mut())
        .zip(hi.iter_mut())
        .zip(column)
    {
        let (small, big) = (a.min(b), a.max(b));
        *l = small.min(z);
        *h = big.max(z);
        *m = small.max(big.min(z));
    }
    let len = out.len();
    let (l0, l1, l2) = (&lo[..len], &lo[c..c + len], &lo[2 * c..2 * c + len]);
    let (m0, m1, m2) = (&mid[..len], &mid[c..c + len], &mid[2 * c..2 * c + len]);
    let (h0, h1, h2) = (&hi[..len], &hi[c..c + len], &hi[2 * c..2 * c + len]);
    for (i, o) in out.iter_mut().enumerate() {
        let low = l0[i].max(l1[i]).max(l2[i]);
        let high = h0[i].min(h1[i]).min(h2[i]);
        let middle = med3(m0[i], m1[i], m2[i]);
        *o = T::from_key(med3(low, middle, high));
    }
}

/// Rank `net.k` of the windows of one output row: `rows` are the window's
/// `ny` extended key rows; output `i` reads `rows[r][i + j·c]`. Values go
/// through the network 32 bytes of keys at a time (one AVX2 register).
fn select_row<T: RankValue, const TABLE: usize>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    net: &Net<'_>,
    out: &mut [T],
) {
    // The built networks go through memory, where wide groups pay less
    // loop overhead per exchange; the written-out 5×5 median spills its 25
    // groups either way, 64 bytes of keys per group doing best for
    // float32 (9.5 against 12.8 ms with 32 at 2000², in-process).
    match (TABLE, T::KEY_BYTES) {
        (BUILT, _) | (_, 1) => lanes::<T, TABLE, 32>(rows, nx, c, net, out),
        (_, 2 | 4) => lanes::<T, TABLE, 16>(rows, nx, c, net, out),
        _ => lanes::<T, TABLE, 8>(rows, nx, c, net, out),
    }
}

fn lanes<T: RankValue, const TABLE: usize, const L: usize>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    net: &Net<'_>,
    out: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { lanes_avx2::<T, TABLE, L>(rows, nx, c, net, out) };
        return;
    }
    select_body::<T, TABLE, L>(rows, nx, c, net, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lanes_avx2<T: RankValue, const TABLE: usize, const L: usize>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    net: &Net<'_>,
    out: &mut [T],
) {
    select_body::<T, TABLE, L>(rows, nx, c, net, out);
}

#[inline(always)]
fn select_body<T: RankValue, const TABLE: usize, const L: usize>(
    rows: &[&[T::Key]],
    nx: usize,
    c: usize,
    net: &Net<'_>,
    out: &mut [T],
) {
    let whole = out.len() / L * L;
    for i in (0..whole).step_by(L) {
        let ranked = if TABLE == MEDIAN_5X5 {
            median_5x5::<T::Key, L>(rows, c, i)
        } else {
            let mut v = [[T::Key::default(); L]; NETWORK_MAX];
            for (r, row) in rows.iter().enumerate() {
                for j in 0..nx {
                    v[r * nx + j] = row[i + j * c..][..L].try_into().expect("L keys");
                }
            }
            exchange(&mut v, net.pairs);
            v[net.k]
        };
        for (o, &key) in out[i..i + L].iter_mut().zip(&ranked) {
            *o = T::from_key(key);
        }
    }
    // The last outputs, fewer than a group: one at a time.
    for i in whole..out.len() {
        let mut v = [[T::Key::default(); 1]; NETWORK_MAX];
        for (r, row) in rows.iter().enumerate() {
            for j in 0..nx {
                v[r * nx + j] = [row[i + j * c]];
            }
        }
        exchange(&mut v, net.pairs);
        out[i] = T::from_key(v[net.k][0]);
    }
}

/// The compare-exchanges `pairs` over groups of `L` keys.
#[inline(always)]
fn exchange<K: Ord + Copy, const L: usize>(v: &mut [[K; L]; NETWORK_MAX], pairs: &[(u8, u8)]) {
    for &(a, b) in pairs {
        let (x, y) = (v[a as usize], v[b as usize]);
        v[a as usize] = std::array::from_fn(|l| x[l].min(y[l]));
        v[b as usize] = std::array::from_fn(|l| x[l].max(y[l]));
    }
}

/// Defines `$name`, the median of a `$side`×`$side` window for `L`
/// outputs from `i` by `network($side², $mid)` written out (every index a
/// constant, so the groups stay in registers or at fixed stack slots), and
/// `$pairs`, its exchanges for `medians_are_written_as_built`.
macro_rules! written_median {
    ($name:ident, $pairs:ident, $side:literal, $mid:literal, [$(($a:literal, $b:literal)),*]) => {
        #[inline(always)]
        fn $name<K: Ord + Copy, const L: usize>(rows: &[&[K]], c: usize, i: usize) -> [K; L] {
            let mut v: [[K; L]; $side * $side] = std::array::from_fn(|t| {
                rows[t / $side][i + (t % $side) * c..][..L]
                    .try_into()
                    .expect("L keys")
            });
            $(
                let (x, y) = (v[$a], v[$b]);
                v[$a] = std::array::from_fn(|l| x[l].min(y[l]));
                v[$b] = std::array::from_fn(|l| x[l].max(y[l]));
            )*
            v[$mid]
        }

        #[cfg(test)]
        const $pairs: &[(u8, u8)] = &[$(($a, $b)),*];
    };
}

written_median!(
    median_5x5,
    MEDIAN_5X5_PAIRS,
    5,
    12,
    [
        (0, 1),
        (2, 3),
        (4, 5),
        (6, 7),
        (8, 9),
        (10, 11),
        (12, 13),
        (14, 15),
        (16, 17),
        (18, 19),
        (20, 21),
        (22, 23),
        (0, 2),
        (1, 3),
        (4, 6),
        (5, 7),
        (8, 10),
        (9, 11),
        (12, 14),
        (13, 15),
        (16, 18),
        (17, 19),
        (20, 22),
        (21, 23),
        (1, 2),
        (5, 6),
        (9, 10),
        (13, 14),
        (17, 18),
        (21, 22),
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 7),
        (8, 12),
        (9, 13),
        (10, 14),
        (11, 15),
        (16, 20),
        (17, 21),
        (18, 22),
        (19, 23),
        (2, 4),
        (3, 5),
        (10, 12),
        (11, 13),
        (18, 20),
        (19, 21),
        (1, 2),
        (3, 4),
        (5, 6),
        (9, 10),
        (11, 12),
        (13, 14),
        (17, 18),
        (19, 20),
        (21, 22),
        (0, 8),
        (1, 9),
        (2, 10),
        (3, 11),
        (4, 12),
        (5, 13),
        (6, 14),
        (7, 15),
        (16, 24),
        (4, 8),
        (5, 9),
        (6, 10),
        (7, 11),
        (20, 24),
        (2, 4),
        (3, 5),
        (6, 8),
        (7, 9),
        (10, 12),
        (11, 13),
        (18, 20),
        (19, 21),
        (22, 24),
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
        (9, 10),
        (11, 12),
        (13, 14),
        (17, 18),
        (19, 20),
        (21, 22),
        (23, 24),
        (0, 16),
        (1, 17),
        (2, 18),
        (3, 19),
        (4, 20),
        (5, 21),
        (6, 22),
        (7, 23),
        (8, 24),
        (8, 16),
        (9, 17),
        (10, 18),
        (11, 19),
        (12, 20),
        (13, 21),
        (6, 10),
        (7, 11),
        (12, 16),
        (13, 17),
        (10, 12),
        (11, 13),
        (11, 12)
    ]
);

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
                let net = net.pairs();
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
                    for &(a, b) in net {
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
        assert_eq!(MEDIAN_9.len, 24);
        assert_eq!(MEDIAN_25.pairs(), MEDIAN_5X5_PAIRS);
        assert_eq!(MEDIAN_25.len, 113);
    }
}
