//! k-means on the GPU: per iteration, for every band, the nearest-palette
//! kernel writes cluster indices into a GPU buffer and the label-sum kernel
//! folds them into exact 64-bit totals; only the totals are read back.
//!
//! Everything is made once per run: the pipelines, the centroid, totals and
//! readback buffers, and the streamed path's ring. An image up to
//! [`RESIDENT_BYTES`] is uploaded by the first iteration and kept on the
//! device (one buffer per band), so later iterations move no pixels at all;
//! a larger one streams through the ring every iteration.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::array::ImageView;
use crate::bands::{split_rows, stream_rows};
use crate::error::{Error, Result};
use crate::gpu::stream::{par_write, BandKernel, Region, Ring, StreamSpec};
use crate::gpu::{bind_buffers, buffer, dispatch_size, read_mapped, submit_passes, GpuContext};
use crate::ops::label_mean::gpu::{
    cluster_sums_pipeline, dense_params, integer_totals, TOTAL_WORDS,
};
use crate::ops::label_sums::LabelSums;
use crate::ops::palette::gpu::{palette_chunks, palette_entries, palette_pipeline, Params};
use crate::ops::palette::PaletteValue;
use crate::palette::Palette;

const WORKGROUP: u64 = 256;
/// Pixels per invocation of the `sums` kernel in `label_mean.wgsl`.
const RUN: u64 = 32;
/// Images up to this size stay on the device for every iteration.
pub(crate) const RESIDENT_BYTES: u64 = 2 << 30;

/// The per-run state of k-means on the GPU.
pub(crate) struct KMeansGpu<'a, T> {
    ctx: GpuContext,
    kernel: KMeansKernel<'a, T>,
    ring: Ring<KMeansSlot>,
    spec_bands: usize,
    staging: wgpu::Buffer,
}

/// The streamed part: one band's assignment and cluster sums.
struct KMeansKernel<'a, T> {
    image: ImageView<'a, T>,
    bands: Vec<Range<usize>>,
    k: usize,
    ipw: u32,
    assign: Arc<wgpu::ComputePipeline>,
    reduce: Arc<wgpu::ComputePipeline>,
    centroids: wgpu::Buffer,
    sums: wgpu::Buffer,
    no_keys: wgpu::Buffer,
    no_exps: wgpu::Buffer,
    /// The image's bands kept on the device, when it fits.
    resident: Option<Vec<wgpu::Buffer>>,
    /// Whether `resident` holds the pixels yet (after the first iteration;
    /// set between sweeps).
    loaded: AtomicBool,
}

/// A ring slot: the indices of its band and the parameter buffers.
struct KMeansSlot {
    input: wgpu::Buffer,
    indices: wgpu::Buffer,
    chunk_params: Vec<wgpu::Buffer>,
    sums_params: wgpu::Buffer,
}

impl<T: PaletteValue> KMeansKernel<'_, T> {
    fn band_bytes(&self, band: usize) -> u64 {
        (self.bands[band].len() * self.image.width() * self.image.channels()) as u64
            * std::mem::size_of::<T>() as u64
    }
    fn pixels_of<'b>(&'b self, band: usize, slot: &'b KMeansSlot) -> &'b wgpu::Buffer {
        match (&self.resident, self.loaded.load(Ordering::Relaxed)) {
            (Some(r), true) => &r[band],
            _ => &slot.input,
        }
    }
}

impl<T: PaletteValue> BandKernel for KMeansKernel<'_, T> {
    type Slot = KMeansSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        _outputs: &[wgpu::Buffer],
    ) -> Result<KMeansSlot> {
        let max_rows = self.bands.iter().map(Range::len).max().unwrap_or(0);
        let words = (max_rows * self.image.width()).div_ceil(self.ipw as usize) as u64;
        let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        Ok(KMeansSlot {
            input: inputs[0].clone(),
            indices: buffer(
                ctx,
                "gpix.kmeans.indices",
                words * 4,
                wgpu::BufferUsages::STORAGE,
            ),
            chunk_params: palette_chunks(self.k)
                .iter()
                .map(|_| {
                    buffer(
                        ctx,
                        "gpix.kmeans.params",
                        std::mem::size_of::<Params>() as u64,
                        uniform,
                    )
                })
                .collect(),
            sums_params: buffer(ctx, "gpix.kmeans.sums.params", 16, uniform),
        })
    }

    fn upload_len(&self, band: usize, _input: usize) -> u64 {
        if self.loaded.load(Ordering::Relaxed) {
            0
        } else {
            self.band_bytes(band)
        }
    }

    fn fill(&self, band: usize, _input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let src: &[u8] = bytemuck::cast_slice(self.image.rows(self.bands[band].clone()).data());
        par_write(dst, 4, |first, buf| {
            let n = buf.len().min(src.len().saturating_sub(first));
            buf[..n].copy_from_slice(&src[first..first + n]);
        });
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &KMeansSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let n_pixels = self.bands[band].len() * self.image.width();
        let n32 = u32::try_from(n_pixels).map_err(|_| Error::invalid("band too large"))?;
        let queue = ctx.queue();
        queue.write_buffer(
            &slot.sums_params,
            0,
            bytemuck::cast_slice(&dense_params(n32, self.k as u32)),
        );
        let pixels = self.pixels_of(band, slot);
        let chunks = palette_chunks(self.k);
        let max_dim = ctx.max_workgroups_per_dimension();
        let words = (n_pixels as u64).div_ceil(u64::from(self.ipw));
        let (ax, ay) = dispatch_size(words.div_ceil(WORKGROUP), max_dim)?;
        pass.set_pipeline(&self.assign);
        // Chunks run in order; each reads the indices the previous wrote.
        for (params, &(k_start, k_end)) in slot.chunk_params.iter().zip(&chunks) {
            let p = Params {
                n_pixels: n32,
                k: self.k as u32,
                k_start,
                k_end,
            };
            queue.write_buffer(params, 0, bytemuck::bytes_of(&p));
            let group = bind_buffers(
                ctx,
                &self.assign,
                &[
                    (0, params),
                    (1, pixels),
                    (2, &self.centroids),
                    (3, &slot.indices),
                ],
            );
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(ax, ay, 1);
        }
        // The shared label-sum kernel (label_mean.wgsl): clusters are its rows.
        let group = bind_buffers(
            ctx,
            &self.reduce,
            &[
                (0, &slot.sums_params),
                (1, pixels),
                (2, &slot.indices),
                (3, &self.no_keys),
                (4, &self.no_exps),
                (5, &self.sums),
            ],
        );
        let (rx, ry) = dispatch_size((n_pixels as u64).div_ceil(RUN).div_ceil(WORKGROUP), max_dim)?;
        pass.set_pipeline(&self.reduce);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(rx, ry, 1);
        Ok(Vec::new())
    }

    fn after_pass(&self, band: usize, slot: &KMeansSlot, encoder: &mut wgpu::CommandEncoder) {
        // The first iteration keeps the pixels it uploaded.
        if let (Some(resident), false) = (&self.resident, self.loaded.load(Ordering::Relaxed)) {
            let bytes = self.band_bytes(band).div_ceil(4) * 4;
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(&slot.input, 0, &resident[band], 0, bytes);
            }
        }
    }
}

impl<'a, T: PaletteValue> KMeansGpu<'a, T> {
    /// Sets up a run for palettes of `k` colours.
    pub(crate) fn new(ctx: &GpuContext, image: ImageView<'a, T>, k: usize) -> Result<Self> {
        let value_bytes = std::mem::size_of::<T>() as u64;
        let in_row = image.width() as u64 * image.channels() as u64 * value_bytes;
        // Indices are at most 2 bytes per pixel (u16).
        let out_row = image.width() as u64 * 2;
        let rows = stream_rows(
            image.height(),
            in_row,
            0,
            out_row,
            ctx.stream_band_bytes(),
            ctx.band_bytes(),
        )?;
        let bands = split_rows(image.height(), rows);
        let channels = image.channels();
        let mode = if T::BITS == 8 { 0u32 } else { 1 };
        let ipw: u32 = if k <= 256 { 4 } else { 2 };
        let storage = wgpu::BufferUsages::STORAGE;
        let copy_dst = wgpu::BufferUsages::COPY_DST;
        let sum_words = (k * (channels + 1) * TOTAL_WORDS) as u64;
        let resident = (image.height() as u64 * in_row <= RESIDENT_BYTES).then(|| {
            bands
                .iter()
                .map(|b| {
                    let bytes = b.len() as u64 * in_row;
                    buffer(
                        ctx,
                        "gpix.kmeans.pixels.resident",
                        bytes,
                        storage | copy_dst,
                    )
                })
                .collect()
        });
        let kernel = KMeansKernel {
            image,
            k,
            ipw,
            assign: palette_pipeline(ctx, mode, channels, ipw)?,
            reduce: cluster_sums_pipeline(ctx, mode, channels, ipw)?,
            centroids: buffer(
                ctx,
                "gpix.kmeans.centroids",
                k as u64 * 16,
                storage | copy_dst,
            ),
            sums: buffer(
                ctx,
                "gpix.kmeans.sums",
                sum_words * 4,
                storage | copy_dst | wgpu::BufferUsages::COPY_SRC,
            ),
            no_keys: buffer(ctx, "gpix.kmeans.no_keys", 4, storage),
            no_exps: buffer(ctx, "gpix.kmeans.no_exps", 4, storage),
            resident,
            loaded: AtomicBool::new(false),
            bands,
        };
        let max_rows = kernel.bands.iter().map(Range::len).max().unwrap_or(0) as u64;
        let spec = StreamSpec {
            label: "gpix.kmeans",
            bands: kernel.bands.len(),
            inputs: vec![max_rows * in_row],
            outputs: Vec::new(),
        };
        let ring = Ring::new(ctx, &spec, &kernel)?;
        Ok(Self {
            ctx: ctx.clone(),
            spec_bands: spec.bands,
            staging: buffer(
                ctx,
                "gpix.kmeans.readback",
                sum_words * 4,
                wgpu::BufferUsages::MAP_READ | copy_dst,
            ),
            kernel,
            ring,
        })
    }

    /// Assigns every pixel to its nearest centroid and sums each cluster.
    pub(crate) fn sums(&mut self, palette: &Palette) -> Result<LabelSums> {
        let ctx = self.ctx.clone();
        ctx.checked("k-means kernels", || self.sums_unchecked(palette))
    }

    fn sums_unchecked(&mut self, palette: &Palette) -> Result<LabelSums> {
        let ctx = &self.ctx;
        let (k, channels) = (self.kernel.k, self.kernel.image.channels());
        if palette.len() != k {
            return Err(Error::invalid(format!(
                "k-means was set up for {k} centroids, not {}",
                palette.len()
            )));
        }
        if self.spec_bands == 0 {
            return Ok(LabelSums::zeros(k, channels));
        }
        ctx.queue().write_buffer(
            &self.kernel.centroids,
            0,
            bytemuck::cast_slice(&palette_entries(palette)),
        );
        // Queue order: the totals are cleared before the first band's sums.
        submit_passes(ctx, "gpix.kmeans.clear", &[], |enc| {
            enc.clear_buffer(&self.kernel.sums, 0, None);
        });
        self.ring
            .run(ctx, self.spec_bands, &self.kernel, |_, _| Ok(()))?;
        self.kernel
            .loaded
            .store(self.kernel.resident.is_some(), Ordering::Relaxed);
        let sum_bytes = self.staging.size();
        let done = submit_passes(ctx, "gpix.kmeans.totals", &[], |enc| {
            enc.copy_buffer_to_buffer(&self.kernel.sums, 0, &self.staging, 0, sum_bytes);
        });
        let mut raw = vec![0u32; (sum_bytes / 4) as usize];
        read_mapped(
            ctx,
            &self.staging,
            sum_bytes,
            done,
            bytemuck::cast_slice_mut(&mut raw),
        )?;
        Ok(integer_totals(&raw, k, channels))
    }
}
