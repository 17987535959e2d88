//! GPU host code for nearest-palette search on the streamed band path:
//! `shaders/palette_grid.wgsl` (the candidate grid for colours, a binary
//! search for float levels). The brute-force `shaders/palette.wgsl`
//! remains for k-means' assignment step, whose centroids change every
//! iteration.

use std::ops::Range;

use super::cpu::{grid_tables, GridTables};
use super::{GreyFloat, PaletteIndex, PaletteValue, Progress};
use crate::array::ImageView;
use crate::bands::{split_rows, stream_rows};
use crate::error::{Error, Result};
use crate::gpu::stream::{par_read, par_write, stream, BandKernel, Region, StreamSpec};
use crate::gpu::{bind_buffers, buffer, dispatch_size, GpuContext};
use crate::palette::{Levels, Palette};

/// `common.wgsl` supplies the packed-value reader.
const SHADER: &str = concat!(
    include_str!("../../../shaders/common.wgsl"),
    include_str!("../../../shaders/palette.wgsl")
);
const WORKGROUP: u32 = 256;

/// How the kernel reads pixel values (the shader's `MODE`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    U8 = 0,
    U16 = 1,
    F32 = 2,
}

/// The uniform block of `palette.wgsl`: one dispatch scans palette entries
/// `k_start..k_end`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub(crate) n_pixels: u32,
    pub(crate) k: u32,
    pub(crate) k_start: u32,
    pub(crate) k_end: u32,
}

/// Palette entries one dispatch scans at most. Splitting big palettes keeps
/// each dispatch short (driver watchdogs kill long ones) and under llvmpipe's
/// 65535 loop iterations per invocation, past which it silently stops.
pub(crate) const PALETTE_CHUNK: usize = 16384;

/// The `k_start..k_end` ranges of the dispatches for a palette of `k` entries.
pub(crate) fn palette_chunks(k: usize) -> Vec<(u32, u32)> {
    (0..k.max(1))
        .step_by(PALETTE_CHUNK)
        .map(|start| (start as u32, (start + PALETTE_CHUNK).min(k) as u32))
        .collect()
}

/// The nearest-palette pipeline for one value mode (0 u8, 1 u16, 2 f32),
/// channel count and index width (4 u8 or 2 u16 indices per word).
pub(crate) fn palette_pipeline(
    ctx: &GpuContext,
    mode: u32,
    channels: usize,
    indices_per_word: u32,
) -> Result<std::sync::Arc<wgpu::ComputePipeline>> {
    let name = format!("gpix.palette.m{mode}c{channels}i{indices_per_word}");
    ctx.pipeline(
        &name,
        SHADER,
        "nearest",
        &[
            ("MODE", f64::from(mode)),
            ("CHANNELS", channels as f64),
            ("INDICES_PER_WORD", f64::from(indices_per_word)),
        ],
    )
}

/// Palette colours as the shader reads them: one `vec4<u32>` each.
pub(crate) fn palette_entries(palette: &Palette) -> Vec<[u32; 4]> {
    (0..palette.len())
        .map(|i| {
            let mut e = [0u32; 4];
            for (dst, &v) in e.iter_mut().zip(palette.color(i)) {
                *dst = u32::from(v);
            }
            e
        })
        .collect()
}

/// `common.wgsl` supplies the packed-value reader.
const GRID_SHADER: &str = concat!(
    include_str!("../../../shaders/common.wgsl"),
    include_str!("../../../shaders/palette_grid.wgsl")
);

/// The uniform block of `palette_grid.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GridParams {
    n_pixels: u32,
    first_word: u32,
    n_words: u32,
    pos_start: u32,
    pos_end: u32,
    bits: u32,
    shift: u32,
    n_levels: u32,
}

/// What the grid kernel searches.
enum Search {
    /// Colours through a candidate grid.
    Grid(GridTables),
    /// Sorted grey levels (the entries hold them).
    Levels { n: u32 },
}

/// What one run of the grid kernel needs to know.
struct GridJob<'a> {
    mode: Mode,
    channels: usize,
    height: usize,
    width: usize,
    /// Palette entries as the shader reads them (see `palette_grid.wgsl`).
    entries: Vec<[u32; 4]>,
    search: Search,
    /// Bytes of one pixel value in the uploaded band.
    value_bytes: usize,
    /// Bytes of one output index (1 or 2).
    index_bytes: usize,
    input: &'a BandInput<'a>,
}

impl GridJob<'_> {
    fn indices_per_word(&self) -> u32 {
        4 / self.index_bytes as u32
    }

    /// The list positions each dispatch scans: every list in one go unless
    /// some are longer than [`PALETTE_CHUNK`] (llvmpipe stops loops after
    /// 65535 iterations, and long lists make long dispatches).
    fn position_chunks(&self) -> Vec<(u32, u32)> {
        match &self.search {
            Search::Grid(g) => palette_chunks(g.longest),
            Search::Levels { .. } => vec![(0, 0)],
        }
    }

    /// Output words per dispatch: at most `pairs` pixel-candidate pairs
    /// each (the longest list bounds a pixel's candidates; a level search
    /// costs about log2(K) + 2 of them), whole workgroups.
    fn words_per_dispatch(&self, pairs: u64) -> u64 {
        let per_pixel = match &self.search {
            Search::Grid(g) => g.longest.clamp(1, PALETTE_CHUNK) as u64,
            Search::Levels { n } => u64::from(n.max(&1).ilog2() + 2),
        };
        let words = pairs / (per_pixel * u64::from(self.indices_per_word()));
        words.max(u64::from(WORKGROUP)) / u64::from(WORKGROUP) * u64::from(WORKGROUP)
    }

    /// The dispatches of a band of `n_pixels`: (first word, words, list
    /// positions), position chunks outermost so each continues the last.
    fn dispatches(&self, n_pixels: usize, pairs: u64) -> Vec<(u64, u64, (u32, u32))> {
        let words = n_pixels.div_ceil(self.indices_per_word() as usize) as u64;
        let step = self.words_per_dispatch(pairs);
        let mut out = Vec::new();
        for &positions in &self.position_chunks() {
            let mut first = 0;
            while first < words {
                let n = step.min(words - first);
                out.push((first, n, positions));
                first += n;
            }
        }
        out
    }
}

pub(crate) fn nearest_palette_gpu<T: PaletteValue, I: PaletteIndex>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    palette: &Palette,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    let mode = if T::BITS == 8 { Mode::U8 } else { Mode::U16 };
    let entries = palette_entries(palette)
        .into_iter()
        .map(|e| match mode {
            // 8-bit distances are computed in f32 (exact).
            Mode::U8 => e.map(|v| (v as f32).to_bits()),
            _ => e,
        })
        .collect();
    let input = |rows: Range<usize>, first: usize, buf: &mut [u8]| {
        let src: &[u8] = bytemuck::cast_slice(image.rows(rows).data());
        let n = buf.len().min(src.len().saturating_sub(first));
        buf[..n].copy_from_slice(&src[first..first + n]);
    };
    let job = GridJob {
        mode,
        channels: image.channels(),
        height: image.height(),
        width: image.width(),
        entries,
        search: Search::Grid(grid_tables(palette, T::BITS)),
        value_bytes: std::mem::size_of::<T>(),
        index_bytes: std::mem::size_of::<I>(),
        input: &input,
    };
    run(ctx, &job, bytemuck::cast_slice_mut(out), progress)
}

/// Levels as the level search reads them: rounded to f32 (the precision the
/// kernel compares in), sorted, equal values merged keeping the lowest
/// index (an equal value is always at an equal distance, so only the first
/// can win).
fn sorted_level_entries(levels: &Levels) -> Vec<[u32; 4]> {
    let mut sorted: Vec<(f32, u32)> = levels
        .values()
        .iter()
        .enumerate()
        .map(|(i, &l)| (l as f32, i as u32))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    sorted.dedup_by(|later, first| later.0 == first.0);
    sorted
        .into_iter()
        .map(|(l, i)| [l.to_bits(), i, 0, 0])
        .collect()
}

pub(crate) fn nearest_level_gpu<T: GreyFloat, I: PaletteIndex>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    levels: &Levels,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    let entries = sorted_level_entries(levels);
    // f64 images are rounded to f32 on the way into the upload buffer.
    let input = |rows: Range<usize>, first: usize, buf: &mut [u8]| {
        let src = image.rows(rows).data();
        let v0 = first / 4;
        let n = (buf.len() / 4).min(src.len().saturating_sub(v0));
        let dst: &mut [f32] = bytemuck::cast_slice_mut(&mut buf[..n * 4]);
        for (d, v) in dst.iter_mut().zip(&src[v0..v0 + n]) {
            *d = v.to_f64() as f32;
        }
    };
    let job = GridJob {
        mode: Mode::F32,
        channels: 1,
        height: image.height(),
        width: image.width(),
        search: Search::Levels {
            n: entries.len() as u32,
        },
        entries,
        value_bytes: 4,
        index_bytes: std::mem::size_of::<I>(),
        input: &input,
    };
    run(ctx, &job, bytemuck::cast_slice_mut(out), progress)
}

/// Writes bytes `first..` of the upload of the band of rows `rows` into `buf`.
type BandInput<'a> = dyn Fn(Range<usize>, usize, &mut [u8]) + Sync + 'a;

/// The streamed part of the grid kernel.
struct GridKernel<'a, 'j> {
    job: &'a GridJob<'j>,
    bands: Vec<Range<usize>>,
    pipeline: std::sync::Arc<wgpu::ComputePipeline>,
    /// Palette entries, then (colour grids) cells and candidates.
    tables: Vec<wgpu::Buffer>,
}

/// A ring slot: one uniform buffer and bind group per dispatch of the
/// largest band.
struct GridSlot {
    dispatches: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
}

impl GridKernel<'_, '_> {
    fn band_pixels(&self, band: usize) -> usize {
        self.bands[band].len() * self.job.width
    }
}

impl BandKernel for GridKernel<'_, '_> {
    type Slot = GridSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<GridSlot> {
        let most = (0..self.bands.len())
            .map(|b| {
                self.job
                    .dispatches(self.band_pixels(b), ctx.dispatch_pairs())
                    .len()
            })
            .max()
            .unwrap_or(0);
        let dispatches = (0..most)
            .map(|_| {
                let params = buffer(
                    ctx,
                    "gpix.palette.params",
                    std::mem::size_of::<GridParams>() as u64,
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                );
                let mut entries = vec![
                    (0, &params),
                    (1, &inputs[0]),
                    (2, &self.tables[0]),
                    (3, &outputs[0]),
                ];
                if let [_, cells, candidates] = &self.tables[..] {
                    entries.extend([(4, cells), (5, candidates)]);
                }
                let group = bind_buffers(ctx, &self.pipeline, &entries);
                (params, group)
            })
            .collect();
        Ok(GridSlot { dispatches })
    }

    fn upload_len(&self, band: usize, _input: usize) -> u64 {
        (self.band_pixels(band) * self.job.channels * self.job.value_bytes) as u64
    }

    fn fill(&self, band: usize, _input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let rows = self.bands[band].clone();
        // Pieces of whole words: f32 levels convert 4 bytes at a time.
        par_write(dst, 4, |first, buf| {
            (self.job.input)(rows.clone(), first, buf)
        });
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &GridSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let n_pixels = self.band_pixels(band);
        let too_large = |_| Error::invalid("band too large");
        let (bits, shift, n_levels) = match &self.job.search {
            Search::Grid(g) => (g.bits, g.shift, 0),
            Search::Levels { n } => (0, 0, *n),
        };
        pass.set_pipeline(&self.pipeline);
        // Dispatches run in order; a later position chunk reads the indices
        // the earlier ones wrote.
        let dispatches = self.job.dispatches(n_pixels, ctx.dispatch_pairs());
        for ((buffer, group), &(first, words, (pos_start, pos_end))) in
            slot.dispatches.iter().zip(&dispatches)
        {
            let params = GridParams {
                n_pixels: u32::try_from(n_pixels).map_err(too_large)?,
                first_word: u32::try_from(first).map_err(too_large)?,
                n_words: u32::try_from(words).map_err(too_large)?,
                pos_start,
                pos_end,
                bits,
                shift,
                n_levels,
            };
            ctx.queue()
                .write_buffer(buffer, 0, bytemuck::bytes_of(&params));
            let (x, y) = dispatch_size(
                words.div_ceil(u64::from(WORKGROUP)),
                ctx.max_workgroups_per_dimension(),
            )?;
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        let words = n_pixels.div_ceil(self.job.indices_per_word() as usize) as u64;
        Ok(vec![Region {
            output: 0,
            offset: 0,
            len: words * 4,
        }])
    }
}

/// Uploads a table once for the whole run.
fn table(ctx: &GpuContext, label: &str, contents: &[u8]) -> wgpu::Buffer {
    wgpu::util::DeviceExt::create_buffer_init(
        ctx.device(),
        &wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE,
        },
    )
}

fn run(ctx: &GpuContext, job: &GridJob<'_>, out: &mut [u8], progress: Progress<'_>) -> Result<()> {
    if job.height == 0 || job.width == 0 {
        progress(job.height, job.height);
        return Ok(());
    }
    let in_row = (job.width * job.channels * job.value_bytes) as u64;
    let out_row = (job.width * job.index_bytes) as u64;
    let rows = stream_rows(
        job.height,
        in_row,
        0,
        out_row,
        ctx.stream_band_bytes(),
        ctx.band_bytes(),
    )?;
    let bands = split_rows(job.height, rows);
    let (entry_point, name) = match job.search {
        Search::Grid(_) => ("nearest_in_grid", "grid"),
        Search::Levels { .. } => ("nearest_level", "levels"),
    };
    let ipw = job.indices_per_word();
    let pipeline = ctx.pipeline(
        &format!(
            "gpix.palette.{name}.m{}c{}i{ipw}",
            job.mode as u32, job.channels
        ),
        GRID_SHADER,
        entry_point,
        &[
            ("MODE", f64::from(job.mode as u32)),
            ("CHANNELS", job.channels as f64),
            ("INDICES_PER_WORD", f64::from(ipw)),
        ],
    )?;
    ctx.checked("palette kernel", || {
        let mut tables = vec![table(
            ctx,
            "gpix.palette.entries",
            bytemuck::cast_slice(&job.entries),
        )];
        if let Search::Grid(g) = &job.search {
            tables.push(table(
                ctx,
                "gpix.palette.cells",
                bytemuck::cast_slice(&g.cells),
            ));
            tables.push(table(
                ctx,
                "gpix.palette.candidates",
                bytemuck::cast_slice(&g.candidates),
            ));
        }
        let kernel = GridKernel {
            job,
            bands,
            pipeline,
            tables,
        };
        let spec = StreamSpec {
            label: "gpix.palette",
            bands: kernel.bands.len(),
            inputs: vec![rows as u64 * in_row],
            outputs: vec![rows as u64 * out_row],
        };
        let mut done_rows = 0;
        crate::mem::prefault(out);
        stream(ctx, &spec, &kernel, |band, bytes| {
            let r = &kernel.bands[band];
            let dst = &mut out[r.start * out_row as usize..r.end * out_row as usize];
            let n = dst.len();
            par_read(&bytes[..n], 1, dst, 1, |s, d| d.copy_from_slice(s));
            done_rows += r.len();
            progress(done_rows, job.height);
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crowded palette of `tests/palette.rs`
    /// (`one_crowded_cell_is_scanned_in_several_dispatches`) really makes a
    /// list longer than one dispatch scans.
    #[test]
    fn a_packed_palette_makes_a_list_of_several_chunks() {
        let colour = |i: usize| {
            let v = |s: usize, m: usize| 30000 + ((i >> s) % m) as u16 * 3;
            [v(0, 8), v(3, 8), v(6, 8), v(9, 64)]
        };
        let once: Vec<u16> = (0..32768usize).flat_map(colour).collect();
        let values: Vec<u16> = once.iter().chain(&once).copied().collect();
        let palette = Palette::new(4, values).unwrap();
        let grid = grid_tables(&palette, 16);
        assert!(grid.longest > 3 * PALETTE_CHUNK, "{}", grid.longest);
    }
}
