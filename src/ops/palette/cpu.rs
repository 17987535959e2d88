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
const TARGET_CELL_BITS: u32 = 16;
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
    color: Vec<[i64; 4]>,
}

/// Per-channel bounds of a cell, inclusive.
#[derive(Clone, Copy)]
struct CellBox {
    lo: [i64; 4],
    hi: [i64; 4],
}

fn box_distances(b: &CellBox, c: &[i64; 4], channels: usize) -> (i64, i64) {
    let (mut dmin, mut dmax) = (0, 0);
    for ch in 0..channels {
        let below = b.lo[ch] - c[ch];
        let above = c[ch] - b.hi[ch];
        let near = below.max(above).max(0);
        let far = (c[ch] - b.lo[ch]).max(b.hi[ch] - c[ch]);
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
        let colors: Vec<[i64; 4]> = (0..palette.len())
            .map(|i| {
                let mut c = [0i64; 4];
                for (dst, &v) in c.iter_mut().zip(palette.color(i)) {
                    *dst = i64::from(v);
                }
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
            grid = grid.refine(value_bits);
        }
        grid
    }

    fn cells(&self) -> usize {
        1 << (self.bits as usize * self.channels)
    }

    /// Splits every cell in two along every channel, filtering parent lists.
    fn refine(&self, value_bits: u32) -> Self {
        let bits = self.bits + 1;
        let shift = value_bits - bits;
        let channels = self.channels;
        let n_cells = 1usize << (bits as usize * channels);
        let lists: Vec<(Vec<u16>, Vec<[i64; 4]>)> = (0..n_cells)
            .into_par_iter()
            .with_min_len(256)
            .map(|cell| {
                let (coords, parent) = self.child_coords(cell, bits);
                let cell_box = cell_box(&coords, channels, shift);
                let range = self.offsets[parent] as usize..self.offsets[parent + 1] as usize;
                filter_candidates(
                    &cell_box,
                    channels,
                    &self.index[range.clone()],
                    &self.color[range],
                )
            })
            .collect();
        let mut offsets = Vec::with_capacity(n_cells + 1);
        let total: usize = lists.iter().map(|l| l.0.len()).sum();
        let mut index = Vec::with_capacity(total);
        let mut color = Vec::with_capacity(total);
        offsets.push(0u32);
        for (i, c) in lists {
            index.extend_from_slice(&i);
            color.extend_from_slice(&c);
            offsets.push(index.len() as u32);
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
        for ch in 0..self.channels {
            let shift = bits as usize * (self.channels - 1 - ch);
            let c = (cell >> shift) & mask;
            coords[ch] = c as i64;
            parent = (parent << self.bits) | (c >> 1);
        }
        (coords, parent)
    }

    /// True when every cell is a single colour: the grid is a lookup table.
    fn is_point_grid(&self) -> bool {
        self.shift == 0
    }

    /// Cell coordinate bits per channel.
    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    /// Average candidate-list length (a measure of the per-pixel work).
    pub(crate) fn mean_candidates(&self) -> f64 {
        self.index.len() as f64 / self.cells() as f64
    }

    #[inline(always)]
    fn cell_of<const C: usize>(&self, px: &[u16; C]) -> usize {
        let mut cell = 0usize;
        for &v in px {
            cell = (cell << self.bits) | usize::from(v >> self.shift);
        }
        cell
    }

    #[inline(always)]
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
                let diff = i64::from(px[ch]) - c[ch];
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

fn cell_box(coords: &[i64; 4], channels: usize, shift: u32) -> CellBox {
    let mut b = CellBox {
        lo: [0; 4],
        hi: [0; 4],
    };
    for ch in 0..channels {
        b.lo[ch] = coords[ch] << shift;
        b.hi[ch] = ((coords[ch] + 1) << shift) - 1;
    }
    b
}

fn filter_candidates(
    cell: &CellBox,
    channels: usize,
    index: &[u16],
    color: &[[i64; 4]],
) -> (Vec<u16>, Vec<[i64; 4]>) {
    let dists: Vec<(i64, i64)> = color
        .iter()
        .map(|c| box_distances(cell, c, channels))
        .collect();
    let bound = dists.iter().map(|d| d.1).min().unwrap_or(i64::MAX);
    let mut keep_i = Vec::new();
    let mut keep_c = Vec::new();
    for ((&i, c), d) in index.iter().zip(color).zip(&dists) {
        if d.0 <= bound {
            keep_i.push(i);
            keep_c.push(*c);
        }
    }
    (keep_i, keep_c)
}

/// Runs `f` over blocks of whole rows in parallel, reporting progress.
fn for_row_blocks<T: Sync, I: Send>(
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
    f: impl Fn(&[T], &mut [I]) + Sync,
) where
    T: crate::array::Element,
{
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

fn apply_grid<T: PaletteValue, I: PaletteIndex, const C: usize>(
    grid: &CandidateGrid,
    pixels: &[T],
    out: &mut [I],
) {
    let mut last: Option<([u16; C], I)> = None;
    for (px, o) in pixels.chunks_exact(C).zip(out.iter_mut()) {
        let mut p = [0u16; C];
        for (dst, &v) in p.iter_mut().zip(px) {
            *dst = v.into();
        }
        // Neighbouring pixels often repeat a colour: skip the search then.
        if let Some((lp, li)) = last {
            if lp == p {
                *o = li;
                continue;
            }
        }
        let i = I::from_index(usize::from(grid.nearest(&p)));
        *o = i;
        last = Some((p, i));
    }
}

fn apply_table<T: PaletteValue, I: PaletteIndex, const C: usize>(
    table: &[I],
    bits: u32,
    pixels: &[T],
    out: &mut [I],
) {
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
    match image.channels() {
        1 => for_row_blocks(&image, out, progress, |p, o| {
            apply_grid::<T, I, 1>(&grid, p, o)
        }),
        2 => for_row_blocks(&image, out, progress, |p, o| {
            apply_grid::<T, I, 2>(&grid, p, o)
        }),
        3 => for_row_blocks(&image, out, progress, |p, o| {
            apply_grid::<T, I, 3>(&grid, p, o)
        }),
        _ => for_row_blocks(&image, out, progress, |p, o| {
            apply_grid::<T, I, 4>(&grid, p, o)
        }),
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

/// Fast exact nearest-level indices for float greyscale.
pub(crate) fn nearest_level_cpu<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let sorted = SortedLevels::new(levels);
    for_row_blocks(&image, out, progress, |px, o| {
        for (&x, dst) in px.iter().zip(o.iter_mut()) {
            *dst = I::from_index(usize::from(sorted.nearest(x.to_f64())));
        }
    });
}
