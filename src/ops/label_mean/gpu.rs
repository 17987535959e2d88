//! GPU host code for `shaders/label_mean.wgsl`: row tables, bands, readback.

use std::ops::Range;
use std::sync::Arc;

use super::{LabelValue, RowTotals, Rows, SumValue};
use crate::array::ImageView;
use crate::bands::plan_bands;
use crate::error::{Error, Result};
use crate::gpu::{
    bind_buffers, buffer, dispatch_size, read_mapped, submit_passes, write_padded, GpuContext,
};
use crate::ops::label_sums::LabelSums;

const SHADER: &str = concat!(
    include_str!("../../../shaders/common.wgsl"),
    include_str!("../../../shaders/label_mean.wgsl")
);
const WORKGROUP: u64 = 256;
/// Pixels per invocation of the `exponents` and `sums` kernels.
const RUN: u64 = 32;
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

/// Buffers shared by the kernels of one call.
struct Tables {
    params: wgpu::Buffer,
    labels: wgpu::Buffer,
    keys: wgpu::Buffer,
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

fn kernel(
    ctx: &GpuContext,
    entry: &str,
    mode: u32,
    channels: usize,
    labels_per_word: u32,
    out_bytes: u32,
) -> Result<Arc<wgpu::ComputePipeline>> {
    let name = format!("gpix.label_mean.{entry}.m{mode}c{channels}l{labels_per_word}o{out_bytes}");
    ctx.pipeline(
        &name,
        SHADER,
        entry,
        &[
            ("MODE", f64::from(mode)),
            ("CHANNELS", channels as f64),
            ("LABELS_PER_WORD", f64::from(labels_per_word)),
            ("OUT_BYTES", f64::from(out_bytes)),
        ],
    )
}

/// The `sums` kernel for k-means: integer values (mode 0 u8, 1 u16) and
/// packed cluster indices as labels (4 u8 or 2 u16 per word), rows = clusters.
/// Bind params ([`dense_params`]), pixels, labels, keys (any buffer), exps
/// (any buffer) and totals ([`TOTAL_WORDS`] words per count and channel
/// sum of each cluster) at bindings 0..=5.
pub(crate) fn cluster_sums_pipeline(
    ctx: &GpuContext,
    mode: u32,
    channels: usize,
    labels_per_word: u32,
) -> Result<Arc<wgpu::ComputePipeline>> {
    kernel(ctx, "sums", mode, channels, labels_per_word, 4)
}

/// The uniform block for `n_pixels` pixels whose labels are rows `0..rows`.
pub(crate) fn dense_params(n_pixels: u32, rows: u32) -> [u32; 4] {
    [n_pixels, rows, 0, 0]
}

/// Totals read back from the `sums` kernel, `rows × (channels + 1)` of them
/// (count first), as integers.
pub(crate) fn integer_totals(raw: &[u32], rows: usize, channels: usize) -> LabelSums {
    let mut out = LabelSums::zeros(rows, channels);
    let wide = |i: usize| -> u64 {
        let w = &raw[i * TOTAL_WORDS..(i + 1) * TOTAL_WORDS];
        // Non-negative totals below 2^64 (pixel counts and unsigned sums).
        u64::from(w[0]) | (u64::from(w[1]) << 32)
    };
    for r in 0..rows {
        let base = r * (channels + 1);
        out.counts[r] = wide(base);
        for c in 0..channels {
            out.sums[r * channels + c] = wide(base + 1 + c);
        }
    }
    out
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

impl Tables {
    fn new(ctx: &GpuContext, rows: &Rows, band_pixels: usize) -> Result<Self> {
        let (offset, keys): (u32, &[u32]) = match rows {
            Rows::Dense { offset, .. } => (*offset, &[]),
            Rows::Sparse { keys } => (0, keys),
        };
        check_table(ctx, "the distinct labels on the GPU", keys.len() as u64 * 4)?;
        let keys_buf = buffer(
            ctx,
            "gpix.label_mean.keys",
            keys.len() as u64 * 4,
            storage(),
        );
        write_padded(ctx.queue(), &keys_buf, bytemuck::cast_slice(keys));
        Ok(Self {
            params: buffer(
                ctx,
                "gpix.label_mean.params",
                std::mem::size_of::<Params>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            ),
            labels: buffer(
                ctx,
                "gpix.label_mean.labels",
                band_pixels as u64 * 4,
                storage(),
            ),
            keys: keys_buf,
            n_rows: u32_of(rows.len(), "label rows")?,
            offset,
            n_keys: u32_of(keys.len(), "distinct labels")?,
        })
    }

    /// Uploads one band's labels and parameters.
    fn load_band(&self, ctx: &GpuContext, labels: &[u32]) -> Result<()> {
        let p = Params {
            n_pixels: u32_of(labels.len(), "pixels in a band")?,
            n_rows: self.n_rows,
            offset: self.offset,
            n_keys: self.n_keys,
        };
        ctx.queue()
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        write_padded(ctx.queue(), &self.labels, bytemuck::cast_slice(labels));
        Ok(())
    }
}

fn dispatch(
    ctx: &GpuContext,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    invocations: u64,
    extra: impl FnOnce(&mut wgpu::CommandEncoder),
) -> Result<wgpu::SubmissionIndex> {
    let (x, y) = dispatch_size(
        invocations.div_ceil(WORKGROUP),
        ctx.max_workgroups_per_dimension(),
    )?;
    Ok(submit_passes(
        ctx,
        "gpix.label_mean",
        &[(pipeline, group, (x, y))],
        extra,
    ))
}

/// Per-row totals of `image` on the GPU: for floats an `exponents` sweep over
/// the bands first, then a `sums` sweep; each band is one submission.
pub(super) fn row_totals<T: LabelValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
) -> Result<RowTotals<T::Sum>> {
    ctx.checked("label-mean sums", || {
        row_totals_unchecked(ctx, image, labels, rows)
    })
}

fn row_totals_unchecked<T: LabelValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
) -> Result<RowTotals<T::Sum>> {
    let channels = image.channels();
    let width = image.width();
    let n_rows = rows.len();
    let floats = T::GPU_MODE >= 4;
    let value_row = (width * channels * std::mem::size_of::<T>()) as u64;
    let bands = plan_bands(
        image.height(),
        &[value_row, width as u64 * 4],
        ctx.band_bytes(),
    )?;
    let band_rows = bands.iter().map(Range::len).max().unwrap_or(0);
    let total_words = n_rows * (channels + 1) * TOTAL_WORDS;
    let exp_words = if floats { n_rows * channels * 2 } else { 1 };
    check_table(ctx, "the label totals on the GPU", total_words as u64 * 4)?;
    check_table(ctx, "the label exponents on the GPU", exp_words as u64 * 4)?;

    let tables = Tables::new(ctx, rows, band_rows * width)?;
    let pixels = buffer(
        ctx,
        "gpix.label_mean.pixels",
        band_rows as u64 * value_row,
        storage(),
    );
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
    let staging_bytes = (total_words + exp_words) as u64 * 4;
    let staging = buffer(
        ctx,
        "gpix.label_mean.readback",
        staging_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );

    let sums = pipeline(ctx, "sums", T::GPU_MODE, channels, 4)?;
    let sums_group = bind_buffers(
        ctx,
        &sums,
        &[
            (0, &tables.params),
            (1, &pixels),
            (2, &tables.labels),
            (3, &tables.keys),
            (4, &exps),
            (5, &totals),
        ],
    );
    let exps_pass = if floats {
        let p = pipeline(ctx, "exponents", T::GPU_MODE, channels, 4)?;
        let g = bind_buffers(
            ctx,
            &p,
            &[
                (0, &tables.params),
                (1, &pixels),
                (2, &tables.labels),
                (3, &tables.keys),
                (4, &exps),
            ],
        );
        Some((p, g))
    } else {
        None
    };

    let load = |band: &Range<usize>| -> Result<u64> {
        let pixels_of = band.start * width..band.end * width;
        tables.load_band(ctx, &labels[pixels_of])?;
        write_padded(
            ctx.queue(),
            &pixels,
            bytemuck::cast_slice(image.rows(band.clone()).data()),
        );
        Ok((band.len() * width) as u64)
    };
    let single = bands.len() == 1;
    if let Some((p, g)) = &exps_pass {
        for band in &bands {
            let n = load(band)?;
            dispatch(ctx, p, g, n.div_ceil(RUN), |_| {})?;
        }
    }
    let mut last = None;
    for (i, band) in bands.iter().enumerate() {
        // One float band is still resident from the exponents sweep.
        let n = if single && floats {
            (band.len() * width) as u64
        } else {
            load(band)?
        };
        let final_band = i + 1 == bands.len();
        last = Some(dispatch(ctx, &sums, &sums_group, n.div_ceil(RUN), |enc| {
            if final_band {
                enc.copy_buffer_to_buffer(&totals, 0, &staging, 0, total_words as u64 * 4);
                enc.copy_buffer_to_buffer(
                    &exps,
                    0,
                    &staging,
                    total_words as u64 * 4,
                    exp_words as u64 * 4,
                );
            }
        })?);
    }
    let mut counts = vec![0u64; n_rows];
    let mut sums_out = vec![T::Sum::default(); n_rows * channels];
    let Some(last) = last else {
        return Ok(RowTotals {
            counts,
            sums: sums_out,
        });
    };
    let mut raw = vec![0u32; total_words + exp_words];
    read_mapped(
        ctx,
        &staging,
        staging_bytes,
        last,
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

/// `out[p] = means[row(labels[p])]` on the GPU, band by band.
pub(super) fn paint<O: bytemuck::Pod>(
    ctx: &GpuContext,
    labels: &[u32],
    width: usize,
    rows: &Rows,
    means: &[O],
    channels: usize,
    out: &mut [O],
) -> Result<()> {
    ctx.checked("label-mean recolour", || {
        paint_unchecked(ctx, labels, width, rows, means, channels, out)
    })
}

fn paint_unchecked<O: bytemuck::Pod>(
    ctx: &GpuContext,
    labels: &[u32],
    width: usize,
    rows: &Rows,
    means: &[O],
    channels: usize,
    out: &mut [O],
) -> Result<()> {
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
    let height = labels.len() / width;
    let out_row = (width * channels * out_bytes) as u64;
    let bands = plan_bands(height, &[out_row, width as u64 * 4], ctx.band_bytes())?;
    let band_rows = bands.iter().map(Range::len).max().unwrap_or(0);

    let tables = Tables::new(ctx, rows, band_rows * width)?;
    let means_buf = buffer(
        ctx,
        "gpix.label_mean.means",
        words.len() as u64 * 4,
        storage(),
    );
    write_padded(ctx.queue(), &means_buf, bytemuck::cast_slice(&words));
    let band_bytes = band_rows as u64 * out_row;
    let result = buffer(
        ctx,
        "gpix.label_mean.out",
        band_bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = buffer(
        ctx,
        "gpix.label_mean.out.readback",
        band_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let p = pipeline(ctx, "paint", 0, channels, out_bytes as u32)?;
    let group = bind_buffers(
        ctx,
        &p,
        &[
            (0, &tables.params),
            (2, &tables.labels),
            (3, &tables.keys),
            (6, &means_buf),
            (7, &result),
        ],
    );
    let bytes_out: &mut [u8] = bytemuck::cast_slice_mut(out);
    for band in &bands {
        tables.load_band(ctx, &labels[band.start * width..band.end * width])?;
        let bytes = band.len() as u64 * out_row;
        let n_words = bytes.div_ceil(4);
        let padded = n_words * 4;
        let done = dispatch(ctx, &p, &group, n_words, |enc| {
            enc.copy_buffer_to_buffer(&result, 0, &staging, 0, padded);
        })?;
        let dst = &mut bytes_out[band.start * out_row as usize..band.end * out_row as usize];
        read_mapped(ctx, &staging, padded, done, dst)?;
    }
    Ok(())
}
