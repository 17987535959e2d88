//! GPU host code for `shaders/palette.wgsl` on the streamed band path.

use std::ops::Range;

use super::{GreyFloat, PaletteIndex, PaletteValue, Progress};
use crate::array::ImageView;
use crate::bands::{split_rows, stream_rows};
use crate::error::{Error, Result};
use crate::gpu::stream::{par_read, par_write, stream, BandKernel, Region, StreamSpec};
use crate::gpu::{buffer, dispatch_size, GpuContext};
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

/// What one run of the kernel needs to know.
struct Job<'a> {
    mode: Mode,
    channels: usize,
    height: usize,
    width: usize,
    /// Palette entries as the shader reads them.
    entries: &'a [[u32; 4]],
    /// Bytes of one pixel value in the uploaded band.
    value_bytes: usize,
    /// Bytes of one output index (1 or 2).
    index_bytes: usize,
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

pub(crate) fn nearest_palette_gpu<T: PaletteValue, I: PaletteIndex>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    palette: &Palette,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    let entries = palette_entries(palette);
    let job = Job {
        mode: if T::BITS == 8 { Mode::U8 } else { Mode::U16 },
        channels: image.channels(),
        height: image.height(),
        width: image.width(),
        entries: &entries,
        value_bytes: std::mem::size_of::<T>(),
        index_bytes: std::mem::size_of::<I>(),
    };
    let input = |rows: Range<usize>, first: usize, buf: &mut [u8]| {
        let src: &[u8] = bytemuck::cast_slice(image.rows(rows).data());
        let n = buf.len().min(src.len().saturating_sub(first));
        buf[..n].copy_from_slice(&src[first..first + n]);
    };
    run(ctx, &job, &input, bytemuck::cast_slice_mut(out), progress)
}

pub(crate) fn nearest_level_gpu<T: GreyFloat, I: PaletteIndex>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    levels: &Levels,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    let entries: Vec<[u32; 4]> = levels
        .values()
        .iter()
        .map(|&l| [(l as f32).to_bits(), 0, 0, 0])
        .collect();
    let job = Job {
        mode: Mode::F32,
        channels: 1,
        height: image.height(),
        width: image.width(),
        entries: &entries,
        value_bytes: 4,
        index_bytes: std::mem::size_of::<I>(),
    };
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
    run(ctx, &job, &input, bytemuck::cast_slice_mut(out), progress)
}

/// Writes bytes `first..` of the upload of the band of rows `rows` into `buf`.
type BandInput<'a> = dyn Fn(Range<usize>, usize, &mut [u8]) + Sync + 'a;

/// The streamed part of the palette kernel.
struct PaletteKernel<'a, 'j> {
    job: &'a Job<'j>,
    bands: Vec<Range<usize>>,
    input: &'a BandInput<'a>,
    pipeline: std::sync::Arc<wgpu::ComputePipeline>,
    palette: wgpu::Buffer,
}

/// A ring slot: one uniform buffer and bind group per palette chunk.
struct PaletteSlot {
    chunks: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
}

impl BandKernel for PaletteKernel<'_, '_> {
    type Slot = PaletteSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<PaletteSlot> {
        let layout = self.pipeline.get_bind_group_layout(0);
        let chunks = palette_chunks(self.job.entries.len())
            .iter()
            .map(|_| {
                let params = buffer(
                    ctx,
                    "gpix.palette.params",
                    std::mem::size_of::<Params>() as u64,
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                );
                let group = bind_four(
                    ctx.device(),
                    &layout,
                    [&params, &inputs[0], &self.palette, &outputs[0]],
                );
                (params, group)
            })
            .collect();
        Ok(PaletteSlot { chunks })
    }

    fn upload_len(&self, band: usize, _input: usize) -> u64 {
        (self.bands[band].len() * self.job.width * self.job.channels * self.job.value_bytes) as u64
    }

    fn fill(&self, band: usize, _input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let rows = self.bands[band].clone();
        // Pieces of whole words: f32 levels convert 4 bytes at a time.
        par_write(dst, 4, |first, buf| (self.input)(rows.clone(), first, buf));
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &PaletteSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let n_pixels = self.bands[band].len() * self.job.width;
        let k = u32::try_from(self.job.entries.len())
            .map_err(|_| Error::invalid("palette too large"))?;
        let n_pixels32 = u32::try_from(n_pixels).map_err(|_| Error::invalid("band too large"))?;
        let chunks = palette_chunks(self.job.entries.len());
        for ((buffer, _), &(k_start, k_end)) in slot.chunks.iter().zip(&chunks) {
            let params = Params {
                n_pixels: n_pixels32,
                k,
                k_start,
                k_end,
            };
            ctx.queue()
                .write_buffer(buffer, 0, bytemuck::bytes_of(&params));
        }
        let words = n_pixels.div_ceil(4 / self.job.index_bytes) as u64;
        let (x, y) = dispatch_size(
            words.div_ceil(u64::from(WORKGROUP)),
            ctx.max_workgroups_per_dimension(),
        )?;
        pass.set_pipeline(&self.pipeline);
        // Chunks run in order; each reads the indices the previous wrote.
        for (_, group) in &slot.chunks {
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        Ok(vec![Region {
            output: 0,
            offset: 0,
            len: words * 4,
        }])
    }
}

fn run(
    ctx: &GpuContext,
    job: &Job<'_>,
    input: &BandInput<'_>,
    out: &mut [u8],
    progress: Progress<'_>,
) -> Result<()> {
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
    let indices_per_word = 4 / job.index_bytes as u32;
    let pipeline = palette_pipeline(ctx, job.mode as u32, job.channels, indices_per_word)?;
    ctx.checked("palette kernel", || {
        let palette = wgpu::util::DeviceExt::create_buffer_init(
            ctx.device(),
            &wgpu::util::BufferInitDescriptor {
                label: Some("gpix.palette.entries"),
                contents: bytemuck::cast_slice(job.entries),
                usage: wgpu::BufferUsages::STORAGE,
            },
        );
        let kernel = PaletteKernel {
            job,
            bands,
            input,
            pipeline,
            palette,
        };
        let spec = StreamSpec {
            label: "gpix.palette",
            bands: kernel.bands.len(),
            inputs: vec![rows as u64 * in_row],
            outputs: vec![rows as u64 * out_row],
        };
        let mut done_rows = 0;
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

/// A bind group of four whole buffers at bindings 0..=3.
pub(crate) fn bind_four(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    buffers: [&wgpu::Buffer; 4],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("gpix.bind"),
        layout,
        entries: &entries,
    })
}
