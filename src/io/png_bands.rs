//! Reading an image band by band, so that work on the rows already decoded
//! runs while the rest decodes. Decoding a PNG is one serial zlib stream:
//! on a 12000×12000 photo it takes seconds of one core while the others
//! wait. Handing out bands as they complete lets a caller (the CLI's colour
//! histogram) use that time.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc;

use crate::array::{AnyImage, Image, ImageView};
use crate::error::{Error, Result};

use super::image_file::{check_claimed_size, decoder_message, guard_decoder, read_image};
use super::max_bytes;

/// Rows of an 8-bit image being read, as [`read_image_in_bands`] hands them out.
#[derive(Debug, Clone, Copy)]
pub struct Band<'a> {
    /// The rows.
    pub rows: ImageView<'a, u8>,
    /// Index of the first of them in the image.
    pub first_row: usize,
    /// Height of the whole image.
    pub image_height: usize,
}

/// Reads an image exactly as [`read_image`] does, and hands each band of an
/// 8-bit image to `on_band` (whole rows, in order, together covering the
/// image once). For a non-interlaced, non-animated PNG the bands come while
/// the rest of the image decodes on a second thread, each of about
/// `band_pixels` pixels; any other 8-bit input comes as one band once read;
/// 16-bit and float inputs give no bands. `on_band` runs on the calling
/// thread.
///
/// # Errors
/// As [`read_image`].
pub fn read_image_in_bands(
    path: &Path,
    band_pixels: usize,
    mut on_band: impl FnMut(Band<'_>),
) -> Result<AnyImage> {
    let npy = super::extension(path) == "npy";
    let streamable = if npy {
        None
    } else {
        guard_decoder(path, || streamable_png(path))?
    };
    if let Some(reader) = streamable {
        return decode_in_bands(reader, path, band_pixels, on_band);
    }
    let image = read_image(path)?;
    if let AnyImage::U8(i) = &image {
        on_band(Band {
            rows: i.view(),
            first_row: 0,
            image_height: i.height(),
        });
    }
    Ok(image)
}

type PngReader = png::Reader<BufReader<File>>;

/// A PNG reader past the header if `path` is a PNG that decodes row by row
/// in order to 8-bit samples; `None` for anything else (read whole instead).
fn streamable_png(path: &Path) -> Result<Option<PngReader>> {
    let mut signature = [0u8; 8];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let is_png = file.read_exact(&mut signature).is_ok() && signature == *b"\x89PNG\r\n\x1a\n";
    if !is_png {
        return Ok(None);
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let limit = usize::try_from(max_bytes()).unwrap_or(usize::MAX);
    let mut decoder =
        png::Decoder::new_with_limits(BufReader::new(file), png::Limits { bytes: limit });
    // As the image crate decodes: palettes and low bit depths expanded.
    decoder.set_transformations(png::Transformations::EXPAND);
    let Ok(reader) = decoder.read_info() else {
        // Let the whole-image path report the error in its usual words.
        return Ok(None);
    };
    let info = reader.info();
    let bytes = reader.output_buffer_size().map_or(u64::MAX, |b| b as u64);
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    check_claimed_size(path, info.width, info.height, bytes, file_len)?;
    let in_order = !info.interlaced && info.animation_control.is_none();
    let eight_bit = reader.output_color_type().1 == png::BitDepth::Eight;
    Ok((in_order && eight_bit).then_some(reader))
}

/// Decodes `reader` on a second thread, handing completed bands to `on_band`.
fn decode_in_bands(
    mut reader: PngReader,
    path: &Path,
    band_pixels: usize,
    mut on_band: impl FnMut(Band<'_>),
) -> Result<AnyImage> {
    let (w, h) = (reader.info().width as usize, reader.info().height as usize);
    let channels = reader.output_color_type().0.samples();
    let row_len = w * channels;
    // `streamable_png` checked this size against the memory limit.
    let total = usize::try_from(row_len as u64 * h as u64)
        .map_err(|_| Error::format(path, None, "too large for this machine's address space"))?;
    let mut data = vec![0u8; total];
    let band_rows = band_pixels.div_ceil(w.max(1)).clamp(1, h.max(1));
    let decoded = std::thread::scope(|scope| {
        let (done, bands) = mpsc::channel::<&[u8]>();
        let rest = &mut data[..];
        let decoder = scope.spawn(move || -> Result<()> {
            let mut rest = rest;
            while !rest.is_empty() {
                let take = (band_rows * row_len).min(rest.len());
                let (band, tail) = std::mem::take(&mut rest).split_at_mut(take);
                for row in band.chunks_exact_mut(row_len) {
                    let read =
                        guard_decoder(path, || reader.read_row(row).map_err(png_error(path)))?;
                    if read.is_none() {
                        return Err(Error::format(path, None, "image data ends early"));
                    }
                }
                // A send fails only if the receiving loop ended early (its
                // callback panicked); the scope then waits for this thread.
                let _ = done.send(band);
                rest = tail;
            }
            // Every row is in. One more read finishes the image data (its
            // end and checksum) and nothing after it, as the image crate's
            // whole-frame read does; `Reader::finish` would also insist on
            // every later chunk.
            match reader.read_row(&mut []).map_err(png_error(path))? {
                None => Ok(()),
                Some(_) => Err(Error::format(path, None, "more rows than the header says")),
            }
        });
        let mut first_row = 0;
        for band in bands {
            let rows = band.len() / row_len.max(1);
            let view =
                ImageView::new(band, rows, w, channels).expect("a band is whole rows of the image");
            on_band(Band {
                rows: view,
                first_row,
                image_height: h,
            });
            first_row += rows;
        }
        decoder.join().unwrap_or_else(|_| {
            Err(Error::format(
                path,
                None,
                "the PNG decoder stopped unexpectedly",
            ))
        })
    });
    decoded?;
    Ok(AnyImage::U8(Image::from_vec(data, h, w, channels)?))
}

/// A PNG decoding error as a gpix error naming the file.
fn png_error(path: &Path) -> impl Fn(png::DecodingError) -> Error + '_ {
    move |e| match e {
        png::DecodingError::IoError(io) => Error::io(path, io),
        other => Error::format(path, None, decoder_message(&other.to_string())),
    }
}
