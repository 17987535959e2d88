//! GPU host code for `shaders/filter.wgsl`: bands of output rows with their
//! halo rows gathered by the boundary mode, the passes of a job per band,
//! readback.

use std::ops::Range;
use std::sync::Arc;

use super::correlate::{Method, Plan};
use super::{boundary_index, BoundaryMode, FilterInfo, FilterValue, StatsOut};
use crate::array::ImageView;
use crate::bands::{split_rows, stream_rows};
use crate::error::{Error, Result};
use crate::gpu::stream::{par_read, par_write, stream, BandKernel, Region, StreamSpec};
use crate::gpu::{bind_buffers, buffer, dispatch_size, GpuContext};

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
    /// 0: the shader's `opaque` XORs with it so no compiler can fold the
    /// compensated sums' steps.
    zero: u32,
    /// The rank a `rank` pass keeps (0: the smallest).
    rank: u32,
    pad: [u32; 2],
}

/// What the passes of one band compute.
enum Job<'a> {
    /// Box sums of 1 feature (mean) or 2 (mean, var, std).
    Box { features: u32, shift: f64 },
    /// Separable terms `wy ⊗ wx`.
    Separable(&'a [(Vec<f64>, Vec<f64>)]),
    /// Every tap.
    Direct(&'a [f64]),
    /// Window minima or maxima of the values.
    Extremum(super::Extremum),
    /// The window value of this rank (0: the smallest), over the window's
    /// positions whose flag (1 or 0, row-major) is not 0 when given.
    Rank(u32, Option<&'a [f64]>),
}

/// The shader's `REDUCE`: window sums.
const SUM: u32 = 0;

fn pipeline(
    ctx: &GpuContext,
    entry: &str,
    features: u32,
    weighted: bool,
    accumulate: bool,
) -> Result<Arc<wgpu::ComputePipeline>> {
    reduce_pipeline(ctx, entry, (features, weighted, accumulate), SUM)
}

/// A pass whose windows reduce by `reduce` (0 sum, 1 minimum, 2 maximum).
fn reduce_pipeline(
    ctx: &GpuContext,
    entry: &str,
    (features, weighted, accumulate): (u32, bool, bool),
    reduce: u32,
) -> Result<Arc<wgpu::ComputePipeline>> {
    let compensate = ctx.compensated_sums();
    ctx.pipeline(
        &format!(
            "gpix.filter.{entry}.f{features}w{}a{}k{}r{reduce}",
            u8::from(weighted),
            u8::from(accumulate),
            u8::from(compensate)
        ),
        SHADER,
        entry,
        &[
            ("FEATURES", f64::from(features)),
            ("WEIGHTED", f64::from(u8::from(weighted))),
            ("ACCUMULATE", f64::from(u8::from(accumulate))),
            ("COMPENSATE", f64::from(u8::from(compensate))),
            ("REDUCE", f64::from(reduce)),
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

/// Read-back f32 bytes into `dst` (converted to `T`), on every core.
pub(crate) fn to_out<T: FilterValue>(dst: &mut [T], bytes: &[u8]) {
    par_read(bytes, 4, dst, 1, |src, dst| {
        let src: &[f32] = bytemuck::cast_slice(src);
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = T::from_f64(f64::from(v));
        }
    });
}

/// `src` values as f32 into `dst`.
pub(crate) fn write_f32<T: FilterValue>(src: &[T], dst: &mut [f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v.to_f64() as f32;
    }
}

/// Box filter on the GPU.
pub(super) fn uniform<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    size: [usize; 2],
    (center, modes): ([usize; 2], [BoundaryMode; 2]),
    out: &mut [T],
) -> Result<FilterInfo> {
    let job = Job::Box {
        features: 1,
        shift: 0.0,
    };
    run_one(
        "uniform filter",
        ctx,
        image,
        (size, center, modes),
        &job,
        out,
    )?;
    Ok(FilterInfo {
        method: method::<T>("two separable box passes"),
    })
}

/// Runs a one-output `job` under `ctx.checked(what)`, each band's rows
/// read back into `out`.
fn run_one<T: FilterValue>(
    what: &str,
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    (size, center, modes): ([usize; 2], [usize; 2], [BoundaryMode; 2]),
    job: &Job<'_>,
    out: &mut [T],
) -> Result<()> {
    let row_len = image.width() * image.channels();
    crate::mem::prefault(out);
    ctx.checked(what, || {
        run(
            ctx,
            image,
            size,
            center,
            modes,
            job,
            &[true],
            |rows, bytes| {
                to_out(&mut out[rows.start * row_len..rows.end * row_len], bytes);
            },
        )
    })
}

/// Minimum or maximum filter on the GPU: exact (each output is one of
/// the f32-rounded inputs, and rounding keeps order).
pub(super) fn extremum<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    kind: super::Extremum,
    window: &super::Footprint,
    (center, modes): ([usize; 2], [BoundaryMode; 2]),
    out: &mut [T],
) -> Result<FilterInfo> {
    if !window.is_rectangle() {
        // One mode (checked): the rank pass's rank 0 or n − 1.
        let k = match kind {
            super::Extremum::Minimum => 0,
            super::Extremum::Maximum => window.len() - 1,
        };
        return rank(ctx, image, k, window, (center, modes[0]), out);
    }
    let size = window.size();
    let job = Job::Extremum(kind);
    run_one(kind.name(), ctx, image, (size, center, modes), &job, out)?;
    let what = format!(
        "two separable passes of window extrema, {}x{}",
        size[0], size[1]
    );
    Ok(selected::<T>(&what))
}

/// The `-v` method of a filter whose results are inputs (extrema, ranks):
/// exact in f32, the f32 rounding of the exact result for float64.
fn selected<T: FilterValue>(what: &str) -> FilterInfo {
    FilterInfo {
        method: if T::IS_F64 {
            format!(
                "{what} on the GPU in f32 (float64 input: the f32 rounding of the exact result)"
            )
        } else {
            format!("{what} on the GPU (f32, exact)")
        },
    }
}

/// The rank pass's `REDUCE` for rank `rank` of `n` values: ranks 0 and
/// n − 1 (a footprint's minimum / maximum) keep the extreme key in one pass
/// (1, 2) instead of 32 counting passes (0). The render pass's shader
/// (`render_rank.wgsl`) reads the same codes.
pub(crate) fn rank_reduce(rank: u32, n: usize) -> u32 {
    if rank == 0 {
        1
    } else if rank as usize + 1 == n {
        2
    } else {
        SUM
    }
}

/// Rank filter on the GPU: exact (each output is one of the f32-rounded
/// inputs, and rounding keeps order).
pub(super) fn rank<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    rank: usize,
    window: &super::Footprint,
    (center, mode): ([usize; 2], BoundaryMode),
    out: &mut [T],
) -> Result<FilterInfo> {
    let size = window.size();
    let flags: Option<Vec<f64>> = window
        .mask()
        .map(|m| m.iter().map(|&on| f64::from(u8::from(on))).collect());
    let rank = u32::try_from(rank).map_err(|_| {
        Error::too_large("a GPU rank filter's rank", rank as u64, u64::from(u32::MAX))
    })?;
    let job = Job::Rank(rank, flags.as_deref());
    run_one(
        "rank filter",
        ctx,
        image,
        (size, center, [mode; 2]),
        &job,
        out,
    )?;
    let shape = window.describe();
    let how = if rank_reduce(rank, window.len()) == SUM {
        "by a bitwise search of the values' order"
    } else {
        "the extreme value's order key in one pass"
    };
    let what = format!("{}x{} {shape}, rank {rank}, {how}", size[0], size[1]);
    Ok(selected::<T>(&what))
}

/// Local mean / variance / std on the GPU.
pub(super) fn stats<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    size: [usize; 2],
    (center, modes): ([usize; 2], [BoundaryMode; 2]),
    shift: f64,
    mut out: StatsOut<'_, T>,
) -> Result<FilterInfo> {
    let row_len = image.width() * image.channels();
    let job = Job::Box { features: 2, shift };
    let wanted = [out.mean.is_some(), out.var.is_some(), out.std.is_some()];
    for o in [&mut out.mean, &mut out.var, &mut out.std]
        .into_iter()
        .flatten()
    {
        crate::mem::prefault(o);
    }
    ctx.checked("local statistics", || {
        run(
            ctx,
            image,
            size,
            center,
            modes,
            &job,
            &wanted,
            |rows, bytes| {
                let band = rows.len() * row_len * 4;
                let outs = [
                    out.mean.as_deref_mut(),
                    out.var.as_deref_mut(),
                    out.std.as_deref_mut(),
                ];
                // Only the requested outputs were read back, in order.
                for (dst, src) in outs.into_iter().flatten().zip(bytes.chunks(band)) {
                    to_out(&mut dst[rows.start * row_len..rows.end * row_len], src);
                }
            },
        )
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
    modes: [BoundaryMode; 2],
    out: &mut [T],
) -> Result<FilterInfo> {
    let job = match &plan.method {
        Method::Separable(terms) => Job::Separable(terms),
        // The GPU has no FFT path: large kernels run the direct tiles.
        Method::Direct(k) | Method::Fft(k) => Job::Direct(k.weights()),
    };
    let window = ([plan.ky, plan.kx], plan.center, modes);
    run_one("correlation", ctx, image, window, &job, out)?;
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

/// Which buffers a pass binds besides the parameters.
#[derive(Clone, Copy)]
enum PassKind {
    /// Input rows → `xs` along x, with weights `wx`.
    Rows(usize),
    /// `xs` → output along y, with weights `wy`.
    Cols(usize),
    /// Input rows → output with 2-D weights (a rank pass: its flags).
    Direct(usize),
}

/// The streamed part of a filter: the band layout and the passes.
struct FilterKernel<'a, T> {
    image: ImageView<'a, T>,
    bands: Vec<Range<usize>>,
    ky: usize,
    top: usize,
    /// The mode along y: the host gathers the halo rows by it (the shader
    /// applies the x mode).
    mode: BoundaryMode,
    base: Params,
    features: u32,
    n_out: usize,
    wanted: &'a [bool],
    max_in_rows: usize,
    passes: Vec<(Arc<wgpu::ComputePipeline>, PassKind)>,
    weights: Vec<wgpu::Buffer>,
}

/// A ring slot's filter state.
struct FilterSlot {
    rows_params: wgpu::Buffer,
    cols_params: wgpu::Buffer,
    _xs: wgpu::Buffer,
    groups: Vec<(Arc<wgpu::ComputePipeline>, wgpu::BindGroup, bool)>,
}

impl<T: FilterValue> FilterKernel<'_, T> {
    fn row_len(&self) -> usize {
        self.image.width() * self.image.channels()
    }
    fn rows_in(&self, band: usize) -> usize {
        self.bands[band].len() + self.ky - 1
    }
}

impl<T: FilterValue> BandKernel for FilterKernel<'_, T> {
    type Slot = FilterSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<FilterSlot> {
        let row = (self.row_len() * 4) as u64;
        let xs = buffer(
            ctx,
            "gpix.filter.xs",
            self.max_in_rows as u64 * row * u64::from(self.features),
            wgpu::BufferUsages::STORAGE,
        );
        let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let params_bytes = std::mem::size_of::<Params>() as u64;
        let rows_params = buffer(ctx, "gpix.filter.params.rows", params_bytes, uniform);
        let cols_params = buffer(ctx, "gpix.filter.params.cols", params_bytes, uniform);
        let (src, out) = (&inputs[0], &outputs[0]);
        let groups = self
            .passes
            .iter()
            .map(|(p, kind)| {
                let (entries, cols): (Vec<(u32, &wgpu::Buffer)>, bool) = match *kind {
                    PassKind::Rows(w) => (
                        vec![(0, &rows_params), (1, src), (2, &xs), (4, &self.weights[w])],
                        false,
                    ),
                    PassKind::Cols(w) => (
                        vec![(0, &cols_params), (2, &xs), (3, out), (5, &self.weights[w])],
                        true,
                    ),
                    PassKind::Direct(w) => (
                        vec![(0, &cols_params), (1, src), (3, out), (6, &self.weights[w])],
                        true,
                    ),
                };
                (p.clone(), bind_buffers(ctx, p, &entries), cols)
            })
            .collect();
        Ok(FilterSlot {
            rows_params,
            cols_params,
            _xs: xs,
            groups,
        })
    }

    fn upload_len(&self, band: usize, _input: usize) -> u64 {
        (self.rows_in(band) * self.row_len() * 4) as u64
    }

    fn fill(&self, band: usize, _input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let row_len = self.row_len();
        let (h, data) = (self.image.height(), self.image.data());
        let first_row = self.bands[band].start as i64 - self.top as i64;
        let cval = self.mode.cval() as f32;
        par_write(dst, 4, |first, buf| {
            let values: &mut [f32] = bytemuck::cast_slice_mut(buf);
            let mut v = first / 4;
            let mut done = 0;
            // The chunk may start and end mid-row: copy row segments.
            while done < values.len() {
                let (t, x) = (v / row_len, v % row_len);
                let n = (row_len - x).min(values.len() - done);
                let seg = &mut values[done..done + n];
                match boundary_index(first_row + t as i64, h, self.mode) {
                    Some(y) => write_f32(&data[y * row_len + x..y * row_len + x + n], seg),
                    None => seg.fill(cval),
                }
                done += n;
                v += n;
            }
        });
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &FilterSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let rows = &self.bands[band];
        let rows_in = self.rows_in(band);
        let w = self.image.width() as u64;
        let c = self.image.channels() as u64;
        let gx_rows = w.div_ceil(ROWS_WG);
        let gx_cols = w.div_ceil(TILE);
        let p = Params {
            rows_in: rows_in as u32,
            rows_out: rows.len() as u32,
            groups_x: gx_rows as u32,
            ..self.base
        };
        let cols_p = Params {
            groups_x: gx_cols as u32,
            ..p
        };
        let queue = ctx.queue();
        queue.write_buffer(&slot.rows_params, 0, bytemuck::bytes_of(&p));
        queue.write_buffer(&slot.cols_params, 0, bytemuck::bytes_of(&cols_p));
        let max_dim = ctx.max_workgroups_per_dimension();
        let rows_size = dispatch_size(gx_rows * rows_in as u64 * c, max_dim)?;
        let cols_size = dispatch_size(gx_cols * (rows.len() as u64).div_ceil(TILE) * c, max_dim)?;
        // One pass: wgpu orders each dispatch after the writes of the last.
        for (pipeline, group, cols) in &slot.groups {
            let (x, y) = if *cols { cols_size } else { rows_size };
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        let band_bytes = (rows.len() * self.row_len() * 4) as u64;
        Ok((0..self.n_out)
            .filter(|&k| self.wanted[k])
            .map(|k| Region {
                output: 0,
                offset: k as u64 * band_bytes,
                len: band_bytes,
            })
            .collect())
    }
}

/// Runs `job` band by band on the streamed path; `sink(rows, bytes)`
/// receives each band's wanted outputs (f32 bytes of `rows × w × c` values
/// each, one after another).
#[allow(clippy::too_many_arguments)]
fn run<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    [ky, kx]: [usize; 2],
    [top, left]: [usize; 2],
    [mode, mode_x]: [BoundaryMode; 2],
    job: &Job<'_>,
    wanted: &[bool],
    mut sink: impl FnMut(Range<usize>, &[u8]),
) -> Result<()> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w * c == 0 || !wanted.contains(&true) {
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
    // The intermediate `xs` holds `features` values per input value.
    let in_row = row * u64::from(features);
    let band_rows = stream_rows(
        h,
        in_row,
        ky - 1,
        row * n_out as u64,
        ctx.stream_band_bytes(),
        ctx.band_bytes(),
    )?;
    let bands = split_rows(h, band_rows);
    let max_in_rows = band_rows + ky - 1;

    let mut passes = Vec::new();
    let mut weight_sets: Vec<Vec<f64>> = Vec::new();
    let mut add_weights = |w: &[f64]| {
        weight_sets.push(w.to_vec());
        weight_sets.len() - 1
    };
    match job {
        Job::Box { features, .. } => {
            // The passes name the weight buffers even when unweighted.
            let one = add_weights(&[1.0]);
            passes.push((
                pipeline(ctx, "rows", *features, false, false)?,
                PassKind::Rows(one),
            ));
            passes.push((
                pipeline(ctx, "cols", *features, false, false)?,
                PassKind::Cols(one),
            ));
        }
        Job::Separable(terms) => {
            for (n, (wy, wx)) in terms.iter().enumerate() {
                let (wxi, wyi) = (add_weights(wx), add_weights(wy));
                passes.push((pipeline(ctx, "rows", 1, true, false)?, PassKind::Rows(wxi)));
                passes.push((pipeline(ctx, "cols", 1, true, n > 0)?, PassKind::Cols(wyi)));
            }
        }
        Job::Extremum(kind) => {
            let one = add_weights(&[1.0]);
            let reduce = kind.shader_reduce();
            for (entry, kind) in [("rows", PassKind::Rows(one)), ("cols", PassKind::Cols(one))] {
                passes.push((
                    reduce_pipeline(ctx, entry, (1, false, false), reduce)?,
                    kind,
                ));
            }
        }
        Job::Rank(rank, flags) => {
            // The pass names the flags buffer even for a rectangle.
            let wi = add_weights(flags.unwrap_or(&[1.0]));
            let n = flags.map_or(kx * ky, |f| f.iter().filter(|&&v| v != 0.0).count());
            let reduce = rank_reduce(*rank, n);
            passes.push((
                reduce_pipeline(ctx, "rank", (1, flags.is_some(), false), reduce)?,
                PassKind::Direct(wi),
            ));
        }
        Job::Direct(w2d) => {
            let wi = add_weights(w2d);
            passes.push((
                pipeline(ctx, "direct", 1, true, false)?,
                PassKind::Direct(wi),
            ));
        }
    }
    let (shift, inv_n) = match job {
        Job::Box { shift, .. } => (*shift, 1.0 / (kx as f64 * ky as f64)),
        _ => (0.0, 1.0),
    };
    let kernel = FilterKernel {
        image,
        ky,
        top,
        mode,
        base: Params {
            w: w as u32,
            c: c as u32,
            rows_in: 0,
            rows_out: 0,
            nx: kx as u32,
            ny: ky as u32,
            mode: mode_x.code(),
            groups_x: 0,
            cval: mode_x.cval() as f32,
            shift: shift as f32,
            inv_n: inv_n as f32,
            left: left as u32,
            zero: 0,
            rank: match job {
                Job::Rank(r, _) => *r,
                _ => 0,
            },
            pad: [0; 2],
        },
        features,
        n_out,
        wanted,
        max_in_rows,
        passes,
        weights: weight_sets.iter().map(|w| weights(ctx, w)).collect(),
        bands,
    };
    let spec = StreamSpec {
        label: "gpix.filter",
        bands: kernel.bands.len(),
        inputs: vec![max_in_rows as u64 * row],
        outputs: vec![band_rows as u64 * row * n_out as u64],
    };
    stream(ctx, &spec, &kernel, |band, bytes| {
        sink(kernel.bands[band].clone(), bytes);
        Ok(())
    })
}
