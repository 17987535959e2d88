//! Fast exact CPU path for nearest-palette quantization.
//!
//! Integer colours: colour space is cut into a grid of cells (about 2^15 of
//! them); each cell keeps the list of palette entries that can be nearest to
//! *some* point of the cell: entry `j` is kept when its smallest possible
//! distance to the cell is no larger than the smallest largest-distance of any
//! entry. Every entry that is nearest (or tied for nearest) for a pixel in the
//! cell passes that test, so scanning the list in palette order with a strict
//! `<` gives exactly the reference's answer. The lists are built level by
//! level, each cell filtering its parent's list, so building costs far less
//! than cells × K. When cells are single points (8-bit grey, 8-bit grey+alpha,
//! 16-bit grey) the grid is a plain lookup table.
//!
//! Float grey levels: the levels are sorted once; each pixel finds the two
//! levels around it and compares their f64 distances, widening to further
//! levels only when rounding makes their distances equal.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{GreyFloat, PaletteIndex, PaletteValue, Progress};
use crate::array::ImageView;
use crate::palette::{Levels, Palette};

/// Cells at the finest level are at most 2^TARGET_CELL_BITS.
const TARGET_CELL_BITS: u32 = 18;
/// A colour grid is fine enough once this fraction of its cells has at most
/// [`INLINE`] candidates.
const SHORT_ENOUGH: f64 = 0.97;
/// Largest (candidates × 2^C) a refinement step may process.
const MAX_REFINE_WORK: usize = 1 << 26;
/// Pixels handed to one task: big enough to amortise scheduling, small enough
/// to balance two cores and report progress often.
const BLOCK_PIXELS: usize = 1 << 16;

/// Candidate lists over a regular grid of colour-space cells.
pub(crate) struct CandidateGrid {
    channels: usize,
    /// Cell coordinate bits per channel.
    bits: u32,
    /// `value >> shift` is the cell coordinate along a channel.
    shift: u32,
    /// Start of each cell's list in `index`/`color`, plus one end marker.
    offsets: Vec<u32>,
    /// Palette index of each candidate, ascending within a cell.
    index: Vec<u16>,
    /// Candidate colours, unused channels 0.
    color: Vec<[u16; 4]>,
}

/// One parallel chunk of refined cells: list lengths, indices, colours.
type ChunkLists = (Vec<u32>, Vec<u16>, Vec<[u16; 4]>);

/// Per-channel bounds of a cell, inclusive.
#[derive(Clone, Copy)]
struct CellBox {
    lo: [i64; 4],
    hi: [i64; 4],
}

fn box_distances(b: &CellBox, c: &[u16; 4], channels: usize) -> (i64, i64) {
    let (mut dmin, mut dmax) = (0, 0);
    for ((&lo, &hi), &v) in b.lo.iter().zip(&b.hi).zip(c).take(channels) {
        let v = i64::from(v);
        let near = (lo - v).max(v - hi).max(0);
        let far = (v - lo).max(hi - v);
        dmin += near * near;
        dmax += far * far;
    }
    (dmin, dmax)
}

impl CandidateGrid {
    /// Builds the grid for `palette` over values of `value_bits` bits.
    pub(crate) fn build(palette: &Palette, value_bits: u32) -> Self {
        let channels = palette.channels();
        let final_bits = (TARGET_CELL_BITS / channels as u32).min(value_bits);
        let colors: Vec<[u16; 4]> = (0..palette.len())
            .map(|i| {
                let mut c = [0u16; 4];
                c[..channels].copy_from_slice(palette.color(i));
                c
            })
            .collect();
        // Level 0: one cell holding every entry.
        let mut grid = CandidateGrid {
            channels,
            bits: 0,
            shift: value_bits,
            offsets: vec![0, palette.len() as u32],
            index: (0..palette.len()).map(|i| i as u16).collect(),
            color: colors,
        };
        // Each refinement multiplies cells by 2^C and costs about that many
        // times the current candidate count; stop early for palettes whose
        // lists stay long (huge or tightly clustered palettes) to bound memory.
        while grid.bits < final_bits && (grid.index.len() << channels) <= MAX_REFINE_WORK {
            // On the last level of a large colour palette, short lists go
            // to the compact table unfiltered: it compares its three slots
            // anyway, and filtering 2^18 cells is most of the build (K=256:
            // 41 -> 38 ms for 4000²). Small palettes build fast and run
            // faster with filtered cells (K=16: 26 ms against 29).
            let keep_short = grid.bits + 1 == final_bits && channels >= 3 && palette.len() > 64;
            grid = grid.refine(value_bits, keep_short);
            // Colour grids stop as soon as nearly every cell fits the compact
            // table's inline slots: a coarser table stays in a faster cache
            // level (for 16 colours, 2^15 cells instead of 2^18). Grey and
            // grey+alpha grids go to single values and become lookup tables.
            if channels >= 3 && grid.short_fraction() >= SHORT_ENOUGH {
                break;
            }
        }
        grid
    }

    /// Fraction of cells whose list fits the compact grid's inline slots.
    fn short_fraction(&self) -> f64 {
        let short = self
            .offsets
            .windows(2)
            .filter(|w| (w[1] - w[0]) as usize <= INLINE)
            .count();
        short as f64 / self.cells() as f64
    }

    fn cells(&self) -> usize {
        1 << (self.bits as usize * self.channels)
    }

    /// Splits every cell in two along every channel, filtering parent lists
    /// (`keep_short`: copy lists of at most [`INLINE`] entries unfiltered).
    fn refine(&self, value_bits: u32, keep_short: bool) -> Self {
        let bits = self.bits + 1;
        let shift = value_bits - bits;
        let channels = self.channels;
        let n_cells = 1usize << (bits as usize * channels);
        // Cells are filtered in parallel chunks, each appending to its own
        // lists (no allocation per cell), then the chunks are concatenated.
        const CHUNK: usize = 4096;
        let chunks: Vec<ChunkLists> = (0..n_cells.div_ceil(CHUNK))
            .into_par_iter()
            .map(|chunk| {
                let cells = chunk * CHUNK..((chunk + 1) * CHUNK).min(n_cells);
                let mut lens = Vec::with_capacity(cells.len());
                let mut index = Vec::new();
                let mut color = Vec::new();
                let mut dists = Vec::new();
                for cell in cells {
                    let (coords, parent) = self.child_coords(cell, bits);
                    let cell_box = cell_box(&coords, channels, shift);
                    let range = self.offsets[parent] as usize..self.offsets[parent + 1] as usize;
                    let before = index.len();
                    if range.len() == 1 || (keep_short && range.len() <= INLINE) {
                        // A lone candidate stays the only one in every child.
                        index.extend_from_slice(&self.index[range.clone()]);
                        color.extend_from_slice(&self.color[range.clone()]);
                        lens.push(range.len() as u32);
                        continue;
                    }
                    filter_candidates(
                        &cell_box,
                        channels,
                        (&self.index[range.clone()], &self.color[range]),
                        &mut dists,
                        (&mut index, &mut color),
                    );
                    lens.push((index.len() - before) as u32);
                }
                (lens, index, color)
            })
            .collect();
        let total: usize = chunks.iter().map(|c| c.1.len()).sum();
        let mut offsets = Vec::with_capacity(n_cells + 1);
        let mut index = Vec::with_capacity(total);
        let mut color = Vec::with_capacity(total);
        offsets.push(0u32);
        for (lens, i, c) in chunks {
            for len in lens {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last + len);
            }
            index.extend_from_slice(&i);
            color.extend_from_slice(&c);
        }
        CandidateGrid {
            channels,
            bits,
            shift,
            offsets,
            index,
            color,
        }
    }

    /// Coordinates of child `cell` (at `bits` per channel) and its parent cell.
    fn child_coords(&self, cell: usize, bits: u32) -> ([i64; 4], usize) {
        let mut coords = [0i64; 4];
        let mut parent = 0usize;
        let mask = (1usize << bits) - 1;
        for (ch, coord) in coords.iter_mut().enumerate().take(self.channels) {
            let shift = bits as usize * (self.channels - 1 - ch);
            let c = (cell >> shift) & mask;
            *coord = c as i64;
            parent = (parent << self.bits) | (c >> 1);
        }
        (coords, parent)
    }

    /// True when every cell is a single colour: the grid is a lookup table.
    fn is_point_grid(&self) -> bool {
        self.shift == 0
    }

    #[inline(always)]
    fn cell_of<const C: usize>(&self, px: &[u16; C]) -> usize {
        let mut cell = 0usize;
        for &v in px {
            cell = (cell << self.bits) | usize::from(v >> self.shift);
        }
        cell
    }

    /// The nearest entry by scanning the pixel's cell list (the compact
    /// grid's fallback for cells with many candidates).
    #[inline(never)]
    fn nearest<const C: usize>(&self, px: &[u16; C]) -> u16 {
        let cell = self.cell_of(px);
        let start = self.offsets[cell] as usize;
        let end = self.offsets[cell + 1] as usize;
        if end - start == 1 {
            return self.index[start];
        }
        let mut best_d = i64::MAX;
        let mut best_i = 0;
        for j in start..end {
            let c = &self.color[j];
            let mut d = 0;
            for ch in 0..C {
                let diff = i64::from(px[ch]) - i64::from(c[ch]);
                d += diff * diff;
            }
            if d < best_d {
                best_d = d;
                best_i = self.index[j];
            }
        }
        best_i
    }

    /// For point grids: the answer for every colour, as a table.
    fn lookup_table(&self) -> Vec<u16> {
        (0..self.cells())
            .map(|cell| {
                // A point cell's list holds exactly the entries tied for
                // nearest, in palette order: the first is the answer.
                self.index[self.offsets[cell] as usize]
            })
            .collect()
    }
}

/// Entry types of a [`CompactGrid`]: `u8` when K ≤ 256, else `u16`.
trait Slot: Copy + Default + Send + Sync + PartialEq {
    fn new(i: u16) -> Self;
    fn get(self) -> usize;
}

impl Slot for u8 {
    fn new(i: u16) -> Self {
        i as u8
    }
    fn get(self) -> usize {
        usize::from(self)
    }
}

impl Slot for u16 {
    fn new(i: u16) -> Self {
        i
    }
    fn get(self) -> usize {
        usize::from(self)
    }
}

/// Candidates stored inline per cell.
const INLINE: usize = 3;

/// The finest grid packed for the per-pixel loop: per cell, up to three
/// candidate *indices* (4 bytes per cell for K ≤ 256, so 2^18 cells take
/// 1 MiB and stay in L2) plus a tag; the colours come from the palette,
/// which is small enough for L1. A cell with one or two candidates repeats
/// its first one, so every pixel computes three distances with no branch
/// on the count. Cells with more than three candidates (3 % for 256 random
/// colours) are tagged and fall back to the grid's full list.
struct CompactGrid<'g, X> {
    grid: &'g CandidateGrid,
    cells: Vec<[X; 4]>,
    colors: Vec<[u16; 4]>,
}

impl<'g, X: Slot> CompactGrid<'g, X> {
    fn new(grid: &'g CandidateGrid, palette: &Palette) -> Self {
        let cells = (0..grid.cells())
            .map(|cell| {
                let list =
                    &grid.index[grid.offsets[cell] as usize..grid.offsets[cell + 1] as usize];
                let mut e = [X::default(); 4];
                if list.len() > INLINE {
                    e[3] = X::new(1);
                    return e;
                }
                for (k, slot) in e.iter_mut().take(INLINE).enumerate() {
                    *slot = X::new(list[k.min(list.len() - 1)]);
                }
                e
            })
            .collect();
        let colors = (0..palette.len())
            .map(|i| {
                let mut c = [0u16; 4];
                c[..palette.channels()].copy_from_slice(palette.color(i));
                c
            })
            .collect();
        Self {
            grid,
            cells,
            colors,
        }
    }

    #[inline(always)]
    fn cell_of<const C: usize>(&self, px: &[u16; C]) -> usize {
        let mut cell = 0usize;
        for &v in px {
            cell = (cell << self.grid.bits) | usize::from(v >> self.grid.shift);
        }
        cell
    }

    #[inline(always)]
    fn resolve<const C: usize, const WIDE: bool>(&self, px: &[u16; C], e: [X; 4]) -> u16 {
        if e[3] != X::default() {
            return self.grid.nearest(px);
        }
        let dist = |i: X| -> i64 {
            let c = &self.colors[i.get()];
            if WIDE {
                let mut d = 0i64;
                for ch in 0..C {
                    let diff = i64::from(px[ch]) - i64::from(c[ch]);
                    d += diff * diff;
                }
                d
            } else {
                // 8-bit values: four squared differences fit i32.
                let mut d = 0i32;
                for ch in 0..C {
                    let diff = i32::from(px[ch]) - i32::from(c[ch]);
                    d += diff * diff;
                }
                i64::from(d)
            }
        };
        // Slots are in ascending palette order: strict < keeps the lowest
        // index on ties, and a repeated slot never replaces its original.
        let (mut best, mut best_d) = (e[0], dist(e[0]));
        let d1 = dist(e[1]);
        if d1 < best_d {
            best = e[1];
            best_d = d1;
        }
        if dist(e[2]) < best_d {
            best = e[2];
        }
        best.get() as u16
    }
}

/// `B` > 0: the grid has `B` bits per channel over 8-bit values, known at
/// compile time so the cell number is built with constant shifts; 0 reads
/// them from the grid.
fn apply_compact<T: PaletteValue, I: PaletteIndex, X: Slot, const C: usize, const B: u32>(
    grid: &CompactGrid<'_, X>,
    pixels: &[T],
    out: &mut [I],
) {
    // In batches: all cell numbers first, then all table loads, then the
    // distances. Independent loads in a row let the CPU overlap their cache
    // misses instead of waiting on each pixel's in turn.
    const BATCH: usize = 32;
    let mut px = [[0u16; C]; BATCH];
    let mut entries = [[X::default(); 4]; BATCH];
    for (chunk, o) in pixels.chunks(C * BATCH).zip(out.chunks_mut(BATCH)) {
        let n = o.len();
        for (p, v) in px.iter_mut().zip(chunk.chunks_exact(C)) {
            for (dst, &x) in p.iter_mut().zip(v) {
                *dst = x.into();
            }
        }
        for (e, p) in entries.iter_mut().zip(&px).take(n) {
            let cell = if B == 0 {
                grid.cell_of(p)
            } else {
                p.iter()
                    .fold(0usize, |cell, &v| (cell << B) | usize::from(v >> (8 - B)))
            };
            *e = grid.cells[cell];
        }
        for ((dst, p), &e) in o.iter_mut().zip(&px).zip(&entries) {
            let i = if T::BITS == 8 {
                grid.resolve::<C, false>(p, e)
            } else {
                grid.resolve::<C, true>(p, e)
            };
            *dst = I::from_index(usize::from(i));
        }
    }
}

/// The AVX2 loop's tables: per cell its three candidates and a zero tag,
/// or, for cells with longer lists, the list's word offset in `long` (24
/// bits, little-endian) and tag 1. A list in `long` is its length, then one
/// `r | g << 8 | b << 16 | index << 24` word per candidate in ascending
/// index order: one cache line serves a whole fallback, where the grid's own
/// arrays (offsets, indices, colours) cost three dependent misses.
/// `None` when the lists would not fit 24-bit offsets.
#[cfg(target_arch = "x86_64")]
fn packed_cells<X: Slot>(g: &CompactGrid<'_, X>) -> Option<(Vec<[u8; 4]>, Vec<u32>)> {
    let mut long = Vec::new();
    let mut cells = Vec::with_capacity(g.cells.len());
    for (cell, e) in g.cells.iter().enumerate() {
        if e[3].get() == 0 {
            cells.push(e.map(|x| x.get() as u8));
            continue;
        }
        let range = g.grid.offsets[cell] as usize..g.grid.offsets[cell + 1] as usize;
        let offset = u32::try_from(long.len()).ok().filter(|&o| o < 1 << 24)?;
        long.push(range.len() as u32);
        for (c, &i) in g.grid.color[range.clone()].iter().zip(&g.grid.index[range]) {
            long.push(
                u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16 | u32::from(i) << 24,
            );
        }
        let b = offset.to_le_bytes();
        cells.push([b[0], b[1], b[2], 1]);
    }
    Some((cells, long))
}

/// 8-bit RGB with K ≤ 256 through the AVX2 loop (`simd.rs`).
#[cfg(target_arch = "x86_64")]
fn run_rgb8_simd<T: PaletteValue, I: PaletteIndex, X: Slot>(
    g: &CompactGrid<'_, X>,
    (cells, long): (Vec<[u8; 4]>, Vec<u32>),
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let mut colors = [0u32; 256];
    for (dst, c) in colors.iter_mut().zip(&g.colors) {
        *dst = u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16;
    }
    let bits = g.grid.bits;
    // One colour per palette entry.
    let k = g.colors.len();
    for_row_blocks(image, out, progress, |p, o| {
        let bytes: &[u8] = bytemuck::cast_slice(p);
        super::simd::apply_rgb8(&cells, bits, &colors, k, bytes, o, &long);
    });
}

fn run_compact<T: PaletteValue, I: PaletteIndex, X: Slot>(
    grid: &CandidateGrid,
    palette: &Palette,
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let compact = CompactGrid::<X>::new(grid, palette);
    let g = &compact;
    #[cfg(target_arch = "x86_64")]
    if image.channels() == 3
        && T::BITS == 8
        && std::mem::size_of::<X>() == 1
        && (1..=8).contains(&grid.bits)
        && super::simd::available()
    {
        if let Some(tables) = packed_cells(g) {
            run_rgb8_simd(g, tables, image, out, progress);
            return;
        }
    }
    match (image.channels(), T::BITS, grid.bits) {
        (3, 8, 5) => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 3, 5>(g, p, o)
        }),
        (3, 8, 6) => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 3, 6>(g, p, o)
        }),
        (1, ..) => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 1, 0>(g, p, o)
        }),
        (2, ..) => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 2, 0>(g, p, o)
        }),
        (3, ..) => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 3, 0>(g, p, o)
        }),
        _ => for_row_blocks(image, out, progress, |p, o| {
            apply_compact::<T, I, X, 4, 0>(g, p, o)
        }),
    }
}

fn cell_box(coords: &[i64; 4], channels: usize, shift: u32) -> CellBox {
    let mut b = CellBox {
        lo: [0; 4],
        hi: [0; 4],
    };
    for ((lo, hi), &c) in b.lo.iter_mut().zip(&mut b.hi).zip(coords).take(channels) {
        *lo = c << shift;
        *hi = ((c + 1) << shift) - 1;
    }
    b
}

/// Appends to `out` the candidates (from `parent`) that can be nearest to
/// some point of `cell`, keeping palette order.
///
/// Two tests, both exact in integers. The candidate `b` with the smallest
/// farthest-point distance bounds every answer in the cell, so a candidate
/// whose nearest point is farther than that bound never wins. And since
/// `|x − c|² − |x − b|²` is linear in `x`, its minimum over the box is at a
/// corner (per channel, `lo` or `hi`): when it is positive everywhere (or
/// zero and `b` has the lower index, which wins ties), `c` never wins
/// either. The second test keeps lists near the true Voronoi neighbours,
/// where the first alone lets them grow with the cell's diagonal.
fn filter_candidates(
    cell: &CellBox,
    channels: usize,
    parent: (&[u16], &[[u16; 4]]),
    dists: &mut Vec<(i64, i64)>,
    out: (&mut Vec<u16>, &mut Vec<[u16; 4]>),
) {
    dists.clear();
    dists.extend(parent.1.iter().map(|c| box_distances(cell, c, channels)));
    let Some((best, bound)) = dists
        .iter()
        .enumerate()
        .min_by_key(|(_, d)| d.1)
        .map(|(k, d)| (k, d.1))
    else {
        return;
    };
    let (b_index, b_color) = (parent.0[best], &parent.1[best]);
    for (k, ((&i, c), d)) in parent.0.iter().zip(parent.1).zip(dists.iter()).enumerate() {
        if d.0 > bound {
            continue;
        }
        if k != best {
            let gain = min_gain(cell, c, b_color, channels);
            if gain > 0 || (gain == 0 && i > b_index) {
                continue;
            }
        }
        out.0.push(i);
        out.1.push(*c);
    }
}

/// The minimum over the box of `|x − c|² − |x − b|²`.
fn min_gain(cell: &CellBox, c: &[u16; 4], b: &[u16; 4], channels: usize) -> i64 {
    let mut total = 0;
    for ch in 0..channels {
        let (c, b) = (i64::from(c[ch]), i64::from(b[ch]));
        // (x − c)² − (x − b)² = (b − c)(2x − b − c): linear in x.
        let at = |x: i64| (b - c) * (2 * x - b - c);
        total += at(cell.lo[ch]).min(at(cell.hi[ch]));
    }
    total
}

/// Runs `f` over blocks of whole rows in parallel, reporting progress.
fn for_row_blocks<T: crate::array::Element, I: Send>(
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
    f: impl Fn(&[T], &mut [I]) + Sync,
) {
    let width = image.width().max(1);
    let rows_per_block = (BLOCK_PIXELS / width).max(1);
    let c = image.channels();
    let height = image.height();
    let done = AtomicUsize::new(0);
    if image.pixels() == 0 {
        progress(height, height);
        return;
    }
    out.par_chunks_mut(rows_per_block * width)
        .zip(image.data().par_chunks(rows_per_block * width * c))
        .for_each(|(o, px)| {
            f(px, o);
            let rows = o.len() / width;
            let now = done.fetch_add(rows, Ordering::Relaxed) + rows;
            progress(now, height);
        });
}

fn apply_table<T: PaletteValue, I: PaletteIndex, const C: usize>(
    table: &[I],
    bits: u32,
    pixels: &[T],
    out: &mut [I],
) {
    if let (1, Ok(t)) = (C, <&[I; 256]>::try_from(table)) {
        // One 8-bit channel: a 256-entry table indexed by the byte itself,
        // no bounds checks, so the loop runs at memory speed.
        for (o, &v) in out.iter_mut().zip(pixels) {
            *o = t[usize::from(v.into()) & 255];
        }
        return;
    }
    for (px, o) in pixels.chunks_exact(C).zip(out.iter_mut()) {
        let mut cell = 0usize;
        for &v in px {
            cell = (cell << bits) | usize::from(v.into());
        }
        *o = table[cell];
    }
}

/// Fast exact nearest-palette indices (see the module docs).
pub(crate) fn nearest_palette_cpu<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let grid = CandidateGrid::build(palette, T::BITS);
    if grid.is_point_grid() {
        let table: Vec<I> = grid
            .lookup_table()
            .into_iter()
            .map(|i| I::from_index(usize::from(i)))
            .collect();
        let bits = grid.bits;
        match image.channels() {
            1 => for_row_blocks(&image, out, progress, |p, o| {
                apply_table::<T, I, 1>(&table, bits, p, o)
            }),
            2 => for_row_blocks(&image, out, progress, |p, o| {
                apply_table::<T, I, 2>(&table, bits, p, o)
            }),
            3 => for_row_blocks(&image, out, progress, |p, o| {
                apply_table::<T, I, 3>(&table, bits, p, o)
            }),
            _ => for_row_blocks(&image, out, progress, |p, o| {
                apply_table::<T, I, 4>(&table, bits, p, o)
            }),
        }
        return;
    }
    if palette.len() <= u8::MAX as usize + 1 {
        run_compact::<T, I, u8>(&grid, palette, &image, out, progress);
    } else {
        run_compact::<T, I, u16>(&grid, palette, &image, out, progress);
    }
}

/// Levels sorted ascending, equal values merged keeping the lowest index.
pub(crate) struct SortedLevels {
    values: Vec<f64>,
    index: Vec<u16>,
}

/// Below this many distinct levels a linear count beats a binary search.
const LINEAR_SEARCH_MAX: usize = 32;

impl SortedLevels {
    pub(crate) fn new(levels: &Levels) -> Self {
        let mut pairs: Vec<(f64, u16)> = levels
            .values()
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u16))
            .collect();
        // Levels are finite (checked by `Levels::new`), so partial_cmp is total here.
        pairs.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        pairs.dedup_by(|later, first| later.0 == first.0);
        Self {
            values: pairs.iter().map(|p| p.0).collect(),
            index: pairs.iter().map(|p| p.1).collect(),
        }
    }

    /// Number of levels strictly below `x`.
    #[inline(always)]
    fn count_below(&self, x: f64) -> usize {
        if self.values.len() <= LINEAR_SEARCH_MAX {
            self.values.iter().map(|&v| usize::from(v < x)).sum()
        } else {
            self.values.partition_point(|&v| v < x)
        }
    }

    /// Exactly the reference's answer for one pixel.
    #[inline(always)]
    pub(crate) fn nearest(&self, x: f64) -> u16 {
        if x.is_nan() {
            return 0;
        }
        let v = &self.values;
        let p = self.count_below(x);
        // Distances are monotone on each side of x (rounded subtraction is
        // monotone), so the nearest is at p-1 or p, and levels tied with it by
        // rounding sit next to them.
        let left = p.checked_sub(1).map(|i| (x - v[i], i));
        let right = v.get(p).map(|&r| (r - x, p));
        let best = match (left, right) {
            (Some(l), Some(r)) => l.0.min(r.0),
            (Some(l), None) => l.0,
            (None, Some(r)) => r.0,
            (None, None) => return 0,
        };
        let mut lo = p;
        while lo > 0 && x - v[lo - 1] == best {
            lo -= 1;
        }
        let mut hi = p;
        while hi < v.len() && v[hi] - x == best {
            hi += 1;
        }
        // lo..hi holds every level at the best distance (often just one).
        self.index[lo..hi].iter().copied().min().unwrap_or(0)
    }
}

fn apply_levels_fast<T: GreyFloat, I: PaletteIndex, const N: usize>(
    image: &ImageView<'_, T>,
    fast: &LevelFastPath<'_>,
    out: &mut [I],
    progress: Progress<'_>,
) {
    for_row_blocks(image, out, progress, |px, o| {
        let mut xs = px.chunks_exact(LANES);
        let mut os = o.chunks_exact_mut(LANES);
        for (x, dst) in (&mut xs).zip(&mut os) {
            fast.nearest_lanes::<T, I, N>(x, dst);
        }
        for (&x, dst) in xs.remainder().iter().zip(os.into_remainder()) {
            *dst = I::from_index(usize::from(fast.nearest::<N>(x.to_f64())));
        }
    });
}

/// Pixels decided together by [`LevelFastPath::nearest_lanes`].
const LANES: usize = 8;

/// Most midpoints the fast path handles (17 levels).
const MIDPOINTS: usize = 16;

/// The fast decision for float levels: a pixel's nearest level is the one
/// between the two midpoints around it, unless the pixel sits within `tol`
/// of a midpoint, where f64 rounding could tie or flip the comparison; then
/// (and when `tol` reaches the smallest gap, for enormous values) the exact
/// search decides. `tol = (|x| + max|level|) · 2^-40` is far above the
/// rounding of any difference involved (2^-53 relative), and below the gap,
/// so away from midpoints the rounded distances order exactly as the real
/// ones: the answer is exactly the reference's.
struct LevelFastPath<'a> {
    sorted: &'a SortedLevels,
    /// `mid` rounded to f32: counting in f32 packs twice the lanes per SIMD
    /// compare; the f64 check below catches any pixel it miscounts.
    mid32: [f32; MIDPOINTS],
    /// `below[p]`/`above[p]`: the midpoints around level p, ±inf at the ends,
    /// so the check has no branches on p.
    below: [f64; MIDPOINTS + 1],
    above: [f64; MIDPOINTS + 1],
    n_mid: usize,
    max_abs: f64,
    min_gap: f64,
}

impl<'a> LevelFastPath<'a> {
    fn new(sorted: &'a SortedLevels) -> Option<Self> {
        let v = &sorted.values;
        if v.len() > MIDPOINTS + 1 {
            return None;
        }
        let mut mid = [f64::INFINITY; MIDPOINTS];
        for (m, w) in mid.iter_mut().zip(v.windows(2)) {
            *m = w[0] + (w[1] - w[0]) / 2.0;
        }
        let min_gap = v
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::INFINITY, f64::min);
        let n_mid = v.len() - 1;
        let mut below = [f64::NEG_INFINITY; MIDPOINTS + 1];
        let mut above = [f64::INFINITY; MIDPOINTS + 1];
        below[1..=n_mid].copy_from_slice(&mid[..n_mid]);
        above[..n_mid].copy_from_slice(&mid[..n_mid]);
        Some(Self {
            sorted,
            below,
            above,
            mid32: mid.map(|m| m as f32),
            n_mid: v.len() - 1,
            max_abs: v.iter().fold(0.0f64, |m, x| m.max(x.abs())),
            min_gap,
        })
    }

    /// Eight pixels at once, written so the compiler vectorizes across
    /// pixels: each lane counts the f32 midpoints below it and keeps its
    /// distance to the closest one. A lane is decided by the count when that
    /// distance exceeds `(|x| + max|level|) · 2^-20`, which dwarfs f32
    /// rounding of x and of the midpoints (2^-24 relative), so x is then on
    /// the same side of every exact midpoint and far from it; other lanes
    /// (about one pixel in 10^5 for typical data) take the exact search.
    #[inline(always)]
    fn nearest_lanes<T: GreyFloat, I: PaletteIndex, const N: usize>(
        &self,
        px: &[T],
        out: &mut [I],
    ) {
        let mut x = [0f32; LANES];
        for (d, &v) in x.iter_mut().zip(px) {
            *d = v.to_f64() as f32;
        }
        let mut count = [0u32; LANES];
        let mut closest = [f32::INFINITY; LANES];
        for &m in &self.mid32[..N] {
            for l in 0..LANES {
                count[l] += u32::from(m < x[l]);
                closest[l] = closest[l].min((x[l] - m).abs());
            }
        }
        let scale = (1.0 / (1u64 << 20) as f64) as f32;
        let (max_abs, min_gap) = (self.max_abs as f32, self.min_gap as f32);
        for l in 0..LANES {
            let tol = (x[l].abs() + max_abs) * scale;
            // NaN and huge values fail these comparisons: exact path.
            out[l] = if closest[l] > tol && tol < min_gap {
                I::from_index(usize::from(self.sorted.index[count[l] as usize]))
            } else {
                I::from_index(usize::from(self.sorted.nearest(px[l].to_f64())))
            };
        }
    }

    /// `N` ≥ the number of midpoints: the count compiles to N/2 SIMD
    /// compares, so it pays to pick the smallest that fits.
    #[inline(always)]
    fn nearest<const N: usize>(&self, x: f64) -> u16 {
        let tol = (x.abs() + self.max_abs) * (1.0 / (1u64 << 40) as f64);
        // NaN fails `tol < min_gap` and goes to the exact path too.
        if tol < self.min_gap {
            let x32 = x as f32;
            let p = self.mid32[..N]
                .iter()
                .map(|&m| u32::from(m < x32))
                .sum::<u32>() as usize;
            // The f64 checks confirm x lies strictly between the midpoints
            // around level p, which also rules out an f32 miscount.
            let inside = (x - self.below[p] > tol) & (self.above[p] - x > tol);
            if inside {
                return self.sorted.index[p];
            }
        }
        self.sorted.nearest(x)
    }
}

/// Fast exact nearest-level indices for float greyscale.
pub(crate) fn nearest_level_cpu<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let sorted = SortedLevels::new(levels);
    if let Some(fast) = LevelFastPath::new(&sorted) {
        match fast.n_mid {
            0..=2 => apply_levels_fast::<T, I, 2>(&image, &fast, out, progress),
            3..=4 => apply_levels_fast::<T, I, 4>(&image, &fast, out, progress),
            5..=8 => apply_levels_fast::<T, I, 8>(&image, &fast, out, progress),
            _ => apply_levels_fast::<T, I, MIDPOINTS>(&image, &fast, out, progress),
        }
        return;
    }
    for_row_blocks(&image, out, progress, |px, o| {
        for (&x, dst) in px.iter().zip(o.iter_mut()) {
            *dst = I::from_index(usize::from(sorted.nearest(x.to_f64())));
        }
    });
}
