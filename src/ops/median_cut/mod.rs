//! Colour histograms and the median-cut palette builder.
//!
//! - [`histogram_u8`] / [`histogram_u16`]: the unique colours of an integer
//!   image with their pixel counts, sorted by colour; [`RgbCounter`] counts
//!   an RGB `u8` image piece by piece (while it decodes).
//! - [`median_cut`]: at most `k` palette colours from a [`Histogram`].
//! - [`median_cut_levels`] / [`median_cut_levels_f32`]: at most `k` grey
//!   levels from float values.
//!
//! Everything here is deterministic: no result depends on thread count,
//! scheduling or hash iteration order.
//!
//! # How the histograms are counted
//!
//! - When a pixel packs into at most 24 bits (8-bit images with 1–3 channels,
//!   16-bit greyscale) and the image is large enough to pay for it, every
//!   possible colour gets a counter in a dense table. Rows are split into
//!   one band per thread, each band counts into its own table (no atomics, so
//!   a flat background costs no contention), and the tables are summed in one
//!   parallel scan that emits the colours already sorted. The 24-bit (RGB)
//!   tables hold `u8` counters and list the colours whose counter wrapped
//!   (256 pixels each): 16 MiB a table, a quarter of the fresh memory of
//!   `u32` counters, which costs more to fault in than the counting (see
//!   `RgbTable`); at most 8 are used at once.
//!   Chunks whose colours look like noise are grouped by red first so the
//!   increments stay in cache.
//! - Otherwise each band counts packed `u64` keys in a hash map (runs of equal
//!   pixels are counted before touching the map, so flat areas are nearly
//!   free), sorts its keys, and the sorted band lists are merged. If the map
//!   outgrows the cache while still gaining a new colour for many pixels
//!   (noise, or 16-bit data where most pixels are unique), the image is
//!   instead bucketed and radix-sorted in parallel, which is several times
//!   faster for such data.
//! - Pixels that do not pack into 64 bits (more than 8 channels of `u8` or 4 of
//!   `u16`) are sorted as slices.
//!
//! Packing puts channel 0 in the highest bits, so the numeric order of keys is
//! the lexicographic order of colours.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use rayon::prelude::*;

use crate::array::ImageView;
use crate::error::{Error, Result};
use crate::palette::{Levels, Palette, MAX_PALETTE_LEN};

mod marginals;

use marginals::Marginals;

/// Unique colours of an integer image with their pixel counts, sorted
/// ascending by colour (lexicographic over channels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// Values per colour.
    pub channels: usize,
    /// The unique colours, `channels` values each, colour after colour.
    pub colors: Vec<u16>,
    /// Pixels of each colour (`colors.len() / channels` entries).
    pub counts: Vec<u64>,
}

impl Histogram {
    /// An empty histogram (an image with no pixels).
    #[must_use]
    pub fn empty(channels: usize) -> Self {
        Self {
            channels,
            colors: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Number of unique colours.
    #[must_use]
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when the image had no pixels.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Total number of pixels (saturating, for hand-built histograms).
    #[must_use]
    pub fn pixels(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &b| a.saturating_add(b))
    }
}

/// The histogram of an 8-bit image.
#[must_use]
pub fn histogram_u8(image: ImageView<'_, u8>) -> Histogram {
    let c = image.channels();
    let data = image.data();
    if data.is_empty() {
        return Histogram::empty(c);
    }
    match c {
        1 => dense_small::<u8, 1>(data, 8),
        2 => dense_small::<u8, 2>(data, 8),
        3 if prefer_big_dense(image.pixels()) => dense_rgb(data),
        _ => hashed_any(data, c, 8),
    }
}

/// The histogram of a 16-bit image.
#[must_use]
pub fn histogram_u16(image: ImageView<'_, u16>) -> Histogram {
    let c = image.channels();
    let data = image.data();
    if data.is_empty() {
        return Histogram::empty(c);
    }
    match c {
        1 => dense_small::<u16, 1>(data, 16),
        _ => hashed_any(data, c, 16),
    }
}

// ---------------------------------------------------------------------------
// Histogram internals
// ---------------------------------------------------------------------------

/// The most 16 MiB (24-bit) count tables alive at once; beyond this many
/// threads the extra memory buys little and could exhaust a large machine.
const MAX_BIG_TABLES: usize = 8;

/// A 24-bit dense table costs ~25 ms to fault in and scan whatever the image
/// (measured with `u32` counters, 4 times today's 16 MiB),
/// so smaller images use the hash map (measured at 1448×1448 on 2 cores:
/// 5 ms against 26 ms for a photo-like image, 40 ms against 41 ms when noisy).
const BIG_DENSE_MIN_PIXELS: usize = 1 << 21;

/// Pixels per band below which splitting the work across threads costs more
/// than it saves.
const MIN_BAND_PIXELS: usize = 1 << 16;

/// Table entries summed per parallel task in [`nonzero_counts`].
const SCAN_BLOCK: usize = 1 << 16;

/// Largest band that `u32` counters can count without wrapping.
const MAX_BAND_PIXELS: usize = u32::MAX as usize;

/// Integer sample types the histograms accept.
trait Sample: Copy + Send + Sync + Ord {
    fn to_u64(self) -> u64;
    fn to_u16(self) -> u16;
}

impl Sample for u8 {
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
    fn to_u16(self) -> u16 {
        u16::from(self)
    }
}

impl Sample for u16 {
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
    fn to_u16(self) -> u16 {
        self
    }
}

/// One pixel as a key whose numeric order is the lexicographic order of the
/// pixel (channel 0 in the highest bits). Needs `px.len() * bits <= 64`.
#[inline(always)]
fn pack<T: Sample>(px: &[T], bits: u32) -> u64 {
    px.iter().fold(0u64, |key, &v| (key << bits) | v.to_u64())
}

/// The packed keys of the pixels of `data`.
fn packed_keys<T: Sample>(
    data: &[T],
    channels: usize,
    bits: u32,
) -> impl Iterator<Item = u64> + '_ {
    data.chunks_exact(channels).map(move |px| pack(px, bits))
}

/// Writes the `out.len()` values packed in `key` to `out`.
fn unpack_into(out: &mut [u16], key: u64, bits: u32) {
    let mask = (1u64 << bits) - 1;
    for (i, v) in out.iter_mut().rev().enumerate() {
        // `i * bits < 64` because the key was packed from `out.len()` values.
        *v = ((key >> (i as u32 * bits)) & mask) as u16;
    }
}

/// Appends the `channels` values packed in `key` to `out`.
fn push_unpacked(out: &mut Vec<u16>, key: u64, channels: usize, bits: u32) {
    let start = out.len();
    out.resize(start + channels, 0);
    unpack_into(&mut out[start..], key, bits);
}

/// How many bands to split `pixels` pixels into for parallel counting.
fn band_count(pixels: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    threads.min(pixels.div_ceil(MIN_BAND_PIXELS)).max(1)
}

/// Whether a 24-bit dense table is the right tool for an RGB `u8` image of
/// `pixels` pixels: large enough to amortise the table (its counters count
/// any number of pixels).
fn prefer_big_dense(pixels: usize) -> bool {
    pixels >= BIG_DENSE_MIN_PIXELS
}

/// Dense-table histogram for pixels of `C` channels of `bits` bits with
/// `C * bits <= 16`: tables of at most 65536 counters, so any number of bands
/// is cheap.
fn dense_small<T: Sample, const C: usize>(data: &[T], bits: u32) -> Histogram {
    let table_len = 1usize << (C as u32 * bits);
    let pixels = data.len() / C;
    // u32 counters must not wrap: no band may exceed `MAX_BAND_PIXELS`.
    let bands = band_count(pixels).max(pixels.div_ceil(MAX_BAND_PIXELS));
    let band_len = pixels.div_ceil(bands).max(1) * C;
    let tables: Vec<Vec<u32>> = data
        .par_chunks(band_len)
        .map(|band| {
            let mut table = vec![0u32; table_len];
            count_direct::<T, C>(band, bits, &mut table);
            table
        })
        .collect();
    sum_tables(&tables, C, bits)
}

/// Dense-table histogram of RGB `u8` pixels: one [`RgbTable`] per band. The
/// caller checks [`prefer_big_dense`].
fn dense_rgb(data: &[u8]) -> Histogram {
    let pixels = data.len() / 3;
    let bands = band_count(pixels).min(MAX_BIG_TABLES);
    let band_len = pixels.div_ceil(bands).max(1) * 3;
    let tables: Vec<RgbTable> = data.par_chunks(band_len).map(count_rgb_band).collect();
    sum_rgb_tables(&tables)
}

/// Counters for every 8-bit RGB colour: a byte each, plus the colours whose
/// counter wrapped past 255, each entry 256 more pixels of that colour (one
/// push per 256 pixels at most, so a flat image's list stays a 256th of its
/// pixels). A quarter of the memory of `u32` counters matters more than the
/// wraps: a fresh table's first touch (zeroing pages, and on a VM the host
/// backing them) costs more than counting a 4000² photo into it
/// (`gpix quantize --colors 256` on a 4000² photo, 2-vCPU VM: palette phase
/// median 281 ms with `u32` counters, 197 ms with `u16`, 180 ms with `u8`).
struct RgbTable {
    counts: Vec<u8>,
    wrapped: Vec<u32>,
}

impl std::fmt::Debug for RgbTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the 2^24 counters.
        f.debug_struct("RgbTable")
            .field("wrapped", &self.wrapped.len())
            .finish_non_exhaustive()
    }
}

impl RgbTable {
    fn new() -> Self {
        Self {
            counts: vec![0; 1 << 24],
            wrapped: Vec::new(),
        }
    }

    /// One more pixel of the colour `key` (red in the high bits).
    #[inline(always)]
    fn add(counts: &mut [u8], wrapped: &mut Vec<u32>, key: usize) {
        // In bounds: keys are 24-bit and the table has 2^24 counters.
        let n = counts[key].wrapping_add(1);
        counts[key] = n;
        if n == 0 {
            wrapped.push(key as u32);
        }
    }
}

/// Pixels per chunk of [`count_rgb_band`]; each chunk picks its own method.
/// Large, because a grouped chunk streams the whole table through the cache
/// once: at 2^24 pixels that is a byte of table traffic per pixel (with
/// 64 MiB of `u32` counters at 2^20 it was 64, and took 1.8 s of the 12000²
/// noisy histogram's 2.6 s of thread time). The grouped scratch is 2 bytes
/// per pixel: 32 MiB.
const RGB_CHUNK: usize = 1 << 24;

/// Pixels sampled (evenly spaced) from a chunk to estimate how many distinct
/// colours it has.
const RGB_SAMPLE: usize = 1 << 11;

/// Distinct colours above which a chunk's counters no longer stay in cache
/// when incremented directly (64 Ki colours touch up to 4 MiB of table lines).
const CACHED_COLOURS: usize = 1 << 16;

/// Counts one band of RGB `u8` pixels into a fresh table.
///
/// Incrementing the table directly is fastest when a chunk of neighbouring
/// pixels uses few enough colours that their counters stay in cache (photos,
/// drawings). When it does not (noise), nearly every increment misses the
/// cache and the TLB, so such chunks are first grouped by red, which confines
/// each group's increments to one 64 KiB slice of the table. Either way the
/// counts are the same; only the speed differs.
fn count_rgb_band(band: &[u8]) -> RgbTable {
    let mut table = RgbTable::new();
    count_rgb_chunks(band, &mut table, &mut Vec::new(), &mut Vec::new());
    table
}

/// Counts RGB `u8` pixels into `table`, chunk by chunk with the method each
/// chunk suits. `sample` and `grouped` are scratch space.
fn count_rgb_chunks(
    pixels: &[u8],
    table: &mut RgbTable,
    sample: &mut Vec<u64>,
    grouped: &mut Vec<u16>,
) {
    for chunk in pixels.chunks(RGB_CHUNK * 3) {
        if many_colours(chunk, sample) {
            count_rgb_grouped(chunk, table, grouped);
        } else {
            count_rgb_direct(chunk, table);
        }
    }
}

/// Adds each RGB `u8` pixel of `pixels` to its counter.
fn count_rgb_direct(pixels: &[u8], table: &mut RgbTable) {
    let RgbTable { counts, wrapped } = table;
    for px in pixels.chunks_exact(3) {
        RgbTable::add(counts, wrapped, pack(px, 8) as usize);
    }
}

/// Counts the colours of an RGB `u8` image handed over in pieces, such as
/// the bands of rows [`crate::io::read_image_in_bands`] gives while the rest
/// of the image decodes, so that counting overlaps decoding.
/// [`RgbCounter::finish`] gives the same histogram as [`histogram_u8`] of
/// the whole image.
///
/// ```
/// use gpix::ops::median_cut::{histogram_u8, RgbCounter};
/// use gpix::ImageView;
///
/// let pixels = [1u8, 2, 3, 1, 2, 3, 9, 9, 9];
/// let mut counter = RgbCounter::new();
/// counter.add(&pixels[..6]);
/// counter.add(&pixels[6..]);
/// let whole = histogram_u8(ImageView::new(&pixels, 1, 3, 3).unwrap());
/// assert_eq!(counter.finish(), whole);
/// ```
#[derive(Debug, Default)]
pub struct RgbCounter {
    /// Made on the first [`RgbCounter::add`].
    table: Option<RgbTable>,
    sample: Vec<u64>,
    grouped: Vec<u16>,
}

impl RgbCounter {
    /// Pieces of about this many pixels count fastest: smaller ones stream
    /// the table through the cache more often when grouped.
    pub const PIECE_PIXELS: usize = RGB_CHUNK;

    /// A counter with nothing counted. Its table (16 MiB) is allocated on
    /// the first [`RgbCounter::add`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether counting an image of `pixels` pixels this way pays for the
    /// table (the whole-image histogram makes the same choice).
    #[must_use]
    pub fn suits(pixels: usize) -> bool {
        prefer_big_dense(pixels)
    }

    /// Counts the RGB pixels of `pixels` (3 values each; a trailing partial
    /// pixel is ignored).
    pub fn add(&mut self, pixels: &[u8]) {
        let pixels = &pixels[..pixels.len() / 3 * 3];
        if pixels.is_empty() {
            return;
        }
        let table = self.table.get_or_insert_with(RgbTable::new);
        count_rgb_chunks(pixels, table, &mut self.sample, &mut self.grouped);
    }

    /// The histogram of everything counted.
    #[must_use]
    pub fn finish(self) -> Histogram {
        match self.table {
            Some(table) => sum_rgb_tables(std::slice::from_ref(&table)),
            None => Histogram::empty(3),
        }
    }
}

/// Whether `chunk` (RGB `u8`) probably has more than [`CACHED_COLOURS`]
/// distinct colours. Estimated from repeats in an evenly spaced sample of `n`
/// pixels: among `D` equally common colours about `n² / 2D` sample pairs
/// repeat, so `D > CACHED_COLOURS` when fewer than `n² / 2·CACHED_COLOURS`
/// repeat (32 of a 2048-pixel sample). Skewed photo palettes repeat more and
/// stay direct, which suits them: their common colours are the cached ones.
/// `sample` is scratch space.
fn many_colours(chunk: &[u8], sample: &mut Vec<u64>) -> bool {
    let stride = (chunk.len() / 3 / RGB_SAMPLE).max(1);
    sample.clear();
    sample.extend(chunk.chunks_exact(3).step_by(stride).map(|px| pack(px, 8)));
    let n = sample.len();
    sample.sort_unstable();
    sample.dedup();
    let repeats = n - sample.len();
    repeats.saturating_mul(2 * CACHED_COLOURS) < n * n
}

/// Adds each pixel of `pixels` to its counter in `table` (`2^(C·bits)` long).
fn count_direct<T: Sample, const C: usize>(pixels: &[T], bits: u32, table: &mut [u32]) {
    for px in pixels.chunks_exact(C) {
        // In bounds: the table has a counter for every packed key.
        let slot = &mut table[pack(px, bits) as usize];
        // Cannot wrap: a band holds at most `MAX_BAND_PIXELS` pixels.
        *slot = slot.wrapping_add(1);
    }
}

/// Counts RGB `u8` pixels by red value: a counting sort of their green-blue
/// pairs into `grouped` (scratch space), then one pass per red value over its
/// 65536-counter slice of `table`.
fn count_rgb_grouped(pixels: &[u8], table: &mut RgbTable, grouped: &mut Vec<u16>) {
    grouped.clear();
    grouped.resize(pixels.len() / 3, 0);
    let mut starts = [0usize; 257];
    for px in pixels.chunks_exact(3) {
        starts[usize::from(px[0]) + 1] += 1;
    }
    for red in 0..256 {
        starts[red + 1] += starts[red];
    }
    let mut next = starts;
    for px in pixels.chunks_exact(3) {
        let at = &mut next[usize::from(px[0])];
        // In bounds: the starts partition `0..pixels.len() / 3`.
        grouped[*at] = u16::from(px[1]) << 8 | u16::from(px[2]);
        *at += 1;
    }
    let RgbTable { counts, wrapped } = table;
    for red in 0..256 {
        for &green_blue in &grouped[starts[red]..starts[red + 1]] {
            RgbTable::add(counts, wrapped, red << 16 | usize::from(green_blue));
        }
    }
}

/// Sums the band tables and lists the non-zero entries, which come out in key
/// (hence colour) order.
fn sum_tables(tables: &[Vec<u32>], channels: usize, bits: u32) -> Histogram {
    let table_len = tables.first().map_or(0, Vec::len);
    nonzero_counts(table_len, channels, bits, |_| {
        |key| tables.iter().map(|t| u64::from(t[key])).sum()
    })
}

/// Sums RGB band tables like [`sum_tables`], adding 256 pixels for each
/// time a colour's counter wrapped.
fn sum_rgb_tables(tables: &[RgbTable]) -> Histogram {
    let mut wrapped: Vec<u32> = tables
        .iter()
        .flat_map(|t| t.wrapped.iter().copied())
        .collect();
    wrapped.sort_unstable();
    nonzero_counts(1 << 24, 3, 8, |keys| {
        let first = wrapped.partition_point(|&k| (k as usize) < keys.start);
        let mut wraps = wrapped[first..].iter().peekable();
        move |key| {
            let mut n: u64 = tables.iter().map(|t| u64::from(t.counts[key])).sum();
            while wraps.next_if(|&&k| k as usize == key).is_some() {
                n += 1 << 8;
            }
            n
        }
    })
}

/// The keys `0..table_len` with a non-zero count, in key (hence colour)
/// order, scanned in parallel blocks of [`SCAN_BLOCK`]: `counter(block)`
/// gives the count of each key of the block, asked in ascending order.
fn nonzero_counts<F: FnMut(usize) -> u64>(
    table_len: usize,
    channels: usize,
    bits: u32,
    counter: impl Fn(Range<usize>) -> F + Sync,
) -> Histogram {
    let parts: Vec<(Vec<u16>, Vec<u64>)> = (0..table_len.div_ceil(SCAN_BLOCK))
        .into_par_iter()
        .map(|block| {
            let keys = block * SCAN_BLOCK..((block + 1) * SCAN_BLOCK).min(table_len);
            let mut count = counter(keys.clone());
            let mut colors = Vec::new();
            let mut counts = Vec::new();
            for key in keys {
                let n = count(key);
                if n > 0 {
                    push_unpacked(&mut colors, key as u64, channels, bits);
                    counts.push(n);
                }
            }
            (colors, counts)
        })
        .collect();
    concat_parts(parts, channels)
}

/// Joins per-block results, kept in block order.
fn concat_parts(parts: Vec<(Vec<u16>, Vec<u64>)>, channels: usize) -> Histogram {
    let n: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut out = Histogram {
        channels,
        colors: Vec::with_capacity(n * channels),
        counts: Vec::with_capacity(n),
    };
    for (colors, counts) in parts {
        out.colors.extend_from_slice(&colors);
        out.counts.extend_from_slice(&counts);
    }
    out
}

/// Histogram of pixels too many for a dense table: packed keys counted in
/// hash maps when a pixel fits 64 bits, slice sorting otherwise.
fn hashed_any<T: Sample>(data: &[T], channels: usize, bits: u32) -> Histogram {
    // Constant channel counts let the compiler unroll `pack` for common cases.
    match channels {
        1 => hashed::<T, 1>(data, bits),
        2 => hashed::<T, 2>(data, bits),
        3 => hashed::<T, 3>(data, bits),
        4 => hashed::<T, 4>(data, bits),
        c if c as u64 * u64::from(bits) <= 64 => hashed_impl(data, c, bits),
        c => sorted_slices(data, c),
    }
}

/// [`hashed_impl`] with the channel count known at compile time.
fn hashed<T: Sample, const C: usize>(data: &[T], bits: u32) -> Histogram {
    hashed_impl(data, C, bits)
}

/// Counts packed keys per band in hash maps and merges the sorted bands. If
/// any band finds the colours too scattered for a hash map, the whole image
/// is counted by [`radix_histogram`] instead; the result is the same.
#[inline(always)]
fn hashed_impl<T: Sample>(data: &[T], channels: usize, bits: u32) -> Histogram {
    let pixels = data.len() / channels;
    let band_len = pixels.div_ceil(band_count(pixels)).max(1) * channels;
    let give_up = AtomicBool::new(false);
    let merged = data
        .par_chunks(band_len)
        .map(|band| count_hashed(band, channels, bits, &give_up))
        .reduce(
            || Some(Vec::new()),
            |a, b| a.zip(b).map(|(a, b)| merge_sorted_counts(&a, &b)),
        );
    let Some(merged) = merged else {
        return radix_histogram(data, channels, bits);
    };
    let mut out = Histogram {
        channels,
        colors: Vec::with_capacity(merged.len() * channels),
        counts: Vec::with_capacity(merged.len()),
    };
    for (key, n) in merged {
        push_unpacked(&mut out.colors, key, channels, bits);
        out.counts.push(n);
    }
    out
}

/// A fast hasher for packed pixel keys: one folded 64×64→128-bit multiply
/// mixes every key bit into both the low bits (bucket index) and the high
/// bits (control byte) the standard hash map uses. Not DoS-resistant, which
/// does not matter for counting pixels.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline(always)]
    fn write_u64(&mut self, x: u64) {
        const SEED: u64 = 0x243f_6a88_85a3_08d3;
        const MUL: u64 = 0x9e37_79b9_7f4a_7c15;
        let m = u128::from(x ^ self.0 ^ SEED) * u128::from(MUL);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

type KeyMap = HashMap<u64, u64, BuildHasherDefault<KeyHasher>>;

/// Pixels counted into the hash map between checks of its growth.
const HASH_CHUNK: usize = 1 << 18;

/// Entries beyond which a hash map no longer fits in cache; only then may
/// [`count_hashed`] give up on it.
const HASH_MAX_CACHED: usize = 1 << 20;

/// One band's `(key, count)` list, sorted by key, or `None` if the band's
/// colours are too scattered for a hash map (or another band said so through
/// `give_up`).
///
/// A hash map is fastest while colours repeat: it stays small and in cache.
/// Once it has outgrown the cache while the last chunk still added a new
/// colour for more than a quarter of its pixels (noise, or a 16-bit image
/// where nearly every pixel is unique), every pixel would miss the cache, and
/// the radix sort of [`radix_histogram`] is several times faster.
fn count_hashed<T: Sample>(
    band: &[T],
    channels: usize,
    bits: u32,
    give_up: &AtomicBool,
) -> Option<Vec<(u64, u64)>> {
    let mut map = KeyMap::default();
    for chunk in band.chunks(HASH_CHUNK * channels) {
        if give_up.load(AtomicOrdering::Relaxed) {
            return None;
        }
        let before = map.len();
        count_runs_into(&mut map, chunk, channels, bits);
        let added = map.len() - before;
        if map.len() > HASH_MAX_CACHED && added * 4 > chunk.len() / channels {
            give_up.store(true, AtomicOrdering::Relaxed);
            return None;
        }
    }
    let mut list: Vec<(u64, u64)> = map.into_iter().collect();
    // Keys are unique, so the unstable sort is still deterministic.
    list.sort_unstable_by_key(|&(key, _)| key);
    Some(list)
}

/// Adds the pixels of `pixels` to `map`, counting runs of equal neighbours
/// before touching the map (flat areas then cost almost nothing).
fn count_runs_into<T: Sample>(map: &mut KeyMap, pixels: &[T], channels: usize, bits: u32) {
    let mut keys = packed_keys(pixels, channels, bits);
    let Some(first) = keys.next() else { return };
    let (mut run_key, mut run_len) = (first, 1u64);
    for key in keys {
        if key == run_key {
            run_len += 1;
        } else {
            *map.entry(run_key).or_insert(0) += run_len;
            (run_key, run_len) = (key, 1);
        }
    }
    *map.entry(run_key).or_insert(0) += run_len;
}

/// Merges two key-sorted lists, adding the counts of equal keys.
fn merge_sorted_counts(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        match x.0.cmp(&y.0) {
            Ordering::Less => {
                out.push(x);
                i += 1;
            }
            Ordering::Greater => {
                out.push(y);
                j += 1;
            }
            Ordering::Equal => {
                out.push((x.0, x.1 + y.1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Histogram of packed keys by sorting them all, for scattered colours.
///
/// One pass finds the highest key bits that vary and buckets the keys by the
/// 8 bits below that point (each band scatters into its own share of each
/// bucket, so the bands run in parallel without locks). Every bucket is then
/// radix-sorted on its own, in parallel, and the buckets are already in key
/// order; a last parallel pass run-length counts them straight into the
/// output, sized exactly beforehand.
fn radix_histogram<T: Sample>(data: &[T], channels: usize, bits: u32) -> Histogram {
    let pixels = data.len() / channels;
    let band_len = pixels.div_ceil(band_count(pixels)).max(1) * channels;
    let keys = |band| packed_keys(band, channels, bits);
    // Bits where not all keys agree; the buckets split on the highest byte of them.
    let varying = data
        .par_chunks(band_len)
        .map(|band| keys(band).fold((0u64, u64::MAX), |(or, and), k| (or | k, and & k)))
        .reduce(|| (0, u64::MAX), |a, b| (a.0 | b.0, a.1 & b.1));
    let shift = (64 - (varying.0 ^ varying.1).leading_zeros()).saturating_sub(8);
    let bucket_of = |key: u64| ((key >> shift) & 0xff) as usize;
    let band_counts: Vec<[usize; 256]> = data
        .par_chunks(band_len)
        .map(|band| {
            let mut counts = [0usize; 256];
            keys(band).for_each(|k| counts[bucket_of(k)] += 1);
            counts
        })
        .collect();
    let mut sorted = vec![0u64; pixels];
    // Bucket-major, band-minor pieces; band `i` fills every `bands`-th piece.
    let piece_lens: Vec<usize> = (0..256)
        .flat_map(|bucket| band_counts.iter().map(move |c| c[bucket]))
        .collect();
    let mut shares: Vec<Vec<&mut [u64]>> = band_counts.iter().map(|_| Vec::new()).collect();
    for (i, piece) in split_lengths(&mut sorted, &piece_lens)
        .into_iter()
        .enumerate()
    {
        shares[i % band_counts.len()].push(piece);
    }
    data.par_chunks(band_len)
        .zip(shares)
        .for_each(|(band, mut share)| {
            let mut filled = [0usize; 256];
            for k in keys(band) {
                let b = bucket_of(k);
                // In bounds: the share was sized by counting these same keys.
                share[b][filled[b]] = k;
                filled[b] += 1;
            }
        });
    let bucket_lens: Vec<usize> = (0..256)
        .map(|bucket| band_counts.iter().map(|c| c[bucket]).sum())
        .collect();
    let mut buckets = split_lengths(&mut sorted, &bucket_lens);
    let uniques: Vec<usize> = buckets
        .par_iter_mut()
        .map_init(Vec::new, |scratch, bucket| {
            // Bits above `shift` are equal within a bucket.
            radix_sort(bucket, shift, scratch);
            bucket.chunk_by(|a, b| a == b).count()
        })
        .collect();
    let color_lens: Vec<usize> = uniques.iter().map(|&n| n * channels).collect();
    let mut out = Histogram {
        channels,
        colors: vec![0; color_lens.iter().sum()],
        counts: vec![0; uniques.iter().sum()],
    };
    let colors = split_lengths(&mut out.colors, &color_lens);
    let counts = split_lengths(&mut out.counts, &uniques);
    buckets
        .into_par_iter()
        .zip(colors)
        .zip(counts)
        .for_each(|((bucket, colors), counts)| {
            let mut colors = colors.chunks_exact_mut(channels);
            for (run, (color, count)) in bucket
                .chunk_by(|a, b| a == b)
                .zip(colors.by_ref().zip(counts))
            {
                unpack_into(color, run[0], bits);
                *count = run.len() as u64;
            }
        });
    out
}

/// Cuts `out` into consecutive pieces of the given lengths (the last ones
/// shortened if `out` runs out).
fn split_lengths<'a, T>(mut out: &'a mut [T], lengths: &[usize]) -> Vec<&'a mut [T]> {
    lengths
        .iter()
        .map(|&len| {
            let len = len.min(out.len());
            let (piece, rest) = std::mem::take(&mut out).split_at_mut(len);
            out = rest;
            piece
        })
        .collect()
}

/// Below this many keys a comparison sort beats the radix sort's fixed costs.
const RADIX_MIN_KEYS: usize = 1 << 12;

/// Sorts keys below `2^key_bits` ascending: least-significant-byte-first
/// radix sort, skipping bytes that are equal in every key. Linear in the
/// number of keys, where comparison-sorting 10⁸ keys is several times slower.
fn radix_sort(keys: &mut [u64], key_bits: u32, scratch: &mut Vec<u64>) {
    if keys.len() < RADIX_MIN_KEYS {
        keys.sort_unstable();
        return;
    }
    let bytes = key_bits.div_ceil(8).min(8) as usize;
    let mut histograms = vec![[0usize; 256]; bytes];
    for &key in keys.iter() {
        for (byte, counts) in histograms.iter_mut().enumerate() {
            counts[((key >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    let mut in_scratch = false;
    for (byte, counts) in histograms.iter().enumerate() {
        if counts.contains(&keys.len()) {
            continue; // every key has the same value in this byte
        }
        let (from, to) = if in_scratch {
            (&scratch[..], &mut *keys)
        } else {
            (&*keys, &mut scratch[..])
        };
        scatter_by_byte(from, to, counts, 8 * byte as u32);
        in_scratch = !in_scratch;
    }
    if in_scratch {
        keys.copy_from_slice(scratch);
    }
}

/// One stable counting-sort pass: `from` into `to` by the byte at `shift`,
/// whose value counts are `counts`.
fn scatter_by_byte(from: &[u64], to: &mut [u64], counts: &[usize; 256], shift: u32) {
    let mut next = [0usize; 256];
    let mut start = 0;
    for (slot, &n) in next.iter_mut().zip(counts) {
        *slot = start;
        start += n;
    }
    for &key in from {
        let at = &mut next[((key >> shift) & 0xff) as usize];
        // In bounds: the starts partition `0..from.len()`.
        to[*at] = key;
        *at += 1;
    }
}

/// Fallback for pixels too wide to pack into 64 bits: sort pixel slices.
fn sorted_slices<T: Sample>(data: &[T], channels: usize) -> Histogram {
    let mut pixels: Vec<&[T]> = data.chunks_exact(channels).collect();
    pixels.par_sort_unstable();
    let mut out = Histogram::empty(channels);
    for run in pixels.chunk_by(|a, b| a == b) {
        out.colors.extend(run[0].iter().map(|v| v.to_u16()));
        out.counts.push(run.len() as u64);
    }
    out
}

// ---------------------------------------------------------------------------
// Median cut on colours
// ---------------------------------------------------------------------------

/// Median cut to at most `k` colours (fewer if the image has fewer unique
/// colours). Returns a [`Palette`] with `hist.channels` channels.
///
/// Starting from one box holding every colour of the histogram, the box with
/// the largest pixel-weighted sum of squared distances to its mean (its total
/// squared error) is split until there are `k` boxes or no box has two
/// different colours. Ties go to the box created first (the lower half of a
/// split counts as created before the upper half). A box is split across the
/// channel with the largest range (ties: the lowest channel) at the pixel-
/// weighted median value `m`: colours with that channel `≤ m` go to the lower
/// half, or `< m` when `m` is the box's maximum, so both halves are non-empty.
///
/// Each palette colour is the pixel-weighted mean of its box, rounded half up
/// with exact integer arithmetic. The colours are returned sorted
/// lexicographically and are all distinct: two boxes were separated by some
/// split into disjoint integer ranges of one channel, and a rounded mean stays
/// within its box's range. With `k` at least the number of unique colours the
/// palette is exactly those colours.
///
/// The result depends only on the histogram's (colour, count) pairs, not on
/// their order. Colours with a count of 0 are ignored.
///
/// # Errors
/// [`Error::InvalidArgument`] if `k` is not 1..=65536, the histogram has no
/// pixels, its channel count is not 1..=4, or its lengths disagree.
pub fn median_cut(hist: &Histogram, k: usize) -> Result<Palette> {
    cut_palette(hist, k, CutRule::Error)
}

/// Median cut that spreads colours by pixel mass as well as error: the next
/// box split is the one with the largest `error^0.55 · pixels^0.45` (plain
/// median cut: the largest error), along its channel of largest variance
/// (plain: of widest range). Dense regions (a dark sky, skin) get more
/// colours than the squared error alone would give them, which lowers the
/// mean perceptual error (CIEDE2000) for a small cost in PSNR; the start of
/// [`crate::ops::quantize::PaletteMethod::Refined`]. Deterministic, with the
/// same guarantees and errors as [`median_cut`].
///
/// # Errors
/// As [`median_cut`].
pub fn median_cut_balanced(hist: &Histogram, k: usize) -> Result<Palette> {
    cut_palette(hist, k, CutRule::Balanced)
}

/// How median cut chooses the next box and the channel to cut it along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutRule {
    /// Largest squared error; widest channel.
    Error,
    /// Largest `error^0.55 · pixels^0.45`; channel of largest variance.
    Balanced,
}

fn cut_palette(hist: &Histogram, k: usize, rule: CutRule) -> Result<Palette> {
    check_k(k)?;
    let entries = histogram_entries(hist)?;
    let channels = hist.channels;
    let boxes = cut_boxes(entries, k, rule);
    let mut colors: Vec<[u16; 4]> = boxes.iter().map(ColorBox::mean).collect();
    // Unused channels are 0 in every colour, so whole-array order is channel order.
    colors.sort_unstable();
    let flat = colors
        .iter()
        .flat_map(|c| c[..channels].iter().copied())
        .collect();
    Palette::new(channels, flat)
}

/// One unique colour and its pixel count (channels beyond the histogram's are 0).
#[derive(Debug, Clone, Copy)]
struct Entry {
    color: [u16; 4],
    count: u64,
}

/// Validates `hist` and copies its coloured pixels into [`Entry`]s.
fn histogram_entries(hist: &Histogram) -> Result<Vec<Entry>> {
    let c = hist.channels;
    if !(1..=4).contains(&c) {
        return Err(Error::invalid(format!(
            "median cut needs 1 to 4 channels, not {c}"
        )));
    }
    if hist.colors.len() != hist.counts.len() * c {
        return Err(Error::invalid(format!(
            "histogram has {} values for {} counts of {c} channels",
            hist.colors.len(),
            hist.counts.len()
        )));
    }
    let entry = |(px, &count): (&[u16], &u64)| {
        let mut color = [0u16; 4];
        color[..c].copy_from_slice(px);
        Entry { color, count }
    };
    // A colour with no pixels has no weight and would make a box mean 0/0.
    // Histograms counted from images have none: then the copy is one
    // parallel pass straight into place.
    let entries: Vec<Entry> = if hist.counts.par_iter().all(|&n| n > 0) {
        hist.colors
            .par_chunks_exact(c)
            .zip(&hist.counts)
            .map(entry)
            .collect()
    } else {
        hist.colors
            .chunks_exact(c)
            .zip(&hist.counts)
            .filter(|(_, &n)| n > 0)
            .map(entry)
            .collect()
    };
    if entries.is_empty() {
        return Err(no_pixels());
    }
    Ok(entries)
}

/// Exact pixel-weighted statistics of a set of entries. Every field is an
/// exact (saturating) integer total, so merging partial results in any order
/// or grouping gives the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    /// Total pixels.
    count: u128,
    /// Per channel, Σ count·value.
    sums: [u128; 4],
    /// Per channel, Σ count·value².
    squares: [u128; 4],
    /// Per channel, the smallest and largest value.
    lo: [u16; 4],
    hi: [u16; 4],
}

/// Entries per parallel task when measuring a large box.
const MEASURE_CHUNK: usize = 1 << 16;

impl Stats {
    /// Statistics of nothing.
    fn empty() -> Self {
        Self {
            count: 0,
            sums: [0; 4],
            squares: [0; 4],
            lo: [u16::MAX; 4],
            hi: [0; 4],
        }
    }

    /// Statistics of `entries`, in parallel when there are many.
    fn of(entries: &[Entry]) -> Self {
        if entries.len() <= 2 * MEASURE_CHUNK {
            return entries
                .chunks(MEASURE_CHUNK)
                .map(Self::of_chunk)
                .fold(Self::empty(), Self::merge);
        }
        entries
            .par_chunks(MEASURE_CHUNK)
            .map(Self::of_chunk)
            .reduce(Self::empty, Self::merge)
    }

    /// Statistics of a chunk, in 64-bit sums when they cannot wrap: with
    /// fewer than 2^32 pixels in the chunk, Σ count·v² < 2^32 · 65535² <
    /// 2^64. The totals are the same integers as [`Self::add`]'s, several
    /// times faster than 128-bit arithmetic.
    fn of_chunk(entries: &[Entry]) -> Self {
        let pixels = entries.iter().fold(0u64, |n, e| n.saturating_add(e.count));
        if pixels >= 1 << 32 {
            return entries.iter().fold(Self::empty(), Self::add);
        }
        let (mut sums, mut squares) = ([0u64; 4], [0u64; 4]);
        let (mut lo, mut hi) = ([u16::MAX; 4], [0u16; 4]);
        for e in entries {
            for c in 0..4 {
                let v = u64::from(e.color[c]);
                sums[c] += e.count * v;
                squares[c] += e.count * v * v;
                lo[c] = lo[c].min(e.color[c]);
                hi[c] = hi[c].max(e.color[c]);
            }
        }
        Self {
            count: u128::from(pixels),
            sums: sums.map(u128::from),
            squares: squares.map(u128::from),
            lo,
            hi,
        }
    }

    /// Adds one entry. Unused channels are 0, so looping over all four is harmless.
    fn add(mut self, e: &Entry) -> Self {
        let w = u128::from(e.count);
        self.count = self.count.saturating_add(w);
        for (c, &v) in e.color.iter().enumerate() {
            let v64 = u64::from(v);
            // 64×64→128-bit products: v and v² fit u64.
            self.sums[c] = self.sums[c].saturating_add(w * u128::from(v64));
            self.squares[c] = self.squares[c].saturating_add(w * u128::from(v64 * v64));
            self.lo[c] = self.lo[c].min(v);
            self.hi[c] = self.hi[c].max(v);
        }
        self
    }

    /// The statistics of the union of two disjoint sets.
    fn merge(mut self, other: Self) -> Self {
        self.count = self.count.saturating_add(other.count);
        for c in 0..4 {
            self.sums[c] = self.sums[c].saturating_add(other.sums[c]);
            self.squares[c] = self.squares[c].saturating_add(other.squares[c]);
            self.lo[c] = self.lo[c].min(other.lo[c]);
            self.hi[c] = self.hi[c].max(other.hi[c]);
        }
        self
    }

    /// Total squared error Σ count·|colour − mean|², from
    /// `count·SSE_c = count·Σw·v² − (Σw·v)²` per channel (exact, and ≥ 0 by
    /// Cauchy–Schwarz) with one rounding per channel at the end.
    fn squared_error(&self) -> f64 {
        let n = self.count.max(1);
        (0..4)
            .map(|c| {
                let scaled = n
                    .saturating_mul(self.squares[c])
                    .saturating_sub(self.sums[c].saturating_mul(self.sums[c]));
                scaled as f64 / n as f64
            })
            .sum()
    }
}

/// A box of median cut: a range of the entry array plus its statistics.
#[derive(Debug, Clone)]
struct ColorBox {
    range: Range<usize>,
    stats: Stats,
    /// Cached [`Stats::squared_error`], the splitting priority.
    sse: f64,
    /// The box's marginals when it is large enough that keeping them saves
    /// a counting pass over many entries (see [`KEEP_MARGINALS_ENTRIES_PER_BIN`]).
    marginals: Option<Marginals>,
}

/// Boxes keep their marginals only with at least this many entries per bin,
/// so kept marginals cost at most 8 bytes per 16 entries (entries are 16
/// bytes): a few percent of the entry array, whatever `k`.
const KEEP_MARGINALS_ENTRIES_PER_BIN: usize = 16;

/// A box is split by counting its values (marginals) when it needs at most
/// this many bins per entry; sparser boxes (wide 16-bit ranges, few colours)
/// are measured entry by entry instead.
const COUNT_BINS_PER_ENTRY: usize = 4;

impl ColorBox {
    /// Measures `entries[range]` (non-empty).
    fn measure(entries: &[Entry], range: Range<usize>) -> Self {
        let stats = Stats::of(&entries[range.clone()]);
        Self {
            range,
            sse: stats.squared_error(),
            stats,
            marginals: None,
        }
    }

    /// The box `range` whose entries have the marginals `marginals`.
    fn counted(range: Range<usize>, marginals: Marginals) -> Self {
        let stats = marginals.stats();
        let keep = range.len() >= marginals.len() * KEEP_MARGINALS_ENTRIES_PER_BIN;
        Self {
            range,
            sse: stats.squared_error(),
            stats,
            marginals: keep.then_some(marginals),
        }
    }

    /// Whether the box holds two different colours.
    fn splittable(&self) -> bool {
        self.stats.lo != self.stats.hi
    }

    /// The channel to cut along under `rule`.
    fn split_channel(&self, rule: CutRule) -> usize {
        match rule {
            CutRule::Error => self.widest_channel(),
            CutRule::Balanced => self.most_varied_channel(),
        }
    }

    /// Of the channels with `lo < hi` (a splittable box has one), the one
    /// with the largest pixel-weighted variance, compared as the exact
    /// integers `n·Σv² − (Σv)²`; ties go to the lowest channel.
    fn most_varied_channel(&self) -> usize {
        let s = &self.stats;
        (0..4)
            .rev()
            .filter(|&c| s.lo[c] < s.hi[c])
            .max_by_key(|&c| {
                s.count
                    .saturating_mul(s.squares[c])
                    .saturating_sub(s.sums[c].saturating_mul(s.sums[c]))
            })
            .unwrap_or(0)
    }

    /// The box's priority for splitting under `rule`.
    fn priority(&self, rule: CutRule) -> f64 {
        match rule {
            CutRule::Error => self.sse,
            CutRule::Balanced => self.sse.powf(0.55) * (self.stats.count as f64).powf(0.45),
        }
    }

    /// The channel with the largest range; ties go to the lowest channel.
    fn widest_channel(&self) -> usize {
        (0..4)
            .rev()
            .max_by_key(|&c| self.stats.hi[c].saturating_sub(self.stats.lo[c]))
            .unwrap_or(0)
    }

    /// The pixel-weighted mean, rounded half up: `(2·sum + n) / (2·n)`,
    /// clamped to the box's range (a no-op unless sums saturated).
    fn mean(&self) -> [u16; 4] {
        let s = &self.stats;
        let n = s.count.max(1);
        let mut out = [0u16; 4];
        for (c, o) in out.iter_mut().enumerate() {
            let m = s.sums[c].saturating_mul(2).saturating_add(n) / n.saturating_mul(2);
            *o = u16::try_from(m).unwrap_or(u16::MAX).clamp(s.lo[c], s.hi[c]);
        }
        out
    }
}

/// A box waiting to be split, ordered by error, then age.
#[derive(Debug)]
struct Candidate {
    priority: f64,
    /// Creation order; smaller is older.
    seq: u64,
    index: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    /// The max-heap pops the largest priority, then the oldest box.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .total_cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Splits boxes until there are `k` of them or none can be split.
fn cut_boxes(mut entries: Vec<Entry>, k: usize, rule: CutRule) -> Vec<ColorBox> {
    // Marginals count pixels in u64 bins: they need the total to fit.
    let countable = entries
        .iter()
        .try_fold(0u64, |n, e| n.checked_add(e.count))
        .is_some();
    let mut boxes = vec![ColorBox::measure(&entries, 0..entries.len())];
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    offer(&mut heap, &boxes[0], 0, &mut seq, rule);
    while boxes.len() < k {
        let Some(next) = heap.pop() else { break };
        let (lower, upper) = split_box(&mut entries, &mut boxes[next.index], countable, rule);
        let upper_index = boxes.len();
        offer(&mut heap, &lower, next.index, &mut seq, rule);
        offer(&mut heap, &upper, upper_index, &mut seq, rule);
        boxes[next.index] = lower;
        boxes.push(upper);
    }
    boxes
}

/// Queues `b` (stored at `index`) for splitting if it can be split.
fn offer(
    heap: &mut BinaryHeap<Candidate>,
    b: &ColorBox,
    index: usize,
    seq: &mut u64,
    rule: CutRule,
) {
    if b.splittable() {
        heap.push(Candidate {
            priority: b.priority(rule),
            seq: *seq,
            index,
        });
    }
    *seq += 1;
}

/// Splits a splittable box in two non-empty boxes, reordering its entries.
/// Both ways of measuring the halves give the same exact statistics.
fn split_box(
    entries: &mut [Entry],
    b: &mut ColorBox,
    countable: bool,
    rule: CutRule,
) -> (ColorBox, ColorBox) {
    let dense = Marginals::bins_for(&b.stats) <= b.range.len().saturating_mul(COUNT_BINS_PER_ENTRY);
    let ch = b.split_channel(rule);
    if countable && dense {
        return split_counted(entries, b, ch);
    }
    let slice = &mut entries[b.range.clone()];
    let median = weighted_median(slice, ch, b.stats.lo[ch], b.stats.hi[ch], b.stats.count);
    let threshold = split_threshold(median, b.stats.hi[ch]);
    let mid = b.range.start + partition(slice, |e| e.color[ch] <= threshold);
    (
        ColorBox::measure(entries, b.range.start..mid),
        ColorBox::measure(entries, mid..b.range.end),
    )
}

/// [`split_box`] through marginals: the median comes from the box's value
/// counts, and one pass partitions the entries while counting the lower
/// half; the upper half's counts are the box's minus the lower's.
fn split_counted(entries: &mut [Entry], b: &mut ColorBox, ch: usize) -> (ColorBox, ColorBox) {
    let slice = &mut entries[b.range.clone()];
    let mut upper = b
        .marginals
        .take()
        .unwrap_or_else(|| Marginals::of(slice, &b.stats));
    let median = upper.median(ch, b.stats.count);
    let threshold = split_threshold(median, b.stats.hi[ch]);
    let mut lower = upper.zeroed_like();
    let mid = b.range.start + partition_counting(slice, ch, threshold, &mut lower);
    upper.subtract(&lower);
    (
        ColorBox::counted(b.range.start..mid, lower),
        ColorBox::counted(mid..b.range.end, upper),
    )
}

/// Values `≤` the returned threshold go to the lower half. `lo < hi` because
/// the box is splittable along the chosen channel, so capping the median at
/// `hi - 1` leaves at least one colour on each side.
fn split_threshold(median: u16, hi: u16) -> u16 {
    if median < hi {
        median
    } else {
        hi - 1
    }
}

/// The smallest value `m` of channel `ch` such that at least half of the
/// `total` pixels have a value `≤ m`.
fn weighted_median(entries: &[Entry], ch: usize, lo: u16, hi: u16, total: u128) -> u16 {
    let span = usize::from(hi - lo) + 1;
    // A counting pass is linear when the value range is not much wider than
    // the box; otherwise sorting the (few) values is cheaper than the bins.
    let median = if span <= entries.len().saturating_mul(4) {
        let mut bins = vec![0u128; span];
        for e in entries {
            bins[usize::from(e.color[ch] - lo)] += u128::from(e.count);
        }
        let values = bins.into_iter().enumerate();
        first_reaching_half(values.map(|(offset, n)| (lo + offset as u16, n)), total)
    } else {
        let mut values: Vec<(u16, u64)> = entries.iter().map(|e| (e.color[ch], e.count)).collect();
        values.sort_unstable();
        first_reaching_half(values.into_iter().map(|(v, n)| (v, u128::from(n))), total)
    };
    median.unwrap_or(hi)
}

/// The first value of ascending `(value, pixels)` pairs at which at least
/// half of `total` pixels have been seen (`None` if never).
fn first_reaching_half(values: impl Iterator<Item = (u16, u128)>, total: u128) -> Option<u16> {
    let half = total.div_ceil(2);
    let mut seen = 0u128;
    for (v, n) in values {
        seen += n;
        if seen >= half {
            return Some(v);
        }
    }
    None
}

/// Moves the entries satisfying `lower` to the front; returns how many there are.
fn partition(entries: &mut [Entry], lower: impl Fn(&Entry) -> bool) -> usize {
    let mut split = 0;
    for i in 0..entries.len() {
        if lower(&entries[i]) {
            entries.swap(split, i);
            split += 1;
        }
    }
    split
}

/// Entries below which a box is partitioned on one thread.
const PARALLEL_PARTITION_MIN: usize = 1 << 17;

/// Moves the entries whose channel `ch` is `≤ threshold` to the front and
/// counts them into `lower` (finished); returns how many there are. Large
/// slices are cut in one piece per thread, partitioned in parallel, and the
/// pieces' halves joined by swapping blocks (order within a half is free).
fn partition_counting(
    entries: &mut [Entry],
    ch: usize,
    threshold: u16,
    lower: &mut Marginals,
) -> usize {
    let pieces = rayon::current_num_threads()
        .min(entries.len() / PARALLEL_PARTITION_MIN)
        .max(1);
    let piece_len = entries.len().div_ceil(pieces);
    let parts: Vec<(usize, Marginals)> = entries
        .par_chunks_mut(piece_len)
        .map(|piece| {
            let mut counts = lower.zeroed_like();
            let n = partition_counting_serial(piece, ch, threshold, &mut counts);
            (n, counts)
        })
        .collect();
    // Join the pieces left to right: `entries[..end]` is lower-then-upper,
    // with `split` lower entries.
    let (mut split, mut end) = (0, 0);
    for (n, counts) in parts {
        let piece_end = (end + piece_len).min(entries.len());
        // entries[split..end] is upper, entries[end..end + n] is lower.
        bring_forward(&mut entries[split..end + n], end - split);
        split += n;
        end = piece_end;
        lower.merge(&counts);
    }
    lower.finish();
    split
}

/// `region` is `u` entries followed by others; moves the others to the
/// front by swapping the shorter part with the far end of the longer.
fn bring_forward(region: &mut [Entry], u: usize) {
    let m = u.min(region.len() - u);
    let (head, tail) = region.split_at_mut(region.len() - m);
    head[..m].swap_with_slice(tail);
}

/// Entries partitioned between two calls of [`Marginals::count`], so the
/// entries it counts are still in the L1 cache.
const COUNT_BLOCK: usize = 512;

/// One thread's [`partition_counting`], leaving `lower` unfinished.
#[allow(clippy::manual_swap)]
fn partition_counting_serial(
    entries: &mut [Entry],
    ch: usize,
    threshold: u16,
    lower: &mut Marginals,
) -> usize {
    let mut split = 0;
    for block_start in (0..entries.len()).step_by(COUNT_BLOCK) {
        let before = split;
        for i in block_start..(block_start + COUNT_BLOCK).min(entries.len()) {
            // Branch-free: always swap, advance only past a lower entry
            // (`entries[split..i]` is all upper, so the swap keeps it so).
            // Spelled out: `slice::swap` then re-reading `entries[split]`
            // took the noisy 12000² palette from 2.7–2.9 s to 3.1–3.2 s.
            let e = entries[i];
            entries[i] = entries[split];
            entries[split] = e;
            split += usize::from(e.color[ch] <= threshold);
        }
        lower.count(&entries[before..split]);
    }
    split
}

fn check_k(k: usize) -> Result<()> {
    if !(1..=MAX_PALETTE_LEN).contains(&k) {
        return Err(Error::invalid(format!(
            "the number of colours must be 1 to {MAX_PALETTE_LEN}, not {k}"
        )));
    }
    Ok(())
}

fn no_pixels() -> Error {
    Error::invalid("cannot build a palette from an image with no pixels")
}

// ---------------------------------------------------------------------------
// Median cut on grey levels
// ---------------------------------------------------------------------------

/// Median cut on float grey values: on the unique values (unweighted: each
/// distinct value counts once, so a flat background does not swallow the
/// levels), levels sorted ascending.
///
/// The same splitting as [`median_cut`] in one dimension with every weight 1:
/// the box (run of sorted unique values) with the largest sum of squared
/// distances to its mean is halved, the lower half taking the middle value
/// when the count is odd; ties go to the box created first. Each level is the
/// mean of its box's unique values, summed in `f64` with compensated
/// summation in fixed chunks (so the result does not depend on thread count).
/// `0.0` and `-0.0` are the same value. With `k` at least the number of unique
/// values the levels are exactly those values.
///
/// # Errors
/// [`Error::InvalidArgument`] if `k` is not 1..=65536, `values` is empty, or a
/// value is NaN or infinite.
pub fn median_cut_levels(values: &[f64], k: usize) -> Result<Levels> {
    levels_impl(values, k)
}

/// [`median_cut_levels`] for `f32` values (computed in `f64`).
///
/// # Errors
/// As [`median_cut_levels`].
pub fn median_cut_levels_f32(values: &[f32], k: usize) -> Result<Levels> {
    levels_impl(values, k)
}

/// Float sample types the level builder accepts.
trait Grey: Copy + Send + Sync {
    /// An integer with the same order as the (finite) values; equal values,
    /// including `0.0` and `-0.0`, get equal keys. Sorting integers is faster
    /// than sorting floats with `total_cmp`.
    type Key: Copy + Ord + Send + Sync;
    fn to_f64(self) -> f64;
    fn key(self) -> Self::Key;
    fn from_key(key: Self::Key) -> f64;
}

impl Grey for f32 {
    type Key = i32;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn key(self) -> i32 {
        // `+ 0.0` turns -0.0 into 0.0. Flipping the magnitude bits of
        // negative numbers makes the signed-integer order the float order.
        let bits = (self + 0.0).to_bits() as i32;
        bits ^ (((bits >> 31) as u32) >> 1) as i32
    }
    fn from_key(key: i32) -> f64 {
        // The bit flip is its own inverse.
        let bits = key ^ (((key >> 31) as u32) >> 1) as i32;
        f64::from(f32::from_bits(bits as u32))
    }
}

impl Grey for f64 {
    type Key = i64;
    fn to_f64(self) -> f64 {
        self
    }
    fn key(self) -> i64 {
        let bits = (self + 0.0).to_bits() as i64;
        bits ^ (((bits >> 63) as u64) >> 1) as i64
    }
    fn from_key(key: i64) -> f64 {
        let bits = key ^ (((key >> 63) as u64) >> 1) as i64;
        f64::from_bits(bits as u64)
    }
}

/// Elements per chunk of the deterministic parallel sums.
const SUM_CHUNK: usize = 1 << 16;

fn levels_impl<T: Grey>(values: &[T], k: usize) -> Result<Levels> {
    check_k(k)?;
    if values.is_empty() {
        return Err(no_pixels());
    }
    if let Some(bad) = values
        .par_iter()
        .map(|v| v.to_f64())
        .find_first(|v| !v.is_finite())
    {
        return Err(Error::invalid(format!(
            "grey value {bad} is not a finite number; median cut needs finite values"
        )));
    }
    let unique = sorted_unique(values);
    let levels = cut_ranges(&unique, k)
        .into_iter()
        .map(|r| range_mean(&unique[r]))
        .collect();
    Levels::new(levels)
}

/// The distinct values, ascending, as `f64` (needs finite values).
fn sorted_unique<T: Grey>(values: &[T]) -> Vec<f64> {
    let mut keys: Vec<T::Key> = values.par_iter().map(|&v| v.key()).collect();
    keys.par_sort_unstable();
    keys.dedup();
    keys.into_iter().map(T::from_key).collect()
}

/// Splits `0..unique.len()` into at most `k` runs; returns them in order.
fn cut_ranges(unique: &[f64], k: usize) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(k.min(unique.len()));
    ranges.push(0..unique.len());
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    offer_range(&mut heap, unique, &ranges[0], 0, &mut seq);
    while ranges.len() < k {
        let Some(next) = heap.pop() else { break };
        let r = ranges[next.index].clone();
        // The weighted median with unit weights: the lower half takes ⌈n/2⌉.
        let mid = r.start + r.len().div_ceil(2);
        let (lower, upper) = (r.start..mid, mid..r.end);
        let upper_index = ranges.len();
        offer_range(&mut heap, unique, &lower, next.index, &mut seq);
        offer_range(&mut heap, unique, &upper, upper_index, &mut seq);
        ranges[next.index] = lower;
        ranges.push(upper);
    }
    ranges.sort_unstable_by_key(|r| r.start);
    ranges
}

/// Queues run `r` (stored at `index`) for splitting if it has two values.
fn offer_range(
    heap: &mut BinaryHeap<Candidate>,
    unique: &[f64],
    r: &Range<usize>,
    index: usize,
    seq: &mut u64,
) {
    if r.len() >= 2 {
        let xs = &unique[r.clone()];
        let mean = mean(xs);
        let sse = chunked_sum(xs, |x| (x - mean) * (x - mean));
        heap.push(Candidate {
            // Only values spanning more than f64::MAX overflow; rank them first.
            priority: if sse.is_nan() { f64::INFINITY } else { sse },
            seq: *seq,
            index,
        });
    }
    *seq += 1;
}

/// The mean of a non-empty run, kept within the run's bounds (so levels of
/// neighbouring runs stay strictly increasing).
fn range_mean(xs: &[f64]) -> f64 {
    let (Some(&first), Some(&last)) = (xs.first(), xs.last()) else {
        return 0.0;
    };
    mean(xs).clamp(first, last)
}

/// The mean of finite values; finite unless `xs` is empty.
fn mean(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = chunked_sum(xs, |x| x) / n;
    if mean.is_finite() {
        mean
    } else {
        // The plain sum overflowed (values near f64::MAX); this one cannot.
        chunked_sum(xs, |x| x / n)
    }
}

/// Σ f(x) with Neumaier summation inside fixed chunks and across them. The
/// chunking does not depend on the thread count, so neither does the result.
fn chunked_sum(xs: &[f64], f: impl Fn(f64) -> f64 + Sync) -> f64 {
    if xs.len() <= SUM_CHUNK {
        return neumaier(xs.iter().map(|&x| f(x)));
    }
    let partials: Vec<f64> = xs
        .par_chunks(SUM_CHUNK)
        .map(|chunk| neumaier(chunk.iter().map(|&x| f(x))))
        .collect();
    neumaier(partials.into_iter())
}

/// Compensated (Neumaier) sum.
fn neumaier(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for x in xs {
        let t = sum + x;
        carry += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    }
    sum + carry
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use proptest::prelude::*;

    use super::*;

    /// The definition: a sorted map from colour to count.
    fn naive<T: Sample>(data: &[T], channels: usize) -> Histogram {
        let mut map: BTreeMap<Vec<u16>, u64> = BTreeMap::new();
        for px in data.chunks_exact(channels) {
            *map.entry(px.iter().map(|v| v.to_u16()).collect())
                .or_insert(0) += 1;
        }
        let mut out = Histogram::empty(channels);
        for (color, n) in map {
            out.colors.extend(color);
            out.counts.push(n);
        }
        out
    }

    fn view<T: crate::array::Element>(
        data: &[T],
        h: usize,
        w: usize,
        c: usize,
    ) -> ImageView<'_, T> {
        ImageView::new(data, h, w, c).expect("valid shape")
    }

    /// A deterministic pseudo-random sequence (splitmix64).
    fn noise(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    fn image_u8(h: usize, w: usize, c: usize, levels: u64, seed: u64) -> Vec<u8> {
        let mut next = noise(seed);
        (0..h * w * c).map(|_| (next() % levels) as u8).collect()
    }

    /// (height, width, channels, values) with values drawn from a small or the full range.
    fn shaped<T: std::fmt::Debug + Clone>(
        max_channels: usize,
        value: impl Strategy<Value = T> + Clone,
    ) -> impl Strategy<Value = (usize, usize, usize, Vec<T>)> {
        (0usize..7, 0usize..7, 1..=max_channels).prop_flat_map(move |(h, w, c)| {
            (
                Just(h),
                Just(w),
                Just(c),
                proptest::collection::vec(value.clone(), h * w * c),
            )
        })
    }

    fn small_or_any_u8() -> impl Strategy<Value = u8> + Clone {
        prop_oneof![0u8..3, any::<u8>()]
    }

    fn small_or_any_u16() -> impl Strategy<Value = u16> + Clone {
        prop_oneof![0u16..3, 65533u16..=65535, any::<u16>()]
    }

    proptest! {
        // Each case allocates and scans a 16 MiB table.
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn counter_matches_the_whole_histogram(
            data in proptest::collection::vec(prop_oneof![0u8..3, any::<u8>()], 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let data = &data[..data.len() / 3 * 3];
            let pixels = data.len() / 3;
            let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(pixels) * 3).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let mut counter = RgbCounter::new();
            for piece in cuts.windows(2) {
                counter.add(&data[piece[0]..piece[1]]);
            }
            prop_assert_eq!(counter.finish(), naive(data, 3));
        }
    }

    proptest! {
        #[test]
        fn histogram_u8_matches_naive((h, w, c, data) in shaped(10, small_or_any_u8())) {
            prop_assert_eq!(histogram_u8(view(&data, h, w, c)), naive(&data, c));
        }

        #[test]
        fn histogram_u16_matches_naive((h, w, c, data) in shaped(6, small_or_any_u16())) {
            prop_assert_eq!(histogram_u16(view(&data, h, w, c)), naive(&data, c));
        }

        #[test]
        fn radix_path_matches_naive_u16((_h, _w, c, data) in shaped(4, small_or_any_u16())) {
            prop_assert_eq!(radix_histogram(&data, c, 16), naive(&data, c));
        }

        #[test]
        fn every_path_matches_naive((_h, _w, c, data) in shaped(3, small_or_any_u8())) {
            let expected = naive(&data, c);
            let dense_result = match c {
                1 => dense_small::<u8, 1>(&data, 8),
                2 => dense_small::<u8, 2>(&data, 8),
                _ => dense_rgb(&data),
            };
            if !data.is_empty() {
                prop_assert_eq!(&dense_result, &expected);
            }
            prop_assert_eq!(&hashed_impl(&data, c, 8), &expected);
            prop_assert_eq!(&sorted_slices(&data, c), &expected);
            prop_assert_eq!(&radix_histogram(&data, c, 8), &expected);
        }

        #[test]
        fn median_cut_properties(
            (h, w, c, data) in shaped(4, prop_oneof![0u16..4, 0u16..40, any::<u16>()]),
            k in 1usize..40,
        ) {
            let hist = histogram_u16(view(&data, h, w, c));
            let Ok(palette) = median_cut(&hist, k) else {
                prop_assert!(hist.is_empty());
                return Ok(());
            };
            prop_assert_eq!(palette.channels(), c);
            prop_assert_eq!(palette.len(), k.min(hist.len()));
            // Sorted and distinct.
            let colors: Vec<&[u16]> = (0..palette.len()).map(|i| palette.color(i)).collect();
            prop_assert!(colors.windows(2).all(|p| p[0] < p[1]));
            // Inside the bounding box of the image colours.
            for ch in 0..c {
                let values = hist.colors.iter().skip(ch).step_by(c);
                let (lo, hi) = (values.clone().min(), values.max());
                for color in &colors {
                    prop_assert!(Some(&color[ch]) >= lo && Some(&color[ch]) <= hi);
                }
            }
            // Deterministic, and independent of the histogram's order.
            prop_assert_eq!(&median_cut(&hist, k).ok(), &Some(palette.clone()));
            let reversed = Histogram {
                channels: c,
                colors: hist.colors.chunks_exact(c).rev().flatten().copied().collect(),
                counts: hist.counts.iter().rev().copied().collect(),
            };
            prop_assert_eq!(median_cut(&reversed, k).ok(), Some(palette.clone()));
            // Enough boxes: exactly the unique colours.
            if k >= hist.len() {
                prop_assert_eq!(palette.values(), &hist.colors[..]);
            }
            prop_assert_eq!(palette.values(), &naive_median_cut(&hist, k, false)[..]);
            // The balanced rule: same guarantees, the definition's boxes.
            let balanced = median_cut_balanced(&hist, k).unwrap();
            prop_assert_eq!(balanced.len(), k.min(hist.len()));
            prop_assert_eq!(median_cut_balanced(&reversed, k).ok(), Some(balanced.clone()));
            prop_assert_eq!(balanced.values(), &naive_median_cut(&hist, k, true)[..]);
        }

        #[test]
        fn grey_keys_keep_order(a in -1e30f32..1e30, b in prop_oneof![-1e30f32..1e30, Just(0.0), Just(-0.0)]) {
            prop_assert_eq!(a.key().cmp(&b.key()), a.partial_cmp(&b).expect("finite"));
            prop_assert_eq!(f32::from_key(a.key()), f64::from(a));
            let (x, y) = (f64::from(a) * 1e200, f64::from(b) / 3.0);
            prop_assert_eq!(x.key().cmp(&y.key()), x.partial_cmp(&y).expect("finite"));
            prop_assert_eq!(f64::from_key(y.key()), y);
        }

        #[test]
        fn levels_properties(
            raw in proptest::collection::vec(-20i32..20, 1..200),
            k in 1usize..30,
        ) {
            let values: Vec<f64> = raw.iter().map(|&v| f64::from(v) / 4.0).collect();
            let mut unique = values.clone();
            unique.sort_by(f64::total_cmp);
            unique.dedup();
            let levels = median_cut_levels(&values, k).expect("valid input");
            let got = levels.values();
            prop_assert_eq!(got.len(), k.min(unique.len()));
            prop_assert!(got.windows(2).all(|p| p[0] < p[1]));
            prop_assert!(got.iter().all(|&l| l >= unique[0] && l <= unique[unique.len() - 1]));
            if k >= unique.len() {
                prop_assert_eq!(got, &unique[..]);
            }
            let as_f32: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            prop_assert_eq!(median_cut_levels_f32(&as_f32, k).ok(), Some(levels));
        }
    }

    #[test]
    fn empty_images_have_empty_histograms() {
        for (h, w) in [(0, 5), (5, 0), (0, 0)] {
            for c in 1..=9 {
                let hist = histogram_u8(view(&[], h, w, c));
                assert_eq!(hist, Histogram::empty(c));
                assert_eq!(histogram_u16(view(&[], h, w, c)), Histogram::empty(c));
            }
        }
    }

    #[test]
    fn big_dense_path_matches_hash_path() {
        let (h, w) = (1100, 1907); // just over BIG_DENSE_MIN_PIXELS = 2^21
        assert!(prefer_big_dense(h * w));
        // Noise is counted grouped by red, a photo directly.
        for (data, grouped) in [
            (image_u8(h, w, 3, 256, 7), true),
            (photo_like(h, w, 3), false),
        ] {
            assert_eq!(many_colours(&data, &mut Vec::new()), grouped);
            let hist = histogram_u8(view(&data, h, w, 3));
            assert_eq!(hist, hashed_impl(&data, 3, 8));
            assert_eq!(hist.pixels(), (h * w) as u64);
        }
    }

    #[test]
    fn rgb_counters_that_wrap_still_count_exactly() {
        // At and around the counters' wrap, directly and grouped by red.
        for n in [255usize, 256, 257, 3 << 8, 65536, 65537] {
            let data = [1u8, 2, 3].repeat(n);
            let mut direct = RgbTable::new();
            count_rgb_direct(&data, &mut direct);
            let mut grouped = RgbTable::new();
            count_rgb_grouped(&data, &mut grouped, &mut Vec::new());
            for table in [direct, grouped] {
                let hist = sum_rgb_tables(&[table]);
                assert_eq!((hist.colors, hist.counts), (vec![1, 2, 3], vec![n as u64]));
            }
        }
        // An image one colour nearly fills (its counter wraps thousands of times) with
        // others sprinkled in: the whole-image path, and piece by piece.
        let (h, w) = (1100, 1907);
        let mut data = vec![7u8; h * w * 3];
        for (i, px) in data.chunks_exact_mut(3).enumerate().step_by(97) {
            px.copy_from_slice(&[(i % 251) as u8, (i / 251 % 256) as u8, 3]);
        }
        let expected = naive(&data, 3);
        assert!(expected.counts.iter().any(|&n| n > 7000 << 8));
        assert_eq!(histogram_u8(view(&data, h, w, 3)), expected);
        let mut counter = RgbCounter::new();
        for piece in data.chunks(3 * 100_003) {
            counter.add(piece);
        }
        assert_eq!(counter.finish(), expected);
    }

    #[test]
    fn wraps_on_several_colours_and_tables_sum_exactly() {
        // Noise (counted grouped by red) with four colours common enough to
        // wrap ~20 times each, on keys at the table's ends and a block edge.
        let (h, w) = (1100, 1907);
        let mut data = image_u8(h, w, 3, 256, 31);
        let special = [[0u8, 0, 0], [0, 255, 255], [1, 0, 0], [255, 255, 255]];
        for (i, px) in data.chunks_exact_mut(3).enumerate().step_by(101) {
            px.copy_from_slice(&special[i / 101 % 4]);
        }
        assert!(many_colours(&data, &mut Vec::new()));
        let expected = naive(&data, 3);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            assert_eq!(
                pool.install(|| histogram_u8(view(&data, h, w, 3))),
                expected
            );
        }
        let mut counter = RgbCounter::new();
        for piece in data.chunks(3 * 100_003) {
            counter.add(piece);
        }
        assert_eq!(counter.finish(), expected);
        // Tables counted directly, grouped and mixed, summed together.
        let keys = [[0u8, 0, 0], [0, 255, 255], [1, 0, 0], [255, 255, 255]];
        let pixels: Vec<u8> = keys
            .iter()
            .zip([255, 256, 257, 513])
            .flat_map(|(px, n)| px.repeat(n))
            .collect();
        let (mut a, mut b, mut c) = (RgbTable::new(), RgbTable::new(), RgbTable::new());
        count_rgb_direct(&pixels, &mut a);
        count_rgb_grouped(&pixels, &mut b, &mut Vec::new());
        let half = pixels.len() / 6 * 3;
        count_rgb_direct(&pixels[..half], &mut c);
        count_rgb_grouped(&pixels[half..], &mut c, &mut Vec::new());
        let thrice: Vec<u8> = pixels.repeat(3);
        assert_eq!(sum_rgb_tables(&[a, b, c]), naive(&thrice, 3));
    }

    #[test]
    fn hash_counting_gives_up_on_noise() {
        let pixels = HASH_CHUNK * 6;
        let data = image_u8(1, pixels, 4, 64, 9);
        assert_eq!(count_hashed(&data, 4, 8, &AtomicBool::new(false)), None);
        let hist = radix_histogram(&data, 4, 8);
        assert_eq!(hist, naive(&data, 4));
        assert_eq!(hashed_impl(&data, 4, 8), hist);
    }

    #[test]
    fn radix_sort_sorts() {
        for (len, bits) in [(0, 8), (10, 64), (5000, 17), (5000, 64), (70_000, 40)] {
            let mut next = noise(len as u64);
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            // Low bytes constant in half the cases, to exercise skipped passes.
            let shift = if len % 2 == 0 { 8 } else { 0 };
            let mut keys: Vec<u64> = (0..len).map(|_| (next() << shift) & mask).collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            radix_sort(&mut keys, bits, &mut Vec::new());
            assert_eq!(keys, expected);
        }
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let (h, w) = (1100, 1907);
        let rgb = image_u8(h, w, 3, 40, 21);
        let rgba = image_u8(300, 700, 4, 16, 22);
        let grey: Vec<f64> = image_u8(300, 700, 1, 250, 23)
            .iter()
            .zip(&rgba)
            .map(|(&a, &b)| f64::from(a) + f64::from(b) / 16.0)
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            pool.install(|| {
                let dense = histogram_u8(view(&rgb, h, w, 3));
                let hashed = histogram_u8(view(&rgba, 300, 700, 4));
                let radix = radix_histogram(&rgba, 4, 8);
                let palette = median_cut(&dense, 200).expect("valid");
                let levels = median_cut_levels(&grey, 100).expect("valid");
                (dense, hashed, radix, palette, levels)
            })
        };
        let one = run(1);
        assert_eq!(one.1, one.2);
        assert_eq!(one, run(3));
    }

    #[test]
    fn merge_adds_equal_keys() {
        let a = vec![(1, 2), (4, 1), (9, 9)];
        let b = vec![(0, 1), (4, 5), (10, 1)];
        assert_eq!(
            merge_sorted_counts(&a, &b),
            vec![(0, 1), (1, 2), (4, 6), (9, 9), (10, 1)]
        );
    }

    /// Median cut by its definition, box by box with no shortcuts: split the
    /// splittable box of largest squared error (the oldest on ties) at the
    /// weighted median of its widest channel (the lowest on ties), capped
    /// below the channel's maximum; paint each box its rounded mean.
    fn naive_median_cut(hist: &Histogram, k: usize, balanced: bool) -> Vec<u16> {
        type Colour = ([u16; 4], u64);
        let c = hist.channels;
        let stats = |items: &[Colour]| {
            let n: u128 = items.iter().map(|e| u128::from(e.1)).sum();
            let channel = |ch: usize| {
                let sum: u128 = items
                    .iter()
                    .map(|e| u128::from(e.1) * u128::from(e.0[ch]))
                    .sum();
                let sq: u128 = items
                    .iter()
                    .map(|e| u128::from(e.1) * u128::from(e.0[ch]).pow(2))
                    .sum();
                let lo = items.iter().map(|e| e.0[ch]).min().expect("non-empty");
                let hi = items.iter().map(|e| e.0[ch]).max().expect("non-empty");
                (sum, sq, lo, hi)
            };
            let error: f64 = (0..4)
                .map(|ch| {
                    let (sum, sq, _, _) = channel(ch);
                    (n * sq - sum * sum) as f64 / n as f64
                })
                .sum();
            (n, error, (0..4).map(channel).collect::<Vec<_>>())
        };
        let colours: Vec<Colour> = hist
            .colors
            .chunks_exact(c)
            .zip(&hist.counts)
            .filter(|(_, &n)| n > 0)
            .map(|(px, &n)| {
                let mut colour = [0u16; 4];
                colour[..c].copy_from_slice(px);
                (colour, n)
            })
            .collect();
        // (colours, creation order)
        let mut boxes: Vec<(Vec<Colour>, u64)> = vec![(colours, 0)];
        let mut seq = 0;
        while boxes.len() < k {
            let pick = boxes
                .iter()
                .enumerate()
                .filter(|(_, b)| b.0.iter().any(|e| e.0 != b.0[0].0))
                .max_by(|a, b| {
                    let priority = |items: &[Colour]| {
                        let (n, error, _) = stats(items);
                        if balanced {
                            error.powf(0.55) * (n as f64).powf(0.45)
                        } else {
                            error
                        }
                    };
                    let (ea, eb) = (priority(&a.1 .0), priority(&b.1 .0));
                    ea.total_cmp(&eb).then(b.1 .1.cmp(&a.1 .1))
                })
                .map(|(i, _)| i);
            let Some(i) = pick else { break };
            let (items, _) = boxes.swap_remove(i);
            let (n, _, channels) = stats(&items);
            let ch = if balanced {
                (0..4)
                    .rev()
                    .filter(|&ch| channels[ch].2 < channels[ch].3)
                    .max_by_key(|&ch| n * channels[ch].1 - channels[ch].0 * channels[ch].0)
                    .expect("a channel with two values")
            } else {
                (0..4)
                    .rev()
                    .max_by_key(|&ch| channels[ch].3 - channels[ch].2)
                    .expect("four channels")
            };
            let mut values: Vec<(u16, u64)> = items.iter().map(|e| (e.0[ch], e.1)).collect();
            values.sort_unstable();
            let mut seen = 0u128;
            let median = values
                .iter()
                .find(|v| {
                    seen += u128::from(v.1);
                    seen >= n.div_ceil(2)
                })
                .expect("half the pixels")
                .0;
            let threshold = median.min(channels[ch].3 - 1);
            let (lower, upper): (Vec<Colour>, Vec<Colour>) =
                items.into_iter().partition(|e| e.0[ch] <= threshold);
            boxes.push((lower, seq + 1));
            boxes.push((upper, seq + 2));
            seq += 2;
        }
        let mut means: Vec<[u16; 4]> = boxes
            .iter()
            .map(|b| {
                let (n, _, channels) = stats(&b.0);
                let mut mean = [0u16; 4];
                for (ch, m) in mean.iter_mut().enumerate() {
                    *m = ((2 * channels[ch].0 + n) / (2 * n)) as u16;
                }
                mean
            })
            .collect();
        means.sort_unstable();
        means.iter().flat_map(|m| m[..c].to_vec()).collect()
    }

    /// A histogram of `len` distinct random colours of `c` channels below
    /// `max`, with counts from `counts`.
    fn random_histogram(c: usize, len: usize, max: u64, seed: u64) -> Histogram {
        let mut next = noise(seed);
        let mut colors: Vec<Vec<u16>> = (0..len)
            .map(|_| (0..c).map(|_| (next() % max) as u16).collect())
            .collect();
        colors.sort_unstable();
        colors.dedup();
        let counts = colors.iter().map(|_| 1 + next() % 50).collect();
        Histogram {
            channels: c,
            colors: colors.concat(),
            counts,
        }
    }

    /// Runs `f` on a pool of `threads` threads.
    fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
            .install(f)
    }

    #[test]
    fn large_histograms_cut_as_the_definition() {
        // Enough colours for the parallel partition (2^17 entries per piece)
        // and for boxes that keep their marginals; 8-bit values take the
        // counted path throughout, 12-bit ones mix it with the per-entry one.
        for (c, len, max, k) in [
            (3, 300_000, 256, 40),
            (3, 30_000, 4096, 300),
            (4, 40_000, 64, 100),
        ] {
            let hist = random_histogram(c, len, max, len as u64);
            let expected = naive_median_cut(&hist, k, false);
            for threads in [1, 3] {
                let palette = on_threads(threads, || median_cut(&hist, k)).expect("valid");
                assert_eq!(
                    palette.values(),
                    &expected[..],
                    "{c} channels, {threads} threads"
                );
            }
            let balanced = on_threads(3, || median_cut_balanced(&hist, k)).expect("valid");
            assert_eq!(
                balanced.values(),
                &naive_median_cut(&hist, k, true)[..],
                "{c} channels, balanced"
            );
        }
    }

    #[test]
    fn marginal_statistics_are_exact() {
        // Small and large (several parallel pieces) sets of entries in an
        // order unrelated to the partitioned channel.
        for (len, threads) in [(5000, 1), (400_000, 2), (400_000, 3)] {
            let hist = random_histogram(3, len, 300, 4);
            let mut entries = histogram_entries(&hist).expect("valid");
            entries.sort_unstable_by_key(|e| (e.color[2], e.color[0]));
            let stats = Stats::of(&entries);
            let marginals = Marginals::of(&entries, &stats);
            assert_eq!(marginals.stats(), stats);
            // A subset counted while partitioning, then subtracted from the whole.
            let mut lower = marginals.zeroed_like();
            let n = on_threads(threads, || {
                partition_counting(&mut entries, 1, 150, &mut lower)
            });
            assert!(entries[..n].iter().all(|e| e.color[1] <= 150));
            assert!(entries[n..].iter().all(|e| e.color[1] > 150));
            assert_eq!(lower.stats(), Stats::of(&entries[..n]));
            let mut upper = marginals.clone();
            upper.subtract(&lower);
            assert_eq!(upper.stats(), Stats::of(&entries[n..]));
        }
    }

    /// Rounded-half-up mean of a list of pixels, channel by channel.
    fn rounded_mean(pixels: &[[u8; 3]]) -> Vec<u16> {
        (0..3)
            .map(|c| {
                let sum: u64 = pixels.iter().map(|p| u64::from(p[c])).sum();
                let n = pixels.len() as u64;
                ((2 * sum + n) / (2 * n)) as u16
            })
            .collect()
    }

    #[test]
    fn two_clusters_give_their_means() {
        let mut next = noise(3);
        let mut jitter = |base: u8| base + (next() % 9) as u8;
        let a: Vec<[u8; 3]> = (0..500)
            .map(|_| [jitter(10), jitter(40), jitter(20)])
            .collect();
        let b: Vec<[u8; 3]> = (0..500)
            .map(|_| [jitter(200), jitter(150), jitter(90)])
            .collect();
        let data: Vec<u8> = a.iter().chain(&b).flatten().copied().collect();
        let hist = histogram_u8(view(&data, 20, 50, 3));
        let palette = median_cut(&hist, 2).expect("valid");
        let mut expected = rounded_mean(&a);
        expected.extend(rounded_mean(&b));
        assert_eq!(palette.values(), &expected[..]);
    }

    #[test]
    fn one_colour_gives_one_entry() {
        let data = vec![7u16; 4 * 10];
        let hist = histogram_u16(view(&data, 2, 5, 4));
        let palette = median_cut(&hist, 256).expect("valid");
        assert_eq!(palette.values(), &[7, 7, 7, 7]);
    }

    #[test]
    fn large_k_and_extreme_values() {
        let hist = Histogram {
            channels: 2,
            colors: vec![0, 0, 0, 65535, 65535, 65535],
            counts: vec![u64::MAX, 1, u64::MAX],
        };
        let palette = median_cut(&hist, MAX_PALETTE_LEN).expect("valid");
        assert_eq!(palette.values(), &hist.colors[..]);
        let one = median_cut(&hist, 1).expect("valid");
        // 65535·M / (2M + 1) is just below 32767.5; 65535·(M + 1) / (2M + 1) just above.
        assert_eq!(one.values(), &[32767, 32768]);
    }

    #[test]
    fn zero_counts_are_ignored() {
        let hist = Histogram {
            channels: 1,
            colors: vec![1, 5, 9],
            counts: vec![0, 3, 0],
        };
        assert_eq!(median_cut(&hist, 3).expect("valid").values(), &[5]);
    }

    #[test]
    fn median_cut_errors() {
        let hist = histogram_u8(view(&[1, 2, 3], 1, 1, 3));
        for k in [0, MAX_PALETTE_LEN + 1] {
            assert!(matches!(
                median_cut(&hist, k),
                Err(Error::InvalidArgument(_))
            ));
        }
        let empty = median_cut(&Histogram::empty(3), 4).expect_err("no pixels");
        assert_eq!(
            empty.to_string(),
            "cannot build a palette from an image with no pixels"
        );
        let zero = Histogram {
            channels: 1,
            colors: vec![4],
            counts: vec![0],
        };
        assert!(median_cut(&zero, 4).is_err());
        let wide = histogram_u8(view(&[1, 2, 3, 4, 5], 1, 1, 5));
        assert!(median_cut(&wide, 4).is_err());
        let ragged = Histogram {
            channels: 3,
            colors: vec![1, 2],
            counts: vec![1],
        };
        assert!(median_cut(&ragged, 4).is_err());
    }

    #[test]
    fn flat_background_keeps_the_rare_levels() {
        let mut values = vec![0.25f64; 1_000_000];
        values.extend([-3.0, -1.5, 0.0, 0.5, 1.0, 7.0, 100.0]);
        let levels = median_cut_levels(&values, 8).expect("valid");
        assert_eq!(
            levels.values(),
            &[-3.0, -1.5, 0.0, 0.25, 0.5, 1.0, 7.0, 100.0]
        );
        let four = median_cut_levels(&values, 4).expect("valid");
        assert_eq!(four.values(), &[-1.0625, 0.75, 7.0, 100.0]);
    }

    #[test]
    fn huge_levels_stay_finite() {
        let values = [f64::MAX, -f64::MAX, f64::MAX / 2.0, 0.0, 1.0, -1.0];
        for k in 1..=6 {
            let levels = median_cut_levels(&values, k).expect("finite input");
            assert_eq!(levels.len(), k);
            assert!(levels.values().windows(2).all(|p| p[0] < p[1]));
        }
    }

    #[test]
    fn signed_zeros_are_one_level() {
        let levels = median_cut_levels(&[-0.0, 0.0, 1.0], 8).expect("valid");
        assert_eq!(levels.values().len(), 2);
        assert!(levels.values()[0].is_sign_positive());
    }

    #[test]
    fn levels_errors() {
        for k in [0, MAX_PALETTE_LEN + 1] {
            assert!(median_cut_levels(&[1.0], k).is_err());
        }
        assert!(median_cut_levels(&[], 4).is_err());
        assert!(median_cut_levels(&[1.0, f64::NAN], 4).is_err());
        assert!(median_cut_levels(&[f64::INFINITY], 4).is_err());
        assert!(median_cut_levels_f32(&[f32::NAN], 4).is_err());
        assert!(median_cut_levels_f32(&[], 4).is_err());
    }

    #[test]
    fn chunked_sum_is_accurate() {
        let mut xs = vec![1.0; 3 * SUM_CHUNK + 5];
        xs[0] = 1e16;
        xs.push(-1e16);
        assert_eq!(chunked_sum(&xs, |x| x), (3 * SUM_CHUNK + 4) as f64);
    }

    /// A 12000×12000 photo-like RGB image: smooth gradients plus a little noise.
    fn photo_like(h: usize, w: usize, c: usize) -> Vec<u8> {
        let mut out = vec![0u8; h * w * c];
        out.par_chunks_mut(w * c).enumerate().for_each(|(y, row)| {
            let mut next = noise(y as u64);
            for (x, px) in row.chunks_exact_mut(c).enumerate() {
                let n = next();
                for (ch, v) in px.iter_mut().enumerate() {
                    let base = (x * 200 / w + y * 50 / h + ch * 20) as u64;
                    *v = (base + (n >> (ch * 8)) % 6) as u8;
                }
            }
        });
        out
    }

    /// Photo-like with strong per-pixel noise and texture (millions of colours).
    fn photo_like_noisy(h: usize, w: usize) -> Vec<u8> {
        let mut out = vec![0u8; h * w * 3];
        out.par_chunks_mut(w * 3).enumerate().for_each(|(y, row)| {
            let mut next = noise(y as u64 + 99);
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let n = next();
                let texture = ((x / 37 + y / 53) % 7) as u64 * 9;
                for (ch, v) in px.iter_mut().enumerate() {
                    let base =
                        (x * 180 / w + y * 40 / h + ch * 10) as u64 + texture / (ch as u64 + 1);
                    *v = (base + (n >> (ch * 8)) % 24).min(255) as u8;
                }
            }
        });
        out
    }

    fn time<R>(label: &str, f: impl Fn() -> R) -> R {
        let mut best = f64::INFINITY;
        let mut r = None;
        for _ in 0..3 {
            let t = Instant::now();
            r = Some(f());
            best = best.min(t.elapsed().as_secs_f64());
        }
        eprintln!("{label}: {best:.3} s (best of 3)");
        r.expect("ran")
    }

    /// `cargo test --release --lib -- --ignored --nocapture timing`
    #[test]
    #[ignore = "timing on 144 M-pixel images; run in release"]
    fn timing() {
        let (h, w) = (12000, 12000);
        let images = [
            ("photo-like", photo_like(h, w, 3)),
            ("noisy photo", photo_like_noisy(h, w)),
            ("uniform noise", image_u8(h, w, 3, 256, 1)),
            ("flat", vec![9u8; h * w * 3]),
        ];
        for (name, img) in &images {
            let hist = time(&format!("histogram_u8 RGB {name}"), || {
                histogram_u8(view(img, h, w, 3))
            });
            eprintln!("  {} unique colours", hist.len());
            let palette = time("  median_cut k=256", || median_cut(&hist, 256));
            assert!(palette.is_ok());
        }
        drop(images);
        let rgba = photo_like(h, w, 4);
        let hist = time("histogram_u8 RGBA photo-like", || {
            histogram_u8(view(&rgba, h, w, 4))
        });
        eprintln!("  {} unique colours", hist.len());
        let wide: Vec<u16> = rgba.iter().map(|&v| u16::from(v) * 257 + 3).collect();
        drop(rgba);
        let hist = time("histogram_u16 RGBA photo-like", || {
            histogram_u16(view(&wide, h, w, 4))
        });
        eprintln!("  {} unique colours", hist.len());
        let grey: Vec<f32> = wide
            .iter()
            .step_by(4)
            .map(|&v| f32::from(v) / 65535.0)
            .collect();
        drop(wide);
        let levels = time("median_cut_levels_f32 k=256, 144 M values", || {
            median_cut_levels_f32(&grey, 256)
        });
        assert!(levels.is_ok());
        let grey: Vec<f32> = image_u8(h, w, 1, 256, 5)
            .iter()
            .zip(&grey)
            .map(|(&a, &b)| f32::from(a) + b)
            .collect();
        let levels = time(
            "median_cut_levels_f32 k=256, 144 M values, many unique",
            || median_cut_levels_f32(&grey, 256),
        );
        assert!(levels.is_ok());
        drop(grey);
        let rgba_noise = image_u8(h, w, 4, 256, 2);
        let hist = time("histogram_u8 RGBA uniform noise", || {
            histogram_u8(view(&rgba_noise, h, w, 4))
        });
        eprintln!("  {} unique colours", hist.len());
        drop(rgba_noise);
        let mut next = noise(4);
        let u16_noise: Vec<u16> = (0..h * w * 3).map(|_| next() as u16).collect();
        let hist = time("histogram_u16 RGB uniform noise", || {
            histogram_u16(view(&u16_noise, h, w, 3))
        });
        eprintln!("  {} unique colours", hist.len());
    }
}
