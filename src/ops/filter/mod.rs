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
#[cfg(feature = "gpu")]
mod gpu;

pub use boundary::{boundary_index, BoundaryMode};

use crate::array::{Element, Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};

/// Element types the filters take and return: `f32` and `f64`.
pub trait FilterValue: Element {
    /// The value in f64.
    fn to_f64(self) -> f64;
    /// An f64 result rounded to this type.
    fn from_f64(v: f64) -> Self;
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
    const IS_F64: bool = false;
}

impl FilterValue for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    const IS_F64: bool = true;
}

/// What a filter call did, for `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInfo {
    /// The method used (e.g. "running sums (f64)").
    pub method: String,
}

/// A window size `[rows, columns]`, both ≥ 1.
fn check_size(size: [usize; 2]) -> Result<()> {
    if size.contains(&0) {
        return Err(Error::invalid(format!(
            "window size {}x{} must be at least 1x1",
            size[0], size[1]
        )));
    }
    Ok(())
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
    mode: BoundaryMode,
) -> f64 {
    let (h, w, ch) = (image.height(), image.width(), image.channels());
    match (boundary_index(y, h, mode), boundary_index(x, w, mode)) {
        (Some(y), Some(x)) => image.data()[(y * w + x) * ch + c].to_f64(),
        _ => mode.cval(),
    }
}

/// Every window's values, in f64, for the references.
fn windows<T: FilterValue>(
    image: ImageView<'_, T>,
    [ny, nx]: [usize; 2],
    mode: BoundaryMode,
    mut each: impl FnMut(usize, &[f64]),
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    let (top, left) = ((ny / 2) as i64, (nx / 2) as i64);
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
                            mode,
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
/// [`Error::InvalidArgument`] for a zero window size.
pub fn uniform_filter_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
) -> Result<Image<f64>> {
    check_size(size)?;
    let mut out = vec![0f64; image.data().len()];
    let n = (size[0] * size[1]) as f64;
    windows(image, size, mode, |i, v| out[i] = v.iter().sum::<f64>() / n);
    Image::from_vec(out, image.height(), image.width(), image.channels())
}

/// The definition of [`local_stats`]: each window's mean and population
/// variance `Σ(x − mean)² / n`, two passes in f64.
///
/// # Errors
/// [`Error::InvalidArgument`] for a zero window size.
pub fn local_stats_reference<T: FilterValue>(
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
) -> Result<(Image<f64>, Image<f64>)> {
    check_size(size)?;
    let mut mean = vec![0f64; image.data().len()];
    let mut var = vec![0f64; image.data().len()];
    let n = (size[0] * size[1]) as f64;
    windows(image, size, mode, |i, v| {
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
/// # Errors
/// [`Error::InvalidArgument`] for a zero window size; [`Error::Gpu`] if a
/// GPU kernel fails.
pub fn uniform_filter<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
) -> Result<Image<T>> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    uniform_filter_into(device, image, size, mode, out.data_mut())?;
    Ok(out)
}

/// [`uniform_filter`] into a caller-owned buffer of `image.data().len()` values.
///
/// # Errors
/// As [`uniform_filter`], and [`Error::InvalidArgument`] for a wrong `out` length.
pub fn uniform_filter_into<T: FilterValue>(
    device: &Device,
    image: ImageView<'_, T>,
    size: [usize; 2],
    mode: BoundaryMode,
    out: &mut [T],
) -> Result<FilterInfo> {
    check_size(size)?;
    check_out(&image, out.len(), "the output")?;
    match device {
        Device::Cpu => {
            let n = (size[0] * size[1]) as f64;
            box_cpu::box_sums::<T, 1, _, _>(
                image,
                size,
                mode,
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
        Device::Gpu(ctx) => gpu::uniform(ctx, image, size, mode, out),
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
    mode: BoundaryMode,
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
        mode,
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
    mode: BoundaryMode,
    out: StatsOut<'_, T>,
) -> Result<FilterInfo> {
    check_size(size)?;
    for o in [&out.mean, &out.var, &out.std].into_iter().flatten() {
        check_out(&image, o.len(), "an output")?;
    }
    let shift = sample_shift(image.data());
    match device {
        Device::Cpu => {
            let n = (size[0] * size[1]) as f64;
            let want = [out.mean.is_some(), out.var.is_some(), out.std.is_some()];
            let outputs: Vec<&mut [T]> =
                [out.mean, out.var, out.std].into_iter().flatten().collect();
            box_cpu::box_sums::<T, 2, _, _>(
                image,
                size,
                mode,
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
        Device::Gpu(ctx) => gpu::stats(ctx, image, size, mode, shift, out),
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
