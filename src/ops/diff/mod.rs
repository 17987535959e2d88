//! Finite differences with `numpy.gradient`'s semantics: the gradient
//! (`dy`, `dx`, optionally its magnitude) and the Hessian (`dyy`, `dxy`,
//! `dxx`, optionally its eigenvalues), over the first two axes of each
//! channel, in one fused pass.
//!
//! Exactness: every value is computed with numpy's own operations in the
//! array's precision — `(f[i+1] − f[i−1]) / (2h)` inside, `(f[1] − f[0]) / h`
//! or `a·f[0] + b·f[1] + c·f[2]` (a = −1.5/h, b = 2/h, c = −0.5/h) at the
//! edges — so float64 results on the CPU are numpy's bit for bit, and the
//! Hessian is numpy.gradient applied twice (`dyy` = d/dy of dy, `dxy` = d/dx
//! of dy, `dxx` = d/dx of dx) without the intermediate arrays.

mod coords;
mod cpu;
#[cfg(feature = "gpu")]
mod gpu;

use coords::CoordAxis;

use crate::array::{Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::ops::filter::FilterValue;

/// Sample coordinates along one axis: numpy.gradient's 1-D `varargs`
/// (non-uniform spacing). Float64 and float32 as numpy computes with them
/// (float32 coordinates give float32 coefficients); integer coordinates are
/// float64 in numpy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coordinates<'a> {
    /// float64 coordinates.
    F64(&'a [f64]),
    /// float32 coordinates.
    F32(&'a [f32]),
}

impl<'a> From<&'a [f64]> for Coordinates<'a> {
    fn from(x: &'a [f64]) -> Self {
        Self::F64(x)
    }
}

impl<'a> From<&'a [f32]> for Coordinates<'a> {
    fn from(x: &'a [f32]) -> Self {
        Self::F32(x)
    }
}

/// Options of [`gradient`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientOptions<'a> {
    /// Sample distance along y (rows) and x (columns); numpy's scalar
    /// `varargs`.
    pub spacing: [f64; 2],
    /// Sample coordinates along y and x (numpy's 1-D `varargs`), replacing
    /// that axis's `spacing`: one value per row (column), all finite, no two
    /// neighbours equal.
    pub coordinates: [Option<Coordinates<'a>>; 2],
    /// 1 or 2: the accuracy of the one-sided differences at the edges.
    pub edge_order: u8,
    /// Central differences inside only; the whole one-pixel frame of every
    /// output is 0 (the hand-written loop users start from,
    /// `for i in 1..h-1: for j in 1..w-1`), and any size is accepted.
    pub interior_only: bool,
}

impl Default for GradientOptions<'_> {
    fn default() -> Self {
        Self {
            spacing: [1.0, 1.0],
            coordinates: [None, None],
            edge_order: 1,
            interior_only: false,
        }
    }
}

/// Which second differences [`hessian`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stencil {
    /// numpy.gradient applied twice (skimage's `hessian_matrix` numbers).
    #[default]
    Gradient,
    /// `(f[i+1] − 2f[i] + f[i−1]) / h²` and the four-point cross
    /// `(f[i+1,j+1] − f[i+1,j−1] − f[i−1,j+1] + f[i−1,j−1]) / (4 hy hx)` on
    /// interior points; the one-pixel border is 0.
    Compact,
}

/// Options of [`hessian`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HessianOptions<'a> {
    /// Spacing (or coordinates) and edge order as for [`gradient`]
    /// (`interior_only` unused).
    pub gradient: GradientOptions<'a>,
    /// The stencil.
    pub stencil: Stencil,
}

/// Where [`gradient_into`] writes; `None` skips that output.
#[derive(Debug, Default)]
pub struct GradientOut<'a, T> {
    /// d/dy (axis 0).
    pub dy: Option<&'a mut [T]>,
    /// d/dx (axis 1).
    pub dx: Option<&'a mut [T]>,
    /// `sqrt(dy² + dx²)`.
    pub magnitude: Option<&'a mut [T]>,
}

/// Where [`hessian_into`] writes; `None` skips that output.
#[derive(Debug, Default)]
pub struct HessianOut<'a, T> {
    /// d²/dy².
    pub dyy: Option<&'a mut [T]>,
    /// d²/dydx.
    pub dxy: Option<&'a mut [T]>,
    /// d²/dx².
    pub dxx: Option<&'a mut [T]>,
    /// Eigenvalues of `[[dyy, dxy], [dxy, dxx]]`, larger first.
    pub eigen: Option<(&'a mut [T], &'a mut [T])>,
}

/// Both gradient components.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient<T> {
    /// d/dy.
    pub dy: Image<T>,
    /// d/dx.
    pub dx: Image<T>,
}

/// The three Hessian terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Hessian<T> {
    /// d²/dy².
    pub dyy: Image<T>,
    /// d²/dydx.
    pub dxy: Image<T>,
    /// d²/dx².
    pub dxx: Image<T>,
}

/// The coordinate axes of [`GradientOptions::coordinates`], checked and
/// ready to apply (`None`: that axis uses its spacing).
type CoordAxes = [Option<CoordAxis>; 2];

/// `needs_edges`: per axis (rows, columns), whether its one-sided edge
/// differences are computed, so its length must reach `edge_order + 1`
/// (an axis not differentiated may be any length, as numpy's `axis=`).
/// `data_f64`: float64 data (numpy's arithmetic with coordinates widens).
fn check_options(
    o: &GradientOptions<'_>,
    h: usize,
    w: usize,
    needs_edges: [bool; 2],
    data_f64: bool,
) -> Result<CoordAxes> {
    if !(o.edge_order == 1 || o.edge_order == 2) {
        return Err(Error::invalid(format!(
            "edge order {} must be 1 or 2",
            o.edge_order
        )));
    }
    if let Some(s) = o.spacing.iter().find(|s| !s.is_finite() || **s == 0.0) {
        return Err(Error::invalid(format!(
            "spacing {s} must be finite and non-zero"
        )));
    }
    let need = usize::from(o.edge_order) + 1;
    for (axis, (&len, &edges)) in [h, w].iter().zip(&needs_edges).enumerate() {
        if edges && len < need {
            let name = ["y (rows)", "x (columns)"][axis];
            return Err(Error::invalid(format!(
                "array of {h}×{w} is too small for a numerical gradient along {name}: an axis \
                 differentiated needs at least edge_order + 1 = {need} elements (as numpy.gradient)"
            )));
        }
    }
    let axis = |k: usize| {
        o.coordinates[k]
            .map(|c| CoordAxis::new(c, [h, w][k], o.edge_order, data_f64, ["y", "x"][k]))
            .transpose()
    };
    Ok([axis(0)?, axis(1)?])
}

/// The compact stencil is defined for even spacing only.
fn check_compact(o: &GradientOptions<'_>, compact: bool) -> Result<()> {
    if compact && o.coordinates.iter().any(Option::is_some) {
        return Err(Error::invalid(
            "the compact stencil takes a spacing, not coordinates (use the gradient stencil)",
        ));
    }
    Ok(())
}

fn check_len<T>(image: &ImageView<'_, T>, out: &[T]) -> Result<()>
where
    T: crate::array::Element,
{
    if out.len() != image.data().len() {
        return Err(Error::invalid(format!(
            "an output holds {} values, the array {}",
            out.len(),
            image.data().len()
        )));
    }
    Ok(())
}

/// numpy.gradient along one axis of a `(n, inner)` view: position `i`'s
/// value is `get(i)` (a row of `inner` values), written into `out` row `i`.
/// The definition the fast paths are checked against.
fn gradient_axis_reference<T: FilterValue>(
    n: usize,
    get: impl Fn(usize, usize) -> T,
    inner: usize,
    (h, coords): (f64, Option<&[f64]>),
    edge_order: u8,
    interior_only: bool,
    mut put: impl FnMut(usize, usize, T),
) {
    let two_h = T::from_f64(2.0 * h);
    let hh = T::from_f64(h);
    for i in 0..n {
        for k in 0..inner {
            let edge = !(i > 0 && i + 1 < n);
            let v = if let (Some(x), false) = (coords, edge && interior_only) {
                let f = |j: usize| get(j, k).to_f64();
                T::from_f64(coords::reference_point(x, f, i, edge_order))
            } else if i > 0 && i + 1 < n {
                (get(i + 1, k) - get(i - 1, k)) / two_h
            } else if interior_only {
                T::default()
            } else if edge_order == 1 {
                if i == 0 {
                    (get(1, k) - get(0, k)) / hh
                } else {
                    (get(n - 1, k) - get(n - 2, k)) / hh
                }
            } else if i == 0 {
                let (a, b, c) = (
                    T::from_f64(-1.5 / h),
                    T::from_f64(2.0 / h),
                    T::from_f64(-0.5 / h),
                );
                a * get(0, k) + b * get(1, k) + c * get(2, k)
            } else {
                let (a, b, c) = (
                    T::from_f64(0.5 / h),
                    T::from_f64(-2.0 / h),
                    T::from_f64(1.5 / h),
                );
                a * get(n - 3, k) + b * get(n - 2, k) + c * get(n - 1, k)
            };
            put(i, k, v);
        }
    }
}

/// `(dy, dx)` of an `(h, w, c)` array by the definition, allocating.
fn reference_pair<T: FilterValue>(
    data: &[T],
    (h, w, c): (usize, usize, usize),
    o: &GradientOptions<'_>,
) -> (Vec<T>, Vec<T>) {
    let mut dy = vec![T::default(); data.len()];
    let mut dx = vec![T::default(); data.len()];
    let row = w * c;
    let coords = o.coordinates.map(|c| {
        c.map(|c| match c {
            Coordinates::F64(x) => x.to_vec(),
            Coordinates::F32(x) => x.iter().map(|&v| f64::from(v)).collect(),
        })
    });
    gradient_axis_reference(
        h,
        |i, k| data[i * row + k],
        row,
        (o.spacing[0], coords[0].as_deref()),
        o.edge_order,
        o.interior_only,
        |i, k, v| dy[i * row + k] = v,
    );
    for y in 0..h {
        let r = &data[y * row..(y + 1) * row];
        gradient_axis_reference(
            w,
            |x, ch| r[x * c + ch],
            c,
            (o.spacing[1], coords[1].as_deref()),
            o.edge_order,
            o.interior_only,
            |x, ch, v| dx[y * row + x * c + ch] = v,
        );
    }
    if o.interior_only {
        for out in [&mut dy, &mut dx] {
            zero_frame_reference(out, (h, w, c));
        }
    }
    (dy, dx)
}

/// Zeroes the one-pixel frame of an `(h, w, c)` array: what the hand-written
/// interior loop (`for i in 1..h-1: for j in 1..w-1`) leaves untouched.
fn zero_frame_reference<T: FilterValue>(data: &mut [T], (h, w, c): (usize, usize, usize)) {
    for y in 0..h {
        for x in 0..w {
            if y == 0 || x == 0 || y + 1 == h || x + 1 == w {
                data[(y * w + x) * c..(y * w + x + 1) * c].fill(T::default());
            }
        }
    }
}

/// The definition of [`gradient`]: numpy.gradient along each axis.
///
/// # Errors
/// As [`gradient`].
pub fn gradient_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    options: &GradientOptions,
) -> Result<Gradient<T>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    check_options(options, h, w, [!options.interior_only; 2], T::IS_F64)?;
    let (dy, dx) = reference_pair(image.data(), (h, w, c), options);
    Ok(Gradient {
        dy: Image::from_vec(dy, h, w, c)?,
        dx: Image::from_vec(dx, h, w, c)?,
    })
}

/// The definition of [`hessian`]: numpy.gradient applied twice (or the
/// compact stencil), allocating every intermediate.
///
/// # Errors
/// As [`hessian`].
pub fn hessian_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    options: &HessianOptions,
) -> Result<Hessian<T>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let g = GradientOptions {
        interior_only: false,
        ..options.gradient
    };
    let compact = options.stencil == Stencil::Compact;
    check_compact(&g, compact)?;
    check_options(&g, h, w, [!compact; 2], T::IS_F64)?;
    let (dyy, dxy, dxx) = if compact {
        compact_reference(image.data(), (h, w, c), g.spacing)
    } else {
        let (dy, dx) = reference_pair(image.data(), (h, w, c), &g);
        let (dyy, dxy) = reference_pair(&dy, (h, w, c), &g);
        let (_, dxx) = reference_pair(&dx, (h, w, c), &g);
        (dyy, dxy, dxx)
    };
    Ok(Hessian {
        dyy: Image::from_vec(dyy, h, w, c)?,
        dxy: Image::from_vec(dxy, h, w, c)?,
        dxx: Image::from_vec(dxx, h, w, c)?,
    })
}

fn compact_reference<T: FilterValue>(
    f: &[T],
    (h, w, c): (usize, usize, usize),
    [hy, hx]: [f64; 2],
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let mut out = (
        vec![T::default(); f.len()],
        vec![T::default(); f.len()],
        vec![T::default(); f.len()],
    );
    let at = |y: usize, x: usize, ch: usize| f[(y * w + x) * c + ch];
    let (two, hy2, hx2, hxy4) = (
        T::from_f64(2.0),
        T::from_f64(hy * hy),
        T::from_f64(hx * hx),
        T::from_f64(4.0 * hy * hx),
    );
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            for ch in 0..c {
                let i = (y * w + x) * c + ch;
                let m = at(y, x, ch);
                out.0[i] = (at(y + 1, x, ch) - two * m + at(y - 1, x, ch)) / hy2;
                out.2[i] = (at(y, x + 1, ch) - two * m + at(y, x - 1, ch)) / hx2;
                out.1[i] = (at(y + 1, x + 1, ch) - at(y + 1, x - 1, ch) - at(y - 1, x + 1, ch)
                    + at(y - 1, x - 1, ch))
                    / hxy4;
            }
        }
    }
    out
}

/// `numpy.gradient(image, hy, hx, edge_order=…)` over the first two axes of
/// each channel.
///
/// ```
/// use gpix::{gradient, Device, GradientOptions, ImageView};
/// let f = [0.0f64, 1.0, 4.0, 9.0, 16.0, 25.0]; // x² for x = 0..6, as 2×3
/// let g = gradient(&Device::Cpu, ImageView::new(&f, 2, 3, 1)?, &GradientOptions::default())?;
/// assert_eq!(g.dx.data(), [1.0, 2.0, 3.0, 7.0, 8.0, 9.0]);
/// assert_eq!(g.dy.data(), [9.0, 15.0, 21.0, 9.0, 15.0, 21.0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for an edge order other than 1 or 2, a zero or
/// non-finite spacing, or (without `interior_only`) an axis shorter than
/// `edge_order + 1`, as numpy; [`Error::Gpu`] if a kernel fails.
pub fn gradient<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    options: &GradientOptions,
) -> Result<Gradient<T>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (mut dy, mut dx) = (Image::zeros(h, w, c)?, Image::zeros(h, w, c)?);
    gradient_into(
        device,
        image,
        options,
        GradientOut {
            dy: Some(dy.data_mut()),
            dx: Some(dx.data_mut()),
            magnitude: None,
        },
    )?;
    Ok(Gradient { dy, dx })
}

/// [`gradient`] into caller-owned buffers, computing only what is asked.
///
/// # Errors
/// As [`gradient`], and [`Error::InvalidArgument`] for a wrong buffer length.
pub fn gradient_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    options: &GradientOptions,
    out: GradientOut<'_, T>,
) -> Result<()> {
    // Only the axes whose differences are written must be long enough.
    let edges = !options.interior_only;
    let along_y = out.dy.is_some() || out.magnitude.is_some();
    let along_x = out.dx.is_some() || out.magnitude.is_some();
    let coords = check_options(
        options,
        image.height(),
        image.width(),
        [edges && along_y, edges && along_x],
        T::IS_F64,
    )?;
    for o in [&out.dy, &out.dx, &out.magnitude].into_iter().flatten() {
        check_len(&image, o)?;
    }
    match device {
        Device::Cpu => {
            cpu::gradient(image, options, coords, out);
            Ok(())
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::gradient(ctx, image, options, &coords, out),
    }
}

/// The Hessian of each channel over the first two axes: numpy.gradient
/// applied twice (default) or the compact stencil, in one fused pass.
///
/// # Errors
/// As [`gradient`] (the compact stencil accepts any size).
pub fn hessian<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    options: &HessianOptions,
) -> Result<Hessian<T>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (mut dyy, mut dxy, mut dxx) = (
        Image::zeros(h, w, c)?,
        Image::zeros(h, w, c)?,
        Image::zeros(h, w, c)?,
    );
    hessian_into(
        device,
        image,
        options,
        HessianOut {
            dyy: Some(dyy.data_mut()),
            dxy: Some(dxy.data_mut()),
            dxx: Some(dxx.data_mut()),
            eigen: None,
        },
    )?;
    Ok(Hessian { dyy, dxy, dxx })
}

/// [`hessian`] into caller-owned buffers, computing only what is asked.
///
/// # Errors
/// As [`hessian`], and [`Error::InvalidArgument`] for a wrong buffer length.
pub fn hessian_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    options: &HessianOptions,
    out: HessianOut<'_, T>,
) -> Result<()> {
    let g = GradientOptions {
        interior_only: false,
        ..options.gradient
    };
    let compact = options.stencil == Stencil::Compact;
    check_compact(&g, compact)?;
    let coords = check_options(&g, image.height(), image.width(), [!compact; 2], T::IS_F64)?;
    for o in [&out.dyy, &out.dxy, &out.dxx].into_iter().flatten() {
        check_len(&image, o)?;
    }
    if let Some((a, b)) = &out.eigen {
        check_len(&image, a)?;
        check_len(&image, b)?;
    }
    match device {
        Device::Cpu => {
            cpu::hessian(image, &g, coords, options.stencil, out);
            Ok(())
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::hessian(ctx, image, &g, &coords, options.stencil, out),
    }
}

/// Where and in what precision [`gradient`] and [`hessian`] run for a
/// value type and device, as `gpix gradient -v` says it.
#[must_use]
pub fn describe_diff<T: FilterValue>(device: &Device) -> String {
    match (device.is_cpu(), T::IS_F64) {
        (true, true) => "cpu, float64 (numpy.gradient's results bit for bit)".into(),
        (true, false) => "cpu, float32".into(),
        (false, true) => {
            "gpu, f32 (input float64: results within the f32 bound, not numpy's bit for bit)".into()
        }
        (false, false) => "gpu, f32".into(),
    }
}

/// Eigenvalues of the symmetric `[[a, b], [b, d]]`, larger first.
#[inline]
pub(crate) fn eigen2<T: FilterValue>(a: T, b: T, d: T) -> (T, T) {
    let (a, b, d) = (a.to_f64(), b.to_f64(), d.to_f64());
    let mean = 0.5 * (a + d);
    let r = (0.5 * (a - d)).hypot(b);
    (T::from_f64(mean + r), T::from_f64(mean - r))
}
