//! Whole-image quantization for any supported image type: build or take a
//! palette, compute the index map, paint the quantized image. The `gpix
//! quantize` command is this plus file I/O.

use crate::array::{AnyImage, Image, ImageView};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::io::AnyPalette;
use crate::ops::kmeans::{
    finite_values, kmeans_levels, kmeans_palette, refined_levels, refined_palette, GreyWeights,
    KMeansOptions,
};
use crate::ops::median_cut::{
    histogram_u16, histogram_u8, median_cut, median_cut_levels, Histogram,
};
use crate::ops::palette::{
    apply_levels_into, apply_palette_into, dither_palette_into_with_progress,
    nearest_level_into_with_progress, nearest_palette_into_with_progress, Dither, GreyFloat,
    PaletteIndex, PaletteValue, Progress,
};
use crate::palette::Palette;

/// How to build a palette from the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteMethod {
    /// The default: median cut that weighs pixel mass as well as error
    /// ([`crate::ops::median_cut::median_cut_balanced`]), refined by up to
    /// 12 Lloyd passes over the colour histogram
    /// ([`crate::ops::kmeans::refined_palette`]): above libimagequant's PSNR
    /// and CIEDE2000 on photographs without dithering (docs/QUANTIZE_QUALITY.md).
    /// Greyscale images refine in 1-D, counting values as `weights` says;
    /// float images start from plain median cut over their distinct values
    /// ([`crate::ops::kmeans::refined_levels`]).
    Refined {
        /// What greyscale refinement counts (colour images weight by pixels).
        weights: GreyWeights,
    },
    /// Plain median cut over the colour histogram (greyscale float: over
    /// distinct values): the box of largest squared error is cut at the
    /// median of its widest channel.
    MedianCut,
    /// k-means: seeds drawn as in k-means++ (colour seeds ∝ pixels ×
    /// distance^1.1, see [`crate::ops::kmeans::COLOUR_SEED_POWER`]), then
    /// Lloyd iterations.
    KMeans {
        /// Seed of the seeding draw.
        seed: u64,
        /// Most Lloyd iterations.
        max_iter: usize,
        /// What greyscale k-means counts (colour k-means weights by pixels).
        weights: GreyWeights,
    },
}

/// An index map: `u8` for palettes of up to 256 colours, else `u16`.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexMap {
    /// One byte per pixel.
    U8(Image<u8>),
    /// Two bytes per pixel.
    U16(Image<u16>),
}

impl IndexMap {
    /// `(height, width)`.
    #[must_use]
    pub fn shape(&self) -> (usize, usize) {
        match self {
            IndexMap::U8(i) => (i.height(), i.width()),
            IndexMap::U16(i) => (i.height(), i.width()),
        }
    }
}

/// Builds a palette of at most `k` colours from `image`. Greyscale images get
/// levels sorted ascending; float images must be greyscale.
///
/// # Errors
/// [`Error::InvalidArgument`] for `k` outside 1..=65536, an empty image or a
/// float image with several channels; GPU errors from k-means on the GPU.
pub fn build_palette(
    image: &AnyImage,
    k: usize,
    method: PaletteMethod,
    device: &Device,
) -> Result<AnyPalette> {
    Ok(match image {
        AnyImage::U8(i) => AnyPalette::Colors(build_colors(i.view(), k, method, device)?),
        AnyImage::U16(i) => AnyPalette::Colors(build_colors(i.view(), k, method, device)?),
        AnyImage::F32(i) => AnyPalette::Levels(build_levels(i.view(), k, method)?),
        AnyImage::F64(i) => AnyPalette::Levels(build_levels(i.view(), k, method)?),
    })
}

/// [`build_palette`] of a borrowed `u8`/`u16` image of any channel count.
///
/// # Errors
/// As [`build_palette`].
pub fn build_colors<T: PaletteValue>(
    image: ImageView<'_, T>,
    k: usize,
    method: PaletteMethod,
    device: &Device,
) -> Result<Palette> {
    let histogram = || -> Result<_> {
        let (h, w, c) = (image.height(), image.width(), image.channels());
        // `T` is u8 or u16 (the only PaletteValue types), so the cast
        // reinterprets the same values.
        Ok(if T::BITS == 8 {
            histogram_u8(ImageView::new(bytemuck::cast_slice(image.data()), h, w, c)?)
        } else {
            histogram_u16(ImageView::new(bytemuck::cast_slice(image.data()), h, w, c)?)
        })
    };
    match method {
        PaletteMethod::Refined { .. } | PaletteMethod::MedianCut => {
            palette_from_histogram(&histogram()?, k, method, device)
        }
        PaletteMethod::KMeans {
            seed,
            max_iter,
            weights,
        } => {
            let options = KMeansOptions {
                k,
                seed,
                max_iter,
                weights,
            };
            kmeans_palette(image, &options, device)
        }
    }
}

/// A palette of at most `k` colours from a colour histogram, by a method
/// that works on one: [`PaletteMethod::Refined`] or
/// [`PaletteMethod::MedianCut`]. What [`build_colors`] does after counting
/// (the CLI counts while decoding; Python and Dask merge counts).
///
/// # Errors
/// [`Error::InvalidArgument`] for [`PaletteMethod::KMeans`] (it seeds from
/// the image's pixels), and as [`median_cut`] / [`refined_palette`].
pub fn palette_from_histogram(
    hist: &Histogram,
    k: usize,
    method: PaletteMethod,
    device: &Device,
) -> Result<Palette> {
    match method {
        PaletteMethod::Refined { weights } => refined_palette(hist, k, weights, device),
        PaletteMethod::MedianCut => median_cut(hist, k),
        PaletteMethod::KMeans { .. } => Err(Error::invalid(
            "k-means seeds from the image's pixels: it cannot start from a histogram",
        )),
    }
}

/// Where and how [`build_palette`] runs for this image, method and device,
/// as `gpix quantize -v` says it: only the passes of colour k-means and of
/// the default's refinement use a GPU.
#[must_use]
pub fn describe_build(image: &AnyImage, method: PaletteMethod, device: &Device) -> String {
    let (_, _, c) = image.shape();
    let float = matches!(image, AnyImage::F32(_) | AnyImage::F64(_));
    let grey = float || c == 1;
    let counted = |weights: GreyWeights| match weights {
        GreyWeights::Distinct => "distinct values, each once",
        GreyWeights::Pixels => "values weighted by pixel count",
    };
    // Colour refinement and k-means assign on the device, sum on the host.
    let passes = if device.is_cpu() {
        ", cpu"
    } else {
        ": assignment gpu (exact), cluster sums and centroid update cpu"
    };
    match method {
        PaletteMethod::Refined { weights } if grey => format!(
            "median cut refined by k-means passes over the {}, cpu",
            counted(weights)
        ),
        PaletteMethod::Refined { .. } => {
            format!(
                "balanced median cut refined by k-means passes over the colour histogram{passes}"
            )
        }
        PaletteMethod::MedianCut if float => "median cut over the values, cpu".into(),
        PaletteMethod::MedianCut => "median cut over the colour histogram, cpu".into(),
        PaletteMethod::KMeans { weights, .. } if grey => {
            format!("k-means over the {}, cpu", counted(weights))
        }
        PaletteMethod::KMeans { .. } => format!("k-means over the colour histogram{passes}"),
    }
}

/// Where and in what precision [`quantize_indices`] runs, as `-v` says it.
#[must_use]
pub fn describe_indices(image: &AnyImage, device: &Device) -> String {
    let on = if device.is_cpu() { "cpu" } else { "gpu" };
    match image {
        AnyImage::U8(_) | AnyImage::U16(_) => format!("{on}, exact integer distances"),
        _ if device.is_cpu() => "cpu, f64 distances".into(),
        AnyImage::F32(_) => {
            "gpu, f32 distances (pixels within f32 rounding of a tie may differ from the cpu)"
                .into()
        }
        AnyImage::F64(_) => "gpu, f32 distances (input float64, rounded to f32; pixels within \
                             f32 rounding of a tie may differ from the cpu)"
            .into(),
    }
}

/// [`build_palette`] of a borrowed greyscale float image: levels sorted
/// ascending (non-finite values are left out).
///
/// # Errors
/// As [`build_palette`].
pub fn build_levels<T: GreyFloat>(
    image: ImageView<'_, T>,
    k: usize,
    method: PaletteMethod,
) -> Result<crate::Levels> {
    check_float_grey(&image)?;
    match method {
        PaletteMethod::Refined { weights } => refined_levels(image, k, weights),
        PaletteMethod::MedianCut => median_cut_levels(&finite_values(image), k),
        PaletteMethod::KMeans {
            seed,
            max_iter,
            weights,
        } => kmeans_levels(
            image,
            &KMeansOptions {
                k,
                seed,
                max_iter,
                weights,
            },
        ),
    }
}

fn check_float_grey<T: crate::array::Element>(image: &ImageView<'_, T>) -> Result<()> {
    if image.channels() != 1 {
        return Err(Error::invalid(format!(
            "float images must be greyscale (H, W) to be quantized, not {} channels",
            image.channels()
        )));
    }
    Ok(())
}

/// The index map of `image` against `palette` (exact; see
/// [`crate::nearest_palette`] and [`crate::nearest_level`]).
///
/// # Errors
/// [`Error::InvalidArgument`] if the palette kind does not fit the image;
/// errors of the underlying kernels.
pub fn quantize_indices(
    image: &AnyImage,
    palette: &AnyPalette,
    device: &Device,
    progress: Progress<'_>,
) -> Result<IndexMap> {
    quantize_indices_dithered(image, palette, Dither::None, device, progress)
}

/// [`quantize_indices`] with dithering (8/16-bit images; see [`Dither`]).
///
/// # Errors
/// As [`quantize_indices`], and [`Error::InvalidArgument`] for dithering a
/// float image or a bad strength.
pub fn quantize_indices_dithered(
    image: &AnyImage,
    palette: &AnyPalette,
    dither: Dither,
    device: &Device,
    progress: Progress<'_>,
) -> Result<IndexMap> {
    let (h, w, _) = image.shape();
    if palette.len() <= 256 {
        let mut out = Image::<u8>::zeros(h, w, 1)?;
        indices_into(image, palette, dither, device, out.data_mut(), progress)?;
        Ok(IndexMap::U8(out))
    } else {
        let mut out = Image::<u16>::zeros(h, w, 1)?;
        indices_into(image, palette, dither, device, out.data_mut(), progress)?;
        Ok(IndexMap::U16(out))
    }
}

fn indices_into<I: PaletteIndex>(
    image: &AnyImage,
    palette: &AnyPalette,
    dither: Dither,
    device: &Device,
    out: &mut [I],
    progress: Progress<'_>,
) -> Result<()> {
    if dither != Dither::None {
        return match (image, palette) {
            (AnyImage::U8(i), AnyPalette::Colors(p)) => {
                dither_palette_into_with_progress(i.view(), p, dither, device, out, progress)
            }
            (AnyImage::U16(i), AnyPalette::Colors(p)) => {
                dither_palette_into_with_progress(i.view(), p, dither, device, out, progress)
            }
            _ => Err(Error::invalid(
                "dithering applies to 8- and 16-bit images, not float ones",
            )),
        };
    }
    match (image, palette) {
        (AnyImage::U8(i), AnyPalette::Colors(p)) => {
            nearest_palette_into_with_progress(i.view(), p, device, out, progress)
        }
        (AnyImage::U16(i), AnyPalette::Colors(p)) => {
            nearest_palette_into_with_progress(i.view(), p, device, out, progress)
        }
        (AnyImage::F32(i), AnyPalette::Levels(l)) => {
            nearest_level_into_with_progress(i.view(), l, device, out, progress)
        }
        (AnyImage::F64(i), AnyPalette::Levels(l)) => {
            nearest_level_into_with_progress(i.view(), l, device, out, progress)
        }
        (AnyImage::F32(_) | AnyImage::F64(_), AnyPalette::Colors(_)) => {
            Err(Error::invalid("float images take grey levels, not colours"))
        }
        (_, AnyPalette::Levels(_)) => Err(Error::invalid("integer images take integer colours")),
    }
}

/// The quantized image: every pixel replaced by its palette colour, in the
/// image's own type and layout.
///
/// # Errors
/// [`Error::InvalidArgument`] if the palette kind does not fit the image or
/// the shapes disagree.
pub fn paint(image: &AnyImage, indices: &IndexMap, palette: &AnyPalette) -> Result<AnyImage> {
    match indices {
        IndexMap::U8(ix) => paint_with(image, ix.data(), palette),
        IndexMap::U16(ix) => paint_with(image, ix.data(), palette),
    }
}

fn paint_with<I: PaletteIndex>(
    image: &AnyImage,
    ix: &[I],
    palette: &AnyPalette,
) -> Result<AnyImage> {
    let (h, w, c) = image.shape();
    Ok(match (image, palette) {
        (AnyImage::U8(_), AnyPalette::Colors(p)) => AnyImage::U8(paint_colors(ix, p, h, w, c)?),
        (AnyImage::U16(_), AnyPalette::Colors(p)) => AnyImage::U16(paint_colors(ix, p, h, w, c)?),
        (AnyImage::F32(_), AnyPalette::Levels(l)) => {
            let mut out = Image::zeros(h, w, 1)?;
            apply_levels_into(ix, l, out.data_mut())?;
            AnyImage::F32(out)
        }
        (AnyImage::F64(_), AnyPalette::Levels(l)) => {
            let mut out = Image::zeros(h, w, 1)?;
            apply_levels_into(ix, l, out.data_mut())?;
            AnyImage::F64(out)
        }
        _ => return Err(Error::invalid("the palette kind does not fit the image")),
    })
}

fn paint_colors<T: PaletteValue, I: PaletteIndex>(
    ix: &[I],
    p: &Palette,
    h: usize,
    w: usize,
    c: usize,
) -> Result<Image<T>> {
    let mut out = Image::zeros(h, w, c)?;
    apply_palette_into(ix, p, out.data_mut())?;
    Ok(out)
}
