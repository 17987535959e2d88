//! GPU host code for `shaders/diff.wgsl`: bands of output rows with up to
//! three halo rows each side, one dispatch per band, readback of the
//! requested outputs.

use super::{GradientOptions, GradientOut, HessianOut, Stencil};
use crate::array::ImageView;
use crate::bands::rows_per_band;
use crate::error::{Error, Result};
use crate::gpu::{bind_buffers, buffer, dispatch_size, read_mapped, submit_passes, GpuContext};
use crate::ops::filter::FilterValue;

const SHADER: &str = include_str!("../../../shaders/diff.wgsl");
const TILE: u64 = 16;
const HALO: usize = 3;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    w: u32,
    c: u32,
    h: u32,
    row0: u32,
    rows_in: u32,
    out_row0: u32,
    rows_out: u32,
    groups_x: u32,
    edge_order: u32,
    interior_only: u32,
    mask: u32,
    _pad: u32,
    hy: f32,
    hx: f32,
    _pad1: f32,
    _pad2: f32,
}

pub(super) fn gradient<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    o: &GradientOptions,
    out: GradientOut<'_, T>,
) -> Result<()> {
    let outs = vec![out.dy, out.dx, out.magnitude];
    ctx.checked("gradient", || run(ctx, image, o, 0, outs))
}

pub(super) fn hessian<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    o: &GradientOptions,
    stencil: Stencil,
    out: HessianOut<'_, T>,
) -> Result<()> {
    let (e1, e2) = match out.eigen {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let outs = vec![out.dyy, out.dxy, out.dxx, e1, e2];
    let kind = match stencil {
        Stencil::Gradient => 1,
        Stencil::Compact => 2,
    };
    ctx.checked("hessian", || run(ctx, image, o, kind, outs))
}

fn run<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    o: &GradientOptions,
    kind: u32,
    mut outs: Vec<Option<&mut [T]>>,
) -> Result<()> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 || outs.iter().all(Option::is_none) {
        return Ok(());
    }
    let n_out = outs.len();
    let mask: u32 = outs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_some())
        .map(|(k, _)| 1u32 << k)
        .sum();
    let row = (row_len * 4) as u64;
    let budget = ctx.band_bytes();
    let in_rows = rows_per_band(&[row], budget)?;
    let out_rows = rows_per_band(&[row * n_out as u64], budget)?;
    if in_rows <= 2 * HALO {
        return Err(Error::too_large(
            "a GPU band with its halo rows",
            (2 * HALO as u64 + 1) * row,
            budget,
        ));
    }
    let band_rows = (in_rows - 2 * HALO).min(out_rows).min(h);
    let src = buffer(
        ctx,
        "gpix.diff.src",
        (band_rows + 2 * HALO) as u64 * row,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    let out_bytes = band_rows as u64 * row * n_out as u64;
    let out = buffer(
        ctx,
        "gpix.diff.out",
        out_bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = buffer(
        ctx,
        "gpix.diff.readback",
        out_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let params = buffer(
        ctx,
        "gpix.diff.params",
        std::mem::size_of::<Params>() as u64,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    let pipeline = ctx.pipeline(
        &format!("gpix.diff.k{kind}"),
        SHADER,
        "diff",
        &[("KIND", f64::from(kind))],
    )?;
    let group = bind_buffers(ctx, &pipeline, &[(0, &params), (1, &src), (2, &out)]);
    let gx = (w as u64).div_ceil(TILE);
    let mut values = vec![0f32; band_rows * row_len * n_out];
    let mut upload: Vec<f32> = Vec::with_capacity((band_rows + 2 * HALO) * row_len);
    for r0 in (0..h).step_by(band_rows) {
        let r1 = (r0 + band_rows).min(h);
        let (a, b) = (r0.saturating_sub(HALO), (r1 + HALO).min(h));
        upload.clear();
        upload.extend(
            image.data()[a * row_len..b * row_len]
                .iter()
                .map(|v| v.to_f64() as f32),
        );
        ctx.queue()
            .write_buffer(&src, 0, bytemuck::cast_slice(&upload));
        let p = Params {
            w: w as u32,
            c: c as u32,
            h: h as u32,
            row0: a as u32,
            rows_in: (b - a) as u32,
            out_row0: r0 as u32,
            rows_out: (r1 - r0) as u32,
            groups_x: gx as u32,
            edge_order: u32::from(o.edge_order),
            interior_only: u32::from(o.interior_only),
            mask,
            _pad: 0,
            hy: o.spacing[0] as f32,
            hx: o.spacing[1] as f32,
            _pad1: 0.0,
            _pad2: 0.0,
        };
        ctx.queue().write_buffer(&params, 0, bytemuck::bytes_of(&p));
        let groups = gx * ((r1 - r0) as u64).div_ceil(TILE) * c as u64;
        let (x, y) = dispatch_size(groups, ctx.max_workgroups_per_dimension())?;
        let band = (r1 - r0) * row_len;
        let bytes = (band * n_out * 4) as u64;
        let done = submit_passes(ctx, "gpix.diff", &[(&pipeline, &group, (x, y))], |enc| {
            enc.copy_buffer_to_buffer(&out, 0, &staging, 0, bytes);
        });
        let dst = &mut values[..band * n_out];
        read_mapped(ctx, &staging, bytes, done, bytemuck::cast_slice_mut(dst))?;
        for (k, o) in outs.iter_mut().enumerate() {
            if let Some(o) = o.as_deref_mut() {
                let target = &mut o[r0 * row_len..r1 * row_len];
                for (t, &v) in target.iter_mut().zip(&dst[k * band..(k + 1) * band]) {
                    *t = T::from_f64(f64::from(v));
                }
            }
        }
    }
    Ok(())
}
