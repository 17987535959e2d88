//! Files in and out: images (image crate), NumPy `.npy`, palette files.
//! The only module of the library that touches the file system.
//!
//! Outputs are written to a temporary file beside the target and renamed over
//! it on success ([`write_atomically`]), so a failed run never leaves a partial
//! file and never damages an existing one.

pub mod image_file;
pub mod npy;
pub mod palette_file;
pub mod palette_source;
pub mod png_bands;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

pub use image_file::{
    read_image, stage_image, stage_indexed_png, write_image, write_indexed_png, ImageFormat,
};
pub use palette_source::{stage_palette, write_palette, AnyPalette, PaletteSource};
pub use png_bands::{read_image_in_bands, Band};

/// Largest array a reader allocates, in bytes, unless `GPIX_MAX_BYTES` says
/// otherwise: big enough for a 12000×12000 RGBA 16-bit image several times
/// over, small enough that a lying header cannot exhaust memory.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;

/// The allocation limit in force: `GPIX_MAX_BYTES` if set and valid, else
/// [`DEFAULT_MAX_BYTES`].
#[must_use]
pub fn max_bytes() -> u64 {
    std::env::var("GPIX_MAX_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_BYTES)
}

/// Lower-case extension of `path`, without the dot ("" if none).
#[must_use]
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// An output written to a temporary file beside its target, waiting for
/// [`Staged::commit`] to rename it into place. Dropping it removes the
/// temporary file and leaves the target untouched. Staging every output of a
/// command before committing any means a failure leaves no partial result.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Renames the temporary file over the target.
    ///
    /// # Errors
    /// [`Error::Io`] naming the target.
    pub fn commit(self) -> Result<()> {
        set_default_permissions(self.tmp.as_file(), &self.path);
        self.tmp
            .persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(())
    }

    /// The target path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `path`'s future contents through `write` into a temporary file in
/// the same folder (so the final rename cannot cross file systems).
///
/// # Errors
/// [`Error::Io`] naming `path`, or whatever `write` returns.
pub fn stage(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<()>,
) -> Result<Staged> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".gpix-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(path, e))?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        write(&mut w)?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

/// [`stage`] then [`Staged::commit`]: on any error nothing is left at `path`
/// and an existing file there is untouched.
///
/// # Errors
/// As [`stage`] and [`Staged::commit`].
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<()>,
) -> Result<()> {
    stage(path, write)?.commit()
}

/// Temporary files are created private (0600); give the result the
/// permissions of the file it replaces, or the usual 0644.
#[cfg(unix)]
fn set_default_permissions(file: &File, target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644);
    // Best effort: a file we cannot chmod is still a correct output.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_default_permissions(_: &File, _: &Path) {}

/// Maps an I/O error while writing `path` into [`Error::Io`].
pub(crate) fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}
