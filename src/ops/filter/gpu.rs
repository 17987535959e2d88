//! GPU host code for `shaders/filter.wgsl`: bands of output rows with their
//! halo rows gathered by the boundary mode, two passes per band, readback.

use std::ops::Range;
use std::sync::Arc;

use super::{boundary_index, BoundaryMode, FilterInfo, FilterValue, StatsOut};
use crate::array::ImageView;
use crate::bands::rows_per_band;
use crate::error::{Error, Result};
use crate::gpu::{dispatch_size, read_mapped, GpuContext};

/// `boundary.wgsl` supplies `boundary_index`.
const SHADER: &str = concat!(
    include_str!("../../../shaders/boundary.wgsl"),
    include_str!("../../../shaders/filter.wgsl")
);
const ROWS_WG: u64 = 256;
const TILE: u64 = 16;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    w: u32,
    c: u32,
    rows_in: u32,
    rows_out: u32,
    nx: u32,
    ny: u32,
    mode: u32,
    groups_x: u32,
    cval: f32,
    shift: f32,
    inv_n: f32,
    _pad: u32,
}

fn pipeline(ctx: &GpuContext, entry: &str, features: u32) -> Result<Arc<wgpu::ComputePipeline>> {
    ctx.pipeline(
        &format!("gpix.filter.{entry}.f{features}"),
        SHADER,
        entry,
        &[("FEATURES", f64::from(features))],
    )
}

fn buffer(ctx: &GpuContext, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.div_ceil(4).max(1) * 4,
        usage,
        mapped_at_creation: false,
    })
}

fn method<T: FilterValue>(what: &str) -> String {
    if T::IS_F64 {
        format!("{what} on the GPU in f32 (float64 input: results within the float32 bound)")
    } else {
        format!("{what} on the GPU (f32)")
    }
}

/// Box filter on the GPU.
pub(super) fn uniform<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
    out: &mut [T],
) -> Result<FilterInfo> {
    let n = image.data().len();
    ctx.checked("uniform filter", || {
        run_box(ctx, image, size, mode, 1, 0.0, |rows, values| {
            let row_len = image.width() * image.channels();
            let dst = &mut out[rows.start * row_len..rows.end * row_len];
            for (d, &v) in dst.iter_mut().zip(values) {
                *d = T::from_f64(f64::from(v));
            }
        })
    })?;
    debug_assert_eq!(out.len(), n);
    Ok(FilterInfo {
        method: method::<T>("two separable box passes"),
    })
}

/// Local mean / variance / std on the GPU.
pub(super) fn stats<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
    shift: f64,
    mut out: StatsOut<'_, T>,
) -> Result<FilterInfo> {
    let row_len = image.width() * image.channels();
    ctx.checked("local statistics", || {
        run_box(ctx, image, size, mode, 2, shift, |rows, values| {
            let band = rows.len() * row_len;
            let outs = [
                out.mean.as_deref_mut(),
                out.var.as_deref_mut(),
                out.std.as_deref_mut(),
            ];
            for (k, dst) in outs.into_iter().enumerate() {
                if let Some(dst) = dst {
                    let dst = &mut dst[rows.start * row_len..rows.end * row_len];
                    for (d, &v) in dst.iter_mut().zip(&values[k * band..(k + 1) * band]) {
                        *d = T::from_f64(f64::from(v));
                    }
                }
            }
        })
    })?;
    Ok(FilterInfo {
        method: method::<T>("two separable passes of shifted sums"),
    })
}

/// Runs both passes band by band; `sink(rows, values)` receives each band's
/// outputs (`1` or `3` arrays of `rows × w × c` values, one after another).
fn run_box<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    mode: BoundaryMode,
    features: u32,
    shift: f64,
    mut sink: impl FnMut(Range<usize>, &[f32]),
) -> Result<()> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w * c == 0 {
        return Ok(());
    }
    let limit = 1 << 20;
    if nx > limit || ny > limit {
        return Err(Error::too_large(
            "a GPU filter window side",
            nx.max(ny) as u64,
            limit as u64,
        ));
    }
    let n_out: usize = if features == 1 { 1 } else { 3 };
    let row = (w * c * 4) as u64;
    let budget = ctx.band_bytes();
    let in_rows = rows_per_band(&[row, row * u64::from(features)], budget)?;
    let out_rows = rows_per_band(&[row * n_out as u64], budget)?;
    if in_rows < ny {
        return Err(Error::too_large(
            "a GPU band with its halo rows",
            ny as u64 * row * u64::from(features),
            budget,
        ));
    }
    let band_rows = (in_rows - (ny - 1)).min(out_rows).min(h);
    let max_in = band_rows + ny - 1;

    let storage = wgpu::BufferUsages::STORAGE;
    let src = buffer(
        ctx,
        "gpix.filter.src",
        max_in as u64 * row,
        storage | wgpu::BufferUsages::COPY_DST,
    );
    let xs = buffer(
        ctx,
        "gpix.filter.xs",
        max_in as u64 * row * u64::from(features),
        storage,
    );
    let out_bytes = band_rows as u64 * row * n_out as u64;
    let out = buffer(
        ctx,
        "gpix.filter.out",
        out_bytes,
        storage | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = buffer(
        ctx,
        "gpix.filter.readback",
        out_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
    let rows_params = buffer(ctx, "gpix.filter.params.rows", 48, uniform);
    let cols_params = buffer(ctx, "gpix.filter.params.cols", 48, uniform);
    let rows_p = pipeline(ctx, "rows", features)?;
    let cols_p = pipeline(ctx, "cols", features)?;
    let bind =
        |p: &wgpu::ComputePipeline, params: &wgpu::Buffer, entries: &[(u32, &wgpu::Buffer)]| {
            let mut all = vec![(0u32, params)];
            all.extend_from_slice(entries);
            let entries: Vec<wgpu::BindGroupEntry<'_>> = all
                .iter()
                .map(|&(binding, b)| wgpu::BindGroupEntry {
                    binding,
                    resource: b.as_entire_binding(),
                })
                .collect();
            ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("gpix.filter.bind"),
                layout: &p.get_bind_group_layout(0),
                entries: &entries,
            })
        };
    let rows_group = bind(&rows_p, &rows_params, &[(1, &src), (2, &xs)]);
    let cols_group = bind(&cols_p, &cols_params, &[(2, &xs), (3, &out)]);

    let mut gathered: Vec<f32> = Vec::with_capacity(max_in * w * c);
    let mut values = vec![0f32; band_rows * w * c * n_out];
    let max_dim = ctx.max_workgroups_per_dimension();
    for r0 in (0..h).step_by(band_rows) {
        let r1 = (r0 + band_rows).min(h);
        let rows_in = r1 - r0 + ny - 1;
        gather_rows(image, r0, rows_in, ny / 2, mode, &mut gathered);
        ctx.queue()
            .write_buffer(&src, 0, bytemuck::cast_slice(&gathered));
        let base = Params {
            w: w as u32,
            c: c as u32,
            rows_in: rows_in as u32,
            rows_out: (r1 - r0) as u32,
            nx: nx as u32,
            ny: ny as u32,
            mode: mode.code(),
            groups_x: 0,
            cval: mode.cval() as f32,
            shift: shift as f32,
            inv_n: (1.0 / (nx as f64 * ny as f64)) as f32,
            _pad: 0,
        };
        let gx_rows = (w as u64).div_ceil(ROWS_WG);
        let gx_cols = (w as u64).div_ceil(TILE);
        let rows_params_v = Params {
            groups_x: gx_rows as u32,
            ..base
        };
        let cols_params_v = Params {
            groups_x: gx_cols as u32,
            ..base
        };
        ctx.queue()
            .write_buffer(&rows_params, 0, bytemuck::bytes_of(&rows_params_v));
        ctx.queue()
            .write_buffer(&cols_params, 0, bytemuck::bytes_of(&cols_params_v));
        let rows_size = dispatch_size(gx_rows * rows_in as u64 * c as u64, max_dim)?;
        let cols_size = dispatch_size(
            gx_cols * ((r1 - r0) as u64).div_ceil(TILE) * c as u64,
            max_dim,
        )?;
        let mut encoder = ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("gpix.filter"),
            });
        for (p, g, (x, y)) in [
            (&rows_p, &rows_group, rows_size),
            (&cols_p, &cols_group, cols_size),
        ] {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("gpix.filter"),
                timestamp_writes: None,
            });
            pass.set_pipeline(p);
            pass.set_bind_group(0, g, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        let n_values = (r1 - r0) * w * c * n_out;
        let bytes = n_values as u64 * 4;
        encoder.copy_buffer_to_buffer(&out, 0, &staging, 0, bytes);
        let done = ctx.queue().submit([encoder.finish()]);
        let dst = &mut values[..n_values];
        read_mapped(ctx, &staging, bytes, done, bytemuck::cast_slice_mut(dst))?;
        sink(r0..r1, dst);
    }
    Ok(())
}

/// The `rows_in` input rows the band starting at output row `r0` reads
/// (from `r0 − top`), resolved by the mode along y, as f32.
fn gather_rows<T: FilterValue>(
    image: ImageView<'_, T>,
    r0: usize,
    rows_in: usize,
    top: usize,
    mode: BoundaryMode,
    out: &mut Vec<f32>,
) {
    let row_len = image.width() * image.channels();
    out.clear();
    for t in 0..rows_in {
        match boundary_index(r0 as i64 - top as i64 + t as i64, image.height(), mode) {
            Some(y) => out.extend(
                image.data()[y * row_len..(y + 1) * row_len]
                    .iter()
                    .map(|v| v.to_f64() as f32),
            ),
            None => out.extend(std::iter::repeat_n(mode.cval() as f32, row_len)),
        }
    }
}
