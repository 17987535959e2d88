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
        let existing = match std::fs::symlink_metadata(&self.path) {
            Err(_) => {
                let tmp = self.tmp.into_temp_path();
                tmp.persist_noclobber(&self.path)
                    .map_err(|e| err(e.error))?;
                return Ok(Replaced::New(self.path));
            }
            Ok(meta) => meta,
        };
        // Swapping names would happily put a folder where the file was.
        if existing.is_dir() {
            return Err(is_a_folder(&self.path));
        }
        let tmp = self.tmp.into_temp_path();
        match exchange(&tmp, &self.path) {
            Ok(()) => {
                return Ok(Replaced::Swapped {
                    target: self.path,
                    old: tmp,
                })
            }
            Err(e) if !swap_unsupported(&e) => return Err(err(e)),
            Err(_) => {}
        }
        let old = keep_old(&self.path)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        Ok(Replaced::Kept {
            target: self.path,
            old,
        })
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
    replace_all(staged)
}

/// Replaces the targets in order, undoing every earlier one when one fails.
fn replace_all(staged: Vec<Staged>) -> Result<()> {
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
    let paths: Vec<&Path> = staged.iter().map(|s| s.path.as_path()).collect();
    check_output_paths(&paths)
}

/// Checks that the outputs of one command can be written as a set: no file
/// named twice, no name that is an existing folder. Commands call it before
/// any work (a typo costs nothing); [`commit_all`] checks again.
///
/// # Errors
/// [`Error::InvalidArgument`] for a file named twice; [`Error::Io`] naming a
/// folder.
pub fn check_output_paths(paths: &[&Path]) -> Result<()> {
    for (i, path) in paths.iter().enumerate() {
        if paths[..i].iter().any(|p| same_file(p, path)) {
            return Err(Error::invalid(format!(
                "{}: named for two outputs",
                path.display()
            )));
        }
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(is_a_folder(path));
        }
    }
    Ok(())
}

fn is_a_folder(path: &Path) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
    )
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
    if matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    ) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(path: &Path, text: &str) -> Staged {
        stage(path, |w| {
            w.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
        })
        .unwrap()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A failure after earlier outputs were put in place (the targets
    /// checked first, then one turned into a folder) puts those back: the
    /// existing one byte-identical, the new one gone, no hidden file left.
    #[test]
    fn a_failed_replace_undoes_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (old, new, bad) = (d.join("old.txt"), d.join("new.txt"), d.join("bad.txt"));
        std::fs::write(&old, "old contents").unwrap();
        let files = vec![staged(&old, "1"), staged(&new, "2"), staged(&bad, "3")];
        check_targets(&files).unwrap();
        std::fs::create_dir(&bad).unwrap();
        let err = replace_all(files).unwrap_err().to_string();
        assert!(err.contains("bad.txt") && err.contains("folder"), "{err}");
        assert_eq!(std::fs::read(&old).unwrap(), b"old contents");
        assert_eq!(listing(d), ["bad.txt", "old.txt"]);
    }

    /// Success replaces every target and leaves no hidden file, also
    /// where names cannot be swapped (the hard-link path).
    #[test]
    fn every_target_is_replaced_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (a, b) = (d.join("a.txt"), d.join("b.txt"));
        std::fs::write(&a, "old a").unwrap();
        commit_all(vec![staged(&a, "new a"), staged(&b, "new b")]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"new b");
        assert_eq!(listing(d), ["a.txt", "b.txt"]);
        let kept = keep_old(&a).unwrap();
        assert_eq!(std::fs::read(&kept).unwrap(), b"new a");
        drop(kept);
        assert_eq!(listing(d), ["a.txt", "b.txt"]);
    }

    #[test]
    fn a_file_named_twice_is_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "old").unwrap();
        let err = commit_all(vec![staged(&a, "1"), staged(&a, "2")]).unwrap_err();
        assert!(err.to_string().contains("named for two outputs"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"old");
        assert_eq!(listing(dir.path()), ["a.txt"]);
    }
}
