//! GPU host code for `shaders/filter.wgsl`: bands of output rows with their
//! halo rows gathered by the boundary mode, the passes of a job per band,
//! readback.

use std::ops::Range;
use std::sync::Arc;

use super::correlate::{Method, Plan};
use super::{boundary_index, BoundaryMode, FilterInfo, FilterValue, StatsOut};
use crate::array::ImageView;
use crate::bands::rows_per_band;
use crate::error::{Error, Result};
use crate::gpu::{
    bind_buffers, buffer, dispatch_size, read_mapped, submit_passes, GpuContext, Pass,
};

/// `boundary.wgsl` supplies `boundary_index`.
const SHADER: &str = concat!(
    include_str!("../../../shaders/boundary.wgsl"),
    include_str!("../../../shaders/filter.wgsl")
);
const ROWS_WG: u64 = 256;
const TILE: u64 = 16;
/// Kernel sides over this would make one invocation loop too long
/// (llvmpipe stops loops at 65535 iterations).
const MAX_SIDE: usize = 4096;

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
    left: u32,
}

/// What the passes of one band compute.
enum Job<'a> {
    /// Box sums of 1 feature (mean) or 2 (mean, var, std).
    Box { features: u32, shift: f64 },
    /// Separable terms `wy ⊗ wx`.
    Separable(&'a [(Vec<f64>, Vec<f64>)]),
    /// Every tap.
    Direct(&'a [f64]),
}

fn pipeline(
    ctx: &GpuContext,
    entry: &str,
    features: u32,
    weighted: bool,
    accumulate: bool,
) -> Result<Arc<wgpu::ComputePipeline>> {
    ctx.pipeline(
        &format!(
            "gpix.filter.{entry}.f{features}w{}a{}",
            u8::from(weighted),
            u8::from(accumulate)
        ),
        SHADER,
        entry,
        &[
            ("FEATURES", f64::from(features)),
            ("WEIGHTED", f64::from(u8::from(weighted))),
            ("ACCUMULATE", f64::from(u8::from(accumulate))),
        ],
    )
}

fn weights(ctx: &GpuContext, w: &[f64]) -> wgpu::Buffer {
    let data: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let b = buffer(
        ctx,
        "gpix.filter.weights",
        data.len() as u64 * 4,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    ctx.queue().write_buffer(&b, 0, bytemuck::cast_slice(&data));
    b
}

fn method<T: FilterValue>(what: &str) -> String {
    if T::IS_F64 {
        format!("{what} on the GPU in f32 (float64 input: results within the float32 bound)")
    } else {
        format!("{what} on the GPU (f32)")
    }
}

fn to_out<T: FilterValue>(dst: &mut [T], values: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(values) {
        *d = T::from_f64(f64::from(v));
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
    let row_len = image.width() * image.channels();
    let job = Job::Box {
        features: 1,
        shift: 0.0,
    };
    let center = [size[0] / 2, size[1] / 2];
    ctx.checked("uniform filter", || {
        run(ctx, image, size, center, mode, &job, |rows, values| {
            to_out(&mut out[rows.start * row_len..rows.end * row_len], values);
        })
    })?;
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
    let job = Job::Box { features: 2, shift };
    let center = [size[0] / 2, size[1] / 2];
    ctx.checked("local statistics", || {
        run(ctx, image, size, center, mode, &job, |rows, values| {
            let band = rows.len() * row_len;
            let outs = [
                out.mean.as_deref_mut(),
                out.var.as_deref_mut(),
                out.std.as_deref_mut(),
            ];
            for (k, dst) in outs.into_iter().enumerate() {
                if let Some(dst) = dst {
                    let dst = &mut dst[rows.start * row_len..rows.end * row_len];
                    to_out(dst, &values[k * band..(k + 1) * band]);
                }
            }
        })
    })?;
    Ok(FilterInfo {
        method: method::<T>("two separable passes of shifted sums"),
    })
}

/// A correlation plan on the GPU.
pub(super) fn correlate<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    plan: &Plan,
    mode: BoundaryMode,
    out: &mut [T],
) -> Result<FilterInfo> {
    let row_len = image.width() * image.channels();
    let job = match &plan.method {
        Method::Separable(terms) => Job::Separable(terms),
        // The GPU has no FFT path: large kernels run the direct tiles.
        Method::Direct(k) | Method::Fft(k) => Job::Direct(k.weights()),
    };
    ctx.checked("correlation", || {
        run(
            ctx,
            image,
            [plan.ky, plan.kx],
            plan.center,
            mode,
            &job,
            |rows, values| {
                to_out(&mut out[rows.start * row_len..rows.end * row_len], values);
            },
        )
    })?;
    let what = match &plan.method {
        Method::Fft(_) => format!(
            "direct {}x{} correlation (no FFT on the GPU)",
            plan.ky, plan.kx
        ),
        _ => plan.describe(),
    };
    Ok(FilterInfo {
        method: method::<T>(&what),
    })
}

/// Runs `job` band by band; `sink(rows, values)` receives each band's
/// outputs (1 or 3 arrays of `rows × w × c` values, one after another).
#[allow(clippy::too_many_lines)]
fn run<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    [ky, kx]: [usize; 2],
    [top, left]: [usize; 2],
    mode: BoundaryMode,
    job: &Job<'_>,
    mut sink: impl FnMut(Range<usize>, &[f32]),
) -> Result<()> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w * c == 0 {
        return Ok(());
    }
    if kx > MAX_SIDE || ky > MAX_SIDE {
        return Err(Error::too_large(
            "a GPU filter window side",
            kx.max(ky) as u64,
            MAX_SIDE as u64,
        ));
    }
    let (features, n_out) = match job {
        Job::Box { features: 2, .. } => (2u32, 3usize),
        _ => (1, 1),
    };
    let row = (w * c * 4) as u64;
    let budget = ctx.band_bytes();
    let in_rows = rows_per_band(&[row, row * u64::from(features)], budget)?;
    let out_rows = rows_per_band(&[row * n_out as u64], budget)?;
    if in_rows < ky {
        return Err(Error::too_large(
            "a GPU band with its halo rows",
            ky as u64 * row * u64::from(features),
            budget,
        ));
    }
    let band_rows = (in_rows - (ky - 1)).min(out_rows).min(h);
    let max_in = band_rows + ky - 1;

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
    let bind =
        |p: &wgpu::ComputePipeline, entries: &[(u32, &wgpu::Buffer)]| bind_buffers(ctx, p, entries);
    // The dispatches of a band: (pipeline, bind group, uses the cols grid).
    let mut passes: Vec<(Arc<wgpu::ComputePipeline>, wgpu::BindGroup, bool)> = Vec::new();
    match job {
        Job::Box { features, .. } => {
            let r = pipeline(ctx, "rows", *features, false, false)?;
            let cl = pipeline(ctx, "cols", *features, false, false)?;
            // The passes name the weight buffers even when unweighted.
            let one = weights(ctx, &[1.0]);
            let rg = bind(&r, &[(0, &rows_params), (1, &src), (2, &xs), (4, &one)]);
            let cg = bind(&cl, &[(0, &cols_params), (2, &xs), (3, &out), (5, &one)]);
            passes.push((r, rg, false));
            passes.push((cl, cg, true));
        }
        Job::Separable(terms) => {
            for (n, (wy, wx)) in terms.iter().enumerate() {
                let (wyb, wxb) = (weights(ctx, wy), weights(ctx, wx));
                let r = pipeline(ctx, "rows", 1, true, false)?;
                let cl = pipeline(ctx, "cols", 1, true, n > 0)?;
                let rg = bind(&r, &[(0, &rows_params), (1, &src), (2, &xs), (4, &wxb)]);
                let cg = bind(&cl, &[(0, &cols_params), (2, &xs), (3, &out), (5, &wyb)]);
                passes.push((r, rg, false));
                passes.push((cl, cg, true));
            }
        }
        Job::Direct(w2d) => {
            let wb = weights(ctx, w2d);
            let d = pipeline(ctx, "direct", 1, true, false)?;
            let dg = bind(&d, &[(0, &cols_params), (1, &src), (3, &out), (6, &wb)]);
            passes.push((d, dg, true));
        }
    }
    let (shift, inv_n) = match job {
        Job::Box { shift, .. } => (*shift, 1.0 / (kx as f64 * ky as f64)),
        _ => (0.0, 1.0),
    };

    let mut gathered: Vec<f32> = Vec::with_capacity(max_in * w * c);
    let mut values = vec![0f32; band_rows * w * c * n_out];
    let max_dim = ctx.max_workgroups_per_dimension();
    for r0 in (0..h).step_by(band_rows) {
        let r1 = (r0 + band_rows).min(h);
        let rows_in = r1 - r0 + ky - 1;
        gather_rows(image, r0, rows_in, top, mode, &mut gathered);
        ctx.queue()
            .write_buffer(&src, 0, bytemuck::cast_slice(&gathered));
        let gx_rows = (w as u64).div_ceil(ROWS_WG);
        let gx_cols = (w as u64).div_ceil(TILE);
        let base = Params {
            w: w as u32,
            c: c as u32,
            rows_in: rows_in as u32,
            rows_out: (r1 - r0) as u32,
            nx: kx as u32,
            ny: ky as u32,
            mode: mode.code(),
            groups_x: gx_rows as u32,
            cval: mode.cval() as f32,
            shift: shift as f32,
            inv_n: inv_n as f32,
            left: left as u32,
        };
        let cols_v = Params {
            groups_x: gx_cols as u32,
            ..base
        };
        ctx.queue()
            .write_buffer(&rows_params, 0, bytemuck::bytes_of(&base));
        ctx.queue()
            .write_buffer(&cols_params, 0, bytemuck::bytes_of(&cols_v));
        let rows_size = dispatch_size(gx_rows * rows_in as u64 * c as u64, max_dim)?;
        let cols_size = dispatch_size(
            gx_cols * ((r1 - r0) as u64).div_ceil(TILE) * c as u64,
            max_dim,
        )?;
        let dispatches: Vec<Pass<'_>> = passes
            .iter()
            .map(|(p, g, cols_grid)| (&**p, g, if *cols_grid { cols_size } else { rows_size }))
            .collect();
        let n_values = (r1 - r0) * w * c * n_out;
        let bytes = n_values as u64 * 4;
        let done = submit_passes(ctx, "gpix.filter", &dispatches, |enc| {
            enc.copy_buffer_to_buffer(&out, 0, &staging, 0, bytes);
        });
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
