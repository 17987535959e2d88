//! Per-label means: every pixel carries an integer label (a segmentation);
//! [`label_sums`] / [`label_means`] give each label's pixel count and channel
//! sums or means, [`label_mean_image`] paints every pixel with its label's
//! mean. Cost is O(pixels + labels) on every path.
//!
//! Labels are any `u32` values and may be sparse ({0, 7, 2^31 + 5}): they are
//! mapped to dense table rows first (`rows.rs`), so memory grows with the
//! number of distinct labels, not with the largest one.
//!
//! Exactness: integer images are summed exactly in 64 bits on every path, so
//! CPU and GPU results are bit-identical. Float images are summed in f64 on
//! the CPU; the GPU sums each float exactly as a 96-bit fixed-point integer
//! scaled per label and channel (see `shaders/label_mean.wgsl`), which bounds
//! the error of a mean by `count · 2^-61 · max|x|` over the label — at most
//! 2^-29 ≈ 1.9e-9 relative to the label's mean magnitude.

mod cpu;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod rows;

use std::collections::BTreeMap;

use crate::array::{Element, Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};

pub use rows::Rows;

/// Pixel value types label means accept: `u8`, `u16`, `i32`, `f32`, `f64`.
pub trait LabelValue: Element {
    /// The exact accumulator: `i64` for integers, `f64` for floats.
    type Sum: SumValue;
    /// How the GPU kernel reads the value (`MODE` in `label_mean.wgsl`).
    #[doc(hidden)]
    const GPU_MODE: u32;
    /// The value widened to its accumulator.
    fn widen(self) -> Self::Sum;
}

/// The accumulator of a [`LabelValue`].
pub trait SumValue:
    Copy + Default + Send + Sync + PartialEq + std::fmt::Debug + std::ops::AddAssign + 'static
{
    /// `sum / count` in f64.
    fn mean_f64(self, count: u64) -> f64;
    /// A GPU total: the 96-bit `fixed` value times `2^scale`; `flags` are
    /// the NaN/±inf flags of the values summed (see `label_mean.wgsl`).
    #[doc(hidden)]
    fn from_gpu(fixed: i128, scale: i32, flags: u32) -> Self;
}

impl SumValue for i64 {
    fn mean_f64(self, count: u64) -> f64 {
        self as f64 / count as f64
    }
    fn from_gpu(fixed: i128, _scale: i32, _flags: u32) -> Self {
        // Integer totals are exact and fit i64 (at most 2^32 values of 2^31).
        fixed as i64
    }
}

impl SumValue for f64 {
    fn mean_f64(self, count: u64) -> f64 {
        self / count as f64
    }
    fn from_gpu(fixed: i128, scale: i32, flags: u32) -> Self {
        const NAN: u32 = 1;
        const POS_INF: u32 = 2;
        const NEG_INF: u32 = 4;
        match flags & 7 {
            0 => ldexp(fixed as f64, scale),
            f if f & NAN != 0 || f == POS_INF | NEG_INF => f64::NAN,
            POS_INF => f64::INFINITY,
            _ => f64::NEG_INFINITY,
        }
    }
}

/// `x · 2^k` without overflowing or underflowing the power on the way.
fn ldexp(mut x: f64, mut k: i32) -> f64 {
    while k > 1000 {
        x *= 2f64.powi(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= 2f64.powi(-1000);
        k += 1000;
    }
    x * 2f64.powi(k)
}

macro_rules! label_value {
    ($($t:ty => $sum:ty, $mode:literal);*) => {$(
        impl LabelValue for $t {
            type Sum = $sum;
            const GPU_MODE: u32 = $mode;
            #[inline(always)]
            fn widen(self) -> $sum {
                <$sum>::from(self)
            }
        }
    )*};
}
label_value!(u8 => i64, 0; u16 => i64, 1; i32 => i64, 2; f32 => f64, 4; f64 => f64, 5);

/// Output element types of the recolour, made from a label's sum and count.
pub trait MeanElement<S: SumValue>: Element {
    /// The mean as this type: integers round half up exactly,
    /// `floor((2·sum + count) / (2·count))`; floats are `sum / count`.
    fn mean(sum: S, count: u64) -> Self;
}

/// Exact `floor((2·sum + count) / (2·count))`.
fn rounded_mean(sum: i64, count: u64) -> i128 {
    let (s, c) = (i128::from(sum), i128::from(count.max(1)));
    (2 * s + c).div_euclid(2 * c)
}

macro_rules! int_mean {
    ($($t:ty),*) => {$(
        impl MeanElement<i64> for $t {
            fn mean(sum: i64, count: u64) -> Self {
                // A mean lies within the range of the values it averages.
                rounded_mean(sum, count).clamp(<$t>::MIN.into(), <$t>::MAX.into()) as $t
            }
        }
    )*};
}
int_mean!(u8, u16, i32);

impl<S: SumValue> MeanElement<S> for f32 {
    fn mean(sum: S, count: u64) -> Self {
        sum.mean_f64(count) as f32
    }
}

impl<S: SumValue> MeanElement<S> for f64 {
    fn mean(sum: S, count: u64) -> Self {
        sum.mean_f64(count)
    }
}

/// Pixel counts and channel sums of every label present, ascending by label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelTable<S> {
    /// Values per pixel.
    pub channels: usize,
    /// The distinct labels, ascending.
    pub labels: Vec<u32>,
    /// Pixels per label.
    pub counts: Vec<u64>,
    /// Per label, the sum of each channel (`labels.len() × channels`).
    pub sums: Vec<S>,
}

impl<S: SumValue> LabelTable<S> {
    /// Number of distinct labels.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the image had no pixels.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Mean of entry `i` (not label value `i`), channel `c`, as `O`.
    #[must_use]
    pub fn mean<O: MeanElement<S>>(&self, i: usize, c: usize) -> O {
        O::mean(self.sums[i * self.channels + c], self.counts[i])
    }

    /// All means (`len() × channels`) as `O`.
    #[must_use]
    pub fn means<O: MeanElement<S>>(&self) -> Vec<O> {
        (0..self.len() * self.channels)
            .map(|j| self.mean(j / self.channels, j % self.channels))
            .collect()
    }
}

/// Per-row totals before empty rows are dropped (dense rows may be absent).
pub(crate) struct RowTotals<S> {
    pub(crate) counts: Vec<u64>,
    pub(crate) sums: Vec<S>,
}

impl<S: SumValue> RowTotals<S> {
    fn into_table(self, rows: &Rows, channels: usize) -> LabelTable<S> {
        let mut table = LabelTable {
            channels,
            labels: Vec::new(),
            counts: Vec::new(),
            sums: Vec::new(),
        };
        for (r, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                table.labels.push(rows.label(r));
                table.counts.push(count);
                table
                    .sums
                    .extend_from_slice(&self.sums[r * channels..(r + 1) * channels]);
            }
        }
        table
    }

    /// Each row's mean as `O` (`rows × channels`; empty rows get `O::default()`).
    fn means<O: MeanElement<S>>(&self, channels: usize) -> Vec<O> {
        let mut out = vec![O::default(); self.sums.len()];
        for (r, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                for c in 0..channels {
                    out[r * channels + c] = O::mean(self.sums[r * channels + c], count);
                }
            }
        }
        out
    }
}

fn check_shape<T: Element>(image: &ImageView<'_, T>, labels: &[u32]) -> Result<()> {
    if labels.len() != image.pixels() {
        return Err(Error::invalid(format!(
            "{} labels for an image of {}×{} pixels",
            labels.len(),
            image.height(),
            image.width()
        )));
    }
    if u32::try_from(labels.len()).is_err() {
        return Err(Error::too_large(
            "label-mean pixels",
            labels.len() as u64,
            u64::from(u32::MAX),
        ));
    }
    Ok(())
}

/// The definition: one ordered map from label to totals, one pass.
///
/// # Errors
/// [`Error::InvalidArgument`] if `labels` does not hold one label per pixel.
pub fn label_sums_reference<T: LabelValue>(
    image: ImageView<'_, T>,
    labels: &[u32],
) -> Result<LabelTable<T::Sum>> {
    check_shape(&image, labels)?;
    let channels = image.channels();
    let mut map: BTreeMap<u32, (u64, Vec<T::Sum>)> = BTreeMap::new();
    for (px, &l) in image.data().chunks_exact(channels).zip(labels) {
        let entry = map
            .entry(l)
            .or_insert_with(|| (0, vec![T::Sum::default(); channels]));
        entry.0 += 1;
        for (s, &v) in entry.1.iter_mut().zip(px) {
            *s += v.widen();
        }
    }
    let mut table = LabelTable {
        channels,
        labels: Vec::with_capacity(map.len()),
        counts: Vec::with_capacity(map.len()),
        sums: Vec::with_capacity(map.len() * channels),
    };
    for (l, (count, sums)) in map {
        table.labels.push(l);
        table.counts.push(count);
        table.sums.extend(sums);
    }
    Ok(table)
}

/// The definition of the recolour: each pixel's label mean from
/// [`label_sums_reference`].
///
/// # Errors
/// As [`label_sums_reference`].
pub fn label_mean_image_reference<T: LabelValue, O: MeanElement<T::Sum>>(
    image: ImageView<'_, T>,
    labels: &[u32],
) -> Result<Image<O>> {
    let table = label_sums_reference(image, labels)?;
    let channels = image.channels();
    let mut out = Vec::with_capacity(image.data().len());
    for &l in labels {
        let i = table
            .labels
            .binary_search(&l)
            .map_err(|_| Error::invalid("label missing from its own table"))?;
        out.extend((0..channels).map(|c| table.mean::<O>(i, c)));
    }
    Image::from_vec(out, image.height(), image.width(), channels)
}

fn row_totals<T: LabelValue>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
    rows: &Rows,
) -> Result<RowTotals<T::Sum>> {
    match device {
        Device::Cpu => Ok(cpu::row_totals(image, labels, rows)),
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => {
            let mut bands = gpu_bands(ctx, &image, 0, false)?;
            gpu::row_totals(ctx, image, labels, rows, &mut bands)
        }
    }
}

/// The GPU bands of a call whose largest per-row buffer is the image's or
/// an output of `out_bytes` per value; `keep` keeps the labels on the
/// device for the recolour.
#[cfg(feature = "gpu")]
fn gpu_bands<T: LabelValue>(
    ctx: &crate::gpu::GpuContext,
    image: &ImageView<'_, T>,
    out_bytes: usize,
    keep: bool,
) -> Result<gpu::LabelBands> {
    let value_row = image.width() * image.channels() * std::mem::size_of::<T>();
    let out_row = image.width() * image.channels() * out_bytes;
    gpu::LabelBands::new(
        ctx,
        image.height(),
        image.width(),
        value_row.max(out_row) as u64,
        keep,
    )
}

/// Pixel count and per-channel sum of every label, ascending by label.
///
/// ```
/// use gpix::{label_sums, Device, ImageView};
/// let image = [10u8, 20, 30, 41];
/// let labels = [7u32, 7, 0, 7];
/// let t = label_sums(&Device::Cpu, ImageView::new(&image, 2, 2, 1)?, &labels)?;
/// assert_eq!(t.labels, [0, 7]);
/// assert_eq!(t.counts, [1, 3]);
/// assert_eq!(t.sums, [30, 71]);
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if `labels` does not hold one label per pixel;
/// [`Error::Gpu`] if a GPU kernel fails.
pub fn label_sums<T: LabelValue>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
) -> Result<LabelTable<T::Sum>> {
    check_shape(&image, labels)?;
    let rows = Rows::new(labels);
    Ok(row_totals(device, image, labels, &rows)?.into_table(&rows, image.channels()))
}

/// Mean per label and channel in f64, with the labels and counts.
///
/// # Errors
/// As [`label_sums`].
pub fn label_means<T: LabelValue>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
) -> Result<(LabelTable<T::Sum>, Vec<f64>)> {
    let table = label_sums(device, image, labels)?;
    let means = table.means::<f64>();
    Ok((table, means))
}

/// Every pixel painted with its label's mean, plus the table it came from.
///
/// ```
/// use gpix::{label_mean_image, Device, ImageView};
/// let image = [10u8, 20, 30, 41];
/// let labels = [7u32, 7, 0, 7];
/// let (out, _) = label_mean_image::<u8, u8>(&Device::Cpu, ImageView::new(&image, 2, 2, 1)?, &labels)?;
/// assert_eq!(out.data(), [24, 24, 30, 24]); // 71/3 = 23.67 rounds to 24
/// # Ok::<(), gpix::Error>(())
/// ```
///
/// # Errors
/// As [`label_sums`].
pub fn label_mean_image<T: LabelValue, O: MeanElement<T::Sum>>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
) -> Result<(Image<O>, LabelTable<T::Sum>)> {
    let mut out = Image::zeros(image.height(), image.width(), image.channels())?;
    let table = label_mean_image_into(device, image, labels, out.data_mut())?;
    Ok((out, table))
}

/// [`label_mean_image`] into a caller-owned buffer of `image.data().len()`
/// values (reuse it across calls: a fresh buffer costs page faults).
///
/// # Errors
/// As [`label_sums`], and [`Error::InvalidArgument`] if `out` has the wrong length.
pub fn label_mean_image_into<T: LabelValue, O: MeanElement<T::Sum>>(
    device: &Device,
    image: ImageView<'_, T>,
    labels: &[u32],
    out: &mut [O],
) -> Result<LabelTable<T::Sum>> {
    check_shape(&image, labels)?;
    if out.len() != image.data().len() {
        return Err(Error::invalid(format!(
            "output holds {} values, the image {}",
            out.len(),
            image.data().len()
        )));
    }
    let channels = image.channels();
    let rows = Rows::new(labels);
    let totals = match device {
        Device::Cpu => {
            let totals = cpu::row_totals(image, labels, &rows);
            cpu::paint(labels, &rows, &totals.means::<O>(channels), channels, out);
            totals
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => {
            // One band plan for both sweeps: the labels stay on the device.
            // Resident labels may take 2 GiB: allocated inside an error scope.
            let mut bands = ctx.checked("label-mean set-up", || {
                gpu_bands(ctx, &image, std::mem::size_of::<O>(), true)
            })?;
            let totals = gpu::row_totals(ctx, image, labels, &rows, &mut bands)?;
            let means = totals.means::<O>(channels);
            gpu::paint(ctx, labels, &bands, &rows, &means, channels, out)?;
            totals
        }
    };
    Ok(totals.into_table(&rows, channels))
}

/// Where each phase of [`label_mean_image`] runs for a value type and
/// device, as `gpix label-mean -v` says it.
#[must_use]
pub fn describe_label_mean<T: LabelValue>(device: &Device) -> String {
    let sums = if T::GPU_MODE >= 4 {
        "exact 96-bit fixed point per label"
    } else {
        "exact integers"
    };
    if device.is_cpu() {
        format!("label rows cpu; sums cpu ({sums}); recolour cpu")
    } else {
        format!("label rows cpu; sums gpu ({sums}); recolour gpu")
    }
}

/// Converts labels of any integer type to `u32`, rejecting negative values
/// and values over `u32::MAX` with the offending value in the message.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first bad label.
pub fn labels_to_u32<L>(labels: &[L]) -> Result<Vec<u32>>
where
    L: Copy + Send + Sync + TryInto<u32> + std::fmt::Display,
{
    let mut out = vec![0u32; labels.len()];
    labels_to_u32_into(labels, &mut out)?;
    Ok(out)
}

/// [`labels_to_u32`] into a caller-owned buffer of `labels.len()` values
/// (reused between calls, it costs no page faults).
///
/// # Errors
/// As [`labels_to_u32`], and [`Error::InvalidArgument`] for a wrong `out` length.
pub fn labels_to_u32_into<L>(labels: &[L], out: &mut [u32]) -> Result<()>
where
    L: Copy + Send + Sync + TryInto<u32> + std::fmt::Display,
{
    use rayon::prelude::*;
    if out.len() != labels.len() {
        return Err(Error::invalid(format!(
            "output holds {} labels, the input {}",
            out.len(),
            labels.len()
        )));
    }
    let bad = out
        .par_chunks_mut(1 << 16)
        .zip(labels.par_chunks(1 << 16))
        .find_map_first(|(dst, src)| {
            for (d, &s) in dst.iter_mut().zip(src) {
                match s.try_into() {
                    Ok(v) => *d = v,
                    Err(_) => return Some(s),
                }
            }
            None
        });
    match bad {
        Some(l) => Err(Error::invalid(format!(
            "label {l} is outside 0..=4294967295 (labels must be non-negative 32-bit values)"
        ))),
        None => Ok(()),
    }
}
