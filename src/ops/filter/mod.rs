//! Sliding-window filters with scipy.ndimage's semantics: box (uniform)
//! filter and local mean / variance / standard deviation, over the first two
//! axes of each channel, with scipy's five boundary modes.
//!
//! Method: box sums are running sums (cost independent of the window size)
//! in f64 on the CPU; on the GPU two separable passes (x, then y) over
//! workgroup tiles in f32 with compensated sums. Local variance is computed
//! from sums of `x − K` and `(x − K)²` with `K` a sample mean of the image,
//! in f64 on the CPU, so data on a large offset keep their variance; it is
//! clamped at 0, never negative.

mod boundary;
mod box_cpu;
mod correlate;
mod edges;
mod extremum;
mod extremum_footprint;
mod fft;
mod fir;
mod footprint;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod kernel;
mod morphology;
mod rank;
mod rank_network;
mod scratch;

pub use boundary::{boundary_index, Border, BoundaryMode};
pub use edges::{edge_filter, edge_filter_into, edge_filter_reference, EdgeFilter};
pub use extremum::{
    extremum_filter, extremum_filter_into, extremum_filter_reference, maximum_filter,
    minimum_filter, Extremum, ExtremumValue,
};
pub use footprint::Footprint;
pub use morphology::{
    grey_morphology, grey_morphology_into, grey_morphology_reference, Morphology,
};

/// How many runs of marked columns a footprint's rows hold (the cost
/// model's measure of a footprint extremum).
pub(crate) fn footprint_runs(window: &Footprint) -> usize {
    extremum_footprint::runs(window).len()
}
pub use kernel::{
    gabor_kernel, gabor_sigma_from_bandwidth, gaussian_derivative_kernel1d, gaussian_kernel1d,
    Kernel, MAX_GAUSSIAN_ORDER,
};
pub(crate) use rank::window_values;
pub use rank::{
    median_filter, percentile_filter, rank_filter, rank_filter_into, rank_filter_reference, Rank,
    RankValue,
};

use correlate::Plan;

use crate::array::{Element, Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};

/// Element types the filters take and return: `f32` and `f64`. The CPU
/// accumulates weighted sums in the image's own precision (box sums always
/// in f64).
pub trait FilterValue:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    /// The value in f64.
    fn to_f64(self) -> f64;
    /// An f64 result rounded to this type.
    fn from_f64(v: f64) -> Self;
    /// `self · b + c`, fused.
    #[doc(hidden)]
    fn fused(self, b: Self, c: Self) -> Self;
    /// True for `f64` (the GPU computes in f32 and says so).
    const IS_F64: bool;
}

impl FilterValue for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn fused(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
    const IS_F64: bool = false;
}

impl FilterValue for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn fused(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
    const IS_F64: bool = true;
}

/// What a filter call did, for `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    /// The method used (e.g. "running sums (f64)").
    pub method: String,
}

/// Box windows up to this many values over 4+ channels run as taps.
const SMALL_BOX: usize = 25;

/// A window size `[rows, columns]`, both ≥ 1.
/// The window a size asks for: 0 along an axis is 1 there (no filtering
/// along that axis), as scipy.ndimage's `uniform_filter`.
fn window(size: [usize; 2]) -> [usize; 2] {
    size.map(|s| s.max(1))
}

/// The window and anchor of a box filter: scipy's `uniform_filter` skips
/// an axis whose size is at most 1, origin and all.
fn box_window(size: [usize; 2], border: &Border) -> Result<([usize; 2], [usize; 2])> {
    let size = window(size);
    let origin = [0, 1].map(|k| if size[k] > 1 { border.origin[k] } else { 0 });
    Ok((size, border.with_origin(origin).anchor(size)?))
}

/// Fails before allocating when the buffers each CPU worker keeps would
/// exceed the memory limit: `per_worker` values of `value_bytes` each
/// (`None`: the count overflowed), times the number of workers.
fn check_scratch(what: &str, per_worker: Option<u128>, value_bytes: usize) -> Result<()> {
    let workers = rayon::current_num_threads() as u128;
    crate::mem::check_bytes(
        || what.to_owned(),
        per_worker.and_then(|v| v.checked_mul(workers)),
        value_bytes,
    )
}

/// The running-sum buffers of a `size` window over `image` (rows of sums
/// for the window's height, one extended row; two features for the
/// variance).
fn check_box_scratch<T: Element>(image: &ImageView<'_, T>, size: [usize; 2]) -> Result<()> {
    let (w, c) = (image.width() as u128, image.channels() as u128);
    let [ny, nx] = size.map(|n| n as u128);
    let values = (ny + 2)
        .checked_mul(w * c * 2)
        .and_then(|rows| rows.checked_add((w + nx) * c * 2));
    check_scratch(
        &format!(
            "a {}x{} window over rows of {} values",
            size[0],
            size[1],
            w * c
        ),
        values,
        8,
    )
}

fn check_out<T: Element>(image: &ImageView<'_, T>, len: usize, what: &str) -> Result<()> {
    if len != image.data().len() {
        return Err(Error::invalid(format!(
            "{what} holds {len} values, the image {}",
            image.data().len()
        )));
    }
    Ok(())
}

/// The value at `(y + dy, x + dx, c)` with the boundary mode applied.
fn at<T: FilterValue>(
    image: &ImageView<'_, T>,
    y: i64,
    x: i64,
    c: usize,
    [mode_y, mode_x]: [BoundaryMode; 2],
) -> f64 {
    let (h, w, ch) = (image.height(), image.width(), image.channels());
    // Outside along x reads the x mode's constant (scipy's x pass is last).
    match (boundary_index(y, h, mode_y), boundary_index(x, w, mode_x)) {
        (Some(y), Some(x)) => image.data()[(y * w + x) * ch + c].to_f64(),
        (_, None) => mode_x.cval(),
        (None, _) => mode_y.cval(),
    }
}

/// Every window's values, in f64, for the references.
fn windows<T: FilterValue>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    ([top, left], modes): ([usize; 2], [BoundaryMode; 2]),
    mut each: impl FnMut(usize, &[f64]),
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (top, left) = (top as i64, left as i64);
    let mut buf = Vec::with_capacity(ny * nx);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                buf.clear();
                for i in 0..ny as i64 {
                    for j in 0..nx as i64 {
                        buf.push(at(
                            &image,
                            y as i64 - top + i,
                            x as i64 - left + j,
                            ch,
                            modes,
                        ));
                    }
                }
                each((y * w + x) * c + ch, &buf);
            }
        }
    }
}

/// The definition of [`uniform_filter`]: each window's mean, summed directly in f64.
///
/// # Errors
/// [`Error::InvalidArgument`] for an origin outside scipy's rule (a window
/// size of 0 along an axis filters nothing there, as scipy).
pub fn uniform_filter_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let border = border.into();
    let (size, anchor) = box_window(size, &border)?;
    let mut out = vec![0f64; image.data().len()];
    let n = (size[0] * size[1]) as f64;
    windows(image, size, (anchor, border.modes), |i, v| {
        out[i] = v.iter().sum::<f64>() / n
    });
    Image::from_vec(out, image.height(), image.width(), image.channels())
}

/// The definition of [`local_stats`]: each window's mean and population
/// variance `Σ(x − mean)² / n`, two passes in f64.
///
/// # Errors
/// As [`uniform_filter_reference`].
pub fn local_stats_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
) -> Result<(Image<f64>, Image<f64>)> {
    let border = border.into();
    let (size, anchor) = box_window(size, &border)?;
    let mut mean = vec![0f64; image.data().len()];
    let mut var = vec![0f64; image.data().len()];
    let n = (size[0] * size[1]) as f64;
    windows(image, size, (anchor, border.modes), |i, v| {
        let m = v.iter().sum::<f64>() / n;
        mean[i] = m;
        var[i] = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    });
    let (h, w, c) = (image.height(), image.width(), image.channels());
    Ok((
        Image::from_vec(mean, h, w, c)?,
        Image::from_vec(var, h, w, c)?,
    ))
}

/// `scipy.ndimage.uniform_filter(image, size=(ny, nx), mode=…)` over the
/// first two axes of each channel: every value replaced by the mean of the
/// `ny × nx` window around it (for even sizes the window reaches one further
/// before the centre than after, as scipy's).
///
/// ```
/// use gpix::{uniform_filter, BoundaryMode, Device, ImageView};
/// let image = [1.0f32, 2.0, 3.0, 4.0];
/// let out = uniform_filter(&Device::Cpu, ImageView::new(&image, 1, 4, 1)?, [1, 3], BoundaryMode::Reflect)?;
/// assert_eq!(out.data(), [4.0 / 3.0, 2.0, 3.0, 11.0 / 3.0]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// A size of 0 along an axis means no filtering along it (scipy's rule).
/// `border`: a [`BoundaryMode`], or a [`Border`] with one mode per axis
/// and scipy's `origin`.
///
/// # Errors
/// [`Error::InvalidArgument`] for an origin outside scipy's rule;
/// [`Error::Gpu`] if a GPU kernel fails; [`Error::TooLarge`] if the scratch
/// buffers would exceed the memory limit.
pub fn uniform_filter<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        uniform_filter_into(device, image, size, border, out)
    })
}

/// [`uniform_filter`] into a caller-owned buffer of `image.data().len()` values.
///
/// # Errors
/// As [`uniform_filter`], and [`Error::InvalidArgument`] for a wrong `out` length.
pub fn uniform_filter_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let border = border.into();
    let (size, anchor) = box_window(size, &border)?;
    let modes = border.modes;
    check_out(&image, out.len(), "the output")?;
    check_box_scratch(&image, size)?;
    match device {
        Device::Cpu if size[0].saturating_mul(size[1]) <= SMALL_BOX && image.channels() >= 4 => {
            // Small windows over many channels: the taps are cheaper than
            // the running sums' bookkeeping.
            let plan = Plan::separable(
                vec![1.0 / size[0] as f64; size[0]],
                vec![1.0 / size[1] as f64; size[1]],
            )
            .at(anchor);
            correlate::run_cpu(image, &plan, modes, out);
            Ok(FilterInfo {
                method: format!(
                    "separable {}x{} taps of 1/n (image precision)",
                    size[0], size[1]
                ),
            })
        }
        Device::Cpu => {
            let n = (size[0] * size[1]) as f64;
            box_cpu::box_sums::<T, 1, _, _>(
                image,
                size,
                (anchor, modes),
                &|v| [v],
                vec![out],
                &|sums, outs| {
                    for (o, &s) in outs[0].iter_mut().zip(sums) {
                        *o = T::from_f64(s / n);
                    }
                },
            );
            Ok(FilterInfo {
                method: "running sums (f64)".into(),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::uniform(ctx, image, size, (anchor, modes), out),
    }
}

/// Local mean, variance and standard deviation arrays (all three).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalStats<T> {
    /// Window means.
    pub mean: Image<T>,
    /// Window population variances (`Σ(x − mean)² / n`), never negative.
    pub var: Image<T>,
    /// Square roots of `var`.
    pub std: Image<T>,
}

/// Where [`local_stats_into`] writes; `None` skips that output.
#[derive(Debug, Default)]
pub struct StatsOut<'a, T> {
    /// Window means.
    pub mean: Option<&'a mut [T]>,
    /// Window variances.
    pub var: Option<&'a mut [T]>,
    /// Window standard deviations.
    pub std: Option<&'a mut [T]>,
}

/// Local mean, variance and standard deviation over `ny × nx` windows in
/// one pass (the windows of [`uniform_filter`]); the variance is the
/// population variance, as `uniform_filter(x²) − uniform_filter(x)²` means
/// it, but computed without that formula's cancellation.
///
/// # Errors
/// As [`uniform_filter`].
pub fn local_stats<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
) -> Result<LocalStats<T>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (mut mean, mut var, mut std) = (
        Image::zeros(h, w, c)?,
        Image::zeros(h, w, c)?,
        Image::zeros(h, w, c)?,
    );
    local_stats_into(
        device,
        image,
        size,
        border,
        StatsOut {
            mean: Some(mean.data_mut()),
            var: Some(var.data_mut()),
            std: Some(std.data_mut()),
        },
    )?;
    Ok(LocalStats { mean, var, std })
}

/// A shift near the data: the mean of up to 4096 values spread over the
/// image (finite ones only), so `x − K` is small where the data sit on a
/// large offset.
fn sample_shift<T: FilterValue>(data: &[T]) -> f64 {
    let step = (data.len() / 4096).max(1);
    let (mut sum, mut n) = (0f64, 0usize);
    for v in data.iter().step_by(step) {
        let v = v.to_f64();
        if v.is_finite() {
            sum += v;
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// [`local_stats`] into caller-owned buffers (any subset).
///
/// # Errors
/// As [`uniform_filter_into`].
pub fn local_stats_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    border: impl Into<Border>,
    out: StatsOut<'_, T>,
) -> Result<FilterInfo> {
    let border = border.into();
    let (size, anchor) = box_window(size, &border)?;
    let modes = border.modes;
    for o in [&out.mean, &out.var, &out.std].into_iter().flatten() {
        check_out(&image, o.len(), "an output")?;
    }
    check_box_scratch(&image, size)?;
    let shift = sample_shift(image.data());
    match device {
        Device::Cpu => {
            let n = size[0] as f64 * size[1] as f64;
            let want = [out.mean.is_some(), out.var.is_some(), out.std.is_some()];
            let outputs: Vec<&mut [T]> =
                [out.mean, out.var, out.std].into_iter().flatten().collect();
            box_cpu::box_sums::<T, 2, _, _>(
                image,
                size,
                (anchor, modes),
                &|v| {
                    let d = v - shift;
                    [d, d * d]
                },
                outputs,
                &|sums, outs| emit_stats(sums, outs, want, n, shift),
            );
            Ok(FilterInfo {
                method: "running sums of x − K and (x − K)² (f64)".into(),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::stats(ctx, image, size, (anchor, modes), shift, out),
    }
}

/// Writes the wanted statistics of one row from its shifted sums.
fn emit_stats<T: FilterValue>(
    sums: &[f64],
    outs: &mut [&mut [T]],
    [mean, var, std]: [bool; 3],
    n: f64,
    shift: f64,
) {
    for (i, s) in sums.chunks_exact(2).enumerate() {
        let m = s[0] / n;
        let v = s[1] / n - m * m;
        // Clamp rounding below zero; NaN stays NaN (f64::max would hide it).
        let v = if v < 0.0 { 0.0 } else { v };
        let mut k = 0;
        if mean {
            outs[k][i] = T::from_f64(m + shift);
            k += 1;
        }
        if var {
            outs[k][i] = T::from_f64(v);
            k += 1;
        }
        if std {
            outs[k][i] = T::from_f64(v.sqrt());
        }
    }
}

/// How [`correlate_with`] / [`convolve_with`] compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CorrelationMethod {
    /// Separable terms when the kernel's rank makes them cheaper, FFT tiles
    /// for large kernels (CPU), else the direct sum.
    #[default]
    Auto,
    /// Every tap per output.
    Direct,
    /// The kernel's SVD terms, however many (exact to the precision bound).
    Separable,
    /// FFT tiles in f64 (the GPU runs the direct sum instead).
    Fft,
}

/// Singular values dropped from a kernel's separable split may total this
/// much of the largest: far below each precision's error bound.
fn rank_tolerance<T: FilterValue>() -> f64 {
    if T::IS_F64 {
        1e-13
    } else {
        1e-8
    }
}

/// The definition of [`correlate`]: every tap summed directly in f64, the
/// kernel's centre at `(ky / 2 + origin, kx / 2 + origin)`.
///
/// # Errors
/// As [`correlate`] for the border.
pub fn correlate_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let border = border.into();
    let center = correlate_anchor(kernel, &border)?;
    correlate_reference_at(image, kernel, center, border.modes)
}

/// scipy's correlate takes one mode for every axis.
fn one_mode(border: &Border, what: &str) -> Result<()> {
    if border.single_mode().is_none() {
        return Err(Error::invalid(format!(
            "{what} takes one mode for both axes, not {} and {} (scipy: a sequence of modes \
             is not supported)",
            border.modes[0], border.modes[1]
        )));
    }
    Ok(())
}

/// Where a correlation with `kernel` is anchored: `k / 2 + origin`.
fn correlate_anchor(kernel: &Kernel, border: &Border) -> Result<[usize; 2]> {
    one_mode(border, "correlate")?;
    border.anchor([kernel.height(), kernel.width()])
}

/// Where a convolution (correlation with the flipped kernel) is anchored:
/// scipy negates the origin, one less for an even size, and applies its
/// rule to that.
fn convolve_anchor(kernel: &Kernel, border: &Border) -> Result<[usize; 2]> {
    one_mode(border, "convolve")?;
    let size = [kernel.height(), kernel.width()];
    let flipped = [0, 1].map(|k| -border.origin[k] - isize::from(size[k].is_multiple_of(2)));
    border
        .with_origin(flipped)
        .anchor(size)
        .map_err(|e| Error::invalid(format!("convolve flips the kernel and the origin: {e}")))
}

/// The definition of [`convolve`]: `Σ_m w[m] · x[i + k/2 − m]` per axis.
///
/// # Errors
/// As [`correlate_reference`].
pub fn convolve_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let border = border.into();
    let center = convolve_anchor(kernel, &border)?;
    correlate_reference_at(image, &kernel.flipped(), center, border.modes)
}

fn correlate_reference_at<T: FilterValue>(
    image: ImageView<'_, T>,
    kernel: &Kernel,
    [top, left]: [usize; 2],
    modes: [BoundaryMode; 2],
) -> Result<Image<f64>> {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (ky, kx) = (kernel.height(), kernel.width());
    let mut out = vec![0f64; image.data().len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                let mut s = 0.0;
                for i in 0..ky {
                    for j in 0..kx {
                        let yy = (y + i) as i64 - top as i64;
                        let xx = (x + j) as i64 - left as i64;
                        s += kernel.weights()[i * kx + j] * at(&image, yy, xx, ch, modes);
                    }
                }
                out[(y * w + x) * c + ch] = s;
            }
        }
    }
    Image::from_vec(out, h, w, c)
}

fn run_plan<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    plan: &Plan,
    modes: [BoundaryMode; 2],
    out: &mut [T],
) -> Result<FilterInfo> {
    check_out(&image, out.len(), "the output")?;
    match device {
        Device::Cpu => {
            let (values, bytes) = plan.scratch(image.width(), image.channels(), size_of::<T>());
            check_scratch(
                &format!("the buffers of {}", plan.describe()),
                values,
                bytes,
            )?;
            correlate::run_cpu(image, plan, modes, out);
            let fft = matches!(plan.method, correlate::Method::Fft(_));
            let precision = if T::IS_F64 || fft { "f64" } else { "f32" };
            Ok(FilterInfo {
                method: format!("{} ({precision})", plan.describe()),
            })
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::correlate(ctx, image, plan, modes, out),
    }
}

/// `scipy.ndimage.correlate(image, kernel, mode=…)` over the first two axes
/// of each channel: `out[y, x] = Σ_ij w[i, j] · in[y + i − ky/2, x + j − kx/2]`.
/// The method is chosen automatically: separable passes when the kernel's
/// rank (by SVD) makes them cheaper, else the direct sum (see
/// [`FilterInfo`]).
///
/// ```
/// use gpix::{correlate, BoundaryMode, Device, ImageView, Kernel};
/// let image = [1.0f64, 2.0, 3.0, 4.0];
/// let k = Kernel::new(1, 2, vec![1.0, 10.0])?;
/// let out = correlate(&Device::Cpu, ImageView::new(&image, 1, 4, 1)?, &k, BoundaryMode::Nearest)?;
/// assert_eq!(out.data(), [11.0, 21.0, 32.0, 43.0]); // w[0]·x[i−1] + w[1]·x[i]
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// `border`: a [`BoundaryMode`], or a [`Border`] with scipy's `origin`
/// (one mode for both axes, as scipy's correlate).
///
/// # Errors
/// [`Error::InvalidArgument`] for an origin outside scipy's rule or two
/// different modes; [`Error::Gpu`] if a GPU kernel fails.
pub fn correlate<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        correlate_into(device, image, kernel, border, out)
    })
}

/// [`correlate`] into a caller-owned buffer.
///
/// # Errors
/// As [`correlate`], and [`Error::InvalidArgument`] for a wrong `out` length.
pub fn correlate_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    correlate_with(device, image, kernel, border, CorrelationMethod::Auto, out)
}

/// [`correlate_into`] with the method chosen by the caller.
///
/// # Errors
/// As [`correlate_into`].
pub fn correlate_with<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
    method: CorrelationMethod,
    out: &mut [T],
) -> Result<FilterInfo> {
    let border = border.into();
    let center = correlate_anchor(kernel, &border)?;
    let plan = Plan::new(kernel, center, rank_tolerance::<T>(), method);
    run_plan(device, image, &plan, border.modes, out)
}

/// `scipy.ndimage.convolve(image, kernel, mode=…)`: correlation with the
/// kernel turned by 180°, anchored as scipy anchors it for odd and even sizes.
///
/// # Errors
/// As [`correlate`].
pub fn convolve<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        convolve_into(device, image, kernel, border, out)
    })
}

/// [`convolve`] into a caller-owned buffer.
///
/// # Errors
/// As [`correlate_into`].
pub fn convolve_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    convolve_with(device, image, kernel, border, CorrelationMethod::Auto, out)
}

/// [`convolve_into`] with the method chosen by the caller.
///
/// # Errors
/// As [`correlate_into`].
pub fn convolve_with<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    kernel: &Kernel,
    border: impl Into<Border>,
    method: CorrelationMethod,
    out: &mut [T],
) -> Result<FilterInfo> {
    let border = border.into();
    let center = convolve_anchor(kernel, &border)?;
    let plan = Plan::new(&kernel.flipped(), center, rank_tolerance::<T>(), method);
    run_plan(device, image, &plan, border.modes, out)
}

/// `scipy.ndimage.gaussian_filter(image, sigma=(sy, sx), truncate=…, mode=…)`
/// over the first two axes: separable passes with scipy's kernels.
///
/// # Errors
/// [`Error::InvalidArgument`] for a negative σ or truncate; as [`correlate`].
pub fn gaussian_filter<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    sigma: [f64; 2],
    truncate: f64,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        gaussian_filter_into(device, image, sigma, truncate, border, out)
    })
}

/// [`gaussian_filter`] into a caller-owned buffer.
///
/// # Errors
/// As [`gaussian_filter`].
pub fn gaussian_filter_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    sigma: [f64; 2],
    truncate: f64,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let gaussian = Gaussian::new(sigma).with_truncate(truncate);
    gaussian.run(device, image, border.into(), out)
}

/// The Gaussian family's parameters, as scipy.ndimage names them:
/// standard deviation and derivative order per axis (rows, columns), and
/// the kernel's reach, `truncate` standard deviations or an explicit
/// `radius` per axis. An axis with σ ≈ 0 (≤ 1e-15) is left alone whatever
/// its order, as scipy skips it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    /// Standard deviations (rows, columns), ≥ 0.
    pub sigma: [f64; 2],
    /// Derivative order per axis, 0 to [`MAX_GAUSSIAN_ORDER`].
    pub order: [u32; 2],
    /// Kernel radius in standard deviations: `int(truncate · σ + 0.5)` taps
    /// each side.
    pub truncate: f64,
    /// Taps each side per axis, overriding `truncate` (scipy's `radius`).
    pub radius: Option<[usize; 2]>,
}

impl Gaussian {
    /// A smoothing Gaussian (order 0, truncate 4, scipy's defaults).
    #[must_use]
    pub fn new(sigma: [f64; 2]) -> Self {
        Self {
            sigma,
            order: [0, 0],
            truncate: 4.0,
            radius: None,
        }
    }

    /// The same with derivative orders `order` (rows, columns).
    #[must_use]
    pub fn with_order(self, order: [u32; 2]) -> Self {
        Self { order, ..self }
    }

    /// The same truncated at `truncate` standard deviations.
    #[must_use]
    pub fn with_truncate(self, truncate: f64) -> Self {
        Self { truncate, ..self }
    }

    /// The same with `radius` taps each side per axis.
    #[must_use]
    pub fn with_radius(self, radius: [usize; 2]) -> Self {
        Self {
            radius: Some(radius),
            ..self
        }
    }

    /// The taps this filter correlates with along `axis` (0 rows, 1
    /// columns): scipy's kernel reversed, as `gaussian_filter1d` uses it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite σ or
    /// truncate, an order past [`MAX_GAUSSIAN_ORDER`], a radius over 2^20.
    pub fn taps(&self, axis: usize) -> Result<Vec<f64>> {
        let (sigma, order) = (self.sigma[axis], self.order[axis]);
        let t = self.truncate;
        if !(sigma.is_finite() && sigma >= 0.0 && t.is_finite() && t >= 0.0) {
            return Err(Error::invalid(format!(
                "sigma {sigma} and truncate {t} must be finite and ≥ 0"
            )));
        }
        if order > MAX_GAUSSIAN_ORDER {
            return Err(Error::invalid(format!(
                "derivative order {order} is not supported (0 to {MAX_GAUSSIAN_ORDER})"
            )));
        }
        if sigma <= 1e-15 {
            return Ok(vec![1.0]);
        }
        let reach = t * sigma + 0.5;
        let radius = match self.radius {
            Some(r) => r[axis],
            None if reach > f64::from(1u32 << 20) => usize::MAX,
            None => reach as usize,
        };
        let mut taps = gaussian_derivative_kernel1d(sigma, order, radius)?;
        taps.reverse();
        Ok(taps)
    }

    /// The 2-D kernel (for references and the direct sum).
    ///
    /// # Errors
    /// As [`Gaussian::taps`].
    pub fn kernel(&self) -> Result<Kernel> {
        Ok(Kernel::outer(&self.taps(0)?, &self.taps(1)?))
    }

    /// Filters `image` into `out` as scipy does: one 1-D pass per axis,
    /// rows first. The separable passes compute the 2-D correlation of the
    /// constant-padded image; scipy's column pass pads the row pass's result
    /// with `cval` instead, which differs where the row taps do not sum to 1
    /// (derivatives) by `cval · (1 − Σ wy) · Σ wx[j]` over the column taps
    /// that fall outside the image: added here, per column.
    fn run<T: FilterValue>(
        &self,
        device: &Device,
        image: ImageView<'_, T>,
        border: Border,
        out: &mut [T],
    ) -> Result<FilterInfo> {
        if border.origin != [0, 0] {
            return Err(Error::invalid(format!(
                "the Gaussian filters take no origin (scipy's gaussian_filter has none), got {:?}",
                border.origin
            )));
        }
        let (wy, wx) = (self.taps(0)?, self.taps(1)?);
        let row_sum: f64 = wy.iter().sum();
        let mode = border.modes[1];
        let scale = mode.cval() * (1.0 - row_sum);
        let constant = matches!(mode, BoundaryMode::Constant(_));
        let correction: Option<Vec<f64>> =
            (constant && self.order[0] > 0 && scale != 0.0).then(|| {
                outside_weights(&wx, image.width())
                    .map(|o| scale * o)
                    .collect()
            });
        let info = run_plan(device, image, &Plan::separable(wy, wx), border.modes, out)?;
        if let Some(add) = correction {
            let c = image.channels();
            for row in out.chunks_mut((image.width() * c).max(1)) {
                for (px, &a) in row.chunks_mut(c.max(1)).zip(&add) {
                    for v in px {
                        *v = T::from_f64(v.to_f64() + a);
                    }
                }
            }
        }
        Ok(info)
    }

    /// The `order`-th derivatives along rows and along columns, for the
    /// Laplace and gradient magnitude (which take smoothing Gaussians only).
    fn derivative_pair(&self, what: &str, order: u32) -> Result<[Self; 2]> {
        Ok([
            self.derivative(what, [order, 0])?,
            self.derivative(what, [0, order])?,
        ])
    }

    /// The same with derivative orders `order`, for the composite filters
    /// (which take smoothing Gaussians only).
    fn derivative(&self, what: &str, order: [u32; 2]) -> Result<Self> {
        if self.order != [0, 0] {
            return Err(Error::invalid(format!(
                "{what} takes no derivative order (got {:?})",
                self.order
            )));
        }
        Ok(self.with_order(order))
    }
}

/// `scipy.ndimage.gaussian_filter(image, sigma, order, truncate=…,
/// radius=…, mode=…)` over the first two axes: separable passes with
/// scipy's kernels (derivatives of Gaussians for orders 1–3).
///
/// ```
/// use gpix::{gaussian_filter_with, BoundaryMode, Device, Gaussian, ImageView};
/// // A ramp's first derivative along x is its slope, away from the ends.
/// let ramp: Vec<f64> = (0..16).map(f64::from).collect();
/// let g = Gaussian::new([0.0, 1.0]).with_order([0, 1]);
/// let d = gaussian_filter_with(&Device::Cpu, ImageView::new(&ramp, 1, 16, 1)?, &g, BoundaryMode::Nearest)?;
/// assert!((d.data()[8] - 1.0).abs() < 1e-3);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// As [`Gaussian::taps`]; [`Error::Gpu`] if a GPU kernel fails.
pub fn gaussian_filter_with<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        gaussian_filter_with_into(device, image, gaussian, border, out)
    })
}

/// [`gaussian_filter_with`] into a caller-owned buffer.
///
/// # Errors
/// As [`gaussian_filter_with`], and [`Error::InvalidArgument`] for a wrong
/// `out` length.
pub fn gaussian_filter_with_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    gaussian.run(device, image, border.into(), out)
}

/// `scipy.ndimage.gaussian_laplace(image, sigma, mode=…)` per channel: the
/// sum of the second derivatives of Gaussians along rows and columns.
///
/// With one mode per axis, each term runs with its axis's mode on both
/// axes, as scipy's `generic_laplace` hands each derivative one mode (the
/// same for [`gaussian_gradient_magnitude`]).
///
/// # Errors
/// As [`gaussian_filter_with`], and [`Error::InvalidArgument`] when
/// `gaussian` has a derivative order.
pub fn gaussian_laplace<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        gaussian_laplace_into(device, image, gaussian, border, out)
    })
}

/// [`gaussian_laplace`] into a caller-owned buffer.
///
/// # Errors
/// As [`gaussian_laplace`], and [`Error::InvalidArgument`] for a wrong
/// `out` length.
pub fn gaussian_laplace_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let [rows, cols] = gaussian.derivative_pair("gaussian_laplace", 2)?;
    two_passes(
        device,
        image,
        [&rows, &cols],
        per_term(border.into()),
        out,
        |a, b| a + b,
    )
}

/// `scipy.ndimage.gaussian_gradient_magnitude(image, sigma, mode=…)` per
/// channel: `√(∂y² + ∂x²)` of first derivatives of Gaussians.
///
/// # Errors
/// As [`gaussian_laplace`].
pub fn gaussian_gradient_magnitude<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        gaussian_gradient_magnitude_into(device, image, gaussian, border, out)
    })
}

/// [`gaussian_gradient_magnitude`] into a caller-owned buffer.
///
/// # Errors
/// As [`gaussian_gradient_magnitude`], and [`Error::InvalidArgument`] for a
/// wrong `out` length.
pub fn gaussian_gradient_magnitude_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let [rows, cols] = gaussian.derivative_pair("gaussian_gradient_magnitude", 1)?;
    // scipy: out = ∂y·∂y, out += ∂x·∂x, √out, in the array's type.
    two_passes(
        device,
        image,
        [&rows, &cols],
        per_term(border.into()),
        out,
        |a, b| T::from_f64((a * a + b * b).to_f64().sqrt()),
    )
}

/// `skimage.filters.difference_of_gaussians(image, low_sigma, high_sigma)`
/// per channel: the image blurred by `low` minus the image blurred by
/// `high` (skimage's default `high` is 1.6 × the low σ; its default mode
/// is nearest).
///
/// # Errors
/// As [`gaussian_laplace`] (for either Gaussian), and
/// [`Error::InvalidArgument`] when `high` is narrower than `low` on an axis
/// (as skimage).
pub fn difference_of_gaussians<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    low: &Gaussian,
    high: &Gaussian,
    border: impl Into<Border>,
) -> Result<Image<T>> {
    allocated(&image, |out| {
        difference_of_gaussians_into(device, image, low, high, border, out)
    })
}

/// [`difference_of_gaussians`] into a caller-owned buffer.
///
/// # Errors
/// As [`difference_of_gaussians`], and [`Error::InvalidArgument`] for a
/// wrong `out` length.
pub fn difference_of_gaussians_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    low: &Gaussian,
    high: &Gaussian,
    border: impl Into<Border>,
    out: &mut [T],
) -> Result<FilterInfo> {
    let what = "difference_of_gaussians";
    if (0..2).any(|a| high.sigma[a] < low.sigma[a]) {
        // skimage's rule: the second blur is the wider one on every axis.
        return Err(Error::invalid(format!(
            "{what}: the high sigma {:?} must be at least the low sigma {:?} on every axis",
            high.sigma, low.sigma
        )));
    }
    let low = low.derivative(what, [0, 0])?;
    let high = high.derivative(what, [0, 0])?;
    let border = border.into();
    two_passes(device, image, [&low, &high], [border; 2], out, |a, b| a - b)
}

/// The definition of [`gaussian_filter_with`], as scipy computes it: a 1-D
/// correlation along the rows axis (each pass pads per `mode`), then one
/// along the columns axis over that result, all in f64.
///
/// # Errors
/// As [`Gaussian::taps`].
pub fn gaussian_filter_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    gaussian: &Gaussian,
    border: impl Into<Border>,
) -> Result<Image<f64>> {
    let modes = border.into().modes;
    let (wy, wx) = (gaussian.taps(0)?, gaussian.taps(1)?);
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let pass = |src: &ImageView<'_, f64>, taps: &[f64], along_rows: bool| {
        let centre = (taps.len() / 2) as i64;
        let mut out = vec![0f64; h * w * c];
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    out[(y * w + x) * c + ch] = taps
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            let d = i as i64 - centre;
                            let (yy, xx) = if along_rows {
                                (y as i64 + d, x as i64)
                            } else {
                                (y as i64, x as i64 + d)
                            };
                            t * at(src, yy, xx, ch, modes)
                        })
                        .sum();
                }
            }
        }
        out
    };
    let input: Vec<f64> = image.data().iter().map(|v| v.to_f64()).collect();
    let rows = pass(&ImageView::new(&input, h, w, c)?, &wy, true);
    let both = pass(&ImageView::new(&rows, h, w, c)?, &wx, false);
    Image::from_vec(both, h, w, c)
}

/// Per column of a `width`-wide row: the total of the taps `wx` (centred
/// at `len / 2`) that reach outside the row.
fn outside_weights(wx: &[f64], width: usize) -> impl Iterator<Item = f64> + '_ {
    let left = (wx.len() / 2) as i64;
    (0..width as i64).map(move |x| {
        wx.iter()
            .enumerate()
            .filter(|&(j, _)| {
                let at = x + j as i64 - left;
                at < 0 || at >= width as i64
            })
            .map(|(_, w)| w)
            .sum()
    })
}

/// scipy's Laplace and gradient magnitude with one mode per axis: the term
/// differentiated along y runs with the y mode on both axes, the x term
/// with the x mode (`generic_laplace` hands each term one mode).
fn per_term(border: Border) -> [Border; 2] {
    border.modes.map(|m| Border {
        modes: [m, m],
        ..border
    })
}

/// A new output the size of `image`, filled by an `_into` variant.
fn allocated<T: FilterValue>(
    image: &ImageView<'_, T>,
    fill: impl FnOnce(&mut [T]) -> Result<FilterInfo>,
) -> Result<Image<T>> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    fill(out.data_mut())?;
    Ok(out)
}

/// Filters `image` with `first` into `out` and `second` into scratch (each
/// through the separable passes of the device), then `out = combine(out,
/// scratch)` element by element on the host.
fn two_passes<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    [first, second]: [&Gaussian; 2],
    [border_first, border_second]: [Border; 2],
    out: &mut [T],
    combine: impl Fn(T, T) -> T + Sync,
) -> Result<FilterInfo> {
    use rayon::prelude::*;
    // Both checked before either runs.
    for g in [first, second] {
        g.taps(0)?;
        g.taps(1)?;
    }
    check_out(&image, out.len(), "the output")?;
    crate::mem::check_bytes(
        || "the second filter's scratch array".to_owned(),
        Some(out.len() as u128),
        size_of::<T>(),
    )?;
    let info = first.run(device, image, border_first, out)?;
    let mut other = vec![T::default(); out.len()];
    second.run(device, image, border_second, &mut other)?;
    out.par_chunks_mut(1 << 16)
        .zip(other.par_chunks(1 << 16))
        .for_each(|(o, b)| {
            for (o, &b) in o.iter_mut().zip(b) {
                *o = combine(*o, b);
            }
        });
    Ok(FilterInfo {
        method: format!("{}, twice, combined on the cpu", info.method),
    })
}

/// The kernel of [`gaussian_filter`] as a 2-D [`Kernel`] (for references).
///
/// # Errors
/// As [`gaussian_kernel1d`].
pub fn gaussian_kernel(sigma: [f64; 2], truncate: f64) -> Result<Kernel> {
    Ok(Kernel::outer(
        &gaussian_kernel1d(sigma[0], truncate)?,
        &gaussian_kernel1d(sigma[1], truncate)?,
    ))
}
