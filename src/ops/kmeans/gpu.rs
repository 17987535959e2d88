//! k-means on the GPU: per iteration, for every band, the nearest-palette
//! kernel writes cluster indices into a GPU buffer and the label-sum kernel
//! folds them into exact 64-bit totals; only the totals are read back.
//! An image that fits one band is uploaded once for all iterations.

use std::ops::Range;

use crate::array::ImageView;
use crate::bands::plan_bands;
use crate::error::{Error, Result};
use crate::gpu::{dispatch_size, read_mapped, write_padded, GpuContext};
use crate::ops::label_mean::gpu::{
    cluster_sums_pipeline, dense_params, integer_totals, TOTAL_WORDS,
};
use crate::ops::label_sums::LabelSums;
use crate::ops::palette::gpu::{
    bind_four, palette_chunks, palette_entries, palette_pipeline, Params,
};
use crate::ops::palette::PaletteValue;
use crate::palette::Palette;

const WORKGROUP: u64 = 256;
/// Pixels per invocation of the `sums` kernel in `label_mean.wgsl`.
const RUN: u64 = 32;

pub(crate) struct KMeansGpu<'a, T> {
    ctx: GpuContext,
    image: ImageView<'a, T>,
    bands: Vec<Range<usize>>,
    pixels: wgpu::Buffer,
    /// The band currently in `pixels` (skip re-uploading a single band).
    resident: Option<usize>,
}

impl<'a, T: PaletteValue> KMeansGpu<'a, T> {
    pub(crate) fn new(ctx: &GpuContext, image: ImageView<'a, T>) -> Result<Self> {
        let value_bytes = std::mem::size_of::<T>() as u64;
        let in_row = image.width() as u64 * image.channels() as u64 * value_bytes;
        // Indices are at most 2 bytes per pixel (u16).
        let out_row = image.width() as u64 * 2;
        let bands = plan_bands(image.height(), &[in_row, out_row], ctx.band_bytes())?;
        let max_rows = bands.iter().map(|b| b.len()).max().unwrap_or(0) as u64;
        let pixels = ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("gpix.kmeans.pixels"),
            size: round4(max_rows * in_row),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            ctx: ctx.clone(),
            image,
            bands,
            pixels,
            resident: None,
        })
    }

    /// Assigns every pixel to its nearest centroid and sums each cluster.
    pub(crate) fn sums(&mut self, palette: &Palette) -> Result<LabelSums> {
        let ctx = self.ctx.clone();
        ctx.checked("k-means kernels", || self.sums_unchecked(palette))
    }

    fn sums_unchecked(&mut self, palette: &Palette) -> Result<LabelSums> {
        let ctx = &self.ctx;
        let device = ctx.device();
        let channels = self.image.channels();
        let k = palette.len();
        let mode = if T::BITS == 8 { 0u32 } else { 1 };
        let ipw: u32 = if k <= 256 { 4 } else { 2 };
        let assign = palette_pipeline(ctx, mode, channels, ipw)?;
        let reduce = cluster_sums_pipeline(ctx, mode, channels, ipw)?;

        let use_ = wgpu::BufferUsages::STORAGE;
        let entries = wgpu::util::DeviceExt::create_buffer_init(
            device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("gpix.kmeans.centroids"),
                contents: bytemuck::cast_slice(&palette_entries(palette)),
                usage: use_,
            },
        );
        let max_rows = self.bands.iter().map(|b| b.len()).max().unwrap_or(0);
        let max_words = (max_rows * self.image.width()).div_ceil(ipw as usize) as u64;
        let indices = buffer(device, "gpix.kmeans.indices", round4(max_words * 4), use_);
        let sum_words = (k * (channels + 1) * TOTAL_WORDS) as u64;
        let sums = buffer(
            device,
            "gpix.kmeans.sums",
            sum_words * 4,
            use_ | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        );
        let staging = buffer(
            device,
            "gpix.kmeans.readback",
            sum_words * 4,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        // One uniform buffer and assignment bind group per palette chunk
        // (see `PALETTE_CHUNK`); the sums read n_pixels and k from the first.
        let chunks = palette_chunks(k);
        let params: Vec<wgpu::Buffer> = chunks
            .iter()
            .map(|_| {
                buffer(
                    device,
                    "gpix.kmeans.params",
                    std::mem::size_of::<Params>() as u64,
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                )
            })
            .collect();
        let assign_layout = assign.get_bind_group_layout(0);
        let assign_groups: Vec<wgpu::BindGroup> = params
            .iter()
            .map(|p| {
                bind_four(
                    device,
                    &assign_layout,
                    [p, &self.pixels, &entries, &indices],
                )
            })
            .collect();
        // The shared label-sum kernel (label_mean.wgsl): clusters are its rows.
        let sums_params = buffer(
            device,
            "gpix.kmeans.sums.params",
            16,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let no_keys = buffer(device, "gpix.kmeans.no_keys", 4, use_);
        let no_exps = buffer(device, "gpix.kmeans.no_exps", 4, use_);
        let reduce_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gpix.kmeans.sums"),
            layout: &reduce.get_bind_group_layout(0),
            entries: &[
                (0, &sums_params),
                (1, &self.pixels),
                (2, &indices),
                (3, &no_keys),
                (4, &no_exps),
                (5, &sums),
            ]
            .map(|(binding, b)| wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            }),
        });

        let mut last = None;
        for (n, rows) in self.bands.clone().into_iter().enumerate() {
            if self.resident != Some(n) {
                let data = self.image.rows(rows.clone()).data();
                write_padded(ctx.queue(), &self.pixels, bytemuck::cast_slice(data));
                self.resident = Some(n);
            }
            let n_pixels = rows.len() * self.image.width();
            let n_pixels32 =
                u32::try_from(n_pixels).map_err(|_| Error::invalid("band too large"))?;
            ctx.queue().write_buffer(
                &sums_params,
                0,
                bytemuck::cast_slice(&dense_params(n_pixels32, k as u32)),
            );
            for (buffer, &(k_start, k_end)) in params.iter().zip(&chunks) {
                let p = Params {
                    n_pixels: n_pixels32,
                    k: k as u32,
                    k_start,
                    k_end,
                };
                ctx.queue().write_buffer(buffer, 0, bytemuck::bytes_of(&p));
            }
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("gpix.kmeans"),
            });
            if n == 0 {
                encoder.clear_buffer(&sums, 0, None);
            }
            let words = (n_pixels as u64).div_ceil(u64::from(ipw));
            let max_dim = ctx.max_workgroups_per_dimension();
            let assign_size = dispatch_size(words.div_ceil(WORKGROUP), max_dim)?;
            let reduce_size =
                dispatch_size((n_pixels as u64).div_ceil(RUN).div_ceil(WORKGROUP), max_dim)?;
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gpix.kmeans.assign"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&assign);
                for group in &assign_groups {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(assign_size.0, assign_size.1, 1);
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gpix.kmeans.sums"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&reduce);
                pass.set_bind_group(0, &reduce_group, &[]);
                pass.dispatch_workgroups(reduce_size.0, reduce_size.1, 1);
            }
            if n + 1 == self.bands.len() {
                encoder.copy_buffer_to_buffer(&sums, 0, &staging, 0, sum_words * 4);
            }
            last = Some(ctx.queue().submit([encoder.finish()]));
        }
        let Some(last) = last else {
            return Ok(LabelSums::zeros(k, channels));
        };
        let mut raw = vec![0u32; sum_words as usize];
        read_mapped(
            ctx,
            &staging,
            sum_words * 4,
            last,
            bytemuck::cast_slice_mut(&mut raw),
        )?;
        Ok(integer_totals(&raw, k, channels))
    }
}

fn round4(bytes: u64) -> u64 {
    bytes.div_ceil(4).max(1) * 4
}

fn buffer(
    device: &wgpu::Device,
    label: &str,
    size: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    })
}
