//! Outputs written beside their targets and put in place all together.
//!
//! Every output of a command is first written to a hidden temporary file in
//! its target's folder ([`stage`]); only when all were written are they put
//! in place ([`commit_all`]), and a failure there puts back every target
//! already replaced. So a failed run leaves every existing output
//! byte-identical and no new file behind, temporary files included.
//!
//! An existing target is replaced by swapping names with the temporary file
//! (`renameat2(RENAME_EXCHANGE)` on Linux): one atomic step that also keeps
//! the old contents under the temporary name until the end, for the undo.
//! A plain rename over an existing file would do too, but ext4 then flushes
//! the new file to disk before returning (its replace-by-rename heuristic),
//! which made replacing a 200 MB output cost ~150 ms more than writing it.
//! Where swapping is not available the old contents are kept through a hard
//! link (or a copy) and the new file renamed over the target.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An output written to a temporary file beside its target, waiting for
/// [`commit_all`] (or [`Staged::commit`]) to put it in place. Dropping it
/// removes the temporary file and leaves the target untouched.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Staged {
    /// Puts this one output in place (see [`commit_all`]).
    ///
    /// # Errors
    /// As [`commit_all`].
    pub fn commit(self) -> Result<()> {
        commit_all(vec![self])
    }

    /// The target path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the temporary file onto the target; what it returns can put
    /// the old target back.
    fn replace(self) -> Result<Replaced> {
        set_default_permissions(self.tmp.as_file(), &self.path);
        let err = |e: std::io::Error| Error::io(&self.path, plain_io_error(e));
        if std::fs::symlink_metadata(&self.path).is_err() {
            let tmp = self.tmp.into_temp_path();
            tmp.persist_noclobber(&self.path).map_err(|e| err(e.error))?;
            return Ok(Replaced::New(self.path));
        }
        let tmp = self.tmp.into_temp_path();
        match exchange(&tmp, &self.path) {
            Ok(()) => return Ok(Replaced::Swapped { target: self.path, old: tmp }),
            Err(e) if !swap_unsupported(&e) => return Err(err(e)),
            Err(_) => {}
        }
        let old = keep_old(&self.path)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        Ok(Replaced::Kept { target: self.path, old })
    }
}

/// A target that was put in place, with what it takes to undo that.
enum Replaced {
    /// There was no file: undo removes the new one.
    New(PathBuf),
    /// Names were swapped: `old` holds the old contents.
    Swapped {
        target: PathBuf,
        old: tempfile::TempPath,
    },
    /// The new file was renamed over a target whose contents `old` kept.
    Kept {
        target: PathBuf,
        old: tempfile::TempPath,
    },
}

impl Replaced {
    /// Puts the target back as it was. Best effort: this runs on the way
    /// out of an error that is reported anyway.
    fn undo(self) {
        match self {
            Replaced::New(target) => {
                let _ = std::fs::remove_file(target);
            }
            // Swapping back leaves the new contents under the temporary
            // name, removed when `old` drops.
            Replaced::Swapped { target, old } => {
                let _ = exchange(&old, &target);
            }
            Replaced::Kept { target, old } => {
                let _ = old.persist(&target);
            }
        }
    }
}

/// Puts every staged output in place, or none: a failure at any point
/// leaves every existing target byte-identical and no new file behind
/// (temporary files included).
///
/// Targets are checked first (one file named for two outputs, a target that
/// is a folder); then each output replaces its target, and a failure puts
/// back every target replaced before it.
///
/// # Errors
/// [`Error::InvalidArgument`] for a file named twice; [`Error::Io`] naming the
/// target that could not be replaced.
pub fn commit_all(staged: Vec<Staged>) -> Result<()> {
    check_targets(&staged)?;
    let mut done = Vec::with_capacity(staged.len());
    for file in staged {
        match file.replace() {
            Ok(replaced) => done.push(replaced),
            Err(e) => {
                done.into_iter().rev().for_each(Replaced::undo);
                return Err(e);
            }
        }
    }
    // Dropping `done` removes the old contents.
    Ok(())
}

/// Fails before anything is replaced when a target cannot take its output.
fn check_targets(staged: &[Staged]) -> Result<()> {
    for (i, s) in staged.iter().enumerate() {
        if staged[..i].iter().any(|t| same_file(&t.path, &s.path)) {
            return Err(Error::invalid(format!(
                "{}: named for two outputs",
                s.path.display()
            )));
        }
        if std::fs::metadata(&s.path).is_ok_and(|m| m.is_dir()) {
            return Err(Error::io(
                &s.path,
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
            ));
        }
    }
    Ok(())
}

/// Whether two output names point at one file (the same name, or an
/// existing file reached by two names).
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Swaps the names `a` and `b` atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Errors that mean "this system or file system cannot swap names" (old
/// kernels, some network and FUSE file systems), as opposed to a reason the
/// target cannot be replaced at all.
fn swap_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)) {
        return true;
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

/// A hidden copy of `target`'s current contents beside it (a hard link, or a
/// copy where links are refused), removed when dropped.
fn keep_old(target: &Path) -> Result<tempfile::TempPath> {
    let make = |link: bool| {
        tempfile::Builder::new()
            .prefix(".gpix-")
            .suffix(".old")
            .make_in(parent_dir(target), |p| {
                if link {
                    std::fs::hard_link(target, p)
                } else {
                    std::fs::copy(target, p).map(drop)
                }
            })
    };
    let kept = make(true)
        .or_else(|_| make(false))
        .map_err(|e| Error::io(target, plain_io_error(e)))?;
    Ok(kept.into_temp_path())
}

/// The folder a file is created in ("." for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The OS reason of an error without the temporary path `tempfile` adds to
/// its messages: users name the target, never our hidden files.
pub(crate) fn plain_io_error(e: std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.kind().to_string()),
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
    let tmp = tempfile::Builder::new()
        .prefix(".gpix-")
        .suffix(".tmp")
        .tempfile_in(parent_dir(path))
        .map_err(|e| Error::io(path, plain_io_error(e)))?;
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
