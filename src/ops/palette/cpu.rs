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
    /// Entries of the palette the grid was made from.
    palette_len: usize,
    /// Cell coordinate bits per channel.
    bits: u32,
    /// `value >> shift` is the cell coordinate along a channel.
    shift: u32,
    /// Each cell's list as a range of `index`/`color` (a refinement writes
    /// the children of one parent together, so lists are not in cell order).
    spans: Vec<(u32, u32)>,
    /// Palette index of each candidate, ascending within a cell.
    index: Vec<u16>,
    /// Candidate colours, unused channels 0.
    color: Vec<[u16; 4]>,
}

/// One parallel task's refined cells: the children's list lengths (2^C per
/// parent, in [`CandidateGrid::children`] order), indices, colours.
#[derive(Default)]
struct RefinedChunk {
    lens: Vec<u32>,
    index: Vec<u16>,
    color: Vec<[u16; 4]>,
}

/// Reused buffers of the child filters.
#[derive(Default)]
struct FilterScratch {
    dists: Vec<(i64, i64)>,
    lanes: LaneBuffers,
    /// A parent's candidates as colour words (see [`rgb_word`]).
    words: Vec<u32>,
}

/// What [`filter_eight`] leaves per candidate: its smallest distance to
/// each child's box, and the children that keep it (bit `d`: child `d`).
#[derive(Default)]
struct LaneBuffers {
    near: Vec<Lanes>,
    keep: Vec<u8>,
}

/// Per-channel bounds of a cell, inclusive.
#[derive(Clone, Copy)]
struct CellBox {
    lo: [i64; 4],
    hi: [i64; 4],
}

#[inline(always)]
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
    /// Level 0: one cell holding every palette entry.
    fn whole(palette: &Palette, value_bits: u32) -> Self {
        let channels = palette.channels();
        let color = (0..palette.len())
            .map(|i| {
                let mut c = [0u16; 4];
                c[..channels].copy_from_slice(palette.color(i));
                c
            })
            .collect();
        CandidateGrid {
            channels,
            palette_len: palette.len(),
            bits: 0,
            shift: value_bits,
            spans: vec![(0, palette.len() as u32)],
            index: (0..palette.len()).map(|i| i as u16).collect(),
            color,
        }
    }

    /// The finest level a grid of `channels` over `value_bits` goes to.
    fn final_bits(channels: usize, value_bits: u32) -> u32 {
        (TARGET_CELL_BITS / channels as u32).min(value_bits)
    }

    /// The grid refined level by level up to `stop_bits` per channel, or
    /// less where [`Self::wants_refine`] stops first.
    fn refine_until(mut self, value_bits: u32, stop_bits: u32) -> Self {
        let final_bits = Self::final_bits(self.channels, value_bits);
        while self.bits < stop_bits.min(final_bits) && self.wants_refine() {
            // On the last level of a large colour palette, short lists go
            // to the compact table unfiltered: it compares its three slots
            // anyway, and filtering 2^18 cells is most of the build (K=256:
            // 41 -> 38 ms for 4000²). Small palettes build fast and run
            // faster with filtered cells (K=16: 26 ms against 29).
            let last = self.bits + 1 == final_bits;
            let keep_short = last && self.channels >= 3 && self.palette_len > 64;
            self = self.refine(value_bits, keep_short);
        }
        self
    }

    /// Whether a finer level is worth making (short of the finest level).
    fn wants_refine(&self) -> bool {
        // Each refinement multiplies cells by 2^C and costs about that many
        // times the current candidate count; stop early for palettes whose
        // lists stay long (huge or tightly clustered palettes) to bound memory.
        if (self.index.len() << self.channels) > MAX_REFINE_WORK {
            return false;
        }
        // Colour grids stop as soon as nearly every cell fits the compact
        // table's inline slots: a coarser table stays in a faster cache
        // level (for 16 colours, 2^15 cells instead of 2^18). Grey and
        // grey+alpha grids go to single values and become lookup tables.
        !(self.bits > 0 && self.channels >= 3 && self.short_fraction() >= SHORT_ENOUGH)
    }

    /// Fraction of cells whose list fits the compact grid's inline slots.
    fn short_fraction(&self) -> f64 {
        let short = self
            .spans
            .iter()
            .filter(|&&(start, end)| (end - start) as usize <= INLINE)
            .count();
        short as f64 / self.cells() as f64
    }

    fn cells(&self) -> usize {
        1 << (self.bits as usize * self.channels)
    }

    /// `cell`'s candidates as [`rgb_word`]s.
    fn words(&self, cell: usize) -> impl Iterator<Item = u32> + '_ {
        let range = self.list(cell);
        let index = &self.index[range.clone()];
        index
            .iter()
            .zip(&self.color[range])
            .map(|(&i, c)| rgb_word(c, i))
    }

    /// The range of `cell`'s list in `index`/`color`.
    fn list(&self, cell: usize) -> std::ops::Range<usize> {
        let (start, end) = self.spans[cell];
        start as usize..end as usize
    }

    /// Splits every cell in two along every channel, filtering parent lists
    /// (`keep_short`: copy lists of at most [`INLINE`] entries unfiltered).
    fn refine(&self, value_bits: u32, keep_short: bool) -> Self {
        let bits = self.bits + 1;
        let channels = self.channels;
        // Parents are filtered in parallel chunks, each appending all its
        // children's lists to its own vectors (no allocation per cell); the
        // chunks are then concatenated and each child's span recorded.
        // At least 64 tasks, so a coarse level (8 or 64 parents with long
        // lists, as palettes of thousands of colours make) keeps both cores
        // busy; at most 64 parents a task.
        let parents = self.cells();
        let chunk = (parents / 64).clamp(1, 64);
        let lanes_ok = self.eight_lanes_apply(value_bits);
        let parts: Vec<RefinedChunk> = (0..parents.div_ceil(chunk))
            .into_par_iter()
            .map(|task| {
                let mut part = RefinedChunk::default();
                let mut scratch = FilterScratch::default();
                for parent in task * chunk..((task + 1) * chunk).min(parents) {
                    let out = (&mut part.index, &mut part.color);
                    let lens = self.child_lists(parent, keep_short, lanes_ok, &mut scratch, out);
                    part.lens.extend_from_slice(&lens[..1 << channels]);
                }
                part
            })
            .collect();
        let total: usize = parts.iter().map(|p| p.index.len()).sum();
        let mut spans = vec![(0u32, 0u32); 1 << (bits as usize * channels)];
        let mut index = Vec::with_capacity(total);
        let mut color = Vec::with_capacity(total);
        let mut parent = 0;
        for part in parts {
            let mut start = index.len() as u32;
            for lens in part.lens.chunks_exact(1 << channels) {
                for (child, &len) in self.children(parent).zip(lens) {
                    spans[child] = (start, start + len);
                    start += len;
                }
                parent += 1;
            }
            index.extend_from_slice(&part.index);
            color.extend_from_slice(&part.color);
        }
        CandidateGrid {
            channels,
            palette_len: self.palette_len,
            bits,
            shift: value_bits - bits,
            spans,
            index,
            color,
        }
    }

    /// Whether [`Self::child_lists`] can filter all eight children of a
    /// cell together ([`filter_eight`]: RGB of at most 8 bits, where every
    /// distance fits an `i32`).
    fn eight_lanes_apply(&self, value_bits: u32) -> bool {
        self.channels == 3 && value_bits <= 8
    }

    /// Appends the candidate lists of `parent`'s 2^C children, one level
    /// finer, in [`Self::children`] order, and returns their lengths (the
    /// first 2^C of 16). `lanes`: [`Self::eight_lanes_apply`].
    fn child_lists(
        &self,
        parent: usize,
        keep_short: bool,
        lanes: bool,
        scratch: &mut FilterScratch,
        out: (&mut Vec<u16>, &mut Vec<[u16; 4]>),
    ) -> [u32; 16] {
        let mut lens = [0u32; 16];
        let range = self.list(parent);
        let (index, color) = (&self.index[range.clone()], &self.color[range.clone()]);
        let children = 1 << self.channels;
        if range.len() == 1 || (keep_short && range.len() <= INLINE) {
            // A lone candidate stays the only one in every child.
            for len in &mut lens[..children] {
                out.0.extend_from_slice(index);
                out.1.extend_from_slice(color);
                *len = range.len() as u32;
            }
            return lens;
        }
        if !lanes {
            for (len, child) in lens.iter_mut().zip(self.children(parent)) {
                let before = out.0.len();
                self.child_list(child, &mut scratch.dists, (&mut *out.0, &mut *out.1));
                *len = (out.0.len() - before) as u32;
            }
            return lens;
        }
        let boxes = eight_boxes(parent, self.bits, self.shift);
        scratch.words.clear();
        scratch.words.extend(self.words(parent));
        filter_eight(&boxes, &scratch.words, &mut scratch.lanes);
        for_kept(&scratch.lanes.keep, |d, k| {
            out.0.push(index[k]);
            out.1.push(color[k]);
            lens[d] += 1;
        });
        lens
    }

    /// Appends the candidate list of `cell` one level finer than this grid:
    /// the parent's list filtered to the child's box.
    fn child_list(
        &self,
        cell: usize,
        dists: &mut Vec<(i64, i64)>,
        out: (&mut Vec<u16>, &mut Vec<[u16; 4]>),
    ) {
        let bits = self.bits + 1;
        let (coords, parent) = self.child_coords(cell, bits);
        let range = self.list(parent);
        let cell_box = cell_box(&coords, self.channels, self.shift - 1);
        // Unrolled per channel count: the filter is most of the build.
        let filter = match self.channels {
            1 => filter_candidates::<1>,
            2 => filter_candidates::<2>,
            3 => filter_candidates::<3>,
            _ => filter_candidates::<4>,
        };
        filter(
            &cell_box,
            (&self.index[range.clone()], &self.color[range]),
            dists,
            out,
        );
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

    /// The cell numbers, one level finer, of `cell`'s 2^channels children,
    /// child `d` taking bit `channels - 1 - ch` of `d` as its low coordinate
    /// bit along channel `ch` (as the AVX2 loop numbers them).
    fn children(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (bits, c) = (self.bits as usize, self.channels);
        let mask = (1usize << bits) - 1;
        (0..1usize << c).map(move |d| {
            (0..c).fold(0usize, |child, ch| {
                let coord = (cell >> (bits * (c - 1 - ch))) & mask;
                let low = (d >> (c - 1 - ch)) & 1;
                (child << (bits + 1)) | (coord << 1 | low)
            })
        })
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
        let range = self.list(cell);
        if range.len() == 1 {
            return self.index[range.start];
        }
        let mut best_d = i64::MAX;
        let mut best_i = 0;
        for j in range {
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
                self.index[self.list(cell).start]
            })
            .collect()
    }
}

/// A short list (1 to [`INLINE`] candidates) as exactly [`INLINE`] slots,
/// its last candidate repeated: every pixel then compares all slots with no
/// branch on the count, and a repeat never changes the answer.
fn inline_slots(list: &[u16]) -> [u16; INLINE] {
    let last = list.len() - 1;
    std::array::from_fn(|k| list[k.min(last)])
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

/// The finest grid packed for the portable per-pixel loop: per cell, up to
/// three candidate *indices* (4 bytes per cell for K ≤ 256, so 2^18 cells
/// take 1 MiB) plus a tag; the colours come from the palette, which is
/// small enough for L1. A cell with one or two candidates repeats its last
/// one, so every pixel computes three distances with no branch on the
/// count. Cells with more than three candidates (under 1 % for 256 random
/// colours) are tagged and fall back to the grid's full list. (The AVX2
/// path builds its own table, `simd::WideCells`.)
struct CompactGrid<'g, X> {
    grid: &'g CandidateGrid,
    cells: Vec<[X; 4]>,
    colors: Vec<[u16; 4]>,
}

impl<'g, X: Slot> CompactGrid<'g, X> {
    fn new(grid: &'g CandidateGrid, palette: &Palette) -> Self {
        let cells = (0..grid.cells())
            .map(|cell| {
                let list = &grid.index[grid.list(cell)];
                if list.len() > INLINE {
                    let mut e = [X::default(); 4];
                    e[3] = X::new(1);
                    return e;
                }
                let [a, b, c] = inline_slots(list).map(X::new);
                [a, b, c, X::default()]
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

/// The AVX2 loop's table (8-bit RGB; see `simd::WideCells`).
/// Its coarse cells are `grid`'s, or with `held` the cells one level finer
/// (made here, parent by parent, rather than as a whole grid first: the
/// table needs their lists only once, and a 2^15-cell grid is a megabyte
/// of fresh memory whose page faults cost more than filtering it). A
/// coarse cell with up to [`INLINE`] candidates holds their colours and
/// indices; a cell with more points to its eight children one level finer,
/// filtered as [`CandidateGrid::refine`] would; a child with more than
/// [`INLINE`] candidates chains on to continuations. Splitting only the
/// crowded cells keeps the table near 2^15 entries of 16 bytes (L2-sized)
/// where refining every cell would make 2^18. `None` when the grid cannot
/// be split further or the table outgrows 32-bit offsets.
#[cfg(target_arch = "x86_64")]
fn wide_cells(grid: &CandidateGrid, held: bool) -> Option<super::simd::WideCells> {
    let bits = grid.bits + u32::from(held);
    if grid.channels != 3 || grid.shift + grid.bits != 8 || bits >= 8 {
        return None;
    }
    // Each task makes the coarse cells of one red coordinate of `grid`
    // (with `held`, its two children's), a contiguous run of the table.
    let per_task = 1usize << (3 * bits - grid.bits);
    let coarse = 1usize << (3 * bits);
    // Room for as many finer entries as coarse ones (more than K = 256
    // random colours make) so the table is not copied as it grows.
    let mut entries = Vec::with_capacity(2 * coarse);
    entries.resize(coarse, [0u32; 4]);
    let mut index = Vec::with_capacity(2 * coarse);
    index.resize(coarse, [0u16; 4]);
    let parts: Vec<WideChunk> = entries
        .par_chunks_mut(per_task)
        .zip(index.par_chunks_mut(per_task))
        .enumerate()
        .map(|(task, out)| {
            let mut maker = WideMaker::new(bits, task * per_task, out);
            // The candidates of the coarse cells being made.
            let mut lists = WideList::default();
            if held {
                let parents = 1usize << (2 * grid.bits);
                for parent in task * parents..(task + 1) * parents {
                    maker.children_of(grid, parent, &mut lists);
                }
            } else {
                for cell in task * per_task..(task + 1) * per_task {
                    lists.clear();
                    lists.words.extend(grid.words(cell));
                    lists.index.extend_from_slice(&grid.index[grid.list(cell)]);
                    maker.coarse(cell, &lists.words, &lists.index);
                }
            }
            maker.part
        })
        .collect();
    // Each task returned the children blocks and continuations it made,
    // its cells pointing into them by indices relative to its own vectors,
    // fixed up here: all children blocks follow the coarse cells, then all
    // continuations.
    let children: usize = parts.iter().map(|p| p.children.len()).sum();
    let mut more = Vec::new();
    for (task, part) in parts.into_iter().enumerate() {
        let first_child = entries.len();
        // This task's continuations go after all children blocks and the
        // earlier tasks' continuations.
        let more_base = coarse + children + more.len();
        for (k, local) in part.split {
            entries[task * per_task + k][3] = u32::try_from(first_child + local).ok()?;
        }
        // A local continuation tag is its index in `part.more` plus one.
        let fix = |e: &mut [u32; 4]| -> Option<()> {
            if e[3] != 0 {
                e[3] = u32::try_from(more_base + e[3] as usize - 1).ok()?;
            }
            Some(())
        };
        for (mut e, i) in part.children {
            fix(&mut e)?;
            entries.push(e);
            index.push(i);
        }
        for (mut e, i) in part.more {
            fix(&mut e)?;
            more.push((e, i));
        }
    }
    entries.extend(more.iter().map(|m| m.0));
    index.extend(more.iter().map(|m| m.1));
    // Up to 256 colours the index rides in each colour word's top byte.
    if grid.palette_len <= 256 {
        index = Vec::new();
    }
    super::simd::WideCells::new(bits, entries, index)
}

/// Candidates as [`rgb_word`]s and their palette indices.
#[cfg(target_arch = "x86_64")]
#[derive(Default)]
struct WideList {
    words: Vec<u32>,
    index: Vec<u16>,
}

#[cfg(target_arch = "x86_64")]
impl WideList {
    fn clear(&mut self) {
        self.words.clear();
        self.index.clear();
    }
}

/// A table entry (three colour words and a tag) and its candidates'
/// palette indices.
#[cfg(target_arch = "x86_64")]
type WideEntry = ([u32; 4], [u16; 4]);

/// One task of [`wide_cells`]: fills a run of coarse entries and collects
/// the children and continuations they point to.
#[cfg(target_arch = "x86_64")]
struct WideMaker<'a> {
    /// Coarse bits per channel.
    bits: u32,
    /// The coarse cell number of `out[0]`.
    first: usize,
    /// Coarse entries and their indices.
    out: (&'a mut [[u32; 4]], &'a mut [[u16; 4]]),
    part: WideChunk,
    scratch: FilterScratch,
    /// Lists of a split coarse cell's children.
    kids: WideList,
}

#[cfg(target_arch = "x86_64")]
impl<'a> WideMaker<'a> {
    fn new(bits: u32, first: usize, out: (&'a mut [[u32; 4]], &'a mut [[u16; 4]])) -> Self {
        Self {
            bits,
            first,
            out,
            part: WideChunk::default(),
            scratch: FilterScratch::default(),
            kids: WideList::default(),
        }
    }

    /// The coarse entries of `parent`'s eight children (`grid` one level
    /// coarser than the table), their lists made in `lists`.
    fn children_of(&mut self, grid: &CandidateGrid, parent: usize, lists: &mut WideList) {
        let boxes = eight_boxes(parent, grid.bits, grid.shift);
        let scratch = &mut self.scratch;
        scratch.words.clear();
        scratch.words.extend(grid.words(parent));
        lists.clear();
        let index = &grid.index[grid.list(parent)];
        let lens = split_eight(&boxes, &scratch.words, index, &mut scratch.lanes, lists);
        let mut start = 0;
        for (child, &len) in grid.children(parent).zip(&lens) {
            let end = start + len as usize;
            self.coarse(child, &lists.words[start..end], &lists.index[start..end]);
            start = end;
        }
    }

    /// The entry of coarse cell `cell` whose candidates are `words` with
    /// palette indices `index`.
    fn coarse(&mut self, cell: usize, words: &[u32], index: &[u16]) {
        let k = cell - self.first;
        if words.len() <= INLINE {
            (self.out.0[k], self.out.1[k]) = wide_entry(words, index, &mut self.part.more);
            return;
        }
        self.part.split.push((k, self.part.children.len()));
        self.kids.clear();
        let boxes = eight_boxes(cell, self.bits, 8 - self.bits);
        let lens = split_eight(
            &boxes,
            words,
            index,
            &mut self.scratch.lanes,
            &mut self.kids,
        );
        let mut start = 0;
        for len in lens {
            let end = start + len as usize;
            let (w, i) = (&self.kids.words[start..end], &self.kids.index[start..end]);
            let child = wide_entry(w, i, &mut self.part.more);
            self.part.children.push(child);
            start = end;
        }
    }
}

/// What one task of [`wide_cells`] made: children entries, continuations,
/// and its split coarse cells (index in the task's chunk, first child's
/// index in `children`).
#[cfg(target_arch = "x86_64")]
#[derive(Default)]
struct WideChunk {
    children: Vec<WideEntry>,
    more: Vec<WideEntry>,
    split: Vec<(usize, usize)>,
}

/// An 8-bit RGB candidate as one word, `r | g << 8 | b << 16 | index << 24`
/// (as the AVX2 table stores it: the index's low byte, the whole index for
/// K ≤ 256; the eight-lane filter ignores it).
fn rgb_word(color: &[u16; 4], index: u16) -> u32 {
    u32::from(color[0])
        | u32::from(color[1]) << 8
        | u32::from(color[2]) << 16
        | u32::from(index) << 24
}

/// A list's table entry: its first [`INLINE`] candidates (the last
/// repeated when fewer) and a zero tag, or, for a longer list, a tag
/// chaining on to continuations appended to `more`, [`INLINE`] candidates
/// each, whose tags (here: index in `more` plus one) chain on to the next.
#[cfg(target_arch = "x86_64")]
fn wide_entry(words: &[u32], index: &[u16], more: &mut Vec<WideEntry>) -> WideEntry {
    let last = words.len() - 1;
    let entry = |start: usize| {
        let at = |k: usize| (start + k).min(last);
        let e = [words[at(0)], words[at(1)], words[at(2)], 0];
        (e, [index[at(0)], index[at(1)], index[at(2)], 0])
    };
    // Tags past u32 saturate and fail WideCells::new's check.
    let tag = |local: usize| u32::try_from(local + 1).unwrap_or(u32::MAX);
    let mut head = entry(0);
    if words.len() > INLINE {
        head.0[3] = tag(more.len());
    }
    for start in (INLINE..words.len()).step_by(INLINE) {
        let mut e = entry(start);
        if start + INLINE < words.len() {
            e.0[3] = tag(more.len() + 1);
        }
        more.push(e);
    }
    head
}

/// Every 8-bit RGB colour.
const RGB8_COLOURS: usize = 1 << 24;

/// Whether to answer every 8-bit RGB colour up front (a 32 MiB table) and
/// then look pixels up: for big palettes on big images. Palettes of more
/// than 256 colours make finest-grid lists of several candidates, and a
/// per-pixel search through them misses the cache on every pixel; filling
/// the table is one pass over 2^24 colours with each cell's list in
/// registers (vectorised over the cell's 64 colours), after which a pixel
/// costs one load, from a nearby line on photo-like images.
fn answer_table_applies<T: PaletteValue>(palette: &Palette, image: &ImageView<'_, T>) -> bool {
    image.channels() == 3
        && T::BITS == 8
        && palette.len() > 4096
        && image.pixels() >= ANSWER_TABLE_MIN_PIXELS
}

/// Pixels from which [`answer_table_applies`].
const ANSWER_TABLE_MIN_PIXELS: usize = 1 << 22;

/// Colours per side of a cell of the 6-bit grid the table is filled from.
const SIDE: usize = 4;

/// Per-cell colour offsets (red, green, blue) of the 64 colours of a
/// 6-bit grid cell, in table order (blue fastest).
const CELL_OFFSETS: [[i32; 64]; 3] = {
    let mut o = [[0i32; 64]; 3];
    let mut p = 0;
    while p < 64 {
        o[0][p] = (p / 16) as i32;
        o[1][p] = (p / 4 % 4) as i32;
        o[2][p] = (p % 4) as i32;
        p += 1;
    }
    o
};

/// The nearest palette index of every 8-bit RGB colour, from `grid`'s
/// finest lists (6 bits per channel: cells of 4³ colours), or `None` for
/// another grid. Exact: each colour is compared with every candidate of
/// its cell in palette order, strict `<`.
fn rgb8_answer_table(grid: &CandidateGrid) -> Option<Vec<u16>> {
    if grid.channels != 3 || grid.bits != 6 || grid.shift != 2 {
        return None;
    }
    let mut table = vec![0u16; RGB8_COLOURS];
    // A task per red cell coordinate: four red planes, contiguous.
    table
        .par_chunks_mut(SIDE << 16)
        .enumerate()
        .for_each(|(red, planes)| fill_red_cells(grid, red, planes));
    Some(table)
}

/// Fills the answers of the 64 × 64 cells with red cell coordinate `red`
/// into `planes` (colours `red·4 << 16 ..`).
fn fill_red_cells(grid: &CandidateGrid, red: usize, planes: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::available() {
        // SAFETY: AVX2 is present (checked just above).
        unsafe { fill_red_cells_avx2(grid, red, planes) };
        return;
    }
    fill_red_cells_lanes(grid, red, planes);
}

/// [`fill_red_cells_lanes`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_red_cells_avx2(grid: &CandidateGrid, red: usize, planes: &mut [u16]) {
    fill_red_cells_lanes(grid, red, planes);
}

#[inline(always)]
fn fill_red_cells_lanes(grid: &CandidateGrid, red: usize, planes: &mut [u16]) {
    for green in 0..64 {
        for blue in 0..64 {
            let range = grid.list((red << 12) | (green << 6) | blue);
            let (index, colors) = (&grid.index[range.clone()], &grid.color[range]);
            let answers = if index.len() == 1 {
                [index[0]; 64]
            } else {
                let base = [red, green, blue].map(|c| (c * SIDE) as i32);
                cell_answers(base, index, colors)
            };
            for (dr, row) in answers.chunks_exact(16).enumerate() {
                for (dg, run) in row.chunks_exact(SIDE).enumerate() {
                    let at = (dr << 16) | ((green * SIDE + dg) << 8) | (blue * SIDE);
                    planes[at..at + SIDE].copy_from_slice(run);
                }
            }
        }
    }
}

/// The nearest of `index`/`colors` (ascending index) for each of the 64
/// colours of the cell whose lowest corner is `base`, lanes over colours.
#[inline(always)]
fn cell_answers(base: [i32; 3], index: &[u16], colors: &[[u16; 4]]) -> [u16; 64] {
    let mut best_d = [i32::MAX; 64];
    let mut best_i = [0i32; 64];
    for (&i, c) in index.iter().zip(colors) {
        let rel: [i32; 3] = std::array::from_fn(|ch| i32::from(c[ch]) - base[ch]);
        for p in 0..64 {
            let dr = CELL_OFFSETS[0][p] - rel[0];
            let dg = CELL_OFFSETS[1][p] - rel[1];
            let db = CELL_OFFSETS[2][p] - rel[2];
            let d = dr * dr + dg * dg + db * db;
            // Strict: the first (lowest index) of equals stays.
            let closer = d < best_d[p];
            best_d[p] = if closer { d } else { best_d[p] };
            best_i[p] = if closer { i32::from(i) } else { best_i[p] };
        }
    }
    best_i.map(|i| i as u16)
}

/// Pixels looked up in the answer table.
fn apply_answer_table<T: PaletteValue, I: PaletteIndex>(
    table: &[u16; RGB8_COLOURS],
    width: usize,
    pixels: &[T],
    out: &mut [I],
) {
    // Column strips of the block's rows: nearby pixels have nearby colours,
    // so a strip's lookups stay in a few hundred table lines (a whole row
    // of a photo spans more colours than the cache holds).
    const STRIP: usize = 64;
    let width = width.max(1);
    for x0 in (0..width).step_by(STRIP) {
        let x1 = (x0 + STRIP).min(width);
        for (o, px) in out.chunks_mut(width).zip(pixels.chunks(3 * width)) {
            let mut keys = [0usize; STRIP];
            for (k, px) in keys.iter_mut().zip(px[3 * x0..3 * x1].chunks_exact(3)) {
                let [r, g, b] = [0, 1, 2].map(|ch| usize::from(px[ch].into()) & 0xff);
                *k = (r << 16) | (g << 8) | b;
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        table.as_ptr().add(*k).cast(),
                    );
                }
            }
            for (o, &k) in o[x0..x1].iter_mut().zip(&keys) {
                *o = I::from_index(usize::from(table[k & (RGB8_COLOURS - 1)]));
            }
        }
    }
}

/// 8-bit RGB through the AVX2 loop (`simd.rs`).
#[cfg(target_arch = "x86_64")]
fn run_rgb8_simd<T: PaletteValue, I: PaletteIndex>(
    table: &super::simd::WideCells,
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
) {
    for_row_blocks(image, out, progress, |p, o| {
        let bytes: &[u8] = bytemuck::cast_slice(p);
        super::simd::apply_rgb8(table, bytes, o);
    });
}

/// Whether 8-bit RGB runs through the AVX2 loop, whose table splits the
/// crowded cells of the level above the finest.
fn rgb8_simd_applies<T: PaletteValue>(image: &ImageView<'_, T>) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        image.channels() == 3 && T::BITS == 8 && super::simd::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = image;
        false
    }
}

/// Runs the AVX2 loop over `grid`; `false`, nothing written, when its
/// table cannot be made.
#[cfg(target_arch = "x86_64")]
fn try_rgb8_simd<T: PaletteValue, I: PaletteIndex>(
    grid: &CandidateGrid,
    image: &ImageView<'_, T>,
    out: &mut [I],
    progress: Progress<'_>,
) -> bool {
    match wide_cells(grid, grid.wants_refine()) {
        Some(table) => {
            run_rgb8_simd(&table, image, out, progress);
            true
        }
        None => false,
    }
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
fn filter_candidates<const C: usize>(
    cell: &CellBox,
    parent: (&[u16], &[[u16; 4]]),
    dists: &mut Vec<(i64, i64)>,
    out: (&mut Vec<u16>, &mut Vec<[u16; 4]>),
) {
    dists.clear();
    dists.extend(parent.1.iter().map(|c| box_distances(cell, c, C)));
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
            let gain = min_gain(cell, c, b_color, C);
            if gain > 0 || (gain == 0 && i > b_index) {
                continue;
            }
        }
        out.0.push(i);
        out.1.push(*c);
    }
}

/// The minimum over the box of `|x − c|² − |x − b|²`.
#[inline(always)]
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

/// The boxes of the eight children of RGB cell `cell` (`bits` per channel,
/// covering `shift`-bit runs of values), lane `d` child `d` as
/// [`CandidateGrid::children`] numbers them: per channel, the lowest and
/// the highest value.
fn eight_boxes(cell: usize, bits: u32, shift: u32) -> [[Lanes; 3]; 2] {
    let mask = (1usize << bits) - 1;
    let (mut lo, mut hi) = ([[0i32; 8]; 3], [[0i32; 8]; 3]);
    for (ch, (lo, hi)) in lo.iter_mut().zip(&mut hi).enumerate() {
        let coord = (cell >> (bits as usize * (2 - ch))) & mask;
        for (d, (lo, hi)) in lo.iter_mut().zip(hi).enumerate() {
            let c = (coord << 1 | (d >> (2 - ch)) & 1) as i32;
            *lo = c << (shift - 1);
            *hi = ((c + 1) << (shift - 1)) - 1;
        }
    }
    [lo, hi]
}

/// Appends the lists of the eight children (boxes from [`eight_boxes`]) of
/// an RGB cell with candidates `words` ([`rgb_word`]), child by child, and
/// returns their lengths.
#[cfg(target_arch = "x86_64")]
fn split_eight(
    boxes: &[[Lanes; 3]; 2],
    words: &[u32],
    index: &[u16],
    lanes: &mut LaneBuffers,
    out: &mut WideList,
) -> [u32; 8] {
    filter_eight(boxes, words, lanes);
    let mut lens = [0u32; 8];
    for_kept(&lanes.keep, |d, k| {
        out.words.push(words[k]);
        out.index.push(index[k]);
        lens[d] += 1;
    });
    lens
}

/// Calls `f(d, k)` for every candidate `k` that `keep` (from
/// [`filter_eight`]) keeps in child `d`: child by child, candidates in
/// order.
#[inline(always)]
fn for_kept(keep: &[u8], mut f: impl FnMut(usize, usize)) {
    if keep.len() > 64 {
        for d in 0..8 {
            for (k, &m) in keep.iter().enumerate() {
                if m >> d & 1 != 0 {
                    f(d, k);
                }
            }
        }
        return;
    }
    // Each child's candidates as a bit set, so the loop below visits only
    // the kept ones, with no branch per candidate and child.
    let mut kept = [0u64; 8];
    for (k, &m) in keep.iter().enumerate() {
        for (d, bits) in kept.iter_mut().enumerate() {
            *bits |= u64::from(m >> d & 1) << k;
        }
    }
    for (d, mut bits) in kept.into_iter().enumerate() {
        while bits != 0 {
            f(d, bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// One `i32` per child of a 3-channel cell.
type Lanes = [i32; 8];

/// [`filter_candidates`] for all eight children of a 3-channel cell at
/// once, lane `d` child `d` (boxes from [`CandidateGrid::eight_boxes`]):
/// sets bit `d` of `keep[k]` when candidate `k` stays in child `d`. The
/// same two tests in the same exact integers (8-bit values: every term
/// fits an `i32`), written over lanes so the compiler vectorises them; a
/// parent's list is a few candidates long, too short to vectorise over.
fn filter_eight(boxes: &[[Lanes; 3]; 2], words: &[u32], lanes: &mut LaneBuffers) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        unsafe { filter_eight_avx2(boxes, words, lanes) };
        return;
    }
    filter_eight_lanes(boxes, words, lanes);
}

/// [`filter_eight_lanes`] compiled for AVX2 (eight `i32` lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_eight_avx2(boxes: &[[Lanes; 3]; 2], words: &[u32], lanes: &mut LaneBuffers) {
    filter_eight_lanes(boxes, words, lanes);
}

#[inline(always)]
fn filter_eight_lanes(
    [lo, hi]: &[[Lanes; 3]; 2],
    words: &[u32],
    LaneBuffers { near, keep }: &mut LaneBuffers,
) {
    let channel = |w: u32, ch: usize| ((w >> (8 * ch)) & 0xff) as i32;
    near.clear();
    keep.clear();
    // Per lane: the smallest farthest-point distance and its candidate
    // (the first of equals, as `min_by_key` picks).
    let mut bound = [i32::MAX; 8];
    let mut best = [0i32; 8];
    for (k, &w) in words.iter().enumerate() {
        let (mut dmin, mut dmax) = ([0i32; 8], [0i32; 8]);
        for ch in 0..3 {
            let v = channel(w, ch);
            for l in 0..8 {
                let n = (lo[ch][l] - v).max(v - hi[ch][l]).max(0);
                let f = (v - lo[ch][l]).max(hi[ch][l] - v);
                dmin[l] += n * n;
                dmax[l] += f * f;
            }
        }
        for l in 0..8 {
            let closer = dmax[l] < bound[l];
            bound[l] = if closer { dmax[l] } else { bound[l] };
            best[l] = if closer { k as i32 } else { best[l] };
        }
        near.push(dmin);
    }
    let mut b_color = [[0i32; 8]; 3];
    for l in 0..8 {
        for (ch, lane) in b_color.iter_mut().enumerate() {
            lane[l] = channel(words[best[l] as usize], ch);
        }
    }
    for (k, (&w, dmin)) in words.iter().zip(near.iter()).enumerate() {
        // min over the box of |x − c|² − |x − b|² (see `min_gain`); the
        // best candidate itself gets 0 and keeps itself. Lists are in
        // palette order, so list positions order ties as indices do.
        let mut gain = [0i32; 8];
        for ch in 0..3 {
            let v = channel(w, ch);
            for l in 0..8 {
                let (diff, sum) = (b_color[ch][l] - v, b_color[ch][l] + v);
                let at_lo = diff * (2 * lo[ch][l] - sum);
                let at_hi = diff * (2 * hi[ch][l] - sum);
                gain[l] += at_lo.min(at_hi);
            }
        }
        let mut mask = 0u8;
        for l in 0..8 {
            let wins = gain[l] < 0 || (gain[l] == 0 && k as i32 <= best[l]);
            mask |= u8::from(dmin[l] <= bound[l] && wins) << l;
        }
        keep.push(mask);
    }
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
    let mut grid = CandidateGrid::whole(palette, T::BITS);
    let final_bits = CandidateGrid::final_bits(palette.channels(), T::BITS);
    // The AVX2 table makes its last two levels itself (see `wide_cells`).
    let simd = rgb8_simd_applies(&image);
    if answer_table_applies(palette, &image) {
        grid = grid.refine_until(T::BITS, final_bits);
        if let Some(table) = rgb8_answer_table(&grid) {
            let table: &[u16; RGB8_COLOURS] = (&table[..])
                .try_into()
                .unwrap_or_else(|_| unreachable!("one answer per colour"));
            let width = image.width();
            for_row_blocks(&image, out, progress, |p, o| {
                apply_answer_table(table, width, p, o)
            });
            return;
        }
    }
    let grid = grid.refine_until(T::BITS, final_bits - if simd { 2 } else { 0 });
    #[cfg(target_arch = "x86_64")]
    if simd && try_rgb8_simd(&grid, &image, out, progress) {
        return;
    }
    let grid = grid.refine_until(T::BITS, final_bits);
    if grid.is_point_grid() {
        let table: Vec<I> = grid
            .lookup_table()
            .into_iter()
            .map(|i| I::from_index(usize::from(i)))
            .collect();
        let bits = grid.bits;
        #[cfg(target_arch = "x86_64")]
        if try_grey_runs_simd(&image, &table, out, progress) {
            return;
        }
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

/// Exact nearest-colour queries one pixel at a time (error diffusion needs
/// each answer before the next pixel's value is known): the finest
/// candidate grid, each query scanning its cell's list.
pub(crate) struct PixelSearch {
    grid: CandidateGrid,
}

impl PixelSearch {
    pub(crate) fn new(palette: &Palette, value_bits: u32) -> Self {
        let final_bits = CandidateGrid::final_bits(palette.channels(), value_bits);
        let grid = CandidateGrid::whole(palette, value_bits).refine_until(value_bits, final_bits);
        Self { grid }
    }

    /// The palette index nearest to `px` (the palette's channel count of
    /// values), ties to the lowest index.
    #[inline]
    pub(crate) fn nearest(&self, px: &[u16]) -> u16 {
        let mut a = [0u16; 4];
        a[..px.len()].copy_from_slice(px);
        match px.len() {
            1 => self.grid.nearest::<1>(&[a[0]]),
            2 => self.grid.nearest::<2>(&[a[0], a[1]]),
            3 => self.grid.nearest::<3>(&[a[0], a[1], a[2]]),
            _ => self.grid.nearest::<4>(&a),
        }
    }
}

/// The finest candidate grid of `palette` over `value_bits`-bit values in
/// the form the GPU searches (`shaders/palette_grid.wgsl`).
pub(crate) struct GridTables {
    /// Cell coordinate bits per channel.
    pub bits: u32,
    /// `value >> shift` is a cell coordinate.
    pub shift: u32,
    /// Per cell: its first candidate in `candidates` and how many.
    pub cells: Vec<[u32; 2]>,
    /// Palette indices, ascending within each cell.
    pub candidates: Vec<u32>,
    /// The longest list.
    pub longest: usize,
}

/// Builds [`GridTables`] for `palette` (the same grid the CPU path refines).
pub(crate) fn grid_tables(palette: &Palette, value_bits: u32) -> GridTables {
    let final_bits = CandidateGrid::final_bits(palette.channels(), value_bits);
    let grid = CandidateGrid::whole(palette, value_bits).refine_until(value_bits, final_bits);
    let cells: Vec<[u32; 2]> = grid.spans.iter().map(|&(s, e)| [s, e - s]).collect();
    let longest = cells.iter().map(|c| c[1] as usize).max().unwrap_or(0);
    GridTables {
        bits: grid.bits,
        shift: grid.shift,
        cells,
        candidates: grid.index.iter().map(|&i| u32::from(i)).collect(),
        longest,
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

/// 8-bit grey pixels with u8 indices whose answer table (256 entries) has
/// at most 16 runs: byte compares and a shuffle, 32 pixels per step, in
/// place of a load per pixel. `false` (nothing written) otherwise.
#[cfg(target_arch = "x86_64")]
fn try_grey_runs_simd<T: PaletteValue, I: PaletteIndex>(
    image: &ImageView<'_, T>,
    table: &[I],
    out: &mut [I],
    progress: Progress<'_>,
) -> bool {
    if image.channels() != 1
        || T::NAME != "uint8"
        || I::NAME != "uint8"
        || table.len() != 256
        || !super::simd::available()
    {
        return false;
    }
    let table: &[u8] = bytemuck::cast_slice(table);
    let mut starts = Vec::new();
    let mut answers = vec![table[0]];
    for (v, w) in table.windows(2).enumerate() {
        if w[1] != w[0] {
            starts.push(v as u8 + 1);
            answers.push(w[1]);
        }
    }
    if answers.len() > 16 {
        return false;
    }
    let out: &mut [u8] = bytemuck::cast_slice_mut(out);
    for_row_blocks(image, out, progress, |p, o| {
        let pixels: &[u8] = bytemuck::cast_slice(p);
        super::simd::apply_runs_u8(&starts, &answers, pixels, o);
    });
    true
}

/// f32 pixels through the AVX2 version of [`LevelFastPath::nearest_lanes`].
#[cfg(target_arch = "x86_64")]
fn apply_levels_f32_simd<T: GreyFloat, I: PaletteIndex>(
    image: &ImageView<'_, T>,
    fast: &LevelFastPath<'_>,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let lanes = super::simd::LevelLanes::new(
        &fast.mid32[..fast.n_mid],
        &fast.sorted.index,
        fast.max_abs as f32,
        fast.min_gap as f32,
    );
    let exact = |x: f32| fast.nearest::<MIDPOINTS>(f64::from(x));
    for_row_blocks(image, out, progress, |px, o| {
        // T is f32 here (checked by the caller through its numpy name).
        let px: &[f32] = bytemuck::cast_slice(px);
        super::simd::apply_levels_f32(&lanes, px, o, exact);
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
        #[cfg(target_arch = "x86_64")]
        if T::NAME == "float32" && super::simd::available() {
            apply_levels_f32_simd(&image, &fast, out, progress);
            return;
        }
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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::ops::palette::nearest_palette_reference;

    /// Pixels that make ties and crowded cells: random colours plus every
    /// palette colour and its neighbours one step away on each channel.
    fn probe_pixels(palette: &Palette, seed: u64) -> Vec<u8> {
        let mut rng = crate::synth::Rng::new(seed);
        let mut px: Vec<u8> = (0..3 * 60_000).map(|_| rng.next_u64() as u8).collect();
        for i in 0..palette.len() {
            let c = palette.color(i);
            px.extend(c.iter().map(|&v| v as u8));
            for ch in 0..3 {
                for step in [-1i32, 1] {
                    px.extend((0..3).map(|k| {
                        let v = i32::from(c[k]) + if k == ch { step } else { 0 };
                        v.clamp(0, 255) as u8
                    }));
                }
            }
        }
        px
    }

    /// The table of answers for every 8-bit colour agrees with the
    /// reference on random colours and on each palette colour and its
    /// neighbours (ties among duplicates included), and with the AVX2
    /// table on a million colours spread over the cube.
    #[test]
    fn answer_table_matches_the_reference() {
        let random = |k: usize, seed: u64| crate::synth::random_palette(k, 3, seed);
        for (name, values) in [
            ("300 twice", random(300, 31).repeat(2)),
            ("5000 random", random(5000, 50)),
            (
                "20000 clustered",
                random(20000, 12).iter().map(|v| 90 + v % 60).collect(),
            ),
        ] {
            let palette = Palette::new(3, values).unwrap_or_else(|e| panic!("{name}: {e}"));
            let final_bits = CandidateGrid::final_bits(3, 8);
            let grid = CandidateGrid::whole(&palette, 8).refine_until(8, final_bits);
            let table = rgb8_answer_table(&grid).unwrap_or_else(|| panic!("{name}: no table"));
            let px = probe_pixels(&palette, 4);
            let image = ImageView::new(&px, 1, px.len() / 3, 3).unwrap();
            let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
            let looked_up: Vec<u16> = px
                .chunks_exact(3)
                .map(|p| {
                    table[usize::from(p[0]) << 16 | usize::from(p[1]) << 8 | usize::from(p[2])]
                })
                .collect();
            assert!(looked_up == expected, "{name}: probes");
            #[cfg(target_arch = "x86_64")]
            if super::super::simd::available() {
                let coarse = CandidateGrid::whole(&palette, 8).refine_until(8, final_bits - 2);
                let wide = wide_cells(&coarse, coarse.wants_refine()).unwrap();
                // Every 16th colour, a different phase per plane.
                let colours: Vec<u8> = (0..1usize << 20)
                    .flat_map(|k| {
                        let c = k << 4 | (k >> 12 & 15);
                        [(c >> 16) as u8, (c >> 8) as u8, c as u8]
                    })
                    .collect();
                let mut out = vec![0u16; colours.len() / 3];
                super::super::simd::apply_rgb8(&wide, &colours, &mut out);
                let mismatch = colours.chunks_exact(3).zip(&out).position(|(p, &i)| {
                    table[usize::from(p[0]) << 16 | usize::from(p[1]) << 8 | usize::from(p[2])] != i
                });
                assert_eq!(mismatch, None, "{name}: against the AVX2 table");
            }
        }
        // Not the 6-bit RGB grid: no table.
        let palette = Palette::new(3, random(10, 1)).unwrap();
        assert!(rgb8_answer_table(&CandidateGrid::whole(&palette, 8).refine_until(8, 4)).is_none());
    }

    /// Filtering a cell's eight children together (`filter_eight`) keeps
    /// exactly the candidates `filter_candidates` keeps child by child, at
    /// every level, on palettes with duplicates, clusters and one colour.
    #[test]
    fn eight_lanes_filter_like_one_child_at_a_time() {
        let random = |k: usize, seed: u64| crate::synth::random_palette(k, 3, seed);
        let clustered: Vec<u16> = random(200, 10).iter().map(|v| 100 + v % 40).collect();
        for (name, values) in [
            ("256 random", random(256, 356)),
            ("40 twice", random(40, 9).repeat(2)),
            ("200 clustered", clustered),
            ("1 colour", vec![7, 200, 3]),
        ] {
            let palette = Palette::new(3, values).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut grid = CandidateGrid::whole(&palette, 8);
            let mut scratch = FilterScratch::default();
            for level in 0..6 {
                for parent in 0..grid.cells() {
                    let mut lists = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
                    let mut lens = [[0; 16]; 2];
                    for (lanes, (list, len)) in lists.iter_mut().zip(&mut lens).enumerate() {
                        let out = (&mut list.0, &mut list.1);
                        *len = grid.child_lists(parent, false, lanes == 1, &mut scratch, out);
                    }
                    assert!(lens[0] == lens[1], "{name}: level {level}, cell {parent}");
                    assert!(lists[0] == lists[1], "{name}: level {level}, cell {parent}");
                }
                grid = grid.refine(8, false);
            }
        }
    }

    /// The AVX2 table answers like the reference through all three kinds of
    /// entry (inline cells, children of split cells, children's chains of
    /// continuations), checked one pixel at a time and through the vector
    /// loop, on palettes whose tables hold each kind.
    #[test]
    fn wide_cells_match_the_reference() {
        if !super::super::simd::available() {
            return;
        }
        let random = |k: usize, seed: u64| crate::synth::random_palette(k, 3, seed);
        let twice: Vec<u16> = random(100, 9).repeat(2);
        let clustered: Vec<u16> = random(200, 10).iter().map(|v| 100 + v % 40).collect();
        // The most entries one chain spans, over the palettes.
        let mut deepest = 0;
        use super::super::simd::IndexIn;
        let modes = |k: usize| match k {
            ..=256 => IndexIn::Byte,
            257..=4096 => IndexIn::Nibbles,
            _ => IndexIn::Array,
        };
        for (name, values) in [
            ("256 random", random(256, 356)),
            ("16 random", random(16, 116)),
            ("100 twice", twice),
            ("200 clustered", clustered),
            ("1 colour", vec![7, 200, 3]),
            // Indices past one byte: in the tag's nibbles, then an array.
            ("257 random", random(257, 257)),
            ("300 twice", random(300, 30).repeat(2)),
            ("4096 random", random(4096, 4096)),
            ("5000 random", random(5000, 5000)),
            (
                "3000 clustered",
                random(3000, 11).iter().map(|v| 60 + v % 100).collect(),
            ),
        ] {
            let palette = Palette::new(3, values).unwrap_or_else(|e| panic!("{name}: {e}"));
            let grid = CandidateGrid::whole(&palette, 8).refine_until(8, 4);
            let mut table = wide_cells(&grid, grid.wants_refine())
                .unwrap_or_else(|| panic!("{name}: no table"));
            assert_eq!(table.mode(), modes(palette.len()), "{name}");
            let px = probe_pixels(&palette, 3);
            // Making the coarse level first as a whole grid gives a table
            // of the same size and answers (its blocks in another order).
            if grid.wants_refine() {
                let finer = grid.refine_until(8, 5);
                let other = wide_cells(&finer, false).unwrap_or_else(|| panic!("{name}"));
                assert_eq!(other.entries().len(), table.entries().len(), "{name}");
                assert!(other.nearest_each(&px) == table.nearest_each(&px), "{name}");
            }
            let (split, chained, longest) = table.shape();
            if name != "1 colour" && name != "16 random" {
                assert!(
                    split > 0 && chained > 0,
                    "{name}: split {split}, chained {chained}"
                );
            }
            deepest = deepest.max(longest);
            let image = ImageView::new(&px, 1, px.len() / 3, 3).unwrap();
            let expected: Vec<u16> = nearest_palette_reference(image, &palette).unwrap();
            let each = table.nearest_each(&px);
            let first = each.iter().zip(&expected).position(|(a, b)| a != b);
            assert_eq!(first, None, "{name}, one at a time");
            // Both ways of finding entries: by a tag gather, by going to
            // children in groups that meet a split cell.
            for crowded in [false, true] {
                table.set_crowded(crowded);
                let mut out = vec![0u16; px.len() / 3];
                super::super::simd::apply_rgb8(&table, &px, &mut out);
                let first = out.iter().zip(&expected).position(|(a, b)| a != b);
                assert_eq!(first, None, "{name}, vector loop, gather {crowded}");
            }
        }
        assert!(deepest >= 3, "no chain of three entries was exercised");
    }
}
