//! GPU host code for `shaders/palette.wgsl`: bands, double buffering, readback.

use std::borrow::Cow;
use std::ops::Range;

use super::{GreyFloat, PaletteIndex, PaletteValue, Progress};
use crate::array::ImageView;
use crate::bands::plan_bands;
use crate::error::{Error, Result};
use crate::gpu::{dispatch_size, read_mapped, write_padded, GpuContext};
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

/// Buffers for one band in flight; two of them let the GPU work on band n
/// while the CPU uploads band n+1 and copies band n-1 out.
struct Slot {
    /// One uniform buffer and bind group per palette chunk.
    chunks: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    staging: wgpu::Buffer,
    pending: Option<Pending>,
}

struct Pending {
    rows: Range<usize>,
    out_bytes: u64,
    submission: wgpu::SubmissionIndex,
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
    let band_input =
        |rows: Range<usize>| Cow::Borrowed(bytemuck::cast_slice(image.rows(rows).data()));
    run(
        ctx,
        &job,
        band_input,
        bytemuck::cast_slice_mut(out),
        progress,
    )
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
    // f32 images upload as they are; f64 ones are rounded to f32 band by band.
    let band_input = |rows: Range<usize>| -> Cow<'_, [u8]> {
        let band = image.rows(rows).data();
        match bytemuck::try_cast_slice::<T, f32>(band) {
            Ok(f) if std::mem::size_of::<T>() == 4 => Cow::Borrowed(bytemuck::cast_slice(f)),
            _ => {
                let f: Vec<f32> = band.iter().map(|v| v.to_f64() as f32).collect();
                Cow::Owned(bytemuck::cast_slice(&f).to_vec())
            }
        }
    };
    run(
        ctx,
        &job,
        band_input,
        bytemuck::cast_slice_mut(out),
        progress,
    )
}

fn run<'img>(
    ctx: &GpuContext,
    job: &Job<'_>,
    band_input: impl Fn(Range<usize>) -> Cow<'img, [u8]>,
    out: &mut [u8],
    progress: Progress<'_>,
) -> Result<()> {
    if job.height == 0 || job.width == 0 {
        progress(job.height, job.height);
        return Ok(());
    }
    let in_row = (job.width * job.channels * job.value_bytes) as u64;
    let out_row = (job.width * job.index_bytes) as u64;
    let bands = plan_bands(job.height, &[in_row, out_row], ctx.band_bytes())?;
    let max_rows = bands.iter().map(|b| b.len()).max().unwrap_or(0) as u64;
    let in_bytes = round4(max_rows * in_row);
    let out_bytes = round4(max_rows * out_row);

    let indices_per_word = 4 / job.index_bytes as u32;
    let pipeline = palette_pipeline(ctx, job.mode as u32, job.channels, indices_per_word)?;
    ctx.checked("palette kernel", || {
        let device = ctx.device();
        let palette = wgpu::util::DeviceExt::create_buffer_init(
            device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("gpix.palette.entries"),
                contents: bytemuck::cast_slice(job.entries),
                usage: wgpu::BufferUsages::STORAGE,
            },
        );
        let mut slots: Vec<Slot> = (0..2.min(bands.len()))
            .map(|i| {
                let n_chunks = palette_chunks(job.entries.len()).len();
                new_slot(ctx, &pipeline, &palette, in_bytes, out_bytes, n_chunks, i)
            })
            .collect();
        let mut done_rows = 0;
        for (n, rows) in bands.iter().enumerate() {
            let slot_index = n % slots.len();
            if let Some(p) = slots[slot_index].pending.take() {
                done_rows += finish(ctx, &slots[slot_index], p, job, out)?;
                progress(done_rows, job.height);
            }
            let submission = submit_band(
                ctx,
                &pipeline,
                &slots[slot_index],
                job,
                rows.clone(),
                &band_input,
            )?;
            slots[slot_index].pending = Some(submission);
            // Copy out the other slot's band while this one runs.
            let other = (n + 1) % slots.len();
            if other != slot_index {
                if let Some(p) = slots[other].pending.take() {
                    done_rows += finish(ctx, &slots[other], p, job, out)?;
                    progress(done_rows, job.height);
                }
            }
        }
        for slot in &mut slots {
            if let Some(p) = slot.pending.take() {
                done_rows += finish(ctx, slot, p, job, out)?;
                progress(done_rows, job.height);
            }
        }
        Ok(())
    })
}

fn round4(bytes: u64) -> u64 {
    bytes.div_ceil(4).max(1) * 4
}

fn new_slot(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    palette: &wgpu::Buffer,
    in_bytes: u64,
    out_bytes: u64,
    n_chunks: usize,
    i: usize,
) -> Slot {
    let device = ctx.device();
    let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("gpix.palette.{label}{i}")),
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    use wgpu::BufferUsages as U;
    let input = buffer("pixels", in_bytes, U::STORAGE | U::COPY_DST);
    let output = buffer("indices", out_bytes, U::STORAGE | U::COPY_SRC);
    let staging = buffer("readback", out_bytes, U::MAP_READ | U::COPY_DST);
    let layout = pipeline.get_bind_group_layout(0);
    let chunks = (0..n_chunks)
        .map(|c| {
            let params = buffer(
                &format!("params{c}."),
                std::mem::size_of::<Params>() as u64,
                U::UNIFORM | U::COPY_DST,
            );
            let group = bind_four(device, &layout, [&params, &input, palette, &output]);
            (params, group)
        })
        .collect();
    Slot {
        chunks,
        input,
        output,
        staging,
        pending: None,
    }
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

fn submit_band<'img>(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    slot: &Slot,
    job: &Job<'_>,
    rows: Range<usize>,
    band_input: &impl Fn(Range<usize>) -> Cow<'img, [u8]>,
) -> Result<Pending> {
    let queue = ctx.queue();
    let n_pixels = rows.len() * job.width;
    let k = u32::try_from(job.entries.len()).map_err(|_| Error::invalid("palette too large"))?;
    let n_pixels32 = u32::try_from(n_pixels).map_err(|_| Error::invalid("band too large"))?;
    for ((buffer, _), (k_start, k_end)) in slot.chunks.iter().zip(palette_chunks(job.entries.len()))
    {
        let params = Params {
            n_pixels: n_pixels32,
            k,
            k_start,
            k_end,
        };
        queue.write_buffer(buffer, 0, bytemuck::bytes_of(&params));
    }
    write_padded(queue, &slot.input, &band_input(rows.clone()));

    let words = n_pixels.div_ceil(4 / job.index_bytes) as u64;
    let out_bytes = words * 4;
    let (x, y) = dispatch_size(
        words.div_ceil(u64::from(WORKGROUP)),
        ctx.max_workgroups_per_dimension(),
    )?;
    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("gpix.palette"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("gpix.palette"),
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        // Chunks run in order; each reads the indices the previous wrote.
        for (_, group) in &slot.chunks {
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
    }
    encoder.copy_buffer_to_buffer(&slot.output, 0, &slot.staging, 0, out_bytes);
    let submission = queue.submit([encoder.finish()]);
    Ok(Pending {
        rows,
        out_bytes,
        submission,
    })
}

/// Waits for a band, copies its indices into `out`, returns its row count.
fn finish(
    ctx: &GpuContext,
    slot: &Slot,
    pending: Pending,
    job: &Job<'_>,
    out: &mut [u8],
) -> Result<usize> {
    let row_bytes = job.width * job.index_bytes;
    let dst = &mut out[pending.rows.start * row_bytes..pending.rows.end * row_bytes];
    read_mapped(
        ctx,
        &slot.staging,
        pending.out_bytes,
        pending.submission,
        dst,
    )?;
    Ok(pending.rows.len())
}
