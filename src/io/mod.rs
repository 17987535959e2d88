//! Files in and out: images (image crate), NumPy `.npy`, palette files.
//! The only module of the library that touches the file system.
//!
//! Outputs are written to a temporary file beside the target and renamed over
//! it on success ([`write_atomically`], [`commit_all`] for several outputs),
//! so a failed run never leaves a partial file and never damages an existing
//! one.

pub mod image_file;
pub mod npy;
pub mod palette_file;
pub mod palette_source;
pub mod png_bands;
mod staged;

use std::path::Path;

use crate::error::Error;

pub use image_file::{
    read_image, stage_image, stage_indexed_png, write_image, write_indexed_png, ImageFormat,
};
pub use palette_source::{stage_palette, write_palette, AnyPalette, PaletteSource};
pub use png_bands::{read_image_in_bands, Band};
pub use staged::{check_output_paths, commit_all, stage, write_atomically, Staged};

pub use crate::mem::{max_bytes, DEFAULT_MAX_BYTES};

/// `text` made fit to quote in a one-line message: control characters (NUL,
/// CR, LF, terminal escapes) written as Rust escapes, and cut after
/// `max_chars` characters with "...".
#[must_use]
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut chars = text.chars();
    let mut out = String::new();
    for c in chars.by_ref().take(max_chars) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push_str("...");
    }
    out
}

/// Lower-case extension of `path`, without the dot ("" if none).
#[must_use]
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Maps an I/O error while writing `path` into [`Error::Io`].
pub(crate) fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}
