//! Nearest-palette quantization: for every pixel, the index of the palette
//! colour at the smallest squared Euclidean distance (all channels, alpha
//! included), ties to the lowest index.
//!
//! Three implementations behind one function, proved equal by property tests:
//! - `*_reference`: a loop over every palette entry per pixel, the definition;
//! - the fast CPU path (`cpu.rs`): exact candidate lists per colour-space cell;
//! - the GPU path (`gpu.rs`, WGSL `shaders/palette_grid.wgsl`): the CPU's
//!   candidate grid built on the host and searched per pixel on the GPU
//!   (float levels: a binary search), in bands sized to the device.

pub(crate) mod cpu;
mod dither;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
#[cfg(target_arch = "x86_64")]
mod simd;

use crate::array::{Element, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::palette::{Levels, Palette};

pub use dither::{
    bayer_offsets, dither_palette, dither_palette_into, dither_palette_into_with_progress, Dither,
};

/// Integer pixel values the palette kernels take: `u8` and `u16`.
pub trait PaletteValue: Element + Into<u16> {
    /// Bits per value (8 or 16).
    const BITS: u32;
    /// Converts back from a palette value known to fit.
    fn from_u16(v: u16) -> Self;
}

impl PaletteValue for u8 {
    const BITS: u32 = 8;
    fn from_u16(v: u16) -> Self {
        u8::try_from(v).unwrap_or(u8::MAX)
    }
}

impl PaletteValue for u16 {
    const BITS: u32 = 16;
    fn from_u16(v: u16) -> Self {
        v
    }
}

/// Index types for the index map: `u8` for palettes of up to 256 colours,
/// `u16` for up to 65536.
pub trait PaletteIndex: Element {
    /// Largest palette this index type can address.
    const CAPACITY: usize;
    /// `i`, which the caller guarantees is below [`Self::CAPACITY`].
    fn from_index(i: usize) -> Self;
    /// The index as `usize`.
    fn to_usize(self) -> usize;
}

impl PaletteIndex for u8 {
    const CAPACITY: usize = 256;
    fn from_index(i: usize) -> Self {
        i as u8
    }
    fn to_usize(self) -> usize {
        usize::from(self)
    }
}

impl PaletteIndex for u16 {
    const CAPACITY: usize = 65536;
    fn from_index(i: usize) -> Self {
        i as u16
    }
    fn to_usize(self) -> usize {
        usize::from(self)
    }
}

/// Float greyscale values: `f32` and `f64`.
pub trait GreyFloat: Element {
    /// Exact widening to f64.
    fn to_f64(self) -> f64;
    /// Rounding narrowing from f64 (levels written back into the image's dtype).
    fn from_f64(v: f64) -> Self;
}

impl GreyFloat for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl GreyFloat for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Called with (rows done, rows in all) as work completes; may be called
/// from several threads.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

fn no_progress(_: usize, _: usize) {}

/// Checks that `palette` fits an image of `channels` values of `T`, and that
/// its length fits the index type `I`.
fn check_palette<T: PaletteValue, I: PaletteIndex>(
    channels: usize,
    palette: &Palette,
) -> Result<()> {
    if palette.channels() != channels {
        return Err(Error::invalid(format!(
            "the palette has {} channels per colour but the image has {channels}",
            palette.channels()
        )));
    }
    let max = if T::BITS == 8 { 255 } else { u16::MAX };
    if palette.max_value() > max {
        return Err(Error::invalid(format!(
            "the palette has a value of {} but the image is {} (0..={max})",
            palette.max_value(),
            T::NAME
        )));
    }
    check_index_capacity::<I>(palette.len())
}

fn check_index_capacity<I: PaletteIndex>(k: usize) -> Result<()> {
    if k > I::CAPACITY {
        return Err(Error::invalid(format!(
            "a palette of {k} colours needs a larger index type than {}",
            I::NAME
        )));
    }
    Ok(())
}

fn check_grey<T: Element>(image: &ImageView<'_, T>) -> Result<()> {
    if image.channels() != 1 {
        return Err(Error::invalid(format!(
            "grey levels apply to single-channel images, not {} channels",
            image.channels()
        )));
    }
    Ok(())
}

fn check_out_len(out: usize, pixels: usize) -> Result<()> {
    if out != pixels {
        return Err(Error::invalid(format!(
            "the output holds {out} indices but the image has {pixels} pixels"
        )));
    }
    Ok(())
}

/// Squared distance between a pixel and a palette colour, exact in u64.
fn squared_distance<T: PaletteValue>(pixel: &[T], color: &[u16]) -> u64 {
    pixel
        .iter()
        .zip(color)
        .map(|(&p, &c)| {
            let d = u64::from(p.into().abs_diff(c));
            d * d
        })
        .sum()
}

/// The definition: for every pixel, scan the whole palette.
///
/// # Errors
/// As [`nearest_palette`].
pub fn nearest_palette_reference<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
) -> Result<Vec<I>> {
    check_palette::<T, I>(image.channels(), palette)?;
    Ok(image
        .data()
        .chunks_exact(image.channels())
        .map(|pixel| {
            let mut best = (squared_distance(pixel, palette.color(0)), 0);
            for i in 1..palette.len() {
                let d = squared_distance(pixel, palette.color(i));
                if d < best.0 {
                    best = (d, i);
                }
            }
            I::from_index(best.1)
        })
        .collect())
}

/// The definition for float greyscale: `|x - level|` in f64 for every level,
/// ties (including ties made by rounding) to the lowest index. A NaN pixel
/// gets index 0.
///
/// # Errors
/// As [`nearest_level`].
pub fn nearest_level_reference<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
) -> Result<Vec<I>> {
    check_grey(&image)?;
    check_index_capacity::<I>(levels.len())?;
    let l = levels.values();
    Ok(image
        .data()
        .iter()
        .map(|&x| {
            let x = x.to_f64();
            let mut best = ((x - l[0]).abs(), 0);
            for (i, &level) in l.iter().enumerate().skip(1) {
                let d = (x - level).abs();
                if d < best.0 {
                    best = (d, i);
                }
            }
            I::from_index(best.1)
        })
        .collect())
}

/// Index of the nearest palette colour for every pixel of an 8- or 16-bit
/// image (row-major, one index per pixel).
///
/// Distance is the squared Euclidean distance over all channels (alpha counts
/// when present), computed exactly in integers on every device; ties go to the
/// lowest palette index. Results are identical on the CPU and any GPU.
///
/// # Errors
/// [`Error::InvalidArgument`] if the palette's channel count differs from the
/// image's, a palette value does not fit the image's type, or the palette is
/// longer than `I` can index; [`Error::Gpu`] / [`Error::TooLarge`] from the GPU path.
///
/// # Examples
/// ```
/// use gpix::{nearest_palette, Device, ImageView, Palette};
/// let pixels = [0u8, 0, 0, 250, 10, 10, 120, 120, 120];
/// let image = ImageView::new(&pixels, 1, 3, 3)?;
/// let palette = Palette::new(3, vec![0, 0, 0, 255, 0, 0, 255, 255, 255])?;
/// let idx: Vec<u8> = nearest_palette(image, &palette, &Device::Cpu)?;
/// assert_eq!(idx, [0, 1, 0]);
/// # Ok::<(), gpix::Error>(())
/// ```
pub fn nearest_palette<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    device: &Device,
) -> Result<Vec<I>> {
    let mut out = vec![I::default(); image.pixels()];
    nearest_palette_into(image, palette, device, &mut out)?;
    Ok(out)
}

/// [`nearest_palette`] into a caller-owned buffer of `height * width` indices.
///
/// # Errors
/// As [`nearest_palette`], and [`Error::InvalidArgument`] if `out` has the
/// wrong length.
pub fn nearest_palette_into<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    device: &Device,
    out: &mut [I],
) -> Result<()> {
    nearest_palette_into_with_progress(image, palette, device, out, &no_progress)
}

/// [`nearest_palette_into`], reporting progress in rows.
///
/// # Errors
/// As [`nearest_palette_into`].
pub fn nearest_palette_into_with_progress<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    device: &Device,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    check_palette::<T, I>(image.channels(), palette)?;
    check_out_len(out.len(), image.pixels())?;
    match device {
        Device::Cpu => {
            cpu::nearest_palette_cpu(image, palette, out, progress);
            Ok(())
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::nearest_palette_gpu(ctx, image, palette, out, progress),
    }
}

/// Index of the nearest level for every pixel of a float greyscale image.
///
/// On the CPU the distance `|x - level|` is computed in f64 (exactly the
/// reference's numbers, ties to the lowest index). The GPU computes in f32: its
/// index can differ only for pixels whose two nearest levels are within f32
/// rounding of a tie. A NaN pixel gets index 0 on the CPU.
///
/// # Errors
/// [`Error::InvalidArgument`] if the image has more than one channel or there
/// are more levels than `I` can index; GPU errors as for [`nearest_palette`].
///
/// # Examples
/// ```
/// use gpix::{nearest_level, Device, ImageView, Levels};
/// let image = ImageView::new(&[0.1f32, 0.49, 0.51, 7.0], 2, 2, 1)?;
/// let levels = Levels::new(vec![1.0, 0.0])?;
/// let idx: Vec<u8> = nearest_level(image, &levels, &Device::Cpu)?;
/// assert_eq!(idx, [1, 1, 0, 0]);
/// # Ok::<(), gpix::Error>(())
/// ```
pub fn nearest_level<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
    device: &Device,
) -> Result<Vec<I>> {
    let mut out = vec![I::default(); image.pixels()];
    nearest_level_into(image, levels, device, &mut out)?;
    Ok(out)
}

/// [`nearest_level`] into a caller-owned buffer.
///
/// # Errors
/// As [`nearest_level`], and [`Error::InvalidArgument`] if `out` has the
/// wrong length.
pub fn nearest_level_into<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
    device: &Device,
    out: &mut [I],
) -> Result<()> {
    nearest_level_into_with_progress(image, levels, device, out, &no_progress)
}

/// [`nearest_level_into`], reporting progress in rows.
///
/// # Errors
/// As [`nearest_level_into`].
pub fn nearest_level_into_with_progress<T: GreyFloat, I: PaletteIndex>(
    image: ImageView<'_, T>,
    levels: &Levels,
    device: &Device,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    check_grey(&image)?;
    check_index_capacity::<I>(levels.len())?;
    check_out_len(out.len(), image.pixels())?;
    match device {
        Device::Cpu => {
            cpu::nearest_level_cpu(image, levels, out, progress);
            Ok(())
        }
        #[cfg(feature = "gpu")]
        Device::Gpu(ctx) => gpu::nearest_level_gpu(ctx, image, levels, out, progress),
    }
}

/// The colour image of an index map: pixel `p` becomes `palette[indices[p]]`.
///
/// # Errors
/// [`Error::InvalidArgument`] if `out.len() != indices.len() * channels`, or
/// an index is out of the palette's range, or a palette value does not fit `T`.
pub fn apply_palette_into<T: PaletteValue, I: PaletteIndex>(
    indices: &[I],
    palette: &Palette,
    out: &mut [T],
) -> Result<()> {
    use rayon::prelude::*;
    let c = palette.channels();
    if out.len() != indices.len() * c {
        return Err(Error::invalid(
            "output length does not match indices × channels",
        ));
    }
    check_palette::<T, I>(c, palette)?;
    let colors: Vec<T> = palette.values().iter().map(|&v| T::from_u16(v)).collect();
    let k = palette.len();
    let bad = std::sync::atomic::AtomicBool::new(false);
    out.par_chunks_mut(c * 4096)
        .zip(indices.par_chunks(4096))
        .for_each(|(o, idx)| {
            for (px, &i) in o.chunks_exact_mut(c).zip(idx) {
                let i = i.to_usize();
                if i < k {
                    px.copy_from_slice(&colors[i * c..(i + 1) * c]);
                } else {
                    bad.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    if bad.into_inner() {
        return Err(Error::invalid(format!(
            "an index is outside the palette of {k} colours"
        )));
    }
    Ok(())
}

/// The float image of an index map: pixel `p` becomes `levels[indices[p]]`
/// converted to `T`.
///
/// # Errors
/// [`Error::InvalidArgument`] on a length mismatch or an index out of range.
pub fn apply_levels_into<T: GreyFloat, I: PaletteIndex>(
    indices: &[I],
    levels: &Levels,
    out: &mut [T],
) -> Result<()> {
    use rayon::prelude::*;
    if out.len() != indices.len() {
        return Err(Error::invalid("output length does not match the index map"));
    }
    let table: Vec<T> = levels.values().iter().map(|&v| T::from_f64(v)).collect();
    let bad = std::sync::atomic::AtomicBool::new(false);
    out.par_chunks_mut(16384)
        .zip(indices.par_chunks(16384))
        .for_each(|(o, idx)| {
            for (v, &i) in o.iter_mut().zip(idx) {
                match table.get(i.to_usize()) {
                    Some(&l) => *v = l,
                    None => bad.store(true, std::sync::atomic::Ordering::Relaxed),
                }
            }
        });
    if bad.into_inner() {
        return Err(Error::invalid(format!(
            "an index is outside the {} levels",
            levels.len()
        )));
    }
    Ok(())
}
