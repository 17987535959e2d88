//! Palette files of every kind (`.gpl`, text, `.npy`, image) and their match
//! to an image: channel layout, bit depth, integer vs float.

use std::path::{Path, PathBuf};

use super::npy::{self, NpyData};
use super::palette_file::{
    parse_palette_text, write_levels_txt, write_palette_gpl, write_palette_txt, ParsedPalette,
};
use super::{extension, max_bytes, stage, write_err, Staged};
use crate::array::AnyImage;
use crate::error::{Error, Result};
use crate::palette::{Levels, Palette, MAX_PALETTE_LEN};

/// Largest palette text file read (65536 colours fit in well under 4 MiB).
const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Where the colours of a palette file sit, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Text: 1-based lines.
    Lines,
    /// `.npy`: rows.
    Rows,
    /// Image: pixels in row order.
    Pixels,
}

/// A palette as read from a file, before it is matched to an image.
#[derive(Debug, Clone)]
pub struct PaletteSource {
    path: PathBuf,
    parsed: ParsedPalette,
    origin: Origin,
}

impl PaletteSource {
    /// Reads `path`: `.npy` as a `(K, C)` or `(K,)` array, `.gpl` and text by
    /// content, anything else as an image whose pixels, in row order, are the
    /// colours. Colour order is kept: index `i` is the `i`-th colour.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Format`] naming the file (and line for text);
    /// an empty palette or more than 65536 colours is a format error.
    pub fn read(path: &Path) -> Result<Self> {
        let (parsed, origin) = match extension(path).as_str() {
            "npy" => (read_npy_palette(path)?, Origin::Rows),
            "gpl" | "txt" | "hex" | "csv" | "pal" | "" => (read_text(path)?, Origin::Lines),
            _ if looks_like_text(path)? => (read_text(path)?, Origin::Lines),
            _ => (read_image_palette(path)?, Origin::Pixels),
        };
        Ok(Self {
            path: path.to_path_buf(),
            parsed,
            origin,
        })
    }

    /// Number of colours.
    #[must_use]
    pub fn len(&self) -> usize {
        self.parsed.values.len() / self.parsed.channels.max(1)
    }

    /// Always false: reading rejects empty palettes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn locate(&self, colour: usize) -> (Option<usize>, String) {
        match self.origin {
            Origin::Lines => (self.parsed.lines.get(colour).copied(), String::new()),
            Origin::Rows => (None, format!("row {colour}: ")),
            Origin::Pixels => (None, format!("pixel {colour}: ")),
        }
    }

    fn error_at(&self, colour: usize, reason: impl std::fmt::Display) -> Error {
        let (line, prefix) = self.locate(colour);
        Error::format(&self.path, line, format!("{prefix}{reason}"))
    }

    /// The palette for an integer image with `channels` values of `bits` bits.
    ///
    /// An RGB palette on an RGBA image (or grey on grey+alpha) gets opaque
    /// alpha. 8-bit colours (hex, `.gpl`, uint8 arrays, 8-bit images) are
    /// scaled by 257 for 16-bit images; plain numbers are taken in the image's
    /// own units and must fit them.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file (and line) for a channel mismatch, a
    /// fractional or out-of-range value.
    pub fn for_integer_image(&self, channels: usize, bits: u32) -> Result<Palette> {
        let p = &self.parsed;
        let max = if bits == 8 { 255.0 } else { 65535.0 };
        let add_alpha = match (p.channels, channels) {
            (a, b) if a == b => false,
            (3, 4) | (1, 2) => true,
            (a, b) => {
                return Err(Error::format(
                    &self.path,
                    None,
                    format!(
                        "the palette has {a} channel{} per colour ({}) but the image has {b} ({})",
                        if a == 1 { "" } else { "s" },
                        layout_name(a),
                        layout_name(b)
                    ),
                ))
            }
        };
        let scale = if p.eight_bit && bits == 16 {
            257.0
        } else {
            1.0
        };
        let mut values = Vec::with_capacity(self.len() * channels);
        for (i, colour) in p.values.chunks_exact(p.channels).enumerate() {
            for &v in colour {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(self.error_at(i, format!("value {v} is not a whole number")));
                }
                let v = v * scale;
                if !(0.0..=max).contains(&v) {
                    return Err(self.error_at(
                        i,
                        format!("value {v} does not fit a {bits}-bit image (0..={max})"),
                    ));
                }
                values.push(v as u16);
            }
            if add_alpha {
                values.push(max as u16);
            }
        }
        Palette::new(channels, values).map_err(|e| e.in_file(&self.path))
    }

    /// Grey levels for a float greyscale image.
    ///
    /// # Errors
    /// [`Error::Format`] if the palette has colours rather than single levels.
    pub fn for_float_image(&self) -> Result<Levels> {
        if self.parsed.channels != 1 {
            return Err(Error::format(
                &self.path,
                None,
                format!(
                    "a float greyscale image needs grey levels (one number per colour), not {} channels",
                    self.parsed.channels
                ),
            ));
        }
        Levels::new(self.parsed.values.clone()).map_err(|e| e.in_file(&self.path))
    }

    /// The palette matched to `image` (see [`Self::for_integer_image`] and
    /// [`Self::for_float_image`]).
    ///
    /// # Errors
    /// As those two.
    pub fn for_image(&self, image: &AnyImage) -> Result<AnyPalette> {
        let (_, _, c) = image.shape();
        Ok(match image {
            AnyImage::U8(_) => AnyPalette::Colors(self.for_integer_image(c, 8)?),
            AnyImage::U16(_) => AnyPalette::Colors(self.for_integer_image(c, 16)?),
            AnyImage::F32(_) | AnyImage::F64(_) => AnyPalette::Levels(self.for_float_image()?),
        })
    }
}

/// A palette for any image: integer colours or float grey levels.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyPalette {
    /// Colours for 8/16-bit images.
    Colors(Palette),
    /// Levels for float greyscale images.
    Levels(Levels),
}

impl AnyPalette {
    /// Number of colours or levels.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            AnyPalette::Colors(p) => p.len(),
            AnyPalette::Levels(l) => l.len(),
        }
    }
    /// Always false.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn layout_name(channels: usize) -> &'static str {
    match channels {
        1 => "grey",
        2 => "grey+alpha",
        3 => "RGB",
        4 => "RGBA",
        _ => "multi-channel",
    }
}

fn read_text(path: &Path) -> Result<ParsedPalette> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_TEXT_BYTES {
        return Err(Error::format(
            path,
            None,
            format!("a palette text file of {} bytes is too large", meta.len()),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::format(path, None, "not a UTF-8 text file"))?;
    parse_palette_text(&text, path)
}

/// Unknown extensions: text if the first KiB has no NUL byte and is UTF-8.
fn looks_like_text(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 1024];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    Ok(!head.contains(&0) && std::str::from_utf8(head).is_ok())
}

fn read_npy_palette(path: &Path) -> Result<ParsedPalette> {
    let array = npy::read_npy(path, max_bytes())?;
    let (k, channels) = match array.shape[..] {
        [k] => (k, 1),
        [k, c] if (1..=4).contains(&c) => (k, c),
        _ => {
            return Err(Error::format(
                path,
                None,
                format!(
                    "a palette array must be (K,) or (K, C) with C of 1 to 4, not {:?}",
                    array.shape
                ),
            ))
        }
    };
    check_count(path, k)?;
    let eight_bit = matches!(array.data, NpyData::U8(_));
    let values = array.data.into_f64();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::format(
            path,
            None,
            format!("row {}: value is not finite", i / channels),
        ));
    }
    Ok(ParsedPalette {
        channels,
        values,
        lines: Vec::new(),
        eight_bit,
    })
}

fn read_image_palette(path: &Path) -> Result<ParsedPalette> {
    let image = super::read_image(path)?;
    let (h, w, c) = image.shape();
    check_count(path, h * w)?;
    let (values, eight_bit): (Vec<f64>, bool) = match &image {
        AnyImage::U8(i) => (i.data().iter().map(|&v| f64::from(v)).collect(), true),
        AnyImage::U16(i) => (i.data().iter().map(|&v| f64::from(v)).collect(), false),
        AnyImage::F32(i) => (i.data().iter().map(|&v| f64::from(v)).collect(), false),
        AnyImage::F64(i) => (i.data().to_vec(), false),
    };
    Ok(ParsedPalette {
        channels: c,
        values,
        lines: Vec::new(),
        eight_bit,
    })
}

fn check_count(path: &Path, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::format(path, None, "the palette has no colours"));
    }
    if k > MAX_PALETTE_LEN {
        return Err(Error::format(
            path,
            None,
            format!("the palette has {k} colours; gpix supports 1 to {MAX_PALETTE_LEN}"),
        ));
    }
    Ok(())
}

/// Writes a palette: `.gpl` (8-bit RGB/RGBA), `.npy` ((K, C) uint8/uint16, or
/// (K,) float64 for levels) or text (anything else: `#rrggbb` for 8-bit RGB,
/// numbers otherwise). `eight_bit` says the colours belong to an 8-bit image.
///
/// # Errors
/// [`Error::Format`] for a palette the chosen format cannot hold (a `.gpl` of
/// grey levels), [`Error::Io`] on write failures.
pub fn write_palette(path: &Path, palette: &AnyPalette, eight_bit: bool) -> Result<()> {
    stage_palette(path, palette, eight_bit)?.commit()
}

/// [`write_palette`] without the final rename: see [`Staged`].
///
/// # Errors
/// As [`write_palette`].
pub fn stage_palette(path: &Path, palette: &AnyPalette, eight_bit: bool) -> Result<Staged> {
    let ext = extension(path);
    match (palette, ext.as_str()) {
        (AnyPalette::Levels(l), "npy") => stage(path, |w| {
            npy::write_npy(w, &[l.len()], l.values()).map_err(write_err(path))
        }),
        (AnyPalette::Levels(l), "gpl") => {
            let _ = l;
            Err(Error::format(
                path,
                None,
                "a .gpl file cannot hold float grey levels; use .txt or .npy",
            ))
        }
        (AnyPalette::Levels(l), _) => stage(path, |w| {
            write_levels_txt(w, l.values()).map_err(write_err(path))
        }),
        (AnyPalette::Colors(p), "npy") => stage(path, |w| {
            let shape = [p.len(), p.channels()];
            if eight_bit {
                let v: Vec<u8> = p.values().iter().map(|&x| x as u8).collect();
                npy::write_npy(w, &shape, &v)
            } else {
                npy::write_npy(w, &shape, p.values())
            }
            .map_err(write_err(path))
        }),
        (AnyPalette::Colors(p), "gpl") => {
            if !eight_bit || !matches!(p.channels(), 3 | 4) {
                return Err(Error::format(
                    path,
                    None,
                    "a .gpl file holds 8-bit RGB or RGBA colours; use .txt or .npy",
                ));
            }
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("gpix");
            stage(path, |w| {
                write_palette_gpl(w, name, p.channels(), p.values()).map_err(write_err(path))
            })
        }
        (AnyPalette::Colors(p), _) => stage(path, |w| {
            write_palette_txt(w, p.channels(), p.values(), eight_bit).map_err(write_err(path))
        }),
    }
}
