//! Dithering: palette indices that trade each pixel's exact nearest colour
//! for a better match of the image's local averages.
//!
//! - Floyd–Steinberg: error diffusion (7/16 right, 3/16, 5/16, 1/16 below),
//!   rows in serpentine order (even rows left to right, odd rows right to
//!   left, the kernel mirrored), errors kept exactly in integer sixteenths.
//!   As in Pillow, a pixel plus its carried error is clamped to the value
//!   range before its nearest colour is looked up, so errors cannot grow
//!   past the range. Sequential by nature: CPU only, deterministic.
//! - Ordered: an 8×8 Bayer matrix adds a per-position integer offset to
//!   every colour channel, the pixel is clamped to the range, and its exact
//!   nearest colour is taken. The offsets depend only on the palette and the
//!   strength, so every device gives the same indices.
//!   The offset image is made on the host (one more image of memory) and
//!   searched by the device's ordinary nearest-colour path.
//!
//! Alpha (the last channel of grey+alpha and RGBA images) is never dithered.

use super::{check_out_len, check_palette, cpu::PixelSearch, nearest_palette_into_with_progress};
use super::{PaletteIndex, PaletteValue, Progress};
use crate::array::ImageView;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::palette::Palette;

/// How pixels are mapped to palette colours.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Dither {
    /// Each pixel's exact nearest colour, ties to the lowest index.
    #[default]
    None,
    /// Floyd–Steinberg error diffusion in serpentine order (CPU).
    FloydSteinberg,
    /// 8×8 Bayer ordered dithering; the same indices on every device.
    Ordered {
        /// Scales the threshold amplitude: 1.0 spans the palette's typical
        /// spacing between neighbouring colours; 0 is no dithering.
        strength: f32,
    },
}

impl Dither {
    /// Checks the options (a finite, non-negative strength).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative or non-finite strength.
    pub fn check(&self) -> Result<()> {
        if let Dither::Ordered { strength } = self {
            if !strength.is_finite() || *strength < 0.0 {
                return Err(Error::invalid(format!(
                    "dither strength must be a finite number ≥ 0, not {strength}"
                )));
            }
        }
        Ok(())
    }
}

/// Palette indices of an 8- or 16-bit image with `dither` (see the module
/// docs); `Dither::None` is [`nearest_palette`](super::nearest_palette).
///
/// # Errors
/// As [`nearest_palette`](super::nearest_palette), and
/// [`Error::InvalidArgument`] for a bad strength.
///
/// # Examples
/// ```
/// use gpix::{dither_palette, Device, Dither, ImageView, Palette};
/// // A flat mid-grey against black and white: half the pixels each way.
/// let grey = vec![128u8; 64];
/// let image = ImageView::new(&grey, 8, 8, 1)?;
/// let bw = Palette::new(1, vec![0, 255])?;
/// let idx: Vec<u8> = dither_palette(image, &bw, Dither::FloydSteinberg, &Device::Cpu)?;
/// let white = idx.iter().filter(|&&i| i == 1).count();
/// assert!((28..=36).contains(&white));
/// # Ok::<(), gpix::Error>(())
/// ```
pub fn dither_palette<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    dither: Dither,
    device: &Device,
) -> Result<Vec<I>> {
    let mut out = vec![I::default(); image.pixels()];
    dither_palette_into(image, palette, dither, device, &mut out)?;
    Ok(out)
}

/// [`dither_palette`] into a caller-owned buffer of `height * width` indices.
///
/// # Errors
/// As [`dither_palette`], and [`Error::InvalidArgument`] if `out` has the
/// wrong length.
pub fn dither_palette_into<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    dither: Dither,
    device: &Device,
    out: &mut [I],
) -> Result<()> {
    dither_palette_into_with_progress(image, palette, dither, device, out, &|_, _| {})
}

/// [`dither_palette_into`], reporting progress in rows (Floyd–Steinberg is
/// one thread in row order: a 12000² image takes seconds).
///
/// # Errors
/// As [`dither_palette_into`].
pub fn dither_palette_into_with_progress<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    dither: Dither,
    device: &Device,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    dither.check()?;
    check_palette::<T, I>(image.channels(), palette)?;
    check_out_len(out.len(), image.pixels())?;
    match dither {
        Dither::None => nearest_palette_into_with_progress(image, palette, device, out, progress),
        Dither::FloydSteinberg => {
            floyd_steinberg(image, palette, out, progress);
            Ok(())
        }
        Dither::Ordered { strength } => {
            let offsets = bayer_offsets(palette, T::BITS, strength);
            let shifted = ordered_input(image, &offsets);
            let view = ImageView::new(&shifted, image.height(), image.width(), image.channels())?;
            nearest_palette_into_with_progress(view, palette, device, out, progress)
        }
    }
}

/// Channels that are dithered: all but alpha (the last of 2 or 4).
fn colour_channels(channels: usize) -> usize {
    match channels {
        2 | 4 => channels - 1,
        c => c,
    }
}

/// Floyd–Steinberg in serpentine order; errors in sixteenths, exact.
fn floyd_steinberg<T: PaletteValue, I: PaletteIndex>(
    image: ImageView<'_, T>,
    palette: &Palette,
    out: &mut [I],
    progress: Progress<'_>,
) {
    let (h, w, c) = (image.height(), image.width(), image.channels());
    if h == 0 || w == 0 {
        return;
    }
    let dithered = colour_channels(c);
    let max = i32::from(u16::MAX >> (16 - T::BITS));
    let search = PixelSearch::new(palette, T::BITS);
    // Errors (× 16) carried into this row and the next, one slot of padding
    // each side so the kernel needs no bounds checks.
    let mut this_row = vec![0i32; (w + 2) * c];
    let mut next_row = vec![0i32; (w + 2) * c];
    let mut px = [0u16; 4];
    for y in 0..h {
        let row = &image.data()[y * w * c..(y + 1) * w * c];
        let forward = y % 2 == 0;
        for step in 0..w {
            let x = if forward { step } else { w - 1 - step };
            let slot = (x + 1) * c;
            for ch in 0..c {
                let v: u16 = row[x * c + ch].into();
                px[ch] = if ch < dithered {
                    let carried = (this_row[slot + ch] + 8).div_euclid(16);
                    (i32::from(v) + carried).clamp(0, max) as u16
                } else {
                    v
                };
            }
            let best = search.nearest(&px[..c]);
            out[y * w + x] = I::from_index(usize::from(best));
            let colour = palette.color(usize::from(best));
            let (ahead, behind) = if forward {
                (slot + c, slot - c)
            } else {
                (slot - c, slot + c)
            };
            for ch in 0..dithered {
                let e = i32::from(px[ch]) - i32::from(colour[ch]);
                this_row[ahead + ch] += 7 * e;
                next_row[behind + ch] += 3 * e;
                next_row[slot + ch] += 5 * e;
                next_row[ahead + ch] += e;
            }
        }
        std::mem::swap(&mut this_row, &mut next_row);
        next_row.fill(0);
        progress(y + 1, h);
    }
}

/// The 8×8 Bayer matrix (recursive construction), values 0..64.
fn bayer8() -> [u8; 64] {
    let mut m = [0u8; 64];
    for y in 0..8usize {
        for x in 0..8usize {
            // Interleave the bits of x ^ y and y, least significant first
            // (the bit-reversed interleave).
            let (a, b) = (x ^ y, y);
            let mut v = 0;
            for bit in 0..3 {
                v = (v << 2) | (((a >> bit) & 1) << 1) | ((b >> bit) & 1);
            }
            m[y * 8 + x] = v as u8;
        }
    }
    m
}

/// Per position in the 8×8 tile, the integer offset added to every colour
/// channel: `round(A · ((2b + 1) / 128 − 1/2))` for Bayer value b, with
/// amplitude `A = strength × s`, s the palette's typical spacing (the median
/// distance from an entry to its nearest other entry, over up to 256
/// entries spread through the palette; the value range for one colour).
pub fn bayer_offsets(palette: &Palette, value_bits: u32, strength: f32) -> [i32; 64] {
    let spacing = typical_spacing(palette, value_bits);
    let amplitude = f64::from(strength) * spacing;
    let m = bayer8();
    let mut out = [0i32; 64];
    for (o, &b) in out.iter_mut().zip(&m) {
        *o = (amplitude * ((2.0 * f64::from(b) + 1.0) / 128.0 - 0.5)).round() as i32;
    }
    out
}

fn typical_spacing(palette: &Palette, value_bits: u32) -> f64 {
    let n = palette.len();
    if n < 2 {
        return f64::from(u16::MAX >> (16 - value_bits));
    }
    let step = n.div_ceil(256);
    let mut nearest: Vec<f64> = (0..n)
        .step_by(step)
        .map(|i| {
            let a = palette.color(i);
            (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    a.iter()
                        .zip(palette.color(j))
                        .map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect();
    nearest.sort_by(f64::total_cmp);
    nearest[nearest.len() / 2]
}

/// The image with the Bayer offsets added to its colour channels, clamped.
fn ordered_input<T: PaletteValue>(image: ImageView<'_, T>, offsets: &[i32; 64]) -> Vec<T> {
    use rayon::prelude::*;
    let (w, c) = (image.width(), image.channels());
    let dithered = colour_channels(c);
    let max = i32::from(u16::MAX >> (16 - T::BITS));
    let mut out = vec![T::default(); image.data().len()];
    if w == 0 {
        return out;
    }
    out.par_chunks_mut(w * c)
        .zip(image.data().par_chunks(w * c))
        .enumerate()
        .for_each(|(y, (dst, src))| {
            let tile_row = &offsets[(y % 8) * 8..(y % 8) * 8 + 8];
            for (x, (d, s)) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)).enumerate() {
                let o = tile_row[x % 8];
                for ch in 0..c {
                    let v = i32::from(s[ch].into());
                    d[ch] = if ch < dithered {
                        T::from_u16((v + o).clamp(0, max) as u16)
                    } else {
                        s[ch]
                    };
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bayer_holds_every_value_once_and_is_the_classic_matrix() {
        let m = bayer8();
        let mut seen = [false; 64];
        for &v in &m {
            seen[usize::from(v)] = true;
        }
        assert!(seen.iter().all(|&s| s));
        // The standard 8×8 threshold map's first row and the 2×2 corner.
        assert_eq!(&m[..8], &[0, 32, 8, 40, 2, 34, 10, 42]);
        assert_eq!((m[8], m[9]), (48, 16));
    }

    #[test]
    fn offsets_are_centred_and_scale_with_strength() {
        let bw = Palette::new(1, vec![0, 255]).unwrap();
        let one = bayer_offsets(&bw, 8, 1.0);
        // Symmetric around zero: the offsets sum to 0.
        assert_eq!(one.iter().sum::<i32>(), 0);
        assert_eq!(*one.iter().max().unwrap(), 126);
        assert_eq!(*one.iter().min().unwrap(), -126);
        assert!(bayer_offsets(&bw, 8, 0.0).iter().all(|&o| o == 0));
    }
}
