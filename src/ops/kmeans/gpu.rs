//! k-means on the GPU over the colour histogram: every distinct colour once,
//! uploaded once per run; per iteration the exact nearest-palette kernel
//! (`shaders/palette.wgsl`) assigns each colour to its nearest centroid on
//! the device, the indices come back (2 bytes per distinct colour at most),
//! and the host adds each colour × its pixel count into its cluster — the
//! CPU path's weighted sums, on the same labels, so the palettes are the
//! same for the same seed. A photo has a few hundred thousand distinct
//! colours against tens of millions of pixels: an iteration moves and
//! compares that much less than one over the pixels.
//!
//! Everything is made once per run: the pipeline, the colour, centroid,
//! index and readback buffers, one parameter buffer and bind group per
//! dispatch. Dispatches cover runs of colours (bound at offsets) small
//! enough for the device's bindings and for
//! [`GpuContext::with_dispatch_pairs`]' budget of colour-centroid pairs,
//! and palettes in chunks of [`PALETTE_CHUNK`] centroids.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::{buffer, dispatch_size, read_mapped, submit_passes, GpuContext};
use crate::ops::label_sums::{label_sums_cpu, LabelSums};
use crate::ops::median_cut::Histogram;
use crate::ops::palette::gpu::{
    palette_chunks, palette_entries, palette_pipeline, Params, PALETTE_CHUNK,
};
use crate::palette::Palette;

const WORKGROUP: u64 = 256;
/// Colours per run bound at an offset come in multiples of this: the
/// offsets of the colours (C × value bytes each) and of the packed indices
/// are then multiples of 256 bytes, WebGPU's largest offset alignment.
const RUN_ALIGN: usize = 1024;

/// One dispatch: its bind group and workgroup counts.
struct Dispatch {
    group: wgpu::BindGroup,
    size: (u32, u32),
}

/// The per-run state of k-means on the GPU.
pub(crate) struct KMeansGpu<'h> {
    ctx: GpuContext,
    hist: &'h Histogram,
    k: usize,
    /// Indices per `u32` word: 4 (u8) for k ≤ 256, else 2 (u16).
    ipw: usize,
    pipeline: Arc<wgpu::ComputePipeline>,
    centroids: wgpu::Buffer,
    indices: wgpu::Buffer,
    staging: wgpu::Buffer,
    dispatches: Vec<Dispatch>,
    /// Keeps the parameter and colour buffers the bind groups use.
    _buffers: Vec<wgpu::Buffer>,
    /// Reused between iterations: the raw index words and the labels.
    words: Vec<u32>,
    labels: Vec<u16>,
}

impl<'h> KMeansGpu<'h> {
    /// Sets up a run over `hist` (8-bit values when `value_bits` is 8, else
    /// 16-bit) for palettes of `k` colours.
    pub(crate) fn new(
        ctx: &GpuContext,
        hist: &'h Histogram,
        value_bits: u32,
        k: usize,
    ) -> Result<Self> {
        let c = hist.channels;
        let n = hist.counts.len();
        let value_bytes = if value_bits == 8 { 1 } else { 2 };
        let ipw = if k <= 256 { 4 } else { 2 };
        let mode = if value_bits == 8 { 0 } else { 1 };
        let pipeline = palette_pipeline(ctx, mode, c, ipw as u32)?;
        let storage = wgpu::BufferUsages::STORAGE;
        let copy_dst = wgpu::BufferUsages::COPY_DST;
        let colour_bytes = (n * c * value_bytes).div_ceil(4) * 4;
        let colours = wgpu::util::DeviceExt::create_buffer_init(
            ctx.device(),
            &wgpu::util::BufferInitDescriptor {
                label: Some("gpix.kmeans.colours"),
                contents: &packed(hist, value_bytes, colour_bytes),
                usage: storage,
            },
        );
        let index_bytes = (n.div_ceil(ipw) * 4) as u64;
        let indices = buffer(
            ctx,
            "gpix.kmeans.indices",
            index_bytes,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let centroids = buffer(
            ctx,
            "gpix.kmeans.centroids",
            k as u64 * 16,
            storage | copy_dst,
        );
        let staging = buffer(
            ctx,
            "gpix.kmeans.readback",
            index_bytes,
            wgpu::BufferUsages::MAP_READ | copy_dst,
        );
        let run = colours_per_dispatch(ctx, c * value_bytes, k);
        let mut dispatches = Vec::new();
        let mut buffers = vec![colours.clone()];
        let max_dim = ctx.max_workgroups_per_dimension();
        for first in (0..n).step_by(run) {
            let len = run.min(n - first);
            let colour_range = (first * c * value_bytes) as u64
                ..(((first + len) * c * value_bytes).div_ceil(4) * 4) as u64;
            let words = len.div_ceil(ipw) as u64;
            let index_range = (first / ipw * 4) as u64..(first / ipw * 4) as u64 + words * 4;
            let size = dispatch_size(words.div_ceil(WORKGROUP), max_dim)?;
            for (k_start, k_end) in palette_chunks(k) {
                let params = Params {
                    n_pixels: u32::try_from(len).map_err(|_| Error::invalid("too many colours"))?,
                    k: k as u32,
                    k_start,
                    k_end,
                };
                let params = wgpu::util::DeviceExt::create_buffer_init(
                    ctx.device(),
                    &wgpu::util::BufferInitDescriptor {
                        label: Some("gpix.kmeans.params"),
                        contents: bytemuck::bytes_of(&params),
                        usage: wgpu::BufferUsages::UNIFORM,
                    },
                );
                let group = bind_ranges(
                    ctx,
                    &pipeline,
                    [
                        (&params, 0..std::mem::size_of::<Params>() as u64),
                        (&colours, colour_range.clone()),
                        (&centroids, 0..k as u64 * 16),
                        (&indices, index_range.clone()),
                    ],
                );
                buffers.push(params);
                dispatches.push(Dispatch { group, size });
            }
        }
        Ok(Self {
            ctx: ctx.clone(),
            hist,
            k,
            ipw,
            pipeline,
            centroids,
            indices,
            staging,
            dispatches,
            _buffers: buffers,
            words: vec![0; n.div_ceil(ipw)],
            labels: vec![0; n],
        })
    }

    /// Assigns every colour to its nearest centroid and sums each cluster,
    /// every colour weighted by its pixel count.
    pub(crate) fn sums(&mut self, palette: &Palette) -> Result<LabelSums> {
        let ctx = self.ctx.clone();
        ctx.checked("k-means kernels", || self.sums_unchecked(palette))
    }

    fn sums_unchecked(&mut self, palette: &Palette) -> Result<LabelSums> {
        if palette.len() != self.k {
            return Err(Error::invalid(format!(
                "k-means was set up for {} centroids, not {}",
                self.k,
                palette.len()
            )));
        }
        let ctx = &self.ctx;
        ctx.queue().write_buffer(
            &self.centroids,
            0,
            bytemuck::cast_slice(&palette_entries(palette)),
        );
        let bytes = self.staging.size();
        let done = submit_passes(ctx, "gpix.kmeans.assign", &[], |enc| {
            {
                // One pass: wgpu orders each dispatch after the writes of
                // the last (a later palette chunk reads the indices the
                // earlier ones wrote).
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gpix.kmeans.assign"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.pipeline);
                for d in &self.dispatches {
                    pass.set_bind_group(0, &d.group, &[]);
                    pass.dispatch_workgroups(d.size.0, d.size.1, 1);
                }
            }
            enc.copy_buffer_to_buffer(&self.indices, 0, &self.staging, 0, bytes);
        });
        read_mapped(
            ctx,
            &self.staging,
            bytes,
            done,
            bytemuck::cast_slice_mut(&mut self.words),
        )?;
        unpack(&self.words, self.ipw, &mut self.labels);
        let hist = self.hist;
        label_sums_cpu(
            &hist.colors,
            hist.channels,
            &self.labels,
            self.k,
            Some(&hist.counts),
        )
    }
}

/// Colours per dispatch: a multiple of [`RUN_ALIGN`] within the device's
/// binding size and [`GpuContext::dispatch_pairs`] colour-centroid pairs.
fn colours_per_dispatch(ctx: &GpuContext, colour_bytes: usize, k: usize) -> usize {
    let by_binding = ctx.band_bytes() as usize / colour_bytes;
    let by_time = (ctx.dispatch_pairs() / k.clamp(1, PALETTE_CHUNK) as u64) as usize;
    (by_binding.min(by_time) / RUN_ALIGN).max(1) * RUN_ALIGN
}

/// The histogram's values packed as the kernel reads them (4 u8 or 2 u16
/// per word, little-endian), zero-padded to `bytes`.
fn packed(hist: &Histogram, value_bytes: usize, bytes: usize) -> Vec<u8> {
    let mut out = vec![0u8; bytes];
    if value_bytes == 1 {
        for (d, &v) in out.iter_mut().zip(&hist.colors) {
            *d = v as u8;
        }
    } else {
        for (d, &v) in out.chunks_exact_mut(2).zip(&hist.colors) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Cluster indices from the kernel's packed words.
fn unpack(words: &[u32], ipw: usize, labels: &mut [u16]) {
    let bits = 32 / ipw;
    let mask = (1u32 << bits) - 1;
    for (i, l) in labels.iter_mut().enumerate() {
        *l = ((words[i / ipw] >> ((i % ipw) * bits)) & mask) as u16;
    }
}

/// A bind group of four buffer ranges at bindings 0..=3.
fn bind_ranges(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    ranges: [(&wgpu::Buffer, std::ops::Range<u64>); 4],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = ranges
        .iter()
        .enumerate()
        .map(|(i, (b, r))| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: b,
                offset: r.start,
                size: std::num::NonZeroU64::new(r.end - r.start),
            }),
        })
        .collect();
    ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("gpix.kmeans.bind"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}
