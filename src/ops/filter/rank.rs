//! scipy.ndimage's `rank_filter`, `median_filter` and `percentile_filter`
//! with a rectangular window.
//!
//! The CPU works tile by tile: the input values a tile of outputs reads
//! (tile plus window halo) are sorted once by a radix sort, which turns
//! every value into its rank inside the tile, a small integer. A window is
//! then a set of ranks held in a bitset; sliding the window one column
//! clears the ranks of the column that leaves and sets those of the column
//! that comes (2·ny bit flips), and the k-th smallest is found from a
//! cursor that remembers how many ranks lie below the word it points at
//! (it moves a few words per step). Cost per output: O(ny) flips plus the
//! tile's sort (a few passes over each value), against scipy's O(ny·nx)
//! selection per output. Every result is one of the inputs (or the
//! constant), so the CPU is exact.
//!
//! Order: numbers by value, NaNs above every number (as `numpy.sort`); a
//! window's k-th value counts its NaNs that way. scipy's result with NaNs
//! depends on where they sit.
//!
//! The GPU finds each window's k-th value by a bitwise search over the
//! values' order keys: 32 counting passes over the window in workgroup
//! memory, no sort, exact for values f32 holds (f32, u8, u16, i16); f64
//! there gives the f32 rounding of the exact result (rounding keeps order).

use rayon::prelude::*;

use super::boundary_index;
use super::extremum::{check_cval, extremum_filter_into, Extremum};
use super::rank_network::{rank_network, NETWORK_MAX, PIECE_ROWS};
use super::{
    check_out, check_scratch, one_mode, windows, Border, BoundaryMode, FilterInfo, Footprint,
};
use crate::array::{Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::ExtremumValue;

/// Which value of each window a rank filter keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rank {
    /// The value of this rank in the window's sorted values (0: the
    /// smallest); negative counts from the largest (−1: the largest), as
    /// scipy's `rank_filter(rank=…)`.
    Index(isize),
    /// The median: rank `n / 2` of the `n` window values (the upper of the
    /// two middle ones when `n` is even), as scipy's `median_filter`.
    Median,
    /// scipy's `percentile_filter(percentile=p)`: rank `int(n · p / 100)`
    /// (`n − 1` for 100); −100 ≤ p < 0 counts as `p + 100`.
    Percentile(f64),
}

impl Rank {
    /// The 0-based rank this asks for in a window of `n` values, by
    /// scipy's rules.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a rank outside the window or a
    /// percentile outside −100 ..= 100.
    pub fn resolve(self, n: usize) -> Result<usize> {
        let rank = match self {
            Self::Index(r) => r,
            Self::Median => (n / 2) as isize,
            Self::Percentile(given) => {
                let p = if given < 0.0 { given + 100.0 } else { given };
                if !(0.0..=100.0).contains(&p) {
                    return Err(Error::invalid(format!(
                        "percentile {given} is outside -100 ..= 100"
                    )));
                }
                if p == 100.0 {
                    n as isize - 1
                } else {
                    // scipy: int(float(n) * p / 100.0), truncated.
                    (n as f64 * p / 100.0) as isize
                }
            }
        };
        let resolved = if rank < 0 { rank + n as isize } else { rank };
        if resolved < 0 || resolved as usize >= n {
            return Err(Error::invalid(format!(
                "rank {rank} is not within a window of {n} values (0 ..= {}, or -{n} ..= -1)",
                n as isize - 1
            )));
        }
        Ok(resolved as usize)
    }
}

/// Element types the rank filters take: those of the minimum and maximum
/// filters (`f32`, `f64`, `u8`, `u16`, `i16`), kept as they are.
pub trait RankValue: ExtremumValue {
    /// An unsigned integer in the values' order, as wide as the value.
    #[doc(hidden)]
    type Key: Copy + Ord + Default + Into<u64> + Send + Sync;
    /// Bytes of [`RankValue::Key`] (radix sort passes).
    #[doc(hidden)]
    const KEY_BYTES: usize = size_of::<Self::Key>();
    /// The order key: numbers by value (−0 below +0), every NaN one key
    /// above every number.
    #[doc(hidden)]
    fn to_key(self) -> Self::Key;
    /// The value of a key (the NaN key gives a NaN).
    #[doc(hidden)]
    fn from_key(key: Self::Key) -> Self;
    /// The GPU path (f32 on the device: exact for these types' values).
    #[doc(hidden)]
    #[cfg(feature = "gpu")]
    fn rank_on_gpu(
        ctx: &crate::GpuContext,
        image: ImageView<'_, Self>,
        rank: usize,
        window: &Footprint,
        at: ([usize; 2], BoundaryMode),
        out: &mut [Self],
    ) -> Result<FilterInfo>;
}

/// The order key of float bits `b` of `BITS` bits: the sign bit set for
/// positives, every bit flipped for negatives, so unsigned order is
/// numeric order.
macro_rules! float_key {
    ($bits:ty, $b:expr) => {{
        let b: $bits = $b;
        if b >> (<$bits>::BITS - 1) == 1 {
            !b
        } else {
            b | 1 << (<$bits>::BITS - 1)
        }
    }};
}

/// The float bits of an order key made by `float_key!`.
macro_rules! key_float {
    ($bits:ty, $k:expr) => {{
        let k: $bits = $k;
        if k >> (<$bits>::BITS - 1) == 1 {
            k ^ 1 << (<$bits>::BITS - 1)
        } else {
            !k
        }
    }};
}

/// An f64's order key (the reference sorts by it).
fn f64_key(v: f64) -> u64 {
    if v.is_nan() {
        u64::MAX
    } else {
        float_key!(u64, v.to_bits())
    }
}

macro_rules! rank_value {
    ($t:ty, $key:ty, |$v:ident| $to:expr, |$k:ident| $from:expr, $gpu:path) => {
        impl RankValue for $t {
            type Key = $key;
            #[inline(always)]
            fn to_key(self) -> $key {
                let $v = self;
                $to
            }
            #[inline(always)]
            fn from_key($k: $key) -> Self {
                $from
            }
            #[cfg(feature = "gpu")]
            fn rank_on_gpu(
                ctx: &crate::GpuContext,
                image: ImageView<'_, Self>,
                rank: usize,
                window: &Footprint,
                at: ([usize; 2], BoundaryMode),
                out: &mut [Self],
            ) -> Result<FilterInfo> {
                $gpu(ctx, image, rank, window, at, out)
            }
        }
    };
}

rank_value!(
    f32,
    u32,
    |v| if v.is_nan() {
        u32::MAX
    } else {
        float_key!(u32, v.to_bits())
    },
    |k| f32::from_bits(key_float!(u32, k)),
    super::gpu::rank
);
rank_value!(
    f64,
    u64,
    |v| f64_key(v),
    |k| f64::from_bits(key_float!(u64, k)),
    super::gpu::rank
);
rank_value!(u8, u8, |v| v, |k| k, rank_through_f32);
rank_value!(u16, u16, |v| v, |k| k, rank_through_f32);
rank_value!(
    i16,
    u16,
    |v| v as u16 ^ 0x8000,
    |k| (k ^ 0x8000) as i16,
    rank_through_f32
);

/// An integer type's GPU rank filter, through f32 (exact for its values).
#[cfg(feature = "gpu")]
fn rank_through_f32<T: RankValue + Into<f32>>(
    ctx: &crate::GpuContext,
    image: ImageView<'_, T>,
    rank: usize,
    window: &Footprint,
    at: ([usize; 2], BoundaryMode),
    out: &mut [T],
) -> Result<FilterInfo> {
    super::extremum::through_f32(image, out, |view, floats| {
        super::gpu::rank(ctx, view, rank, window, at, floats)
    })
}

/// How many values a `size` window holds (refused when that overflows).
pub(crate) fn window_values(size: [usize; 2]) -> Result<usize> {
    let sides_fit = size.iter().all(|&n| isize::try_from(n).is_ok());
    let n = size[0].checked_mul(size[1]).filter(|_| sides_fit);
    n.ok_or_else(|| {
        Error::invalid(format!(
            "a {}x{} window holds more values than this machine can count",
            size[0], size[1]
        ))
    })
}

/// The number of values in a rank filter's window: scipy has no empty
/// footprint, so every side must be at least 1 and a mask must mark a
/// position.
fn rank_window(window: &Footprint) -> Result<usize> {
    let size = window.size();
    if size.contains(&0) {
        return Err(Error::invalid(format!(
            "window size {}x{}: a rank filter needs every side at least 1",
            size[0], size[1]
        )));
    }
    let n = window_values(size)?;
    if window.is_rectangle() {
        return Ok(n);
    }
    match window.len() {
        0 => Err(Error::invalid(format!(
            "a {}x{} footprint that marks no position: a rank filter needs at least one",
            size[0], size[1]
        ))),
        n => Ok(n),
    }
}

/// `scipy.ndimage.rank_filter` (or `median_filter`, `percentile_filter`,
/// by [`Rank`]) over the first two axes of each channel, in a `[rows,
/// columns]` window or any [`Footprint`] (scipy's `footprint=`).
///
/// ```
/// use gpix::{rank_filter, BoundaryMode, Device, ImageView, Rank};
/// let image = [3.0f32, 1.0, 4.0, 1.0, 5.0, 9.0];
/// let view = ImageView::new(&image, 1, 6, 1)?;
/// let out = rank_filter(&Device::Cpu, view, Rank::Median, [1, 3], BoundaryMode::Nearest)?;
/// assert_eq!(out.data(), [3.0, 3.0, 1.0, 4.0, 5.0, 9.0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// `border`: one [`BoundaryMode`] for both axes (scipy's rank filters take
/// no sequence of modes), and scipy's `origin` (anchored in the footprint's
/// rectangle as scipy does). Ranks 0 and n − 1 of a rectangle run the
/// minimum and maximum filters where their results agree (no NaN in the
/// image or the constant; on the CPU rank 0 always). NaNs sort above every
/// number on every device.
///
/// A footprint other than a rectangle costs O(its runs of marked positions
/// per row) per value on the CPU, as a rectangle of its height does.
///
/// # Errors
/// [`Error::InvalidArgument`] for a side of 0 or a footprint marking no
/// position, a rank outside the window,
/// two modes, an origin outside scipy's rule or a constant the type cannot
/// hold; [`Error::Gpu`](crate::Error::Gpu) if a GPU kernel fails;
/// [`Error::TooLarge`](crate::Error::TooLarge) if the tiles' scratch would
/// exceed the memory limit.
pub fn rank_filter<T: RankValue>(
    device: &Device,
    image: ImageView<'_, T>,
    rank: Rank,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    rank_filter_into(device, image, rank, window, border, out.data_mut())?;
    Ok(out)
}

/// [`rank_filter`] with [`Rank::Median`]: scipy's `median_filter`.
///
/// # Errors
/// As [`rank_filter`].
pub fn median_filter<T: RankValue>(
    device: &Device,
    image: ImageView<'_, T>,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    rank_filter(device, image, Rank::Median, window, border)
}

/// [`rank_filter`] with [`Rank::Percentile`]: scipy's `percentile_filter`.
///
/// # Errors
/// As [`rank_filter`].
pub fn percentile_filter<T: RankValue>(
    device: &Device,
    image: ImageView<'_, T>,
    percentile: f64,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    rank_filter(device, image, Rank::Percentile(percentile), window, border)
}

/// The checked anchor, mode and 0-based rank of a rank filter.
fn plan<T: RankValue>(
    rank: Rank,
    window: &Footprint,
    border: &Border,
) -> Result<([usize; 2], BoundaryMode, usize)> {
    let n = rank_window(window)?;
    one_mode(border, "a rank filter")?;
    let anchor = border.anchor(window.size())?;
    check_cval::<T>(border)?;
    let k = rank.resolve(n)?;
    Ok((anchor, border.modes[0], k))
}

/// [`rank_filter`] into a caller-owned buffer of `image.data().len()`
/// values.
///
/// # Errors
/// As [`rank_filter`], and [`Error::InvalidArgument`] for a wrong `out`
/// length.
pub fn rank_filter_into<T: RankValue>(
    device: &Device,
    image: ImageView<'_, T>,
    rank: Rank,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let (window, border) = (window.into(), border.into());
    let (anchor, mode, k) = plan::<T>(rank, &window, &border)?;
    check_out(&image, out.len(), "the output")?;
    let size = window.size();
    let n = window.len();
    // The extremum filters are faster. On the CPU they skip NaNs, which
    // agrees with ranks (NaNs last) for the minimum always and for the
    // maximum when no NaN can reach a window; a GPU's min/max of a NaN is
    // the driver's choice, so there neither may meet one. (A footprint's
    // extremum on a GPU is this rank pass anyway.)
    let nan = || mode.cval().is_nan() || image.data().iter().any(|v| v.is_nan());
    let cpu_or_box = device.is_cpu() || window.is_rectangle();
    let extreme = match k {
        0 if cpu_or_box && (device.is_cpu() || !nan()) => Some(Extremum::Minimum),
        _ if k == n - 1 && cpu_or_box && !nan() => Some(Extremum::Maximum),
        _ => None,
    };
    if let Some(kind) = extreme {
        return extremum_filter_into(device, image, kind, &window, border, out);
    }
    // The networks take whole rectangles; footprints go through the tiles.
    let network = n <= NETWORK_MAX && window.is_rectangle();
    let tile = tile_shape(size, &image);
    check_scratch(
        &format!("a {}x{} rank filter's scratch", size[0], size[1]),
        if network {
            network_bytes::<T>(size, &image)
        } else {
            tile_bytes::<T>(tile, size, image.channels())
        },
        1,
    )?;
    match device {
        Device::Cpu => {
            let how = if network {
                rank_network(image, k, size, (anchor, mode), out);
                "a selection network"
            } else {
                rank_cpu(image, k, &Shape::of(&window), (anchor, mode), tile, out);
                "tiles of ranks and sliding bitsets"
            };
            let shape = window.describe();
            Ok(FilterInfo {
                method: format!(
                    "{}x{} {shape}, rank {k}, by {how} (exact)",
                    size[0], size[1]
                ),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => T::rank_on_gpu(ctx, image, k, &window, (anchor, mode), out),
    }
}

/// How a tile's window moves: a rectangle a column at a time, or a
/// footprint by the positions it loses and gains.
struct Shape {
    size: [usize; 2],
    /// A footprint's moves; `None` for a rectangle.
    moves: Option<Moves>,
}

/// A footprint's marked positions, and those that leave and come per
/// column step ([`Footprint::edges`]), as (row, column) in the window.
struct Moves {
    all: Vec<[usize; 2]>,
    gone: Vec<[usize; 2]>,
    came: Vec<[usize; 2]>,
}

impl Shape {
    fn of(window: &Footprint) -> Self {
        let moves = (!window.is_rectangle()).then(|| {
            let (gone, came) = window.edges();
            Moves {
                all: window.positions(),
                gone,
                came,
            }
        });
        Self {
            size: window.size(),
            moves,
        }
    }
}

/// The definition of [`rank_filter`]: each window's (footprint's) values
/// read through the boundary mode, sorted (NaNs last), the rank's one
/// taken; in f64.
///
/// # Errors
/// As [`rank_filter`] for the arguments.
pub fn rank_filter_reference<T: RankValue>(
    image: ImageView<'_, T>,
    rank: Rank,
    window: impl Into<Footprint>,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let (window, border) = (window.into(), border.into());
    let (anchor, mode, k) = plan::<T>(rank, &window, &border)?;
    let size = window.size();
    let values: Vec<f64> = image.data().iter().map(|&v| v.into_f64()).collect();
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let mut out = vec![0f64; values.len()];
    let mut sorted = Vec::new();
    windows(
        ImageView::new(&values, h, w, c)?,
        size,
        (anchor, [mode; 2]),
        |i, v| {
            sorted.clear();
            let marked = (0..v.len()).filter(|p| window.contains(p / size[1], p % size[1]));
            sorted.extend(marked.map(|p| v[p]));
            sorted.sort_by_key(|&x| f64_key(x));
            out[i] = sorted[k];
        },
    );
    Image::from_vec(out, h, w, c)
}

/// Output rows and columns of a tile along an axis with a window of `n`:
/// large enough that the halo (`n − 1`) is a small share of what a tile
/// sorts, small enough that its ranks stay in L1/L2.
fn tile_side(n: usize) -> usize {
    64.max(2 * n)
}

/// A tile's `[rows, columns]` of outputs for `size` over `image`.
fn tile_shape<T: RankValue>(size: [usize; 2], image: &ImageView<'_, T>) -> [usize; 2] {
    [
        tile_side(size[0]).min(image.height().max(1)),
        tile_side(size[1]).min(image.width().max(1)),
    ]
}

/// Bytes one worker's network scratch takes: a piece's input rows as keys
/// and one extended row (`None`: overflow).
fn network_bytes<T: RankValue>(size: [usize; 2], image: &ImageView<'_, T>) -> Option<u128> {
    let ext = (image.width() as u128 + size[1] as u128) * image.channels() as u128;
    let rows = PIECE_ROWS as u128 + size[0] as u128;
    ext.checked_mul(rows * size_of::<T::Key>() as u128 + size_of::<T>() as u128)
}

/// Bytes one worker's tile scratch takes (`None`: overflow).
fn tile_bytes<T: RankValue>(tile: [usize; 2], size: [usize; 2], c: usize) -> Option<u128> {
    let region = (tile[0] as u128 + size[0] as u128) * (tile[1] as u128 + size[1] as u128);
    // Values, two sort buffers of u128, order and ranks (u32), the bitset;
    // and the tile's outputs.
    let per_value = size_of::<T>() as u128 + 32 + 8 + 1;
    region
        .checked_mul(per_value)?
        .checked_add(tile[0] as u128 * tile[1] as u128 * c as u128 * size_of::<T>() as u128)
}

/// The CPU path: bands of tile rows in parallel, and the tiles of a band
/// in parallel too (a tall thin or short wide image still fills the cores).
fn rank_cpu<T: RankValue>(
    image: ImageView<'_, T>,
    k: usize,
    shape: &Shape,
    at: ([usize; 2], BoundaryMode),
    [th, tw]: [usize; 2],
    out: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 {
        return;
    }
    out.par_chunks_mut(th * row_len)
        .enumerate()
        .for_each(|(b, band)| {
            let rows = b * th..b * th + band.len() / row_len;
            let tiles: Vec<(usize, Vec<T>)> = (0..w.div_ceil(tw))
                .into_par_iter()
                .map(|t| {
                    let cols = t * tw..((t + 1) * tw).min(w);
                    let mut s = TileScratch::<T>::take();
                    let mut result = vec![T::default(); rows.len() * cols.len() * c];
                    for ch in 0..c {
                        let tile = Tile {
                            rows: rows.clone(),
                            cols: cols.clone(),
                            ch,
                        };
                        tile_ranks(image, k, shape, at, &tile, &mut s, &mut result);
                    }
                    s.give_back();
                    (cols.start, result)
                })
                .collect();
            for (x0, result) in tiles {
                let n = result.len() / rows.len();
                for (dst, src) in band.chunks_exact_mut(row_len).zip(result.chunks_exact(n)) {
                    dst[x0 * c..x0 * c + n].copy_from_slice(src);
                }
            }
        });
}

/// One channel of a rectangle of outputs.
struct Tile {
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    ch: usize,
}

/// A worker's reused buffers.
#[derive(Default)]
struct TileScratch<T> {
    /// The tile's input values, column by column.
    values: Vec<T>,
    /// (key, position) pairs and the radix sort's second buffer.
    pairs: Vec<u128>,
    spare: Vec<u128>,
    /// Positions in order of value: `order[r]` holds rank `r`.
    order: Vec<u32>,
    /// Ranks by position (column by column, as `values`).
    ranks: Vec<u32>,
    /// The window's ranks.
    bits: Vec<u64>,
    /// Input positions of the region's rows and columns (`None`: cval).
    ys: Vec<Option<usize>>,
    xs: Vec<Option<usize>>,
}

impl<T: RankValue> TileScratch<T> {
    /// This thread's kept scratch of `T`, or a new one.
    fn take() -> Self {
        super::scratch::take()
    }

    /// Keeps the buffers for this thread's next tile, unless large.
    fn give_back(self) {
        use super::scratch::capacity_bytes as bytes;
        let held = bytes(&self.values)
            + bytes(&self.pairs)
            + bytes(&self.spare)
            + bytes(&self.order)
            + bytes(&self.ranks)
            + bytes(&self.bits);
        super::scratch::give_back(self, held);
    }
}

/// Rank `k` of every window of one tile channel, into `result` (the tile's
/// rows × columns × channels).
fn tile_ranks<T: RankValue>(
    image: ImageView<'_, T>,
    k: usize,
    shape: &Shape,
    ([top, left], mode): ([usize; 2], BoundaryMode),
    tile: &Tile,
    s: &mut TileScratch<T>,
    result: &mut [T],
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let [ny, nx] = shape.size;
    let (th, tw) = (tile.rows.len(), tile.cols.len());
    let (rh, rw) = (th + ny - 1, tw + nx - 1);
    let first = |start: usize, anchor: usize| start as i64 - anchor as i64;
    s.ys.clear();
    s.ys.extend((0..rh as i64).map(|i| boundary_index(first(tile.rows.start, top) + i, h, mode)));
    s.xs.clear();
    s.xs.extend((0..rw as i64).map(|j| boundary_index(first(tile.cols.start, left) + j, w, mode)));
    // Checked by `check_cval`: the constant is a value of `T`.
    let cval = T::from_cval(mode.cval()).unwrap_or_default();
    s.values.clear();
    for &x in &s.xs {
        s.values.extend(s.ys.iter().map(|&y| match (y, x) {
            (Some(y), Some(x)) => image.data()[(y * w + x) * c + tile.ch],
            _ => cval,
        }));
    }
    rank_values(s);
    if let Some(moves) = &shape.moves {
        footprint_tile(k, moves, [th, tw], (rh, tile.ch, c), s, result);
        return;
    }
    let bits_len = (rh * rw).div_ceil(64);
    for oy in 0..th {
        s.bits.clear();
        s.bits.resize(bits_len, 0);
        let mut cursor = Cursor::default();
        for j in 0..nx {
            for &r in &s.ranks[j * rh + oy..][..ny] {
                cursor.flip(&mut s.bits, r, true);
            }
        }
        for ox in 0..tw {
            if ox > 0 {
                let gone = &s.ranks[(ox - 1) * rh + oy..][..ny];
                let came = &s.ranks[(ox + nx - 1) * rh + oy..][..ny];
                for (&g, &n) in gone.iter().zip(came) {
                    cursor.flip(&mut s.bits, g, false);
                    cursor.flip(&mut s.bits, n, true);
                }
            }
            let r = cursor.select(&s.bits, k);
            result[(oy * tw + ox) * c + tile.ch] = s.values[s.order[r] as usize];
        }
    }
}

/// [`tile_ranks`] after the sort, for a footprint: each row of outputs
/// starts from the footprint's positions and moves by its edges.
fn footprint_tile<T: RankValue>(
    k: usize,
    moves: &Moves,
    [th, tw]: [usize; 2],
    (rh, ch, c): (usize, usize, usize),
    s: &mut TileScratch<T>,
    result: &mut [T],
) {
    // Region position (row y, column x) is s.ranks[x * rh + y].
    let bits_len = s.ranks.len().div_ceil(64);
    for oy in 0..th {
        s.bits.clear();
        s.bits.resize(bits_len, 0);
        let mut cursor = Cursor::default();
        for &[i, j] in &moves.all {
            cursor.flip(&mut s.bits, s.ranks[j * rh + oy + i], true);
        }
        for ox in 0..tw {
            if ox > 0 {
                // The window at ox − 1 moves to ox.
                let at = |[i, j]: [usize; 2]| (ox - 1 + j) * rh + oy + i;
                for &p in &moves.gone {
                    cursor.flip(&mut s.bits, s.ranks[at(p)], false);
                }
                for &p in &moves.came {
                    cursor.flip(&mut s.bits, s.ranks[at(p)], true);
                }
            }
            let r = cursor.select(&s.bits, k);
            result[(oy * tw + ox) * c + ch] = s.values[s.order[r] as usize];
        }
    }
}

/// Sorts `s.values` by key (radix, stable, so ties keep position order)
/// into `s.order` and `s.ranks`.
fn rank_values<T: RankValue>(s: &mut TileScratch<T>) {
    let n = s.values.len();
    s.pairs.clear();
    s.pairs.extend(
        s.values
            .iter()
            .enumerate()
            .map(|(p, v)| u128::from(v.to_key().into()) << 32 | p as u128),
    );
    s.spare.resize(n, 0);
    // Every digit's histogram in one read.
    let mut counts = vec![[0u32; 256]; T::KEY_BYTES];
    for &p in &s.pairs {
        for (d, count) in counts.iter_mut().enumerate() {
            count[(p >> (32 + 8 * d)) as usize & 255] += 1;
        }
    }
    for (d, count) in counts.iter_mut().enumerate() {
        // A digit all values share moves nothing.
        if count.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut at = 0u32;
        for c in count.iter_mut() {
            let here = *c;
            *c = at;
            at += here;
        }
        for &p in &s.pairs {
            let slot = &mut count[(p >> (32 + 8 * d)) as usize & 255];
            s.spare[*slot as usize] = p;
            *slot += 1;
        }
        std::mem::swap(&mut s.pairs, &mut s.spare);
    }
    s.order.clear();
    s.order.extend(s.pairs.iter().map(|&p| p as u32));
    s.ranks.resize(n, 0);
    for (r, &p) in s.order.iter().enumerate() {
        s.ranks[p as usize] = r as u32;
    }
}

/// Where the window's k-th rank was last found: a word of the bitset and
/// how many ranks lie in the words before it.
#[derive(Default)]
struct Cursor {
    word: usize,
    below: usize,
}

impl Cursor {
    /// Sets (`on`) or clears rank `r`.
    #[inline(always)]
    fn flip(&mut self, bits: &mut [u64], r: u32, on: bool) {
        let (word, bit) = (r as usize / 64, r % 64);
        bits[word] ^= 1 << bit;
        if word < self.word {
            if on {
                self.below += 1;
            } else {
                self.below -= 1;
            }
        }
    }

    /// The `k`-th smallest rank set (0-based; `k` < ranks set).
    #[inline(always)]
    fn select(&mut self, bits: &[u64], k: usize) -> usize {
        loop {
            if self.below > k {
                self.word -= 1;
                self.below -= bits[self.word].count_ones() as usize;
                continue;
            }
            let here = bits[self.word].count_ones() as usize;
            if self.below + here <= k {
                self.below += here;
                self.word += 1;
                continue;
            }
            break;
        }
        let mut word = bits[self.word];
        for _ in 0..k - self.below {
            word &= word - 1;
        }
        self.word * 64 + word.trailing_zeros() as usize
    }
}
