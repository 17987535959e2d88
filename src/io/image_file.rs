//! Image files (PNG, JPEG, TIFF, BMP, WebP, …) and `.npy` arrays as [`AnyImage`].

use std::io::Write;
use std::path::Path;

use super::npy::{self, NpyArray, NpyData};
use super::{extension, max_bytes, stage, write_err, Staged};
use crate::array::{AnyImage, Element, Image, ImageView};
use crate::error::{Error, Result};

/// How an output file is written, decided by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// NumPy `.npy`.
    Npy,
    /// PNG, written with the `png` crate (indexed when possible).
    Png,
    /// Any other format the image crate writes.
    Other(image::ImageFormat),
}

impl ImageFormat {
    /// The format for `path`'s extension.
    ///
    /// # Errors
    /// [`Error::Format`] if the extension names no format gpix writes.
    pub fn from_path(path: &Path) -> Result<Self> {
        match extension(path).as_str() {
            "npy" => Ok(Self::Npy),
            "png" => Ok(Self::Png),
            ext => match image::ImageFormat::from_extension(ext) {
                Some(f) if f.can_write() => Ok(Self::Other(f)),
                _ => Err(Error::format(
                    path,
                    None,
                    format!(
                        "cannot write '.{ext}' files (use .png, .npy, .tif, .bmp, .jpg, .webp, …)"
                    ),
                )),
            },
        }
    }
}

/// Reads an image file or a `.npy` array (by extension; image files by their
/// content). `.npy` arrays must be `(H, W)` or `(H, W, C)` of uint8, uint16,
/// float32 or float64.
///
/// Sizes are checked before allocating, against `GPIX_MAX_BYTES`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Format`] if it is
/// corrupt or of an unsupported kind, [`Error::TooLarge`] over the limit.
pub fn read_image(path: &Path) -> Result<AnyImage> {
    if extension(path) == "npy" {
        let array = npy::read_npy(path, max_bytes())?;
        return npy_to_image(array, path);
    }
    decode_image(path)
}

fn decode_image(path: &Path) -> Result<AnyImage> {
    let file_len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(Error::format(
            path,
            None,
            "not an image format gpix can read",
        ));
    }
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_bytes());
    reader.limits(limits);
    let decoded = guard_decoder(path, || {
        let decoder = reader.into_decoder().map_err(|e| image_error(path, e))?;
        let (w, h) = image::ImageDecoder::dimensions(&decoder);
        check_claimed_size(
            path,
            w,
            h,
            image::ImageDecoder::total_bytes(&decoder),
            file_len,
        )?;
        image::DynamicImage::from_decoder(decoder).map_err(|e| image_error(path, e))
    })?;
    dynamic_to_any(decoded, path)
}

/// Most pixels one byte of an image file can stand for. The densest
/// encodings stay far below it (deflate expands a byte at most ~1032 times,
/// eight 1-bit pixels each; LZW, run lengths and fax codes less), so a header
/// claiming more is a lie, caught before the decoder allocates for it or
/// spends seconds decoding nothing.
const MAX_PIXELS_PER_FILE_BYTE: u64 = 1 << 16;

/// Checks the size an image header claims before anything is decoded:
/// against the memory limit, and against what a file of `file_len` bytes
/// can hold at all.
pub(crate) fn check_claimed_size(
    path: &Path,
    w: u32,
    h: u32,
    total_bytes: u64,
    file_len: u64,
) -> Result<()> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > file_len.saturating_mul(MAX_PIXELS_PER_FILE_BYTE) {
        return Err(Error::format(
            path,
            None,
            format!(
                "the header claims {w}×{h} pixels, more than a file of {file_len} bytes can hold"
            ),
        ));
    }
    crate::mem::check_bytes(
        || format!("{}: a {w}×{h} image", path.display()),
        Some(u128::from(total_bytes)),
        1,
    )
}

/// Runs a third-party decoder on untrusted bytes, turning a panic inside it
/// (a bug of the decoder on malformed data) into the usual error.
pub(crate) fn guard_decoder<T>(path: &Path, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::format(
            path,
            None,
            format!(
                "malformed image data (the decoder failed: {})",
                decoder_message(&why)
            ),
        ))
    })
}

fn image_error(path: &Path, e: image::ImageError) -> Error {
    match e {
        image::ImageError::IoError(io) => Error::io(path, io),
        image::ImageError::Limits(l) => Error::format(
            path,
            None,
            format!("too large to decode ({l}); raise GPIX_MAX_BYTES to allow it"),
        ),
        other => Error::format(path, None, decoder_message(&other.to_string())),
    }
}

/// A decoder's message fit for one line: whitespace collapsed, PNG chunk
/// types (`ChunkType { type: PLTE, critical: true, … }`) written as their
/// name, control characters escaped, and cut to a sane length.
pub(crate) fn decoder_message(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("ChunkType {") {
        out.push_str(&rest[..at]);
        let inner = &rest[at + "ChunkType {".len()..];
        let end = inner.find('}').map_or(inner.len(), |e| e + 1);
        let name = inner[..end.min(inner.len())]
            .split(',')
            .next()
            .and_then(|f| f.split(':').nth(1))
            .map_or("?", str::trim);
        out.push_str(name.trim_end_matches('}').trim());
        rest = &inner[end.min(inner.len())..];
    }
    out.push_str(rest);
    let one_line = out.split_whitespace().collect::<Vec<_>>().join(" ");
    super::printable(&one_line, 200)
}

fn dynamic_to_any(img: image::DynamicImage, path: &Path) -> Result<AnyImage> {
    use image::DynamicImage as D;
    let (w, h) = (img.width() as usize, img.height() as usize);
    Ok(match img {
        D::ImageLuma8(b) => AnyImage::U8(Image::from_vec(b.into_raw(), h, w, 1)?),
        D::ImageLumaA8(b) => AnyImage::U8(Image::from_vec(b.into_raw(), h, w, 2)?),
        D::ImageRgb8(b) => AnyImage::U8(Image::from_vec(b.into_raw(), h, w, 3)?),
        D::ImageRgba8(b) => AnyImage::U8(Image::from_vec(b.into_raw(), h, w, 4)?),
        D::ImageLuma16(b) => AnyImage::U16(Image::from_vec(b.into_raw(), h, w, 1)?),
        D::ImageLumaA16(b) => AnyImage::U16(Image::from_vec(b.into_raw(), h, w, 2)?),
        D::ImageRgb16(b) => AnyImage::U16(Image::from_vec(b.into_raw(), h, w, 3)?),
        D::ImageRgba16(b) => AnyImage::U16(Image::from_vec(b.into_raw(), h, w, 4)?),
        D::ImageRgb32F(b) => AnyImage::F32(Image::from_vec(b.into_raw(), h, w, 3)?),
        D::ImageRgba32F(b) => AnyImage::F32(Image::from_vec(b.into_raw(), h, w, 4)?),
        other => {
            return Err(Error::format(
                path,
                None,
                format!("unsupported pixel layout {:?}", other.color()),
            ))
        }
    })
}

/// `(H, W)` or `(H, W, C)` arrays as images.
fn npy_to_image(array: NpyArray, path: &Path) -> Result<AnyImage> {
    let (h, w, c) = match array.shape[..] {
        [h, w] => (h, w, 1),
        [h, w, c] if c > 0 => (h, w, c),
        _ => {
            return Err(Error::format(
                path,
                None,
                format!(
                    "array of shape {:?} is not an image: expected (H, W) or (H, W, C)",
                    array.shape
                ),
            ))
        }
    };
    let wrap = |e: Error| e.in_file(path);
    Ok(match array.data {
        NpyData::U8(v) => AnyImage::U8(Image::from_vec(v, h, w, c).map_err(wrap)?),
        NpyData::U16(v) => AnyImage::U16(Image::from_vec(v, h, w, c).map_err(wrap)?),
        NpyData::F32(v) => AnyImage::F32(Image::from_vec(v, h, w, c).map_err(wrap)?),
        NpyData::F16(v) => {
            AnyImage::F32(Image::from_vec(npy::widen_f16(&v), h, w, c).map_err(wrap)?)
        }
        NpyData::F64(v) => AnyImage::F64(Image::from_vec(v, h, w, c).map_err(wrap)?),
        other => {
            return Err(Error::format(
                path,
                None,
                format!(
                    "dtype {} is not supported here (uint8, uint16, float32 or float64)",
                    other.dtype().name()
                ),
            ))
        }
    })
}

/// Writes `image` to `path`, in the format its extension names. `.npy`
/// keeps `shape` (pass `[h, w]` for a greyscale array read as `(H, W)`).
/// Image formats take 8- or 16-bit values with 1 to 4 channels.
///
/// # Errors
/// [`Error::Format`] for a format or layout that cannot be written,
/// [`Error::Io`] for write failures. Nothing is left at `path` on error.
pub fn write_image<T: npy::NpyElement>(
    path: &Path,
    image: ImageView<'_, T>,
    shape: &[usize],
) -> Result<()> {
    stage_image(path, image, shape)?.commit()
}

/// [`write_image`] without the final rename: see [`Staged`].
///
/// # Errors
/// As [`write_image`].
pub fn stage_image<T: npy::NpyElement>(
    path: &Path,
    image: ImageView<'_, T>,
    shape: &[usize],
) -> Result<Staged> {
    match ImageFormat::from_path(path)? {
        ImageFormat::Npy => stage(path, |w| {
            npy::write_npy(w, shape, image.data()).map_err(write_err(path))
        }),
        ImageFormat::Png => write_png(path, image),
        ImageFormat::Other(format) => write_other(path, image, format),
    }
}

/// 8 or 16 bits, or a clear error for float images.
fn bit_depth<T: Element>(path: &Path) -> Result<u8> {
    match T::NAME {
        "uint8" => Ok(8),
        "uint16" => Ok(16),
        other => Err(Error::format(
            path,
            None,
            format!("{other} values can only be written as .npy"),
        )),
    }
}

fn png_color(channels: usize, path: &Path) -> Result<png::ColorType> {
    Ok(match channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        c => {
            return Err(Error::format(
                path,
                None,
                format!("an image file holds 1 to 4 channels, not {c}"),
            ))
        }
    })
}

fn png_encoder<'a, W: Write>(
    w: W,
    width: usize,
    height: usize,
    path: &Path,
) -> Result<png::Encoder<'a, W>> {
    let (w32, h32) = (u32::try_from(width), u32::try_from(height));
    match (w32, h32) {
        (Ok(wd), Ok(ht)) if wd > 0 && ht > 0 => {
            let mut enc = png::Encoder::new(w, wd, ht);
            // Fast deflate: large images encode several times faster for a
            // few percent more bytes.
            enc.set_compression(png::Compression::Fast);
            Ok(enc)
        }
        _ => Err(Error::format(
            path,
            None,
            format!("a PNG cannot be {width}×{height} pixels"),
        )),
    }
}

fn png_error(path: &Path) -> impl Fn(png::EncodingError) -> Error + '_ {
    move |e| match e {
        png::EncodingError::IoError(io) => Error::io(path, io),
        other => Error::format(path, None, other.to_string()),
    }
}

fn write_png<T: Element>(path: &Path, image: ImageView<'_, T>) -> Result<Staged> {
    let depth = bit_depth::<T>(path)?;
    let color = png_color(image.channels(), path)?;
    stage(path, |w| {
        let mut enc = png_encoder(w, image.width(), image.height(), path)?;
        enc.set_color(color);
        enc.set_depth(if depth == 8 {
            png::BitDepth::Eight
        } else {
            png::BitDepth::Sixteen
        });
        let mut writer = enc.write_header().map_err(png_error(path))?;
        let bytes: &[u8] = bytemuck::cast_slice(image.data());
        if depth == 8 {
            writer.write_image_data(bytes).map_err(png_error(path))?;
        } else {
            // PNG stores 16-bit samples big-endian.
            let be: Vec<u8> = bytes.chunks_exact(2).flat_map(|b| [b[1], b[0]]).collect();
            writer.write_image_data(&be).map_err(png_error(path))?;
        }
        writer.finish().map_err(png_error(path))
    })
}

/// Writes an indexed (palette) PNG: one byte per pixel, palette colours RGB
/// (grey palettes are expanded to RGB) plus a `tRNS` chunk for alpha.
///
/// # Errors
/// [`Error::InvalidArgument`] if the palette is not 8-bit or longer than 256,
/// [`Error::Format`]/[`Error::Io`] on write failures.
pub fn write_indexed_png(
    path: &Path,
    indices: ImageView<'_, u8>,
    palette: &crate::palette::Palette,
) -> Result<()> {
    stage_indexed_png(path, indices, palette)?.commit()
}

/// [`write_indexed_png`] without the final rename: see [`Staged`].
///
/// # Errors
/// As [`write_indexed_png`].
pub fn stage_indexed_png(
    path: &Path,
    indices: ImageView<'_, u8>,
    palette: &crate::palette::Palette,
) -> Result<Staged> {
    if palette.len() > 256 || palette.max_value() > 255 {
        return Err(Error::invalid(
            "an indexed PNG needs at most 256 colours of 8 bits",
        ));
    }
    let (rgb, alpha) = png_palette(palette);
    stage(path, |w| {
        let mut enc = png_encoder(w, indices.width(), indices.height(), path)?;
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(rgb);
        if let Some(a) = alpha {
            enc.set_trns(a);
        }
        let mut writer = enc.write_header().map_err(png_error(path))?;
        writer
            .write_image_data(indices.data())
            .map_err(png_error(path))?;
        writer.finish().map_err(png_error(path))
    })
}

/// PLTE bytes and optional tRNS bytes for an 8-bit palette of 1–4 channels.
fn png_palette(palette: &crate::palette::Palette) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut rgb = Vec::with_capacity(palette.len() * 3);
    let mut alpha = Vec::with_capacity(palette.len());
    for i in 0..palette.len() {
        let c: Vec<u8> = palette.color(i).iter().map(|&v| v as u8).collect();
        let (colour, a) = match c.len() {
            1 => ([c[0]; 3], 255),
            2 => ([c[0]; 3], c[1]),
            3 => ([c[0], c[1], c[2]], 255),
            _ => ([c[0], c[1], c[2]], c[3]),
        };
        rgb.extend_from_slice(&colour);
        alpha.push(a);
    }
    let has_alpha = palette.channels().is_multiple_of(2);
    (rgb, has_alpha.then_some(alpha))
}

fn write_other<T: Element>(
    path: &Path,
    image: ImageView<'_, T>,
    format: image::ImageFormat,
) -> Result<Staged> {
    let depth = bit_depth::<T>(path)?;
    let color = match (depth, image.channels()) {
        (8, 1) => image::ExtendedColorType::L8,
        (8, 2) => image::ExtendedColorType::La8,
        (8, 3) => image::ExtendedColorType::Rgb8,
        (8, 4) => image::ExtendedColorType::Rgba8,
        (16, 1) => image::ExtendedColorType::L16,
        (16, 2) => image::ExtendedColorType::La16,
        (16, 3) => image::ExtendedColorType::Rgb16,
        (16, 4) => image::ExtendedColorType::Rgba16,
        (_, c) => {
            return Err(Error::format(
                path,
                None,
                format!("an image file holds 1 to 4 channels, not {c}"),
            ))
        }
    };
    let (w, h) = match (u32::try_from(image.width()), u32::try_from(image.height())) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(Error::format(
                path,
                None,
                format!("cannot write a {}×{} image", image.width(), image.height()),
            ))
        }
    };
    stage(path, |out| {
        image::write_buffer_with_format(
            out,
            bytemuck::cast_slice(image.data()),
            w,
            h,
            color,
            format,
        )
        .map_err(|e| match e {
            image::ImageError::IoError(io) => Error::io(path, io),
            other => Error::format(path, None, decoder_message(&other.to_string())),
        })
    })
}
