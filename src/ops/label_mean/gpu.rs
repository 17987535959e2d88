//! GPU host code for `shaders/label_mean.wgsl` on the streamed band path:
//! the sums sweep (after an exponents sweep for floats) and the recolour.
//! Labels are uploaded once and kept on the device for the later sweeps
//! when they fit [`RESIDENT_LABEL_BYTES`].

use std::ops::Range;
use std::sync::Arc;

use super::{LabelValue, RowTotals, Rows, SumValue};
use crate::array::ImageView;
use crate::bands::{split_rows, stream_rows};
use crate::error::{Error, Result};
use crate::gpu::stream::{par_read, par_write, stream, BandKernel, Region, StreamSpec};
use crate::gpu::{
    bind_buffers, buffer, dispatch_size, read_mapped, submit_passes, write_padded, GpuContext,
};

const SHADER: &str = concat!(
    include_str!("../../../shaders/common.wgsl"),
    include_str!("../../../shaders/label_mean.wgsl")
);
const WORKGROUP: u64 = 256;
/// Pixels per invocation of the `exponents` and `sums` kernels (a
/// workgroup's tile is `WORKGROUP × STEPS` pixels).
const STEPS: u64 = 16;
/// Words of workgroup memory the kernels' table may use at most: a larger
/// table costs more to clear per tile than it saves in global atomics.
const SCRATCH_CAP: u32 = 4096;
/// Words the segment path stages per round: rows, then up to 4 channels of
/// two-word values per lane.
const STAGING_WORDS: u32 = 256 + 256 * 4 * 2;
/// Table slots at most (a quarter of the tile's pixels).
const MAX_SLOTS: u32 = 1024;
/// Words per total (96 bits).
pub(crate) const TOTAL_WORDS: usize = 3;

/// The uniform block of `label_mean.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n_pixels: u32,
    n_rows: u32,
    offset: u32,
    n_keys: u32,
}

/// The pipeline of `entry` for a value mode, channel count and output width
/// (labels one per word).
fn pipeline(
    ctx: &GpuContext,
    entry: &str,
    mode: u32,
    channels: usize,
    out_bytes: u32,
) -> Result<Arc<wgpu::ComputePipeline>> {
    kernel(ctx, entry, mode, channels, 1, out_bytes)
}

/// The workgroup table of `entry`: (slots, words per slot, scratch words).
/// Slots hold a row's totals (`sums`: count and channels, one word each for
/// 8/16-bit values, three otherwise) or its exponents and flags.
fn table_shape(ctx: &GpuContext, entry: &str, mode: u32, channels: usize) -> (u32, u32, u32) {
    let limit = ctx.device().limits().max_compute_workgroup_storage_size / 4;
    // Two words go to the kernel's flags.
    // WebGPU guarantees 16352 bytes, more than the staging needs.
    let scratch = limit.saturating_sub(2).clamp(STAGING_WORDS, SCRATCH_CAP);
    let total_words = if mode < 2 { 1 } else { 3 };
    let channels = u32::try_from(channels).unwrap_or(u32::MAX);
    let slot_words = if entry == "exponents" {
        channels.saturating_mul(2)
    } else {
        channels.saturating_add(1).saturating_mul(total_words)
    };
    let slots = (scratch / slot_words.saturating_add(1)).min(MAX_SLOTS);
    (slots, slot_words, scratch)
}

fn kernel(
    ctx: &GpuContext,
    entry: &str,
    mode: u32,
    channels: usize,
    labels_per_word: u32,
    out_bytes: u32,
) -> Result<Arc<wgpu::ComputePipeline>> {
    let name = format!("gpix.label_mean.{entry}.m{mode}c{channels}l{labels_per_word}o{out_bytes}");
    let (slots, slot_words, scratch) = table_shape(ctx, entry, mode, channels);
    ctx.pipeline(
        &name,
        SHADER,
        entry,
        &[
            ("MODE", f64::from(mode)),
            ("CHANNELS", channels as f64),
            ("LABELS_PER_WORD", f64::from(labels_per_word)),
            ("OUT_BYTES", f64::from(out_bytes)),
            ("SLOTS", f64::from(slots)),
            ("SLOT_WORDS", f64::from(slot_words)),
            ("SCRATCH", f64::from(scratch)),
        ],
    )
}

fn storage() -> wgpu::BufferUsages {
    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST
}

/// Fails up front when a per-row table exceeds what one binding may hold.
fn check_table(ctx: &GpuContext, what: &str, bytes: u64) -> Result<()> {
    // Tables are bound whole, whatever the band budget.
    let limits = ctx.device().limits();
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > limit {
        return Err(Error::too_large(what, bytes, limit));
    }
    Ok(())
}

fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::too_large(what, n as u64, u64::from(u32::MAX)))
}

/// Label maps up to this size stay on the device between the sweeps of one
/// call (a 12000² map of u32 labels is 576 MB), and so do float images
/// between the exponents and sums sweeps (12000² RGB f32: 1.7 GB); larger
/// ones are streamed again for each sweep.
pub(crate) const RESIDENT_LABEL_BYTES: u64 = 2 << 30;

/// The bands of one label-mean call and, when the map is small enough, its
/// labels kept on the device (one buffer per band) for every later sweep.
pub(crate) struct LabelBands {
    width: usize,
    bands: Vec<Range<usize>>,
    resident: Option<Vec<wgpu::Buffer>>,
    /// Whether `resident` already holds the labels.
    loaded: bool,
    /// The image's bands kept on the device (floats: two sweeps read them).
    pixels: Option<Vec<wgpu::Buffer>>,
    /// Whether `pixels` already holds them.
    pixels_loaded: bool,
}

impl LabelBands {
    /// Bands for an image of `height × width` pixels whose largest per-row
    /// buffer is `row_bytes`; `keep` asks for resident labels.
    pub(crate) fn new(
        ctx: &GpuContext,
        height: usize,
        width: usize,
        row_bytes: u64,
        keep: bool,
    ) -> Result<Self> {
        let label_row = width as u64 * 4;
        let rows = stream_rows(
            height,
            row_bytes.max(label_row),
            0,
            row_bytes.max(label_row),
            ctx.stream_band_bytes(),
            ctx.band_bytes(),
        )?;
        let bands = split_rows(height, rows);
        let keep = keep && height as u64 * label_row <= RESIDENT_LABEL_BYTES;
        let resident = keep.then(|| {
            bands
                .iter()
                .map(|b| {
                    buffer(
                        ctx,
                        "gpix.label_mean.labels.resident",
                        b.len() as u64 * label_row,
                        storage(),
                    )
                })
                .collect()
        });
        Ok(Self {
            width,
            bands,
            resident,
            loaded: false,
            pixels: None,
            pixels_loaded: false,
        })
    }

    /// Keeps the image's bands (`row_bytes` per row) on the device after
    /// the first sweep when the image fits [`RESIDENT_LABEL_BYTES`].
    fn keep_pixels(&mut self, ctx: &GpuContext, row_bytes: u64) {
        let rows: usize = self.bands.iter().map(Range::len).sum();
        if rows as u64 * row_bytes <= RESIDENT_LABEL_BYTES {
            self.pixels = Some(
                (self.bands.iter())
                    .map(|b| {
                        let bytes = b.len() as u64 * row_bytes;
                        buffer(ctx, "gpix.label_mean.pixels.resident", bytes, storage())
                    })
                    .collect(),
            );
        }
    }

    fn pixels(&self, band: usize) -> Range<usize> {
        self.bands[band].start * self.width..self.bands[band].end * self.width
    }

    /// Whether a sweep must upload the labels of its bands.
    fn upload(&self) -> bool {
        !self.loaded
    }
}

/// The label-mean parameters for one band.
fn band_params(rows: &Rows, n_pixels: usize) -> Result<Params> {
    let (offset, n_keys) = match rows {
        Rows::Dense { offset, .. } => (*offset, 0),
        Rows::Sparse { keys } => (0, keys.len()),
    };
    Ok(Params {
        n_pixels: u32_of(n_pixels, "pixels in a band")?,
        n_rows: u32_of(rows.len(), "label rows")?,
        offset,
        n_keys: u32_of(n_keys, "distinct labels")?,
    })
}

/// The sorted distinct labels of sparse rows, on the device (one word for
/// dense rows, which bind it unread).
fn keys_buffer(ctx: &GpuContext, rows: &Rows) -> Result<wgpu::Buffer> {
    let keys: &[u32] = match rows {
        Rows::Dense { .. } => &[],
        Rows::Sparse { keys } => keys,
    };
    check_table(ctx, "the distinct labels on the GPU", keys.len() as u64 * 4)?;
    let b = buffer(
        ctx,
        "gpix.label_mean.keys",
        keys.len() as u64 * 4,
        storage(),
    );
    write_padded(ctx.queue(), &b, bytemuck::cast_slice(keys));
    Ok(b)
}

/// A ring slot of a label-mean sweep: its parameters and uploaded inputs.
struct SweepSlot {
    params: wgpu::Buffer,
    inputs: Vec<wgpu::Buffer>,
    outputs: Vec<wgpu::Buffer>,
}

/// One sweep over the bands: `exponents` or `sums` (inputs: pixels,
/// labels; no per-band output), or `paint` (input: labels; output: the
/// recoloured band).
struct Sweep<'a, T> {
    image: Option<ImageView<'a, T>>,
    labels: &'a [u32],
    rows: &'a Rows,
    bands: &'a LabelBands,
    pipeline: Arc<wgpu::ComputePipeline>,
    /// (binding, buffer) shared by every band: keys, exps, totals, means.
    shared: Vec<(u32, wgpu::Buffer)>,
    /// Invocations per pixel: 1/STEPS for the sums kernels, `out_words` for paint.
    paint_row_bytes: Option<u64>,
}

impl<T: crate::array::Element> Sweep<'_, T> {
    fn labels_input(&self) -> usize {
        usize::from(self.image.is_some())
    }
    fn value_bytes(&self, band: usize) -> usize {
        self.image.map_or(0, |img| {
            self.bands.bands[band].len() * img.width() * img.channels() * std::mem::size_of::<T>()
        })
    }
    /// The labels buffer band `band` reads: the resident one or the slot's.
    fn labels_buffer<'b>(&'b self, band: usize, slot: &'b SweepSlot) -> &'b wgpu::Buffer {
        match (&self.bands.resident, self.bands.loaded) {
            (Some(r), true) => &r[band],
            _ => &slot.inputs[self.labels_input()],
        }
    }
}

impl<T: crate::array::Element> BandKernel for Sweep<'_, T> {
    type Slot = SweepSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<SweepSlot> {
        Ok(SweepSlot {
            params: buffer(
                ctx,
                "gpix.label_mean.params",
                std::mem::size_of::<Params>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            ),
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
        })
    }

    fn upload_len(&self, band: usize, input: usize) -> u64 {
        if input < self.labels_input() {
            if self.bands.pixels_loaded {
                0
            } else {
                self.value_bytes(band) as u64
            }
        } else if self.bands.upload() {
            self.bands.pixels(band).len() as u64 * 4
        } else {
            0
        }
    }

    fn fill(&self, band: usize, input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let src: &[u8] = if input < self.labels_input() {
            let Some(img) = self.image else { return };
            bytemuck::cast_slice(img.rows(self.bands.bands[band].clone()).data())
        } else {
            bytemuck::cast_slice(&self.labels[self.bands.pixels(band)])
        };
        par_write(dst, 1, |b0, buf| {
            let n = buf.len().min(src.len().saturating_sub(b0));
            buf[..n].copy_from_slice(&src[b0..b0 + n]);
        });
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &SweepSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let n_pixels = self.bands.pixels(band).len();
        let p = band_params(self.rows, n_pixels)?;
        ctx.queue()
            .write_buffer(&slot.params, 0, bytemuck::bytes_of(&p));
        let mut entries: Vec<(u32, &wgpu::Buffer)> =
            vec![(0, &slot.params), (2, self.labels_buffer(band, slot))];
        if self.image.is_some() {
            let pixels = match (&self.bands.pixels, self.bands.pixels_loaded) {
                (Some(p), true) => &p[band],
                _ => &slot.inputs[0],
            };
            entries.push((1, pixels));
        }
        entries.extend(self.shared.iter().map(|(b, buf)| (*b, buf)));
        let (invocations, regions) = match self.paint_row_bytes {
            Some(row) => {
                entries.push((7, &slot.outputs[0]));
                let bytes = self.bands.bands[band].len() as u64 * row;
                let region = Region {
                    output: 0,
                    offset: 0,
                    len: bytes.div_ceil(4) * 4,
                };
                (bytes.div_ceil(4), vec![region])
            }
            None => ((n_pixels as u64).div_ceil(STEPS), Vec::new()),
        };
        let group = bind_buffers(ctx, &self.pipeline, &entries);
        let (x, y) = dispatch_size(
            invocations.div_ceil(WORKGROUP),
            ctx.max_workgroups_per_dimension(),
        )?;
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(regions)
    }

    fn after_pass(&self, band: usize, slot: &SweepSlot, encoder: &mut wgpu::CommandEncoder) {
        if let (Some(pixels), false, true) = (
            &self.bands.pixels,
            self.bands.pixels_loaded,
            self.image.is_some(),
        ) {
            let bytes = self.value_bytes(band) as u64;
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(
                    &slot.inputs[0],
                    0,
                    &pixels[band],
                    0,
                    bytes.div_ceil(4) * 4,
                );
            }
        }
        // The first sweep keeps the labels it uploaded for the later ones.
        if let (Some(resident), false) = (&self.bands.resident, self.bands.loaded) {
            let bytes = self.bands.pixels(band).len() as u64 * 4;
            if bytes > 0 {
                let src = &slot.inputs[self.labels_input()];
                encoder.copy_buffer_to_buffer(src, 0, &resident[band], 0, bytes.div_ceil(4) * 4);
            }
        }
    }
}

impl<T: crate::array::Element> Sweep<'_, T> {
    /// Runs the sweep on the streamed path; `drain` gets paint bands.
    fn run(
        &self,
        ctx: &GpuContext,
        label: &str,
        drain: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let max_rows = self.bands.bands.iter().map(Range::len).max().unwrap_or(0) as u64;
        let width = self.bands.width as u64;
        let mut inputs = Vec::new();
        if let Some(img) = self.image {
            inputs.push(if self.bands.pixels_loaded {
                0
            } else {
                max_rows * width * img.channels() as u64 * std::mem::size_of::<T>() as u64
            });
        }
        inputs.push(if self.bands.upload() {
            max_rows * width * 4
        } else {
            0
        });
        let outputs = self
            .paint_row_bytes
            .map(|row| vec![max_rows * row])
            .unwrap_or_default();
        let spec = StreamSpec {
            label,
            bands: self.bands.bands.len(),
            inputs,
            outputs,
        };
        stream(ctx, &spec, self, drain)
    }
}

/// Per-row totals of `image` on the GPU: for floats an `exponents` sweep over
/// the bands first, then a `sums` sweep. Labels are uploaded by the first
/// sweep and kept on the device in `bands` when it allows.
pub(super) fn row_totals<T: LabelValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
    bands: &mut LabelBands,
) -> Result<RowTotals<T::Sum>> {
    ctx.checked("label-mean sums", || {
        row_totals_unchecked(ctx, image, labels, rows, bands)
    })
}

fn row_totals_unchecked<T: LabelValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
    bands: &mut LabelBands,
) -> Result<RowTotals<T::Sum>> {
    let channels = image.channels();
    let n_rows = rows.len();
    let floats = T::GPU_MODE >= 4;
    let total_words = n_rows * (channels + 1) * TOTAL_WORDS;
    let exp_words = if floats { n_rows * channels * 2 } else { 1 };
    check_table(ctx, "the label totals on the GPU", total_words as u64 * 4)?;
    check_table(ctx, "the label exponents on the GPU", exp_words as u64 * 4)?;
    let mut counts = vec![0u64; n_rows];
    let mut sums_out = vec![T::Sum::default(); n_rows * channels];
    if image.height() == 0 || image.width() == 0 {
        return Ok(RowTotals {
            counts,
            sums: sums_out,
        });
    }

    let keys = keys_buffer(ctx, rows)?;
    let copy = wgpu::BufferUsages::COPY_SRC;
    let totals = buffer(
        ctx,
        "gpix.label_mean.totals",
        total_words as u64 * 4,
        storage() | copy,
    );
    let exps = buffer(
        ctx,
        "gpix.label_mean.exps",
        exp_words as u64 * 4,
        storage() | copy,
    );
    // Freshly created buffers read as zero: the totals start empty.
    let entries = if floats {
        let row = (image.width() * channels * std::mem::size_of::<T>()) as u64;
        bands.keep_pixels(ctx, row);
        vec!["exponents", "sums"]
    } else {
        vec!["sums"]
    };
    for entry in entries {
        let mut shared = vec![(3, keys.clone()), (4, exps.clone())];
        if entry == "sums" {
            shared.push((5, totals.clone()));
        }
        let sweep = Sweep {
            image: Some(image),
            labels,
            rows,
            bands,
            pipeline: pipeline(ctx, entry, T::GPU_MODE, channels, 4)?,
            shared,
            paint_row_bytes: None,
        };
        sweep.run(ctx, "gpix.label_mean", |_, _| Ok(()))?;
        bands.loaded = bands.resident.is_some();
        bands.pixels_loaded = bands.pixels.is_some();
    }
    // The image is not needed on the device any more.
    bands.pixels = None;
    bands.pixels_loaded = false;

    let staging_bytes = (total_words + exp_words) as u64 * 4;
    let staging = buffer(
        ctx,
        "gpix.label_mean.readback",
        staging_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let done = submit_passes(ctx, "gpix.label_mean.totals", &[], |enc| {
        enc.copy_buffer_to_buffer(&totals, 0, &staging, 0, total_words as u64 * 4);
        enc.copy_buffer_to_buffer(
            &exps,
            0,
            &staging,
            total_words as u64 * 4,
            exp_words as u64 * 4,
        );
    });
    let mut raw = vec![0u32; total_words + exp_words];
    read_mapped(
        ctx,
        &staging,
        staging_bytes,
        done,
        bytemuck::cast_slice_mut(&mut raw),
    )?;
    let (raw_totals, raw_exps) = raw.split_at(total_words);
    let wide = |i: usize| -> i128 {
        let w = &raw_totals[i * TOTAL_WORDS..(i + 1) * TOTAL_WORDS];
        // Sign-extend the 96-bit two's-complement total.
        (i128::from(w[2] as i32) << 64) | (i128::from(w[1]) << 32) | i128::from(w[0])
    };
    // Fixed point back to values: 2^(E − bias − 61) per unit, E ≥ 1.
    let unit_exp = if T::GPU_MODE == 4 {
        127 + 61
    } else {
        1023 + 61
    };
    for r in 0..n_rows {
        let base = r * (channels + 1);
        counts[r] = wide(base) as u64;
        for c in 0..channels {
            let (scale, flags) = if floats {
                let e = raw_exps[(r * channels + c) * 2].max(1) as i32;
                (e - unit_exp, raw_exps[(r * channels + c) * 2 + 1])
            } else {
                (0, 0)
            };
            sums_out[r * channels + c] = T::Sum::from_gpu(wide(base + 1 + c), scale, flags);
        }
    }
    Ok(RowTotals {
        counts,
        sums: sums_out,
    })
}

/// `out[p] = means[row(labels[p])]` on the GPU, band by band, with the
/// labels the sums left on the device where they could.
pub(super) fn paint<O: bytemuck::Pod + Send>(
    ctx: &GpuContext,
    labels: &[u32],
    bands: &LabelBands,
    rows: &Rows,
    means: &[O],
    channels: usize,
    out: &mut [O],
) -> Result<()> {
    ctx.checked("label-mean recolour", || {
        paint_unchecked(ctx, labels, bands, rows, means, channels, out)
    })
}

fn paint_unchecked<O: bytemuck::Pod + Send>(
    ctx: &GpuContext,
    labels: &[u32],
    bands: &LabelBands,
    rows: &Rows,
    means: &[O],
    channels: usize,
    out: &mut [O],
) -> Result<()> {
    let width = bands.width;
    if labels.is_empty() || width == 0 {
        return Ok(());
    }
    let out_bytes = std::mem::size_of::<O>();
    // The kernel reads every mean as one u32 word (two for 8-byte types).
    let words: Vec<u32> = match out_bytes {
        1 => bytemuck::cast_slice::<O, u8>(means)
            .iter()
            .map(|&v| u32::from(v))
            .collect(),
        2 => bytemuck::cast_slice::<O, u16>(means)
            .iter()
            .map(|&v| u32::from(v))
            .collect(),
        _ => bytemuck::cast_slice::<O, u32>(means).to_vec(),
    };
    check_table(ctx, "the label means on the GPU", words.len() as u64 * 4)?;
    let means_buf = buffer(
        ctx,
        "gpix.label_mean.means",
        words.len() as u64 * 4,
        storage(),
    );
    write_padded(ctx.queue(), &means_buf, bytemuck::cast_slice(&words));
    let out_row = (width * channels * out_bytes) as u64;
    let sweep: Sweep<'_, u8> = Sweep {
        image: None,
        labels,
        rows,
        bands,
        pipeline: pipeline(ctx, "paint", 0, channels, out_bytes as u32)?,
        shared: vec![(3, keys_buffer(ctx, rows)?), (6, means_buf)],
        paint_row_bytes: Some(out_row),
    };
    let bytes_out: &mut [u8] = bytemuck::cast_slice_mut(out);
    crate::mem::prefault(bytes_out);
    sweep.run(ctx, "gpix.label_mean.paint", |band, bytes| {
        let r = &bands.bands[band];
        let dst = &mut bytes_out[r.start * out_row as usize..r.end * out_row as usize];
        let n = dst.len();
        par_read(&bytes[..n], 1, dst, 1, |s, d| d.copy_from_slice(s));
        Ok(())
    })
}
