//! GPU host code for `shaders/diff.wgsl`: bands of output rows with up to
//! three halo rows each side, one dispatch per band on the streamed path,
//! readback of the requested outputs only.

use super::{CoordAxes, GradientOptions, GradientOut, HessianOut, Stencil};
use crate::array::ImageView;
use std::ops::Range;
use std::sync::Arc;

use crate::bands::{split_rows, stream_rows};
use crate::error::Result;
use crate::gpu::stream::{par_write, stream, BandKernel, Region, StreamSpec};
use crate::gpu::{bind_buffers, buffer, dispatch_size, GpuContext};
use crate::ops::filter::gpu::{to_out, write_f32};
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
    /// Bit 0 (y), bit 1 (x): that axis reads its coefficient table.
    coords: u32,
    hy: f32,
    hx: f32,
    _pad1: f32,
    _pad2: f32,
}

pub(super) fn gradient<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    o: &GradientOptions<'_>,
    coords: &CoordAxes,
    out: GradientOut<'_, T>,
) -> Result<()> {
    let outs = vec![out.dy, out.dx, out.magnitude];
    ctx.checked("gradient", || run(ctx, image, (o, coords), 0, outs))
}

pub(super) fn hessian<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    o: &GradientOptions<'_>,
    coords: &CoordAxes,
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
    ctx.checked("hessian", || run(ctx, image, (o, coords), kind, outs))
}

/// The streamed part of a difference op.
struct DiffKernel<'a, T> {
    image: ImageView<'a, T>,
    bands: Vec<Range<usize>>,
    base: Params,
    n_out: usize,
    mask: u32,
    /// Per position `[a, b, c, two-point]`: the y table, then the x table.
    coef: wgpu::Buffer,
    pipeline: Arc<wgpu::ComputePipeline>,
}

/// A ring slot's parameters and bind group.
struct DiffSlot {
    params: wgpu::Buffer,
    group: wgpu::BindGroup,
}

impl<T: FilterValue> DiffKernel<'_, T> {
    fn row_len(&self) -> usize {
        self.image.width() * self.image.channels()
    }
    /// The input rows band `band` reads: its rows and up to `HALO` each side.
    fn input_rows(&self, band: usize) -> Range<usize> {
        let r = &self.bands[band];
        r.start.saturating_sub(HALO)..(r.end + HALO).min(self.image.height())
    }
}

impl<T: FilterValue> BandKernel for DiffKernel<'_, T> {
    type Slot = DiffSlot;

    fn bind(
        &self,
        ctx: &GpuContext,
        inputs: &[wgpu::Buffer],
        outputs: &[wgpu::Buffer],
    ) -> Result<DiffSlot> {
        let params = buffer(
            ctx,
            "gpix.diff.params",
            std::mem::size_of::<Params>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let group = bind_buffers(
            ctx,
            &self.pipeline,
            &[
                (0, &params),
                (1, &inputs[0]),
                (2, &outputs[0]),
                (3, &self.coef),
            ],
        );
        Ok(DiffSlot { params, group })
    }

    fn upload_len(&self, band: usize, _input: usize) -> u64 {
        (self.input_rows(band).len() * self.row_len() * 4) as u64
    }

    fn fill(&self, band: usize, _input: usize, dst: wgpu::WriteOnly<'_, [u8]>) {
        let rows = self.input_rows(band);
        let row_len = self.row_len();
        let src = &self.image.data()[rows.start * row_len..rows.end * row_len];
        par_write(dst, 4, |first, buf| {
            let v0 = first / 4;
            let n = (buf.len() / 4).min(src.len().saturating_sub(v0));
            write_f32(
                &src[v0..v0 + n],
                bytemuck::cast_slice_mut(&mut buf[..n * 4]),
            );
        });
    }

    fn record(
        &self,
        ctx: &GpuContext,
        band: usize,
        slot: &DiffSlot,
        pass: &mut wgpu::ComputePass<'_>,
    ) -> Result<Vec<Region>> {
        let rows = &self.bands[band];
        let input = self.input_rows(band);
        let p = Params {
            row0: input.start as u32,
            rows_in: input.len() as u32,
            out_row0: rows.start as u32,
            rows_out: rows.len() as u32,
            ..self.base
        };
        ctx.queue()
            .write_buffer(&slot.params, 0, bytemuck::bytes_of(&p));
        let groups = u64::from(self.base.groups_x)
            * (rows.len() as u64).div_ceil(TILE)
            * self.image.channels() as u64;
        let (x, y) = dispatch_size(groups, ctx.max_workgroups_per_dimension())?;
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &slot.group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        let band_bytes = (rows.len() * self.row_len() * 4) as u64;
        Ok((0..self.n_out)
            .filter(|k| self.mask & (1 << k) != 0)
            .map(|k| Region {
                output: 0,
                offset: k as u64 * band_bytes,
                len: band_bytes,
            })
            .collect())
    }
}

/// The coefficient table of the axes with uneven coordinates (`[y, x]`
/// tables one after the other), the `coords` flags, and each axis's spacing
/// (an evenly spaced coordinate axis is numpy's scalar spacing).
fn coefficients(
    o: &GradientOptions<'_>,
    coords: &CoordAxes,
    (h, w): (usize, usize),
) -> (Vec<[f32; 4]>, u32, [f64; 2]) {
    let mut table = Vec::new();
    let mut flags = 0;
    let mut spacing = o.spacing;
    for (k, (axis, n)) in coords.iter().zip([h, w]).enumerate() {
        // An axis of one position has no differences (it is only ever
        // zeroed or not differentiated).
        let Some(axis) = axis.as_ref().filter(|_| n >= 2) else {
            table.extend(std::iter::repeat_n([0.0; 4], n));
            continue;
        };
        if let Some(d) = axis.uniform() {
            spacing[k] = d;
            table.extend(std::iter::repeat_n([0.0; 4], n));
        } else {
            flags |= 1 << k;
            table.extend(axis.gpu_table(n));
        }
    }
    (table, flags, spacing)
}

fn run<T: FilterValue>(
    ctx: &GpuContext,
    image: ImageView<'_, T>,
    (o, coords): (&GradientOptions<'_>, &CoordAxes),
    kind: u32,
    mut outs: Vec<Option<&mut [T]>>,
) -> Result<()> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let row_len = w * c;
    if h == 0 || row_len == 0 || outs.iter().all(Option::is_none) {
        return Ok(());
    }
    for o in outs.iter_mut().flatten() {
        crate::mem::prefault(o);
    }
    let n_out = outs.len();
    let mask: u32 = outs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_some())
        .map(|(k, _)| 1u32 << k)
        .sum();
    let row = (row_len * 4) as u64;
    let band_rows = stream_rows(
        h,
        row,
        2 * HALO,
        row * n_out as u64,
        ctx.stream_band_bytes(),
        ctx.band_bytes(),
    )?;
    let (table, flags, spacing) = coefficients(o, coords, (h, w));
    let coef = buffer(
        ctx,
        "gpix.diff.coef",
        (table.len() * 16) as u64,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    );
    ctx.queue()
        .write_buffer(&coef, 0, bytemuck::cast_slice(&table));
    let pipeline = ctx.pipeline(
        &format!("gpix.diff.k{kind}"),
        SHADER,
        "diff",
        &[("KIND", f64::from(kind))],
    )?;
    let kernel = DiffKernel {
        image,
        bands: split_rows(h, band_rows),
        base: Params {
            w: w as u32,
            c: c as u32,
            h: h as u32,
            row0: 0,
            rows_in: 0,
            out_row0: 0,
            rows_out: 0,
            groups_x: (w as u64).div_ceil(TILE) as u32,
            edge_order: u32::from(o.edge_order),
            interior_only: u32::from(o.interior_only),
            mask,
            coords: flags,
            hy: spacing[0] as f32,
            hx: spacing[1] as f32,
            _pad1: 0.0,
            _pad2: 0.0,
        },
        n_out,
        mask,
        coef,
        pipeline,
    };
    let spec = StreamSpec {
        label: "gpix.diff",
        bands: kernel.bands.len(),
        inputs: vec![(band_rows + 2 * HALO) as u64 * row],
        outputs: vec![band_rows as u64 * row * n_out as u64],
    };
    stream(ctx, &spec, &kernel, |band, bytes| {
        let rows = kernel.bands[band].clone();
        let band_bytes = rows.len() * row_len * 4;
        // Only the requested outputs were read back, in order.
        let wanted = outs.iter_mut().filter_map(|o| o.as_deref_mut());
        for (dst, src) in wanted.zip(bytes.chunks(band_bytes)) {
            to_out(&mut dst[rows.start * row_len..rows.end * row_len], src);
        }
        Ok(())
    })
}
